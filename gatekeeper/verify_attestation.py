"""Verify a gatekeeper attestation without gatekeeper: Python's standard library and ``cryptography``.

Copy this file anywhere (evidence bundles carry it as ``verify/verify_attestation.py``) and run:

    python verify_attestation.py gatekeeper.intoto.json gatekeeper.pub [FILE ...] [--commit SHA]
                                 [--require-pass [--accept-baseline] [--folder PATH]] [--policy-sha256 HEX]

It checks that the DSSE envelope's signature over PAE(payloadType, payload) verifies with the
Ed25519 public key, that the payload is an in-toto Statement v1 of gatekeeper's predicate, and that
each FILE's sha256 is one of the statement's subjects; then it prints the verdict (for a partial run,
with the checks that did not run) and the commit (its ``gitCommit`` subject; a statement whose
predicate names another commit is refused). Authentic is not passing: ``--commit SHA`` refuses
a statement about another commit (an old passing run's attestation replayed for a new one),
``--require-pass`` one whose verdict is not pass or whose run was partial or not said complete (or judged a work tree whose
tracked files differed from the commit, or one folder of the repository other than ``--folder``, or
rests on findings a baseline let through, unless ``--accept-baseline``), and ``--policy-sha256
HEX`` one of a run judged under another policy (HEX: the effective policy's sha256, which covers
every file the policy was built from, its waivers included).
Exit 0 when everything holds, 1 otherwise, 2 for bad arguments (a file that is not an envelope or an
Ed25519 public key). It imports nothing from gatekeeper, on purpose.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import sys
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://gatekeeper.dev/attestation/gate/v1"
#: a commit named in full (SHA-1 or SHA-256): an abbreviation can be matched by a commit made to share it
_FULL_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def key_id_of(key: Ed25519PublicKey) -> str:
    """The key's id as gatekeeper names it (``sha256:`` and the hex sha256 of the raw 32-byte public key)."""
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def b64decode(text: str) -> bytes:
    """Standard or URL-safe base64, as DSSE allows both."""
    padded = text + "=" * (-len(text) % 4)
    return base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)


def pae(payload_type: str, body: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(body), body)


def _commit_subjects(statement: dict[str, Any]) -> set[str]:
    """The commits the statement names as ``gitCommit`` subjects (lower case)."""
    subjects = statement.get("subject")
    return {
        str(s["digest"]["gitCommit"]).lower()
        for s in (subjects if isinstance(subjects, list) else [])
        if isinstance(s, dict) and isinstance(s.get("digest"), dict) and "gitCommit" in s["digest"]
    }


def stated_commit(statement: dict[str, Any]) -> tuple[str, str]:
    """(the commit the statement is about, why it cannot say one: "" when it can). The commit is its
    one ``gitCommit`` subject, which ``--commit`` checks; the predicate's ``repository.commit`` must
    be that same commit (or unsaid; without a subject: no full commit id), else the statement names two commits
    and is refused, so that what a verifier prints is always what it checked."""
    named = _commit_subjects(statement)
    predicate = statement.get("predicate")
    repository = predicate.get("repository") if isinstance(predicate, dict) else None
    said = str(repository.get("commit") or "") if isinstance(repository, dict) else ""
    if len(named) > 1:
        return "", f"the statement names {len(named)} gitCommit subjects ({', '.join(sorted(named))}): it is about no one commit"
    subject = next(iter(named), "")
    # a predicate silent on the commit contradicts nothing; one that is no full commit id gets no subject
    if said and said.lower() != subject and (subject or _FULL_ID.fullmatch(said.lower())):
        return "", (
            f"the statement's predicate says commit {said or 'none'}, but its gitCommit subject is {subject or 'none'}: "
            "gatekeeper writes the same commit in both, so it was signed with two different commits"
        )
    return subject, ""


def commit_problem(statement: dict[str, Any], commit: str | None) -> str:
    """Why ``--commit`` refuses the statement ("" when it is about that commit, or none was asked):
    only a full id counts, since any commit can be made to start with a chosen prefix. The same
    rule for ``gatekeeper attestation verify``, which calls this."""
    if commit is None:
        return ""
    wanted = commit.strip().lower()
    named = _commit_subjects(statement)
    if not _FULL_ID.fullmatch(wanted):  # a prefix is matched by any commit made to start with it
        return f"--commit {commit}: give the commit's full id (40 or 64 hex digits), not an abbreviation"
    if wanted not in named:
        said = ", ".join(sorted(named)) or "none"
        return f"--commit {commit}: the statement is about commit {said}, not this one (another run's attestation)"
    return ""


