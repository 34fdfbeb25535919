"""A local HTTP receiver for notifications: the target of Apprise's
``json://127.0.0.1:PORT/PATH``. It answers as told (``mode``: ``ok``, ``fail``
with a 500, or ``hang`` until released) and keeps what it accepted."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    def __init__(self) -> None:
        self.mode = "ok"
        self.accepted: list[dict[str, Any]] = []
        self.refused = 0  # requests answered 500 or left hanging
        self.released = threading.Event()
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]

    def url(self, path: str = "notify", auth: str = "") -> str:
        return f"json://{auth}127.0.0.1:{self.port}/{path}"

    def bodies(self) -> list[str]:
        """Each accepted notice as ``title\\nbody``."""
        with self.lock:
            return [f"{n['title']}\n{n['message']}" for n in self.accepted]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                data = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                mode = receiver.mode
                if mode == "hang":
                    with receiver.lock:
                        receiver.refused += 1
                    receiver.released.wait(600)
                    return  # the sender gave up long ago: nothing to answer
                with receiver.lock:
                    if mode == "ok":
                        receiver.accepted.append(data)
                    else:
                        receiver.refused += 1
                self.send_response(200 if mode == "ok" else 500)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.released.set()
        receiver.server.shutdown()
        receiver.server.server_close()
        thread.join()
