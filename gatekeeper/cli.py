"""The command line: options -> request -> engine -> reports -> audit -> exit code.

Only this module catches ``GatekeeperError``; it prints one clear message and exits with the
code DESIGN.md assigns. Heavy modules are imported inside the commands so that ``--version``
and ``--help`` stay fast.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NoReturn, Optional

import typer

from gatekeeper import __version__

if TYPE_CHECKING:
    from gatekeeper.findings import GateResult
    from gatekeeper.policy import Policy

app = typer.Typer(
    name="gatekeeper",
    help="One CI step that turns a policy file into a verdict: coverage, security, dependencies, SBOM, licenses.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
policy_app = typer.Typer(help="Validate, show or create the policy.", no_args_is_help=True, rich_markup_mode=None)
audit_app = typer.Typer(help="Verify or read the audit log.", no_args_is_help=True, rich_markup_mode=None)
baseline_app = typer.Typer(help="Record today's findings so only new ones block.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(policy_app, name="policy")
app.add_typer(audit_app, name="audit")
app.add_typer(baseline_app, name="baseline")
db_app = typer.Typer(help="Fetch or describe the offline advisory database (OSV).", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(db_app, name="db")


def _plain_list_arguments() -> None:
    """Help shows a list argument as ``FILE...``, not with a Python type (``<list[Path]>``), which
    typer (0.2x) appends to every argument whatever its metavar says."""
    import typer.core

    shown = typer.core.TyperArgument.display_type

    def display_type(self: typer.core.TyperArgument, ctx: Any) -> str:
        return "" if self.nargs != 1 else shown(self, ctx)

    typer.core.TyperArgument.display_type = display_type  # type: ignore[method-assign,assignment]


_plain_list_arguments()

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class _Terminated(BaseException):
    """Raised in the main thread when SIGTERM arrives."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated()


def _echo(text: str, *, err: bool = False, nl: bool = True) -> None:
    """Print ``text`` as every line leaving gatekeeper is printed: control characters shown
    escaped, credentials masked, no forged CI workflow command (``escapes.for_output``)."""
    from gatekeeper.escapes import clean, for_output

    typer.echo(for_output(clean(text)), err=err, nl=nl)


def _fail(exc: BaseException, code: int | None = None) -> NoReturn:
    from gatekeeper.escapes import clean_line

    _echo(f"gatekeeper: error: {clean_line(str(exc))}", err=True)
    raise typer.Exit(code if code is not None else getattr(exc, "exit_code", 2))


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"gatekeeper {__version__}")
        raise typer.Exit(0)


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """gatekeeper: a quality gate and compliance auditor for Python projects.

    Exit codes: 0 pass, 1 the gate failed, 2 usage or policy error, 3 a check could not run.
    """
    from gatekeeper import childenv

    childenv.forget()
    childenv.take(fresh=True)  # the signing key leaves the environment before any child starts
    childenv.take(childenv.CACHE_KEY_ENV, fresh=True)  # and so does the cache key


# --------------------------------------------------------------------------- shared helpers


def _csv(values: list[str] | None) -> tuple[str, ...]:
    out: list[str] = []
    for value in values or []:
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return tuple(out)


def _load_checkers() -> tuple[dict[str, Any], dict[str, Any]]:
    """Installed checkers: ({name: instance}, {name: options or None for a broken plugin})."""
    from gatekeeper.checkers import discover, load
    from gatekeeper.errors import PluginError

    instances: dict[str, Any] = {}
    options: dict[str, Any] = {}
    for name, info in discover().items():
        try:
            instances[name] = load(info)
            options[name] = instances[name].options
        except PluginError as exc:
            instances[name] = _BrokenChecker(name, str(exc))
            options[name] = None
    return instances, options


class _BrokenChecker:
    """Stands in for a plugin that failed to load, so that the check reports ``error``."""

    description = "(failed to load)"
    options: Mapping[str, Any] = MappingProxyType({})

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        self.message = message

    def run(self, section: Any, ctx: Any) -> Any:
        from gatekeeper.errors import PluginError

        raise PluginError(self.message)


def _root(path: Path) -> Path:
    from gatekeeper.errors import UsageError

    root = path.resolve()
    if not root.is_dir():
        raise UsageError(f"project folder not found: {path}")
    return root


def _policy(root: Path, policy_file: Path | None, options: dict[str, Any]) -> Policy:
    from gatekeeper.policy import load_policy

    return load_policy(root, options, policy_file)