def policy_problem(policy: Any, policy_sha256: str | None) -> str:
    """Why ``--policy-sha256`` refuses a run whose ``policy`` block (a statement's predicate's, or an
    audit record's) is that of another policy ("" when it is that policy, or none was asked): HEX is
    the effective policy's sha256, the one digest that covers every file the policy was built from
    (the files it extends, its waivers file) and the defaults filled in. The same rule for
    ``gatekeeper attestation verify`` and ``gatekeeper bundle verify``, which call this."""
    if policy_sha256 is None:
        return ""
    wanted = policy_sha256.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", wanted):
        return f"--policy-sha256 {policy_sha256}: give the effective policy's full sha256 (64 hex digits)"
    said = str(policy.get("effective_sha256") or "") if isinstance(policy, dict) else ""
    if said.lower() != wanted:
        return (
            f"--policy-sha256 {policy_sha256}: the run was judged under the effective policy sha256 "
            f"{said or 'not recorded'}, not this one (a run under another policy)"
        )
    return ""


def dirty_problem(dirty: Any, what: str) -> str:
    """Why ``--require-pass`` refuses a pass of a run on a work tree whose tracked files differed from
    the commit (``dirty`` True: the commit names code the run did not judge, and the changes it did
    judge are in no commit), or ``"unknown"`` (the run lay in a git work tree and said so, but git could not
    tell: nothing shows the code judged was the commit's); "" when the tree was clean, or the evidence does
    not say (written before it was recorded). The same rule for ``gatekeeper bundle verify`` and
    ``attestation verify``, as ``audit report`` counts no such pass as gating its commit."""
    if dirty == "unknown":
        return (
            "--require-pass: the run could not tell whether its work tree was the commit's (dirty: null, git's "
            f"comparison failed or timed out), so nothing shows it judged the commit's own code: this {what} does not "
            "let the commit through the gate"
        )
    if dirty is not True:
        return ""
    return (
        "--require-pass: the run judged a work tree whose tracked files differed from the commit (dirty: uncommitted "
        f"changes), not the commit's own code: this {what} does not let the commit through the gate"
    )


def known_problem(predicate: Any, accept_baseline: bool, folder: str) -> str:
    """Why ``--require-pass`` refuses a pass of a run on a dirty work tree (``dirty_problem``), or one
    that rests on findings a baseline or a new-code reference let through as known (unless
    ``accept_baseline``), or that judged another folder of the repository than ``folder`` ("." its
    top); "" when none. The same rule and words as ``gatekeeper bundle verify``; a statement made
    before these were written says nothing of them."""
    predicate = predicate if isinstance(predicate, dict) else {}
    repository = predicate.get("repository")
    facts = repository if isinstance(repository, dict) else {}
    told = facts.get("dirty") if isinstance(facts.get("dirty"), bool) else ("unknown" if "dirty" in facts else None)
    if dirty := dirty_problem(told, "attestation"):
        return dirty
    judged = repository.get("folder") if isinstance(repository, dict) else None
    if isinstance(judged, str) and judged != folder:
        where = "its top, the whole repository" if judged == "." else f"the folder {judged} of the repository alone"
        asked = "the whole repository" if folder == "." else f"the folder {folder} (--folder)"
        return f"--require-pass: the run judged {where}, not {asked}: this attestation does not let the commit through the gate"
    if judged is None and folder != ".":
        return f"--folder {folder}: the statement does not say which folder of the repository the run judged"
    known = predicate.get("letThrough")
    if accept_baseline or not isinstance(known, dict):
        return ""
    said: list[str] = []
    baseline, new_code = known.get("baseline"), known.get("newCode")
    if isinstance(baseline, dict) and baseline.get("matched") != 0:
        count = baseline.get("matched") if isinstance(baseline.get("matched"), int) else "an unknown number of"
        said.append(f"{count} finding(s) in the baseline {baseline.get('path') or '?'} (sha256 {baseline.get('sha256') or '?'})")
    if isinstance(new_code, dict) and new_code.get("existing") != 0:
        count = new_code.get("existing") if isinstance(new_code.get("existing"), int) else "an unknown number of"
        said.append(f"{count} finding(s) present at {new_code.get('ref') or '?'} (commit {new_code.get('commit') or '?'})")
    if not said:
        return ""
    return (
        f"--require-pass: the pass rests on {'; '.join(said)}, let through as known, not judged by the policy: "
        "pass --accept-baseline to accept a pass on new findings alone"
    )


