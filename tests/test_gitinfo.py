"""What the result says the repository is at: commit, branch and whether a tracked file differs, from git."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import gitinfo
from tests.helpers.projects import write

CI_VARIABLES = ("GITHUB_SHA", "CI_COMMIT_SHA", "GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME")


@pytest.fixture(autouse=True)
def _no_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True, timeout=60)
    return done.stdout.strip()


def committed(root: Path) -> Path:
    write(root, {"app.py": "x = 1\n"})
    git(root, "init", "-q", "-b", "work")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "start")
    return root


def test_the_commit_the_branch_and_whether_a_tracked_file_differs(tmp_path: Path) -> None:
    root = committed(tmp_path)
    head = git(root, "rev-parse", "HEAD")
    write(root, {"untracked.txt": "reports are not a change\n"})
    said = {"root": str(root), "commit": head, "branch": "work", "dirty": False, "folder": "."}
    assert gitinfo.repository_info(root) == said
    write(root, {"app.py": "x = 2\n", "sub/deeper/m.py": "y = 1\n"})
    # a folder of the tree: the same commit, and the folder judged
    assert gitinfo.repository_info(root / "sub" / "deeper")["folder"] == "sub/deeper"
    assert gitinfo.repository_info(root)["dirty"] is True
    git(root, "checkout", "-q", "--detach")
    assert gitinfo.repository_info(root)["branch"] == "(detached)"


def test_asking_writes_nothing_not_even_the_index(tmp_path: Path) -> None:
    root = committed(tmp_path)
    os.utime(root / "app.py", (1, 1))  # stat data the index no longer matches: git status would refresh it
    index = root / ".git" / "index"
    before = (index.read_bytes(), index.stat().st_mtime_ns)
    assert gitinfo.repository_info(root)["dirty"] is False
    assert (index.read_bytes(), index.stat().st_mtime_ns) == before


def test_a_folder_of_a_tree_without_a_commit_is_still_named(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    (root / "pkg").mkdir(parents=True)
    git(root, "init", "-q")
    assert gitinfo.repository_info(root / "pkg")["folder"] == "pkg"


def test_outside_git_nothing_is_said_but_what_the_ci_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert gitinfo.repository_info(tmp_path) == {"root": str(tmp_path), "commit": "", "branch": ""}
    monkeypatch.setenv("GITHUB_SHA", "a" * 40)
    monkeypatch.setenv("GITHUB_REF_NAME", "main")
    assert gitinfo.repository_info(tmp_path) == {"root": str(tmp_path), "commit": "a" * 40, "branch": "main"}


def test_the_three_git_commands_run_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each takes 0.5 s more here: one after another they would take 1.5 s."""
    root = committed(tmp_path)
    real = gitinfo.process.run

    def slow(args: list[str], **kwargs: Any) -> Any:
        time.sleep(0.5)
        return real(args, **kwargs)

    monkeypatch.setattr(gitinfo.process, "run", slow)
    started = time.monotonic()
    info = gitinfo.repository_info(root)
    assert time.monotonic() - started < 1.3
    assert info["branch"] == "work" and info["dirty"] is False and len(info["commit"]) == 40


