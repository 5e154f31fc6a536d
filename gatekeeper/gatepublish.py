"""What a run does once it has a verdict: its reports written, its audit record appended (signed and
timestamped when the policy says so), its attestation, the CI job summary, a results part, a
bundle; the ``Run`` it does it for (its places, and what it has written so far)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekeeper.escapes import echo

if TYPE_CHECKING:
    from gatekeeper.audit import Appended
    from gatekeeper.findings import GateResult
    from gatekeeper.policy import Policy
    from gatekeeper.signing import Signer
    from gatekeeper.timestamp import Authority

Say = Callable[[str], None]


@dataclass
class Run:
    """A run's resolved places, and what it has written so far (read when a signal arrives)."""

    root: Path
    policy: Policy
    out_dir: Path
    formats: tuple[str, ...]
    results_out: Path | None
    audit: bool  # a record is still to be appended
    written: dict[str, str] = field(default_factory=dict)
    authority: Authority | None = None  # [audit] timestamp_url
    subjects: tuple[Path, ...] = ()
    stamp_failures: list[str] = field(default_factory=list)
    clock_skew: list[str] = field(default_factory=list)  # the authority's time contradicts the runner's
    subject_digests: dict[Path, str] = field(default_factory=dict)  # each --subject's sha256 before the checks ran
    subject_changes: list[str] = field(default_factory=list)  # the --subject files the run saw change


def with_clock(run: Run, result: GateResult) -> GateResult:
    """``result`` saying where its times come from (``clock``: the runner's, and the authority if any)."""
    from dataclasses import replace

    from gatekeeper.timestamp import clock_info

    return replace(result, extra={**result.extra, "clock": clock_info(run.authority)})


def run_signer() -> Signer | None:
    """The run's signing key (``GATEKEEPER_AUDIT_KEY``: an Ed25519 PEM, or an HMAC secret), or None."""
    from gatekeeper import childenv
    from gatekeeper.errors import UsageError
    from gatekeeper.signing import SigningKeyError, signer_from_text

    text = childenv.take()
    if not text:
        return None
    try:
        return signer_from_text(text)
    except SigningKeyError as exc:
        raise UsageError(f"{childenv.KEY_ENV}: {exc}") from None


def _stamp(run: Run, result: GateResult, command: str) -> Callable[[str], Mapping[str, Any]] | None:
    """The run's ``stamp(digest)``, or None without an authority. Each token's time is compared with
    the time the run wrote for what it stamps (``_own_time``; None: nothing to compare), and with
    when it says it started and how long it took by the monotonic clock (``_began``: its waivers and
    database age were judged by the runner's clock): a runner's clock the authority contradicts
    (``timestamp.skew_problem``, ``timestamp.start_problem``) goes to ``run.clock_skew``, and
    ``timestamps_done`` fails the run."""
    from gatekeeper.timestamp import skew_problem, stamper, start_problem

    runner_time, began = _own_time(result, command), _began(result, command)

    if run.authority is None:
        return None
    stamp = stamper(run.authority, run.stamp_failures)

    def checked(digest_hex: str) -> dict[str, Any]:
        got = stamp(digest_hex)
        problem = skew_problem(runner_time, str(got["time"])) if got.get("time") and runner_time is not None else None
        if problem is None and got.get("time") and began is not None:
            problem = start_problem(*began, str(got["time"]))
        if problem is not None and problem not in run.clock_skew:
            run.clock_skew.append(problem)
        return got

    return checked


def _began(result: GateResult, command: str) -> tuple[str, float] | None:
    """When the run says it started and how long it took, for ``timestamp.start_problem``; None for a merge (its
    start is its parts')."""
    return None if command == "merge" else (result.started_at, result.duration_s)


def _own_time(result: GateResult, command: str) -> str | None:
    """The time a run wrote by its own clock, which its stamps must agree with: its end, or a merge's
    own time (``merged.at``); None for a merge result without one (its parts' times are other runners')."""
    from gatekeeper.auditrecord import decided_at

    at = decided_at(result)
    return None if command == "merge" and at == result.finished_at else at


