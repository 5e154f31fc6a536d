"""The gate's sequences, one function each: ``check`` (policy -> engine run -> baseline -> reports
-> job summary -> audit record -> bundle), ``merge``, ``create_baseline``, ``render`` and the
pre-commit ``security_hook``.

Each takes one request (what the command line asked for, options already split) and the loaded
checkers, prints what it did and returns the exit code; a problem is raised as a
``GatekeeperError`` for the command line to report. Heavy modules are imported inside the
functions so that importing this module (as the command line does for ``--help``) stays fast.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekeeper import interrupts
from gatekeeper.escapes import echo
from gatekeeper.gatepublish import Run, bundle_files, publish, record, subject_digests, timestamps_done, with_clock
from gatekeeper.gatepublish import bundle_line as bundle_line  # re-exported
from gatekeeper.interrupts import Terminated

if TYPE_CHECKING:
    from gatekeeper.console import Console
    from gatekeeper.engine import Progress
    from gatekeeper.findings import CheckResult, GateResult
    from gatekeeper.policy import Policy
    from gatekeeper.redaction import Ahead

Say = Callable[[str], None]

EXIT_INTERRUPTED = 130

EXIT_TERMINATED = 143


@dataclass(frozen=True, eq=False, repr=False)
class Outputs:
    """Where a run reads its policy and writes its reports (shared by ``check`` and ``merge``)."""

    path: Path = Path(".")
    policy_file: Path | None = None
    output_dir: Path | None = None
    formats: tuple[str, ...] | None = None  # None: the policy's reports.formats
    audit: bool = True  # False: --no-audit


@dataclass(frozen=True)
class CheckRequest(Outputs):
    """``gatekeeper check``."""

    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    baseline: Path | None = None
    new_code_since: str | None = None  # --new-code-since REF
    new_code_result: Path | None = None  # --new-code-result: REF's stored result
    public_keys: tuple[Path, ...] = ()  # --public-key: keys one of which must have signed new_code_result
    shard: str | None = None  # "I/N", checked when the run is set up
    results_out: Path | None = None
    use_cache: bool = True
    strict_waivers: bool = False
    bundle: Path | None = None
    subjects: tuple[str, ...] = ()  # --subject: release artifacts (paths or globs) the attestation names


@dataclass(frozen=True, eq=False, repr=False)
class MergeRequest(Outputs):
    """``gatekeeper merge``."""

    parts: tuple[Path, ...] = ()
    public_keys: tuple[Path, ...] = ()  # keys that authenticate the parts (plus the signing key's own)


@dataclass(frozen=True, eq=False, repr=False)
class BaselineRequest:
    """``gatekeeper baseline create``."""

    path: Path = Path(".")
    policy_file: Path | None = None
    output: Path | None = None
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    audit: bool = True


@dataclass(frozen=True, eq=False, repr=False)
class RenderRequest:
    """``gatekeeper report``."""

    results: Path
    formats: tuple[str, ...] | None = None  # None: every format
    output_dir: Path | None = None


def baseline_commit_missing(root: Path, commit: str) -> str:
    """Why the baseline's ``commit`` cannot be read in ``root``'s clone ("" when it can): see
    ``baseline.unconfirmed``."""
    from gatekeeper.baseline import commit_readable

    if not commit:
        return "it names no commit"
    return "" if commit_readable(root, commit) else f"its commit {commit[:12]} is not in this clone"


def project_root(path: Path) -> Path:
    """The project folder, resolved; a missing one is a usage error."""
    from gatekeeper.errors import UsageError

    root = path.resolve()
    if not root.is_dir():
        raise UsageError(f"project folder not found: {path}")
    return root


def load_policy(root: Path, policy_file: Path | None, options: Mapping[str, Any]) -> Policy:
    """The effective policy for ``root`` (``policy_file``, else the discovered one)."""
    from gatekeeper.policy import load_policy as load

    return load(root, options, policy_file)


def _formats(formats: tuple[str, ...] | None, default: Any) -> tuple[str, ...]:
    from gatekeeper.errors import UsageError
    from gatekeeper.reports import FORMATS

    chosen = formats if formats is not None else tuple(default)
    for fmt in chosen:
        if fmt not in FORMATS:
            raise UsageError(f"--format: unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    return chosen


def _shard(value: str | None) -> tuple[int, int] | None:
    from gatekeeper.errors import UsageError

    if not value:
        return None
    try:
        index, count = (int(p) for p in value.split("/"))
    except ValueError:
        raise UsageError(f"--shard: expected I/N such as 1/4, got {value!r}") from None
    if count < 1 or not 1 <= index <= count:
        raise UsageError(f"--shard: I must be between 1 and N, got {value!r}")
    return index, count


def _prepare(request: Outputs, options: Mapping[str, Any], results_out: Path | None) -> Run:
    """Load the policy and resolve, before anything runs, every place the run will write: the
    reports' folder, the SBOM, the ``--results-out`` file and the audit log. A link planted in the
    project on the way to any of them stops the run (exit 2, naming the link), and so does an audit
    log whose last line is beyond the reading limits (``audit.check_tail``)."""
    from gatekeeper.audit import signer_from_env
    from gatekeeper.fileio import resolve_for_write
    from gatekeeper.searchpath import keep_out, warning

    root = project_root(request.path)
    keep_out(root)  # no program gatekeeper starts is looked up in a PATH folder inside the checkout
    if said := warning():  # nor in a relative PATH entry: it would be the checkout
        echo(f"gatekeeper: warning: {said}", err=True)
    policy = load_policy(root, request.policy_file, options)
    signer_from_env()  # a signing key that cannot be used stops the run before anything is checked (exit 2)
    audit = bool(policy.audit["enabled"]) and request.audit
    formats = _formats(request.formats, policy.reports["formats"])
    if request.output_dir is not None:
        out_dir = resolve_for_write(request.output_dir, root)
    else:
        out_dir = resolve_for_write(root / str(policy.reports["output_dir"]), root)
    sbom = policy.checks.get("sbom")
    if sbom and sbom.get("enabled") and isinstance(sbom.get("output"), str):
        resolve_for_write(out_dir / str(sbom["output"]), root)
    if audit:
        from gatekeeper.audit import check_tail, log_path

        # a last record beyond the reading limits stops the run now, not after the reports are written
        check_tail(resolve_for_write(log_path(root, policy), root))
    if results_out is not None:
        results_out = resolve_for_write(results_out, root)
    subjects: tuple[Path, ...] = ()
    patterns = getattr(request, "subjects", ())
    if patterns:  # the attestation code is imported when a --subject asks for it
        from gatekeeper.attestation import expand_subjects

        subjects = tuple(expand_subjects(patterns, Path.cwd()))
    authority = None
    if str(policy.audit.get("timestamp_url") or "").strip():  # else there is none (``authority_from``): not imported
        from gatekeeper.timestamp import authority_from

        authority = authority_from(policy.audit, root)
    run = Run(root, policy, out_dir, formats, results_out, audit, authority=authority, subjects=subjects)
    run.subject_digests.update(subject_digests(subjects))  # as they were before any check ran
    return run


def check(request: CheckRequest, checkers: Mapping[str, Any], options: Mapping[str, Any]) -> int:
    """Run the checks the policy enables, write the reports, record the run; return the exit code.

    Ctrl-C or SIGTERM (``Terminated``) stops the tools, says whether the reports were written,
    records the interrupted run when it was not recorded yet, and returns 130 or 143.
    """
    from gatekeeper.console import Console
    from gatekeeper.engine import iso_utc

    console = Console()
    started_at = iso_utc()
    run: Run | None = None
    try:
        run = _prepare(request, options, request.results_out)
        interrupts.release()  # a signal held since the command began is delivered now, and recorded
        result = _run_checks(request, run, checkers, console)
        entry = publish(run, result, console.line, command="check", step_summary=True)
        if request.bundle is not None:
            from gatekeeper.bundle import find_record

            audit_line = find_record(entry.log, digest=entry.digest) if entry is not None else None
            files = bundle_files(result, run.out_dir, run.policy, audit_line, None)
            console.line(bundle_line(request.bundle, result, files, audit_line, "GATEKEEPER_AUDIT_KEY"))
        timestamps_done(run)
        return result.exit_code
    except (KeyboardInterrupt, Terminated) as exc:
        return interrupted(isinstance(exc, Terminated), console, run, started_at)
    finally:
        from gatekeeper import checkoutwatch

        checkoutwatch.settle()  # the checkout's watch, closed in the background while the reports were written


def _run_checks(request: CheckRequest, run: Run, checkers: Mapping[str, Any], console: Console) -> GateResult:
    """The engine run, redacted once, shown on the console (and as annotations on GitHub Actions)."""
    from gatekeeper.baseline import Baseline, load_baseline
    from gatekeeper.engine import RunRequest, run_checks
    from gatekeeper.redaction import Ahead, redact_result

    baseline = request.baseline
    engine_request = RunRequest(
        root=run.root,
        policy=run.policy,
        output_dir=run.out_dir,
        only=request.only,
        skip=request.skip,
        baseline=load_baseline(baseline) if baseline is not None else Baseline(),
        baseline_name=str(baseline) if baseline else "",
        shard=_shard(request.shard),
        use_cache=request.use_cache,
        strict_waivers=request.strict_waivers,
    )
    if engine_request.baseline.carried_over:
        console.line(
            f"baseline: {baseline} is version 1, whose {engine_request.baseline.carried_over} entries of secrets and "
            "hardcoded passwords hold a hash of each secret or of its line (a short or common one is recovered "
            "from it by guessing); they were read "
            "by rule and file; 'gatekeeper baseline create' writes version 2, which holds no digest of a secret"
        )
    missing = engine_request.baseline.fingerprints and baseline_commit_missing(run.root, engine_request.baseline.commit)
    if missing:
        console.line(
            f"baseline: {missing}; a finding on a line naming a credential, which the baseline knows only with "
            "its literals masked, is taken as the one it recorded only when that line is found at that commit, "
            "so such findings block (fetch the commit, e.g. actions/checkout with fetch-depth: 0)"
        )
    from gatekeeper.newcodegate import NewCodeOptions, finish_new_code, start_new_code

    asked = NewCodeOptions(request.new_code_since, request.new_code_result, request.baseline, request.public_keys)
    engine_request, reference = start_new_code(asked, engine_request, checkers, console.line)
    # one redaction pass: the console, annotations, reports, job summary and audit record are all
    # made from this copy
    ahead = Ahead()  # each check's findings are redacted as its result arrives, while the others run
    result = redact_result(run_checks(engine_request, checkers, _warming_up(console, run.formats, ahead)), ahead)
    result = with_clock(run, finish_new_code(result, reference, engine_request))
    console.summary(result)
    if reference is not None:
        from gatekeeper.reports._common import review_lines

        console.line(reference.sentence(int(result.extra["new_code"]["existing"])))
        for line in review_lines(result):
            console.line(f"dependency review: {line}")
    console.line(f"time: {result.extra['clock']['note']}")
    if os.environ.get("GITHUB_ACTIONS") == "true":
        from gatekeeper.console import github_annotations

        for annotation in github_annotations(result):
            console.line(annotation, command=True)
    return result


def _warming_up(console: Console, formats: tuple[str, ...], ahead: Ahead | None = None) -> Progress:
    """The console as the engine's progress; each check's findings are redacted as its result
    arrives (``ahead``), and once a check has ended while others still run, the reports' templates
    compile in the background (``reports.warm_up``) while the main thread waits for the rest.

    Not sooner: the warm-up takes the interpreter's lock for ~25 ms of CPU, and begun with the
    checks it slowed their own work in this process (locating and vetting the tool, reading its
    output) while their tools were still to start or to be read, by as much as the warm-up took.
    When the last check ends first (a single check, or all at once), nothing remains to wait for:
    the reports load what they need as they render, no later than a warm-up begun then would."""
    from gatekeeper.engine import Progress

    class WarmingUp(Progress):
        def __init__(self) -> None:
            self.running_now = 0
            self.warming = False

        def started(self, name: str) -> None:
            self.running_now += 1
            console.started(name)

        def finished(self, result: CheckResult) -> None:
            self.running_now -= 1
            if self.running_now > 0 and not self.warming:
                from gatekeeper.reports import warm_up

                self.warming = True
                warm_up(formats, ("gatekeeper.attestation",))  # every run attests its reports
            console.finished(result)
            if ahead is not None:
                ahead.redact(result)

        def running(self) -> None:
            console.running()

    return WarmingUp()


def interrupted(terminated: bool, console: Console | None = None, run: Run | None = None, started_at: str = "") -> int:
    """Clean up after Ctrl-C or SIGTERM: stop the display and the tools, say what was left, and
    record the interrupted run when its record was still to come; return the exit code."""
    from gatekeeper import process
    from gatekeeper.errors import GatekeeperError
    from gatekeeper.gitinfo import repository_info

    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second signal must not cut the cleanup short
    if console is not None:
        console.stop()
    process.kill_all()
    recorded = run is not None and run.audit
    # the record's commit and branch, asked of git before no process may start any more
    repo = repository_info(run.root) if run is not None and recorded else None
    process.kill_all(stop=True)  # and whatever a check started meanwhile
    what = "terminated (SIGTERM)" if terminated else "interrupted (SIGINT)"
    if run is not None and run.written:
        echo(f"gatekeeper: {what} after the reports were written; the tools it started were killed", err=True)
    else:
        echo(f"gatekeeper: {what}; the tools it started were killed and no reports were written", err=True)
    if run is not None and recorded:
        from gatekeeper.audit import append_interrupted

        try:
            entry = append_interrupted(run.root, run.policy, started_at, what, repo=repo)
            echo(f"audit: recorded the interrupted run as #{entry.seq} in {entry.log}", err=True)
        except GatekeeperError as err:
            echo(f"gatekeeper: error: {err}", err=True)
    return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED


def merge(request: MergeRequest, checkers: Mapping[str, Any], options: Mapping[str, Any]) -> int:
    """Merge shard results into one verdict, write its reports and record it; return the exit code."""
    from dataclasses import replace

    from gatekeeper.audit import keyring_from
    from gatekeeper.console import Console
    from gatekeeper.fileio import resolve_for_write
    from gatekeeper.merge import authenticate_parts, carried_artifacts, merge_results, write_artifacts
    from gatekeeper.redaction import redact_result
    from gatekeeper.reports.json import load_result

    console = Console(live=False)
    run = _prepare(request, options, None)
    parts = request.parts
    auth = authenticate_parts(parts, keyring_from(request.public_keys))
    read = [load_result(p, auth.signed[i] if auth.signed else None) for i, p in enumerate(parts)]  # the bytes checked
    result = redact_result(merge_results(read, run.policy, checkers, [str(p) for p in parts]))
    # the SBOM: written by the shard that ran its check, carried in that part, written here for the attestation
    carried = carried_artifacts(read, [str(p) for p in parts])
    result = replace(result, extra={**result.extra, "merged": {**result.extra["merged"], **auth.record()}})
    result = with_clock(run, result)
    console.summary(result)
    console.line(f"time: {result.extra['clock']['note']}")
    from gatekeeper.newcodegate import store_merged

    stored = store_merged(run.root, run.policy, result, auth.authenticated)
    if stored:
        console.line(stored)
    if not auth.authenticated:
        console.line(
            f"warning: the verdict rests on {len(parts)} unauthenticated part(s): no key was given to check their "
            "signatures, and whoever could write a part could have edited its findings (pass --public-key)"
        )
    for artifact in write_artifacts(result, carried, resolve_for_write(run.out_dir, run.root), run.root):
        console.line(f"artifact: {artifact} (carried by its part)")
    publish(run, result, console.line, command="merge", step_summary=False)
    timestamps_done(run)
    return result.exit_code


def render(request: RenderRequest) -> None:
    """Re-render reports from a JSON result."""
    from gatekeeper.fileio import resolve_for_write
    from gatekeeper.redaction import redact_result
    from gatekeeper.reports import FORMATS, write_reports
    from gatekeeper.reports.json import load_result

    result = redact_result(load_result(request.results))
    formats = _formats(request.formats, FORMATS)
    # the current folder is taken as the checkout whose links are not followed
    out = resolve_for_write(request.output_dir if request.output_dir else request.results.resolve().parent, Path.cwd())
    for file in write_reports(result, out, formats):
        echo(f"report: {file}")


@dataclass(frozen=True, eq=False, repr=False)
class BundleRequest:
    """``gatekeeper bundle RESULTS.json --output FILE.zip``."""

    results: Path
    output: Path
    policy_file: Path | None = None
    log: Path | None = None
    key_env: str = "GATEKEEPER_AUDIT_KEY"
    public_keys: tuple[Path, ...] = ()
    tsa_cert: Path | None = None


def bundle(request: BundleRequest, options: Mapping[str, Any]) -> None:
    """Write the evidence bundle of a past run, whose policy must be the one given (or discovered).

    With ``public_keys`` or ``tsa_cert`` the bundle is verified as ``bundle verify`` would before it
    is written (manifest and backing record authenticated by those keys, every timestamp verified
    against that certificate, at least one there); ``EvidenceRefused`` (exit 1) when it does not hold up.
    """
    import hashlib

    import typer

    from gatekeeper.audit import log_path
    from gatekeeper.bundle import find_record
    from gatekeeper.errors import UsageError
    from gatekeeper.policydigest import files_problem
    from gatekeeper.reports.json import load_result

    results = request.results
    result = load_result(results)
    raw = results.read_bytes()
    root = Path.cwd().resolve()  # like every other command: the project is the current folder
    policy = load_policy(root, request.policy_file, options)
    # every file the policy is built from must be the one the run read: the bundle embeds them as they are now
    problem = files_problem(result.policy, policy.files, policy.effective_sha256)
    if problem is not None:
        raise UsageError(
            f"the policy {policy.path or '(built-in default)'} is not the one the run used: {problem}",
            file=str(results),
            hint="bundle with the run's policy files (--policy), as they were when it ran",
        )
    audit_log = request.log if request.log is not None else log_path(root, policy)
    audit_line = find_record(audit_log, results_sha256=hashlib.sha256(raw).hexdigest())
    files = bundle_files(result, results.resolve().parent, policy, audit_line, raw)
    vouch = _bundle_vouch(request) if request.public_keys or request.tsa_cert is not None else None
    typer.echo(bundle_line(request.output.resolve(), result, files, audit_line, request.key_env, vouch))


def _bundle_vouch(request: BundleRequest) -> Callable[[bytes], list[str]]:
    """What ``bundle`` runs on the bundle's bytes before writing them (``bundleverify.vouch_for``)."""
    from gatekeeper.audit import keyring_from
    from gatekeeper.bundleverify import vouch_for
    from gatekeeper.errors import EvidenceRefused

    keys = keyring_from(request.public_keys, None)  # only the keys given: the signing key does not vouch for itself

    def vouch(data: bytes) -> list[str]:
        held, problems = vouch_for(data, keys, request.tsa_cert)
        if problems:
            raise EvidenceRefused(
                f"bundle not written: {'; '.join(problems)}",
                file=str(request.output),
                hint="bundle without --public-key/--tsa-cert to keep the evidence as it is; bundle verify will say the same",
            )
        return held

    return vouch


