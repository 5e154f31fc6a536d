"""What makes an evidence bundle stand alone: its README, the run's attestation and a verifier script.

``README.md`` says what each file of the bundle is, which key signed the run (its key id), the
advisory database's digest and date, where the run's times come from, and how to verify all of it
with gatekeeper and without it (Python's standard library and ``cryptography``, or ``sha256sum``
and ``openssl``). The README, the attestation (``attestation/gatekeeper.intoto.json``, the
envelope the run wrote next to its reports) and ``verify/verify_attestation.py`` are listed in the
manifest like every other file, so none of them can be edited unnoticed by ``bundle verify``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gatekeeper.findings import GateResult

README_FILE = "README.md"
ATTESTATION_FILE = "attestation/gatekeeper.intoto.json"
VERIFY_SCRIPT = "verify/verify_attestation.py"

_WHAT = (
    ("reports/", "the run's reports, each format rendered from the same result (gatekeeper.json is the source of truth)"),
    ("artifacts/", "what the checks wrote, byte for byte (the SBOM)"),
    ("policy/", "the policy the run applied"),
    ("licenses/", "the license of every package, as a table"),
    ("audit/", "the run's audit record, exactly as the log stores it (chained, signed, timestamped)"),
    ("attestation/", "the run's in-toto statement in a DSSE envelope, signed with the run's key"),
    ("verify/", "a verifier for the attestation that needs only Python and the cryptography package"),
    (README_FILE, "this file"),
)


def attestation_bytes(output_dir: Path, results: bytes | None = None) -> bytes | None:
    """The envelope the run wrote into ``output_dir`` (``gatekeeper.intoto.json``), or None when there
    is none; one that does not name ``results`` (the bundle's ``gatekeeper.json``) among its subjects
    is another run's, and a ``UsageError``: a bundle never pairs one run's result with another's attestation."""
    import hashlib

    from gatekeeper.attestation import ENVELOPE_FILE, subject_digests
    from gatekeeper.errors import UsageError

    path = output_dir / ENVELOPE_FILE
    if not path.is_file() or path.is_symlink():
        return None
    data = path.read_bytes()
    if results is not None and hashlib.sha256(results).hexdigest() not in subject_digests(data):
        raise UsageError(
            "the attestation beside the result is of another run: its statement does not name this gatekeeper.json",
            file=str(path),
            hint="bundle the result from the folder its own run wrote (with its gatekeeper.intoto.json), or move the other out",
        )
    return data


def key_id(attestation: bytes | None) -> str:
    """The key id of the attestation's first signature ("" when it is unsigned or unreadable)."""
    try:
        signatures = json.loads(attestation or b"{}").get("signatures") or []
        return str(signatures[0].get("keyid") or "") if signatures else ""
    except (ValueError, AttributeError, TypeError, RecursionError):
        return ""


def advisory_database(result: GateResult) -> dict[str, Any] | None:
    """The advisory database the dependencies check read: its digest (DigestSet), date and kind; None when it did not run."""
    check = result.check("dependencies")
    info = check.metrics.get("database") if check is not None else None
    if not isinstance(info, Mapping):
        return None
    return {k: info[k] for k in ("kind", "digest", "as_of", "source_url", "queried_at") if info.get(k) not in (None, "", {})}


def guide_files(result: GateResult, files: Mapping[str, bytes], attestation: bytes | None) -> dict[str, bytes]:
    """The attestation, the verifier script and the README for a bundle of ``files``."""
    out: dict[str, bytes] = {}
    if attestation is not None:
        out[ATTESTATION_FILE] = attestation
    out[VERIFY_SCRIPT] = (Path(__file__).parent / "verify_attestation.py").read_bytes()
    names = sorted([*files, *out, README_FILE])
    out[README_FILE] = readme(result, names, attestation).encode("utf-8")
    return out


def _facts(result: GateResult, attestation: bytes | None) -> list[str]:
    kid = key_id(attestation)
    clock = result.extra.get("clock")
    note = str(clock.get("note")) if isinstance(clock, Mapping) else "not recorded (a result from before clocks were recorded)"
    db = advisory_database(result)
    if db is None:
        database = "none (the dependencies check did not run)"
    elif db.get("kind") == "online":
        database = f"the online service, queried {db.get('queried_at', '?')} (no digest: a service has none)"
    else:
        digest = ", ".join(f"{k}:{v}" for k, v in sorted((db.get("digest") or {}).items())) or "not recorded"
        database = f"{digest}, newest record {db.get('as_of', '?')}"
    stamped = b'"timestamp"' in (attestation or b"")
    return [
        f"- Commit: `{result.repository.get('commit') or 'not recorded'}`",
        f"- Verdict: **{result.verdict.value}**{_partial(result)}, finished {result.finished_at}",
        f"- Signing key id: `{kid}`" if kid else "- Signing key id: none: the run was NOT signed, nothing here is authenticated",
        f"- Advisory database: {database}",
        f"- Times: {note}",
        "- Trusted timestamp: the attestation carries an RFC 3161 token" if stamped else "- Trusted timestamp: none",
    ]


def _partial(result: GateResult) -> str:
    """`` (partial run: …)`` after the verdict of a run that left some of the policy's checks out; else ""."""
    from gatekeeper.gated import partial_note

    scope = result.extra.get("scope")
    if not isinstance(scope, Mapping) or scope.get("complete") is not False:
        return ""
    return f" ({partial_note(scope)}: a partial run gates no commit)"


def readme(result: GateResult, names: list[str], attestation: bytes | None) -> str:
    """The bundle's README.md (Markdown): facts, contents, and the verification commands."""
    lines = ["# gatekeeper evidence bundle", "", *_facts(result, attestation), "", "## Contents", ""]
    for name in names:
        what = next((text for prefix, text in _WHAT if name == prefix or name.startswith(prefix)), "")
        lines.append(f"- `{name}`" + (f": {what}" if what else ""))
    lines += ["- `manifest.json`: the sha256 and size of every file above (and the manifest's signature)", ""]
    lines += _VERIFY.splitlines()
    return "\n".join(lines) + "\n"


_VERIFY = """## Verify with gatekeeper

```sh
gatekeeper bundle verify BUNDLE.zip --public-key gatekeeper.pub --tsa-cert tsa-ca.pem
#   every file against manifest.json, the manifest's signature, the audit record behind the result; the timestamps
#   add --commit SHA --require-pass --policy APPROVED.toml (or --policy-sha256 HEX) to hold the record to what you approved
unzip -q BUNDLE.zip -d bundle && cd bundle
gatekeeper attestation verify attestation/gatekeeper.intoto.json --public-key gatekeeper.pub \\
    --subject reports/gatekeeper.json --subject artifacts/sbom/*.json --tsa-cert tsa-ca.pem
```

`gatekeeper.pub` is the public key whose id is named above (published by whoever runs the gate,
never taken from this bundle); `tsa-ca.pem` is the CA certificate that issued the timestamp authority's
certificate (the gate's `timestamp_ca`), not the authority's own certificate. Each timestamp is
checked as of its own time, when the authority signed it: a token made while the certificate was
valid still verifies once it has expired (gatekeeper says it has expired since); one dated after it
expired, or before it was issued, does not. Given `--tsa-cert`, a record or attestation without a
token fails verification: its times would be the signer's word alone.

## Verify without gatekeeper

In the unzipped folder, with Python 3 and the `cryptography` package (`pip install cryptography`):

```sh
python3 - <<'CHECK'
import hashlib, json
files = json.load(open("manifest.json"))["files"]
bad = [f["path"] for f in files if hashlib.sha256(open(f["path"], "rb").read()).hexdigest() != f["sha256"]]
print("changed: " + ", ".join(bad) if bad else "every file matches manifest.json")
CHECK
python3 verify/verify_attestation.py attestation/gatekeeper.intoto.json gatekeeper.pub reports/gatekeeper.json
#   add --commit SHA --require-pass --policy-sha256 HEX (the approved effective policy's sha256) to gate on it
```

The first line only proves the files agree with `manifest.json`, which anyone rewriting the bundle
could recompute; the second proves, with the public key alone, that the run's key signed a statement
naming these reports by their sha256 (read the script first: it is short). With `sha256sum` and `jq`,
the first check is `jq -r '.files[] | "\\(.sha256)  \\(.path)"' manifest.json | sha256sum -c -`.

A trusted timestamp is an RFC 3161 token over the sha256 of the envelope's DSSE PAE; check it with openssl:

```sh
python3 - > digest.txt <<'PAE'
import base64, hashlib, json
e = json.load(open("attestation/gatekeeper.intoto.json"))
p, t = base64.b64decode(e["payload"]), e["payloadType"].encode()
open("token.der", "wb").write(base64.b64decode(e["timestamp"]["token"]))
print(hashlib.sha256(b"DSSEv1 %d %s %d %s" % (len(t), t, len(p), p)).hexdigest())
PAE
openssl ts -verify -digest "$(cat digest.txt)" -token_in -in token.der -CAfile tsa-ca.pem
openssl ts -reply -token_in -in token.der -text | grep 'Time stamp'
```

openssl checks the authority's certificate as valid today. Check the token as of its own time, when
the authority signed it (as `gatekeeper bundle verify` does, which also refuses a token dated before
the certificate was issued): add `-attime` with that time in seconds, e.g.
`-attime "$(date -d 'Dec  7 03:30:00 2026 GMT' +%s)"` for the `Time stamp` line above."""
