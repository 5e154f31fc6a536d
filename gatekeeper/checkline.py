"""``gatekeeper check`` read without the full command line, and what every command does around its work.

Importing typer and building the command line (its parameters are converted by pydantic) costs
about 70 ms, which every pull-request run paid before its first check started.
``read_check`` reads a ``check`` command line in the plain forms only (``--opt VALUE``,
``--opt=VALUE``, the flags, at most one path); anything else (``--help``, an unknown or misspelt
option, a value that starts with ``-`` or is empty, a second path, shell completion) answers None
and goes to ``gatekeeper.cli`` as before, which gives typer's own message. Both paths build the
request in ``check_command`` and run it under ``guarded``, so a check runs the same either way
(tests compare the requests the two give for the same command lines).
"""

from __future__ import annotations

import errno
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

#: ``check``'s options that take a value -> (its parameter, whether the value is a path)
VALUES = {
    "--policy": ("policy_file", True),
    "--output-dir": ("output_dir", True),
    "--baseline": ("baseline", True),
    "--new-code-since": ("new_code_since", False),
    "--new-code-result": ("new_code_result", True),
    "--shard": ("shard", False),
    "--results-out": ("results_out", True),
    "--bundle": ("bundle_out", True),
}
#: ``check``'s repeatable options -> their parameter (a list of strings)
LISTS = {"--format": "fmt", "--only": "only", "--skip": "skip", "--subject": "subjects", "--public-key": "public_key"}
#: ``check``'s flags -> their parameter
FLAGS = {"--no-audit": "no_audit", "--no-cache": "no_cache", "--strict-waivers": "strict_waivers"}


def read_check(args: Sequence[str]) -> dict[str, Any] | None:
    """The parameters of ``check`` for the arguments after ``check`` (as ``check_command`` takes
    them), or None when the command line is not in the plain forms this reads."""
    if any(k.startswith("_") and k.endswith("_COMPLETE") for k in os.environ):
        return None  # shell completion is typer's
    params: dict[str, Any] = {"path": Path(".")}
    paths: list[str] = []
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if not arg.startswith("-"):
            paths.append(arg)
            continue
        name, eq, value = arg.partition("=")
        if name in FLAGS and not eq:
            params[FLAGS[name]] = True
            continue
        if name not in VALUES and name not in LISTS:
            return None
        if not eq:
            if not rest:
                return None
            value = rest.pop(0)
        if not value or value.startswith("-"):
            return None
        if name in LISTS:
            params.setdefault(LISTS[name], []).append(value)
        else:
            key, is_path = VALUES[name]
            params[key] = Path(value) if is_path else value
    if len(paths) > 1 or any(not p for p in paths):
        return None
    if paths:
        params["path"] = Path(paths[0])
    return params


def split(values: Sequence[str] | None) -> tuple[str, ...]:
    """A repeatable comma-separated option as one tuple: ``--only a,b --only c`` -> (a, b, c)."""
    out: list[str] = []
    for value in values or []:
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return tuple(out)


def formats(values: Sequence[str] | None) -> tuple[str, ...] | None:
    """``--format``, split; None when not given (the default applies)."""
    return split(values) if values else None


def check_command(  # noqa: PLR0913  # one parameter per command-line option
    path: Path = Path("."),
    policy_file: Path | None = None,
    output_dir: Path | None = None,
    fmt: Sequence[str] | None = None,
    only: Sequence[str] | None = None,
    skip: Sequence[str] | None = None,
    baseline: Path | None = None,
    new_code_since: str | None = None,
    new_code_result: Path | None = None,
    shard: str | None = None,
    results_out: Path | None = None,
    no_audit: bool = False,
    no_cache: bool = False,
    strict_waivers: bool = False,
    bundle_out: Path | None = None,
    subjects: Sequence[str] | None = None,
    public_key: Sequence[str | Path] | None = None,
) -> int:
    """``gatekeeper check`` with its options as parameters: the request, the checkers, the gate's exit
    code. git starts reading the checkout for the run's snapshot first (``checkout.begin``, unless
    ``run_check`` began it already), while the rest of gatekeeper is imported."""
    from gatekeeper import checkout

    checkout.begin(path.resolve())
    try:
        from gatekeeper import gate
        from gatekeeper.checkers import installed, policy_options, under_review

        under_review(path)  # no checker of the checkout is imported
        request = gate.CheckRequest(
            path=path,
            policy_file=policy_file,
            output_dir=output_dir,
            formats=formats(fmt),
            audit=not no_audit,
            only=split(only),
            skip=split(skip),
            baseline=baseline,
            new_code_since=new_code_since,
            new_code_result=new_code_result,
            shard=shard,
            results_out=results_out,
            use_cache=not no_cache,
            strict_waivers=strict_waivers,
            bundle=bundle_out,
            subjects=tuple(subjects or ()),
            public_keys=tuple(Path(k) for k in public_key or ()),
        )
        checkers = installed()
        return gate.check(request, checkers, policy_options(checkers))
    finally:
        checkout.settle_early()  # a command that ended before its snapshot leaves no git command running


def command_started() -> None:
    """What every command does first: the signing key and the cache key leave the environment
    before any child process starts (and are remembered for gatekeeper's own use)."""
    from gatekeeper import childenv

    childenv.forget()
    childenv.take(fresh=True)
    childenv.take(childenv.CACHE_KEY_ENV, fresh=True)


def _on_sigterm(signum: int, frame: Any) -> None:
    from gatekeeper.interrupts import Terminated

    raise Terminated()


def guarded(command: Callable[[], int | None], code: int | None = None, *, signals: bool = False) -> int | None:
    """Run ``command``: its ``int`` is the exit code; a ``GatekeeperError`` prints one clear line
    and gives its ``exit_code`` (or ``code`` when given); Ctrl-C gives 130.

    ``signals``: SIGTERM is turned into ``interrupts.Terminated`` while the command runs (143), and an
    interruption that arrives before the gate's own sequence took over says so (the sequence
    itself cleans up and returns 130 or 143).
    """
    from gatekeeper import gate, interrupts
    from gatekeeper.errors import GatekeeperError

    # held since the command began (``interrupts``): the run delivers SIGTERM once it is prepared
    own = signals and not interrupts.held()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if own else None
    try:
        return command()
    except GatekeeperError as exc:
        from gatekeeper.escapes import clean_line, echo

        echo(f"gatekeeper: error: {clean_line(str(exc))}", err=True)
        return code if code is not None else int(getattr(exc, "exit_code", 2))
    except (KeyboardInterrupt, interrupts.Terminated) as exc:
        terminated = isinstance(exc, interrupts.Terminated)
        return gate.interrupted(terminated) if signals else interrupts.stopped(terminated)
    finally:
        if own:
            signal.signal(signal.SIGTERM, previous)


def run_check(args: Sequence[str]) -> int | None:
    """``gatekeeper check ARGS`` when ``read_check`` reads them (the exit code), else None."""
    params = read_check(args)
    if params is None:
        return None
    command_started()
    from gatekeeper import checkout

    checkout.begin(Path(params["path"]).resolve())  # before the rest of gatekeeper is imported (``check_command``)
    try:
        code = guarded(lambda: check_command(**params), signals=True)
        sys.stdout.flush()
    except OSError as exc:  # as click does: output to a closed pipe ends the command quietly
        if exc.errno != errno.EPIPE:
            raise
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # for the rest of the process
        return 1
    return code or 0