def folder_of(given: str | None) -> str:
    """``--folder``'s PATH as a record spells a folder (posix, no ``./`` or trailing ``/``; ``.`` the top);
    ValueError for a folder outside the repository."""
    if given is None:
        return "."
    parts = [p for p in given.replace("\\", "/").split("/") if p not in ("", ".")]
    if given.startswith("/") or ".." in parts:
        raise ValueError(f"--folder {given}: a folder relative to the repository's top, inside it")
    return "/".join(parts) or "."


def incomplete(predicate: dict[str, Any]) -> str:
    """Why the predicate does not show a complete run, which ``--require-pass`` asks ("" when its ``scope``
    says ``complete: true``): a partial run (``--only``, ``--skip``, one shard) gates no commit, and a
    statement without a scope (written before gatekeeper recorded it, or edited) cannot show that every
    check the policy enables ran, so it is refused as ``bundle verify`` refuses a record without one.
    The same rule and words for ``gatekeeper attestation verify``, which calls this."""
    scope = predicate.get("scope")
    if isinstance(scope, dict) and scope.get("complete") is True:
        return ""
    if isinstance(scope, dict) and scope.get("complete") is False:
        left = ", ".join(str(x) for x in (scope.get("left_out") or [])) or "part of the gate"
        return f"the run was partial ({left} did not run)"
    return (
        "the statement does not say the run was complete (its predicate has no scope.complete: written before "
        "gatekeeper recorded it, or edited), so nothing shows every check the policy enables ran"
    )


def demands(statement: dict[str, Any], commit: str | None, require_pass: bool, policy_sha256: str | None = None,
            known: tuple[bool, str] = (False, ".")) -> list[str]:  # fmt: skip
    """What ``--commit``, ``--require-pass`` and ``--policy-sha256`` ask that the statement does not
    say, and a statement naming two commits (the same contract and words as ``gatekeeper attestation verify``)."""
    refused = commit_problem(statement, commit)
    problems = [refused] if refused else []
    _, two = stated_commit(statement)
    problems.extend([two] if two else [])
    predicate = statement.get("predicate")
    predicate = predicate if isinstance(predicate, dict) else {}
    verdict = str(predicate.get("verdict", "?"))
    unshown = incomplete(predicate)
    if require_pass and (verdict != "pass" or unshown):
        why = f"the verdict is {verdict}" if verdict != "pass" else unshown
        problems.append(f"--require-pass: {why}: this attestation does not let the commit through the gate")
    elif require_pass and (refusal := known_problem(predicate, *known)):
        problems.append(refusal)
    other = policy_problem(predicate.get("policy"), policy_sha256)
    return [*problems, *([other] if other else [])]


def signed_by(envelope: dict[str, Any], key: Ed25519PublicKey, message: bytes) -> tuple[bool, str]:
    """(whether a signature of ``envelope`` over ``message`` verifies with ``key`` and names it, or no key;
    why one that verifies is refused: it names another key, "" else). A signature is judged by the key it
    verifies with, never the one its ``keyid`` names, in ``gatekeeper attestation verify``'s words."""
    named = ""
    signatures = envelope.get("signatures")
    for signature in signatures if isinstance(signatures, list) else []:
        try:
            key.verify(b64decode(signature["sig"]), message)
        except (InvalidSignature, ValueError, KeyError, TypeError, AttributeError):
            continue
        hint, own = str(signature.get("keyid") or ""), key_id_of(key)
        if not hint or hint == own:
            return True, ""
        named = named or (
            f"a signature names key {hint[:80]}, but it verifies with key {own}: gatekeeper writes the id of the key "
            "that signs, so the envelope was relabelled; refused, as a retired key is judged by the key that signed"
        )
    return False, named


