"""Real lock files for the lock-file tests: wheels built here, locked by the real uv against them.

``build_wheel`` writes a real wheel (a zip with METADATA, WHEEL and RECORD, as a build backend
leaves it); ``wheel_index`` fills a folder with them; ``uv`` runs the uv installed in the test
environment with that folder as its only index (``--no-index --find-links``), a cache inside the
test's folder, and no interpreter downloads; ``poetry`` runs the real Poetry against
``simple_index``, a loopback PEP 503 index of the same wheels. No test reaches the network.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from tests.helpers.osv import FAKE_DISTS

UV = Path(sys.executable).with_name("uv")

#: the packages of the test index: the dependencies tests' fake distributions and one for win32 only
DISTS = (*FAKE_DISTS, ("winonly", "1.0", ()))

PYPROJECT = """\
[project]
name = "demo-app"
version = "0.3.0"
requires-python = ">=3.10"
dependencies = ["alpha>=1", "beta_pkg[fast]==2.0.1", "lib", "winonly; sys_platform == 'win32'"]
[project.optional-dependencies]
extra1 = ["safe"]
[dependency-groups]
dev = ["toolx"]
[tool.uv.workspace]
members = ["packages/lib"]
[tool.uv.sources]
lib = { workspace = true }
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"
"""

MEMBER = """\
[project]
name = "lib"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = ["foo-bar-baz"]
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"
"""


def build_wheel(folder: Path, name: str, version: str, requires: Sequence[str] = (), extras: Sequence[str] = ()) -> Path:
    """A pure-Python wheel of ``name`` ``version`` declaring ``requires`` (Requires-Dist lines) and ``extras``."""
    module = canonicalize_name(name).replace("-", "_")
    stem = f"{module}-{version}"
    meta = [f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"]
    meta += [f"Provides-Extra: {x}\n" for x in extras]
    meta += [f"Requires-Dist: {r}\n" for r in requires]
    files = {
        f"{module}/__init__.py": f"__version__ = {version!r}\n",
        f"{stem}.dist-info/METADATA": "".join(meta),
        f"{stem}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: gatekeeper-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{stem}.dist-info/RECORD,,")
    files[f"{stem}.dist-info/RECORD"] = "\n".join(record) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return wheel


def wheel_index(folder: Path, dists: Iterable[tuple[str, str, Sequence[str]]]) -> Path:
    """``folder`` holding one wheel per (name, version, Requires-Dist lines)."""
    for name, version, requires in dists:
        extras = sorted({r.split("extra ==")[1].strip(" '\"") for r in requires if "extra ==" in r})
        build_wheel(folder, name, version, requires, extras)
    return folder


def uv(args: Sequence[str], cwd: Path, index: Path | str | None) -> subprocess.CompletedProcess[str]:
    """Run the real uv in ``cwd`` with ``index`` as its only package source: a folder of wheels, or
    the URL of a ``simple_index`` (whose links carry hashes, which uv then locks); None for a
    command that reads no index, such as ``uv pip uninstall``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UV_")}
    env.update(
        UV_CACHE_DIR=str(cwd / ".uv-cache"),
        UV_PYTHON=sys.executable,
        UV_PYTHON_DOWNLOADS="never",
        UV_NO_CONFIG="1",
    )
    source = ["--index-url", index] if isinstance(index, str) else ["--no-index", "--find-links", str(index)]
    cmd = [str(UV), *args, *(source if index is not None else [])]
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{cmd}: {done.stdout}{done.stderr}"
    return done


def build_workspace(root: Path, wheels: Path | str) -> Path:
    """A uv workspace at ``root`` (the project demo-app and its member packages/lib), locked by uv."""
    (root / "packages" / "lib").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "packages" / "lib" / "pyproject.toml").write_text(MEMBER)
    uv(["lock"], root, wheels)
    return root


def build_grouped(root: Path, wheels: Path | str) -> Path:
    """A project at ``root`` whose only run-time dependency is for another platform (win32), its
    test and typing tools in PEP 735 dependency groups (``tests``: toolx; ``typing``: alpha), locked
    by uv: a lock whose run-time selection on Linux holds nothing."""
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "solo"\nversion = "1.0"\nrequires-python = ">=3.10"\n'
        "dependencies = [\"winonly; sys_platform == 'win32'\"]\n"
        '[dependency-groups]\ntests = ["toolx"]\ntyping = ["alpha>=1"]\n'
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
    )
    uv(["lock"], root, wheels)
    return root


def exported_pins(root: Path, wheels: Path, *args: str, platform: Mapping[str, str] | None = None) -> dict[str, str]:
    """name -> version, from ``uv export --format requirements.txt`` (uv's own reading of its lock),
    each line's marker evaluated by packaging for this interpreter (and ``platform``'s values)."""
    text = uv(["export", "--format", "requirements.txt", "--no-hashes", "--no-emit-workspace", *args], root, wheels).stdout
    env = {**default_environment(), **(platform or {})}
    pins = {}
    for line in text.splitlines():
        if not re.match(r"^[A-Za-z0-9]", line):
            continue
        req = Requirement(line.rstrip(" \\"))
        if req.marker is None or req.marker.evaluate(env):
            pins[canonicalize_name(req.name)] = next(iter(req.specifier)).version
    return pins


@contextlib.contextmanager
def simple_index(wheels: Path, folder: Path) -> Iterator[str]:
    """A PEP 503 simple index of the wheels in ``wheels`` (with their sha256 in each link), served on
    loopback for the duration; yields its URL (``http://127.0.0.1:PORT/simple/``). Poetry reads no
    folder of wheels, only an index."""
    for wheel in wheels.glob("*.whl"):
        try:
            name = parse_wheel_filename(wheel.name)[0]
        except InvalidWheelFilename:
            continue
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        page = folder / "simple" / name / "index.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        link = f'<a href="/files/{wheel.name}#sha256={digest}">{wheel.name}</a>\n'
        page.write_text(page.read_text() + link if page.exists() else link)
        (folder / "files").mkdir(exist_ok=True)
        shutil.copy(wheel, folder / "files" / wheel.name)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple/"
    finally:
        server.shutdown()
        server.server_close()


def poetry(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the real Poetry in ``cwd`` with its cache, configuration and data inside ``cwd`` and no
    virtualenv of its own (the project's pyproject names the only package source)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POETRY_")}
    env.update(
        POETRY_CACHE_DIR=str(cwd / ".poetry" / "cache"),
        POETRY_CONFIG_DIR=str(cwd / ".poetry" / "config"),
        POETRY_DATA_DIR=str(cwd / ".poetry" / "data"),
        POETRY_VIRTUALENVS_CREATE="false",
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    cmd = [str(Path(sys.executable).with_name("poetry")), *args, "--no-interaction"]
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, f"{cmd}: {done.stdout}{done.stderr}"
    return done
