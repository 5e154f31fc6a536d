"""Paths named by tools are mapped into the project exactly as resolving them would, links included."""

from __future__ import annotations

import os
from pathlib import Path

from gatekeeper.fileio import RootRelative, relative_to_root


def test_root_relative_agrees_with_resolving_every_path(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "pkg" / "deep").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    for name in ("pkg/a.py", "pkg/deep/b.py"):
        (root / name).write_text("x = 1\n")
    (tmp_path / "outside" / "evil.py").write_text("x = 1\n")
    (root / "out_dir").symlink_to(tmp_path / "outside")  # a folder link leaving the project
    (root / "in_dir").symlink_to(root / "pkg")  # a folder link staying inside
    (root / "evil.py").symlink_to(tmp_path / "outside" / "evil.py")
    (root / "pkg" / "up.py").symlink_to(Path("..") / "pkg" / "a.py")
    (root / "loop").symlink_to(root / "loop")
    names = [
        "pkg/a.py", "pkg/deep/b.py", "out_dir/evil.py", "in_dir/deep/b.py", "evil.py", "pkg/up.py", "loop",
        "out_dir/../pkg/a.py", "in_dir/../pkg/a.py", "pkg/deep/..", "pkg/.", ".", "missing/x.py", "../outside/evil.py",
        "pkg//a.py", "loop/x.py",
    ]  # fmt: skip
    relative = RootRelative(root)
    paths = [root / n for n in names] + [tmp_path / "outside" / "evil.py", Path("/"), tmp_path]
    got = {str(p): relative(p) for p in paths}
    assert got == {str(p): relative_to_root(p, root) for p in paths}
    assert got[str(root / "in_dir/deep/b.py")] == "pkg/deep/b.py" and got[str(root / "out_dir/evil.py")] is None
    assert got[str(root / "evil.py")] is None and got[str(root / "out_dir/../pkg/a.py")] is None
    old = Path.cwd()
    os.chdir(root)
    try:  # a relative path is taken from the working folder, as ``resolve`` takes it
        assert relative(Path("in_dir/a.py")) == "pkg/a.py" == relative_to_root(Path("in_dir/a.py"), root)
    finally:
        os.chdir(old)
