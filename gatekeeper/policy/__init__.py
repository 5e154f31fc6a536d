"""Policy files: discovery, ``extends`` layering, defaults and strict validation into a frozen Policy.

Every problem raises ``PolicyError`` naming the file, the key path, the line where it can be
found, and what was expected (with a did-you-mean for typos).

``schema`` says what a policy may hold, ``loading`` finds and layers the files (``extends``),
``validation`` checks the layered document (``values`` one value, ``locate`` the line of a key);
waivers' keys and checks live with waivers (``gatekeeper.waivers``), the starter policy with
``policy init`` (``gatekeeper.commands.starter``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from gatekeeper.fileio import shipped_dir
from gatekeeper.options import Option
from gatekeeper.policy.loading import find_policy, load_layered, presets, read_toml, to_toml
from gatekeeper.policy.schema import CONFINED_PATHS, CONTROL_SCHEMA, CORE_SCHEMA, POLICY_FILE, REPORT_FORMATS, TOP_KEYS, Policy
from gatekeeper.policy.validation import validate
from gatekeeper.policy.values import coerce_option
from gatekeeper.policydigest import effective_sha256, policy_file

__all__ = [
    "CONFINED_PATHS",
    "CONTROL_SCHEMA",
    "CORE_SCHEMA",
    "POLICY_FILE",
    "REPORT_FORMATS",
    "TOP_KEYS",
    "Policy",
    "coerce_option",
    "find_policy",
    "load_policy",
    "presets",
    "read_toml",
    "to_toml",
]


def load_policy(
    root: Path,
    checkers: Mapping[str, Mapping[str, Option] | None],
    explicit: str | Path | None = None,
) -> Policy:
    """Find, parse, layer and validate the policy for the project at ``root``.

    ``checkers`` maps every installed checker's name to its options; a ``[checks.X]`` section
    for a checker that is not installed is an error.
    """
    path, source = find_policy(root, explicit)
    reads: list[tuple[str, Path, bytes]] = []  # every file parsed, with the very bytes parsed
    merged, texts = load_layered(path, source, set(), reads)
    data, waivers = validate(merged, checkers, path, texts, reads)
    presets_dir = shipped_dir("policies")
    files = tuple(policy_file(role, where, raw, root, presets_dir) for role, where, raw in reads)
    return Policy(
        path="" if source == "default" else str(path),
        sha256=files[0].sha256,
        source=source,
        data=data,
        waivers=waivers,
        files=files,
        effective_sha256=effective_sha256(data),
    )