def _formats(value: list[str] | None, default: Any) -> tuple[str, ...]:
    from gatekeeper.errors import UsageError
    from gatekeeper.reports import FORMATS

    formats = _csv(value) if value else tuple(default)
    for fmt in formats:
        if fmt not in FORMATS:
            raise UsageError(f"--format: unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    return formats


def _output_dir(root: Path, option: Path | None, policy: Policy) -> Path:
    """The report folder, resolved; a link inside the project on the way is refused (exit 2)."""
    from gatekeeper.fileio import resolve_for_write

    if option is not None:
        return resolve_for_write(option, root)
    return resolve_for_write(root / str(policy.reports["output_dir"]), root)


def _guard_writes(root: Path, policy: Policy, out_dir: Path, results_out: Path | None, audit: bool) -> Path | None:
    """Resolve, before anything runs, every place this run will write: the reports' folder (done by
    ``_output_dir``), the SBOM, the ``--results-out`` file and the audit log. A link planted in the
    project on the way to any of them stops the run (exit 2, naming the link). Returns the resolved
    ``--results-out``."""
    from gatekeeper.fileio import resolve_for_write

    sbom = policy.checks.get("sbom")
    if sbom and sbom.get("enabled") and isinstance(sbom.get("output"), str):
        resolve_for_write(out_dir / str(sbom["output"]), root)
    if audit:
        from gatekeeper.audit import log_path

        resolve_for_write(log_path(root, policy), root)
    return resolve_for_write(results_out, root) if results_out is not None else None


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


def _write_outputs(
    result: GateResult,
    root: Path,
    output_dir: Path,
    formats: tuple[str, ...],
    results_out: Path | None,
    into: dict[str, str] | None = None,
) -> dict[str, str]:
    from gatekeeper.fileio import resolve_for_write
    from gatekeeper.reports import write_atomic, write_reports
    from gatekeeper.reports.json import render_json

    # resolved again as they are written: a tool that ran in between may have planted a link
    written = write_reports(result, resolve_for_write(output_dir, root), formats, into)
    if results_out is not None:
        target = resolve_for_write(results_out, root)
        written[str(target)] = write_atomic(target, render_json(result))
    return written


def _append_step_summary(result: GateResult) -> None:
    """Append the Markdown summary to $GITHUB_STEP_SUMMARY when GitHub Actions sets it.

    A job summary is a convenience: failing to write it warns and leaves the verdict alone.
    """
    import os

    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    from gatekeeper.reports.markdown import render_markdown

    try:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(render_markdown(result))
    except OSError as exc:
        _echo(f"gatekeeper: warning: could not append the job summary to {target}: {exc.strerror or exc}", err=True)


# --------------------------------------------------------------------------- check


CHECK_EXAMPLES = """Examples:

  gatekeeper check

  gatekeeper check path/to/project --policy strict.toml --format json,sarif,html

  gatekeeper check --only security,licenses --no-audit

  gatekeeper check --shard 1/3 --results-out part-1.json

Exit codes: 0 every enabled check passed; 1 the gate failed (a check violated the policy);
2 usage or policy error (nothing was checked); 3 a check could not run (gate.fail_on_error)."""


@app.command(epilog=CHECK_EXAMPLES)
def check(
    path: Path = typer.Argument(Path("."), help="The project to check."),
    policy_file: Optional[Path] = typer.Option(None, "--policy", help="Policy file (default: discovered)."),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", help="Where reports go (default: reports.output_dir)."),
    fmt: Optional[list[str]] = typer.Option(
        None, "--format", metavar="FORMATS", help="Report formats, comma-separated: json,sarif,html,markdown,junit."
    ),
    only: Optional[list[str]] = typer.Option(None, "--only", metavar="NAMES", help="Run only these checks (comma-separated)."),
    skip: Optional[list[str]] = typer.Option(None, "--skip", metavar="NAMES", help="Skip these checks (comma-separated)."),
    baseline: Optional[Path] = typer.Option(None, "--baseline", help="Only findings not in this baseline block."),
    shard: Optional[str] = typer.Option(None, "--shard", metavar="I/N", help="Run share I of N of the work (CI matrix)."),
    results_out: Optional[Path] = typer.Option(None, "--results-out", help="Also write the JSON result here (for merge)."),
    no_audit: bool = typer.Option(False, "--no-audit", help="Do not append to the audit log."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the cache."),
    strict_waivers: bool = typer.Option(False, "--strict-waivers", help="Expired or unused waivers fail the gate."),
    bundle_out: Optional[Path] = typer.Option(
        None,
        "--bundle",
        metavar="FILE.zip",
        help="Also write an evidence bundle (reports, SBOM, policy, audit record, manifest).",
    ),
) -> None:
    """Run the checks the policy enables and exit with the verdict."""
    from gatekeeper import process
    from gatekeeper.console import Console
    from gatekeeper.engine import RunRequest, iso_utc, run_checks
    from gatekeeper.errors import GatekeeperError, OutputError
    from gatekeeper.redaction import redact_result

    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    console = Console()
    audit_target: tuple[Path, Policy] | None = None
    written: dict[str, str] = {}  # reports already in place when a signal arrives
    started_at = iso_utc()
    try:
        root = _root(path)
        checkers, options = _load_checkers()
        policy = _policy(root, policy_file, options)
        if policy.audit["enabled"] and not no_audit:
            audit_target = (root, policy)
        formats = _formats(fmt, policy.reports["formats"])
        out_dir = _output_dir(root, output_dir, policy)
        results_out = _guard_writes(root, policy, out_dir, results_out, audit_target is not None)
        from gatekeeper.baseline import Baseline, load_baseline

        baseline_set = load_baseline(baseline) if baseline is not None else Baseline()
        request = RunRequest(
            root=root,
            policy=policy,
            output_dir=out_dir,
            only=_csv(only),
            skip=_csv(skip),
            baseline=baseline_set,
            baseline_name=str(baseline) if baseline else "",
            shard=_shard(shard),
            use_cache=not no_cache,
            strict_waivers=strict_waivers,
        )
        # one redaction pass: the console, annotations, reports, job summary and audit record below
        # are all made from this copy
        result = redact_result(run_checks(request, checkers, console))
        console.summary(result)
        if os.environ.get("GITHUB_ACTIONS") == "true":
            from gatekeeper.console import github_annotations

            for annotation in github_annotations(result):
                console.line(annotation, command=True)
        code = result.exit_code
        try:
            written = _write_outputs(result, root, out_dir, formats, results_out, into=written)
            for file in written:
                console.line(f"report: {file}")
            _append_step_summary(result)
            audit_line: bytes | None = None
            if policy.audit["enabled"] and not no_audit:
                from gatekeeper.audit import record_run

                entry = record_run(root, policy, result, written, command="check")
                audit_target = None  # the run is recorded: an interruption now changes nothing
                console.line(f"audit: appended record #{entry.seq} to {entry.log} (head sha256 {entry.digest})")
                if bundle_out is not None:
                    from gatekeeper.bundle import find_record

                    audit_line = find_record(entry.log, digest=entry.digest)
            if bundle_out is not None:
                console.line(_write_bundle(bundle_out, result, out_dir, policy, audit_line))
        except OutputError as exc:
            _fail(exc, 2)
        raise typer.Exit(code)
    except GatekeeperError as exc:
        _fail(exc)
    except (KeyboardInterrupt, _Terminated) as exc:
        terminated = isinstance(exc, _Terminated)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second signal must not cut the cleanup short
        console.stop()
        process.kill_all()
        what = "terminated (SIGTERM)" if terminated else "interrupted (SIGINT)"
        if written:
            typer.echo(f"gatekeeper: {what} after the reports were written; the tools it started were killed", err=True)
        else:
            typer.echo(f"gatekeeper: {what}; the tools it started were killed and no reports were written", err=True)
        if audit_target is not None:
            from gatekeeper.audit import append_interrupted

            try:
                entry = append_interrupted(audit_target[0], audit_target[1], started_at, what)
                _echo(f"audit: recorded the interrupted run as #{entry.seq} in {entry.log}", err=True)
            except GatekeeperError as err:
                _echo(f"gatekeeper: error: {err}", err=True)
        raise typer.Exit(EXIT_TERMINATED if terminated else EXIT_INTERRUPTED) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def _write_bundle(
    target: Path,
    result: GateResult,
    out_dir: Path,
    policy: Policy,
    audit_line: bytes | None,
    json_bytes: bytes | None = None,
    key_env: str = "GATEKEEPER_AUDIT_KEY",
) -> str:
    """Write the evidence bundle atomically; return the line that says where it went."""
    from gatekeeper.audit import key_from_env
    from gatekeeper.bundle import build_bundle, bundle_files
    from gatekeeper.policy import to_toml
    from gatekeeper.reports import write_atomic

    files = bundle_files(result, out_dir, to_toml(policy.data), audit_line, json_bytes)
    key = key_from_env(key_env)
    digest = write_atomic(target, build_bundle(result, files, key, audit_line is not None))
    notes = [] if audit_line is not None else ["no audit record (auditing was off for the run, or its record is not in the log)"]
    notes.append("manifest signed" if key else "manifest not signed (no signing key set)")
    return f"bundle: {target} ({len(files) + 1} files, sha256 {digest}; {'; '.join(notes)})"


# --------------------------------------------------------------------------- merge


@app.command(epilog="Example (the last job of a CI matrix):\n\n  gatekeeper merge parts/part-*.json --format json,sarif,html")
def merge(
    parts: list[Path] = typer.Argument(..., metavar="PART.json", help="JSON results written by check --shard I/N --results-out."),
    path: Path = typer.Option(Path("."), "--project", help="The project (for its policy and audit log)."),
    policy_file: Optional[Path] = typer.Option(None, "--policy", help="Policy file (default: discovered)."),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", help="Where reports go (default: reports.output_dir)."),
    fmt: Optional[list[str]] = typer.Option(None, "--format", metavar="FORMATS", help="Report formats, comma-separated."),
    no_audit: bool = typer.Option(False, "--no-audit", help="Do not append to the audit log."),
) -> None:
    """Merge shard results from a CI matrix into one verdict, reports and audit record."""
    from gatekeeper.console import Console
    from gatekeeper.errors import GatekeeperError, OutputError
    from gatekeeper.merge import merge_results
    from gatekeeper.redaction import redact_result
    from gatekeeper.reports.json import load_result

    console = Console(live=False)
    try:
        root = _root(path)
        checkers, options = _load_checkers()
        policy = _policy(root, policy_file, options)
        formats = _formats(fmt, policy.reports["formats"])
        out_dir = _output_dir(root, output_dir, policy)
        _guard_writes(root, policy, out_dir, None, policy.audit["enabled"] and not no_audit)
        result = redact_result(merge_results([load_result(p) for p in parts], policy, checkers, [str(p) for p in parts]))
        console.summary(result)
        try:
            written = _write_outputs(result, root, out_dir, formats, None)
            for file in written:
                console.line(f"report: {file}")
            if policy.audit["enabled"] and not no_audit:
                from gatekeeper.audit import record_run

                entry = record_run(root, policy, result, written, command="merge")
                console.line(f"audit: appended record #{entry.seq} to {entry.log} (head sha256 {entry.digest})")
        except OutputError as exc:
            _fail(exc, 2)
        raise typer.Exit(result.exit_code)
    except GatekeeperError as exc:
        _fail(exc)


# --------------------------------------------------------------------------- report


@app.command(epilog="Example:\n\n  gatekeeper report gatekeeper-reports/gatekeeper.json --format html,sarif --output-dir out")
def report(
    results: Path = typer.Argument(..., help="A gatekeeper.json written by check or merge."),
    fmt: Optional[list[str]] = typer.Option(None, "--format", metavar="FORMATS", help="Formats to render (default: all)."),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", help="Where to write (default: beside RESULTS)."),
) -> None:
    """Re-render reports from a JSON result."""
    from gatekeeper.errors import GatekeeperError
    from gatekeeper.fileio import resolve_for_write
    from gatekeeper.redaction import redact_result
    from gatekeeper.reports import FORMATS, write_reports
    from gatekeeper.reports.json import load_result

    try:
        result = redact_result(load_result(results))
        formats = _formats(fmt, FORMATS)
        # the current folder is taken as the checkout whose links are not followed
        out = resolve_for_write(output_dir if output_dir else results.resolve().parent, Path.cwd())
        for file in write_reports(result, out, formats):
            _echo(f"report: {file}")
    except GatekeeperError as exc:
        _fail(exc)


# --------------------------------------------------------------------------- policy


@policy_app.command("validate", epilog="Example:\n\n  gatekeeper policy validate gatekeeper.toml")
def policy_validate(
    file: Optional[Path] = typer.Argument(None, help="Policy file (default: discovered in the current folder)."),
) -> None:
    """Check a policy; exit 0 when valid, 2 with the problem otherwise."""
    from gatekeeper.errors import GatekeeperError

    try:
        _, options = _load_checkers()
        policy = _policy(Path.cwd(), file, options)
        _echo(f"policy OK: {policy.path or '(built-in default)'} (sha256 {policy.sha256[:12]})")
    except GatekeeperError as exc:
        _fail(exc)


@policy_app.command("show", epilog="Example:\n\n  gatekeeper policy show --policy gatekeeper.toml")
def policy_show(
    path: Path = typer.Argument(Path("."), help="The project."),
    policy_file: Optional[Path] = typer.Option(None, "--policy", help="Policy file (default: discovered)."),
) -> None:
    """Print the effective policy (after extends and defaults) as TOML."""
    from gatekeeper.errors import GatekeeperError
    from gatekeeper.policy import to_toml

    try:
        _, options = _load_checkers()
        policy = _policy(_root(path), policy_file, options)
        _echo(f"# effective policy from {policy.path or '(built-in default)'}")
        _echo(to_toml(policy.data), nl=False)
    except GatekeeperError as exc:
        _fail(exc)


@policy_app.command("init", epilog="Examples:\n\n  gatekeeper policy init\n\n  gatekeeper policy init --pyproject")
def policy_init(
    path: Path = typer.Argument(Path("."), help="The project."),
    pyproject: bool = typer.Option(False, "--pyproject", help="Append a [tool.gatekeeper] section to pyproject.toml instead."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing gatekeeper.toml."),
) -> None:
    """Write a commented starter policy (gatekeeper.toml, or [tool.gatekeeper] in pyproject.toml)."""
    from gatekeeper.checkers.source import installed_tools
    from gatekeeper.errors import GatekeeperError, UsageError
    from gatekeeper.policy import coverage_fail_under, starter_policy
    from gatekeeper.reports import write_atomic

    try:
        root = _root(path)
        fail_under = coverage_fail_under(root)
        from gatekeeper.interpreter import discover

        # the checks whose tools the project's environment (or gatekeeper's own) has are switched on
        found = installed_tools([discover(root, "").python, sys.executable])
        if pyproject:
            target = root / "pyproject.toml"
            existing = target.read_text(encoding="utf-8") if target.exists() else ""
            if "[tool.gatekeeper" in existing:
                raise UsageError(f"{target} already has a [tool.gatekeeper] section")
            text = existing + ("\n" if existing and not existing.endswith("\n") else "")
            text += starter_policy(pyproject=True, enable=found, min_total=fail_under)
        else:
            target = root / "gatekeeper.toml"
            if target.exists() and not force:
                raise UsageError(f"{target} already exists (use --force to overwrite)")
            text = starter_policy(pyproject=False, enable=found, min_total=fail_under)
        from gatekeeper.fileio import resolve_for_write

        write_atomic(resolve_for_write(target, root), text)
        _echo(f"wrote {target}")
        if found:
            _echo(f"turned on {', '.join(found)}: their tools are installed")
        if fail_under is not None:
            _echo(f"checks.coverage.min_total = {fail_under[0]:g}, from the project's coverage fail_under ({fail_under[1]})")
        ignored = _not_ignored(root, ("gatekeeper-reports/", ".gatekeeper/"))
        if ignored:
            _echo(f"consider adding {' and '.join(ignored)} to .gitignore: reports and the audit log are outputs, not sources")
    except GatekeeperError as exc:
        _fail(exc)


def _not_ignored(root: Path, folders: tuple[str, ...]) -> list[str]:
    """Which of gatekeeper's output ``folders`` the project's .gitignore does not mention."""
    try:
        text = (root / ".gitignore").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    listed = {line.strip().strip("/") for line in text.splitlines()}
    return [f for f in folders if f.strip("/") not in listed]


# --------------------------------------------------------------------------- pre-commit hooks

hook_app = typer.Typer(help="Fast subsets of the gate for pre-commit.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(hook_app, name="hook")


@hook_app.command(
    "security", epilog="Example (.pre-commit-config.yaml runs this):\n\n  gatekeeper hook security app/models.py app/views.py"
)
def hook_security(
    files: list[Path] = typer.Argument(None, metavar="FILE", help="Files to scan (pre-commit passes the staged Python files)."),
    policy_file: Optional[Path] = typer.Option(None, "--policy", help="Policy file (default: discovered)."),
) -> None:
    """Run the security check, with the project's policy, on just these files; no reports, no audit."""
    import copy
    import dataclasses

    from gatekeeper.console import Console
    from gatekeeper.engine import RunRequest, run_checks
    from gatekeeper.errors import GatekeeperError

    try:
        root = Path.cwd().resolve()
        checkers, options = _load_checkers()
        policy = _policy(root, policy_file, options)
        if not files:
            raise typer.Exit(0)
        data = copy.deepcopy(dict(policy.data))
        data["checks"]["security"]["paths"] = [str(f) for f in files]
        data["checks"]["security"]["enabled"] = True
        policy = dataclasses.replace(policy, data=data)
        console = Console(live=False)
        request = RunRequest(root=root, policy=policy, output_dir=root, only=("security",), use_cache=True)
        from gatekeeper.redaction import redact_result

        result = redact_result(run_checks(request, checkers, console))
        console.summary(result)
        raise typer.Exit(result.exit_code)
    except GatekeeperError as exc:
        _fail(exc)


@hook_app.command("policy", epilog="Example:\n\n  gatekeeper hook policy")
def hook_policy(
    policy_file: Optional[Path] = typer.Option(None, "--policy", help="Policy file (default: discovered)."),
) -> None:
    """Validate the project's policy (same as 'gatekeeper policy validate')."""
    policy_validate(policy_file)


# --------------------------------------------------------------------------- audit


def _audit_log(log: Path | None, policy_file: Path | None) -> Path:
    """The log named on the command line, else the one the policy in the current folder names."""
    if log is not None:
        return log
    from gatekeeper.audit import log_path

    root = Path.cwd()
    _, options = _load_checkers()
    return log_path(root, _policy(root, policy_file, options))


@audit_app.command(
    "verify",
    epilog="Examples:\n\n  gatekeeper audit verify\n\n  gatekeeper audit verify .gatekeeper/audit.jsonl --anchor 3f2a...\n\n"
    "Exit codes: 0 intact, 1 a record was edited, deleted, inserted or reordered, or a signature does not match, 2 no log.",
)
def audit_verify(
    log: Optional[Path] = typer.Argument(None, help="The audit log (default: audit.log of the policy in the current folder)."),
    policy_file: Optional[Path] = typer.Option(None, "--policy", help="Policy naming the log (default: discovered)."),
    key_env: str = typer.Option("GATEKEEPER_AUDIT_KEY", "--key-env", help="Environment variable holding the signing key."),
    anchor: Optional[str] = typer.Option(
        None, "--anchor", help="A head sha256 recorded earlier (printed by check and verify): it must still be in the chain."
    ),
) -> None:
    """Check the log's hash chain (and signatures, when the key is set); name the first bad line."""
    from gatekeeper.audit import key_from_env, verify_log
    from gatekeeper.errors import GatekeeperError

    try:
        path = _audit_log(log, policy_file)
        outcome = verify_log(path, key_from_env(key_env), anchor)
    except GatekeeperError as exc:
        _fail(exc)
    if not outcome.ok:
        _echo(f"audit log {path}: TAMPERED: {outcome.problem}", err=True)
        _echo(f"({outcome.records} record(s) before it verified)", err=True)
        raise typer.Exit(1)
    _echo(f"audit log {path}: intact, {outcome.records} record(s), head sha256 {outcome.head}")
    if outcome.unchecked:
        _echo(
            f"note: {outcome.unchecked} of {outcome.records} record(s) are signed but were NOT checked: "
            f"set {key_env} to the signing key to check them"
        )
    elif outcome.signed:
        _echo(f"signatures: {outcome.signed} checked, all match")
    if outcome.mark_seq is not None and outcome.before_mark:
        _echo(
            f"note: signing (with this key) starts at record #{outcome.mark_seq}; "
            f"the {outcome.before_mark} record(s) before it are chained but not signed with it"
        )
    if anchor:
        _echo(f"anchor: found at record #{outcome.anchor_seq}")
    else:
        _echo(
            "note: records removed from the end cannot be detected from the log alone;"
            " keep the head sha256 and pass it as --anchor"
        )


@audit_app.command(
    "show", epilog="Examples:\n\n  gatekeeper audit show --last 10\n\n  gatekeeper audit show .gatekeeper/audit.jsonl --json"
)
def audit_show(
    log: Optional[Path] = typer.Argument(None, help="The audit log (default: audit.log of the policy in the current folder)."),
    policy_file: Optional[Path] = typer.Option(None, "--policy", help="Policy naming the log (default: discovered)."),
    last: Optional[int] = typer.Option(None, "--last", min=1, metavar="N", help="Show only the last N records."),
    as_json: bool = typer.Option(False, "--json", help="Print the records as a JSON array instead of a table."),
) -> None:
    """Print past runs as a table (not verified: use 'audit verify' for that)."""

    from gatekeeper.audit import format_table, read_records, records_json
    from gatekeeper.errors import GatekeeperError

    try:
        records = read_records(_audit_log(log, policy_file))
    except GatekeeperError as exc:
        _fail(exc)
    if last is not None:
        records = records[-last:]
    if as_json:
        from gatekeeper.redaction import redact

        typer.echo(redact(records_json(records), heuristic=False))
    else:
        _echo(format_table(records), nl=False)


@audit_app.command(
    "report",
    epilog="Examples:\n\n  gatekeeper audit report --output audit-history.html\n\n"
    "  gatekeeper audit report .gatekeeper/audit.jsonl --since 2026-09-01\n\n"
    "Exit codes: 0 written and the chain is intact, 1 written but the chain is broken (the page says where),"
    " 2 no log or bad option.",
)
def audit_report(
    log: Optional[Path] = typer.Argument(None, help="The audit log (default: audit.log of the policy in the current folder)."),
    output: Path = typer.Option(Path("audit-history.html"), "--output", help="Where to write the HTML page."),
    since: Optional[str] = typer.Option(None, "--since", metavar="YYYY-MM-DD", help="Show only runs on or after this day."),
    policy_file: Optional[Path] = typer.Option(None, "--policy", help="Policy naming the log (default: discovered)."),
    key_env: str = typer.Option("GATEKEEPER_AUDIT_KEY", "--key-env", help="Environment variable holding the signing key."),
) -> None:
    """Write one self-contained HTML page of every run in the audit log: chain status, trends, waivers, runs."""
    import datetime as dt

    from gatekeeper.audit import key_from_env, read_records, verify_log
    from gatekeeper.engine import iso_utc
    from gatekeeper.errors import GatekeeperError, UsageError
    from gatekeeper.history import render_history
    from gatekeeper.reports import write_atomic

    try:
        day = None
        if since:
            try:
                day = dt.date.fromisoformat(since)
            except ValueError:
                raise UsageError(f"--since: expected a date like 2026-09-01, got {since!r}") from None
        path = _audit_log(log, policy_file)
        key = key_from_env(key_env)
        verified: list[dict[str, Any]] = []
        verification = verify_log(path, key, collect=verified)
        records = verified if verification.ok else read_records(path)  # past a break: every line, marked
        html = render_history(
            records,
            verification,
            log_name=str(path),
            generated_at=iso_utc(),
            since=day,
            tool_version=__version__,
            key_checked=key is not None,
        )
        write_atomic(output, html)
    except GatekeeperError as exc:
        _fail(exc)
    scope = f"runs since {day}" if day else f"{len(records)} run(s)"
    typer.echo(f"history: {output} ({scope} from {path})")
    if not verification.ok:
        typer.echo(f"audit log {path}: TAMPERED: {verification.problem} (the page says so at the top)", err=True)
        raise typer.Exit(1)


# --------------------------------------------------------------------------- baseline


@baseline_app.command(
    "create",
    epilog="Examples:\n\n  gatekeeper baseline create\n\n  gatekeeper check --baseline .gatekeeper/baseline.json",
)
def baseline_create(
    path: Path = typer.Argument(Path("."), help="The project."),
    policy_file: Optional[Path] = typer.Option(None, "--policy", help="Policy file (default: discovered)."),
    output: Optional[Path] = typer.Option(None, "--output", help="Where to write (default: .gatekeeper/baseline.json)."),
    only: Optional[list[str]] = typer.Option(None, "--only", metavar="NAMES", help="Run only these checks (comma-separated)."),
    skip: Optional[list[str]] = typer.Option(None, "--skip", metavar="NAMES", help="Skip these checks (comma-separated)."),
    no_audit: bool = typer.Option(False, "--no-audit", help="Do not record the baseline in the audit log."),
) -> None:
    """Run the checks and record today's findings, so that 'check --baseline' blocks only new ones."""
    import json
    import tempfile

    from gatekeeper.baseline import baseline_document
    from gatekeeper.engine import RunRequest, run_checks
    from gatekeeper.errors import GatekeeperError
    from gatekeeper.findings import Status
    from gatekeeper.reports import write_atomic

    try:
        root = _root(path)
        checkers, options = _load_checkers()
        policy = _policy(root, policy_file, options)
        from gatekeeper.fileio import resolve_for_write
        from gatekeeper.redaction import redact_result

        target = resolve_for_write(output if output else root / ".gatekeeper" / "baseline.json", root)
        with tempfile.TemporaryDirectory(prefix="gatekeeper-baseline-") as scratch:  # artifacts are not kept
            request = RunRequest(root=root, policy=policy, output_dir=Path(scratch), only=_csv(only), skip=_csv(skip))
            result = redact_result(run_checks(request, checkers))
        for c in result.checks:
            if c.status is Status.ERROR:
                _echo(f"warning: {c.name} could not run ({c.error}); its findings are not in the baseline", err=True)
        document = baseline_document(result)
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        digest = write_atomic(target, text)
        counts: dict[str, int] = {}
        for entry in document["findings"]:
            counts[entry["check"]] = counts.get(entry["check"], 0) + 1
        detail = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "no findings"
        _echo(f"baseline: recorded {len(document['findings'])} fingerprint(s) ({detail}) in {target}")
        if policy.audit["enabled"] and not no_audit:
            from dataclasses import replace

            from gatekeeper.audit import record_run

            extra = {**result.extra, "baseline": {"path": str(target), "fingerprints": len(document["findings"])}}
            entry = record_run(root, policy, replace(result, extra=extra), {str(target): digest}, command="baseline create")
            _echo(f"audit: appended record #{entry.seq} to {entry.log} (head sha256 {entry.digest})")
    except GatekeeperError as exc:
        _fail(exc)


# --------------------------------------------------------------------------- bundle

BUNDLE_EPILOG = """Examples:

  gatekeeper bundle gatekeeper-reports/gatekeeper.json --output evidence.zip

  gatekeeper bundle verify evidence.zip

The bundle holds every report, the artifacts (SBOM), the effective policy as TOML, the license
table, the run's audit record and manifest.json (sha256 of each file; an HMAC when the signing key
is set). 'bundle verify' exits 0 when intact, 1 naming each changed, added or missing file (and a
bad HMAC when the key is set), 2 when the file is not a bundle."""


@app.command("bundle", epilog=BUNDLE_EPILOG)
def bundle(
    target: list[str] = typer.Argument(
        ..., metavar="RESULTS.json | verify FILE.zip", help="A JSON result to bundle, or 'verify' and a bundle."
    ),
    output: Optional[Path] = typer.Option(None, "--output", metavar="FILE.zip", help="Where to write the bundle."),
    policy_file: Optional[Path] = typer.Option(
        None, "--policy", help="The run's policy (default: discovered in the current folder)."
    ),
    log: Optional[Path] = typer.Option(None, "--log", help="The audit log holding the run's record (default: the policy's)."),
    key_env: str = typer.Option("GATEKEEPER_AUDIT_KEY", "--key-env", help="Environment variable holding the signing key."),
) -> None:
    """Write an evidence bundle for a past run, or verify one ('bundle verify FILE.zip')."""
    from gatekeeper.errors import GatekeeperError, UsageError

    try:
        if target[0] == "verify":
            if len(target) != 2 or output is not None:
                raise UsageError("usage: gatekeeper bundle verify FILE.zip [--key-env NAME]")
            _bundle_verify(Path(target[1]), key_env)
            return
        if len(target) != 1:
            raise UsageError("usage: gatekeeper bundle RESULTS.json --output FILE.zip")
        if output is None:
            raise UsageError("--output FILE.zip is required: where to write the bundle")
        _bundle_results(Path(target[0]), output, policy_file, log, key_env)
    except GatekeeperError as exc:
        _fail(exc)


def _bundle_results(results: Path, output: Path, policy_file: Path | None, log: Path | None, key_env: str) -> None:
    import hashlib

    from gatekeeper.audit import log_path
    from gatekeeper.bundle import find_record
    from gatekeeper.errors import UsageError
    from gatekeeper.reports.json import load_result

    result = load_result(results)
    raw = results.read_bytes()
    root = Path.cwd().resolve()  # like every other command: the project is the current folder
    _, options = _load_checkers()
    policy = _policy(root, policy_file, options)
    if policy.sha256 != result.policy.get("sha256"):
        raise UsageError(
            f"the policy {policy.path or '(built-in default)'} (sha256 {policy.sha256[:12]}) is not the one the run used"
            f" (sha256 {str(result.policy.get('sha256') or '?')[:12]}); pass the run's policy with --policy",
            file=str(results),
        )
    audit_log = log if log is not None else log_path(root, policy)
    audit_line = find_record(audit_log, results_sha256=hashlib.sha256(raw).hexdigest())
    typer.echo(_write_bundle(output.resolve(), result, results.resolve().parent, policy, audit_line, raw, key_env))


def _bundle_verify(path: Path, key_env: str) -> None:
    from gatekeeper.audit import key_from_env
    from gatekeeper.bundle import verify_bundle
    from gatekeeper.escapes import clean

    outcome = verify_bundle(path, key_from_env(key_env))
    if not outcome.ok:
        typer.echo(f"bundle {path}: TAMPERED: {len(outcome.problems)} problem(s)", err=True)
        for problem in outcome.problems:
            typer.echo(f"  {clean(problem)}", err=True)
        raise typer.Exit(1)
    m = outcome.manifest
    typer.echo(
        f"bundle {path}: intact, {outcome.files} file(s) match the manifest"
        f" (gatekeeper {clean(str(m.get('gatekeeper', '?')))}, commit {clean(str(m.get('commit') or 'not recorded'))})"
    )
    if outcome.signature_checked:
        typer.echo("signature: the manifest's HMAC matches the signing key")
    elif outcome.signed:
        typer.echo(f"note: the manifest is signed but the signature was NOT checked: set {key_env} to the signing key")
    else:
        typer.echo("note: the manifest is not signed: anyone able to rewrite the bundle could recompute its hashes")


# --------------------------------------------------------------------------- offline advisory database

_DIR_HELP = 'The database folder (default: gatekeeper/advisory-db in the user\'s data directory, as advisory_db = "auto").'


@db_app.command(
    "update",
    epilog="Examples:\n\n  gatekeeper db update\n\n  gatekeeper db update --dir /srv/advisory-db "
    "--url https://mirror.example/osv/PyPI/all.zip\n\n  gatekeeper db update --url file:///media/usb/all.zip",
)
def db_update(
    folder: Optional[Path] = typer.Option(None, "--dir", help=_DIR_HELP),
    url: Optional[str] = typer.Option(
        None, "--url", help="The OSV PyPI export to fetch (http, https or file; default: $GATEKEEPER_ADVISORY_URL, else OSV's)."
    ),
) -> None:
    """Download OSV's PyPI export; verify it, then replace the previous database (unchanged: one request)."""
    from gatekeeper.checkers.dependencies import database as advisory_db
    from gatekeeper.checkers.dependencies.advisories import iso_time
    from gatekeeper.errors import GatekeeperError
    from gatekeeper.escapes import clean

    target = (folder or advisory_db.default_dir()).absolute()
    source = advisory_db.source_url(url)
    bar = advisory_db.progress_bar()
    typer.echo(f"db update: fetching {clean(advisory_db.display_url(source))}", err=True)
    try:
        try:
            outcome = advisory_db.update(target, source, progress=bar)
        finally:
            if bar is not None:
                sys.stderr.write("\n")
    except KeyboardInterrupt:
        typer.echo(f"gatekeeper: db update interrupted; {target} was left as it was", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except GatekeeperError as exc:
        typer.echo(f"gatekeeper: error: {clean(str(exc))}; {target} was left as it was", err=True)
        raise typer.Exit(3) from None
    survey = outcome.survey
    if not outcome.changed:
        typer.echo(f"db update: unchanged: {outcome.path} is current with {clean(outcome.url)}")
        return
    assert survey is not None and survey.as_of is not None  # noqa: S101  # nosec B101: a changed database was surveyed
    age = advisory_db.age_days(survey.as_of)
    typer.echo(
        f"db update: updated {outcome.path}: {survey.records} records, {survey.packages} PyPI packages, "
        f"as of {iso_time(survey.as_of)} ({age:g} days old), {outcome.size} bytes"
    )


@db_app.command("info", epilog="Examples:\n\n  gatekeeper db info\n\n  gatekeeper db info --dir ../shared/advisory-db")
def db_info(
    folder: Optional[Path] = typer.Option(None, "--dir", help=_DIR_HELP + " Any OSV folder or zip works too."),
) -> None:
    """Where the database came from, what it holds and how old its newest record is."""
    from gatekeeper.checkers.dependencies import database as advisory_db
    from gatekeeper.errors import GatekeeperError
    from gatekeeper.escapes import clean

    target = (folder or advisory_db.default_dir()).absolute()
    try:
        info = advisory_db.describe(target)
    except GatekeeperError as exc:
        _fail(exc, 3)
    age = info["age_days"]
    rows = (
        ("database", info["database"]),
        ("source", info["source"] or "(not fetched by gatekeeper db update)"),
        ("fetched at", info["fetched_at"] or "-"),
        ("records", info["records"]),
        ("packages", info["packages"]),
        ("as of", info["as_of"] or "(no record carries a readable 'modified' time)"),
        ("age", f"{age:g} days" if age is not None else "unknown"),
    )
    for label, value in rows:
        typer.echo(clean(f"{label + ':':<12}{value}"))
    if age is None:
        raise typer.Exit(3)


# --------------------------------------------------------------------------- plugins


@app.command(epilog="Example:\n\n  gatekeeper plugins")
def plugins() -> None:
    """List the installed checkers (entry-point group gatekeeper.checkers)."""
    from gatekeeper.checkers import discover, load
    from gatekeeper.errors import PluginError

    for name, info in discover().items():
        try:
            desc = str(getattr(load(info), "description", ""))
            state = ""
        except PluginError as exc:
            desc, state = "", f"  BROKEN: {exc}"
        dist = f"{info.distribution} {info.version}".strip()
        _echo(f"{name:<14} {dist:<28} {info.value}{state}")
        if desc:
            _echo(f"{'':<14} {desc}")


# --------------------------------------------------------------------------- cache

cache_app = typer.Typer(
    help="Where the cache is, and the key a CI cache stores it under.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(cache_app, name="cache")


@cache_app.command("dir", epilog="Example:\n\n  gatekeeper cache dir . --policy gatekeeper.toml")
def cache_dir(
    path: Path = typer.Argument(Path("."), help="The project."),
    policy_file: Optional[Path] = typer.Option(None, "--policy", help="Policy file (default: discovered)."),
) -> None:
    """Print the cache folder `check` uses for the project (what a CI cache saves and restores)."""
    from gatekeeper.cachekey import cache_folder
    from gatekeeper.errors import GatekeeperError

    try:
        root = _root(path)
        _echo(str(cache_folder(root, _policy(root, policy_file, _load_checkers()[1]))))
    except GatekeeperError as exc:
        _fail(exc)


@cache_app.command("key", epilog="Example (GitHub Actions):\n\n  key=gatekeeper-$RUNNER_OS-$(gatekeeper cache key)")
def cache_key_command(
    path: Path = typer.Argument(Path("."), help="The project."),
    policy_file: Optional[Path] = typer.Option(None, "--policy", help="Policy file (default: discovered)."),
    as_json: bool = typer.Option(False, "--json", help="Print what the key is made from, as JSON."),
) -> None:
    """Print the CI cache key: Python, gatekeeper and tool versions and the policy's digest."""
    import json

    from gatekeeper.cachekey import ci_key, key_material, tool_python, tool_versions
    from gatekeeper.errors import GatekeeperError

    try:
        root = _root(path)
        policy = _policy(root, policy_file, _load_checkers()[1])
        material = key_material(policy, tool_versions(tool_python(root, policy)))
        _echo(json.dumps({**material, "key": ci_key(material)}, indent=2) if as_json else ci_key(material))
    except GatekeeperError as exc:
        _fail(exc)


def run() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:  # outside check: nothing to clean up
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":  # pragma: no cover
    run()
