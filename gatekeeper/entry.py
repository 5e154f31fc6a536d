"""The console script ``gatekeeper``: ``--version`` is answered, and ``check`` run, before the command line is imported.

Importing the command line (typer, click, pydantic, every command's module) takes longer than
printing a version should, and it was about 70 ms of every check's start-up;
``gatekeeper check`` in its plain forms runs through ``gatekeeper.checkline``. Everything else
goes to ``gatekeeper.cli``, which prints the same line for ``--version`` among other options and
gives typer's messages for a command line it does not accept.
"""

from __future__ import annotations

import gc
import signal
import sys

#: the cyclic garbage collector's first threshold during ``check``: a run builds many long-lived
#: objects (modules, classes, findings, report rows) and next to no cyclic garbage, and at the
#: default (700 allocations) the collector ran over a hundred times a pull-request run, rescanning
#: them, about 6% of its CPU. mypy raises it the same way.
CHECK_GC_THRESHOLD = 100_000


def run(*, ending: bool = False) -> None:
    """Console-script entry point: ``gatekeeper --version`` alone, ``gatekeeper check`` in its plain
    forms (``gatekeeper.checkline``), else the command line. ``ending``: the process ends once it
    returns (``main``), so the collector's pace is not restored after ``check``: at the default
    threshold the next allocation would first collect every object the run built (15-20 ms of a
    warm run with ``checks.coverage.run``), for nothing."""
    if sys.argv[1:] == ["--version"]:
        from gatekeeper import __version__

        sys.stdout.write(f"gatekeeper {__version__}\n")
        return
    from gatekeeper import interrupts

    if sys.argv[1:2] == ["check"]:
        interrupts.hold()  # Ctrl-C and SIGTERM wait for the run to be prepared, which records them
        previous = gc.get_threshold()
        gc.set_threshold(CHECK_GC_THRESHOLD, *previous[1:])
        try:
            from gatekeeper.checkline import run_check

            code = run_check(sys.argv[2:])
        except KeyboardInterrupt:  # before the check's own handling took over
            sys.exit(130)
        finally:
            pending = interrupts.end()
            if not ending:
                gc.set_threshold(*previous)  # a caller in the same process keeps its own pace
        if pending is not None:  # the command ended before its run was prepared: nothing ran or was written
            from gatekeeper.gate import interrupted

            sys.exit(interrupted(pending == signal.SIGTERM))
        if code is not None:
            sys.exit(code)
    # every other command: SIGTERM raises from here on, as Ctrl-C does, so that no tool a command
    # started is left running when it ends (tools run in process groups of their own, which neither
    # signal reaches); ``guarded`` ends a command it interrupts, this what comes before or after it
    interrupts.raise_on_term()
    try:
        from gatekeeper.cli import run as command_line

        command_line()
    except interrupts.Terminated:
        sys.exit(interrupts.stopped(terminated=True))


def main() -> None:
    """The console script: ``run``, then the process ends with its exit code (``leave``)."""
    try:
        run(ending=True)
    except SystemExit as exc:
        if exc.code is None or (isinstance(exc.code, int) and not isinstance(exc.code, bool)):
            leave(exc.code or 0)
        raise
    leave(0)


def leave(code: int) -> None:
    """End the process with ``code`` as ``sys.exit`` would, less the interpreter's teardown: the exit
    handlers run (coverage.py saving its data, logging, temporary files), the standard streams are
    flushed, then ``os._exit``. Tearing the interpreter down frees every module, class and finding
    one object at a time, 15-30 ms of every run, for a process that is about to end (mypy ends the
    same way). A non-daemon thread still running would be cut short: then the ordinary exit waits for it."""
    import threading

    from gatekeeper.runmain import end

    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(code)
    end(code)
