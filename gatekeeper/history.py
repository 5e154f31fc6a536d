"""The history page: one self-contained HTML file from the audit log, for auditors.

It opens with the chain's verification (a broken chain is stated at the top and every run from the
bad line on is marked, never hidden), then the period's controls (runs passing, passing with
exceptions, failing, not evidenced), the gated changes of a branch, the policy's changes, every
exception (waiver), trends of the key metrics as inline SVG charts with table alternatives, and
every run with its CI run, kept reports and per-check status. Rendered with jinja2 (autoescaping
on) from ``report_templates/history.html.j2``; the page has no script and its Content-Security-Policy
forbids loading anything, so it opens offline years later. Every value comes from the log's records,
except what the repository's history adds (first-parent commits, policy texts by digest) and the
kept reports found by their recorded sha256.

A log of 10,000 runs renders in about a second: each line is read and parsed once, for the
verification and the page alike; each run becomes one small tuple, not a tree of dicts; the run
table, most of the page, is joined from strings escaped here (each distinct status, branch or actor
once) rather than through the template cell by cell; and the garbage collector is paused meanwhile.
"""

from __future__ import annotations

import datetime as dt
import gc
import html
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from markupsafe import Markup

from gatekeeper.audit import Verification, read_records, verify_log
from gatekeeper.gated import EVENTS as EVENTS
from gatekeeper.gated import Acceptance, GatedChanges
from gatekeeper.history_charts import ChartSpec, Series, render_charts
from gatekeeper.history_period import controls, exceptions, policy_changes
from gatekeeper.history_run import TREND_SERIES, as_dict, policy_files
from gatekeeper.history_run import Run as Run
from gatekeeper.history_run import run_view as run_view  # re-exported
from gatekeeper.reports._common import MISSING
from gatekeeper.signing import Keyring

TEMPLATE = "history.html.j2"

_WAIVER_KINDS = ("applied", "expired", "unused")


@dataclass(frozen=True)
class Period:
    """Which runs a report covers: days ``since``..``until`` (inclusive, UTC), one ``branch``, one
    ``event`` kind (``EVENTS``); None for no limit."""

    since: dt.date | None = None
    until: dt.date | None = None
    branch: str | None = None
    event: str | None = None

    def describe(self) -> str:
        """The period in words, for headings and the running header of a printed page."""
        days = f"{self.since or 'the first run'} to {self.until or 'the last run'}"
        bits = [days] + [f"{k} {v}" for k, v in (("branch", self.branch), ("event", self.event)) if v]
        return "; ".join(bits)


@dataclass(frozen=True)
class HistoryPage:
    """``history_page``'s outcome: the HTML, the chain's verification, the number of records read (one
    per line), the runs of the period and the kept reports (for the CSV exports)."""

    html: str
    verification: Verification
    records: int
    runs: Sequence[Run] = ()
    kept: Mapping[str, Path] = field(default_factory=dict)  # kept reports: sha256 -> file
    gated: GatedChanges | None = None  # the branch's commits and how each was gated (``--branch`` with a checkout)


@dataclass(frozen=True)
class PageFacts:
    """What the history page says about itself and what it joins from outside the log: the log, when
    it was made, by which gatekeeper, the period, whether signatures were checked, the branch's
    gated changes, policy texts by digest and kept reports by digest (``{sha256: file}``, linked
    relative to ``page_dir``, the folder the page is written to)."""

    log_name: str
    generated_at: str
    period: Period = Period()
    tool_version: str = ""
    key_checked: bool = False
    project: str = ""
    gated: GatedChanges | None = None
    policy_texts: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    reports: Mapping[str, Path] = field(default_factory=dict)
    page_dir: Path | None = None


