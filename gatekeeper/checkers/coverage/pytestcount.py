"""A pytest plugin that counts the tests a run under ``checks.coverage.run`` ran: standard library only.

Never imported by gatekeeper: when the policy's command is pytest, the code that starts ``coverage
run`` in the test process (``testrun._COVERAGE_MAIN``) compiles this text under the name
``<gatekeeper_pytest_count>`` (coverage.py traces no file whose name starts with ``<``: the counts
never change the coverage figures), registers it as the module ``gatekeeper_pytest_count`` and
names it in ``PYTEST_PLUGINS`` for that process's pytest alone (the variable is restored as pytest
registers it, so a pytest the tests start in a subprocess never looks for it). At the end of the
session it appends one JSON line to ``COUNT_FILE``: the tests collected, run (a call phase not
skipped), skipped (tests, and modules skipped as they were collected, as pytest's summary counts
them) and deselected, the pytest-xdist workers that ran them, and whether pytest-cov measured the
session in place of ``coverage run`` (``pytest_cov``, written only then). A subtest
(``subTest``, the ``subtests`` fixture) is part of its test, not a test of its own, and a test
pytest-rerunfailures ran again counts once. So a run that exits 0
having run no test (``--collect-only``, ``--setup-only``, ``--fixtures``, every test skipped or
deselected by the project's options) is told from one whose tests passed. An ``xdist`` controller
receives its workers' reports and counts them; it never sees what they deselect (pytest-xdist's
summary leaves it out too), so it names the options that deselect instead (``deselecting``).

It calls no Python code of the standard library while coverage.py measures (the line is written by
hand, the option text as the hex of its UTF-8): a project that measures a standard library module
(``source = ["json"]``, ``cover_pylib``) would otherwise see lines of it the tests never ran
counted as run, and figures other than ``coverage run -m pytest`` gives.

PYTEST_DONT_REWRITE: pytest marks a module named in ``PYTEST_PLUGINS`` for assertion rewriting and,
finding it imported already, warns (an error under ``-W error`` or ``filterwarnings = error``)
unless its docstring holds these words.
"""

from __future__ import annotations

import os
from typing import Any

NAME = "gatekeeper_pytest_count"
COUNT_FILE = ""  # set by the code that registers the module
PREVIOUS_PLUGINS: str | None = None  # PYTEST_PLUGINS before the module was named there (None: unset)

_counts = {"collected": 0, "ran": 0, "skipped": 0, "deselected": 0}


def pytest_addhooks(pluginmanager: Any) -> None:
    """Put ``PYTEST_PLUGINS`` back as it was as soon as pytest registers this module (it has read the
    variable then), before any conftest.py is loaded: a pytest started from there never looks for it."""
    if PREVIOUS_PLUGINS is None:
        os.environ.pop("PYTEST_PLUGINS", None)
    else:
        os.environ["PYTEST_PLUGINS"] = PREVIOUS_PLUGINS


def pytest_deselected(items: list[Any]) -> None:
    """Tests the run's options (``-k``, ``-m``, ``--deselect``) dropped after collection."""
    _counts["deselected"] += len(items)


#: the reports of subtests (pytest's own, 9.0 and later, and the pytest-subtests plugin's): each
#: subtest of a test is reported on its own, beside the test's report
_SUBTEST_REPORTS = ("SubtestReport", "SubTestReport")


def pytest_runtest_logreport(report: Any) -> None:
    """A test ran when its call phase was reported and not skipped by ``pytest.skip`` inside it (an
    expected failure ran: xfail); one skipped before its call (a skip mark) did not. A subtest's
    report is not a test's: pytest counts its test once ("773 passed, 2324 subtests passed"); nor is
    a failed attempt pytest-rerunfailures runs again ("3 passed, 1 rerun": outcome "rerun")."""
    if type(report).__name__ in _SUBTEST_REPORTS or getattr(report, "outcome", "") == "rerun":
        return
    if report.when == "call" and (not report.skipped or hasattr(report, "wasxfail")):
        _counts["ran"] += 1
    elif report.skipped:
        _counts["skipped"] += 1


def pytest_collectreport(report: Any) -> None:
    """A module or package skipped as it was collected (``raise unittest.SkipTest`` or
    ``pytest.skip(allow_module_level=True)`` at import) is one skip, as pytest's summary counts it
    ("400 passed, 15 skipped": 13 of them modules of a package whose ``__init__`` skips)."""
    if report.skipped:
        _counts["skipped"] += 1


def pytest_sessionfinish(session: Any, exitstatus: Any) -> None:
    """Append the session's counts to ``COUNT_FILE``."""
    if not COUNT_FILE or hasattr(session.config, "workerinput"):  # an xdist worker: its controller counts
        return
    _counts["collected"] = int(getattr(session, "testscollected", 0) or 0)
    workers = _workers(session.config)
    fields = [*(f'"{key}": {int(value)}' for key, value in _counts.items()), f'"workers": {workers}']
    fields.append(f'"exitstatus": {int(exitstatus)}')
    if _pytest_cov_measured(session.config):
        fields.append('"pytest_cov": 1')
    if workers and _deselecting(session.config):
        fields.append(f'"deselecting_hex": "{_deselecting(session.config).encode("utf-8", "surrogateescape").hex()}"')
    with open(COUNT_FILE, "a", encoding="utf-8") as out:  # one JSON object a line, written without json
        out.write("{" + ", ".join(fields) + "}\n")


def _pytest_cov_measured(config: Any) -> bool:
    """Whether pytest-cov measured this session (``--cov`` from the command, ``addopts``,
    ``PYTEST_ADDOPTS`` or a plugin such as pytest-enabler, and no ``--no-cov``): it then measures in
    place of ``coverage run``, whose data, saved last, holds what ran before pytest-cov started."""
    plugin = config.pluginmanager.get_plugin("_cov")
    return plugin is not None and not getattr(plugin, "_disabled", False)


def _deselecting(config: Any) -> str:
    """The options that deselect tests after collection (``-k``, ``-m``, ``--deselect``: the command's
    or the configuration's ``addopts``), as pytest would read them; "" when none is given."""
    option = config.option
    said = [f"-k {option.keyword!r}"] if getattr(option, "keyword", "") else []
    said += [f"-m {option.markexpr!r}"] if getattr(option, "markexpr", "") else []
    said += [f"--deselect {node}" for node in getattr(option, "deselect", None) or ()]
    return " ".join(said)


def _workers(config: Any) -> int:
    """How many pytest-xdist worker processes ran the tests (``-n N``; 0: they ran in this process)."""
    option = config.option
    if getattr(option, "dist", "no") == "no":
        return 0
    return len(getattr(option, "tx", None) or [])
