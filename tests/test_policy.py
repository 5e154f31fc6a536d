"""Policy discovery, layering, defaults and validation, through the real CLI and the loader."""

from __future__ import annotations

import datetime as dt
import glob
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatekeeper.commands.starter import starter_policy
from gatekeeper.errors import PolicyError
from gatekeeper.policy import load_policy, to_toml
from gatekeeper.policy.locate import locate as _locate
from tests.helpers.cli import installed_options
from tests.helpers.env import clean_env
from tests.helpers.locks import poetry
from tests.helpers.projects import git_init
from tests.helpers.projects import write as write_files

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


#: a waiver expiry within gate.max_waiver_days of today
SOON = (dt.date.today() + dt.timedelta(days=180)).isoformat()
#: the reason and approver every waiver needs
ACCEPTED = 'reason = "asserts are tolerated here"\napproved_by = "lead@example.com"\n'


CHECKERS = installed_options()  # the installed checkers' real options


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_syntax_error_names_file_line_and_column(tmp_path: Path, cli) -> None:
    write(tmp_path / "gatekeeper.toml", "[gate]\nfail_on_error = true\ntimeout_s = \n")
    done = cli(["policy", "validate"], cwd=tmp_path)
    assert done.returncode == 2
    assert "gatekeeper.toml:3:" in done.stderr
    assert "line 3, column 13" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_typo_names_key_path_line_and_suggestion(tmp_path: Path, cli) -> None:
    write(tmp_path / "gatekeeper.toml", "[gate]\ntimeout_s = 60\n\n[checks.coverage]\nmin_totl = 80\n")
    done = cli(["policy", "validate"], cwd=tmp_path)
    assert done.returncode == 2
    assert "gatekeeper.toml:5: checks.coverage.min_totl: unknown key (did you mean 'min_total'?)" in done.stderr


def test_wrong_type_and_out_of_range_name_what_was_expected(tmp_path: Path, cli) -> None:
    write(tmp_path / "gatekeeper.toml", '[gate]\ntimeout_s = "soon"\n')
    done = cli(["policy", "validate"], cwd=tmp_path)
    assert done.returncode == 2
    assert "gate.timeout_s: expected a number, got a string ('soon')" in done.stderr
    write(tmp_path / "gatekeeper.toml", "[checks.coverage]\nmin_total = 180\n")
    done = cli(["policy", "validate"], cwd=tmp_path)
    assert done.returncode == 2
    assert "gatekeeper.toml:2: checks.coverage.min_total: must be at most 100, got 180" in done.stderr


def test_section_for_a_checker_that_is_not_installed(tmp_path: Path, cli) -> None:
    write(tmp_path / "gatekeeper.toml", "[checks.licences]\nunknown = 'warn'\n")
    done = cli(["policy", "validate"], cwd=tmp_path)
    assert done.returncode == 2
    assert "checks.licences: no checker named 'licences' is installed (did you mean 'licenses'?)" in done.stderr


