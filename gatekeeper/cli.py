"""The command line: options -> request -> engine -> reports -> audit -> exit code.

Only this module catches ``GatekeeperError``; it prints one clear message and exits with the
code DESIGN.md assigns. Heavy modules are imported inside the commands so that ``--version``
and ``--help`` stay fast.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
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

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class _Terminated(BaseException):
    """Raised in the main thread when SIGTERM arrives."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated()


def _fail(exc: BaseException, code: int | None = None) -> NoReturn:
    from gatekeeper.console import clean

    typer.echo(f"gatekeeper: error: {clean(str(exc))}", err=True)
    raise typer.Exit(code if code is not None else getattr(exc, "exit_code", 2))


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"gatekeeper {__version__}")
        raise typer.Exit(0)


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."),
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
    options: dict[str, Any] = {}

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


def _write_outputs(result: GateResult, output_dir: Path, formats: tuple[str, ...], results_out: Path | None) -> dict[str, str]:
    from gatekeeper.reports import write_atomic, write_reports
    from gatekeeper.reports.json import render_json

    written = write_reports(result, output_dir, formats)
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


@app.command(epilog="Examples:\n\n  gatekeeper check\n\n  gatekeeper check path/to/project --policy strict.toml --format json,sarif,html\n\n  gatekeeper check --only security,licenses --no-audit")
def check(
    path: Path = typer.Argument(Path("."), help="The project to check."),
    policy_file: Optional[Path] = typer.Option(None, "--policy", help="Policy file (default: discovered)."),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", help="Where reports go (default: reports.output_dir)."),
    fmt: Optional[list[str]] = typer.Option(None, "--format", help="Report formats, comma-separated: json,sarif,html,markdown,junit."),
    only: Optional[list[str]] = typer.Option(None, "--only", help="Run only these checks (comma-separated)."),
    skip: Optional[list[str]] = typer.Option(None, "--skip", help="Skip these checks (comma-separated)."),
    baseline: Optional[Path] = typer.Option(None, "--baseline", help="Only findings not in this baseline block."),
    shard: Optional[str] = typer.Option(None, "--shard", help="Run share I of N of the work (CI matrix)."),
    results_out: Optional[Path] = typer.Option(None, "--results-out", help="Also write the JSON result here (for merge)."),
    no_audit: bool = typer.Option(False, "--no-audit", help="Do not append to the audit log."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the cache."),
    strict_waivers: bool = typer.Option(False, "--strict-waivers", help="Expired or unused waivers fail the gate."),
) -> None:
    """Run the checks the policy enables and exit with the verdict."""
    from gatekeeper.checkers import _runner
    from gatekeeper.console import Console
    from gatekeeper.engine import RunRequest, run_checks
    from gatekeeper.errors import GatekeeperError, OutputError

    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    console = Console()
    try:
        root = _root(path)
        checkers, options = _load_checkers()
        policy = _policy(root, policy_file, options)
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
        code = result.exit_code
        try:
            written = _write_outputs(result, out_dir, formats, results_out)
            for file in written:
                console.line(f"report: {file}")
            _append_step_summary(result)
            if policy.audit["enabled"] and not no_audit:
                from gatekeeper.audit import append_run

                log = append_run(root, policy, result, written, command="check")
                console.line(f"audit: appended to {log}")
        except OutputError as exc:
            _fail(exc, 2)
        raise typer.Exit(code)
    except GatekeeperError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        console.stop()
        _runner.kill_all()
        typer.echo("gatekeeper: interrupted; no reports were written", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except _Terminated:
        console.stop()
        _runner.kill_all()
        typer.echo("gatekeeper: terminated; no reports were written", err=True)
        raise typer.Exit(EXIT_TERMINATED) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


# --------------------------------------------------------------------------- report


@app.command(epilog="Example:\n\n  gatekeeper report gatekeeper-reports/gatekeeper.json --format html,sarif --output-dir out")
def report(
    results: Path = typer.Argument(..., help="A gatekeeper.json written by check or merge."),
    fmt: Optional[list[str]] = typer.Option(None, "--format", help="Formats to render (default: all)."),
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
    from gatekeeper.policy import starter_policy
    from gatekeeper.reports import write_atomic

    try:
        root = _root(path)
        if pyproject:
            target = root / "pyproject.toml"
            existing = target.read_text(encoding="utf-8") if target.exists() else ""
            if "[tool.gatekeeper" in existing:
                raise UsageError(f"{target} already has a [tool.gatekeeper] section")
            text = existing + ("\n" if existing and not existing.endswith("\n") else "") + starter_policy(pyproject=True)
        else:
            target = root / "gatekeeper.toml"
            if target.exists() and not force:
                raise UsageError(f"{target} already exists (use --force to overwrite)")
            text = starter_policy(pyproject=False)
        write_atomic(target, text)
        typer.echo(f"wrote {target}")
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
