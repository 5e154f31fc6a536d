"""The checker contract's shared helpers (gatekeeper/checkers/base.py) that no single checker owns."""

from __future__ import annotations

from gatekeeper.checkers.base import split_by_size


def test_split_by_size_balances_bytes_not_counts() -> None:
    sizes = {"big.py": 900, **{f"s{i}.py": 100 for i in range(9)}}
    groups = split_by_size(list(sizes), sizes, 2)
    assert sorted(sum(sizes[f] for f in g) for g in groups) == [900, 900]
    assert groups == split_by_size(list(reversed(list(sizes))), sizes, 2)  # deterministic