def _attest(run: Run, result: GateResult, command: str, say: Say) -> None:
    """Write the run's attestation next to its reports (the reports, the SBOM and ``--subject`` files as subjects)."""
    from gatekeeper.attestation import ENVELOPE_FILE, AttestRequest, write_attestation
    from gatekeeper.fileio import resolve_for_write

    signer = run_signer()
    out_dir = resolve_for_write(run.out_dir, run.root)
    run.subject_changes[:] = _changed_subjects(run)
    request = AttestRequest(
        result, run.root, out_dir, dict(run.written), run.subjects, command, signer, _stamp(run, result, command),
        hashed=run.subject_digests,
    )  # fmt: skip
    run.written.update(write_attestation(request))
    how = f"signed, key id {signer.key_id}" if signer is not None else "NOT signed: no signing key set (GATEKEEPER_AUDIT_KEY)"
    say(f"attestation: {out_dir / ENVELOPE_FILE} (in-toto statement in a DSSE envelope; {how})")


def subject_digests(paths: tuple[Path, ...]) -> dict[Path, str]:
    """The sha256 of each ``--subject`` file, taken before the checks run (``_changed_subjects`` compares)."""
    if not paths:
        return {}
    from gatekeeper.attestation import sha256_file
    from gatekeeper.errors import UsageError

    out: dict[Path, str] = {}
    for path in paths:
        try:
            out[path] = sha256_file(path)
        except OSError as exc:
            raise UsageError(f"--subject {path}: cannot be read ({exc.strerror or exc})") from None
    return out


def _changed_subjects(run: Run) -> list[str]:
    """The ``--subject`` files whose bytes changed (or that vanished) while the checks ran: the
    attestation names each as it was before, and ``timestamps_done`` fails the run."""
    from gatekeeper.attestation import sha256_file

    changed = []
    for path, before in sorted(run.subject_digests.items()):
        try:
            now = sha256_file(path)
        except OSError as exc:
            now = f"unreadable ({exc.strerror or exc})"
        if now != before:
            changed.append(f"{path} (sha256 {before[:16]}... before the checks, {now[:16]}... after)")
    return changed


def timestamps_done(run: Run) -> None:
    """Fail closed once the evidence is written: an authority that failed, or a runner's clock the
    authority contradicts, or a ``--subject`` file that changed while the checks ran, is exit 3, naming why."""
    if run.subject_changes:
        from gatekeeper.errors import ToolError

        raise ToolError(
            f"--subject files changed while the checks ran: {'; '.join(run.subject_changes)}: something the run "
            "started (the project's tests, a tool) rewrote what the attestation vouches for; it names each file as "
            "it was before the checks, so the file as it is now does not verify against it, and the run fails closed"
        )
    if run.clock_skew:
        from gatekeeper.timestamp import TimestampError

        raise TimestampError(
            f"{run.clock_skew[0]}; whatever this run judged by its own clock (which waivers had expired, the advisory "
            "database's age) cannot be trusted, and the run fails closed (its record and attestation carry the "
            "authority's time: 'audit verify --tsa-cert' reports the same)"
        )
    if run.stamp_failures:
        from gatekeeper.timestamp import TimestampError

        raise TimestampError(
            f"{run.stamp_failures[0]}; the reports, attestation and audit record were written WITHOUT a trusted "
            "timestamp (each says so), and the run fails closed"
        )


def _append_step_summary(result: GateResult) -> None:
    """Append the Markdown summary to $GITHUB_STEP_SUMMARY when GitHub Actions sets it.

    A job summary is a convenience: failing to write it warns and leaves the verdict alone.
    """
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    from gatekeeper.reports.markdown import render_markdown

    try:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(render_markdown(result))
    except OSError as exc:
        echo(f"gatekeeper: warning: could not append the job summary to {target}: {exc.strerror or exc}", err=True)


