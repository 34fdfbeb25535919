"""A stdio MCP server for tests whose one tool, ``ask``, asks the person a
question through MCP elicitation (what Claude Code's Elicitation hook sees).

Plain JSON-RPC, not the ``mcp`` package: that package speaks the 2026
protocol to Claude Code 2.1.329, which forbids server-initiated requests
(``ctx.elicit`` fails with "no back-channel"); this server answers the
handshake with 2025-06-18, where a tool call may send ``elicitation/create``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

QUESTION = "Which colour should the logo be?"
_PROTOCOL = "2025-06-18"
_TOOL = {
    "name": "ask",
    "description": "Ask the person which colour to use.",
    "inputSchema": {"type": "object", "properties": {}},
}
_SCHEMA = {"type": "object", "properties": {"colour": {"type": "string"}}, "required": ["colour"]}


def _send(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", **message}) + "\n")
    sys.stdout.flush()


def _reply(method: str) -> dict[str, Any] | None:
    """The result of each request but tools/call, which asks first."""
    results: dict[str, dict[str, Any]] = {
        "initialize": {
            "protocolVersion": _PROTOCOL,
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "asker", "version": "1"},
        },
        "tools/list": {"tools": [_TOOL]},
        "ping": {},
    }
    return results.get(method)


def main() -> None:
    asking: Any = None  # the id of the tools/call waiting for the answer
    for line in sys.stdin:
        message = json.loads(line)
        method, request_id = message.get("method"), message.get("id")
        if method is None and request_id == "ask-1" and asking is not None:
            answer = message.get("result") or message.get("error")
            content = [{"type": "text", "text": json.dumps(answer)}]
            _send({"id": asking, "result": {"content": content}})
            asking = None
        elif method == "tools/call":
            asking = request_id
            params = {"message": QUESTION, "requestedSchema": _SCHEMA}
            _send({"id": "ask-1", "method": "elicitation/create", "params": params})
        elif request_id is not None and method is not None:
            result = _reply(method)
            if result is None:
                _send({"id": request_id, "error": {"code": -32601, "message": method}})
            else:
                _send({"id": request_id, "result": result})


if __name__ == "__main__":
    main()