def test_a_checkout_prepared_so_that_git_looks_away_is_still_dirty(tmp_path: Path) -> None:
    """Whoever prepares the checkout (a CI step before the gate) can judge other code than the commit
    names and have ``git status`` call the tree clean; each way is still a dirty tree."""
    root = committed(tmp_path)
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "empty")
    write(root, {"app.py": "x = 1  # risky\n"})
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "risky")
    head = git(root, "rev-parse", "HEAD")
    safe = "x = 1\n"
    for mark in ("--skip-worktree", "--assume-unchanged"):  # git status no longer looks at the file
        git(root, "update-index", mark, "app.py")
        write(root, {"app.py": safe})
        assert git(root, "status", "--porcelain", "--untracked-files=no") == ""
        assert gitinfo.repository_info(root)["dirty"] is True, mark
        git(root, "update-index", mark.replace("--", "--no-"), "app.py")
        git(root, "checkout", "-q", "--", "app.py")
    assert gitinfo.repository_info(root)["dirty"] is False
    # a replace ref: status compares the tree with the first commit's while HEAD still names the risky one
    git(root, "replace", head, git(root, "rev-parse", "HEAD~2"))
    git(root, "reset", "-q", "--hard")
    assert git(root, "status", "--porcelain", "--untracked-files=no") == "" and git(root, "rev-parse", "HEAD") == head
    assert (root / "app.py").read_text() == safe
    info = gitinfo.repository_info(root)
    assert info["commit"] == head and info["dirty"] is True
    git(root, "replace", "-d", head)
    git(root, "reset", "-q", "--hard")
    assert gitinfo.repository_info(root)["dirty"] is False
    # a rewrite of the same size whose mtime is put back, with the change time not trusted
    git(root, "config", "core.trustctime", "false")
    os.utime(root / "app.py", (1_000_000_000, 1_000_000_000))  # older than the index: not racily clean
    git(root, "update-index", "--refresh")
    time.sleep(1.1)  # git compares whole seconds of the change time
    (root / "app.py").write_text("x = 2  # risky\n")
    os.utime(root / "app.py", (1_000_000_000, 1_000_000_000))
    assert git(root, "status", "--porcelain", "--untracked-files=no") == ""
    assert gitinfo.repository_info(root)["dirty"] is True


def test_a_submodule_the_commit_tells_git_to_ignore_is_still_looked_into(tmp_path: Path) -> None:
    """The commit's own ``.gitmodules`` can say ``ignore = all``: ``git status`` then says nothing of
    a submodule checked out at another commit than the one recorded, or of a file within it that a
    step before the gate marked assume-unchanged; each is still a dirty tree."""
    lib = committed(tmp_path / "lib")
    write(lib, {"app.py": "x = eval('1')\n"})
    git(lib, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "risky")
    risky = git(lib, "rev-parse", "HEAD")
    root = committed(tmp_path / "app")
    git(root, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib), "lib")
    (root / ".gitmodules").write_text(f'[submodule "lib"]\n\tpath = lib\n\turl = {lib}\n\tignore = all\n')
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "with lib")
    assert gitinfo.repository_info(root)["dirty"] is False
    git(root / "lib", "checkout", "-q", "HEAD~1")  # the code the commit names is not the code judged
    assert git(root, "status", "--porcelain", "--untracked-files=no") == ""
    assert gitinfo.repository_info(root)["dirty"] is True
    git(root / "lib", "checkout", "-q", risky)
    git(root / "lib", "update-index", "--assume-unchanged", "app.py")
    write(root / "lib", {"app.py": "x = 1\n"})
    assert git(root, "status", "--porcelain", "--untracked-files=no", "--ignore-submodules=none") == ""
    assert gitinfo.repository_info(root)["dirty"] is True
    git(root / "lib", "update-index", "--no-assume-unchanged", "app.py")
    git(root / "lib", "checkout", "-q", "--", "app.py")
    assert gitinfo.repository_info(root)["dirty"] is False
    write(root / "lib", {"build/lib.o": "built\n"})  # untracked within the submodule: no change of the commit's files
    assert gitinfo.repository_info(root)["dirty"] is False


