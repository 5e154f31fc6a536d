"""The policy's test command (``checks.coverage.run``) run under ``coverage run`` in the project's
environment, its data written to a private folder, pytest's tests counted (``pytestcount``), and
what the run gives: a failing run, or one that ran no test, is a blocking finding.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekeeper import process
from gatekeeper.checkers.base import CheckContext
from gatekeeper.findings import NO_BASELINE, Finding, Narrowing, Severity, fingerprint

#: the check's name, ``report.CHECK``: the report's reader is imported once the tests have started, not before
CHECK = "coverage"

if TYPE_CHECKING:
    from gatekeeper.interpreter import Interpreter

#: ``python -m coverage`` without the project's root on ``sys.path`` while coverage.py is imported
#: (a ``coverage/`` folder in the checkout must not stand in for it); the root is put back
#: before the tests start, as ``python -m pytest`` would have it.
#: The test run's pytest, and only it, counts the tests it runs (``pytestcount``): the module is
#: compiled under a name coverage.py does not trace and named in ``PYTEST_PLUGINS`` for this process.
_COUNT_ENV = "GATEKEEPER_PYTEST_COUNT"
#: REF's test run in a new-code run's worktree: the checkout, and the file to which, once coverage.py
#: has saved its data, the files of the modules the tests imported from the checkout (outside the
#: environment's own folders) are written, one a line, relative to it: REF's figures would measure them
_REF_ENV = "GATEKEEPER_REF_CHECKOUT"
_LEAKS_ENV = "GATEKEEPER_REF_LEAKS"
_LEAKS = (
    "import os, sys\n"
    "top = os.path.realpath(checkout) + os.sep\n"
    "own = tuple(os.path.realpath(p) + os.sep for p in {sys.prefix, sys.exec_prefix, sys.base_prefix})\n"
    "found = set()\n"
    "for module in list(sys.modules.values()):\n"
    "    name = getattr(module, '__file__', None)\n"
    "    if isinstance(name, str):\n"
    "        real = os.path.realpath(name)\n"
    "        if real.startswith(top) and not real.startswith(own):\n"
    "            found.add(real[len(top):])\n"
    "with open(out, 'w', encoding='utf-8', errors='surrogateescape') as handle:\n"
    "    handle.write(''.join(f + '\\n' for f in sorted(found)))\n"
)
_COVERAGE_MAIN = (
    "import os, sys\n"
    "if sys.path and sys.path[0] in ('', os.getcwd()): del sys.path[0]\n"
    f"count = os.environ.pop({_COUNT_ENV!r}, '')\n"
    "if count:\n"
    "    import types\n"
    "    counter = types.ModuleType('gatekeeper_pytest_count')\n"
    f"    exec(compile({Path(__file__).with_name('pytestcount.py').read_text(encoding='utf-8')!r}, "
    "'<gatekeeper_pytest_count>', 'exec'), counter.__dict__)\n"
    "    counter.COUNT_FILE, counter.PREVIOUS_PLUGINS = count, os.environ.get('PYTEST_PLUGINS')\n"
    "    sys.modules[counter.NAME] = counter\n"
    "    os.environ['PYTEST_PLUGINS'] = ','.join(p for p in (counter.PREVIOUS_PLUGINS, counter.NAME) if p)\n"
    "try:\n"
    "    from coverage.cmdline import main\n"
    "except ModuleNotFoundError as exc:\n"
    "    if (exc.name or '').split('.')[0] != 'coverage': raise\n"
    "    sys.stderr.write(sys.executable + ': No module named coverage\\n'); sys.exit(1)\n"
    f"ref = (os.environ.pop({_REF_ENV!r}, ''), os.environ.pop({_LEAKS_ENV!r}, ''))\n"
    "sys.path.insert(0, os.getcwd())\n"
    "try:\n"
    "    status = main()\n"
    "finally:\n"
    "    if all(ref):\n"
    f"        exec(compile({_LEAKS!r}, '<gatekeeper_ref_leaks>', 'exec'), {{'checkout': ref[0], 'out': ref[1]}})\n"
    "sys.exit(status)\n"
)

_TAIL_LINES = 12


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TestRun:
    """What the policy's test command did: its exit status, output and the findings it gives."""

    command: tuple[str, ...]
    returncode: int
    output: str
    findings: tuple[Finding, ...]
    duration_s: float = 0.0
    # pytest's: collected, ran, skipped, deselected, and under pytest-xdist the options whose
    # deselection its workers did uncounted ("deselecting") (``pytestcount``)
    counts: Mapping[str, int | str] | None = None
    #: REF's run in a new-code run's worktree: the files of the checkout (relative to it) whose
    #: modules the tests imported instead of REF's
    leaked: tuple[str, ...] = ()

    def metric(self) -> dict[str, Any]:
        """The ``tests`` metric: the command, its exit status, whether the tests passed and how long
        they took (wall seconds: the rest of the check's time is gatekeeper's own), and when pytest
        ran, how many tests it collected, ran, skipped and deselected."""
        passed = self.returncode == 0 and not self.findings
        out = {"command": list(self.command), "returncode": self.returncode, "passed": passed, "duration_s": self.duration_s}
        return out if self.counts is None else {**out, "pytest": dict(self.counts)}

    def narrowing(self) -> tuple[Narrowing, ...]:
        """The tests pytest collected but did not run (its options deselected them: ``-k``, ``-m``,
        ``--deselect`` in ``addopts``; or they were skipped or expected to fail), as one record;
        without pytest's counts, the tests unittest's verdict says it skipped."""
        if self.counts is None:
            return _unittest_skips(self.output)
        counts = self.counts
        deselected, skipped = int(counts.get("deselected", 0)), int(counts.get("skipped", 0))
        unseen = str(counts.get("deselecting", ""))
        if not deselected and not skipped and not unseen:
            return ()
        detail = f"pytest deselected {deselected} test{'s' if deselected != 1 else ''} and skipped {skipped}"
        if unseen:  # pytest-xdist's workers deselect, and neither they nor pytest tell the controller how many
            detail = f"pytest-xdist's workers deselected the tests {unseen} leaves out (not counted) and skipped {skipped}"
        effect = (
            "these tests did not run (the command's or the configuration's -k, -m, --deselect; skip and xfail marks): "
            "a failure in them cannot fail the check, and code only they reach counts as not covered"
        )
        return (Narrowing("option", "", None, detail, effect),)


