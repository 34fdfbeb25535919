#!/usr/bin/env python3
"""A tiny scripted stand-in for an interactive coding-agent TUI.

Tests that are about *tmux plumbing* (typing, pasting, pressing Enter, reading
the screen) should not need the real agent: it is slow, costs money and its
screen changes between releases.  This program behaves like a minimal chat
TUI on its tty and records every submitted message byte-exactly, so a test can
compare what was sent with what arrived.

Usage::

    python tests/fakeagent.py --record FILE [--name NAME] [--prompt '> ']
        [--no-bracketed-paste] [--start-delay S] [--drop-first-enter]

Screen layout (full redraw on every change, explicit cursor positioning, so
the picture never depends on scrolling and survives SIGWINCH):

* history rows (``you: ...`` / ``agent: ok`` / ...) fill the top;
* the footer sits on the last rows:
    - idle:     the composer; its last row is the bottom screen line and reads
                exactly ``<prompt><composer text>`` with the cursor after it;
    - busy:     ``* Working… (esc to interrupt)`` (spinner char changes);
    - confirm:  ``Do you want to Q?`` / ``❯ 1. Yes`` / ``  2. No``;
    - starting: ``starting…``.

Submitted text drives scripted behaviour:
``sleep N`` (busy N s), ``hold PATH`` (busy until PATH exists: a test
decides when the turn ends, whatever the machine's load), ``ask Q``
(confirmation prompt), ``exit N``,
``crash`` (exit 1), ``error TEXT`` (``API Error: TEXT``); anything else gets
``agent: ok``.

Every non-empty submit is appended to the record file as one JSON line
``{"text": ..., "ts": ...}`` (flushed and fsynced before anything else happens,
so a test that sees the screen change can rely on the file).  Bytes that are
not valid UTF-8 are kept via ``surrogateescape`` and JSON-escaped
(``ensure_ascii``), so nothing is lost.

Exit statuses: 0 for Ctrl-D on an empty composer / Ctrl-C twice, N for
``exit N``, 1 for ``crash``, 143 for SIGTERM, 129 for SIGHUP/EIO on the tty.

Stdlib only; the tty is always restored on exit.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import select
import signal
import sys
import termios
import time
import tty
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

PASTE_START = b"\x1b[200~"
PASTE_END = b"\x1b[201~"
# How long a lone ESC may wait for the rest of an escape sequence.  tmux
# delivers a key's whole sequence in one write, so 50 ms is plenty and still
# feels instant to a human.
ESC_TIMEOUT = 0.05
SPINNER_FRAMES = ("*", "✢", "✳", "✶", "✻", "✽")
SPINNER_INTERVAL = 0.2  # "a few times a second"
HISTORY_LIMIT = 2000  # logical lines kept; the screen only shows the tail anyway
# Long messages are abbreviated in the history so one 20 KB paste does not
# push everything else off screen; the record file always has the full text.
HISTORY_MAX_LINES = 5
HISTORY_MAX_CHARS = 300

Mode = Literal["starting", "idle", "busy", "confirm"]


# --------------------------------------------------------------------------
# Input parsing
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One unit of input: typed text, a whole bracketed paste, or a key."""

    kind: Literal["text", "paste", "key"]
    value: str


