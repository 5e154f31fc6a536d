"""The inspected environment's import path as the probe builds it without site (``sitepaths``),
against what the interpreter lists with site, on a real system interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gatekeeper.checkers import sitepaths
from gatekeeper.checkers.inventory import read_environment
from tests.helpers.projects import check_context

#: Debian's and Ubuntu's own Python: their site.getsitepackages() names a prefix's
#: lib/pythonX.Y/site-packages only while sys.prefix is a virtual environment's
SYSTEM_PYTHON = Path("/usr/bin/python3")


def _patched_site() -> bool:
    """Whether SYSTEM_PYTHON is such a Debian-patched interpreter (site-packages left out, dist-packages named)."""
    if not SYSTEM_PYTHON.exists():
        return False
    done = subprocess.run(
        [str(SYSTEM_PYTHON), "-I", "-S", "-c", "import site; print(site.getsitepackages(['/nowhere']))"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return done.returncode == 0 and "dist-packages" in done.stdout and "site-packages" not in done.stdout


LISTED = "import importlib.metadata as m, json; print(json.dumps(sorted({d.metadata['Name'] for d in m.distributions()})))"


@pytest.mark.skipif(not _patched_site(), reason="needs Debian's or Ubuntu's system Python (/usr/bin/python3)")
@pytest.mark.parametrize("system", [False, True], ids=["own-site", "system-site-packages"])
def test_a_virtual_environment_of_the_debian_python_is_inventoried_as_site_lists_it(tmp_path: Path, system: bool) -> None:
    """``python3 -m venv .venv`` with Debian's interpreter: the packages in the environment's
    site-packages are the ones the inventory lists, as the interpreter lists them with site (read
    without site, they were all missed: the sbom and licenses checks found nothing, and beside the
    system's packages, a package of the environment went unaudited)."""
    env = tmp_path / "env"
    subprocess.run(
        [str(SYSTEM_PYTHON), "-m", "venv", "--without-pip", *(["--system-site-packages"] if system else []), str(env)],
        check=True,
    )  # fmt: skip
    site = next((env / "lib").glob("python3*/site-packages"))
    info = site / "gk_env_only-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gk-env-only\nVersion: 1.0\n", encoding="utf-8")
    python = env / "bin" / "python"
    listed = subprocess.run([str(python), "-I", "-c", LISTED], capture_output=True, text=True, check=True).stdout
    with_site = set(json.loads(listed))
    assert "gk-env-only" in with_site
    root = tmp_path / "project"
    root.mkdir()
    _, _, dists = read_environment(check_context(root), str(python))
    assert {d.name for d in dists} == with_site


PATH_NOW = "import json, sys; print(json.dumps(sys.path))"


@pytest.mark.slow
def test_the_pth_files_are_read_as_this_interpreters_site_reads_them(tmp_path: Path) -> None:
    """A hidden ``.pth`` (site before 3.13 reads it), a BOM (3.13 drops it), a form feed inside a line
    (a line of its own only to ``str.splitlines``, which 3.13 splits by) and CRLF endings: the probe's
    ``sys.path`` is the one site builds, and a package in the folder only a hidden ``.pth`` names,
    which the probe skipped, is inventoried as the interpreter lists it."""
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    site = next((env / "lib").glob("python3*/site-packages"))
    folders = {name: tmp_path / name for name in ("hidden", "bom", "ff1", "ff2", "crlf1", "crlf2")}
    for folder in folders.values():
        folder.mkdir()
    info = folders["hidden"] / "gk_hidden-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gk-hidden\nVersion: 1.0\n", encoding="utf-8")
    (site / ".vendored.pth").write_text(f"{folders['hidden']}\n", encoding="utf-8")
    (site / "bom.pth").write_bytes(b"\xef\xbb\xbf" + f"{folders['bom']}\n".encode())
    (site / "ff.pth").write_text(f"{folders['ff1']}\x0c{folders['ff2']}\n", encoding="utf-8")
    (site / "crlf.pth").write_bytes(f"{folders['crlf1']}\r\n{folders['crlf2']}\r\n".encode())
    python = str(env / "bin" / "python")
    by_site = subprocess.run([python, "-I", "-c", PATH_NOW], capture_output=True, text=True, check=True).stdout
    probe = [python, *sitepaths.FLAGS, "-c", sitepaths.PRELUDE + PATH_NOW]
    assert json.loads(subprocess.run(probe, capture_output=True, text=True, check=True).stdout) == json.loads(by_site)
    listed = set(json.loads(subprocess.run([python, "-I", "-c", LISTED], capture_output=True, text=True, check=True).stdout))
    assert ("gk-hidden" in listed) is (sys.version_info < (3, 13))
    root = tmp_path / "project"
    root.mkdir()
    _, _, dists = read_environment(check_context(root), python)
    assert {d.name for d in dists} == listed


