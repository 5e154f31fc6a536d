"""What the coverage checker says when coverage.py's analysis refuses: hints that fit the failure
and where the data came from (the tests it just ran, or data found in the checkout), and the
coverage.py plugins a policy allows, imported from the project's environment.

A coverage.py plugin (``[run] plugins = covdefaults``) is code that changes how coverage is
measured and reported. The analysis runs in gatekeeper's tool interpreter, so a plugin loads there
only when the policy lists it in ``checks.coverage.plugins``; it is then imported from the
project's environment, whose site-packages folders follow the tool interpreter's own on the path.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gatekeeper import process, tomlio
from gatekeeper.checkers.base import CheckContext
from gatekeeper.errors import ToolError


def configured_plugins(root: Path) -> list[str]:
    """The coverage.py plugins the project's coverage configuration names (reading it imports none;
    empty when it cannot be read), for ``policy init`` to say how to allow them."""
    probe = Path(__file__).with_name("probe.py").read_text(encoding="utf-8")
    try:
        done = process.run([sys.executable, "-I", "-c", probe, json.dumps({"mode": "config"})], timeout=60, cwd=root)
        answer = json.loads(done.stdout)
    except (ToolError, ValueError):
        return []
    plugins = answer.get("plugins") if isinstance(answer, dict) else None
    return [str(name) for name in plugins] if isinstance(plugins, list) else []


class MissingData(ToolError):
    """No ``.coverage`` data file where the configuration says it is."""


#: printed by the project's interpreter run without site (``sitepaths``): no start-up code of the
#: environment (a .pth file's import line) can point the plugins somewhere else
_SITE_PATHS = "import json; print(json.dumps(_gk_site_folders()))"


def plugin_paths(ctx: CheckContext) -> list[str]:
    """The site-packages folders of the project's environment, where allowed plugins are imported
    from (asked once per run and interpreter)."""

    def ask() -> list[str]:
        from gatekeeper.checkers import sitepaths

        done = ctx.run([ctx.target_python, *sitepaths.FLAGS, "-c", sitepaths.PRELUDE + _SITE_PATHS], cwd=tempfile.gettempdir())
        try:
            found = json.loads(done.stdout)
        except ValueError:
            found = None
        if done.returncode != 0 or not isinstance(found, list):
            raise ToolError(
                f"cannot list the site-packages of {ctx.target_python}, where checks.coverage.plugins are imported from: "
                f"{process.tail(done.stderr, 300) or 'no answer'}"
            )
        return [str(p) for p in found]

    return list(ctx.shared(f"coverage.plugin_paths:{ctx.target_python}", ask))


def analysis_error(ctx: CheckContext, answer: Mapping[str, Any], ran: bool, command: Sequence[str] = ()) -> ToolError:
    """The probe's refusal (``{"ok": false, "kind", "message"}``) as an error whose hint fits what
    failed; ``ran``: the data is the one the tests just wrote (``checks.coverage.run``: ``command``),
    so the hint never says to run them again."""
    kind, message = str(answer.get("kind", "")), str(answer.get("message", "coverage analysis failed"))
    where_py = answer.get("python") or ctx.tool_python
    python = f"{where_py} (Python {answer.get('python_version') or '?'})"
    if kind == "missing":
        return MissingData(message)
    if kind == "plugins":
        return ToolError(plugins_refused(ctx, message.split(", ")))
    if kind == "plugin_import":
        return ToolError(
            f"the coverage.py plugin allowed by checks.coverage.plugins cannot be loaded ({message}): install it into "
            f"the project's environment, {ctx.target_python}, where it is imported from"
        )
    again = "run the tests under coverage again"
    hints = {
        "corrupt": "delete it and run the tests under coverage again"
        if not ran
        else "the test run wrote it just now: do the tests write coverage data of their own?",
        "empty": f"{again}; check the source/omit/include settings"
        if not ran
        else "no file the coverage configuration selects was measured: check its source/omit/include settings",
        "foreign": "run the tests under coverage in this checkout, or map the old paths with a [paths] section "
        "in the coverage configuration",
        "parse": f"coverage.py in {python} cannot parse that file as Python: leave it out of the report with omit, "
        "or set ignore_errors = true under [report] in the coverage configuration, or analyse with an interpreter "
        "that can parse it (gate.tool_python)",
        "source": "the data does not match the sources: run the tests under coverage again on this tree"
        if not ran
        else "a file measured during the run is gone (the tests deleted or generated it): leave it out with omit, "
        "or set ignore_errors = true under [report] in the coverage configuration",
        "config": "fix the coverage configuration",
        "import": f"install it there: {where_py} -m pip install coverage, or in an environment without pip, as uv "
        f"and PDM create them, uv pip install --python {where_py} coverage; or set gate.tool_python",
    }
    hint = hints.get(kind) or (again if not ran else "")
    where = pytest_cov_addopts(ctx.root, command) if kind == "empty" else ""
    if where:
        hint = (
            f"the project's pytest configuration ({where}) adds --cov to every pytest run: pytest-cov then measures "
            "in place of `coverage run`, whose own data file, saved last, is empty. "
            + (
                "Leave checks.coverage.run empty and run the tests as the project does (`python -m pytest`: "
                "pytest-cov writes the data), or pass --no-cov to pytest in checks.coverage.run"
                + dropped_by_no_cov(ctx.root, command)
                if ran
                else "Run the tests as the project does (`python -m pytest`: pytest-cov writes the data), "
                "or `python -m coverage run -m pytest --no-cov`"
            )
        )
    return ToolError(f"{message} ({hint})" if hint else message)


def dropped_by_no_cov(root: Path, command: Sequence[str]) -> str:
    """What ``--no-cov`` also turns off: the pytest-cov options of the project's ``addopts`` that choose
    what is measured (``--cov=SRC``, ``--cov-branch``), with the coverage.py settings that carry them,
    since the total then follows coverage.py's own configuration (tests measured too, no branches)."""
    read = pytest_addopts(root, command)
    words = read[0].split() if read is not None else []
    sources = [w.split("=", 1)[1] for w in words if w.startswith("--cov=") and w != "--cov="]
    sources += [words[i + 1] for i, w in enumerate(words[:-1]) if w == "--cov" and not words[i + 1].startswith("-")]
    branch = "--cov-branch" in words
    if not sources and not branch:
        return ""
    dropped = " ".join([*(f"--cov={s}" for s in sources), *(["--cov-branch"] if branch else [])])
    carried = [f"source = {json.dumps(sources)}"] if sources else []
    carried += ["branch = true"] if branch else []
    return (
        f" (--no-cov also drops {dropped}: the figures then follow coverage.py's own configuration; to measure "
        f"what the project's pytest-cov does, set {' and '.join(carried)} under [run] in it)"
    )


