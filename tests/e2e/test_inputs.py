"""Hostile and broken inputs: generated policies, corrupt coverage data, junk source, odd file
names, symlink loops, unparseable requirements. Each ends in a clear status or exit code, never
a traceback, a hang or a silent pass.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from gatekeeper.errors import PolicyError
from gatekeeper.policy import CORE_SCHEMA, load_policy, to_toml
from gatekeeper.waivers import WAIVER_SCHEMA
from tests.helpers.cli import installed_options
from tests.helpers.env import clean_env
from tests.helpers.osv import FRESH
from tests.helpers.reports import report, statuses

#: the projects these tests build measure themselves, even when this suite runs under coverage
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("own_coverage_settings")]

CHECKERS = installed_options()


# --------------------------------------------------------------------------- policies


SCALARS = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["", ".", "..", "/", "json", "sarif", "strict", "default", "all", "project", "low", "high", "B101"]),
    st.dates(),
    st.datetimes(),
)
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=6
)


def _section(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from([*keys, "bogus", "timeout", "enable"]), VALUES, max_size=4)


POLICIES = st.fixed_dictionaries(
    {},
    optional={
        "extends": st.one_of(st.sampled_from(["default", "strict", "nope", "../x.toml", ""]), VALUES),
        "waivers": st.lists(_section(list(WAIVER_SCHEMA)), max_size=3),
        "checks": st.dictionaries(
            st.sampled_from([*CHECKERS, "licences", "unknown"]),
            _section(sorted({k for opts in CHECKERS.values() if opts for k in opts} | {"enabled", "timeout_s"})),
            max_size=3,
        ),
        **{name: _section(list(options)) for name, options in CORE_SCHEMA.items()},
        "surprise": VALUES,
    },
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(policy=POLICIES)
def test_generated_policies_load_or_name_the_problem(tmp_path: Path, policy: dict[str, Any]) -> None:
    """Any TOML document built from the real keys and arbitrary values: a valid Policy, or a
    PolicyError naming the file; a valid one prints (policy show) as TOML that loads back the same."""
    try:
        text = tomli_w.dumps(policy)
    except (TypeError, ValueError):
        reject()
    path = tmp_path / "generated.toml"
    path.write_text(text, encoding="utf-8")
    try:
        loaded = load_policy(tmp_path, CHECKERS, path)
    except PolicyError as exc:
        assert exc.file and str(exc)
        return
    shown = tmp_path / "shown.toml"
    shown.write_text(to_toml(loaded.data), encoding="utf-8")
    assert load_policy(tmp_path, CHECKERS, shown).data == loaded.data


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"x = " + b"[" * 3000 + b"]" * 3000 + b"\n", "nested too deeply"),
        (b"[gate]\ntimeout_s = 1e308\n", "gate.timeout_s: must be at most 604800"),
        (b"[checks.security]\ntimeout_s = 1e12\n", "checks.security.timeout_s: must be at most 604800"),
        (b"\xff\xfe[\x00g\x00a\x00t\x00e\x00]\x00", "not UTF-8 text"),
        (b"[gate]\x00\n", "invalid TOML"),
        (b"[gate]\nfail_on_error = tru\n", "invalid TOML"),
        (b'[reports]\noutput_dir = "out\\u0000put"\n', "reports.output_dir: must not contain a NUL character"),
        (b'[audit]\nlog = "a\\u0000.jsonl"\n', "audit.log: must not contain a NUL character"),
        (b'[gate]\ntool_python = "py\\u0000"\n', "gate.tool_python: must not contain a NUL character"),
        (b'[checks.security]\npaths = ["src", "s\\u0000"]\n', "checks.security.paths: must not contain a NUL character"),
    ],
    ids=[
        "deep-nesting",
        "huge-timeout",
        "huge-check-timeout",
        "utf16",
        "nul",
        "typo-value",
        "nul-output-dir",
        "nul-audit-log",
        "nul-tool-python",
        "nul-in-list",
    ],
)
def test_malformed_policy_is_exit_2_with_a_message(tmp_path: Path, gk, content: bytes, message: str) -> None:
    (tmp_path / "gatekeeper.toml").write_bytes(content)
    for command in (["policy", "validate"], ["check", "--no-audit"]):
        done = gk(command, cwd=tmp_path)
        assert done.returncode == 2, done.stdout + done.stderr
        assert message in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "gatekeeper-reports").exists()


def test_policy_with_a_byte_order_mark_is_read(tmp_path: Path, gk) -> None:
    """Windows editors write a UTF-8 byte-order mark; it is not part of the TOML."""
    (tmp_path / "gatekeeper.toml").write_bytes(b"\xef\xbb\xbf[gate]\ntimeout_s = 60\n")
    done = gk(["policy", "show"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "timeout_s = 60" in done.stdout


def test_deeply_nested_pyproject_is_exit_2(tmp_path: Path, gk) -> None:
    (tmp_path / "pyproject.toml").write_text("x = " + "[" * 3000 + "]" * 3000 + "\n")
    done = gk(["check", "--no-audit"], cwd=tmp_path)
    assert done.returncode == 2 and "nested too deeply" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("kind", ["looping-link", "dangling-link", "folder"])
@pytest.mark.parametrize("name", ["gatekeeper.toml", "pyproject.toml"])
def test_an_unreadable_policy_file_is_an_error_not_the_default_policy(tmp_path: Path, gk, name: str, kind: str) -> None:
    """A policy that is there but cannot be read (say, a link to a shared policy that is not checked
    out) must not make gatekeeper fall back to its laxer built-in default."""
    path = tmp_path / name
    if kind == "looping-link":
        path.symlink_to(name)
    elif kind == "dangling-link":
        path.symlink_to(tmp_path / "shared" / "strict.toml")
    else:
        path.mkdir()
    done = gk(["check", "--no-audit"], cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{path}: is not a readable file" in done.stderr and "Traceback" not in done.stderr
    assert "verdict" not in done.stdout


# --------------------------------------------------------------------------- coverage data


def _coverage_project(tmp_path: Path, data_file: str = "") -> Path:
    root = tmp_path / "cov"
    root.mkdir()
    (root / "gatekeeper.toml").write_text(
        f'[checks.coverage]\ndata_file = "{data_file}"\nmin_total = 50\n[checks.security]\npaths = ["."]\n', encoding="utf-8"
    )
    return root


def _measure(root: Path, script: str, source: str = "def f():\n    return 1\n\n\nf()\n") -> None:
    (root / script).write_text(source, encoding="utf-8")
    subprocess.run([sys.executable, "-m", "coverage", "run", script], cwd=root, env=clean_env(), check=True, capture_output=True)


def _truncated_sqlite(root: Path) -> None:
    _measure(root, "m.py")
    data = (root / ".coverage").read_bytes()
    (root / ".coverage").write_bytes(data[: len(data) // 2])


def _random_bytes(root: Path) -> None:
    (root / ".coverage").write_bytes(os.urandom(8192))


def _wrong_schema(root: Path) -> None:
    with sqlite3.connect(root / ".coverage") as db:
        db.execute("create table meta (key text, value text)")
        db.execute("insert into meta values ('version', '99')")


def _empty_file(root: Path) -> None:
    (root / ".coverage").write_bytes(b"")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_random_bytes, "file is not a database"),
        (_truncated_sqlite, "cannot read coverage data .coverage"),
        (_wrong_schema, "cannot read coverage data .coverage"),
        (_empty_file, "has no measured files"),
    ],
    ids=["random-bytes", "truncated-sqlite", "foreign-sqlite", "empty-file"],
)
def test_corrupt_coverage_data_is_an_error_and_security_still_reports(tmp_path: Path, gk, make, message: str) -> None:
    root = _coverage_project(tmp_path)
    make(root)
    (root / "bad.py").write_text("import pickle\npickle.loads(b'')\n")
    done = gk(["check", "--only", "coverage,security", "--no-audit", "--format", "json"], cwd=root)
    assert done.returncode == 3, done.stdout + done.stderr
    data = report(root)
    cov = next(c for c in data["checks"] if c["name"] == "coverage")
    assert cov["status"] == "error" and message in cov["error"], cov["error"]
    assert "run the tests under coverage again" in cov["error"] and "Traceback" not in cov["error"]
    assert statuses(data)["security"] == "fail"
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "no element found"),
        ("<coverage/>", "measured no lines"),
        ("<html><body>not coverage</body></html>", "the root element is <html>"),
        ('<?xml version="1.0"?>\n<coverage line-rate="1" lines-valid="10" lines-covered="5"><packages><pack', "unclosed token"),
    ],
    ids=["empty", "bare-root", "html", "truncated"],
)
def test_broken_coverage_xml_is_an_error(tmp_path: Path, gk, content: str, message: str) -> None:
    root = _coverage_project(tmp_path, "coverage.xml")
    (root / "coverage.xml").write_text(content, encoding="utf-8")
    done = gk(["check", "--only", "coverage", "--no-audit", "--format", "json"], cwd=root)
    assert done.returncode == 3, done.stdout + done.stderr
    cov = report(root)["checks"][0]
    assert cov["status"] == "error" and message in cov["error"] and "regenerate it with coverage xml" in cov["error"]


def test_huge_coverage_xml_20000_files(tmp_path: Path, gk, record_timing) -> None:
    """20,000 files in one Cobertura report: read in seconds; the total is (covered + branches) / all."""
    root = _coverage_project(tmp_path, "coverage.xml")
    (root / "pkg").mkdir()
    source = "".join(f"x{n} = {n}\n" for n in range(1, 9))
    for i in range(20_000):  # the files exist and hold the lines reported: a report past a file's end is an error
        (root / "pkg" / f"m{i:05d}.py").write_text(source)
    classes = []
    covered = 0
    for i in range(20_000):
        hits = [1 if (i + n) % 3 else 0 for n in range(1, 9)]
        covered += sum(1 for h in hits if h)
        lines = "".join(f'<line number="{n}" hits="{h}"/>' for n, h in enumerate(hits, 1))
        classes.append(f'<class name="m{i:05d}.py" filename="pkg/m{i:05d}.py" line-rate="0"><lines>{lines}</lines></class>')
    xml = (
        f'<?xml version="1.0" ?>\n<coverage version="7.0" lines-valid="160000" lines-covered="{covered}" line-rate="0" '
        f'branches-valid="0" branches-covered="0" branch-rate="0" complexity="0"><sources><source>{root}</source></sources>'
        f'<packages><package name="pkg"><classes>{"".join(classes)}</classes></package></packages></coverage>\n'
    )
    (root / "coverage.xml").write_text(xml, encoding="utf-8")
    t0 = time.monotonic()
    done = gk(["check", "--only", "coverage", "--no-audit", "--format", "json,sarif,html"], cwd=root)
    record_timing("coverage check of a 20,000-file coverage.xml", time.monotonic() - t0)
    assert done.returncode == 0, done.stdout + done.stderr
    cov = report(root)["checks"][0]
    assert cov["metrics"]["statements"] == 160_000 and len(cov["metrics"]["files"]) == 20_000
    assert cov["metrics"]["total_exact"] == pytest.approx(100 * covered / 160_000)


def test_file_names_with_spaces_unicode_and_newlines_in_coverage_data(tmp_path: Path, gk) -> None:
    root = _coverage_project(tmp_path)
    root.joinpath("gatekeeper.toml").write_text("[checks.coverage]\nmin_total = 0\nmin_file = 90\n")
    names = ["my module.py", "ünïcødé_😀.py", "new\nline.py"]
    for name in names:
        (root / name).write_text("def f(x):\n    if x:\n        return 1\n    return 2\n\n\nf(1)\n", encoding="utf-8")
    runner = "import runpy, sys\nfor n in sys.argv[1:]:\n    runpy.run_path(n)\n"
    (root / "runner.py").write_text(runner)
    subprocess.run(
        [sys.executable, "-m", "coverage", "run", "runner.py", *names], cwd=root, env=clean_env(), check=True, capture_output=True
    )
    done = gk(["check", "--only", "coverage", "--no-audit", "--format", "json,sarif,html,markdown,junit"], cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    cov = report(root)["checks"][0]
    paths = {f["path"] for f in cov["metrics"]["files"]}
    assert set(names) <= paths
    flagged = sorted(f["location"]["path"] for f in cov["findings"] if f["rule_id"] == "coverage.min_file")
    assert flagged == sorted(names)
    sarif = json.loads((root / "gatekeeper-reports" / "gatekeeper.sarif").read_text(encoding="utf-8"))
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]}
    assert uris == {"my%20module.py", "%C3%BCn%C3%AFc%C3%B8d%C3%A9_%F0%9F%98%80.py", "new%0Aline.py"}
    assert "new\\nline.py" in done.stdout and "\nline.py" not in done.stdout


# --------------------------------------------------------------------------- scanned source


def _bandit_by_hand(root: Path, *targets: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bandit", "-r", *targets, "-f", "json", "-q"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    parsed: dict[str, Any] = json.loads(done.stdout)
    return parsed


def test_binary_junk_and_odd_names_in_scanned_source(tmp_path: Path, gk) -> None:
    """Random bytes in a .py file, and names with spaces, unicode, newlines, markup and bytes that
    are not UTF-8: bandit's findings all arrive, the junk is a non-blocking parse-error finding,
    and every report and the console stay intact."""
    root = tmp_path / "src"
    root.mkdir()
    risky = "import pickle\npickle.loads(b'')\n"
    names = ["a b.py", "ünï😀.py", "new\nline.py", "<img src=x onerror=alert(1)>.py"]
    for name in names:
        (root / name).write_text(risky, encoding="utf-8")
    (root / b"\xffraw.py".decode("utf-8", "surrogateescape")).write_text(risky, encoding="utf-8")
    (root / "junk.py").write_bytes(bytes(range(256)) * 8 + os.urandom(2048))
    (root / "gatekeeper.toml").write_text('[checks.security]\npaths = ["."]\n')
    done = gk(["check", "--only", "security", "--no-audit", "--format", "json,sarif,html,markdown,junit"], cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    sec = report(root)["checks"][0]
    by_hand = _bandit_by_hand(root, ".")
    assert len([f for f in sec["findings"] if f["rule_id"].startswith("B")]) == len(by_hand["results"]) == 10
    assert sec["metrics"]["lines_scanned"] == by_hand["metrics"]["_totals"]["loc"]
    (parse_error,) = [f for f in sec["findings"] if f["rule_id"] == "security.parse_error"]
    assert parse_error["location"]["path"] == "junk.py" and parse_error["blocking"] is False
    paths = {f["location"]["path"] for f in sec["findings"] if f["rule_id"] == "B301"}
    assert paths == {*names, "\\xffraw.py"}  # the undecodable byte is shown, not lost or crashing
    sarif = json.loads((root / "gatekeeper-reports" / "gatekeeper.sarif").read_text(encoding="utf-8"))
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]}
    assert {
        "a%20b.py",
        "%C3%BCn%C3%AF%F0%9F%98%80.py",
        "new%0Aline.py",
        "%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.py",
    } <= uris
    html = (root / "gatekeeper-reports" / "gatekeeper.html").read_text(encoding="utf-8")
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;.py" in html
    # the console: one line per finding; a newline in a name cannot start a line of its own
    assert "new\\nline.py:2" in done.stdout and not any(line.startswith("line.py") for line in done.stdout.splitlines())


def test_symlink_loops_in_scanned_paths(tmp_path: Path, gk, record_timing) -> None:
    root = tmp_path / "loops"
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "pkg" / "mod.py").write_text("import pickle\npickle.loads(b'')\n")
    (root / "pkg" / "sub" / "up").symlink_to("../..")  # a directory cycle
    (root / "pkg" / "self").symlink_to("self")  # a link to itself
    (root / "pkg" / "a").symlink_to("b")
    (root / "pkg" / "b").symlink_to("a")  # a two-link cycle
    (root / "pkg" / "loop.py").symlink_to("loop.py")
    (root / "gatekeeper.toml").write_text('[checks.security]\npaths = ["pkg"]\ntimeout_s = 60\n')
    t0 = time.monotonic()
    done = gk(["check", "--only", "security", "--no-audit", "--format", "json"], cwd=root, timeout=120)
    record_timing("security check over symlink loops", time.monotonic() - t0)
    assert done.returncode == 1, done.stdout + done.stderr
    sec = report(root)["checks"][0]
    assert {f["location"]["path"] for f in sec["findings"] if f["rule_id"] == "B301"} == {"pkg/mod.py"}
    by_hand = _bandit_by_hand(root, "pkg")
    assert sec["metrics"]["files_scanned"] == len([k for k in by_hand["metrics"] if k != "_totals"]) == 1


# --------------------------------------------------------------------------- requirements


def test_unparseable_requirement_lines_are_unaudited_with_line_numbers(tmp_path: Path, gk) -> None:
    root = tmp_path / "reqs"
    (root / "osv").mkdir(parents=True)
    (root / "osv" / "T-1.json").write_text(
        json.dumps(
            {
                "id": "T-1",
                "modified": FRESH,
                "summary": "bad",
                "affected": [{"package": {"name": "vuln", "ecosystem": "PyPI"}, "versions": ["1.0"]}],
            }
        )
    )
    lines = [
        "vuln==1.0",  # 1: audited, vulnerable
        "!!! not a requirement",  # 2
        "ok-pkg==2.0 \\",  # 3: continued
        "    --hash=sha256:0123",  # 4
        "loose>=1.0",  # 5: not pinned
        'marker==1.0 ; python_version >>> "3"',  # 6: broken marker
        "\x00\x01\x1b[31m",  # 7: control bytes
        "url @ https://example.invalid/url-1.0.whl",  # 8
        "",
    ]
    (root / "requirements.txt").write_text("\n".join(lines), encoding="utf-8")
    (root / "gatekeeper.toml").write_text('[checks.dependencies]\nsource = "requirements.txt"\nadvisory_db = "osv"\n')
    done = gk(["check", "--only", "dependencies", "--no-audit", "--format", "json,sarif,html"], cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    dep = report(root)["checks"][0]
    assert dep["status"] == "fail" and dep["metrics"]["packages_audited"] == 2
    reasons = dep["metrics"]["unaudited_reasons"]
    # an unparseable line is named by file and line (never quoted); the others say where in their reason
    where = sorted(int((name if name.startswith("requirements.txt:") else r).split(":")[1]) for name, r in reasons.items())
    assert where == [2, 5, 6, 7, 8]
    assert not any("not a requirement" in name or "not a requirement" in r for name, r in reasons.items())
    unaudited = next(f for f in dep["findings"] if f["rule_id"] == "dependencies.unaudited")
    assert unaudited["blocking"] is True
    assert {f["rule_id"] for f in dep["findings"]} == {"T-1", "dependencies.unaudited"}
    assert "\x1b" not in done.stdout and "\x00" not in done.stdout
    blocking = done.stdout.split("blocking findings", 1)[1].split("\n\n")[0].splitlines()
    # one entry per finding (one per unaudited package), even for multi-line parse errors;
    # a long one wraps to indented lines of 80 columns
    assert sum(1 for line in blocking[1:] if line.startswith("  [")) == 6
    assert all(line.startswith(("  [", "        ")) and len(line) <= 80 for line in blocking[1:])


def test_requirements_include_loop_and_binary_file(tmp_path: Path, gk) -> None:
    root = tmp_path / "reqs"
    (root / "osv").mkdir(parents=True)
    (root / "osv" / "T-1.json").write_text(json.dumps({"id": "T-1", "modified": FRESH, "affected": []}))
    (root / "a.txt").write_text("-r b.txt\npkg-a==1.0\n")
    (root / "b.txt").write_text("-r a.txt\npkg-b==1.0\n")
    (root / "bin.txt").write_bytes(b"\xff\xfe\x00junk")
    policy = '[checks.dependencies]\nsource = "{}"\nadvisory_db = "osv"\n'
    (root / "gatekeeper.toml").write_text(policy.format("a.txt"))
    done = gk(["check", "--only", "dependencies", "--no-audit", "--format", "json"], cwd=root, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert report(root)["checks"][0]["metrics"]["packages_audited"] == 2
    (root / "gatekeeper.toml").write_text(policy.format("bin.txt"))
    done = gk(["check", "--only", "dependencies", "--no-audit", "--format", "json"], cwd=root)
    assert done.returncode == 3, done.stdout + done.stderr
    dep = report(root)["checks"][0]
    assert dep["status"] == "error" and "cannot read requirements file" in dep["error"]
