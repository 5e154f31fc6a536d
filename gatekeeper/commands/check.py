"""``gatekeeper check``, ``merge`` and ``report``: the gate's own sequences (``gatekeeper.gate``),
each command turning its options into a request and the answer into the exit code."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from gatekeeper import gate
from gatekeeper.checkline import check_command
from gatekeeper.commands import formats as format_option
from gatekeeper.commands import handles_errors, load_checkers
from gatekeeper.reports.registry import FORMAT_NAMES

#: ``--format``'s help, from the one list of report formats
FORMAT_HELP = f"Report formats, comma-separated: {','.join(FORMAT_NAMES)}."

CHECK_EPILOG = """Examples:

  gatekeeper check

  gatekeeper check path/to/project --policy strict.toml --format json,sarif,html

  gatekeeper check --only security,licenses --no-audit

  gatekeeper check --shard 1/3 --results-out part-1.json

  gatekeeper check --subject 'dist/*.whl' --subject 'dist/*.tar.gz'

Exit codes: 0 every enabled check passed; 1 the gate failed (a check violated the policy);
2 usage or policy error (nothing was checked); 3 a check could not run (gate.fail_on_error), or, whatever
it says, the run cannot vouch for the tree it judged or its evidence (the checkout changed or was refused, a
--subject file changed, the timestamp authority failed); 130 / 143 interrupted by Ctrl-C / SIGTERM (no report;
the audit log records the interrupted run)."""

POLICY_HELP = "Policy file (default: discovered)."
OUTPUT_DIR_HELP = "Where reports go (default: reports.output_dir)."
NO_AUDIT_HELP = "Do not append to the audit log."
ONLY_HELP = "Run only these checks (comma-separated)."
SKIP_HELP = "Skip these checks (comma-separated)."


@handles_errors(signals=True)
def check(  # noqa: PLR0913  # one parameter per command-line option
    path: Path = typer.Argument(Path("."), metavar="PATH", help="The project to check."),
    policy_file: Optional[Path] = typer.Option(None, "--policy", metavar="FILE", help=POLICY_HELP),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", metavar="DIR", help=OUTPUT_DIR_HELP),
    fmt: Optional[list[str]] = typer.Option(None, "--format", metavar="FORMATS", help=FORMAT_HELP),
    only: Optional[list[str]] = typer.Option(None, "--only", metavar="NAMES", help=ONLY_HELP),
    skip: Optional[list[str]] = typer.Option(None, "--skip", metavar="NAMES", help=SKIP_HELP),
    baseline: Optional[Path] = typer.Option(None, "--baseline", metavar="FILE", help="Only findings not in this baseline block."),
    new_code_since: Optional[str] = typer.Option(
        None, "--new-code-since", metavar="REF", help="Only findings new since this git ref block; thresholds compare with REF's."
    ),
    new_code_result: Optional[Path] = typer.Option(
        None, "--new-code-result", metavar="FILE", help="REF's stored gatekeeper.json (else REF is checked in a worktree)."
    ),
    shard: Optional[str] = typer.Option(None, "--shard", metavar="I/N", help="Run share I of N of the work (CI matrix)."),
    results_out: Optional[Path] = typer.Option(
        None, "--results-out", metavar="FILE", help="Also write the JSON result here (for merge)."
    ),
    no_audit: bool = typer.Option(False, "--no-audit", help=NO_AUDIT_HELP),
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
    public_key: Optional[list[Path]] = typer.Option(
        None,
        "--public-key",
        metavar="FILE",
        help="A public key (PEM) that signed --new-code-result's FILE; repeatable. A FILE not signed by one is refused.",
    ),
) -> int:
    """Run the checks the policy enables and exit with the verdict."""
    return check_command(
        path=path,
        policy_file=policy_file,
        output_dir=output_dir,
        fmt=fmt,
        only=only,
        skip=skip,
        baseline=baseline,
        new_code_since=new_code_since,
        new_code_result=new_code_result,
        shard=shard,
        results_out=results_out,
        no_audit=no_audit,
        no_cache=no_cache,
        strict_waivers=strict_waivers,
        bundle_out=bundle_out,
        subjects=subjects,
        public_key=public_key,
    )


@handles_errors()
def merge(  # noqa: PLR0913  # one parameter per command-line option
    parts: list[Path] = typer.Argument(..., metavar="PART.json", help="JSON results written by check --shard I/N --results-out."),
    path: Path = typer.Option(Path("."), "--project", metavar="DIR", help="The project (for its policy and audit log)."),
    policy_file: Optional[Path] = typer.Option(None, "--policy", metavar="FILE", help=POLICY_HELP),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", metavar="DIR", help=OUTPUT_DIR_HELP),
    fmt: Optional[list[str]] = typer.Option(None, "--format", metavar="FORMATS", help=FORMAT_HELP),
    no_audit: bool = typer.Option(False, "--no-audit", help=NO_AUDIT_HELP),
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
    checkers, options = load_checkers(path)
    return gate.merge(request, checkers, options)


@handles_errors()
def report(
    results: Path = typer.Argument(..., metavar="RESULTS.json", help="A gatekeeper.json written by check or merge."),
    fmt: Optional[list[str]] = typer.Option(None, "--format", metavar="FORMATS", help=f"{FORMAT_HELP} Default: all."),
    output_dir: Optional[Path] = typer.Option(
        None, "--output-dir", metavar="DIR", help="Where to write (default: beside RESULTS)."
    ),
) -> None:
    """Re-render reports from a JSON result."""
    gate.render(gate.RenderRequest(results=results, formats=format_option(fmt), output_dir=output_dir))


MERGE_EPILOG = "Example (the last job of a CI matrix):\n\n  gatekeeper merge parts/part-*.json --format json,sarif,html"
REPORT_EPILOG = "Example:\n\n  gatekeeper report gatekeeper-reports/gatekeeper.json --format html,sarif --output-dir out"