def test_a_filter_that_converts_a_tracked_file_makes_the_tree_dirty(tmp_path: Path) -> None:
    """A step before the gate that writes ``.git/info/attributes`` and a filter driver has git status
    compare what the driver prints (a clean filter printing the commit's text): the tree holds other
    code than the commit's and read clean. git-lfs's own driver, which stores a pointer naming the
    content's sha256, leaves a tree clean."""
    root = committed(tmp_path / "repo")
    committed_text = (root / "app.py").read_text()
    (tmp_path / "committed.py").write_text(committed_text)
    (root / ".git" / "info").mkdir(exist_ok=True)
    (root / ".git" / "info" / "attributes").write_text("app.py filter=hide\n")
    git(root, "config", "filter.hide.clean", f"cat {tmp_path / 'committed.py'}")
    write(root, {"app.py": "x = eval(input())\n"})
    git(root, "add", "app.py")
    assert git(root, "status", "--porcelain", "--untracked-files=no") == ""
    assert (root / "app.py").read_text() != committed_text
    assert gitinfo.repository_info(root)["dirty"] is True
    git(root, "config", "--remove-section", "filter.hide")
    # the commit's text back, and in the index: git checkout trusts the index's stat data, which git add
    # took from the other text, and left the file as it was unless the entry was racily clean
    (root / "app.py").write_text(committed_text)
    git(root, "add", "app.py")
    assert gitinfo.repository_info(root)["dirty"] is False
    # git lfs install's configuration (git-lfs itself is not installed here: no tracked file under it)
    (root / ".git" / "info" / "attributes").write_text("*.bin filter=lfs\n")
    lfs = {"clean": "git-lfs clean -- %f", "smudge": "git-lfs smudge -- %f", "process": "git-lfs filter-process"}
    for key, value in lfs.items():
        git(root, "config", f"filter.lfs.{key}", value)
    assert gitinfo.repository_info(root)["dirty"] is False
    git(root, "config", "filter.lfs.process", "cat")  # a driver named lfs that is not git-lfs's
    (root / ".git" / "info" / "attributes").write_text("*.py filter=lfs\n")
    assert gitinfo.repository_info(root)["dirty"] is False  # app.py holds the blob's very bytes
    write(root, {"app.py": "x = eval(input())\n"})
    assert gitinfo.repository_info(root)["dirty"] is True


def test_a_notebook_a_filter_strips_is_the_commits_when_it_holds_the_blob(tmp_path: Path) -> None:
    """nbstripout's configuration (``filter.nbstripout.clean``, ``*.ipynb filter=nbstripout``) names a driver
    with a clean command: a notebook just checked out, the blob's very bytes, read dirty whatever it held.
    One whose outputs the driver would strip is not the commit's."""
    root = tmp_path / "repo"
    (tmp_path / "strip.py").write_text("import json, sys\nn = json.load(sys.stdin)\nn['outputs'] = []\nprint(json.dumps(n))\n")
    write(root, {"n.ipynb": '{"outputs": []}\n', ".gitattributes": "*.ipynb filter=nbstripout\n", "app.py": "x = 1\n"})
    git(root, "init", "-q", "-b", "work")
    git(root, "config", "filter.nbstripout.clean", f"{sys.executable} {tmp_path / 'strip.py'}")
    git(root, "config", "filter.nbstripout.smudge", "cat")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "start")
    assert git(root, "status", "--porcelain", "--untracked-files=no") == ""
    assert gitinfo.repository_info(root)["dirty"] is False
    write(root, {"n.ipynb": '{"outputs": ["eval(input())"]}\n'})
    git(root, "add", "n.ipynb")
    assert git(root, "status", "--porcelain", "--untracked-files=no") == ""
    assert gitinfo.repository_info(root)["dirty"] is True


def _index_naming(root: Path, path: str, blob: str) -> None:
    """Rewrite ``.git/index`` by hand so that ``path``'s entry names ``blob``, its stat data left as they are
    (version 2 entries; the trailing checksum made again): what a step before the gate can write."""
    import hashlib

    index = root / ".git" / "index"
    data = bytearray(index.read_bytes()[:-20])
    said = bytes.fromhex(git(root, "ls-files", "-s", path).split()[1])
    at = data.index(said)
    data[at : at + 20] = bytes.fromhex(blob)
    index.write_bytes(bytes(data) + hashlib.sha1(bytes(data)).digest())  # noqa: S324  # the index's own checksum