def _unittest_skips(output: str) -> tuple[Narrowing, ...]:
    """The record of the tests unittest skipped, from its last verdict ("Ran 52 tests in 0.013s" then
    "OK (skipped=14)" or "FAILED (failures=1, skipped=2)"); none when it skipped none or said no verdict."""
    ran = re.findall(r"^Ran (\d+) tests? in ", output, re.MULTILINE)
    skipped = re.findall(r"^(?:OK|FAILED) \((?:.*, )?skipped=(\d+)\b", output, re.MULTILINE)
    if not ran or not skipped or not int(skipped[-1]):
        return ()
    detail = f"unittest skipped {skipped[-1]} of the {ran[-1]} test{'s' if ran[-1] != '1' else ''} it ran"
    effect = (
        "these tests did not run (skip decorators, skipTest, skipIf): a failure in them cannot fail the check, "
        "and code only they reach counts as not covered"
    )
    return (Narrowing("option", "", None, detail, effect),)


def last_lines(text: str, count: int = _TAIL_LINES) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines() if line.strip()]
    return "\n".join(line if len(line) <= 300 else line[:299] + "…" for line in lines[-count:])


def _key_lines(text: str) -> str:
    """The lines that say why a test run failed: unittest's ``FAIL:``/``ERROR:`` heading of each failed
    test (the first three) and its ``FAILED (failures=N)`` line, pytest's FAILED/ERROR summary, else
    its last lines."""
    lines = [line.rstrip() for line in text.strip().splitlines() if line.strip()]
    if any(line.startswith(("FAILED (failures=", "FAILED (errors=")) for line in lines):  # unittest's verdict
        named = [line for line in lines if line.startswith(("FAIL: ", "ERROR: "))]
        return "\n".join([*named[:3], *[line for line in lines if line.startswith("FAILED (")][-1:]])
    summary = [line for line in lines if line.startswith(("FAILED ", "ERROR "))]
    errors = [line for line in lines if line.startswith("E   ")]
    return "\n".join((summary or errors or lines)[-3:])