def history_page(  # noqa: PLR0913  # the log, how to verify it (keys, prefix, authority), what to join
    log: Path,
    key: Keyring | bytes | None = None,
    facts: PageFacts | None = None,
    joins: Joins | None = None,
    accept_prefix: int = 0,
    tsa_ca: Path | None = None,
    retired: Mapping[str, str] | None = None,
) -> HistoryPage:
    """Verify ``log``'s chain (and, with keys, authenticate every record) and render its history page.

    Each line is read and parsed once: the records the verification parsed are the page's runs, and
    past a break the rest of the log is read as it stands (every line listed, marked). ``joins``,
    when given, adds what the repository and kept reports say (see ``Joins``). Without keys the page
    never shows the chain as intact: "chain consistent, not authenticated". ``accept_prefix``: as
    ``audit.verify_log``. ``tsa_ca``: the records' RFC 3161 timestamps are checked against it (as
    ``audit verify --tsa-cert`` does), and the first record whose times do not hold breaks the page
    there: it and every record after it are marked, and no commit they name counts as gated; so does
    a record signed by a key ``retired`` ({key id: time}, ``gatekeeper.keyretire``) since a time no
    token fixes it before.
    """
    facts = facts or PageFacts(log_name=str(log), generated_at="")
    with _collector_paused():  # the records are freed before collection resumes
        verified: list[dict[str, Any]] = []
        verification = verify_log(log, key, collect=verified, accept_prefix=accept_prefix)
        if tsa_ca is not None and verification.ok:
            trusted = key.ids() if isinstance(key, Keyring) else []
            verification, verified, fixed = _times_checked(verification, verified, tsa_ca, (retired or {}, trusted))
            if joins is not None:  # a pass's waivers and database age are judged again by trusted time
                joins = replace(joins, accept=replace(joins.accept, stamped=fixed))
        facts = _replace_facts(facts, key_checked=verification.keys_given)
        records = verified
        if not verification.ok:  # the verified records are lines 1..n; read the rest as they stand
            records = verified + read_records(log, first=len(verified) + 1)
        if joins is not None:
            facts = joins.apply(facts, verified, records)
        if not facts.generated_at:
            facts = _replace_facts(facts, generated_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        runs = select_runs(records, verification, facts.period)
        page = render_history(runs, verification, facts, len(records))
        return HistoryPage(page, verification, len(records), runs, facts.reports, facts.gated)


def _times_checked(
    verification: Verification, verified: list[dict[str, Any]], ca: Path, retired: tuple[Mapping[str, str], list[str]]
) -> tuple[Verification, list[dict[str, Any]], tuple[tuple[int, str], ...]]:
    """``verification`` broken at the first record whose timestamp does not hold against ``ca`` (a
    token that does not verify, a clock the authority contradicts, a record backdated behind the
    ones ahead of it, records after the last one a token fixes, a record signed by a key ``retired[0]``
    since a time no token fixes it before, but for a hand-over to a key of ``retired[1]``), and the
    records verified before it; unchanged when every time holds. Also (seq, genTime) of each record whose
    own token verified."""

    from gatekeeper.keyretire import log_problems
    from gatekeeper.timestamp import check_records, tail_problem

    found = check_records(verified, ca)
    tail = tail_problem(found)
    breaks = [(seq, f"line {seq}: {words}") for seq, words in log_problems(verified, found.fixed, *retired)][:1]
    if found.problems and found.first_problem is not None:
        first = found.first_problem
        breaks.append((first, f"line {first}: its times do not hold against {ca}: {found.problems[0]}"))
    if tail is not None:  # records no token fixes: the key's word alone
        breaks.append((found.unpinned[0], f"line {found.unpinned[0]}: {tail}"))
    if not breaks:
        return verification, verified, found.fixed
    seq, problem = min(breaks)
    kept = verified[: seq - 1]
    broken = replace(verification, problem=problem, line=seq, records=len(kept), authenticated=False)
    return broken, kept, tuple((s, t) for s, t in found.fixed if s < seq)


@dataclass(frozen=True)
class Joins:
    """What ``history_page`` joins from outside the log: the git repository ``repo`` (the gated
    changes of ``branch``, the policy texts by digest) and the folders of kept reports."""

    repo: Path | None = None
    branch: str | None = None
    report_dirs: tuple[Path, ...] = ()
    root: Path | None = None  # where recorded report paths (relative) are looked for
    accept: Acceptance = field(default_factory=Acceptance)  # what a pass must be to gate a commit (``gated``)

    def apply(self, facts: PageFacts, verified: Sequence[Mapping[str, Any]], records: Sequence[Mapping[str, Any]]) -> PageFacts:
        """``facts`` with the gated changes, policy texts and kept reports filled in."""
        from gatekeeper.gated import gated_changes, policy_texts
        from gatekeeper.history_export import find_reports

        period = facts.period
        gated = None
        texts: dict[str, tuple[str, str]] = {}
        valid = [r for r in records if not r.get("invalid")]
        if self.repo is not None:
            if self.branch:
                gated = gated_changes(self.repo, self.branch, verified, period.since, period.until, self.accept)
            files = {f for r in valid for f in policy_files(as_dict(r.get("policy")))}
            texts = policy_texts(self.repo, {f[1] for f in files}, {f[2] for f in files})
        digests = {str(d) for r in valid for d in as_dict(r.get("reports")).values()}
        names = {str(n) for r in valid for n in as_dict(r.get("reports"))}
        reports = find_reports(self.report_dirs, digests, names, self.root)
        return _replace_facts(facts, gated=gated, policy_texts=texts, reports=reports)


def _replace_facts(facts: PageFacts, **changes: Any) -> PageFacts:
    from dataclasses import replace

    return replace(facts, **changes)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: parsed JSON has no reference cycles (reference counting frees
    it), yet the hundreds of thousands of dicts and lists a long log parses into trigger collection after
    collection, each walking every object alive; on a 10,000-run log that cost as much as the parsing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def select_runs(records: Sequence[Mapping[str, Any]], verification: Verification, period: Period) -> list[Run]:
    """The runs of ``records`` (the whole log, in order) within ``period``; lines past a break are marked suspect."""
    broken_line = verification.line if not verification.ok else None
    since = period.since.isoformat() if period.since else None
    until = period.until.isoformat() if period.until else None
    out = []
    for number, rec in enumerate(records, 1):
        run = run_view(rec, number, broken_line is not None and number >= broken_line)
        if (since or until) and not _is_date(run.date):
            continue
        if (since and run.date < since) or (until and run.date > until):  # ISO dates compare as strings
            continue
        if period.branch is not None and run.branch != period.branch:
            continue
        if period.event is not None and run.event != period.event:
            continue
        out.append(run)
    return out


def render_history(runs: Sequence[Run], verification: Verification, facts: PageFacts, total: int | None = None) -> str:
    """The history page for ``runs`` (those of the period, in log order) with the chain's ``verification``."""
    from gatekeeper.escapes import visible
    from gatekeeper.reports.html import _asset, _environment, print_style

    total = len(runs) if total is None else total
    check_names = sorted({name for r in runs for name in r.checks})
    template = _environment().get_template(TEMPLATE)
    period = facts.period.describe()
    return visible(
        template.render(  # bidirectional controls in a record's text shown as escapes, never obeyed
            csp="default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
            style=Markup(_asset("report.css")),  # noqa: S704  # nosec B704: our own shipped stylesheet
            print_style=print_style(f"gatekeeper audit history: {facts.project or facts.log_name}", period, landscape=True),
            log_name=facts.log_name,
            project=facts.project,
            generated_at=facts.generated_at,
            tool_version=facts.tool_version,
            period=facts.period,
            period_text=period,
            verification=_verification_view(verification, total, facts.key_checked),
            runs=runs,
            run_rows=_run_rows(runs, check_names, _hrefs(facts.reports, facts.page_dir)),
            check_names=check_names,
            charts=_charts(runs),
            exceptions=exceptions(runs),
            controls=controls(runs),
            policies=policy_changes(runs, facts.policy_texts),
            gated=facts.gated,
            verdicts=_verdict_counts(runs),
            first=runs[0].time if runs else MISSING,
            last=runs[-1].time if runs else MISSING,
        )
    )


def _verification_view(v: Verification, total: int, key_checked: bool) -> dict[str, Any]:
    if v.ok and v.authenticated:
        note = f"All {v.signed} signatures are valid under the keys given."
        if v.rotations:
            note += " Key rotations: " + "; ".join(f"record #{seq} hands over from {a} to {b}" for seq, a, b in v.rotations) + "."
        if v.accepted:
            note += f" Records #1..#{v.accepted} were accepted without authentication, as the verifier asked."
        return {
            "ok": True, "badge": "INTACT", "badge_class": "status-pass",
            "title": f"Chain intact and authenticated: {v.records} record(s) verified",
            "detail": f"head sha256 {v.head}", "note": note,
        }  # fmt: skip
    if v.ok:
        signed = f"{v.unchecked} record(s) carry signatures that were not checked. " if v.unchecked else ""
        return {
            "ok": True, "badge": "NOT AUTHENTICATED", "badge_class": "status-skipped",
            "title": f"Chain consistent, not authenticated ({v.records} record(s))",
            "detail": f"head sha256 {v.head}",
            "note": f"{signed}No key was given: anyone able to write the log could have rewritten it and recomputed "
            "its chain. Pass --public-key to authenticate it.",
        }  # fmt: skip
    if v.unauthenticated:
        return {
            "ok": False, "badge": "NOT AUTHENTICATED", "badge_class": "status-fail",
            "title": "Chain consistent but NOT AUTHENTICATED (no trusted key vouches for part of this log)",
            "detail": f"{v.problem}. Records from line {v.line} on cannot be trusted; they are still listed below, marked.",
            "note": f"{v.records} of {total} record(s) verified before it.", "line": v.line,
        }  # fmt: skip
    return {
        "ok": False, "badge": "BROKEN", "badge_class": "status-fail",
        "title": "Chain BROKEN: this log was altered",
        "detail": f"{v.problem}. Records from line {v.line} on cannot be trusted; they are still listed below, marked.",
        "note": f"{v.records} of {total} record(s) verified before the break.",
        "line": v.line,
    }  # fmt: skip


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _run_rows(runs: Sequence[Run], check_names: Sequence[str], reports: Mapping[str, str]) -> Markup:
    """The rows of the run table, newest first.

    With 10,000 runs this table is most of the page, and escaping its values cell by cell in the
    template took seconds; it is built here instead, every value passed through ``html.escape``.
    """
    cache: dict[str, str] = {}

    def e(text: str) -> str:  # statuses, branches and actors repeat: escape each distinct value once
        out = cache.get(text)
        if out is None:
            out = cache[text] = html.escape(text)
        return out

    def cell(status: str | None) -> str:
        return f'<td class="st st-{e(status or "")}">{e(status or MISSING)}</td>'  # a status is never ""

    cells_of: dict[tuple[str | None, ...], str] = {}  # most runs repeat one of a few status combinations
    rows = []
    width = 11 + len(check_names)
    for r in reversed(runs):
        suspect = " suspect" if r.suspect else ""
        if r.invalid:
            note = f"line {r.line} is not a valid audit record"
            rows.append(f'<tr class="invalid{suspect}"><td>?</td><td colspan="{width - 1}">{note}</td></tr>')
            continue
        statuses = tuple([r.checks.get(n) for n in check_names])
        cells = cells_of.get(statuses)
        if cells is None:
            cells = cells_of[statuses] = "".join([cell(s) for s in statuses])
        kinds = zip(_WAIVER_KINDS, (r.applied, r.expired, r.unused), strict=True)
        waivers = " ".join([f"{k} {', '.join(ids)}" for k, ids in kinds if ids])
        css = r.status.replace(" ", "-")
        dirty = " <strong>dirty</strong>" if r.dirty else ""
        scope = f'<br><span class="muted">{e(r.scope)}</span>' if r.scope else ""
        rows.append(
            f'<tr class="run{suspect}"><td>{html.escape(r.seq)}</td><td>{html.escape(r.time)}</td><td>{e(r.command)}</td>'
            f"<td><code>{html.escape(r.commit[:12] or MISSING)}</code>{dirty}</td><td>{e(r.branch)}</td><td>{e(r.event)}</td>"
            f'<td>{e(r.actor)}</td><td>{_ci_cell(r)}</td><td class="verdict-cell-{e(css)}">{e(r.status)}{scope}</td>'
            f"{cells}<td>{e(waivers)}</td><td>{_reports_cell(r, reports)}</td></tr>"
        )
    if not rows:
        rows.append(f'<tr><td colspan="{width}">No run in this period.</td></tr>')
    return Markup("\n".join(rows))  # noqa: S704  # nosec B704: every value above went through html.escape


def _hrefs(reports: Mapping[str, Path], page_dir: Path | None) -> dict[str, str]:
    """Links to the kept reports: relative to the page's folder where they can be, else file URIs."""
    out = {}
    for digest, path in reports.items():
        try:
            out[digest] = (
                Path(os.path.relpath(path.resolve(), page_dir.resolve())).as_posix() if page_dir else path.resolve().as_uri()
            )
        except ValueError:
            out[digest] = path.resolve().as_uri()
    return out


def _ci_cell(r: Run) -> str:
    label = html.escape(r.ci_label or ("CI run" if r.ci_url else MISSING))
    return f'<a href="{html.escape(r.ci_url)}" rel="noreferrer noopener">{label}</a>' if r.ci_url else label


def _reports_cell(r: Run, reports: Mapping[str, str]) -> str:
    links = []
    for name, digest in sorted(r.reports.items()):
        href = reports.get(digest)
        if href:
            links.append(f'<a href="{html.escape(href)}">{html.escape(name.rsplit("/", 1)[-1])}</a>')
    return " ".join(links) if links else '<span class="muted">not kept</span>' if r.reports else MISSING


def _verdict_counts(runs: Sequence[Run]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for r in runs:
        if not r.invalid:
            counts[r.status] = counts.get(r.status, 0) + 1
    return sorted(counts.items())


def _charts(runs: Sequence[Run]) -> list[dict[str, Any]]:
    valid = [r for r in runs if not r.invalid]
    # one pass over the runs: their metric tuples transposed into one column per metric
    columns = dict.fromkeys(TREND_SERIES, ())
    if valid:
        columns = dict(zip(TREND_SERIES, zip(*[r.metrics for r in valid], strict=True), strict=True))

    def values(key: str) -> list[float | None]:
        return list(columns[key])

    def waivers(kind: str) -> list[float | None]:  # a partial run may not have run the waived checks: a gap
        return [None if r.scope.startswith("partial") else float(len(getattr(r, kind))) for r in valid]

    specs = [  # each chart's series bottom first: the one that matters most is drawn last, on top
        ChartSpec("chart-coverage", "Total coverage (%)", [Series("coverage", "s-cov", values("coverage"))], 100.0,
                  values("coverage_min"), "minimum"),
        ChartSpec("chart-vulnerabilities", "Known vulnerabilities",
                  [Series("vulnerabilities", "s-vuln", values("vulnerabilities"), "square")]),
        ChartSpec("chart-security", "Security findings by severity", [
            Series("low", "s-low", values("sec_low"), "circle", "2 3"),
            Series("medium", "s-medium", values("sec_medium"), "square", "7 3"),
            Series("high", "s-high", values("sec_high"), "triangle"),
        ]),
        ChartSpec("chart-licenses", "Licenses denied", [Series("denied", "s-denied", values("denied"), "diamond")]),
        ChartSpec("chart-waivers", "Waivers per run", [
            Series("unused", "s-unused", waivers("unused"), "circle", "2 3"),
            Series("expired", "s-expired", waivers("expired"), "cross", "7 3"),
            Series("applied", "s-applied", waivers("applied"), "square"),
        ]),
    ]  # fmt: skip
    return render_charts(specs, [r.time for r in valid], [r.seq for r in valid])
