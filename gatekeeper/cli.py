"""The command line: options -> request -> gate -> exit code.

Each command turns its options into a request for ``gatekeeper.gate`` (which owns the check,
merge, baseline and report sequences) and maps what it returns to the exit code. Errors become
messages and exit codes in one place, ``commands.handles_errors``. The command groups live in
``gatekeeper.commands``. Heavy modules are imported inside the commands so that ``--version``
and ``--help`` stay fast.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from gatekeeper import __version__, gate
from gatekeeper.commands import attestation, audit, db, handles_errors, hook, split
from gatekeeper.commands import bundle as bundle_command
from gatekeeper.commands import cache as cache_commands
from gatekeeper.commands import formats as format_option
from gatekeeper.commands import key as key_commands
from gatekeeper.commands import policy as policy_commands
from gatekeeper.escapes import echo as _echo
from gatekeeper.reports.registry import FORMAT_NAMES

if TYPE_CHECKING:
    from gatekeeper.checkers.base import LoadedChecker

app = typer.Typer(
    name="gatekeeper",
    help="One CI step that turns a policy file into a verdict: coverage, security, dependencies, SBOM, licenses.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
baseline_app = typer.Typer(help="Record today's findings so only new ones block.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(policy_commands.app, name="policy")
app.add_typer(audit.app, name="audit")
app.add_typer(attestation.app, name="attestation")
app.add_typer(baseline_app, name="baseline")
app.add_typer(db.app, name="db")
app.add_typer(hook.app, name="hook")
app.add_typer(cache_commands.app, name="cache")
app.add_typer(key_commands.app, name="key")


def _real_placeholders() -> None:
    """Help shows placeholders, never Python types: typer (0.2x) appends ``<path>``, ``<str>`` or
    ``<list[Path]>`` to every argument and to every option without a metavar. An argument's
    metavar (``PATH``, ``FILE...``) already names its value; an option without one gets its own
    long name in capitals (``--key-env KEY_ENV``), so an option added later cannot show a type."""
    import typer.core

    def argument_type(self: typer.core.TyperArgument, ctx: Any) -> str:
        return ""

    def option_type(self: typer.core.TyperOption, ctx: Any) -> str:
        longest = max(self.opts, key=len).lstrip("-/")
        return (longest or self.name or "value").replace("-", "_").upper()

    typer.core.TyperArgument.display_type = argument_type  # type: ignore[method-assign,assignment]
    typer.core.TyperOption.display_type = option_type  # type: ignore[method-assign,assignment]


_real_placeholders()

EXIT_INTERRUPTED = gate.EXIT_INTERRUPTED


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"gatekeeper {__version__}")
        raise typer.Exit(0)


@app.callback()
def main(
    ctx: typer.Context,
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
    ctx.obj = _load_checkers  # the commands load the checkers when they need them (commands.loaded)


# --------------------------------------------------------------------------- plugin loading


def _load_checkers() -> tuple[Mapping[str, LoadedChecker], dict[str, Mapping[str, Any] | None]]:
    """Installed checkers and their options (None for a broken plugin): ``gatekeeper.checkers.installed``,
    loaded once per process, so the run and the renderers that present its checks use the same load."""
    from gatekeeper.checkers import installed, policy_options

    checkers = installed()
    return checkers, policy_options(checkers)


# --------------------------------------------------------------------------- check


CHECK_EXAMPLES = """Examples:

  gatekeeper check

  gatekeeper check path/to/project --policy strict.toml --format json,sarif,html

  gatekeeper check --only security,licenses --no-audit

  gatekeeper check --shard 1/3 --results-out part-1.json

  gatekeeper check --subject 'dist/*.whl' --subject 'dist/*.tar.gz'

