"""Disk faults beyond tests/e2e/test_outputs.py: places that cannot be written even by root
(/proc), an audit log that is a folder, --results-out that cannot be written, and a cache that
cannot be written. Output faults are exit 2 with the verdict printed; a cache fault costs only speed.
"""

from __future__ import annotations

import pytest

from tests.helpers.reports import report, statuses

#: the projects these tests build measure themselves, even when this suite runs under coverage
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("own_coverage_settings")]

ONLY = ["check", "--only", "coverage,security,dependencies"]


@pytest.mark.parametrize(
    ("args", "gate_policy", "message"),
    [
        (["--output-dir", "/proc/gatekeeper-reports", "--no-audit"], "", "cannot write reports to /proc/gatekeeper-reports"),
        (["--no-audit", "--results-out", "/proc/part-1.json"], "", "cannot write reports to /proc"),
        ([], '[audit]\nlog = "logdir"\n', "logdir: Is a directory"),
    ],
    ids=["output-dir-on-proc", "results-out-on-proc", "audit-log-is-a-folder"],
)
def test_unwritable_places_are_exit_2_with_the_verdict(project, gk, args: list[str], gate_policy: str, message: str) -> None:
    root = project()
    (root / "logdir").mkdir()
    policy = root / "gatekeeper.toml"
    policy.write_text(policy.read_text() + gate_policy)
    done = gk([*ONLY, *args], cwd=root)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "verdict: FAIL" in done.stdout
    assert message in done.stderr and "Traceback" not in done.stderr, done.stderr


# (a policy's audit.log or cache.dir on /proc is a policy error now: tests/e2e/test_hijack.py)
@pytest.mark.parametrize("cache", [".gatekeeper/cache"], ids=["a-file-in-the-way"])
def test_an_unwritable_cache_only_costs_speed(project, gk, cache: str) -> None:
    root = project()
    (root / ".gatekeeper").mkdir(exist_ok=True)
    (root / ".gatekeeper" / "cache").write_text("a file where the cache folder should be")
    policy = root / "gatekeeper.toml"
    policy.write_text(policy.read_text() + f'[cache]\ndir = "{cache}"\n')
    for _ in range(2):
        done = gk([*ONLY, "--no-audit"], cwd=root)
        assert done.returncode == 1, done.stdout + done.stderr
        data = report(root)
        assert statuses(data) == {"coverage": "pass", "security": "fail", "dependencies": "pass"}
        sec = next(c for c in data["checks"] if c["name"] == "security")
        assert sec["metrics"]["cached_files"] == 0 and len(sec["findings"]) == 2
    assert (root / ".gatekeeper" / "cache").read_text().startswith("a file")
