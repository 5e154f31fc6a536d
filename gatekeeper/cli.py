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


def _fail(exc: BaseException, code: int | None = None) -> NoReturn:
    from gatekeeper.escapes import clean

    typer.echo(f"gatekeeper: error: {clean(str(exc))}", err=True)
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
    if option is not None:
        return option.resolve()
    configured = Path(str(policy.reports["output_dir"]))
    return configured if configured.is_absolute() else root / configured


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
    result: GateResult, output_dir: Path, formats: tuple[str, ...], results_out: Path | None, into: dict[str, str] | None = None
) -> dict[str, str]:
    from gatekeeper.reports import write_atomic, write_reports
    from gatekeeper.reports.json import render_json

    written = write_reports(result, output_dir, formats, into)
    if results_out is not None:
        written[str(results_out)] = write_atomic(results_out, render_json(result))
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
        typer.echo(f"gatekeeper: warning: could not append the job summary to {target}: {exc.strerror or exc}", err=True)


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
) -> None:
    """Run the checks the policy enables and exit with the verdict."""
    from gatekeeper.checkers import _runner
    from gatekeeper.console import Console
    from gatekeeper.engine import RunRequest, iso_utc, run_checks
    from gatekeeper.errors import GatekeeperError, OutputError

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
        baseline_set: frozenset[str] = frozenset()
        if baseline is not None:
            from gatekeeper.baseline import load_baseline

            baseline_set = load_baseline(baseline)
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
        result = run_checks(request, checkers, console)
        console.summary(result)
        if os.environ.get("GITHUB_ACTIONS") == "true":
            from gatekeeper.console import github_annotations

            for annotation in github_annotations(result):
                console.line(annotation)
        code = result.exit_code
        try:
            written = _write_outputs(result, out_dir, formats, results_out, into=written)
            for file in written:
                console.line(f"report: {file}")
            _append_step_summary(result)
            if policy.audit["enabled"] and not no_audit:
                from gatekeeper.audit import record_run

                entry = record_run(root, policy, result, written, command="check")
                audit_target = None  # the run is recorded: an interruption now changes nothing
                console.line(f"audit: appended record #{entry.seq} to {entry.log} (head sha256 {entry.digest})")
        except OutputError as exc:
            _fail(exc, 2)
        raise typer.Exit(code)
    except GatekeeperError as exc:
        _fail(exc)
    except (KeyboardInterrupt, _Terminated) as exc:
        terminated = isinstance(exc, _Terminated)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second signal must not cut the cleanup short
        console.stop()
        _runner.kill_all()
        what = "terminated (SIGTERM)" if terminated else "interrupted (SIGINT)"
        if written:
            typer.echo(f"gatekeeper: {what} after the reports were written; the tools it started were killed", err=True)
        else:
            typer.echo(f"gatekeeper: {what}; the tools it started were killed and no reports were written", err=True)
        if audit_target is not None:
            from gatekeeper.audit import append_interrupted

            try:
                entry = append_interrupted(audit_target[0], audit_target[1], started_at, what)
                typer.echo(f"audit: recorded the interrupted run as #{entry.seq} in {entry.log}", err=True)
            except GatekeeperError as err:
                typer.echo(f"gatekeeper: error: {err}", err=True)
        raise typer.Exit(EXIT_TERMINATED if terminated else EXIT_INTERRUPTED) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


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
    from gatekeeper.reports.json import load_result

    console = Console(live=False)
    try:
        root = _root(path)
        checkers, options = _load_checkers()
        policy = _policy(root, policy_file, options)
        formats = _formats(fmt, policy.reports["formats"])
        out_dir = _output_dir(root, output_dir, policy)
        result = merge_results([load_result(p) for p in parts], policy, checkers)
        console.summary(result)
        try:
            written = _write_outputs(result, out_dir, formats, None)
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
    from gatekeeper.reports import FORMATS, write_reports
    from gatekeeper.reports.json import load_result

    try:
        result = load_result(results)
        formats = _formats(fmt, FORMATS)
        out = output_dir.resolve() if output_dir else results.resolve().parent
        for file in write_reports(result, out, formats):
            typer.echo(f"report: {file}")
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
        typer.echo(f"policy OK: {policy.path or '(built-in default)'} (sha256 {policy.sha256[:12]})")
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
        typer.echo(f"# effective policy from {policy.path or '(built-in default)'}")
        typer.echo(to_toml(policy.data), nl=False)
    except GatekeeperError as exc:
        _fail(exc)