class InputParser:
    """Byte-exact tty input parser.

    Bytes are fed as they arrive; complete events come out.  Incomplete
    sequences (half a UTF-8 char, a split escape sequence, a paste whose end
    marker has not arrived yet) stay buffered, because tmux may split a large
    write anywhere.
    """

    def __init__(self) -> None:
        self.buf = b""
        self.in_paste = False
        self.paste = bytearray()
        # Monotonic time at which a pending ESC becomes a lone ESC; None when
        # nothing ambiguous is pending.
        self.esc_deadline: float | None = None

    def feed(self, data: bytes, now: float) -> list[Event]:
        self.buf += data
        return self._parse(now, flush=False)

    def on_timeout(self, now: float) -> list[Event]:
        """Resolve a pending ESC once its wait is over."""
        if self.esc_deadline is not None and now >= self.esc_deadline:
            return self._parse(now, flush=True)
        return []

    def _parse(self, now: float, flush: bool) -> list[Event]:
        events: list[Event] = []
        self.esc_deadline = None
        while self.buf:
            if self.in_paste:
                end = self.buf.find(PASTE_END)
                if end < 0:
                    # Keep a possible partial end marker back; everything
                    # before it is certainly paste content.
                    keep = _partial_suffix(self.buf, PASTE_END)
                    cut = len(self.buf) - keep
                    self.paste += self.buf[:cut]
                    self.buf = self.buf[cut:]
                    break
                self.paste += self.buf[:end]
                self.buf = self.buf[end + len(PASTE_END) :]
                self.in_paste = False
                # tmux's paste-buffer turns LF into CR, so CR means newline
                # here (a paste never contains a real Enter).  Decoding only
                # now keeps multi-byte chars split across reads intact.
                text = bytes(self.paste).replace(b"\r", b"\n")
                self.paste.clear()
                events.append(Event("paste", text.decode("utf-8", "surrogateescape")))
                continue

            b0 = self.buf[0]
            if b0 == 0x1B:
                consumed = self._parse_escape(events, flush)
                if consumed == 0:
                    # Need more bytes (or the timeout) to decide.
                    self.esc_deadline = now + ESC_TIMEOUT
                    break
                self.buf = self.buf[consumed:]
                continue
            if b0 < 0x20 or b0 == 0x7F:
                self.buf = self.buf[1:]
                key = CONTROL_KEYS.get(b0)
                if key == "lf":
                    # Ctrl-J / a literal LF from `send-keys -l`: a newline in
                    # the composer, not a submit (like Shift+Enter in agents).
                    events.append(Event("text", "\n"))
                elif key == "tab":
                    events.append(Event("text", "\t"))
                elif key is not None:
                    events.append(Event("key", key))
                # Other control bytes are keys we do not bind: dropped.
                continue
            # Printable ASCII or UTF-8: take a run of complete characters.
            n = _complete_text_prefix(self.buf)
            if n == 0:
                break  # half a UTF-8 char; wait for the rest
            events.append(Event("text", self.buf[:n].decode("utf-8", "surrogateescape")))
            self.buf = self.buf[n:]
        return events

    def _parse_escape(self, events: list[Event], flush: bool) -> int:
        """Parse an escape sequence at buf[0]; return bytes consumed (0 = wait)."""
        buf = self.buf
        if len(buf) == 1:
            if flush:
                events.append(Event("key", "esc"))
                return 1
            return 0
        if buf[1] == ord("["):
            if buf.startswith(PASTE_START):
                self.in_paste = True
                return len(PASTE_START)
            # CSI: parameter bytes 0x30-0x3F, intermediates 0x20-0x2F, final 0x40-0x7E.
            i = 2
            while i < len(buf) and 0x20 <= buf[i] <= 0x3F:
                i += 1
            if i >= len(buf):
                if flush:
                    # Never completed: treat the ESC as a keypress and let the
                    # rest be typed text, so nothing silently disappears.
                    events.append(Event("key", "esc"))
                    return 1
                return 0
            if 0x40 <= buf[i] <= 0x7E:
                name = CSI_KEYS.get(bytes(buf[2 : i + 1]))
                if name is not None:
                    events.append(Event("key", name))
                # A stray paste end marker (or unknown key) is swallowed.
                return i + 1
            # Malformed: ESC is a key, the rest is re-parsed as input.
            events.append(Event("key", "esc"))
            return 1
        if buf[1] == ord("O"):
            # SS3 (cursor keys in application mode): ESC O <final>.
            if len(buf) < 3:
                if flush:
                    events.append(Event("key", "esc"))
                    return 1
                return 0
            name = SS3_KEYS.get(buf[2])
            if name is not None:
                events.append(Event("key", name))
            return 3
        # ESC followed by anything else (Alt+key, or ESC then a key): the ESC
        # is a keypress on its own and the next byte is parsed normally.
        events.append(Event("key", "esc"))
        return 1


CONTROL_KEYS: dict[int, str] = {
    0x03: "ctrl-c",
    0x04: "ctrl-d",
    0x08: "backspace",
    0x09: "tab",
    0x0A: "lf",
    0x0D: "enter",
    0x15: "ctrl-u",
    0x7F: "backspace",
}
CSI_KEYS: dict[bytes, str] = {b"A": "up", b"B": "down", b"C": "right", b"D": "left"}
SS3_KEYS: dict[int, str] = {ord("A"): "up", ord("B"): "down", ord("C"): "right", ord("D"): "left"}


