"""Evidence bundles: one zip with everything an auditor needs about one run (verified by ``bundleverify``).

A bundle holds every report format rendered from the run's result (``reports/``), the artifacts the
checks wrote such as the SBOM (``artifacts/<check>/``), the effective policy as TOML, the license
table as CSV, the run's audit record exactly as the log stores it, and ``manifest.json``: each file
with its sha256 and size, gatekeeper's version and the run's commit. With the audit signing key set
the manifest carries ``sig`` (``{"alg", "keyid", "value"}``, the audit records' scheme: Ed25519 for
a PEM key, verified with the public key alone), so a rewritten bundle cannot be passed off as the
original without the key.

``bundleverify.verify_bundle`` never extracts anything: it hashes each entry in memory and names every file
that was changed, added or removed, and a signature that does not match. It then says what backs
the result: the run's audit record (its signature, that it lists this very ``gatekeeper.json``,
and, given the log, that the log holds it at its place in an authenticated chain), or nothing.
Without keys nothing is authenticated, and it says "consistent, not authenticated".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekeeper import __version__, readback, signing
from gatekeeper.audit import canonical, line_digest
from gatekeeper.errors import UsageError
from gatekeeper.findings import GateResult
from gatekeeper.policydigest import PolicyFile
from gatekeeper.redaction import redact
from gatekeeper.signing import Signer

if TYPE_CHECKING:
    from gatekeeper.checkers.base import LoadedChecker

MANIFEST = "manifest.json"

BUNDLE_FORMAT = "gatekeeper-evidence-bundle"

BUNDLE_VERSION = 1

POLICY_FILE = "policy/effective-policy.toml"

#: the files the policy was built from, as the run read them: ``policy/files/NN-<role>-<name>``
POLICY_SOURCES = "policy/files"

AUDIT_FILE = "audit/record.jsonl"

#: an artifact larger than this is not copied into a bundle (an SBOM is far smaller)
MAX_ARTIFACT_BYTES = 256 * 1024 * 1024

#: a manifest lists file names and digests: anything bigger than this was not written by gatekeeper
MAX_MANIFEST_BYTES = 16 * 1024 * 1024

#: no file gatekeeper puts in a bundle is larger (reports of a huge run included): a bigger entry is not inflated
MAX_ENTRY_BYTES = 1024 * 1024 * 1024


def report_files(
    result: GateResult, json_bytes: bytes | None = None, written: Mapping[str, tuple[str, bytes | None]] | None = None
) -> dict[str, bytes]:
    """Every report format rendered from ``result``, as ``{"reports/<file>": bytes}``.

    ``json_bytes`` (the ``gatekeeper.json`` a run wrote) is kept byte for byte instead of re-rendered.
    ``written`` holds, by file name, the sha256 the run's audit record lists for a report it wrote
    and the run's own bytes when they are still there: those are kept; a page rendered here that is
    not the one the run wrote (another gatekeeper release renders differently, and the run's file
    is gone) is a ``UsageError``, never a page the record does not vouch for under the run's name.
    """
    from gatekeeper.reports import FORMATS, renderer

    out: dict[str, bytes] = {}
    for fmt, (name, _) in FORMATS.items():
        recorded, kept = (written or {}).get(name, ("", None))
        if fmt == "json" and json_bytes is not None:
            out[f"reports/{name}"] = json_bytes
        elif kept is not None:
            out[f"reports/{name}"] = kept
        elif text := renderer(fmt)(result):  # a format with nothing to say this run writes no file
            data = text.encode("utf-8")
            if recorded and hashlib.sha256(data).hexdigest() != recorded:
                raise UsageError(
                    f"the run's {name} is not beside the result any more, and this gatekeeper renders it differently "
                    "from the one the run wrote (its audit record lists another sha256)",
                    hint="bundle from the folder the run wrote its reports into, or with the gatekeeper release that ran",
                )
            out[f"reports/{name}"] = data
    return out


def run_reports(output_dir: Path, audit_line: bytes | None) -> dict[str, tuple[str, bytes | None]]:
    """The reports the run's audit record lists, by file name: (their sha256, the bytes of the file
    of that name in ``output_dir`` when it still has that sha256, else None)."""
    try:
        record = readback.loads(audit_line, "audit record") if audit_line else None
    except (ValueError, readback.LimitError):
        record = None
    reports = record.get("reports") if isinstance(record, dict) else None
    out: dict[str, tuple[str, bytes | None]] = {}
    for path, digest in reports.items() if isinstance(reports, dict) else []:
        name = str(path).rsplit("/", 1)[-1]
        candidate = output_dir / name
        data = None
        if candidate.is_file() and not candidate.is_symlink():
            data = candidate.read_bytes()
            data = data if hashlib.sha256(data).hexdigest() == digest else None
        out[name] = (str(digest), data)
    return out


def artifact_files(result: GateResult, output_dir: Path) -> dict[str, bytes]:
    """The artifacts the checks wrote (e.g. the SBOM), read from ``output_dir``, as ``{"artifacts/<check>/<file>": bytes}``.

    An artifact of a check that ran is part of the evidence: one that is missing, a symbolic link,
    outside the output folder or unreadable is a ``UsageError``, never silently left out.
    """
    out: dict[str, bytes] = {}
    base = output_dir.resolve()
    for check in sorted(result.checks, key=lambda c: c.name):
        for name, relative in sorted(check.artifacts.items()):
            path = output_dir / str(relative)
            where = f"the {check.name} check's artifact {name!r} ({path})"
            if path.is_symlink():
                raise UsageError(f"{where} is a symbolic link; a bundle copies only regular files")
            try:
                resolved = path.resolve()
                resolved.relative_to(base)
            except (OSError, ValueError):
                raise UsageError(f"{where} is outside the output folder {output_dir}") from None
            try:
                if resolved.stat().st_size > MAX_ARTIFACT_BYTES:
                    raise UsageError(f"{where} is larger than {MAX_ARTIFACT_BYTES // (1024 * 1024)} MiB")
                data = resolved.read_bytes()
            except FileNotFoundError:
                raise UsageError(f"{where} is missing: re-run the check, or bundle from the folder that holds it") from None
            except OSError as exc:
                raise UsageError(f"cannot read {where}: {exc.strerror or exc}") from None
            out[f"artifacts/{_safe(check.name)}/{_safe(Path(str(relative)).name)}"] = data
    return out


def evidence_files(
    result: GateResult, taken: Mapping[str, bytes], checkers: Mapping[str, LoadedChecker] | None = None
) -> dict[str, bytes]:
    """The files each check adds through its checker's ``evidence`` hook (looked up by name in
    ``checkers``, default the installed ones), under ``<check>/``; never one that would stand in
    for a file the bundle already holds (``taken``)."""
    from gatekeeper.checkers import presenter

    out: dict[str, bytes] = {}
    for check in result.checks:
        for name, data in presenter(check.name, checkers).evidence(check).items():
            path = f"{_safe(check.name)}/{_safe(name)}"
            if path not in taken and not any(t.startswith(f"{_safe(check.name)}/") for t in taken):
                out[path] = data
    return out


def _safe(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in name).strip(".")
    return cleaned or "artifact"


def policy_file(policy_toml: str, path: str, sha256: str, effective: str = "") -> bytes:
    """The effective policy as TOML, headed by where it came from and its digests (the path and the
    TOML redacted like every other output; a digest kept, as redaction would mask it as a token)."""
    shown = redact(path or "(built-in default)").replace("\n", " ").replace("\r", " ")
    header = f"# effective policy (after extends and defaults) of {shown}\n"
    header += f"# sha256 of that file: {_digest(sha256)}\n"
    if effective:
        header += f"# sha256 of the effective policy: {_digest(effective)} (the files it was built from: {POLICY_SOURCES}/)\n"
    return (header + redact(policy_toml)).encode("utf-8")


def _digest(value: str) -> str:
    """A sha256 as it is (64 hex digits); anything else redacted and on one line."""
    return value if re.fullmatch(r"[0-9a-f]{64}", value) else redact(value).replace("\n", " ")


def policy_sources(files: Sequence[PolicyFile]) -> dict[str, bytes]:
    """The files the policy was built from (the policy, each file it extends, its waivers file), as
    read, under ``policy/files/``; a file that redaction changes is stored redacted (it then no
    longer matches its recorded sha256, which is the safer way to differ)."""
    out: dict[str, bytes] = {}
    for number, source in enumerate(files, 1):
        text = source.data.decode("utf-8", "replace")
        redacted = redact(text)
        name = _safe(Path(source.path.removeprefix("(preset) ")).name)
        out[f"{POLICY_SOURCES}/{number:02d}-{source.role}-{name}"] = source.data if redacted == text else redacted.encode()
    return out


def find_record(log: Path, *, digest: str = "", results_sha256: str = "") -> bytes | None:
    """The audit log line (as stored) whose sha256 is ``digest``, or whose record lists a
    ``gatekeeper.json`` with sha256 ``results_sha256``; the latest match wins. None when absent."""
    try:
        lines = log.read_bytes().splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        if not line.strip():
            continue
        if digest and line_digest(line) == digest:
            return line
        if results_sha256:
            try:
                record = readback.loads(line, str(log))
            except (ValueError, readback.LimitError):  # not the record sought, whatever it is
                continue
            reports = record.get("reports") if isinstance(record, dict) else None
            if isinstance(reports, dict) and any(
                str(name).endswith("gatekeeper.json") and value == results_sha256 for name, value in reports.items()
            ):
                return line
    return None


def build_bundle(result: GateResult, files: Mapping[str, bytes], key: Signer | bytes | None, audit_record: bool) -> bytes:
    """The zip: ``files`` plus ``manifest.json`` (signed with ``key`` when given). Same input, same bytes."""
    signer = signing.signer_from_text(key) if isinstance(key, bytes) else key
    manifest: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "gatekeeper": __version__,
        **manifest_facts(result, files, audit_record),
        "files": [
            {"path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)} for name, data in sorted(files.items())
        ],
    }
    if signer is not None:
        manifest["sig"] = signing.signature(signer, canonical(manifest))
    stamp = _zip_time(result.finished_at)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in [
            *sorted(files.items()),
            (MANIFEST, manifest_bytes(manifest)),
        ]:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buffer.getvalue()


def manifest_facts(result: GateResult, files: Mapping[str, bytes], audit_record: bool) -> dict[str, Any]:
    """What a manifest states about the run and the bundle's files, all of it from ``result`` and
    ``files`` (so ``bundle verify`` can state it again from the pinned result and hold the manifest to it)."""
    return {
        "created_from": {"finished_at": result.finished_at, "verdict": result.verdict.value},
        "commit": _commit(str(result.repository.get("commit") or "")),
        "branch": redact(str(result.repository.get("branch") or "")),
        "policy_sha256": str(result.policy.get("sha256") or ""),
        "policy_files": _policy_entries(result, files),
        "audit_record": AUDIT_FILE if audit_record else None,
        **_standalone(result, files),
    }


def _standalone(result: GateResult, files: Mapping[str, bytes]) -> dict[str, Any]:
    """The manifest's pointers for a reader without gatekeeper: the README, the attestation, the key
    id that signed it, and the advisory database's digest and date."""
    from gatekeeper.bundleguide import ATTESTATION_FILE, README_FILE, advisory_database, key_id

    attestation = files.get(ATTESTATION_FILE)
    return {
        "readme": README_FILE if README_FILE in files else None,
        "attestation": ATTESTATION_FILE if attestation is not None else None,
        "key_id": key_id(attestation) or None,
        "advisory_database": advisory_database(result),
    }