def test_the_prelude_reads_pth_files_without_importing_locale(tmp_path: Path) -> None:
    """Importing ``locale`` (and with it ``re`` and ``enum``) cost more than the rest of a probe's
    start; before 3.13 the file is opened in the locale's encoding without it, and the path is site's."""
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    site = next((env / "lib").glob("python3*/site-packages"))
    (tmp_path / "named").mkdir()
    (site / "named.pth").write_text(f"{tmp_path / 'named'}\n", encoding="utf-8")
    python = str(env / "bin" / "python")
    asked = "import sys; seen = sorted(m for m in ('locale', 're') if m in sys.modules)\n"
    asked += "import json; print(json.dumps([sys.path, seen]))"  # json imports re: asked before
    path, imported = json.loads(
        subprocess.run(
            [python, *sitepaths.FLAGS, "-c", sitepaths.PRELUDE + asked], capture_output=True, text=True, check=True
        ).stdout
    )
    by_site = json.loads(subprocess.run([python, "-I", "-c", PATH_NOW], capture_output=True, text=True, check=True).stdout)
    assert path == by_site and str(tmp_path / "named") in path
    assert imported == []


@pytest.mark.skipif(
    not SYSTEM_PYTHON.exists(), reason="needs a system interpreter (/usr/bin/python3), which has a user's site folder"
)
def test_the_users_site_folder_is_inventoried_where_site_puts_it_on_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A package installed with ``pip install --user`` is on the path of the interpreter the tests
    and ``pip list`` start (before the system's packages, so it also shadows them): it is inventoried
    (it was not: a vulnerable release there went unaudited), unless ``PYTHONNOUSERSITE`` is set; a
    virtual environment without the system's packages has no user's site folder."""
    monkeypatch.setenv("PYTHONUSERBASE", str(tmp_path / "userbase"))
    monkeypatch.delenv("PYTHONNOUSERSITE", raising=False)
    user_site = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", "import site; print(site.getusersitepackages())"], capture_output=True, text=True, check=True
    ).stdout.strip()
    info = Path(user_site) / "gk_user_only-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gk-user-only\nVersion: 1.0\n", encoding="utf-8")
    root = tmp_path / "project"
    root.mkdir()

    def listed(python: str) -> set[str]:
        return set(json.loads(subprocess.run([python, "-c", LISTED], capture_output=True, text=True, check=True).stdout))

    def inventoried(python: str) -> set[str]:
        return {d.name for d in read_environment(check_context(root), python)[2]}

    assert "gk-user-only" in listed(str(SYSTEM_PYTHON))
    assert inventoried(str(SYSTEM_PYTHON)) == listed(str(SYSTEM_PYTHON))
    monkeypatch.setenv("PYTHONNOUSERSITE", "1")
    assert "gk-user-only" not in listed(str(SYSTEM_PYTHON))
    assert inventoried(str(SYSTEM_PYTHON)) == listed(str(SYSTEM_PYTHON))
    monkeypatch.delenv("PYTHONNOUSERSITE")
    env = tmp_path / "env"
    subprocess.run([str(SYSTEM_PYTHON), "-m", "venv", "--without-pip", str(env)], check=True)
    venv_python = str(env / "bin" / "python")
    assert "gk-user-only" not in inventoried(venv_python)
    assert inventoried(venv_python) == listed(venv_python)