@policy_app.command("init", epilog="Examples:\n\n  gatekeeper policy init\n\n  gatekeeper policy init --pyproject")
def policy_init(
    path: Path = typer.Argument(Path("."), help="The project."),
    pyproject: bool = typer.Option(False, "--pyproject", help="Append a [tool.gatekeeper] section to pyproject.toml instead."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing gatekeeper.toml."),
) -> None:
    """Write a commented starter policy (gatekeeper.toml, or [tool.gatekeeper] in pyproject.toml)."""
    from gatekeeper.errors import GatekeeperError, UsageError
    from gatekeeper.policy import coverage_fail_under, starter_policy
    from gatekeeper.reports import write_atomic

    try:
        root = _root(path)
        fail_under = coverage_fail_under(root)
        if pyproject:
            target = root / "pyproject.toml"
            existing = target.read_text(encoding="utf-8") if target.exists() else ""
            if "[tool.gatekeeper" in existing:
                raise UsageError(f"{target} already has a [tool.gatekeeper] section")
            text = existing + ("\n" if existing and not existing.endswith("\n") else "")
            text += starter_policy(pyproject=True, min_total=fail_under)
        else:
            target = root / "gatekeeper.toml"
            if target.exists() and not force:
                raise UsageError(f"{target} already exists (use --force to overwrite)")
            text = starter_policy(pyproject=False, min_total=fail_under)
        write_atomic(target, text)
        typer.echo(f"wrote {target}")
        if fail_under is not None:
            typer.echo(f"checks.coverage.min_total = {fail_under[0]:g}, from the project's coverage fail_under ({fail_under[1]})")
        ignored = _not_ignored(root, ("gatekeeper-reports/", ".gatekeeper/"))
        if ignored:
            typer.echo(
                f"consider adding {' and '.join(ignored)} to .gitignore: reports and the audit log are outputs, not sources"
            )
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
        result = run_checks(request, checkers, console)
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
        typer.echo(f"audit log {path}: TAMPERED: {outcome.problem}", err=True)
        typer.echo(f"({outcome.records} record(s) before it verified)", err=True)
        raise typer.Exit(1)
    typer.echo(f"audit log {path}: intact, {outcome.records} record(s), head sha256 {outcome.head}")
    if outcome.unchecked:
        typer.echo(f"note: {outcome.unchecked} signature(s) were NOT checked: set {key_env} to the signing key to check them")
    elif outcome.signed:
        typer.echo(f"signatures: {outcome.signed} checked, all match")
    if anchor:
        typer.echo(f"anchor: found at record #{outcome.anchor_seq}")
    else:
        typer.echo(
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
    import json

    from gatekeeper.audit import format_table, read_records
    from gatekeeper.errors import GatekeeperError

    try:
        records = read_records(_audit_log(log, policy_file))
    except GatekeeperError as exc:
        _fail(exc)
    if last is not None:
        records = records[-last:]
    if as_json:
        typer.echo(json.dumps(records, indent=2, ensure_ascii=False))
    else:
        typer.echo(format_table(records), nl=False)


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
        target = output.resolve() if output else root / ".gatekeeper" / "baseline.json"
        with tempfile.TemporaryDirectory(prefix="gatekeeper-baseline-") as scratch:  # artifacts are not kept
            request = RunRequest(root=root, policy=policy, output_dir=Path(scratch), only=_csv(only), skip=_csv(skip))
            result = run_checks(request, checkers)
        for c in result.checks:
            if c.status is Status.ERROR:
                typer.echo(f"warning: {c.name} could not run ({c.error}); its findings are not in the baseline", err=True)
        document = baseline_document(result)
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        digest = write_atomic(target, text)
        counts: dict[str, int] = {}
        for entry in document["findings"]:
            counts[entry["check"]] = counts.get(entry["check"], 0) + 1
        detail = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "no findings"
        typer.echo(f"baseline: recorded {len(document['findings'])} fingerprint(s) ({detail}) in {target}")
        if policy.audit["enabled"] and not no_audit:
            from dataclasses import replace

            from gatekeeper.audit import record_run

            extra = {**result.extra, "baseline": {"path": str(target), "fingerprints": len(document["findings"])}}
            entry = record_run(root, policy, replace(result, extra=extra), {str(target): digest}, command="baseline create")
            typer.echo(f"audit: appended record #{entry.seq} to {entry.log} (head sha256 {entry.digest})")
    except GatekeeperError as exc:
        _fail(exc)


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
        typer.echo(f"{name:<14} {dist:<28} {info.value}{state}")
        if desc:
            typer.echo(f"{'':<14} {desc}")


def run() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:  # outside check: nothing to clean up
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":  # pragma: no cover
    run()