#: the files pytest reads its configuration from, in its order, with the table a file needs to count
_PYTEST_CONFIGS = (
    ("pytest.toml", ""),
    (".pytest.toml", ""),
    ("pytest.ini", ""),
    (".pytest.ini", ""),
    ("pyproject.toml", "tool.pytest.ini_options"),
    ("tox.ini", "pytest"),
    ("setup.cfg", "tool:pytest"),
)


def pytest_cov_addopts(root: Path, command: Sequence[str] = ()) -> str:
    """Where the project's pytest configuration adds ``--cov`` to every run, e.g. "setup.cfg
    [tool:pytest] addopts"; "" when it does not. The configuration is the file a pytest ``command``
    (``checks.coverage.run``) names with ``-c`` / ``--config-file``, else the first file pytest itself
    would read in the root."""
    read = pytest_addopts(root, command)
    if read is None:
        return ""
    found = re.search(r"(?:^|\s)--cov(?:=|\s|$)", read[0])
    return read[1] if found else ""


def pytest_addopts(root: Path, command: Sequence[str] = ()) -> tuple[str, str] | None:
    """The ``addopts`` of the pytest configuration a run reads (the file a pytest ``command`` names
    with ``-c``, else the first file pytest itself would read in the root) and where they are, e.g.
    ("-q --cov=pkg", "setup.cfg [tool:pytest] addopts"); None without one, or when it cannot be read."""
    named = _config_option(command)
    candidates = [(named, _as_read(named))] if named else [(n, (n, table)) for n, table in _PYTEST_CONFIGS]
    for shown, (name, table) in candidates:
        path = root / shown
        if not path.is_file():
            continue
        try:
            addopts = _addopts(path.read_text(encoding="utf-8"), name, table)
        except (OSError, UnicodeDecodeError, ValueError, configparser.Error):
            return None  # pytest would refuse it too
        if addopts is None:
            continue  # not a pytest configuration: pytest looks at the next file
        return addopts[0], f"{shown} [{addopts[1]}] addopts"
    return None


def _config_option(command: Sequence[str]) -> str:
    """The file a pytest command (``pytest ...``, ``python -m pytest ...``) names with ``-c FILE``,
    ``-cFILE``, ``--config-file FILE`` or ``--config-file=FILE``; "" for none, or another command."""
    args = list(command)
    if args[:1] in (["pytest"], ["py.test"]):
        args = args[1:]
    elif args[:3] in (["python", "-m", "pytest"], ["python", "-m", "py.test"]):
        args = args[3:]
    else:
        return ""
    for i, arg in enumerate(args):
        if arg in ("-c", "--config-file") and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--config-file="):
            return arg.split("=", 1)[1]
        if arg.startswith("-c") and not arg.startswith("--") and len(arg) > 2:
            return arg[2:]
    return ""