def test_a_file_whose_content_is_not_the_commits_is_dirty_whatever_its_stat_data_say(tmp_path: Path) -> None:
    """git status compares stat data: an index written by hand over a changed file, or a rewrite of the same
    size in the second of the index's refresh with its mtime put back, reads clean; the content is hashed."""
    root = committed(tmp_path)
    old = git(root, "rev-parse", "HEAD:app.py")
    write(root, {"app.py": "x = 2\n"})  # same size
    os.utime(root / "app.py", (1_000_000_000, 1_000_000_000))  # older than the index: not racily clean
    git(root, "add", "app.py")
    _index_naming(root, "app.py", old)
    assert git(root, "status", "--porcelain", "--untracked-files=no") == ""
    assert git(root, "diff", "HEAD", "--stat") == ""
    assert gitinfo.repository_info(root)["dirty"] is True
    (root / "app.py").unlink()  # reset --hard trusts the index as status does: it would keep the file
    git(root, "reset", "-q", "--hard")
    assert (root / "app.py").read_text() == "x = 1\n"
    assert gitinfo.repository_info(root)["dirty"] is False
    # the same size, rewritten in the second the index was refreshed, its mtime put back (git keeps whole seconds
    # of the change time): tried again until the two writes fall in one second
    for _ in range(10):
        (root / "app.py").unlink()
        git(root, "reset", "-q", "--hard")
        while time.time() % 1 > 0.3:
            time.sleep(0.05)
        (root / "app.py").write_text("x = 1\n")
        os.utime(root / "app.py", (1_000_000_000, 1_000_000_000))  # older than the index: not racily clean
        git(root, "update-index", "--refresh")
        (root / "app.py").write_text("x = 3\n")
        os.utime(root / "app.py", (1_000_000_000, 1_000_000_000))
        if git(root, "status", "--porcelain", "--untracked-files=no") == "":
            break
    else:
        pytest.skip("the two writes never fell in one second on this machine")
    assert (root / "app.py").read_text() == "x = 3\n"
    assert gitinfo.repository_info(root)["dirty"] is True


LFS_CLEAN = """\
import hashlib, sys
data = sys.stdin.buffer.read()
oid = hashlib.sha256(data).hexdigest()
sys.stdout.write(f"version https://git-lfs.github.com/spec/v1\\noid sha256:{oid}\\nsize {len(data)}\\n")
"""


def test_a_git_lfs_object_where_the_commit_has_its_pointer_and_converted_ends_of_line_are_the_commits(
    tmp_path: Path,
) -> None:
    """A checkout with Git LFS holds the object where the commit has a pointer naming its sha256 and size;
    one with eol=crlf holds CRLF where the commit has LF: neither is a change. A file that does not hold the
    object its pointer names is."""
    import sys

    root = committed(tmp_path / "repo")
    (tmp_path / "lfs_clean.py").write_text(LFS_CLEAN)
    git(root, "config", "filter.lfs.clean", f"{sys.executable} {tmp_path / 'lfs_clean.py'}")
    write(root, {".gitattributes": "*.bin filter=lfs diff=lfs merge=lfs -text\n*.txt eol=crlf\n", "docs/notes.txt": "a\nb\n"})
    (root / "model.bin").write_bytes(bytes(range(256)) * 40)
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "lfs")
    assert git(root, "cat-file", "-p", "HEAD:model.bin").startswith("version https://git-lfs.github.com/spec/v1")
    os.utime(root / "model.bin", (1_000_000_000, 1_000_000_000))  # older than the index: not racily clean
    git(root, "update-index", "--refresh")
    for key, value in {
        "clean": "git-lfs clean -- %f",
        "smudge": "git-lfs smudge -- %f",
        "process": "git-lfs filter-process",
    }.items():
        git(root, "config", f"filter.lfs.{key}", value)  # git lfs install's own (git-lfs is not installed here)
    (root / "docs" / "notes.txt").unlink()
    git(root, "checkout", "--", "docs/notes.txt")
    assert (root / "docs" / "notes.txt").read_bytes() == b"a\r\nb\r\n"
    assert git(root, "status", "--porcelain", "--untracked-files=no") == ""
    assert gitinfo.repository_info(root)["dirty"] is False
    assert gitinfo.repository_info(root / "docs")["dirty"] is False  # a run of one folder: the paths from the top
    # the object rewritten, its size and times kept: not the object the pointer names
    stat = (root / "model.bin").stat()
    (root / "model.bin").write_bytes(bytes(reversed(range(256))) * 40)
    os.utime(root / "model.bin", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert gitinfo.repository_info(root)["dirty"] is True
    assert gitinfo.repository_info(root / "docs")["dirty"] is True


def test_ends_of_line_and_ident_as_git_checks_them_out_are_the_commits_with_no_filter_driver(tmp_path: Path) -> None:
    """core.autocrlf = true (a Windows runner's default) checks every text file out with CRLF, and ``ident``
    writes ``$Id: <blob id> $``: with no filter driver configured, each such file was hashed without git's
    conversions twice and a checkout just made read dirty."""
    root = tmp_path / "repo"
    write(root, {"app.py": "x = 1\ny = 2\n", "stamp.py": 'v = "$Id$"\n', ".gitattributes": "stamp.py ident\n"})
    git(root, "init", "-q", "-b", "work")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "start")
    git(root, "config", "core.autocrlf", "true")
    for name in ("app.py", "stamp.py"):
        (root / name).unlink()
    git(root, "checkout", "--", "app.py", "stamp.py")
    assert (root / "app.py").read_bytes() == b"x = 1\r\ny = 2\r\n"
    assert (root / "stamp.py").read_bytes().startswith(b'v = "$Id: ')
    assert git(root, "status", "--porcelain", "--untracked-files=no") == ""
    assert gitinfo.repository_info(root)["dirty"] is False
    # the expansion of an earlier blob, kept after an edit was committed (git expands again only on checkout)
    write(root, {"stamp.py": 'v = "$Id: ' + "0" * 40 + ' $"\r\n'})
    assert gitinfo.repository_info(root)["dirty"] is False
    write(root, {"app.py": "x = 1\r\ny = 3\r\n"})
    assert gitinfo.repository_info(root)["dirty"] is True