def _partial_suffix(buf: bytes, marker: bytes) -> int:
    """Length of the longest suffix of buf that is a proper prefix of marker."""
    for n in range(min(len(marker) - 1, len(buf)), 0, -1):
        if buf.endswith(marker[:n]):
            return n
    return 0


def _complete_text_prefix(buf: bytes) -> int:
    """Bytes at the start of buf forming complete non-control characters.

    Invalid UTF-8 bytes count as one "character" each (kept later through
    surrogateescape) so a bad byte can never stall the parser.
    """
    i = 0
    n = len(buf)
    while i < n:
        b = buf[i]
        if b < 0x20 or b == 0x7F:
            break
        if b < 0x80:
            i += 1
            continue
        need = 2 if 0xC2 <= b <= 0xDF else 3 if 0xE0 <= b <= 0xEF else 4 if 0xF0 <= b <= 0xF4 else 1
        if need == 1:
            i += 1  # invalid lead byte
            continue
        if i + need > n:
            # Incomplete at the end: wait, unless what we have is already
            # not a continuation (then it is garbage, take the lead byte).
            if all(0x80 <= c <= 0xBF for c in buf[i + 1 :]):
                break
            i += 1
            continue
        if all(0x80 <= c <= 0xBF for c in buf[i + 1 : i + need]):
            i += need
        else:
            i += 1
    return i


# --------------------------------------------------------------------------
# Rendering helpers
# --------------------------------------------------------------------------


def _cell(ch: str) -> tuple[str, int]:
    """Printable form of one character and its width in terminal columns.

    The screen shows control characters as ^X (so an ESC inside a paste is
    visible and cannot drive the terminal); the record keeps the real ones.
    """
    o = ord(ch)
    if o < 0x20:
        return "^" + chr(o + 64), 2
    if o == 0x7F:
        return "^?", 2
    if 0x80 <= o < 0xA0:
        return f"<{o:02x}>", 4
    if 0xDC80 <= o <= 0xDCFF:  # surrogateescape'd invalid byte
        return f"\\x{o - 0xDC00:02x}", 4
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        # Zero-width chars would make our column arithmetic disagree with
        # the terminal's; show a visible placeholder instead.
        return f"<U+{o:04X}>", 8
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return ch, 2
    return ch, 1


def wrap(text: str, cols: int, prefix: str = "", indent: str = "") -> list[tuple[str, int]]:
    """Wrap one logical line (no newlines) into (row text, row width) rows."""
    cols = max(cols, 4)
    rows: list[tuple[str, int]] = []
    cur, width = prefix, _width(prefix)
    for ch in text:
        s, w = _cell(ch)
        if width + w > cols:
            rows.append((cur, width))
            cur, width = indent, _width(indent)
        cur += s
        width += w
    rows.append((cur, width))
    return rows


def _width(s: str) -> int:
    return sum(_cell(c)[1] for c in s)


def abbreviate(text: str) -> list[str]:
    """History form of a message: first few lines, each cut short."""
    lines = text.split("\n")
    out = [
        ln if len(ln) <= HISTORY_MAX_CHARS else ln[:HISTORY_MAX_CHARS] + "…"
        for ln in lines[:HISTORY_MAX_LINES]
    ]
    if len(lines) > HISTORY_MAX_LINES:
        out.append(f"… (+{len(lines) - HISTORY_MAX_LINES} more lines)")
    return out


# --------------------------------------------------------------------------
# The application
# --------------------------------------------------------------------------


@dataclass
class Options:
    record: str
    name: str
    prompt: str
    bracketed_paste: bool
    start_delay: float
    drop_first_enter: bool