def _policy_entries(result: GateResult, files: Mapping[str, bytes]) -> list[dict[str, Any]]:
    """Each file the run's policy was built from (role, path, the sha256 the run recorded) with the
    bundle entry holding it."""
    recorded = result.policy.get("files")
    entries = sorted(name for name in files if name.startswith(POLICY_SOURCES + "/"))
    if not isinstance(recorded, list) or len(recorded) != len(entries):
        return []
    keys = ("role", "path", "sha256")
    return [{**{k: str(f.get(k, "")) for k in keys}, "entry": name} for f, name in zip(recorded, entries, strict=True)]


def _commit(value: str) -> str:
    """A commit id kept as it is (redaction would mask 40 hex digits as a token); anything else redacted."""
    return value if re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", value) else redact(value)


def manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    """``manifest.json`` as gatekeeper writes it; ``bundle verify`` refuses other bytes (a key twice,
    which JSON readers resolve differently, while the signature covers only what the manifest parses to)."""
    return (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()


def _zip_time(moment: str) -> tuple[int, int, int, int, int, int]:
    try:
        when = dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
        return (max(1980, when.year), when.month, when.day, when.hour, when.minute, when.second)
    except ValueError:
        return (1980, 1, 1, 0, 0, 0)


def bundle_files(  # noqa: PLR0913  # one parameter per piece of evidence
    result: GateResult,
    output_dir: Path,
    policy_toml: str,
    audit_line: bytes | None,
    json_bytes: bytes | None = None,
    sources: Sequence[PolicyFile] = (),
    checkers: Mapping[str, LoadedChecker] | None = None,
) -> dict[str, bytes]:
    """Everything a bundle holds besides its manifest: reports, artifacts, the effective policy and
        the files it was built from (``sources``, as the run read them), each check's own evidence
    (``evidence_files``: the licenses check's table), audit record,
        and what makes it stand alone: the attestation, a verifier script and a README (``bundleguide``)."""
    files = report_files(result, json_bytes, run_reports(output_dir, audit_line))
    files.update(artifact_files(result, output_dir))
    policy = result.policy
    files[POLICY_FILE] = policy_file(
        policy_toml, str(policy.get("path") or ""), str(policy.get("sha256") or ""), str(policy.get("effective_sha256") or "")
    )
    files.update(policy_sources(sources))
    files.update(evidence_files(result, files, checkers))
    if audit_line is not None:
        files[AUDIT_FILE] = audit_line + b"\n"
    from gatekeeper.bundleguide import attestation_bytes, guide_files

    files.update(guide_files(result, files, attestation_bytes(output_dir, files.get("reports/gatekeeper.json"))))
    return files