Exit codes: 0 every enabled check passed; 1 the gate failed (a check violated the policy);
2 usage or policy error (nothing was checked); 3 a check could not run (gate.fail_on_error)."""

_POLICY_HELP = "Policy file (default: discovered)."
_OUTPUT_DIR_HELP = "Where reports go (default: reports.output_dir)."
_NO_AUDIT_HELP = "Do not append to the audit log."
_ONLY_HELP = "Run only these checks (comma-separated)."
_SKIP_HELP = "Skip these checks (comma-separated)."


@app.command(epilog=CHECK_EXAMPLES)
@handles_errors(signals=True)
def check(  # noqa: PLR0913  # one parameter per command-line option
    path: Path = typer.Argument(Path("."), metavar="PATH", help="The project to check."),
    policy_file: Optional[Path] = typer.Option(None, "--policy", metavar="FILE", help=_POLICY_HELP),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", metavar="DIR", help=_OUTPUT_DIR_HELP),
    fmt: Optional[list[str]] = typer.Option(
        None, "--format", metavar="FORMATS", help=f"Report formats, comma-separated: {','.join(FORMAT_NAMES)}."
    ),
    only: Optional[list[str]] = typer.Option(None, "--only", metavar="NAMES", help=_ONLY_HELP),
    skip: Optional[list[str]] = typer.Option(None, "--skip", metavar="NAMES", help=_SKIP_HELP),
    baseline: Optional[Path] = typer.Option(None, "--baseline", metavar="FILE", help="Only findings not in this baseline block."),
    shard: Optional[str] = typer.Option(None, "--shard", metavar="I/N", help="Run share I of N of the work (CI matrix)."),
    results_out: Optional[Path] = typer.Option(
        None, "--results-out", metavar="FILE", help="Also write the JSON result here (for merge)."
    ),
    no_audit: bool = typer.Option(False, "--no-audit", help=_NO_AUDIT_HELP),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the cache."),
    strict_waivers: bool = typer.Option(False, "--strict-waivers", help="Expired or unused waivers fail the gate."),
    bundle_out: Optional[Path] = typer.Option(
        None,
        "--bundle",
        metavar="FILE.zip",
        help="Also write an evidence bundle (reports, SBOM, policy, audit record, attestation, manifest).",
    ),
    subjects: Optional[list[str]] = typer.Option(
        None, "--subject", metavar="FILE", help="A release artifact (path or glob) the attestation names; repeatable."
    ),
) -> int:
    """Run the checks the policy enables and exit with the verdict."""
    request = gate.CheckRequest(
        path=path,
        policy_file=policy_file,
        output_dir=output_dir,
        formats=format_option(fmt),
        audit=not no_audit,
        only=split(only),
        skip=split(skip),
        baseline=baseline,
        shard=shard,
        results_out=results_out,
        use_cache=not no_cache,
        strict_waivers=strict_waivers,
        bundle=bundle_out,
        subjects=tuple(subjects or ()),
    )
    checkers, options = _load_checkers()
    return gate.check(request, checkers, options)


# --------------------------------------------------------------------------- merge, report


@app.command(epilog="Example (the last job of a CI matrix):\n\n  gatekeeper merge parts/part-*.json --format json,sarif,html")
@handles_errors()
def merge(  # noqa: PLR0913  # one parameter per command-line option
    parts: list[Path] = typer.Argument(..., metavar="PART.json", help="JSON results written by check --shard I/N --results-out."),
    path: Path = typer.Option(Path("."), "--project", metavar="DIR", help="The project (for its policy and audit log)."),
    policy_file: Optional[Path] = typer.Option(None, "--policy", metavar="FILE", help=_POLICY_HELP),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", metavar="DIR", help=_OUTPUT_DIR_HELP),
    fmt: Optional[list[str]] = typer.Option(None, "--format", metavar="FORMATS", help="Report formats, comma-separated."),
    no_audit: bool = typer.Option(False, "--no-audit", help=_NO_AUDIT_HELP),
    public_key: Optional[list[Path]] = typer.Option(
        None,
        "--public-key",
        metavar="FILE",
        help="A public key (PEM) that signed the parts; repeatable. A part not signed by one is refused.",
    ),
) -> int:
    """Merge shard results from a CI matrix into one verdict, reports and audit record."""
    request = gate.MergeRequest(
        path=path,
        policy_file=policy_file,
        output_dir=output_dir,
        formats=format_option(fmt),
        audit=not no_audit,
        parts=tuple(parts),
        public_keys=tuple(public_key or ()),
    )
    checkers, options = _load_checkers()
    return gate.merge(request, checkers, options)


@app.command(epilog="Example:\n\n  gatekeeper report gatekeeper-reports/gatekeeper.json --format html,sarif --output-dir out")
@handles_errors()
def report(
    results: Path = typer.Argument(..., metavar="RESULTS.json", help="A gatekeeper.json written by check or merge."),
    fmt: Optional[list[str]] = typer.Option(None, "--format", metavar="FORMATS", help="Formats to render (default: all)."),
    output_dir: Optional[Path] = typer.Option(
        None, "--output-dir", metavar="DIR", help="Where to write (default: beside RESULTS)."
    ),
) -> None:
    """Re-render reports from a JSON result."""
    gate.render(gate.RenderRequest(results=results, formats=format_option(fmt), output_dir=output_dir))


app.command("bundle", epilog=bundle_command.EPILOG)(bundle_command.bundle)


# --------------------------------------------------------------------------- baseline


@baseline_app.command(
    "create",
    epilog="Examples:\n\n  gatekeeper baseline create\n\n  gatekeeper check --baseline .gatekeeper/baseline.json",
)
@handles_errors()
def baseline_create(  # noqa: PLR0913  # one parameter per command-line option
    path: Path = typer.Argument(Path("."), metavar="PATH", help="The project."),
    policy_file: Optional[Path] = typer.Option(None, "--policy", metavar="FILE", help=_POLICY_HELP),
    output: Optional[Path] = typer.Option(
        None, "--output", metavar="FILE", help="Where to write (default: .gatekeeper/baseline.json)."
    ),
    only: Optional[list[str]] = typer.Option(None, "--only", metavar="NAMES", help=_ONLY_HELP),
    skip: Optional[list[str]] = typer.Option(None, "--skip", metavar="NAMES", help=_SKIP_HELP),
    no_audit: bool = typer.Option(False, "--no-audit", help="Do not record the baseline in the audit log."),
) -> None:
    """Run the checks and record today's findings, so that 'check --baseline' blocks only new ones."""
    request = gate.BaselineRequest(
        path=path, policy_file=policy_file, output=output, only=split(only), skip=split(skip), audit=not no_audit
    )
    checkers, options = _load_checkers()
    gate.create_baseline(request, checkers, options)


# --------------------------------------------------------------------------- plugins


@app.command(epilog="Example:\n\n  gatekeeper plugins")
@handles_errors()
def plugins() -> None:
    """List the installed checkers (entry-point group gatekeeper.checkers)."""
    from gatekeeper.checkers import plugin_lines

    for line in plugin_lines():
        _echo(line)


def run() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:  # outside check: nothing to clean up
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":  # pragma: no cover
    run()
