"""Typing a message into an agent's pane so that it is verifiably submitted.

Every later feature (prompts at spawn, queued messages, notifications) goes
through ``type_message``. The steps, each for a reason:

1. leave copy-mode: keys sent to a pane in a mode never reach the program;
2. short single-line text goes by ``send-keys -l`` (literal, never key
   names); multi-line, long or control-character text by a uniquely named
   paste buffer with bracketed paste, so newlines, tabs and ESC bytes arrive
   as text instead of as keys;
3. wait until the text shows in the input line, then pause the profile's
   settle delay and press the submit key as a key of its own;
4. verify the text left the input line; if it is still sitting there press
   the key again, and fail if it never leaves.

Before each step the caller is told the stage (typing, typed, submitting)
and any draft taken out of the input line, so that ``recover`` can finish
the job after the deliverer died between two steps.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from tmuxorch.core import screen
from tmuxorch.core.config import DeliverySettings
from tmuxorch.core.errors import DeliveryError, TmuxorchError
from tmuxorch.core.profiles import Profile
from tmuxorch.tmux.panes import arg
from tmuxorch.tmux.server import TmuxServer

logger = logging.getLogger(__name__)

# Longer single-line text is pasted: one paste is one event for the TUI.
_LITERAL_MAX = 256
_TAIL = 16
# How many trailing characters identify the message in the input area.
_SUFFIX = 8
PASTE_END = "\x1b[201~"
# Escape sequences and control bytes a typed delivery drops (newline and tab
# are handled before).
_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]?|[\x00-\x08\x0b-\x1f\x7f]")
# Characters per send-keys argument.
_CHUNK = 1024
# Longer text goes to a newline_key profile as one paste: Claude Code takes
# each burst of typed input beyond a few KB as a paste of its own, and the
# model would see the message cut into several <pasted_content> blocks.
_TYPED_MAX = 4096


def slash_command(text: str) -> bool:
    """Is ``text`` an agent's own command (``/compact``, ``/model haiku``)?
    A path (``/tmp/x is broken``) is not."""
    return re.fullmatch(r"/[A-Za-z][\w:.-]*(?:\s.*)?", text.strip(), re.S) is not None


def needs_paste(text: str) -> bool:
    return len(text) > _LITERAL_MAX or any(ord(c) < 0x20 or ord(c) == 0x7F for c in text)


def visible_tail(text: str) -> str:
    """The end of the text as the screen shows it: the printable run after the
    last control character of the last line, trimmed."""
    last_line = re.split(r"[\r\n]", text.rstrip("\r\n"))[-1]
    run = re.split(r"[\x00-\x1f\x7f]", last_line)[-1].strip()
    return run[-_TAIL:]


@dataclass(frozen=True)
class _InputLine:
    raw: str

    def shows(self, tail: str, pending: list[re.Pattern[str]]) -> bool:
        """Does the input area still end with the message (or a paste placeholder)?

        Compared without spaces (TUIs pad and wrap), on the last few characters;
        a row shorter than that is the wrapped end of the message when the
        message ends with it.
        """
        text = self.raw.replace(" ", "")
        suffix = tail.replace(" ", "")[-_SUFFIX:]
        if suffix and text and (suffix in text or suffix.endswith(text)):
            return True
        return any(p.search(self.raw) for p in pending)


def _input_line(
    tmux: TmuxServer, pane_id: str, profile: Profile, *, fallback: bool = True
) -> _InputLine | None:
    """What the agent's input area shows; None once the pane's process has ended.

    The input area is the profile's ``input_pattern`` (last match, group 1)
    when it shows — TUIs like Claude Code park the terminal cursor below
    their composer — else the cursor's row.
    """
    pane = tmux.pane(pane_id)
    if pane is None or pane.dead:
        return None
    rows = tmux.cmd("capture-pane", "-p", "-t", pane_id)  # physical rows: cursor_y lines up
    row = pane.cursor_y
    cursor_row = rows[row].rstrip() if row < len(rows) else ""
    if profile.input_pattern:
        where = cursor_row if profile.input_at_cursor else "\n".join(rows)
        matches = list(re.finditer(profile.input_pattern, where, re.MULTILINE))
        if matches or not fallback:
            return _InputLine(matches[-1].group(1).rstrip() if matches else "")
        # The input area's first row scrolled away (a long message): the
        # cursor sits at its end.
    return _InputLine(cursor_row)


def _alive_line(tmux: TmuxServer, pane_id: str, profile: Profile) -> _InputLine:
    line = _input_line(tmux, pane_id, profile)
    if line is None:
        raise DeliveryError("the agent's process has exited")
    return line


def poll(predicate: Callable[[], bool], timeout: float) -> bool:
    """Whether ``predicate`` came true within ``timeout`` s (looked at often)."""
    deadline = time.monotonic() + timeout
    interval = 0.01
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
        interval = min(interval * 1.5, 0.1)


def typeable(text: str) -> str:
    """What a typed (not pasted) delivery carries: newlines, tabs as four
    spaces (as Claude Code's own paste does), and no control bytes: typed,
    they would be keys."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    return _CONTROL.sub("", text)


def _type_lines(tmux: TmuxServer, pane_id: str, text: str, newline_key: str) -> None:
    """Type ``text`` literally, pressing ``newline_key`` between lines, in a few
    tmux calls (each ``send-keys`` argument stays well under tmux's limit)."""
    commands: list[list[str]] = []
    for index, line in enumerate(text.split("\n")):
        if index:
            commands.append(["send-keys", "-t", pane_id, newline_key])
        commands += [["send-keys", "-t", pane_id, "-l", "--", arg(c)] for c in _chunks(line)]
    tmux.run_batch(commands)


def _chunks(line: str) -> list[str]:
    """``line`` in pieces of at most _CHUNK characters, cut between two
    non-space characters where there is one: Claude Code drops a space that
    ends (or starts) one burst of typed input."""
    pieces = []
    while len(line) > _CHUNK:
        cut = _CHUNK
        while cut > _CHUNK // 2 and (line[cut - 1].isspace() or line[cut].isspace()):
            cut -= 1
        if cut == _CHUNK // 2:
            cut = _CHUNK  # a long run of spaces: no better place
        pieces.append(line[:cut])
        line = line[cut:]
    return [*pieces, line] if line else pieces


def input_text(tmux: TmuxServer, pane_id: str, profile: Profile) -> str:
    """What someone has typed into the agent's input area ("" when empty, a
    placeholder, or when the profile cannot tell)."""
    if not profile.input_pattern:
        return ""
    line = _input_line(tmux, pane_id, profile, fallback=False)
    text = "" if line is None else line.raw.strip()
    if any(re.search(p, text, re.MULTILINE) for p in profile.input_placeholders):
        return ""
    return text


def _clear_input(
    tmux: TmuxServer, pane_id: str, profile: Profile, empty: Callable[[], bool]
) -> None:
    for _ in range(3):
        tmux.send_keys(pane_id, *profile.clear_input_keys)
        if poll(empty, 1.0):
            return
    raise DeliveryError("could not clear the input line to deliver the message")


def _restore_input(tmux: TmuxServer, pane_id: str, saved: str, profile: Profile) -> None:
    # Continuation rows of a multi-line composer are indented on screen.
    lines = [line.strip() for line in saved.split("\n")]
    if profile.newline_key:
        _type_lines(tmux, pane_id, "\n".join(lines), profile.newline_key)
    else:
        tmux.send_literal(pane_id, " ".join(lines))


# A delivery's stages, as recorded before each step (see ``Progress``).
TYPING, TYPED, SUBMITTING = "typing", "typed", "submitting"
# Told each stage and the draft taken out of the input line, before the step;
# a deliverer that dies leaves its last word for ``recover``.
Progress = Callable[[str, str], None]


def type_message(
    tmux: TmuxServer,
    pane_id: str,
    text: str,
    profile: Profile,
    settings: DeliverySettings,
    progress: Progress | None = None,
) -> None:
    """Type ``text`` into the pane and submit it; raise DeliveryError if it never was.

    Input someone had half-typed there is saved first and put back after,
    also when the delivery fails.
    """
    if not text.strip():
        raise DeliveryError("refusing to send an empty message")
    if PASTE_END in text:
        # tmux does not filter it: it would end the bracketed paste early and
        # the rest would arrive as keys (each newline an Enter).
        raise DeliveryError("the message contains ESC[201~ (end of bracketed paste)")
    if profile.newline_key:
        text = typeable(text)
    pending = [re.compile(p) for p in profile.pending_input]
    tail = visible_tail(text)
    tell = progress or (lambda stage, draft: None)
    tmux.leave_mode(pane_id)
    saved = input_text(tmux, pane_id, profile)
    tell(TYPING, saved)  # before the draft leaves the screen: recovery can put it back
    if saved:
        _clear_input(tmux, pane_id, profile, lambda: not input_text(tmux, pane_id, profile))
    try:
        _type_and_submit(tmux, pane_id, text, profile, settings, tail, pending, saved, tell)
    except TmuxorchError:
        # Failed, so not left in the input line for a later Enter to send.
        _put_back(tmux, pane_id, profile, tail, pending, saved)
        raise
    if saved:
        _restore_input(tmux, pane_id, saved, profile)


def _type_and_submit(
    tmux: TmuxServer,
    pane_id: str,
    text: str,
    profile: Profile,
    settings: DeliverySettings,
    tail: str,
    pending: list[re.Pattern[str]],
    saved: str,
    tell: Progress,
) -> None:
    before = _alive_line(tmux, pane_id, profile)
    if profile.newline_key and len(text) <= _TYPED_MAX:
        _type_lines(tmux, pane_id, text, profile.newline_key)
    elif needs_paste(text):
        tmux.paste(pane_id, text)
    else:
        tmux.send_literal(pane_id, text)

    def typed() -> bool:
        line = _alive_line(tmux, pane_id, profile)
        return line.shows(tail, pending) if tail or pending else line != before

    shown = poll(typed, settings.verify_timeout)
    tell(TYPED, saved)
    time.sleep(profile.settle)
    # A late echo (a loaded machine) still counts: judged on a line read
    # before the echo, a command that clears the screen (``clear``) leaves
    # the same empty line behind and would never look submitted.
    shown = shown or typed()
    typed_line = _alive_line(tmux, pane_id, profile)

    def submitted() -> bool:
        line = _input_line(tmux, pane_id, profile)
        if line is None:  # the program took the input and ended
            return True
        if shown:
            return not line.shows(tail, pending)
        return line != typed_line

    tell(SUBMITTING, saved)
    for _ in range(settings.retries + 1):
        tmux.send_keys(pane_id, profile.submit_key)
        if poll(submitted, settings.verify_timeout):
            return
    raise DeliveryError(
        f"the message was typed but never submitted (still in the input line after "
        f"{settings.retries + 1} presses of {profile.submit_key})"
    )


def _put_back(
    tmux: TmuxServer,
    pane_id: str,
    profile: Profile,
    tail: str,
    pending: list[re.Pattern[str]],
    draft: str,
) -> None:
    """Replace what is left of an undelivered message in the input line with
    the draft it displaced, if any (best effort: the delivery has failed)."""

    def cleared() -> bool:
        line = _input_line(tmux, pane_id, profile)
        return line is None or not line.shows(tail, pending)

    try:
        if not cleared():
            _clear_input(tmux, pane_id, profile, cleared)
        if draft and not input_text(tmux, pane_id, profile):
            _restore_input(tmux, pane_id, draft, profile)
    except TmuxorchError as exc:
        logger.warning("could not clear a failed message or put the draft %r back: %s", draft, exc)


def recover(
    tmux: TmuxServer, pane_id: str, text: str, profile: Profile, stage: str, draft: str
) -> bool:
    """After the deliverer of ``text`` died at ``stage``: did the agent take it?

    The screen decides. Text of the message still in the input line was never
    submitted: it is cleared (never left to run with the next message's Enter).
    Gone from the input line after the submit key was due, it was submitted.
    The draft the delivery took out comes back either way. Raises
    DeliveryError when the pane cannot be read: then nobody can tell.
    """
    if profile.newline_key:
        text = typeable(text)
    pending = [re.compile(p) for p in profile.pending_input]
    tail = visible_tail(text)
    line = _alive_line(tmux, pane_id, profile)
    shown = line.shows(tail, pending)
    current = input_text(tmux, pane_id, profile)

    def cleared() -> bool:
        line = _alive_line(tmux, pane_id, profile)
        return not line.shows(tail, pending) and not input_text(tmux, pane_id, profile)

    if shown or (stage != SUBMITTING and current and current != draft):
        # Ours, whole or in part: the draft (if any) had been cleared before.
        _clear_input(tmux, pane_id, profile, cleared)
        current = ""
    if draft and not current:
        _restore_input(tmux, pane_id, draft, profile)
    return stage == SUBMITTING and not shown


def interrupt(
    tmux: TmuxServer, pane_id: str, profile: Profile, prompt: str, settings: DeliverySettings
) -> None:
    """Press the profile's interrupt keys; the prompt of the interrupted turn,
    which Claude Code puts back in its composer, is taken out again (Enter
    from someone attached would run it once more), the draft that was there
    before the interrupt put back."""
    draft = input_text(tmux, pane_id, profile)
    tmux.leave_mode(pane_id)
    tmux.send_keys(pane_id, *profile.interrupt_keys)
    key = "".join(prompt.split())[: _SUFFIX * 4]
    if not key or not profile.input_pattern:
        return
    pending = [re.compile(p) for p in profile.pending_input]

    def recalled() -> bool:
        raw = input_text(tmux, pane_id, profile)
        if raw == draft:
            return False
        return any(p.search(raw) for p in pending) or "".join(raw.split())[: len(key)] == key

    def settled() -> bool:
        # Claude puts the prompt back as the turn ends: once the screen no
        # longer shows work, the composer holds what it will hold.
        busy = screen.classify(profile, tmux.capture(pane_id)).state == "busy"
        return recalled() or not busy

    if not (poll(settled, settings.verify_timeout) and recalled()):
        return
    _clear_input(tmux, pane_id, profile, lambda: not input_text(tmux, pane_id, profile))
    if draft:
        _restore_input(tmux, pane_id, draft, profile)