def _as_read(name: str) -> tuple[str, str]:
    """How pytest reads a configuration file given with ``-c``, by its name, as the (file name, table)
    ``_addopts`` takes: ``*.toml`` as a pyproject.toml (pytest.toml as its own), ``*.cfg`` as a
    setup.cfg, anything else as a pytest.ini."""
    base = Path(name).name
    if base.endswith("pytest.toml"):
        return "pytest.toml", ""
    if base.endswith(".toml"):
        return "pyproject.toml", "tool.pytest.ini_options"
    if base.endswith(".cfg"):
        return "setup.cfg", "tool:pytest"
    return "pytest.ini", ""


def _addopts(text: str, name: str, table: str) -> tuple[str, str] | None:
    """The ``addopts`` of one candidate file ("" when unset) and the table it is in; None when the file
    holds no pytest table. pyproject.toml: ``[tool.pytest.ini_options]``, else pytest 9's ``[tool.pytest]``;
    pytest 9's (.)pytest.toml: its ``[pytest]`` table, the file counting even without one."""
    if name.endswith("pytest.toml"):
        own = tomlio.loads(text).get("pytest")
        value = own.get("addopts", "") if isinstance(own, dict) else ""
        return (" ".join(map(str, value)) if isinstance(value, list) else str(value)), "pytest"
    if name == "pyproject.toml":
        tool = tomlio.loads(text).get("tool")
        pytest_table = tool.get("pytest") if isinstance(tool, dict) else None
        if not isinstance(pytest_table, dict):
            return None
        ini = pytest_table.get("ini_options")
        options, where = (ini, table) if isinstance(ini, dict) else (pytest_table, "tool.pytest")
        addopts = options.get("addopts", "")
        return (" ".join(map(str, addopts)) if isinstance(addopts, list) else str(addopts)), where
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    section = table or "pytest"
    if not parser.has_section(section):
        return ("", section) if not table else None  # pytest.ini counts even without a [pytest] section
    return parser.get(section, "addopts", fallback=""), section


def plugins_refused(ctx: CheckContext, names: Sequence[str]) -> str:
    """Why a configuration naming coverage.py plugins the policy does not allow is not analysed, and how to proceed."""
    listed = ", ".join(f'"{n}"' for n in names)
    plural = "s" if len(names) > 1 else ""
    return (
        f"the coverage configuration loads the coverage.py plugin{plural} {', '.join(names)}, which the policy does not "
        "allow: a plugin changes how coverage is measured and reported, and analysing the data would import and run "
        f"its code. To allow {'them' if plural else 'it'}, add plugins = [{listed}] under [checks.coverage] in the "
        f"policy (allowed plugins are imported from the project's environment, {ctx.target_python}, and run with the "
        "job's rights, like checks.coverage.run); otherwise remove "
        f"{'them' if plural else 'it'} from the coverage configuration"
    )


def failed_before_measuring(root: Path, command: Sequence[str], returncode: int, message: str) -> str:
    """The error when the policy's test command failed and measured no line of the project: most
    often it stopped before running a test (settings it needs from the environment, an import that
    fails), which the ``coverage.tests_failed`` finding quotes. tox runs the tests with the variables
    ``tox.ini``'s ``setenv`` sets; ``checks.coverage.run`` runs them with the job's, so the ones it
    sets that the job does not are named."""
    missing = [name for name in _tox_setenv(root) if name not in os.environ]
    shown = ", ".join(missing[:10]) + (", …" if len(missing) > 10 else "")
    example = next((name for name in missing if "SETTINGS" in name), missing[0] if missing else "")
    env = (
        f"; tox.ini's [testenv] setenv sets {shown} for the tests, and checks.coverage.run runs them with the job's "
        f"environment, where {'they are' if len(missing) > 1 else 'it is'} not set: set what the tests need before "
        f"gatekeeper check (e.g. {example}=... gatekeeper check)"
        if missing
        else ""
    )
    return (
        f"{message} (the test command {' '.join(command)} (checks.coverage.run) exited with {returncode} and measured "
        "no line of the project: most often it stopped before running the tests, as its output in the "
        f"coverage.tests_failed finding shows{env}; otherwise check the coverage configuration's source/omit/include)"
    )


def _tox_setenv(root: Path) -> list[str]:
    """The variables ``tox.ini``'s ``[testenv]`` ``setenv`` (or ``set_env``) sets for every environment
    (lines under a factor condition, ``py311: NAME = value``, left out); [] without one."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string((root / "tox.ini").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, configparser.Error):
        return []
    if not parser.has_section("testenv"):
        return []
    value = parser.get("testenv", "setenv", fallback="") or parser.get("testenv", "set_env", fallback="")
    return [m.group(1) for line in value.splitlines() if (m := re.match(r"\s*([A-Za-z_]\w*)\s*=", line))]