def create_baseline(request: BaselineRequest, checkers: Mapping[str, Any], options: Mapping[str, Any]) -> None:
    """Run the checks and record today's findings, so that ``check --baseline`` blocks only new ones."""
    import json
    import tempfile
    from dataclasses import replace

    from gatekeeper.baseline import baseline_document
    from gatekeeper.engine import RunRequest, run_checks
    from gatekeeper.fileio import resolve_for_write
    from gatekeeper.findings import Status
    from gatekeeper.redaction import redact_result
    from gatekeeper.reports import write_atomic

    root = project_root(request.path)
    policy = load_policy(root, request.policy_file, options)
    target = resolve_for_write(request.output if request.output else root / ".gatekeeper" / "baseline.json", root)
    with tempfile.TemporaryDirectory(prefix="gatekeeper-baseline-") as scratch:  # artifacts are not kept
        engine_request = RunRequest(root=root, policy=policy, output_dir=Path(scratch), only=request.only, skip=request.skip)
        result = redact_result(run_checks(engine_request, checkers))
    for c in result.checks:
        if c.status is Status.ERROR:
            echo(f"warning: {c.name} could not run ({c.error}); its findings are not in the baseline", err=True)
    document = baseline_document(result)
    digest = write_atomic(target, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    counts: dict[str, int] = {}
    for entry in document["findings"]:
        counts[entry["check"]] = counts.get(entry["check"], 0) + 1
    detail = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "no findings"
    echo(f"baseline: recorded {len(document['findings'])} fingerprint(s) ({detail}) in {target}")
    from gatekeeper.timestamp import authority_from

    audit = bool(policy.audit["enabled"]) and request.audit
    run = Run(root, policy, target.parent, (), None, audit, authority=authority_from(policy.audit, root))
    extra = {**result.extra, "baseline": {"path": str(target), "fingerprints": len(document["findings"])}}
    record(run, with_clock(run, replace(result, extra=extra)), {str(target): digest}, "baseline create", echo)
    timestamps_done(run)


def security_hook(files: list[Path], policy_file: Path | None, checkers: Mapping[str, Any], options: Mapping[str, Any]) -> int:
    """The security check, with the project's policy, on just ``files``; no reports, no audit."""
    import copy
    import dataclasses

    from gatekeeper.console import Console
    from gatekeeper.engine import RunRequest, run_checks
    from gatekeeper.redaction import redact_result

    root = Path.cwd().resolve()
    policy = load_policy(root, policy_file, options)
    if not files:
        return 0
    data = copy.deepcopy(dict(policy.data))
    data["checks"]["security"]["paths"] = [str(f) for f in files]
    data["checks"]["security"]["enabled"] = True
    policy = dataclasses.replace(policy, data=data)
    console = Console(live=False)
    request = RunRequest(root=root, policy=policy, output_dir=root, only=("security",), use_cache=True)
    result = redact_result(run_checks(request, checkers, console))
    console.summary(result)
    return result.exit_code
