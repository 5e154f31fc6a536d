"""What a policy was built from: every file read (the policy, each file it ``extends``, its
``waivers_file``), each with the sha256 of the bytes parsed, and one digest of the effective policy.

A run records them all (``gatekeeper.json``'s ``policy.files`` and ``policy.effective_sha256``, the
audit record, the HTML report), so that a change to any file the verdict depended on shows, not only
a change to the top file; ``merge`` and ``bundle`` compare them with the policy they load.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Any

ROLES = ("policy", "extends", "waivers")


@dataclass(frozen=True, slots=True)
class PolicyFile:
    """One file the effective policy was built from: its role (``policy``, ``extends`` or
    ``waivers``), its name (relative to the project root when inside it, ``(preset) NAME.toml`` for a
    shipped preset, else absolute), the sha256 of the bytes parsed, and those bytes."""

    role: str
    path: str
    sha256: str
    data: bytes = field(repr=False, compare=False)

    def to_dict(self) -> dict[str, str]:
        """The JSON form (``policy.files`` entries): role, path, sha256."""
        return {"role": self.role, "path": self.path, "sha256": self.sha256}


def policy_file(role: str, path: Path, data: bytes, root: Path, presets: Path) -> PolicyFile:
    """The record of ``data``, read from ``path`` in the given role."""
    resolved = path.resolve()
    if resolved.parent == presets.resolve():
        name = f"(preset) {path.name}"
    else:
        try:
            name = resolved.relative_to(root.resolve()).as_posix()
        except ValueError:
            name = str(resolved)
    return PolicyFile(role, name, hashlib.sha256(data).hexdigest(), data)


def effective_sha256(data: Mapping[str, Any]) -> str:
    """sha256 of the effective policy (every default filled in, waivers included) as sorted compact
    JSON; the waivers file's absolute path is left out (its content is in the waivers and in its own digest)."""
    body = {k: v for k, v in data.items() if k != "waivers_file"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def files_problem(recorded: Mapping[str, Any], files: Sequence[PolicyFile], effective: str) -> str | None:
    """Why the policy loaded today (``files``, ``effective``) is not the one a run recorded (its
    result's ``policy`` block), naming the file that differs; None when every digest matches.

    A result without ``files`` (written before they were recorded) proves only its top file: it
    matches a policy that reads nothing else.
    """
    listed = recorded.get("files")
    top = files[0]
    if not isinstance(listed, list) or not listed:
        if recorded.get("sha256") != top.sha256:
            return _changed(top, str(recorded.get("sha256") or "?"))
        if len(files) > 1:
            other = files[1]
            return (
                f"the run recorded only the digest of {top.path}, but the policy also reads {other.path} ({other.role}) "
                "today: what that file held when the run read it cannot be shown"
            )
        return None
    for then, now in zip_longest(listed, files):
        if now is None:
            return f"the run read {then.get('path')} ({then.get('role')}), which the policy no longer reads"
        if then is None:
            return f"the policy now also reads {now.path} ({now.role}), which the run did not"
        if then.get("role") != now.role or then.get("sha256") != now.sha256:
            return _changed(now, str(then.get("sha256") or "?"))
    if recorded.get("effective_sha256") not in (None, effective):
        return (
            f"the effective policy differs from the run's (sha256 {effective[:12]} today, "
            f"{str(recorded.get('effective_sha256'))[:12]} then) though its files match: another gatekeeper version's defaults"
        )
    return None


def _changed(now: PolicyFile, then: str) -> str:
    return f"{now.path} ({now.role}) changed since the run: sha256 {now.sha256[:12]} today, {then[:12]} when the run read it"
