"""Ctrl-C and SIGTERM while ``gatekeeper check`` starts: held until the run is prepared, then delivered.

Until the policy is loaded and every place the run writes is resolved, an interruption can be
neither recorded (the audit log's place and whether to keep one are the policy's) nor cleanly
handled (Python's default SIGTERM ends the process on the spot, and Ctrl-C raises wherever the
start-up happens to be, an import included). So the console script holds both signals from its
first line (``hold``) and the run delivers the first one held as soon as it is prepared
(``release``): the interrupted run is recorded, exits 130 or 143, and has written no report. From
then on each signal is raised at once, as ``KeyboardInterrupt`` or ``Terminated``. A signal
the process was started ignoring (a background job's Ctrl-C, ``nohup``) stays ignored. Every other
command raises ``Terminated`` for SIGTERM from the console script's first line (``raise_on_term``),
and ends as Ctrl-C ends it: the tools it started killed (``stopped``), exit 143. Before the console
script's first line (the interpreter's own start-up, some 20 ms) Python's own handling applies: the
process ends by the signal, before anything of gatekeeper ran, so no tool was started and nothing written.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: the handlers ``hold`` replaced, put back by ``end``
_previous: dict[int, object] = {}
#: the signals that arrived while held, in order
_pending: list[int] = []
_state = {"held": False}


def hold() -> None:
    """From now on, note SIGINT and SIGTERM instead of acting on them, until ``release`` (main thread only)."""
    if threading.current_thread() is not threading.main_thread() or _state["held"]:
        return
    for sig in _SIGNALS:
        if signal.getsignal(sig) is not signal.SIG_IGN:
            _previous[sig] = signal.signal(sig, _on_signal)
    _pending.clear()
    _state["held"] = True


def held() -> bool:
    """Whether signals are being held (``hold`` was called, ``release`` not yet)."""
    return _state["held"]


def release() -> None:
    """Stop holding: the first signal held is raised now (``KeyboardInterrupt`` for SIGINT,
    ``Terminated`` for SIGTERM), and each later one as it arrives. Nothing when not holding."""
    if not _state["held"]:
        return
    _state["held"] = False
    if _pending:
        raise _exception(_pending[0])


def end() -> int | None:
    """Put back the handlers ``hold`` replaced; the signal still held and never delivered (the
    command ended before its run was prepared), or None."""
    pending = _pending[0] if _state["held"] and _pending else None
    for sig, handler in _previous.items():
        signal.signal(sig, handler)  # type: ignore[arg-type]  # what ``signal.signal`` returned
    _previous.clear()
    _pending.clear()
    _state["held"] = False
    return pending


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if _state["held"]:
        _pending.append(signum)
        return
    raise _exception(signum)


def raise_on_term() -> None:
    """From now on SIGTERM raises ``Terminated`` in the main thread (main thread only; a SIGTERM the
    process was started ignoring stays ignored)."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is not signal.SIG_IGN:
        signal.signal(signal.SIGTERM, _raise)


def _raise(signum: int, frame: FrameType | None) -> None:
    raise _exception(signum)


def stopped(terminated: bool) -> int:
    """End a command other than ``check`` that Ctrl-C or SIGTERM (``terminated``) interrupted: kill
    the tools it started and every one still starting, say so, and return 130 or 143. (``check``
    also records the interrupted run: ``gate.interrupted``.)"""
    import sys

    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second signal must not cut the cleanup short
    process = sys.modules.get("gatekeeper.process")  # not imported: no tool was started
    if process is not None:
        process.kill_all(stop=True)
    what = "terminated (SIGTERM)" if terminated else "interrupted (SIGINT)"
    sys.stderr.write(f"gatekeeper: {what}; the tools it started were killed\n")
    sys.stderr.flush()
    return 143 if terminated else 130


class Terminated(BaseException):
    """Raised in the main thread when SIGTERM arrives (the command line installs the handler)."""


def _exception(signum: int) -> BaseException:
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()
