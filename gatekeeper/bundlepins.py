"""Which entries of an evidence bundle the run's own evidence pins, beyond the manifest's signature.

The manifest lists every entry's sha256, but whoever holds the signing key can sign a manifest over
replaced files again. What that key holder cannot replace is what the audit record (chained in the
log, timestamped) fixes by digest, and what the attestation it lists fixes: the reports the run
wrote and the attestation itself (the record's ``reports``), the checks' artifacts such as the SBOM
(the attestation's subjects), the files the policy was built from and the effective policy (the
record's ``policy.files`` and ``policy.effective_sha256``). ``pins`` checks those entries against
them and the verifier script against gatekeeper's own copy; ``bundle_pins`` then holds the
manifest's facts to the result the record pins and writes again from it what was made when the
bundle was (formats the run did not write, each check's own files, the README). What is left (a
file this release writes differently, anything else) is named as vouched for by the manifest's
signature alone, so that ``bundle verify`` says which files its verdict covers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatekeeper.bundle import AUDIT_FILE, POLICY_FILE, POLICY_SOURCES
from gatekeeper.redaction import MASK


@dataclass(frozen=True)
class Pins:
    """What ``pins`` found: ``problems`` (an entry the run's evidence contradicts), ``unpinned`` (the
    entries only the manifest's signature vouches for) and ``notes`` (why a pinnable entry could not be checked)."""

    problems: tuple[str, ...] = ()
    unpinned: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def pins(listed: Mapping[str, str], record: Mapping[str, Any], attested: set[str] | None,
         member: Callable[[str], bytes]) -> Pins:  # fmt: skip
    """Check the bundle's entries (``listed``: name -> sha256, every one already matching its
    manifest line) against the audit ``record`` behind the result and the digests the attestation
    names (``attested``; None when the record does not pin the attestation). ``member`` reads an entry."""
    from gatekeeper.bundleguide import ATTESTATION_FILE, VERIFY_SCRIPT

    recorded = _recorded_reports(record)
    problems: list[str] = []
    unpinned: list[str] = []
    notes: list[str] = []
    policy = record.get("policy") if isinstance(record.get("policy"), Mapping) else {}
    sources = _policy_sources(listed, policy or {}, member, problems, notes)
    for name, digest in sorted(listed.items()):
        if name == AUDIT_FILE or name in sources:
            continue
        if name.startswith("reports/") or name == ATTESTATION_FILE:
            pinned = name.rsplit("/", 1)[-1] in recorded  # a digest that differs is ``_one_run``'s problem
        elif name.startswith("artifacts/") and attested is not None:
            pinned = digest in attested
            if not pinned:
                problems.append(
                    f"{name}: not an artifact the run attested (its sha256 {digest[:16]}... is not among the "
                    "attestation's subjects): replaced after the run"
                )
        elif name == POLICY_FILE:
            pinned = _effective_policy(member(name), policy or {}, problems, notes)
        elif name == VERIFY_SCRIPT:  # the auditor runs it: the same bytes as this gatekeeper's own copy, or named
            pinned = member(name) == (Path(__file__).parent / "verify_attestation.py").read_bytes()
        else:
            pinned = False
        if not pinned:
            unpinned.append(name)
    unpinned.extend(name for name, held in sources.items() if not held)
    return Pins(tuple(problems), tuple(sorted(unpinned)), tuple(notes))


def bundle_pins(listed: Mapping[str, str], record: Mapping[str, Any], member: Callable[[str], bytes],
                manifest: Mapping[str, Any]) -> Pins:  # fmt: skip
    """``pins`` of the bundle's entries (``listed``: name -> sha256) against the audit ``record``
    behind the result and the attestation it lists (whose subjects pin the artifacts); then, from
    the result the record pins, the ``manifest``'s facts (``manifest_problems``) and what was
    written when the bundle was made (formats, each check's files, the README: ``rendered_again``).
    Without a record nothing is pinned. ``member`` reads an entry."""
    from gatekeeper.attestation import subject_digests
    from gatekeeper.bundleguide import ATTESTATION_FILE, README_FILE

    if not record:
        return Pins(unpinned=tuple(sorted(listed)))
    attested = None
    if ATTESTATION_FILE in listed and ATTESTATION_FILE.rsplit("/", 1)[-1] in _recorded_reports(record):
        attested = subject_digests(member(ATTESTATION_FILE))
    found = pins(listed, record, attested, member)
    results = "reports/gatekeeper.json"
    if results not in listed or results in found.unpinned:
        return found
    result, why = _pinned_result(member(results))
    if result is None:
        return Pins(found.problems, found.unpinned, (*found.notes, why))
    attestation = member(ATTESTATION_FILE) if ATTESTATION_FILE in listed else None
    problems = [
        *found.problems,
        *record_problems(record, result),
        *manifest_problems(manifest, result, sorted(listed), attestation),
    ]
    # the formats the run did not write, each check's own files and the README were written from its
    # result when the bundle was made: write them again
    kept = (results, ATTESTATION_FILE)
    later = {n: member(n) for n in found.unpinned if n not in kept and not n.startswith(("policy/", "artifacts/", "verify/"))}
    if ATTESTATION_FILE in found.unpinned:
        later.pop(README_FILE, None)  # the README names the attestation's key: it is pinned only with it
    same, notes = rendered_again(result, later, sorted(listed), attestation)
    unpinned = tuple(n for n in found.unpinned if n not in same)
    return Pins(tuple(problems), unpinned, (*found.notes, *notes))


def _pinned_result(data: bytes) -> tuple[Any, str]:
    """The bundle's ``gatekeeper.json`` read back as a result, or None and why it cannot be."""
    import tempfile

    from gatekeeper.errors import UsageError
    from gatekeeper.reports.json import load_result

    with tempfile.TemporaryDirectory(prefix="gatekeeper-bundle-") as folder:
        path = Path(folder) / "gatekeeper.json"
        path.write_bytes(data)
        try:
            return load_result(path), ""
        except UsageError as exc:
            return (
                None,
                f"the bundle's reports/gatekeeper.json cannot be read back ({exc.message}): what was made from it is not checked",
            )


def record_problems(record: Mapping[str, Any], result: Any) -> list[str]:
    """What the audit ``record`` says about its run (commit, verdict, exit code, each check's status
    and counts: what ``bundle verify`` prints and gates on) that the ``result`` it lists by sha256
    does not: a record signed again with a better verdict than the result it vouches for."""
    from gatekeeper.auditrecord import commit_of, text_of

    checks = record.get("checks") if isinstance(record.get("checks"), Mapping) else {}
    said_checks: dict[str, Any] = {
        str(name): {k: c.get(k) for k in ("status", "findings", "blocking") if k in c} if isinstance(c, Mapping) else c
        for name, c in (checks or {}).items()
    }
    said = {**{k: record.get(k) for k in ("commit", "verdict", "exit_code")}, "checks": said_checks}
    expected: dict[str, Any] = {
        "commit": commit_of(result.repository.get("commit", "")),
        "verdict": result.verdict.value,
        "exit_code": result.exit_code,
        "checks": {},
    }
    for c in result.checks:
        counts = {"status": c.status.value, "findings": len(c.findings), "blocking": sum(f.blocking for f in c.findings)}
        recorded = said_checks.get(c.name)
        if isinstance(recorded, dict) and "blocking" not in recorded:  # a record from before it was recorded
            counts.pop("blocking")
        expected["checks"][c.name] = counts
    if "folder" in record:  # the folder of the work tree judged (a record from before it was recorded says nothing)
        said["folder"] = record["folder"]
        expected["folder"] = text_of(result.repository.get("folder"))
    if "strict_waivers" in record:  # how waivers were judged (a record from before it was recorded says nothing)
        said["strict_waivers"] = record["strict_waivers"]
        expected["strict_waivers"] = result.extra.get("strict_waivers")
    return [
        f"audit record #{record.get('seq', '?')}: {key} says {said[key]!r}, but the result it lists "
        f"(reports/gatekeeper.json) says {want!r}: the record was signed again with other facts than its run's"
        for key, want in expected.items()
        if said[key] != want
    ]


def manifest_problems(manifest: Mapping[str, Any], result: Any, names: list[str], attestation: bytes | None) -> list[str]:
    """Each fact the manifest states about the run and the bundle (branch, policy digest and files,
    finish time, the README, attestation and key it points to, the advisory database) that is not
    what ``bundle.manifest_facts`` states from the pinned ``result``, the entries' ``names`` and the
    ``attestation``: whoever holds the key can sign a manifest again, not the result the record pins.
    (The commit and verdict are held to the record itself, by ``bundleverify``.)"""
    from gatekeeper.bundle import MANIFEST, manifest_facts
    from gatekeeper.bundleguide import ATTESTATION_FILE

    files = {name: b"" for name in names}  # the facts read the entries' names, and the attestation's key id
    if attestation is not None:
        files[ATTESTATION_FILE] = attestation
    expected = manifest_facts(result, files, audit_record=True)
    expected.pop("commit")
    created = expected.pop("created_from")
    stated = manifest.get("created_from") if isinstance(manifest.get("created_from"), Mapping) else {}
    problems = []
    for key, want in [*sorted(expected.items()), ("created_from.finished_at", created["finished_at"])]:
        said = (stated or {}).get("finished_at") if key == "created_from.finished_at" else manifest.get(key)
        if said != want:
            problems.append(
                f"{MANIFEST}: {key} says {said!r}, but the run's result (pinned by its audit record) and the bundle's "
                f"entries say {want!r}: the manifest was signed again with other facts"
            )
    return problems


def _recorded_reports(record: Mapping[str, Any]) -> set[str]:
    """The file names of the reports (and attestation) the record lists with their sha256."""
    reports = record.get("reports")
    return {str(path).rsplit("/", 1)[-1] for path in reports} if isinstance(reports, Mapping) else set()


def _policy_sources(listed: Mapping[str, str], policy: Mapping[str, Any], member: Callable[[str], bytes],
                    problems: list[str], notes: list[str]) -> dict[str, bool]:  # fmt: skip
    """Each ``policy/files/`` entry against the file of the same place in the record's
    ``policy.files``: {entry: pinned}. A count or a sha256 that differs is a problem; an entry stored
    redacted (the run read a secret in it) cannot be compared, and a note says so."""
    entries = sorted(name for name in listed if name.startswith(POLICY_SOURCES + "/"))
    files = policy.get("files")
    if not isinstance(files, list):
        return dict.fromkeys(entries, False)  # a record of a release that did not list them
    held: dict[str, bool] = {}
    for index, name in enumerate(entries):
        recorded = files[index] if index < len(files) else None
        want = str(recorded.get("sha256") or "") if isinstance(recorded, Mapping) else ""
        if not want:
            problems.append(f"{name}: not a file the run's policy was built from (its audit record lists {len(files)})")
            held[name] = True  # refused, not merely unpinned
        elif listed[name] == want:
            held[name] = True
        elif MASK in member(name).decode("utf-8", "replace"):
            notes.append(f"{name}: stored redacted, so it cannot be compared with the sha256 the run recorded")
            held[name] = False
        else:
            problems.append(
                f"{name}: not the file the run's policy was built from (its audit record lists sha256 {want[:16]}... "
                f"for {recorded.get('path') if isinstance(recorded, Mapping) else '?'}, this one is {listed[name][:16]}...)"
            )
            held[name] = True
    if entries and len(entries) < len(files):
        problems.append(f"{POLICY_SOURCES}/: {len(entries)} file(s), but the run's policy was built from {len(files)}")
    return held


def _effective_policy(data: bytes, policy: Mapping[str, Any], problems: list[str], notes: list[str]) -> bool:
    """Whether ``policy/effective-policy.toml`` is the effective policy whose sha256 the record lists
    (the TOML loads back to the data that digest covers); a problem when it is not."""
    from gatekeeper import tomlio
    from gatekeeper.policydigest import effective_sha256

    want = str(policy.get("effective_sha256") or "")
    if not want:
        return False
    text = data.decode("utf-8", "replace")
    try:
        found = effective_sha256(tomlio.loads(text))
    except tomlio.TOMLDecodeError as exc:
        found = f"unreadable TOML ({exc})"
    if found == want:
        return True
    if MASK in text:
        notes.append(f"{POLICY_FILE}: stored redacted, so it cannot be compared with the effective policy the run recorded")
        return False
    problems.append(
        f"{POLICY_FILE}: not the policy the run applied (its audit record lists effective sha256 {want[:16]}..., "
        f"this file's is {found[:16]}...)"
    )
    return True


def rendered_again(result: Any, entries: Mapping[str, bytes], names: list[str],
                   attestation: bytes | None) -> tuple[set[str], list[str]]:  # fmt: skip
    """The ``entries`` (name -> bytes: the formats the run did not write, each check's own files such
    as the license table, and the README, all made when the bundle was) that this gatekeeper writes
    byte for byte from the pinned ``result`` (the README from it, the bundle's entry ``names`` and
    its ``attestation``); and a note for each it writes differently (another release or plugin set,
    or a file replaced after bundling: either way only the manifest's signature vouches for it)."""
    from gatekeeper.bundle import evidence_files
    from gatekeeper.bundleguide import README_FILE, readme

    if not entries:
        return set(), []
    rendered = _formats(result, set(entries))  # only those asked: a large result's page costs seconds
    if any(not name.startswith("reports/") and name != README_FILE for name in entries):
        rendered.update(evidence_files(result, {}))  # each check's own files (the license table)
    rendered[README_FILE] = readme(result, names, attestation).encode("utf-8")
    same = {name for name, data in entries.items() if rendered.get(name) == data}
    notes = [
        f"{name}: not the bytes this gatekeeper writes from the bundle's reports/gatekeeper.json "
        "(written by another release, or replaced after the run)"
        for name in sorted(set(entries) - same)
    ]
    return same, notes


def _formats(result: Any, names: set[str]) -> dict[str, bytes]:
    """The report formats among ``names`` (``reports/<file>``) as ``bundle.report_files`` renders them from ``result``."""
    from gatekeeper.reports import FORMATS, renderer

    out: dict[str, bytes] = {}
    for fmt, (name, _) in FORMATS.items():
        if f"reports/{name}" in names and (text := renderer(fmt)(result)):
            out[f"reports/{name}"] = text.encode("utf-8")
    return out
