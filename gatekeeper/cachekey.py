"""Where a repository's cache is, and the key a CI cache (GitHub's actions/cache) stores it under.

The key names everything that decides whether the cached entries can be reused: the Python
version, gatekeeper's version, the versions of the tools the checkers run (read from the tool
interpreter, ``gate.tool_python``) and a digest of the effective policy (``extends`` merged). The
cache's entries are themselves keyed by file contents, tool versions and options, so a key that
matches too broadly only costs disk space, never a wrong result; the key keeps caches apart so
that the one restored is the one most likely to hit.
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path
from typing import Any

from gatekeeper import __version__
from gatekeeper.checkers import cache
from gatekeeper.fileio import resolve_for_write, under
from gatekeeper.policy import Policy

#: the distributions whose versions change what the built-in checkers compute
TOOL_DISTRIBUTIONS = ("bandit", "coverage", "pip-audit", "cyclonedx-bom", "pip-licenses", "ruff", "mypy", "detect-secrets")

_VERSIONS_PROBE = """
import json, sys
from importlib import metadata
out = {}
for name in sys.argv[1:]:
    try:
        out[name] = metadata.version(name)
    except metadata.PackageNotFoundError:
        out[name] = ""
print(json.dumps(out))
"""


def cache_folder(root: Path, policy: Policy) -> Path:
    """The cache folder ``check`` uses for ``root`` under ``policy``: ``cache.dir`` (relative to the
    project), else one folder per repository in the user's cache directory. Resolved: a link
    inside the project on the way is refused (``OutputError``)."""
    configured = str(policy.cache["dir"] or "")
    return resolve_for_write(under(root, configured) if configured else cache.default_dir(root), root)


def tool_python(root: Path, policy: Policy) -> str:
    """The interpreter the tools run from (``gate.tool_python``, default the running one)."""
    configured = str(policy.gate.get("tool_python") or "")
    if not configured:
        return sys.executable
    return str(under(root, configured))


def tool_versions(python: str, timeout: float = 60.0) -> dict[str, str]:
    """``{distribution: version}`` of ``TOOL_DISTRIBUTIONS`` in ``python`` ("" when not installed)."""
    from gatekeeper.process import run

    done = run([python, "-I", "-c", _VERSIONS_PROBE, *TOOL_DISTRIBUTIONS], timeout=timeout, cwd=str(Path(python).parent))
    try:
        found: Any = json.loads(done.stdout)
    except ValueError:
        found = None
    if done.returncode != 0 or not isinstance(found, dict):
        from gatekeeper.errors import ToolError

        raise ToolError(f"could not read the tool versions from {python}: {done.stderr.strip()[-300:] or 'no output'}")
    return {name: str(found.get(name) or "") for name in TOOL_DISTRIBUTIONS}


def key_material(policy: Policy, tools: dict[str, str]) -> dict[str, Any]:
    """Everything the CI cache key is made from, as a JSON-ready mapping."""
    return {
        "python": platform.python_version(),
        "gatekeeper": __version__,
        "tools": [{"name": name, "version": version} for name, version in sorted(tools.items())],
        "tools_digest": cache.cache_key(tools)[:16],
        "policy_digest": cache.cache_key(policy.data)[:16],
    }


def ci_key(material: dict[str, Any]) -> str:
    """The key text: ``py<version>-gk<version>-tools.<digest>-policy.<digest>`` (prefix it with the OS).

    Everything before ``-policy.`` names a cache whose entries a run under another policy can
    still reuse (they are keyed by the options that matter), so it makes a good second restore key.
    """
    return (
        f"py{material['python']}-gk{material['gatekeeper']}-tools.{material['tools_digest']}-policy.{material['policy_digest']}"
    )
