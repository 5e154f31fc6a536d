"""Controls: which compliance requirements a run gives evidence for.

A control maps one requirement (a practice of a framework such as NIST SSDF 1.1, or one of the
organization's own) to the checks whose results are its evidence. Catalogues ship as TOML files in
``policies/controls/``; a policy names them in ``[gate] controls`` and adds its own ``[[controls]]``.

A control's status follows from its checks, failing closed: ``fail`` when any mapped check failed,
``not evidenced`` when any mapped check did not run (not enabled, skipped, or could not run: an
error is no evidence), ``pass with exceptions`` when every mapped check ran and passed but only
because a waiver or the baseline accepted some of their findings, and ``pass`` when every mapped
check ran and passed with nothing excepted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from gatekeeper import tomlio
from gatekeeper.errors import PolicyError
from gatekeeper.fileio import shipped_dir
from gatekeeper.findings import CheckResult, Status

PASS = "pass"  # noqa: S105  # a status, not a password
FAIL = "fail"
NOT_EVIDENCED = "not evidenced"
PASS_WITH_EXCEPTIONS = "pass with exceptions"  # noqa: S105  # a status, not a password
#: the statuses a control can have, worst first
STATUSES = (FAIL, NOT_EVIDENCED, PASS_WITH_EXCEPTIONS, PASS)
#: ``framework`` of a control a policy defines without naming one
CUSTOM = "custom"


def _folder() -> Path:
    return shipped_dir("policies") / "controls"


def catalogue_names() -> list[str]:
    """The names of the shipped control catalogues (e.g. ``nist-ssdf-1.1``)."""
    folder = _folder()
    return sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []


def load_catalogue(name: str) -> list[dict[str, Any]]:
    """The controls of the shipped catalogue ``name``: ``[{id, title, framework, checks, evidence}]``.

    Raises ``PolicyError`` when the catalogue is unknown or its file is damaged.
    """
    if name not in catalogue_names():
        raise PolicyError(f"no control catalogue named {name!r} (shipped: {', '.join(catalogue_names()) or 'none'})")
    path = _folder() / f"{name}.toml"
    try:
        doc = tomlio.loads(path.read_text(encoding="utf-8"))
        framework = str(doc["framework"])
        return [
            {
                "id": str(c["id"]),
                "title": str(c["title"]),
                "framework": framework,
                "checks": [str(n) for n in c["checks"]],
                "evidence": str(c.get("evidence", "")),
            }
            for c in doc["controls"]
        ]
    except (OSError, UnicodeDecodeError, tomlio.TOMLDecodeError, KeyError, TypeError) as exc:
        raise PolicyError(f"the shipped control catalogue is damaged ({exc}); reinstall gatekeeper", file=str(path)) from exc


def policy_controls(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every control a validated policy's data defines: its catalogues' first, then its own ``[[controls]]``."""
    out: list[dict[str, Any]] = []
    for name in data["gate"].get("controls", []):
        out.extend(load_catalogue(name))
    for c in data.get("controls", []):
        out.append(
            {
                "id": c["id"],
                "title": c["title"],
                "framework": c.get("framework") or CUSTOM,
                "checks": list(c["checks"]),
                "evidence": "",
            }
        )
    return out


def control_status(checks: Iterable[str], results: Mapping[str, CheckResult]) -> str:
    """``fail``, ``not evidenced``, ``pass with exceptions`` or ``pass`` for a control mapped to
    ``checks`` (see the module docstring)."""
    names = list(checks)
    statuses = [results[n].status if n in results else None for n in names]
    if any(s is Status.FAIL for s in statuses):
        return FAIL
    if not statuses or any(s is not Status.PASS for s in statuses):
        return NOT_EVIDENCED
    if excepted(names, results):
        return PASS_WITH_EXCEPTIONS
    return PASS


def excepted(checks: Iterable[str], results: Mapping[str, CheckResult]) -> list[str]:
    """The ids of the waivers (``baseline`` for the baseline) that accepted a finding of ``checks``, sorted."""
    return sorted({f.waiver.id for n in checks if n in results for f in results[n].findings if f.waiver is not None})


def evaluate_controls(controls: Iterable[Mapping[str, Any]], checks: Iterable[CheckResult]) -> list[dict[str, Any]]:
    """The ``controls`` block of the JSON result: each control with the status its checks give it."""
    results = {c.name: c for c in checks}
    out = []
    for c in controls:
        row = {
            "id": str(c["id"]),
            "title": str(c["title"]),
            "framework": str(c["framework"]),
            "checks": [str(n) for n in c["checks"]],
            "status": control_status(c["checks"], results),
        }
        exceptions = excepted(c["checks"], results)
        if exceptions:
            row["exceptions"] = exceptions
        if c.get("evidence"):
            row["evidence"] = str(c["evidence"])
        out.append(row)
    return out


def result_controls(value: Any) -> list[dict[str, Any]]:
    """The well-formed entries of a result's ``controls`` block (a result from an older gatekeeper has none)."""
    if not isinstance(value, list):
        return []
    out = []
    for c in value:
        if not isinstance(c, Mapping) or not isinstance(c.get("id"), str):
            continue
        checks = c.get("checks")
        out.append(
            {
                "id": c["id"],
                "title": str(c.get("title", "")),
                "framework": str(c.get("framework", "")),
                "checks": [str(n) for n in checks] if isinstance(checks, list) else [],
                "status": str(c.get("status")) if c.get("status") in STATUSES else NOT_EVIDENCED,
                "evidence": str(c.get("evidence", "")),
                "exceptions": [str(e) for e in c["exceptions"]] if isinstance(c.get("exceptions"), list) else [],
            }
        )
    return out
