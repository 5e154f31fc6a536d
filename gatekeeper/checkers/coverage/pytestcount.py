"""A pytest plugin that counts the tests a run under ``checks.coverage.run`` ran: standard library only.

Never imported by gatekeeper: when the policy's command is pytest, the code that starts ``coverage
run`` in the test process (``data._COVERAGE_MAIN``) compiles this text under the name
``<gatekeeper_pytest_count>`` (coverage.py traces no file whose name starts with ``<``: the counts
never change the coverage figures), registers it as the module ``gatekeeper_pytest_count`` and
names it in ``PYTEST_PLUGINS`` for that process's pytest alone (the variable is restored as pytest
registers it, so a pytest the tests start in a subprocess never looks for it). At the end of the
session it appends one JSON line to ``COUNT_FILE``: the tests collected, run (a call phase not
skipped), skipped and deselected, and the pytest-xdist workers that ran them. So a run that exits 0
having run no test (``--collect-only``, ``--setup-only``, ``--fixtures``, every test skipped or
deselected by the project's options) is told from one whose tests passed. An ``xdist`` controller
receives its workers' reports and counts them.

PYTEST_DONT_REWRITE: pytest marks a module named in ``PYTEST_PLUGINS`` for assertion rewriting and,
finding it imported already, warns (an error under ``-W error`` or ``filterwarnings = error``)
unless its docstring holds these words.
"""

from __future__ import annotations

import json
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


def pytest_runtest_logreport(report: Any) -> None:
    """A test ran when its call phase was reported and not skipped by ``pytest.skip`` inside it (an
    expected failure ran: xfail); one skipped before its call (a skip mark) did not."""
    if report.when == "call" and (not report.skipped or hasattr(report, "wasxfail")):
        _counts["ran"] += 1
    elif report.skipped:
        _counts["skipped"] += 1


def pytest_sessionfinish(session: Any, exitstatus: Any) -> None:
    """Append the session's counts to ``COUNT_FILE``."""
    if not COUNT_FILE or hasattr(session.config, "workerinput"):  # an xdist worker: its controller counts
        return
    _counts["collected"] = int(getattr(session, "testscollected", 0) or 0)
    with open(COUNT_FILE, "a", encoding="utf-8") as out:
        out.write(json.dumps({**_counts, "workers": _workers(session.config), "exitstatus": int(exitstatus)}) + "\n")


def _workers(config: Any) -> int:
    """How many pytest-xdist worker processes ran the tests (``-n N``; 0: they ran in this process)."""
    option = config.option
    if getattr(option, "dist", "no") == "no":
        return 0
    return len(getattr(option, "tx", None) or [])
