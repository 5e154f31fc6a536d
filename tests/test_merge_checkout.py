"""A merged verdict keeps what each part's comparison of the checkout found: a shard whose run wrote
into the tree it judged is an error, and so is the merge of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gatekeeper.checkers.base import resolve
from gatekeeper.checkers.lint import LintChecker
from gatekeeper.findings import Status, Verdict
from gatekeeper.merge import merge_results
from gatekeeper.policy import load_policy
from tests.test_checkout import repo
from tests.test_engine import run


def test_a_shard_whose_run_wrote_into_the_checkout_makes_the_merged_verdict_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shard 1's run wrote a tracked file while ruff read it and put its bytes back (as a test of the
    project may): that part's verdict is error, its checks pass. The merge decided its verdict from
    the merged checks alone and dropped the parts' ``checkout`` entries: PASS."""
    from gatekeeper.checkers.base import CheckContext

    root = repo(tmp_path / "p", {"ruff.toml": '[lint]\nselect = ["F"]\n', "a.py": "x = 1\n", "b.py": "y = 2\n"})
    policy = "[checks.lint]\nenabled = true\n"
    real_run = CheckContext.run

    def run_and_put_back(self: CheckContext, args: Any, **kw: Any) -> Any:
        module = root / "a.py"
        module.write_bytes(b"import os\n")  # what the tool may have read meanwhile
        module.write_bytes(b"x = 1\n")
        return real_run(self, args, **kw)

    monkeypatch.setattr(CheckContext, "run", run_and_put_back)
    first = run(root, {"lint": LintChecker()}, policy, shard=(1, 2))
    monkeypatch.undo()
    second = run(root, {"lint": LintChecker()}, policy, shard=(2, 2))
    assert first.verdict is Verdict.ERROR and first.extra["checkout"]["restored"] == ["a.py"]
    assert [c.status for c in (*first.checks, *second.checks)] == [Status.PASS, Status.PASS]
    checkers = {"lint": resolve("lint", LintChecker())}
    options = load_policy(root, {"lint": LintChecker().options})
    merged = merge_results([first, second], options, checkers)
    assert merged.checks[0].status is Status.PASS
    assert merged.verdict is Verdict.ERROR and merged.extra["checkout"]["restored"] == ["a.py"]
    again = run(root, {"lint": LintChecker()}, policy, shard=(1, 2))
    clean = merge_results([again, second], options, checkers)
    assert clean.verdict is Verdict.PASS and clean.extra["checkout"]["compared"] is True


def test_a_merge_of_parts_judged_with_strict_waivers_is_judged_strictly(tmp_path: Path) -> None:
    """Each shard ran with --strict-waivers and failed on a waiver that matched nothing. The option is
    no part of the policy, and the merge judged waivers by the policy alone: PASS."""
    import datetime as dt

    expires = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    root = repo(tmp_path / "p", {"ruff.toml": '[lint]\nselect = ["F"]\n', "a.py": "x = 1\n"})
    policy = (
        '[checks.lint]\nenabled = true\n[[waivers]]\ncheck = "lint"\nrule = "F401"\n'
        'reason = "an import kept for its side effect"\n'
        f'approved_by = "dev@example.com"\nexpires = {expires}\n'
    )
    parts = [run(root, {"lint": LintChecker()}, policy, shard=(i, 2), strict_waivers=True) for i in (1, 2)]
    assert [p.extra["strict_waivers"] for p in parts] == [True, True]
    assert [p.verdict for p in parts] == [Verdict.FAIL, Verdict.FAIL]  # W1 unused
    checkers = {"lint": resolve("lint", LintChecker())}
    options = load_policy(root, {"lint": LintChecker().options})
    merged = merge_results(parts, options, checkers)
    assert merged.waivers["unused"] and merged.extra["strict_waivers"] is True
    assert merged.verdict is Verdict.FAIL
    lenient = [run(root, {"lint": LintChecker()}, policy, shard=(i, 2)) for i in (1, 2)]
    again = merge_results(lenient, options, checkers)
    assert again.verdict is Verdict.PASS and again.extra["strict_waivers"] is False