def main(argv: list[str]) -> int:
    """Verify ``argv`` = envelope, public key, files... [--commit SHA] [--require-pass]; print what holds
    and return the exit code."""
    parser = argparse.ArgumentParser(prog="verify_attestation.py", description="Verify a gatekeeper attestation.")
    parser.add_argument("envelope", metavar="ENVELOPE.json")
    parser.add_argument("public_key", metavar="PUBLIC_KEY.pem")
    parser.add_argument("files", metavar="FILE", nargs="*", help="a file whose sha256 must be a subject")
    parser.add_argument("--commit", metavar="SHA", help="the commit the statement must be about, its full id, e.g. $GITHUB_SHA")
    parser.add_argument(
        "--require-pass", action="store_true", help="the verdict must be pass, of a complete run on a clean work tree"
    )
    parser.add_argument(
        "--policy-sha256", metavar="HEX", help="the effective policy's sha256 the run must have been judged under"
    )
    parser.add_argument(
        "--accept-baseline", action="store_true", help="with --require-pass: accept a pass a baseline let findings through"
    )
    parser.add_argument("--folder", metavar="PATH", help="with --require-pass: the folder of the repository judged")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse printed the usage; bad arguments are exit 2
        return 2 if exc.code else 0
    try:  # bad input is exit 2 with its reason, never a traceback
        with open(args.envelope, "rb") as fh:
            envelope = json.load(fh)
        if not isinstance(envelope, dict) or not all(isinstance(envelope.get(k), str) for k in ("payload", "payloadType")):
            raise ValueError(f"{args.envelope} is not a DSSE envelope (payload and payloadType are required)")
        payload = b64decode(envelope["payload"])
        with open(args.public_key, "rb") as fh:
            key = load_pem_public_key(fh.read())
    except (OSError, ValueError, UnsupportedAlgorithm, RecursionError) as exc:
        print(f"verify_attestation.py: {exc}", file=sys.stderr)
        return 2
    if not isinstance(key, Ed25519PublicKey):
        print(f"verify_attestation.py: {args.public_key} is not an Ed25519 public key", file=sys.stderr)
        return 2
    message = pae(envelope["payloadType"], payload)
    valid, named = signed_by(envelope, key, message)
    if named and not valid:
        print(f"REJECTED: {named}", file=sys.stderr)
        return 1
    if not valid or envelope["payloadType"] != PAYLOAD_TYPE:
        print("REJECTED: no signature verifies with this key (altered, or signed by another key)", file=sys.stderr)
        return 1
    statement = json.loads(payload)
    if statement.get("_type") != STATEMENT_TYPE or statement.get("predicateType") != PREDICATE_TYPE:
        print("REJECTED: not a gatekeeper in-toto statement", file=sys.stderr)
        return 1
    digests = {s["digest"].get("sha256") for s in statement["subject"]}
    for path in args.files:
        with open(path, "rb") as fh:
            if hashlib.sha256(fh.read()).hexdigest() not in digests:
                print(f"REJECTED: {path} is not a subject of this attestation", file=sys.stderr)
                return 1
    try:
        folder = folder_of(args.folder)
    except ValueError as exc:
        print(f"verify_attestation.py: {exc}", file=sys.stderr)
        return 2
    problems = demands(statement, args.commit, args.require_pass, args.policy_sha256, (args.accept_baseline, folder))
    if problems:
        for problem in problems:
            print(f"REJECTED: {problem}", file=sys.stderr)
        return 1
    predicate = statement["predicate"]
    scope = predicate.get("scope") or {}
    if scope.get("complete") is False:  # --only, --skip or one shard: a pass of part of the policy gates no commit
        left = ", ".join(scope.get("left_out") or []) or "part of the gate"
        predicate["verdict"] += f" (partial run: {left} did not run; it gates no commit)"
    print(
        f"verified: verdict {predicate['verdict']}, commit {stated_commit(statement)[0] or 'not recorded'}, "
        f"{len(statement['subject'])} subject(s), {len(args.files)} file(s) matched"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