#: the interpreter's own options that take no value (``python -b``, ``-OO``), and those that take one (``-W always``)
_FLAGS, _VALUED = frozenset("bBdEIORsSuvx"), frozenset("WX")  # not -q: coverage run has its own


def interpreter_options(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """The interpreter's options at the head of a ``["python", ...]`` command (``-b -W always``, as
    tox.ini's ``python -b -W always -m coverage run`` has them), which go to the interpreter, and the
    rest, which goes to ``coverage run`` (which has no such options)."""
    i = 0
    while i < len(args):
        word = args[i]
        if not word.startswith("-") or word.startswith("--") or len(word) < 2:
            break
        letters = word[1:]
        valued = next((n for n, c in enumerate(letters) if c not in _FLAGS), len(letters))
        if valued < len(letters) and letters[valued] not in _VALUED:
            break  # -m, -c or an option of coverage run: the interpreter's options end here
        i += 2 if valued == len(letters) - 1 and letters[valued] in _VALUED else 1
    return list(args[:i]), list(args[i:])


def run_tests(command: Sequence[str], ctx: CheckContext, private: Path, on_start: Callable[[], None] | None = None) -> TestRun:
    """Run the policy's test command under ``coverage run`` in the project's environment.

    ``["pytest", "-q"]`` runs ``python -m coverage run -m pytest -q``; a first word ``python`` passes
    the rest to ``coverage run`` as is (``["python", "-m", "unittest"]``), and a ``.py`` file runs as a script.
    The data goes to ``private`` (``COVERAGE_FILE``), never into the checkout. A failing test run is
    a blocking finding (its data may still be read); no data at all is an error. ``on_start`` is
    called once the command has started.
    """
    head, rest = command[0], list(command[1:])
    flags: list[str] = []
    if head in ("python", "python3") or head.rsplit("/", 1)[-1].startswith("python"):
        flags, args = interpreter_options(rest)
    elif head.endswith(".py"):
        args = [head, *rest]
    else:
        args = ["-m", head, *rest]
    python = ctx.target_python
    counter, count_file = _pytest_counter(args, private)
    env = {**os.environ, **activated(ctx.interpreter), "COVERAGE_FILE": str(private / ".coverage"), **counter}
    leaks = _ref_setting(ctx, env, private)
    started = time.monotonic()
    # the project's tests, which the policy says to run: in the project's folder, on its sys.path
    done = ctx.run([python, *flags, "-c", _COVERAGE_MAIN, "run", *args], env=env, on_start=on_start, isolated=False)
    took = round(time.monotonic() - started, 3)
    output = (done.stdout + "\n" + done.stderr).strip()
    process.require_module(
        done,
        "coverage",
        "coverage.py",
        python,
        f"install it there to use checks.coverage.run: {python} -m pip install coverage, or in an environment without "
        f"pip, as uv and PDM create them, uv pip install --python {python} coverage",
    )
    findings: tuple[Finding, ...] = ()
    counts = _pytest_counts(count_file)
    ran_none = _ran_no_test(args, output, counts) if done.returncode == 0 else ""
    if done.returncode != 0 or ran_none:
        said = ran_none or f"exited with {done.returncode}"
        findings = (
            Finding(
                rule_id="coverage.tests_failed",
                severity=Severity.HIGH,
                message=f"the test command {' '.join(command)} {said}:\n{_key_lines(output)}",
                blocking=True,
                fingerprint=fingerprint(CHECK, "coverage.tests_failed"),
                rule_name="tests run under coverage failed",
                tags=("coverage", NO_BASELINE),
                properties={"returncode": done.returncode, "command": list(command), "output_tail": last_lines(output)},
            ),
        )
    leaked = tuple(_lines(leaks)) if leaks is not None else ()
    return TestRun(tuple(command), done.returncode, output, findings, took, counts[-1] if counts else None, leaked)


def _ref_setting(ctx: CheckContext, env: dict[str, str], private: Path) -> Path | None:
    """In REF's worktree (``ctx.ref_checkout``), REF's import roots first on ``PYTHONPATH``
    (``refroots``) and the file ``_COVERAGE_MAIN`` lists the checkout's modules the tests imported
    in; None (``env`` unchanged) in any other run."""
    if ctx.ref_checkout is None:
        return None
    from gatekeeper.checkers.coverage.refroots import pythonpath

    path = pythonpath(ctx, env.get("PYTHONPATH", ""))
    if path:
        env["PYTHONPATH"] = path
    leaks = private / "ref-leaks.txt"
    env.update({_REF_ENV: str(ctx.ref_checkout), _LEAKS_ENV: str(leaks)})
    return leaks


def _lines(path: Path) -> list[str]:
    try:
        return [line for line in path.read_text(encoding="utf-8", errors="surrogateescape").splitlines() if line]
    except OSError:
        return []


def activated(interpreter: Interpreter | None) -> dict[str, str]:
    """The variables ``bin/activate`` sets for the project's virtual environment: its scripts folder
    first on ``PATH`` and ``VIRTUAL_ENV``, as tox, ``uv run``, ``poetry run`` and an activated shell
    leave them, so a test that runs the project's console script (``subprocess.run(["dotenv",
    ...])``) finds this environment's. None for gatekeeper's own interpreter (its tools stay off the
    tests' ``PATH``) or an interpreter outside a virtual environment."""
    if interpreter is None or interpreter.own:
        return {}
    scripts = Path(interpreter.python).parent
    if not (scripts.parent / "pyvenv.cfg").is_file():
        return {}
    path = os.pathsep.join(p for p in (str(scripts), os.environ.get("PATH", "")) if p)
    return {"PATH": path, "VIRTUAL_ENV": str(scripts.parent)}


def _pytest_counter(args: Sequence[str], private: Path) -> tuple[dict[str, str], Path | None]:
    """When the command is pytest, the environment that has ``_COVERAGE_MAIN`` register gatekeeper's
    counting plugin (``pytestcount``) for it, and the file the plugin writes (in ``private``)."""
    if list(args[:2]) not in (["-m", "pytest"], ["-m", "py.test"]):
        return {}, None
    count = private / "pytest-count.jsonl"
    return {_COUNT_ENV: str(count)}, count


def _pytest_counts(path: Path | None) -> list[dict[str, int | str]]:
    """The counts each pytest session of the run wrote (none when pytest did not run or wrote none)."""
    if path is None:
        return []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    out: list[dict[str, int | str]] = []
    for line in lines:
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict):
            counts: dict[str, int | str] = {k: int(v) for k, v in item.items() if isinstance(v, int) and not isinstance(v, bool)}
            said = item.get("deselecting_hex")
            if isinstance(said, str) and said:  # the plugin writes the option text as the hex of its UTF-8
                try:
                    counts["deselecting"] = bytes.fromhex(said).decode("utf-8", "replace")
                except ValueError:
                    continue  # not a line the plugin wrote
            out.append(counts)
    return out