def test_valid_policy_exit_zero_with_digest(tmp_path: Path, cli) -> None:
    write(tmp_path / "gatekeeper.toml", 'extends = "strict"\n[checks.coverage]\nmin_total = 75\n')
    done = cli(["policy", "validate"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "policy OK" in done.stdout


def test_discovery_order(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[project]\nname='x'\n\n[tool.gatekeeper.checks.coverage]\nmin_total = 55\n")
    policy = load_policy(tmp_path, CHECKERS)
    assert policy.source == "pyproject" and policy.checks["coverage"]["min_total"] == 55.0
    write(tmp_path / "gatekeeper.toml", "[checks.coverage]\nmin_total = 66\n")
    policy = load_policy(tmp_path, CHECKERS)
    assert policy.source == "file" and policy.checks["coverage"]["min_total"] == 66.0
    other = write(tmp_path / "other.toml", "[checks.coverage]\nmin_total = 77\n")
    policy = load_policy(tmp_path, CHECKERS, other)
    assert policy.checks["coverage"]["min_total"] == 77.0
    empty = tmp_path / "empty"
    empty.mkdir()
    policy = load_policy(empty, CHECKERS)
    assert policy.source == "default" and policy.path == ""
    assert policy.checks["coverage"]["min_total"] == 80.0  # from policies/default.toml


def test_pyproject_errors_name_the_tool_gatekeeper_key(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[project]\nname='x'\n\n[tool.gatekeeper.gate]\nfail_on_eror = true\n")
    with pytest.raises(PolicyError) as err:
        load_policy(tmp_path, CHECKERS)
    assert err.value.key == "tool.gatekeeper.gate.fail_on_eror"
    assert err.value.line == 5


def test_extends_layers_preset_and_relative_file(tmp_path: Path) -> None:
    write(
        tmp_path / "base.toml",
        'extends = "strict"\n[checks.coverage]\nmin_total = 70\n'
        f'[[waivers]]\ncheck="security"\nrule="B101"\n{ACCEPTED}expires={SOON}\n',
    )
    write(
        tmp_path / "gatekeeper.toml",
        'extends = "base.toml"\n[gate]\ntimeout_s = 30\n'
        f'[[waivers]]\ncheck="security"\nrule="B102"\nreason="calls are reviewed"\napproved_by="lead"\nexpires={SOON}\n',
    )
    policy = load_policy(tmp_path, CHECKERS)
    assert policy.checks["coverage"]["min_total"] == 70.0  # base overrides strict's 90
    assert policy.gate["strict_waivers"] is True  # from strict
    assert policy.gate["timeout_s"] == 30.0
    assert [w.rule for w in policy.waivers] == ["B101", "B102"]  # waivers accumulate


def test_extends_cycle_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "a.toml", 'extends = "b.toml"\n')
    write(tmp_path / "b.toml", 'extends = "a.toml"\n')
    with pytest.raises(PolicyError, match="cycle"):
        load_policy(tmp_path, CHECKERS, tmp_path / "a.toml")


def test_waiver_validation(tmp_path: Path) -> None:
    write(tmp_path / "gatekeeper.toml", '[[waivers]]\ncheck = "security"\nrule = "B101"\nexpires = 2030-01-01\n')
    with pytest.raises(PolicyError) as err:
        load_policy(tmp_path, CHECKERS)
    assert err.value.key == "waivers[0].reason" and err.value.line == 1
    write(tmp_path / "gatekeeper.toml", f'[[waivers]]\ncheck = "securty"\nrule = "B101"\n{ACCEPTED}expires = 2030-01-01\n')
    with pytest.raises(PolicyError, match="did you mean 'security'"):
        load_policy(tmp_path, CHECKERS)


@pytest.mark.parametrize(
    ("waiver", "key", "message"),
    [
        ('check = "security"\npath = "*"\n{accepted}expires = {soon}\n', "waivers[0].rule", "must name a rule or a package"),
        ('check = "security"\nrule = "B101"\n{accepted}expires = 9999-12-31\n', "waivers[0].expires", "more than 365 days"),
        ('check = "security"\nrule = "B101"\n{accepted}expires = {far}\n', "waivers[0].expires", "more than 365 days"),
    ],
)
def test_a_waiver_names_what_it_waives_and_expires_within_max_waiver_days(
    tmp_path: Path, cli, waiver: str, key: str, message: str
) -> None:
    far = (dt.date.today() + dt.timedelta(days=400)).isoformat()
    write(tmp_path / "gatekeeper.toml", "[[waivers]]\n" + waiver.format(soon=SOON, far=far, accepted=ACCEPTED))
    with pytest.raises(PolicyError) as err:
        load_policy(tmp_path, CHECKERS)
    assert err.value.key == key and message in str(err.value)
    done = cli(["policy", "validate"], cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr
    # a team may allow longer: the 400-day waiver passes under max_waiver_days = 500
    write(tmp_path / "gatekeeper.toml", f'[gate]\nmax_waiver_days = 500\n[[waivers]]\ncheck = "security"\nrule = "B101"\n'
          f'reason = "asserts are tolerated here"\napproved_by = "lead@example.com"\nexpires = {far}\n')  # fmt: skip
    assert load_policy(tmp_path, CHECKERS).waivers[0].expires.isoformat() == far


def test_waivers_file(tmp_path: Path) -> None:
    write(tmp_path / "waivers.toml", f'[[waivers]]\ncheck = "security"\nrule = "B101"\n{ACCEPTED}expires = {SOON}\n')
    write(tmp_path / "gatekeeper.toml", 'waivers_file = "waivers.toml"\n')
    policy = load_policy(tmp_path, CHECKERS)
    assert [w.rule for w in policy.waivers] == ["B101"]
    assert policy.waivers[0].expires.isoformat() == SOON


def test_show_prints_effective_policy_that_loads_back_identically(tmp_path: Path, cli) -> None:
    write(tmp_path / "gatekeeper.toml", 'extends = "strict"\n[checks.security]\nfail_on_severity = "high"\n')
    done = cli(["policy", "show"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    shown = tomllib.loads(done.stdout)
    assert shown["checks"]["security"]["fail_on_severity"] == "high"
    assert shown["checks"]["coverage"]["min_total"] == 90.0  # from strict
    assert shown["gate"]["fail_on_error"] is True  # a default
    write(tmp_path / "shown.toml", done.stdout)
    again = cli(["policy", "show", "--policy", "shown.toml"], cwd=tmp_path)
    assert tomllib.loads(again.stdout) == shown


def test_show_keeps_empty_arrays_and_loads_back_to_the_same_policy(tmp_path: Path, cli) -> None:
    """``waivers = []`` and ``controls = []`` are printed, not dropped, and empty strings in a waiver survive."""
    write(tmp_path / "gatekeeper.toml", "[gate]\ntimeout_s = 60\n")
    done = cli(["policy", "show"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "waivers = []" in done.stdout.splitlines() and "controls = []" in done.stdout.splitlines()
    write(tmp_path / "shown.toml", done.stdout)
    assert load_policy(tmp_path, CHECKERS, tmp_path / "shown.toml").data == load_policy(tmp_path, CHECKERS).data
    waived = f'[[waivers]]\ncheck = "security"\nrule = "B101"\npackage = ""\n{ACCEPTED}expires = {SOON}\n'
    write(tmp_path / "gatekeeper.toml", waived)
    done = cli(["policy", "show"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    write(tmp_path / "shown.toml", done.stdout)
    reloaded = load_policy(tmp_path, CHECKERS, tmp_path / "shown.toml")
    assert reloaded.data == load_policy(tmp_path, CHECKERS).data
    assert len(reloaded.waivers) == 1


@pytest.mark.parametrize("pyproject", [False, True])
def test_init_writes_a_commented_policy_that_validates(tmp_path: Path, cli, pyproject: bool) -> None:
    if pyproject:
        write(tmp_path / "pyproject.toml", '[project]\nname = "demo"\nversion = "1.0"\n')
    done = cli(["policy", "init", *(["--pyproject"] if pyproject else [])], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    target = tmp_path / ("pyproject.toml" if pyproject else "gatekeeper.toml")
    text = target.read_text()
    assert "# " in text and "min_total" in text
    assert cli(["policy", "validate"], cwd=tmp_path).returncode == 0
    shown = tomllib.loads(cli(["policy", "show"], cwd=tmp_path).stdout)
    assert shown["reports"]["formats"] == ["json", "sarif", "html", "markdown"]
    again = cli(["policy", "init", *(["--pyproject"] if pyproject else [])], cwd=tmp_path)
    assert again.returncode == 2 and "already" in again.stderr


def test_init_never_writes_a_policy_the_other_one_shadows(tmp_path: Path, cli) -> None:
    """gatekeeper.toml is found before pyproject.toml's [tool.gatekeeper]: init --pyproject beside one
    would write a section no run reads, and init beside a section says it is read no more."""
    write(tmp_path / "pyproject.toml", '[project]\nname = "demo"\nversion = "1.0"\n')
    assert cli(["policy", "init"], cwd=tmp_path).returncode == 0
    refused = cli(["policy", "init", "--pyproject"], cwd=tmp_path)
    assert refused.returncode == 2 and "gatekeeper reads it before pyproject.toml's [tool.gatekeeper]" in refused.stderr
    assert "[tool.gatekeeper" not in (tmp_path / "pyproject.toml").read_text()
    (tmp_path / "gatekeeper.toml").unlink()
    assert cli(["policy", "init", "--pyproject"], cwd=tmp_path).returncode == 0
    beside = cli(["policy", "init"], cwd=tmp_path)
    assert beside.returncode == 0, beside.stderr
    assert "pyproject.toml's [tool.gatekeeper] is no longer read: gatekeeper.toml comes first" in beside.stdout


def test_init_says_how_to_allow_the_coverage_plugins_the_project_names(tmp_path: Path, cli) -> None:
    write(tmp_path / "setup.cfg", "[coverage:run]\nplugins = covdefaults\n")
    done = cli(["policy", "init"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    said = " ".join(done.stdout.split())
    assert "the coverage configuration loads the coverage.py plugin covdefaults:" in said
    assert 'only when the policy allows it with plugins = ["covdefaults"] under [checks.coverage]' in said
    assert "plugins = [" not in (tmp_path / "gatekeeper.toml").read_text()  # consent is the user's, never written for them


def test_init_seeds_the_minimum_from_pytest_cov_s_fail_under_which_the_project_s_pytest_enforces(tmp_path: Path, cli) -> None:
    """arrow's tox.ini runs pytest-cov with --cov-fail-under=99 and sets no coverage.py fail_under:
    the starter policy's 80 let the gate pass a total the project's own pytest run fails."""
    write(tmp_path / "pkg.py", "def f(x):\n    if x:\n        return 1\n    return 2\n")
    write(tmp_path / "test_pkg.py", "from pkg import f\n\n\ndef test_f():\n    assert f(1) == 1\n")
    write(tmp_path / "tox.ini", "[pytest]\naddopts = -q --cov=pkg --cov-fail-under 99 -p no:cacheprovider\n")
    done = cli(["policy", "init"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "min_total = 99, from the project's coverage fail_under (tox.ini [pytest] addopts: pytest-cov's" in done.stdout
    policy = tomllib.loads((tmp_path / "gatekeeper.toml").read_text())
    assert policy["checks"]["coverage"]["min_total"] == 99
    # the bar pytest itself enforces on the same project (75% < 99%)
    ran = subprocess.run(
        [sys.executable, "-m", "pytest"], cwd=tmp_path, env=clean_env(coverage=False), capture_output=True, text=True
    )
    assert ran.returncode == 1 and "Required test coverage of 99% not reached" in ran.stdout
    # a coverage.py fail_under is coverage report's own bar: it comes first
    write(tmp_path / "setup.cfg", "[coverage:report]\nfail_under = 70\n")
    again = cli(["policy", "init", "--force"], cwd=tmp_path)
    assert "min_total = 70, from the project's coverage fail_under (setup.cfg)" in again.stdout


def test_init_seeds_the_last_cov_fail_under_given_as_pytest_cov_keeps_it(tmp_path: Path, cli) -> None:
    """pytest's addopts may give --cov-fail-under twice (a shared base, then the project's own): argparse
    keeps the last, which the project's pytest enforces; the first was seeded."""
    write(tmp_path / "pkg.py", "def f(x):\n    if x:\n        return 1\n    return 2\n")
    write(tmp_path / "test_pkg.py", "from pkg import f\n\n\ndef test_f():\n    assert f(1) == 1\n")
    addopts = "-q --cov=pkg --cov-fail-under=50 --cov-fail-under 99 -p no:cacheprovider"
    write(tmp_path / "tox.ini", f"[pytest]\naddopts = {addopts}\n")
    done = cli(["policy", "init"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert tomllib.loads((tmp_path / "gatekeeper.toml").read_text())["checks"]["coverage"]["min_total"] == 99
    ran = subprocess.run(
        [sys.executable, "-m", "pytest"], cwd=tmp_path, env=clean_env(coverage=False), capture_output=True, text=True
    )
    assert ran.returncode == 1 and "Required test coverage of 99% not reached" in ran.stdout  # 75% < 99%, not < 50%


@pytest.mark.parametrize("bar", ["nan", "-5", "150", "1e999"])
def test_init_seeds_no_coverage_bar_the_policy_would_refuse(tmp_path: Path, cli, bar: str) -> None:
    """pytest-cov takes nan and -5 (bars no total falls below) and refuses 150; the policy refuses all
    of them, so the starter policy keeps its default rather than one gatekeeper check then rejects."""
    write(tmp_path / "tox.ini", f"[pytest]\naddopts = --cov=pkg --cov-fail-under={bar}\n")
    write(tmp_path / "setup.cfg", f"[coverage:report]\nfail_under = {bar}\n")
    done = cli(["policy", "init"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert tomllib.loads((tmp_path / "gatekeeper.toml").read_text())["checks"]["coverage"]["min_total"] == 80.0
    assert "from the project's coverage fail_under" not in done.stdout


def test_init_asks_git_whether_the_output_folders_are_ignored(tmp_path: Path, cli) -> None:
    """A checkout that ignores the reports and the audit log in .git/info/exclude (or through a
    pattern .gitignore spells otherwise) is not told to add them to .gitignore; one that does not is."""
    git_init(tmp_path)
    write(tmp_path / ".gitignore", "*-reports/\n")
    done = cli(["policy", "init"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "consider adding .gatekeeper/ to .gitignore" in done.stdout  # the pattern covers the reports alone
    (tmp_path / "gatekeeper.toml").unlink()
    with (tmp_path / ".git" / "info" / "exclude").open("a", encoding="utf-8") as exclude:
        exclude.write(".gatekeeper/\n")
    again = cli(["policy", "init"], cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "consider adding" not in again.stdout


def test_init_says_detect_secrets_reports_every_hash_of_a_pylock_toml(tmp_path: Path, cli) -> None:
    """tzlocal's pylock.toml, exported by uv, made 1,333 blocking secrets findings on the first run:
    the starter policy turns the secrets check on, so init says so and how to leave the file out."""
    digest = "b30cb6cd253122169c47de245ca24a86bac2a5d3802ba15bf7ba6414eb9e144d"
    write(
        tmp_path / "pylock.toml",
        f'lock-version = "1.0"\ncreated-by = "uv"\n\n[[packages]]\nname = "zipp"\nversion = "4.1.2"\n'
        f'wheels = [{{ url = "https://example.org/zipp-4.1.2-py3-none-any.whl", hashes = {{ sha256 = "{digest}" }} }}]\n',
    )
    scan = subprocess.run(
        [sys.executable, "-m", "detect_secrets", "scan", "pylock.toml"], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert [r["type"] for r in json.loads(scan.stdout)["results"]["pylock.toml"]] == ["Hex High Entropy String"]
    done = cli(["policy", "init"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    said = " ".join(done.stdout.split())
    assert "pylock.toml gives each file's sha256 as 64 bare hexadecimal digits, which detect-secrets reports" in said
    assert 'exclude = ["pylock.toml"] under [checks.secrets] leaves it out' in said
    assert "exclude = []" in (tmp_path / "gatekeeper.toml").read_text()  # never left out for the user


def test_init_points_at_the_lock_files_the_project_keeps(tmp_path: Path, cli) -> None:
    """A newcomer with a lock file learns that the checks read the environment unless told otherwise."""
    write(tmp_path / "uv.lock", 'version = 1\nrequires-python = ">=3.10"\n')
    write(tmp_path / "pylock.dev.toml", 'lock-version = "1.0"\n')
    done = cli(["policy", "init"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    said = " ".join(done.stdout.split())
    for lock in ("uv.lock", "pylock.dev.toml"):
        assert (
            f"found {lock}: the dependencies, sbom and licenses checks read the installed environment; to audit what "
            f'the project locked, set source = "{lock}" under [checks.dependencies] and [checks.sbom] and lock = "{lock}" '
            "under [checks.licenses]"
        ) in said
    assert "poetry.lock" not in said
    written = (tmp_path / "gatekeeper.toml").read_text()
    assert "a lock file:\n" in written and '"uv.lock", "poetry.lock", "pdm.lock", "pylock.toml"' in written
    assert tomllib.loads(written)["checks"]["dependencies"]["source"] == "environment"  # the choice stays the user's


def test_starter_policy_is_the_same_in_both_forms() -> None:
    plain = tomllib.loads(starter_policy(False))
    nested = tomllib.loads(starter_policy(True))["tool"]["gatekeeper"]
    assert plain == nested


def test_to_toml_escapes_strings() -> None:
    data = {"reports": {"output_dir": 'a "quoted"\\path\nnewline\x1b'}}
    assert tomllib.loads(to_toml(data)) == data


def test_locate_finds_nested_and_array_keys() -> None:
    text = '[gate]\ntimeout_s = 1\n\n[[waivers]]\ncheck="a"\n\n[[waivers]]\ncheck="b"\nreason="x"\n'
    assert _locate(text, "gate.timeout_s") == 2
    assert _locate(text, "waivers[1].reason") == 9
    assert _locate(text, "waivers[0].reason") == 4  # not written: the table's header


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from(list("[]=.\"'#\n ab_1-tfx{},")), max_size=80))
def test_arbitrary_text_never_raises_anything_but_policy_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_text(text, encoding="utf-8")
    try:
        load_policy(tmp_path, CHECKERS, path)
    except PolicyError as exc:
        assert str(exc)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    value=st.one_of(
        st.integers(), st.floats(allow_nan=True), st.text(max_size=8), st.booleans(), st.lists(st.integers(), max_size=3)
    ),
    key=st.sampled_from(["gate.timeout_s", "checks.coverage.min_total", "reports.formats", "environment.scope", "gate.x"]),
)
def test_any_value_in_any_key_is_accepted_or_named(tmp_path: Path, value: object, key: str) -> None:
    section, _, name = key.rpartition(".")
    path = tmp_path / "typed.toml"
    document: dict[str, object] = {name: value}
    for part in reversed(section.split(".")):
        document = {part: document}
    path.write_text(tomli_w.dumps(document), encoding="utf-8")
    try:
        load_policy(tmp_path, CHECKERS, path)
    except PolicyError as exc:
        assert exc.key == key


TESTED = "from app import run\n\n\ndef test_run():\n    assert run('true') == 0\n"
APP = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"


@pytest.mark.parametrize(
    ("files", "folders"),
    [
        ({"test/test_app.py": TESTED}, ["test"]),  # a project whose tests are not in tests/
        ({"testing/test_app.py": TESTED, "src/pkg/tests/test_more.py": TESTED}, ["testing", "src/pkg/tests"]),
        (
            {
                "pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["checks/unit_tests", "src"]\n',
                "checks/unit_tests/test_app.py": TESTED,
                "src/mod.py": "x = 1\n",
            },
            ["checks/unit_tests"],
        ),
        (  # portalocker's layout: pytest.ini's python_files names the folder, whose name says tests
            {
                "pytest.ini": "[pytest]\npython_files =\n    portalocker_tests/*.py\n",
                "portalocker_tests/__init__.py": "",
                "portalocker_tests/tests.py": TESTED,
            },
            ["portalocker_tests"],
        ),
        ({"unit_tests/test_app.py": TESTED}, ["unit_tests"]),  # pytest collects it by default
        (  # mock 5.2.0's layout: setup.cfg's python_files = test*.py collects mock/tests/testmock.py
            {
                "setup.cfg": "[tool:pytest]\npython_files = test*.py\n",
                "mock/__init__.py": "",
                "mock/tests/__init__.py": "",
                "mock/tests/testmock.py": TESTED,
            },
            ["mock/tests"],
        ),
    ],
)
def test_init_leaves_out_the_tests_folders_there_are(tmp_path: Path, cli, files: dict[str, str], folders: list[str]) -> None:
    write_files(tmp_path, {"app.py": APP, **files})
    done = cli(["policy", "init"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    written = tomllib.loads((tmp_path / "gatekeeper.toml").read_text())
    assert written["checks"]["security"]["exclude"] == [".venv", "venv", ".tox", "build", "dist", *folders]
    said = " ".join(done.stdout.split())
    assert f"checks.security.exclude leaves out the tests in {', '.join(folders)} (" in said
    if "pytest.ini" in files:
        assert "pytest's python_files (pytest.ini)" in said
    if "src" in files.get("pyproject.toml", ""):
        assert "pytest's testpaths (pyproject.toml)" in said
        assert "pytest's testpaths also names src: scanned" in said  # the sources are never left out
    # bandit, run by the check with that policy, reports the code's problem and not the tests' asserts
    checked = cli(["check", "--only", "security", "--no-audit", "--output-dir", str(tmp_path / "out")], cwd=tmp_path)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    result = json.loads((tmp_path / "out" / "gatekeeper.json").read_text())
    (security,) = result["checks"]
    assert {(f["rule_id"], f["location"]["path"]) for f in security["findings"]} == {("B404", "app.py"), ("B602", "app.py")}


@pytest.mark.slow
@pytest.mark.parametrize(
    "config",
    [
        {"pytest.ini": "[pytest]\ntestpaths =\n    one\n    two\n"},
        {"pytest.ini": "", "pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["one"]\n'},  # pytest.ini wins, empty
        {"pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["one", "t*o"]\n'},
        {"pyproject.toml": '[tool.pytest]\ntestpaths = ["two"]\n'},
        {"pytest.toml": '[pytest]\ntestpaths = ["one"]\n', "tox.ini": "[pytest]\ntestpaths = two\n"},
        {"tox.ini": "[tox]\nenvlist = py\n", "setup.cfg": "[tool:pytest]\ntestpaths = two\n"},  # tox.ini without [pytest]
        {"setup.cfg": "[metadata]\nname = x\n"},
    ],
)
def test_the_testpaths_init_reads_are_the_folders_pytest_collects(tmp_path: Path, config: dict[str, str]) -> None:
    from gatekeeper.commands.starter import pytest_testpaths

    write_files(tmp_path, {f"{name}/test_{name}.py": "def test_it():\n    pass\n" for name in ("one", "two", "three")})
    write_files(tmp_path, config)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=clean_env(coverage=False),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    collected = {line.split("/")[0] for line in done.stdout.splitlines() if "::" in line}
    paths, _ = pytest_testpaths(tmp_path)
    expanded = {found for entry in paths for found in glob.glob(entry, root_dir=tmp_path)}
    assert (expanded or {"one", "two", "three"}) == collected


def test_init_names_the_code_of_a_uv_workspace_for_mypy_which_the_whole_root_stops(tmp_path: Path, cli) -> None:
    """jaraco.collections 5.2.1 as a uv workspace with jaraco.text 4.3.0 as its member (both the
    namespace package ``jaraco``): the starter policy's empty checks.types.paths gave mypy the whole
    root, which stopped at a module named twice, so the types check of the policy init wrote was an
    error; init now names the code of the project and of its members, and that check runs."""
    files = {
        "pyproject.toml": '[project]\nname = "jaraco.collections"\nversion = "1"\n\n'
        '[tool.uv.workspace]\nmembers = ["packages/*"]\n',
        "mypy.ini": "[mypy]\nexplicit_package_bases = True\n",
        "jaraco/collections/__init__.py": "x: int = 1\n",
        "conftest.py": "collect_ignore = []\n",
        "packages/jaraco.text/pyproject.toml": '[project]\nname = "jaraco.text"\nversion = "1"\n',
        "packages/jaraco.text/conftest.py": "collect_ignore = []\n",
        "packages/jaraco.text/jaraco/text/__init__.py": "y: str = 'a'\n",
    }
    write_files(tmp_path, files)
    by_hand = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "hand"), "."], cwd=tmp_path, capture_output=True, text=True
    )
    assert by_hand.returncode == 2 and 'Duplicate module named "conftest"' in by_hand.stdout
    done = cli(["policy", "init"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert 'checks.types.paths = ["jaraco", "packages/jaraco.text/jaraco"]: the code of the project' in done.stdout
    policy = tomllib.loads((tmp_path / "gatekeeper.toml").read_text())
    assert policy["checks"]["types"]["paths"] == ["jaraco", "packages/jaraco.text/jaraco"]
    git_init(tmp_path)
    checked = cli(["check", "--only", "types", "--format", "json"], cwd=tmp_path)
    result = json.loads((tmp_path / "gatekeeper-reports" / "gatekeeper.json").read_text())
    types = next(c for c in result["checks"] if c["name"] == "types")
    assert types["status"] == "pass", (checked.stdout, types)


def test_init_names_no_folder_of_a_nested_workspace_member_twice(tmp_path: Path, cli) -> None:
    """mcp 2.3.0: the member ``src/mcp-types`` lies in the root's ``src``, the member ``examples/snippets``
    in the member ``examples``. init named ``src/mcp-types/mcp_types`` beside ``src`` and
    ``examples/snippets/servers`` beside ``examples/snippets``: mypy given both found their modules
    twice and stopped, so the types check of the policy init wrote was an error. It names the outer
    folders, and the check runs on every member's code."""
    from tests.checkers.types.test_checker import NESTED_MEMBERS

    write_files(tmp_path, NESTED_MEMBERS)
    done = cli(["policy", "init"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert tomllib.loads((tmp_path / "gatekeeper.toml").read_text())["checks"]["types"]["paths"] == [
        "src",
        "examples/snippets",
        "examples/stories",
    ]
    git_init(tmp_path)
    checked = cli(["check", "--only", "types", "--format", "json"], cwd=tmp_path)
    result = json.loads((tmp_path / "gatekeeper-reports" / "gatekeeper.json").read_text())
    types = next(c for c in result["checks"] if c["name"] == "types")
    assert (types["status"], types["metrics"]["errors"]) == ("fail", 3), (checked.stdout, types)


def test_init_shows_the_allow_list_that_denies_a_license_on_neither_list(tmp_path: Path, cli) -> None:
    """zc.lockfile 4.0's test dependencies (zope.interface, zope.testing…) are ZPL-2.1: the licenses
    check of the policy init wrote denied them as "not on the allow list", while the file named only
    `deny`. The starter names the allow list, and uncommented its line is a policy that loads."""
    assert cli(["policy", "init"], cwd=tmp_path).returncode == 0
    text = (tmp_path / "gatekeeper.toml").read_text()
    line = next(x for x in text.splitlines() if x.startswith("# allow = "))
    assert "a license on neither list is denied" in text and "replaces the default list" in line
    (tmp_path / "gatekeeper.toml").write_text(text.replace(line, line[2:]))
    assert cli(["policy", "validate"], cwd=tmp_path).returncode == 0
    shown = tomllib.loads(cli(["policy", "show"], cwd=tmp_path).stdout)
    assert shown["checks"]["licenses"]["allow"] == ["MIT", "BSD-3-Clause", "ZPL-2.1"]


def test_init_leaves_the_types_paths_empty_when_the_workspace_s_folders_would_leave_code_out(tmp_path: Path, cli) -> None:
    """A member with a module beside no package (``packages/tool/tool.py``): mypy given the folders found
    would not check it, given the root it does; the starter keeps the root."""
    files = {
        "pyproject.toml": '[project]\nname = "app"\nversion = "1"\n\n[tool.uv.workspace]\nmembers = ["packages/*"]\n',
        "app/__init__.py": "",
        "packages/tool/pyproject.toml": '[project]\nname = "tool"\nversion = "1"\n',
        "packages/tool/tool.py": 'x: int = "a"\n',
    }
    write_files(tmp_path, files)
    done = cli(["policy", "init"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "checks.types.paths" not in done.stdout
    assert tomllib.loads((tmp_path / "gatekeeper.toml").read_text())["checks"]["types"]["paths"] == []


def test_init_says_detect_secrets_reports_the_content_hash_of_a_poetry_lock(tmp_path: Path, cli) -> None:
    """tomlkit 0.15.3's poetry.lock made a blocking secrets finding on the first run: its content-hash,
    64 bare hex digits (any poetry.lock has one). init says so and how to accept it while the file stays
    scanned; the waiver it describes does that."""
    write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "demo"\nversion = "1.0"\nrequires-python = ">=3.10"\ndependencies = []\n\n'
        '[[tool.poetry.source]]\nname = "none"\nurl = "http://127.0.0.1:9/simple/"\npriority = "primary"\n',
    )
    poetry(["lock"], tmp_path)
    shutil.rmtree(tmp_path / ".poetry", ignore_errors=True)
    off = [f"detect_secrets.filters.heuristic.{f}" for f in ("is_lock_file", "is_non_text_file")]
    scan = subprocess.run(
        [sys.executable, "-m", "detect_secrets", "scan", "poetry.lock", *[a for f in off for a in ("--disable-filter", f)]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert [r["type"] for r in json.loads(scan.stdout)["results"]["poetry.lock"]] == ["Hex High Entropy String"]
    done = cli(["policy", "init"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    said = " ".join(done.stdout.split())
    assert "poetry.lock's content-hash is 64 bare hexadecimal digits, which detect-secrets reports" in said
    assert 'rule = "secret.hex-high-entropy-string" and path = "poetry.lock" accepts it' in said
    policy = tmp_path / "gatekeeper.toml"
    policy.write_text(
        policy.read_text() + '\n[audit]\nenabled = false\n\n[[waivers]]\ncheck = "secrets"\n'
        'rule = "secret.hex-high-entropy-string"\npath = "poetry.lock"\nreason = "the lock content hash, reviewed"\n'
        f'approved_by = "security@example.com"\nexpires = {(dt.date.today() + dt.timedelta(days=30)).isoformat()}\n'
    )
    git_init(tmp_path)
    cli(["check", "--only", "secrets"], cwd=tmp_path)
    result = json.loads((tmp_path / "gatekeeper-reports" / "gatekeeper.json").read_text())
    secrets = next(c for c in result["checks"] if c["name"] == "secrets")
    assert secrets["status"] == "pass" and secrets["metrics"]["secrets"] == 1
    assert [(f["location"]["path"], f["blocking"], f["waiver"]["id"]) for f in secrets["findings"]] == [
        ("poetry.lock", False, "W1")
    ]


def test_init_leaves_types_off_when_gatekeepers_environment_lacks_a_mypy_plugin_the_project_loads(tmp_path: Path, cli) -> None:
    """django-countries 9.1.0 names mypy_django_plugin (django-stubs) in [tool.mypy] plugins: init
    turned types on because mypy is installed, and the first check's types check was an error
    ('mypy_django_plugin is not installed'); init now leaves it off and says what to install."""
    files = {
        "pyproject.toml": '[project]\nname = "demo"\nversion = "1"\n\n[tool.mypy]\nplugins = ["gk_absent_mypy_plugin.main"]\n',
        "demo/__init__.py": "x: int = 1\n",
    }
    write_files(tmp_path, files)
    git_init(tmp_path)
    (tmp_path / "on.toml").write_text("[checks.types]\nenabled = true\n", encoding="utf-8")
    cli(["check", "--only", "types", "--policy", "on.toml", "--format", "json"], cwd=tmp_path)
    result = json.loads((tmp_path / "gatekeeper-reports" / "gatekeeper.json").read_text())
    types = next(c for c in result["checks"] if c["name"] == "types")
    assert types["status"] == "error" and "gk_absent_mypy_plugin is not installed" in types["summary"]
    done = cli(["policy", "init"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    said = " ".join(done.stdout.split())
    assert "left types off: the mypy configuration (pyproject.toml) loads the plugin gk_absent_mypy_plugin," in said
    assert "then set enabled = true under [checks.types]" in said
    assert "turned on lint, secrets: their tools are installed" in said
    policy = tomllib.loads((tmp_path / "gatekeeper.toml").read_text())
    assert policy["checks"]["types"]["enabled"] is False
    # a plugin gatekeeper's environment has (mypy's own) leaves the check on
    (tmp_path / "pyproject.toml").write_text(
        files["pyproject.toml"].replace("gk_absent_mypy_plugin.main", "mypy.plugins.proper_plugin")
    )
    done = cli(["policy", "init", "--force"], cwd=tmp_path)
    assert "left types off" not in done.stdout
    assert tomllib.loads((tmp_path / "gatekeeper.toml").read_text())["checks"]["types"]["enabled"] is True


def test_init_scans_a_nested_test_folder_that_holds_code_not_tests(tmp_path: Path, cli) -> None:
    """hatch 1.18.2: src/hatch/cli/test is the code of the ``hatch test`` command (core.py,
    __init__.py), and init left it out of the security check as a tests folder, so bandit never read
    it; a nested test or tests folder is tests when it holds a file pytest collects or a conftest.py."""
    write_files(
        tmp_path,
        {
            "tests/test_app.py": TESTED,
            "src/pkg/__init__.py": "",
            "src/pkg/cli/__init__.py": "",
            "src/pkg/cli/test/__init__.py": "",
            "src/pkg/cli/test/core.py": APP,
            "src/pkg/sub/tests/conftest.py": "import pytest\n",
            "src/pkg/sub/tests/helpers.py": "assert True\n",
        },
    )
    done = cli(["policy", "init"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    written = tomllib.loads((tmp_path / "gatekeeper.toml").read_text())
    assert written["checks"]["security"]["exclude"] == [".venv", "venv", ".tox", "build", "dist", "tests", "src/pkg/sub/tests"]
    checked = cli(["check", "--only", "security", "--no-audit", "--output-dir", str(tmp_path / "out")], cwd=tmp_path)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    result = json.loads((tmp_path / "out" / "gatekeeper.json").read_text())
    (security,) = result["checks"]
    assert {(f["rule_id"], f["location"]["path"]) for f in security["findings"]} == {
        ("B404", "src/pkg/cli/test/core.py"),
        ("B602", "src/pkg/cli/test/core.py"),
    }


def test_init_names_the_project_s_code_for_mypy_when_the_whole_root_holds_a_module_twice(tmp_path: Path, cli) -> None:
    """hatch 1.18.2 keeps release/unix/make_scripts_portable.py and release/windows/make_scripts_portable.py:
    the starter's empty checks.types.paths gave mypy the whole root, which stopped at the module named
    twice, so the types check of the policy init wrote was an error; init now names the project's code."""
    files = {
        "pyproject.toml": '[project]\nname = "demo"\nversion = "1"\n',
        "src/demo/__init__.py": "x: int = 1\n",
        "release/unix/make_scripts_portable.py": "a = 1\n",
        "release/windows/make_scripts_portable.py": "b = 2\n",
        "tests/__init__.py": "",
        "tests/conftest.py": "c = 3\n",
    }
    write_files(tmp_path, files)
    by_hand = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "hand"), "."], cwd=tmp_path, capture_output=True, text=True
    )
    assert by_hand.returncode == 2 and 'Duplicate module named "make_scripts_portable"' in by_hand.stdout
    done = cli(["policy", "init"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    said = " ".join(done.stdout.split())
    assert 'checks.types.paths = ["src"]: the project\'s code (mypy given the whole root stops at the module' in said
    assert "make_scripts_portable, found twice: release/unix/make_scripts_portable.py and release/windows/" in said
    assert tomllib.loads((tmp_path / "gatekeeper.toml").read_text())["checks"]["types"]["paths"] == ["src"]
    git_init(tmp_path)
    checked = cli(["check", "--only", "types", "--format", "json"], cwd=tmp_path)
    result = json.loads((tmp_path / "gatekeeper-reports" / "gatekeeper.json").read_text())
    types = next(c for c in result["checks"] if c["name"] == "types")
    assert types["status"] == "pass", (checked.stdout, types)
    # a .py and its .pyi are one module, and a package's modules are named from its top: no module twice
    (tmp_path / "release" / "windows" / "make_scripts_portable.py").unlink()
    write_files(tmp_path, {"release/unix/make_scripts_portable.pyi": "a: int\n", "src/demo/tests/conftest.py": ""})
    (tmp_path / "src" / "demo" / "tests" / "__init__.py").write_text("")
    done = cli(["policy", "init", "--force"], cwd=tmp_path)
    assert tomllib.loads((tmp_path / "gatekeeper.toml").read_text())["checks"]["types"]["paths"] == []
    assert "checks.types.paths" not in done.stdout
