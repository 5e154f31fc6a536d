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


def expected_problem(recorded: object, files: Sequence[PolicyFile], effective: str) -> tuple[str | None, str | None]:
    """(why a run's ``policy`` block, as its authenticated audit record or attestation states it, is
    not that of the policy an auditor holds (``files``, ``effective``: ``bundle verify --policy``,
    ``attestation verify --policy``), or None; a note, or None).

    Every file the policy is built from must be one the run read, by role, order and sha256 (their
    paths may differ: the auditor's copy lies elsewhere). The effective policy's digest also depends
    on the defaults of the gatekeeper (and checkers) that computes it: when only it differs, the
    files are the run's, and the note says so.
    """
    if not isinstance(recorded, Mapping) or not recorded.get("sha256"):
        return "the run records no digest of its policy", None
    listed = recorded.get("files")
    if not isinstance(listed, list) or not listed:  # a record from before every file was listed
        listed = [{"role": "policy", "path": recorded.get("path"), "sha256": recorded.get("sha256")}]
    for entry, now in zip_longest(listed, files):
        if entry is None and now is not None:
            return f"this policy also reads {now.path} ({now.role}), which the run did not", None
        then: Mapping[str, Any] = entry if isinstance(entry, Mapping) else {}
        if now is None:
            return f"the run also read {then.get('path')} ({then.get('role')}), which this policy does not", None
        if then.get("role") != now.role or then.get("sha256") != now.sha256:
            return (
                f"{now.path} ({now.role}) is not the file the run read as its {then.get('role')} {then.get('path')}: "
                f"sha256 {now.sha256[:12]} here, {str(then.get('sha256') or '?')[:12]} at the run"
            ), None
    then_effective = str(recorded.get("effective_sha256") or "")
    if then_effective and then_effective != effective:
        return None, (
            f"the policy's files are the ones the run read; its effective policy differs (sha256 {effective[:12]} here, "
            f"{then_effective[:12]} at the run): this gatekeeper fills in other defaults than the run's"
        )
    return None, None
