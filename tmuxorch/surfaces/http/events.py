"""``GET /api/events``: the event log as Server-Sent Events.

Each event is ``id: EVENT_ID`` and ``data:`` the ``events --json`` object. A
client that reconnects sends ``Last-Event-ID`` (browsers' EventSource does
it by itself) and gets every event after that id, none twice; a first
connection starts at the newest event. One thread per stream opens the
store and sleeps on ``Store.changes()`` (a hook's write wakes it at once),
so nothing polls; while nothing happens a comment line every
:data:`HEARTBEAT` seconds keeps proxies from closing the stream, and shows a
gone client to the server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from tmuxorch.core.config import Settings
from tmuxorch.core.errors import TmuxorchError
from tmuxorch.fleet.views.messages import EventView, event_views
from tmuxorch.store.interface import Changes
from tmuxorch.store.opening import open_store

log = logging.getLogger(__name__)

HEARTBEAT = 15.0
# How long a browser waits before it reconnects (ms), told once per stream.
RETRY_MS = 2000

Batch = list[EventView] | TmuxorchError


class _Watcher:
    """Pushes every event after ``after`` as it is written, until stopped.
    ``stop`` closes the store's watch, so the thread ends at once instead of
    at its next heartbeat (the stream's client may be long gone)."""

    def __init__(
        self,
        settings: Callable[[], Settings],
        agent: str | None,
        after: int,
        push: Callable[[Batch], None],
    ) -> None:
        self._settings, self._agent, self._after, self._push = settings, agent, after, push
        self._lock = threading.Lock()
        self._stopped = False
        self._changes: Changes | None = None

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            changes = self._changes
        if changes is not None:
            changes.close()

    def run(self) -> None:
        try:
            current = self._settings()
            with (
                open_store(current.home, url=current.config.store.url) as store,
                store.changes() as changes,
            ):
                with self._lock:
                    if self._stopped:
                        return
                    self._changes = changes
                while True:
                    with self._lock:
                        if self._stopped:
                            return
                    batch = event_views(store, self._agent, after=self._after)
                    if batch:
                        self._after = batch[-1].event.id
                        self._push(batch)
                    changes.wait(timeout=HEARTBEAT)
        except TmuxorchError as exc:
            self._push(exc)
        except OSError as exc:  # no watch could be set up (inotify and polling failed)
            self._push(TmuxorchError(f"cannot watch the fleet's store: {exc}"))


def _frame(view: EventView) -> str:
    return f"id: {view.event.id}\ndata: {json.dumps(view.to_json(), ensure_ascii=False)}\n\n"


async def _stream(
    settings: Callable[[], Settings], agent: str | None, after: int, closing: asyncio.Event
) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Batch] = asyncio.Queue()

    def push(batch: Batch) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, batch)

    watcher = _Watcher(settings, agent, after, push)
    threading.Thread(target=watcher.run, name="sse", daemon=True).start()
    closed = asyncio.ensure_future(closing.wait())
    try:
        yield f"retry: {RETRY_MS}\n: tmuxorch events after {after}\n\n"
        while True:
            got = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait(
                {got, closed}, timeout=HEARTBEAT, return_when=asyncio.FIRST_COMPLETED
            )
            if got not in done:
                got.cancel()
                if closed in done:
                    return  # the server stops: the client reconnects to the next one
                yield ": keep-alive\n\n"
                continue
            batch = got.result()
            if isinstance(batch, TmuxorchError):
                log.error("event stream ended: %s", batch)
                yield f"event: error\ndata: {json.dumps({'error': str(batch)})}\n\n"
                return
            yield "".join(_frame(view) for view in batch)
    finally:
        closed.cancel()
        watcher.stop()


def router(settings: Callable[[], Settings], closing: asyncio.Event) -> APIRouter:
    """``closing`` is set when the server stops: the streams end then, since
    the server waits for its open connections to end."""
    api = APIRouter(prefix="/api")

    @api.get("/events", response_class=StreamingResponse)
    async def events(
        agent: Annotated[str | None, Query(description="Only this agent's events.")] = None,
        last_event_id: Annotated[int | None, Header(ge=0)] = None,
    ) -> StreamingResponse:
        """Server-Sent Events: each ``data`` the ``events --json`` object, ``id``
        its event id; ``Last-Event-ID`` resumes after that event."""

        def newest() -> int:
            current = settings()
            with open_store(current.home, url=current.config.store.url) as store:
                return store.last_event_id()

        # Fixed before the response starts: what happens after the client is
        # connected reaches it, whenever the watcher thread gets going.
        after = last_event_id if last_event_id is not None else await asyncio.to_thread(newest)
        return StreamingResponse(
            _stream(settings, agent, after, closing),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return api