def record(run: Run, result: GateResult, written: Mapping[str, str], command: str, say: Say) -> Appended | None:
    """Append the run's audit record (when auditing is on, stamped by the authority if any) and say where it went."""
    if not run.audit:
        return None
    from gatekeeper.audit import record_run

    entry = record_run(
        run.root,
        run.policy,
        result,
        written,
        command=command,
        stamp=_stamp(run, result, command),
    )
    run.audit = False  # the run is recorded: an interruption now changes nothing
    say(f"audit: appended record #{entry.seq} to {entry.log} (head sha256 {entry.digest})")
    if entry.warning:
        say(f"audit: warning: {entry.warning}")
    return entry


def publish(run: Run, result: GateResult, say: Say, *, command: str, step_summary: bool) -> Appended | None:
    """The tail every run shares: write the reports (and ``--results-out``), name them, append the
    job summary, append the audit record."""
    from gatekeeper.fileio import resolve_for_write
    from gatekeeper.reports import write_reports
    from gatekeeper.reports.json import render_json

    # resolved again as they are written: a tool that ran in between may have planted a link
    write_reports(result, resolve_for_write(run.out_dir, run.root), run.formats, run.written)
    if run.results_out is not None:
        target = resolve_for_write(run.results_out, run.root)
        from gatekeeper.merge import with_artifacts

        # the part carries the checks' artifacts (the SBOM): a merge elsewhere has no other copy of them
        part = with_artifacts(result, resolve_for_write(run.out_dir, run.root))
        run.written[str(target)] = write_part(target, render_json(part), run.root)
    for file in run.written:
        say(f"report: {file}")
    _attest(run, result, command, say)
    if step_summary:
        _append_step_summary(result)
    return record(run, result, run.written, command, say)


def write_part(target: Path, text: str, root: Path) -> str:
    """Write a ``--results-out`` part and, with the signing key set, its signature beside it; an old
    signature is removed first, so that a part is never left beside a signature of other bytes."""
    from gatekeeper.audit import signer_from_env
    from gatekeeper.fileio import resolve_for_write
    from gatekeeper.reports import write_atomic
    from gatekeeper.resultsig import part_signature, signature_path

    sig_target = resolve_for_write(signature_path(target), root)
    sig_target.unlink(missing_ok=True)
    digest = write_atomic(target, text)
    signer = signer_from_env()
    if signer is not None:
        write_atomic(sig_target, part_signature(text.encode("utf-8"), signer))
    return digest


def bundle_line(  # noqa: PLR0913  # the bundle's parts, and what must hold before it is written
    target: Path,
    result: GateResult,
    files: Mapping[str, bytes],
    audit_line: bytes | None,
    key_env: str,
    vouch: Callable[[bytes], list[str]] | None = None,
) -> str:
    """Write the evidence bundle of ``files`` atomically; return the line that says where it went.

    ``vouch`` sees the bundle's bytes first: it returns what held up (added to the line) or raises,
    and then nothing is written.
    """
    from gatekeeper.audit import signer_from_env
    from gatekeeper.bundle import build_bundle
    from gatekeeper.reports import write_atomic

    signer = signer_from_env(key_env)
    data = build_bundle(result, files, signer, audit_line is not None)
    held = vouch(data) if vouch is not None else []
    digest = write_atomic(target, data)
    notes = [] if audit_line is not None else [
        "NOT BACKED by an audit record (auditing was off for the run, or no record lists this result): "
        "bundle verify will say so"
    ]  # fmt: skip
    notes.append(f"manifest signed by {signer.key_id}" if signer else "manifest not signed (no signing key set)")
    return "\n".join([f"bundle: {target} ({len(files) + 1} files, sha256 {digest}; {'; '.join(notes)})", *held])


def bundle_files(
    result: GateResult, out_dir: Path, policy: Policy, audit_line: bytes | None, raw: bytes | None
) -> dict[str, bytes]:
    """Everything the run's evidence bundle holds besides its manifest (``bundle.bundle_files``), the effective policy as TOML."""
    from gatekeeper.bundle import bundle_files
    from gatekeeper.policy import to_toml

    return bundle_files(result, out_dir, to_toml(policy.data), audit_line, raw, policy.files)
