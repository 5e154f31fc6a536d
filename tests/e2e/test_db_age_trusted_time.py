"""The offline advisory database's age, end to end: a real OSV database whose newest record is old,
a real signed run of the dependencies check, a real RFC 3161 token from ``openssl ts``, and
``bundle verify --require-pass --tsa-cert`` judging the age again as of the run's latest possible
start by trusted time (the authority's time less the run's monotonic duration)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from gatekeeper import signing
from gatekeeper.checkers.dependencies import database
from gatekeeper.cli import app
from tests.helpers import osv
from tests.helpers.projects import git_init, only, write
from tests.helpers.tsa import LocalTSA

#: an advisory that affects none of osv.FAKE_DISTS (alpha 1.4 is past its fix): the run finds nothing
HARMLESS = next(r for r in osv.RECORDS if r["id"] == "TEST-2024-OLD")


def _cli(args: list[str]) -> Result:
    return CliRunner().invoke(app, args)


def _project(tmp_path: Path, deps_python: Path, local_tsa: LocalTSA, newest: dt.datetime) -> Path:
    """A committed project auditing ``deps_python`` offline against a database whose one record was modified at ``newest``."""
    root = tmp_path / "proj"
    osv.write_db(root, [{**HARMLESS, "modified": newest.strftime("%Y-%m-%dT%H:%M:%SZ")}], "pypa")
    authority = f'[audit]\ntimestamp_url = "{local_tsa.url}"\ntimestamp_ca = "{local_tsa.pki.ca}"\n'
    extra = (
        f'[environment]\npython = "{deps_python}"\n[checks.dependencies]\nadvisory_db = "advisories"\n'
        "max_db_age_days = 7\nfail_on_unaudited = false\n"  # osv.FAKE_DISTS holds a version no advisory can match
    )
    policy = only("dependencies", extra=extra).replace("[audit]\nenabled = false\n", authority)
    write(root, {"gatekeeper.toml": policy, ".gitignore": "out/\n.gatekeeper/\n"})
    git_init(root)
    commit = ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "start"]
    subprocess.run(["git", *commit], cwd=root, check=True, capture_output=True, timeout=60)
    return root


def _run(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, object]]:
    """A signed, stamped run of the project; its bundle and its audit record."""
    signer = signing.write_key_pair(tmp_path / "gatekeeper.key", tmp_path / "gatekeeper.pub")
    monkeypatch.chdir(root)
    monkeypatch.setenv("GATEKEEPER_AUDIT_KEY", signing.private_pem(signer))
    bundle = tmp_path / "run.zip"
    done = _cli(["check", str(root), "--output-dir", "out", "--bundle", str(bundle)])
    assert done.exit_code == 0, done.output
    with zipfile.ZipFile(bundle) as zf:
        record = json.loads(zf.read("audit/record.jsonl"))
    return bundle, record


def _require_pass(bundle: Path, tmp_path: Path, record: dict[str, object]) -> Result:
    keyed = ["--public-key", str(tmp_path / "gatekeeper.pub"), "--tsa-cert", str(tmp_path / "ca.pem")]
    return _cli(["bundle", "verify", str(bundle), *keyed, "--commit", str(record["commit"]), "--require-pass"])


def _attestation_require_pass(root: Path, tmp_path: Path, record: dict[str, object]) -> Result:
    keyed = ["--public-key", str(tmp_path / "gatekeeper.pub"), "--tsa-cert", str(tmp_path / "ca.pem")]
    envelope = root / "out" / "gatekeeper.intoto.json"
    return _cli(["attestation", "verify", str(envelope), *keyed, "--commit", str(record["commit"]), "--require-pass"])


def _gated(root: Path, tmp_path: Path, record: dict[str, object]) -> tuple[str, str]:
    """(status, kind of pass) of the run's commit in ``audit report --tsa-cert --format csv``'s gated.csv."""
    import csv
    import io

    branch = subprocess.run(["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=root, capture_output=True, text=True,
                            check=True, timeout=60).stdout.strip()  # fmt: skip
    keyed = ["--public-key", str(tmp_path / "gatekeeper.pub"), "--tsa-cert", str(tmp_path / "ca.pem")]
    out = tmp_path / "history"
    done = _cli(
        ["audit", "report", ".gatekeeper/audit.jsonl", *keyed, "--branch", branch, "--format", "csv", "--output", str(out)]
    )
    assert done.exit_code == 0, done.output
    rows = {r["commit"]: r for r in csv.DictReader(io.StringIO((out / "gated.csv").read_text()))}
    return rows[str(record["commit"])]["status"], rows[str(record["commit"])]["kind_of_pass"]


@pytest.mark.slow
def test_a_database_past_its_limit_by_trusted_time_is_refused_though_the_runners_clock_judged_it_fresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, deps_python: Path, local_tsa: LocalTSA
) -> None:
    """The newest record is 7 days 77 minutes old (7.1 days, to one decimal as the check judges), the
    limit 7 days. The runner's clock runs 10 minutes slow, well inside the 15 minutes a stamp may
    follow a record, so the run judges the database 7.0 days old, passes and exits 0 with genuine,
    signed, stamped evidence. By the authority's time less the run's duration the database was 7.1
    days old when the run started, and --require-pass refuses the bundle."""
    from gatekeeper import engine

    now = dt.datetime.now(dt.timezone.utc)
    root = _project(tmp_path, deps_python, local_tsa, now - dt.timedelta(days=7, minutes=77))
    (tmp_path / "ca.pem").write_bytes(local_tsa.pki.ca.read_bytes())
    slow = dt.timedelta(minutes=10)
    real_age, real_run = database.age_days, engine.run_checks
    monkeypatch.setattr(database, "age_days", lambda as_of, now=None: real_age(as_of, (now or engine.utc_now()) - slow))

    def slow_clock(request: engine.RunRequest, *args: object, **kwargs: object) -> object:
        import dataclasses

        return real_run(dataclasses.replace(request, clock=lambda: engine.utc_now() - slow), *args, **kwargs)

    monkeypatch.setattr(engine, "run_checks", slow_clock)
    bundle, record = _run(root, tmp_path, monkeypatch)
    metric = record["checks"]["dependencies"]["metrics"]["database"]  # type: ignore[index]
    assert metric["age_days"] == 7.0 and metric["max_age_days"] == 7  # the runner's clock judged it fresh
    done = _require_pass(bundle, tmp_path, record)
    assert done.exit_code == 1, done.output
    assert "REJECTED: --require-pass: the advisory database (newest record " in done.output
    assert "was 7.1 days old when the run started by trusted time" in done.output
    assert "over checks.dependencies.max_db_age_days = 7: the runner's clock judged it fresh" in done.output
    done = _attestation_require_pass(root, tmp_path, record)  # the attestation's own token, the same rule
    assert done.exit_code == 1, done.output
    assert "--require-pass: the advisory database (newest record " in done.output
    assert "was 7.1 days old when the run started by trusted time (the attestation was stamped" in done.output
    status, kind = _gated(root, tmp_path, record)  # the compliance officer's per-commit view, the same rule
    assert status == "qualified pass", kind
    assert kind.startswith(f"#{record['seq']}: the advisory database (newest record ") and "7.1 days old" in kind


@pytest.mark.slow
def test_an_honest_run_on_a_database_at_its_limit_is_let_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, deps_python: Path, local_tsa: LocalTSA
) -> None:
    """The newest record is 7 days 60 minutes old (7.0 days to one decimal, the check's own rounding)
    and the runner's clock is right: the run passes, and the verifier judges the age as the run did,
    as of its start, without docking the minutes a stamp may follow a record from an honest run."""
    now = dt.datetime.now(dt.timezone.utc)
    root = _project(tmp_path, deps_python, local_tsa, now - dt.timedelta(days=7, minutes=60))
    (tmp_path / "ca.pem").write_bytes(local_tsa.pki.ca.read_bytes())
    bundle, record = _run(root, tmp_path, monkeypatch)
    assert record["checks"]["dependencies"]["metrics"]["database"]["age_days"] == 7.0  # type: ignore[index]
    done = _require_pass(bundle, tmp_path, record)
    assert done.exit_code == 0, done.output
    done = _attestation_require_pass(root, tmp_path, record)
    assert done.exit_code == 0, done.output
    assert "note:" not in done.output  # the statement carries everything the time rule needs
    assert _gated(root, tmp_path, record) == ("gated", "clean")


class _JumpingMonotonic:
    """``time`` as the engine sees it on a runner whose monotonic clock leaps ``by`` seconds once
    ``leap`` is set (a time namespace's offset, libfaketime's timestamp file): the run's stated
    duration grows by that much, while every deadline before it ran on the real clock."""

    def __init__(self, by: float) -> None:
        import time

        self._time, self.by, self.leap = time, by, False

    def __getattr__(self, name: str) -> object:
        return getattr(self._time, name)

    def monotonic(self) -> float:
        return float(self._time.monotonic()) + (self.by if self.leap else 0.0)


@pytest.mark.slow
def test_a_duration_the_runner_inflates_moves_the_judged_start_back_no_more_than_15_minutes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, deps_python: Path, local_tsa: LocalTSA
) -> None:
    """The newest record is 9 days old, the limit 7. The runner's clock reads 2.5 days back as the run
    starts (the check judges the database 6.5 days old and passes) and right as it ends, and its
    monotonic clock leaps 2.5 days with it, so the record says the run took 2.5 days and its start,
    end and duration agree with each other and with the authority. Counted in full, that duration put
    the judged start 2.5 days before the stamp, where the database was fresh; the verifiers count at
    most 15 minutes of it, and refuse the pass."""
    import dataclasses

    from gatekeeper import engine

    now = dt.datetime.now(dt.timezone.utc)
    root = _project(tmp_path, deps_python, local_tsa, now - dt.timedelta(days=9))
    (tmp_path / "ca.pem").write_bytes(local_tsa.pki.ca.read_bytes())
    back = dt.timedelta(days=2, hours=12)
    real_age, real_run = database.age_days, engine.run_checks
    monkeypatch.setattr(database, "age_days", lambda as_of, now=None: real_age(as_of, (now or engine.utc_now()) - back))
    clocks = _JumpingMonotonic(back.total_seconds())
    monkeypatch.setattr(engine, "time", clocks)

    def set_back(request: engine.RunRequest, *args: object, **kwargs: object) -> object:
        calls: list[int] = []

        def clock() -> dt.datetime:  # set back as the run starts, right (and leaping) once its checks are done
            calls.append(1)
            clocks.leap = len(calls) > 1
            return engine.utc_now() - (back if len(calls) == 1 else dt.timedelta(0))

        return real_run(dataclasses.replace(request, clock=clock), *args, **kwargs)

    monkeypatch.setattr(engine, "run_checks", set_back)
    bundle, record = _run(root, tmp_path, monkeypatch)
    assert record["checks"]["dependencies"]["metrics"]["database"]["age_days"] == 6.5  # type: ignore[index]
    assert float(record["duration_s"]) > back.total_seconds()  # type: ignore[arg-type]
    done = _require_pass(bundle, tmp_path, record)
    assert done.exit_code == 1, done.output
    assert "was 9 days old when the run started by trusted time" in done.output
    assert "a verifier counts at most 900 s of a duration the runner states" in done.output
    done = _attestation_require_pass(root, tmp_path, record)
    assert done.exit_code == 1, done.output
    assert "was 9 days old when the run started by trusted time (the attestation was stamped" in done.output
    status, kind = _gated(root, tmp_path, record)
    assert status == "qualified pass", kind
    assert "9 days old" in kind