def test_an_ident_line_holding_more_than_git_writes_makes_the_tree_dirty(tmp_path: Path) -> None:
    """git collapses whatever lies between ``$Id:`` and the next ``$`` of a line to ``$Id$`` in a file whose
    ``ident`` attribute is set: ``.git/info/attributes`` saying so, and two lines rewritten to hide the
    commit's eval(input()) in a string, had a tree read as the commit's (a filter driver configured, as
    nbstripout's is, for no file of it)."""
    root = tmp_path / "repo"
    write(root, {"app.py": 'x = "$Id$"; eval(input())\ny = "$Id$"\n'})
    git(root, "init", "-q", "-b", "work")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "start")
    git(root, "config", "filter.nbstripout.clean", "nbstripout")
    (root / ".git" / "info").mkdir(exist_ok=True)
    (root / ".git" / "info" / "attributes").write_text("app.py ident\n")
    write(root, {"app.py": 'x = "$Id: "; z = """$"; eval(input())\ny = "$Id: """ #$"\n'})
    git(root, "add", "app.py")
    assert git(root, "status", "--porcelain", "--untracked-files=no") == ""
    assert git(root, "diff", "HEAD", "--name-only") == ""
    assert gitinfo.repository_info(root)["dirty"] is True
    (root / ".git" / "info" / "attributes").write_text("")  # the same bytes, no ident: git sees the change itself
    assert gitinfo.repository_info(root)["dirty"] is True


@pytest.mark.parametrize("name", ['"creds"', "creds\r"])
def test_a_file_whose_name_hash_object_reads_as_another_is_hashed_itself(tmp_path: Path, name: str) -> None:
    """git hash-object --stdin-paths unquotes a line that starts with '"' and drops a carriage return ending it:
    a tracked file named "creds" (quotes and all), or creds\r, had creds hashed in its place, so a step before the
    gate that left the commit's key in an untracked creds and rewrote the file, its index written by hand, had a
    tree read as the commit's (and without creds a fresh checkout read dirty)."""
    root = tmp_path / "repo"
    write(root, {name: "AKIA0123456789ABCDEF\n", "app.py": "x = 1\n"})
    git(root, "init", "-q", "-b", "work")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "start")
    assert gitinfo.repository_info(root)["dirty"] is False
    old = git(root, "rev-parse", f"HEAD:{name}")
    write(root, {"creds": "AKIA0123456789ABCDEF\n", name: "nothing to see\n"})
    os.utime(root / name, (1_000_000_000, 1_000_000_000))  # older than the index: not racily clean
    git(root, "add", "--", name)
    _index_naming(root, name, old)
    assert git(root, "status", "--porcelain", "--untracked-files=no") == ""
    assert gitinfo.repository_info(root)["dirty"] is True
