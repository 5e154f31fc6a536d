"""What the repository is at: commit and branch, from git or the CI's environment."""

from __future__ import annotations

import os
from pathlib import Path

from gatekeeper import process
from gatekeeper.errors import ToolError


def _git(root: Path, *args: str) -> str:
    try:
        done = process.run(["git", *args], timeout=10, cwd=root)
    except ToolError:
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def repository_info(root: Path) -> dict[str, str]:
    """``{root, commit, branch}``; empty strings where neither git nor CI variables tell."""
    commit = _git(root, "rev-parse", "HEAD") or os.environ.get("GITHUB_SHA", "") or os.environ.get("CI_COMMIT_SHA", "")
    branch = _git(root, "rev-parse", "--abbrev-ref", "HEAD")
    if not branch or branch == "HEAD":
        branch = (
            os.environ.get("GITHUB_HEAD_REF")
            or os.environ.get("GITHUB_REF_NAME")
            or os.environ.get("CI_COMMIT_REF_NAME")
            or ("" if not branch else "(detached)")
        )
    return {"root": str(root), "commit": commit, "branch": branch}