class Exit(Exception):
    """Raised to leave the main loop with a status (tty restored in finally)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@dataclass
class App:
    opts: Options
    fd_in: int = 0
    fd_out: int = 1
    mode: Mode = "starting"
    composer: str = ""
    history: list[str] = field(default_factory=list)
    parser: InputParser = field(default_factory=InputParser)
    startup_input: bytearray = field(default_factory=bytearray)
    start_deadline: float = 0.0
    busy_deadline: float = 0.0
    hold: str = ""
    spinner_index: int = 0
    next_spin: float = 0.0
    question: str = ""
    choice: int = 1  # 1 = Yes, 2 = No
    ctrl_c_armed: bool = False
    enter_dropped: bool = False
    dirty: bool = True
    title: str = ""

    # ---- output ---------------------------------------------------------

    def write(self, s: str) -> None:
        data = s.encode("utf-8", "surrogateescape")
        while data:
            try:
                n = os.write(self.fd_out, data)
            except InterruptedError:
                continue
            data = data[n:]

    def say(self, *lines: str) -> None:
        self.history.extend(lines)
        del self.history[:-HISTORY_LIMIT]
        self.dirty = True

    def set_title(self, title: str) -> None:
        # The pane title (#{pane_title}) is a cheap extra state signal.
        if title != self.title:
            self.title = title
            self.write(f"\x1b]2;{title}\x07")

    def footer(self, cols: int, max_rows: int) -> tuple[list[tuple[str, int]], bool]:
        """Rows of the bottom block and whether the cursor belongs at its end."""
        if self.mode == "starting":
            return [("starting…", 9)], False
        if self.mode == "busy":
            frame = SPINNER_FRAMES[self.spinner_index % len(SPINNER_FRAMES)]
            return wrap(f"{frame} Working… (esc to interrupt)", cols), False
        if self.mode == "confirm":
            rows = wrap(f"Do you want to {self.question}?", cols)
            rows += wrap(("❯ " if self.choice == 1 else "  ") + "1. Yes", cols)
            rows += wrap(("❯ " if self.choice == 2 else "  ") + "2. No", cols)
            return rows, False
        rows = []
        if self.ctrl_c_armed:
            rows += wrap("Press Ctrl-C again to exit", cols)
        indent = " " * _width(self.opts.prompt)
        for i, line in enumerate(self.composer.split("\n")):
            rows += wrap(line, cols, self.opts.prompt if i == 0 else indent, indent)
        if rows[-1][1] >= cols:
            # Cursor would sit past the last column: give it a fresh row.
            rows.append(("", 0))
        return rows[-max_rows:], True

    def redraw(self) -> None:
        try:
            size = os.get_terminal_size(self.fd_out)
            cols, lines = size.columns, size.lines
        except OSError:
            cols, lines = 80, 24
        foot, cursor = self.footer(cols, max(1, lines - 1))
        avail = lines - len(foot)
        hist: list[tuple[str, int]] = []
        # Wrap from the end and stop once the screen is full.
        for line in reversed(self.history):
            hist[:0] = wrap(line, cols)
            if len(hist) >= avail:
                break
        hist = hist[-avail:] if avail > 0 else []
        screen = [("", 0)] * (avail - len(hist)) + hist + foot
        out = ["\x1b[?25l"]  # hide cursor while painting
        for row, (text, _) in enumerate(screen[:lines], start=1):
            out.append(f"\x1b[{row};1H{text}\x1b[K")
        if cursor:
            _, last_width = screen[min(lines, len(screen)) - 1]
            out.append(f"\x1b[{min(lines, len(screen))};{min(last_width + 1, cols)}H\x1b[?25h")
        self.write("".join(out))
        name = self.opts.name
        self.set_title(
            {"idle": name, "busy": f"* {name}", "confirm": f"? {name}"}.get(self.mode, f"… {name}")
        )
        self.dirty = False

    # ---- state changes --------------------------------------------------

    def become_idle(self) -> None:
        self.mode, self.hold = "idle", ""
        self.dirty = True

    def start(self) -> None:
        """Leave the start-delay: show the composer and replay early input."""
        self.become_idle()
        pending = bytes(self.startup_input)
        self.startup_input.clear()
        if pending:
            self.dispatch(self.parser.feed(pending, time.monotonic()))

    def record(self, text: str) -> None:
        line = json.dumps({"text": text, "ts": time.time()}, ensure_ascii=True) + "\n"
        with open(self.opts.record, "a", encoding="ascii") as f:
            f.write(line)
            f.flush()
            # fsync so a test (or a crash right after) never sees a partial line.
            os.fsync(f.fileno())

    def submit(self) -> None:
        text = self.composer
        if not text:
            return  # empty submit does nothing, like real agents
        self.composer = ""
        self.record(text)
        first, *rest = abbreviate(text)
        self.say("you: " + first, *("     " + r for r in rest))
        cmd = text.strip()
        if m := re.fullmatch(r"sleep\s+(\d+(?:\.\d+)?)", cmd):
            self.mode = "busy"
            now = time.monotonic()
            self.busy_deadline = now + float(m.group(1))
            self.next_spin = now + SPINNER_INTERVAL
            self.spinner_index = 0
        elif m := re.fullmatch(r"hold\s+(\S+)", cmd):
            self.mode, self.hold = "busy", m.group(1)
            now = time.monotonic()
            self.busy_deadline = math.inf  # checked on each spinner tick
            self.next_spin = now + SPINNER_INTERVAL
            self.spinner_index = 0
        elif m := re.fullmatch(r"ask\s+(.+)", cmd, re.S):
            self.mode = "confirm"
            self.question = m.group(1)
            self.choice = 1
        elif m := re.fullmatch(r"exit\s+(\d+)", cmd):
            raise Exit(int(m.group(1)))
        elif cmd == "crash":
            self.say("Error: simulated crash")
            self.redraw()
            raise Exit(1)
        elif m := re.fullmatch(r"error\s+(.+)", cmd, re.S):
            self.say(f"API Error: {m.group(1)}")
        else:
            self.say("agent: ok")
        self.dirty = True

    def answer(self, yes: bool) -> None:
        self.say("approved" if yes else "denied")
        self.become_idle()

    def dispatch(self, events: list[Event]) -> None:
        for ev in events:
            if self.mode == "starting":
                return  # cannot happen: input is held back while starting
            self.handle(ev)

    def handle(self, ev: Event) -> None:
        is_ctrl_c = ev == Event("key", "ctrl-c")
        if ev == Event("key", "enter") and self.opts.drop_first_enter and not self.enter_dropped:
            # Simulate a TUI that loses the Enter that follows a paste.
            self.enter_dropped = True
            return
        if self.mode == "confirm":
            if ev.kind == "text" and ev.value[:1] in ("1", "y", "Y"):
                self.answer(True)
            elif ev.kind == "text" and ev.value[:1] in ("2", "n", "N"):
                self.answer(False)
            elif ev.kind == "key" and ev.value == "enter":
                self.answer(self.choice == 1)
            elif ev.kind == "key" and ev.value in ("esc", "ctrl-c"):
                self.answer(False)
            elif ev.kind == "key" and ev.value in ("up", "down"):
                self.choice = 1 if ev.value == "up" else 2
                self.dirty = True
            return  # everything else is ignored while the question is up
        if self.mode == "busy":
            if ev.kind == "key" and ev.value in ("esc", "ctrl-c"):
                self.say("Interrupted")
                self.become_idle()
            elif ev.kind in ("text", "paste"):
                # Typed-ahead text is kept and shown once idle again.
                self.composer += ev.value
            elif ev.kind == "key" and ev.value == "backspace":
                self.composer = self.composer[:-1]
            elif ev.kind == "key" and ev.value == "ctrl-u":
                self.composer = ""
            # Enter while busy is ignored: the text stays in the composer, so
            # a sender must wait for idle (and will see its text unsent).
            self.ctrl_c_armed = False
            return
        # idle
        if ev.kind in ("text", "paste"):
            self.composer += ev.value
        elif ev.value == "enter":
            self.submit()
        elif ev.value == "backspace":
            self.composer = self.composer[:-1]
        elif ev.value == "ctrl-u":
            self.composer = ""
        elif ev.value == "ctrl-d":
            if not self.composer:
                raise Exit(0)
        elif ev.value == "ctrl-c":
            if self.ctrl_c_armed:
                raise Exit(0)
            self.composer = ""
        # esc / arrows while idle: nothing to interrupt, nothing to move.
        self.ctrl_c_armed = is_ctrl_c and self.mode == "idle"
        self.dirty = True

    # ---- main loop ------------------------------------------------------

    def run(self) -> int:
        signals = {"winch": False, "term": False, "hup": False}
        rfd, wfd = os.pipe()
        os.set_blocking(wfd, False)
        os.set_blocking(rfd, False)
        # Handlers only set flags; the wakeup fd makes select() return so the
        # flags are seen promptly even while we block on input.
        signal.set_wakeup_fd(wfd)
        signal.signal(signal.SIGWINCH, lambda *_: signals.__setitem__("winch", True))
        signal.signal(signal.SIGTERM, lambda *_: signals.__setitem__("term", True))
        signal.signal(signal.SIGHUP, lambda *_: signals.__setitem__("hup", True))

        old = termios.tcgetattr(self.fd_in)
        tty.setraw(self.fd_in)
        try:
            if self.opts.bracketed_paste:
                self.write("\x1b[?2004h")
            self.write("\x1b[2J")
            self.say(f"{self.opts.name} (fake agent) ready")
            now = time.monotonic()
            if self.opts.start_delay > 0:
                self.start_deadline = now + self.opts.start_delay
            else:
                self.become_idle()
            self.redraw()
            while True:
                try:
                    self.step(rfd, signals)
                except Exit as e:
                    return e.status
        finally:
            self.write("\x1b[?2004l\x1b[?25h\r\n")
            termios.tcsetattr(self.fd_in, termios.TCSADRAIN, old)
            signal.set_wakeup_fd(-1)

    def step(self, rfd: int, signals: dict[str, bool]) -> None:
        now = time.monotonic()
        deadlines = []
        if self.mode == "starting":
            deadlines.append(self.start_deadline)
        if self.mode == "busy":
            deadlines += [self.busy_deadline, self.next_spin]
        if self.parser.esc_deadline is not None:
            deadlines.append(self.parser.esc_deadline)
        timeout = max(0.0, min(deadlines) - now) if deadlines else None
        readable, _, _ = select.select([self.fd_in, rfd], [], [], timeout)
        if rfd in readable:
            with contextlib.suppress(BlockingIOError):
                os.read(rfd, 4096)
        if signals["term"]:
            raise Exit(143)
        if signals["hup"]:
            raise Exit(129)
        if signals["winch"]:
            signals["winch"] = False
            self.dirty = True
        now = time.monotonic()
        if self.fd_in in readable:
            try:
                data = os.read(self.fd_in, 65536)
            except OSError:
                data = b""  # EIO: the pane (pty master) went away
            if not data:
                raise Exit(129)
            if self.mode == "starting":
                self.startup_input += data  # hold input until "ready"
            else:
                self.dispatch(self.parser.feed(data, now))
        if self.mode != "starting":
            self.dispatch(self.parser.on_timeout(now))
        if self.mode == "starting" and now >= self.start_deadline:
            self.start()
        if self.mode == "busy":
            if now >= self.busy_deadline or (self.hold and os.path.exists(self.hold)):
                self.say("agent: ok")
                self.become_idle()
            elif now >= self.next_spin:
                self.spinner_index += 1
                self.next_spin = now + SPINNER_INTERVAL
                self.dirty = True
        if self.dirty:
            self.redraw()


def parse_args(argv: list[str] | None = None) -> Options:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--record", required=True, help="append submitted messages here as JSON lines")
    p.add_argument("--name", default="fakeagent", help="shown in the banner and the pane title")
    p.add_argument("--prompt", default="> ", help="composer prefix (the idle marker)")
    p.add_argument(
        "--no-bracketed-paste", action="store_true", help="do not enable bracketed paste mode"
    )
    p.add_argument(
        "--start-delay",
        type=float,
        default=0.0,
        metavar="S",
        help="hold input for S seconds before the composer appears",
    )
    p.add_argument(
        "--drop-first-enter", action="store_true", help="ignore the first Enter keypress"
    )
    a = p.parse_args(argv)
    return Options(
        record=a.record,
        name=a.name,
        prompt=a.prompt,
        bracketed_paste=not a.no_bracketed_paste,
        start_delay=a.start_delay,
        drop_first_enter=a.drop_first_enter,
    )


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    if not os.isatty(0):
        print("fakeagent: stdin must be a tty", file=sys.stderr)
        return 2
    return App(opts).run()


if __name__ == "__main__":
    sys.exit(main())