def _ran_no_test(args: Sequence[str], output: str, counts: Sequence[Mapping[str, int | str]]) -> str:
    """Why a test run that exited 0 ran no test, in words ("" when it ran some, or cannot be told).

    pytest exits 0 having run nothing with ``--collect-only``, ``--setup-only``, ``--fixtures`` or
    every test skipped, all of which its configuration's ``addopts`` may say; unittest before
    Python 3.12 says "Ran 0 tests … OK" and exits 0 when it finds none (3.12 exits 5), and says
    "OK (skipped=N)" when it skipped every one of the N tests it ran."""
    if counts:
        if any(c.get("ran", 0) for c in counts):
            return ""
        last = counts[-1]
        return (
            f"ran no test (pytest collected {last.get('collected', 0)}, skipped {last.get('skipped', 0)}, "
            f"deselected {last.get('deselected', 0)}; its options, e.g. --collect-only in addopts, may say why)"
        )
    if list(args[:2]) in (["-m", "pytest"], ["-m", "py.test"]):
        return (
            "ran no test gatekeeper could count: pytest ended without a session's counts (an option such as --help, "
            "--version or --markers ends it before any test runs; -p no:gatekeeper_pytest_count turns the counting off)"
        )
    ran = re.findall(r"^Ran (\d+) tests? in ", output, re.MULTILINE)
    if ran and int(ran[-1]) == 0:
        return "ran no test (unittest found none)"
    skipped = re.findall(r"^OK \((?:.*, )?skipped=(\d+)\b", output, re.MULTILINE)
    if ran and skipped and int(skipped[-1]) >= int(ran[-1]):
        return f"ran no test (unittest skipped all {ran[-1]})"
    return ""
