"""Tracked files git checks out in another encoding than it stores them (``checkout.reencoded``).

A ``working-tree-encoding`` attribute in the checkout's own ``.gitattributes`` makes git store a file
as UTF-8 and check it out re-encoded: the repository (and whoever reads it) holds a key in plain text
while the tools read UTF-32 or EBCDIC bytes, where no pattern matches it. The run is refused before
any check starts, as for a link leading outside the tree."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.test_checkout import git, repo

#: an AWS access key id as detect-secrets' AWSKeyDetector matches one; split so that this file does not hold it whole
KEY = "AKIA" + "IOSFODNN7EXAMPLQ"


def key_file(root: Path, encoding: str) -> None:
    """``creds.txt`` holding ``KEY``, in ``encoding`` in the work tree as ``.gitattributes`` asks,
    committed (git stores it as UTF-8)."""
    root.mkdir(parents=True)
    (root / "gatekeeper.toml").write_text("[checks.secrets]\nenabled = true\n", encoding="utf-8")
    (root / ".gitattributes").write_text(f"creds.txt working-tree-encoding={encoding}\n", encoding="utf-8")
    (root / "creds.txt").write_bytes(f'aws_key = "{KEY}"\n'.encode(encoding))
    repo(root, {})


@pytest.mark.parametrize("encoding", ["UTF-32LE", "IBM037"])
def test_a_file_git_checks_out_re_encoded_refuses_the_run(tmp_path: Path, cli: Any, encoding: str) -> None:
    root = tmp_path / "proj"
    key_file(root, encoding)
    stored = subprocess.run(["git", "cat-file", "-p", "HEAD:creds.txt"], cwd=root, capture_output=True, check=True)
    assert KEY.encode() in stored.stdout  # the repository holds the key as plain UTF-8
    assert KEY.encode() not in (root / "creds.txt").read_bytes()  # the work tree does not
    by_hand = subprocess.run(
        [sys.executable, "-I", "-m", "detect_secrets", "scan", "creds.txt"], cwd=root, capture_output=True, text=True
    )
    assert json.loads(by_hand.stdout)["results"] == {}  # detect-secrets reads the work tree: nothing
    done = cli(["check", "--only", "secrets", "--format", "json,sarif,html,markdown"], cwd=root)
    assert done.returncode == 3, done.stdout + done.stderr  # it passed: "0 potential secrets in 3 tracked files"
    report = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text(encoding="utf-8"))
    assert report["verdict"] == "error"
    assert [(c["name"], c["status"]) for c in report["checks"]] == [("secrets", "error")]
    assert report["checkout"]["reencoded"] == [f"creds.txt (working-tree-encoding={encoding})"]
    assert "in another encoding than the repository stores them, so the tools would read other bytes" in done.stdout
    assert f"creds.txt (working-tree-encoding={encoding}) (drop their working-tree-encoding attribute" in done.stdout
    assert "verdict: ERROR (git checks out tracked files in another encoding than it stores them" in done.stdout


def test_an_encoding_attribute_that_keeps_the_bytes_runs_as_before(tmp_path: Path, cli: Any) -> None:
    """UTF-8, the attribute unset, and an empty value: git checks the file out as it stores it, and the
    key is found."""
    root = tmp_path / "proj"
    key_file(root, "UTF-8")
    with (root / ".gitattributes").open("a", encoding="utf-8") as attributes:
        attributes.write("gatekeeper.toml -working-tree-encoding\n.gitattributes working-tree-encoding=\n")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "unset")
    done = cli(["check", "--only", "secrets", "--format", "json"], cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text(encoding="utf-8"))
    assert "reencoded" not in report["checkout"]
    assert report["checks"][0]["summary"].startswith("1 potential secret in 3 tracked files")


def test_an_encoding_the_repository_s_own_attributes_ask_for_is_refused_too(tmp_path: Path, cli: Any) -> None:
    """A step before the gate that writes ``.git/info/attributes`` and checks the file out again has
    the work tree re-encoded while the commit holds no ``.gitattributes`` and git status calls the tree
    clean: the secrets check passed on the commit it had failed."""
    root = tmp_path / "proj"
    key_file(root, "UTF-8")
    git(root, "rm", "-q", ".gitattributes")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "no attributes")
    (root / ".git" / "info").mkdir(exist_ok=True)
    (root / ".git" / "info" / "attributes").write_text("creds.txt working-tree-encoding=UTF-32LE\n", encoding="utf-8")
    (root / "creds.txt").unlink()
    git(root, "checkout", "--", "creds.txt")
    assert KEY.encode() not in (root / "creds.txt").read_bytes()
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, check=True)
    assert status.stdout == b""
    done = cli(["check", "--only", "secrets", "--format", "json"], cwd=root)
    assert done.returncode == 3, done.stdout + done.stderr  # it passed: 0 potential secrets
    report = json.loads((root / "gatekeeper-reports" / "gatekeeper.json").read_text(encoding="utf-8"))
    assert report["checkout"]["reencoded"] == ["creds.txt (working-tree-encoding=UTF-32LE)"]
    assert "attribute in .gitattributes, .git/info/attributes or core.attributesFile)" in done.stdout
