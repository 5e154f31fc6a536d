"""A detect-secrets worker: started before the files to scan are known, it scans once when told to.

Run by the secrets checker as ``python -I -c <this source>`` in the project's root (``-I``: the
checkout is not on ``sys.path``), as soon as the check starts, so that detect-secrets is imported
while gatekeeper still lists, reads and hashes the files.

1. It prints one JSON line: ``{"version": "1.5.0"}`` once detect-secrets and its command-line
   code are imported, or ``{"missing": "<module>"}`` when detect-secrets is not installed in this
   interpreter.
2. It reads one JSON line on stdin: ``{"args": [...], "serial": bool}``, detect-secrets'
   arguments (``scan --no-verify FILE...``) and whether to scan the files one after another in
   this process instead of in detect-secrets' process pool (for a few files the pool costs more
   than it saves: it forks a process per CPU, each rebuilding the plugins and filters, and sends
   every result back), and with ``"each": true`` to go on past a file it fails on, naming that file
   on stderr; a plain list is the arguments alone. An empty input (every file's result
   came from the cache) ends it: nothing is scanned.
3. It runs detect-secrets' own ``main()`` on them, as ``python -m detect_secrets`` does: its
   report goes to stdout, its messages to stderr, and its exit code is this process's. Once both
   are flushed it exits at once: tearing down an interpreter that holds detect-secrets, its
   plugins and a scan's objects took longer than scanning a small project.

detect-secrets opens each file in the locale's encoding and skips, without a word, a file that
does not decode (one byte that is not UTF-8 hides every secret in it). Here its scanner opens
files as UTF-8 with undecodable bytes replaced, so the rest of such a file is scanned, and UTF-16
or UTF-32 text in its own encoding (``text_encoding``); the first
line says ``"lenient": true`` when that took effect (another detect-secrets version may read files
elsewhere: then gatekeeper lists such files as not scanned).

detect-secrets is imported offline: ``requests``, which it uses only to verify a secret over the
network (never done here: ``--no-verify``), is a stand-in that refuses every use (``_Offline``).
That makes "no secret leaves the machine" hold whatever a detect-secrets version does with
``--no-verify``, and spares the import of requests, urllib3 and their dependencies, which took
more CPU than the rest of detect-secrets' start. A detect-secrets whose import needs more of
requests than a name to annotate with is imported again with the real one.

It imports nothing from gatekeeper.
"""

import itertools
import json
import os
import sys
import types
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable


def main() -> int:
    try:
        VERSION, detect_secrets = _imported()
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] != "detect_secrets":
            raise
        print(json.dumps({"missing": exc.name}), flush=True)
        return 0
    _inherited()
    print(json.dumps({"version": VERSION, "lenient": _lenient()}), flush=True)
    request = sys.stdin.readline()
    if not request.strip():
        return 0
    asked = json.loads(request)
    args = [str(arg) for arg in (asked["args"] if isinstance(asked, dict) else asked)]
    _keep_disabled([b for a, b in itertools.pairwise(args) if a == "--disable-filter"])
    if isinstance(asked, dict) and (asked.get("serial") is True or asked.get("each") is True):
        _one_process(go_on=asked.get("each") is True)
    return int(detect_secrets(args) or 0)


def _imported() -> "tuple[str, Callable[[list[str]], int]]":
    """detect-secrets' version and its ``main``, imported with requests offline (``_Offline``); when
    that import fails, everything it imported is dropped and detect-secrets is imported again with
    the real requests (its own error, if any, is then raised as it is)."""
    before = set(sys.modules)
    offline = "requests" not in sys.modules
    if offline:
        sys.modules["requests"] = _Offline("requests")
    try:
        return _detect_secrets()
    except Exception as exc:
        missing = isinstance(exc, ModuleNotFoundError) and (exc.name or "").partition(".")[0] == "detect_secrets"
        if missing or not offline:
            raise
    for name in set(sys.modules) - before:
        del sys.modules[name]
    return _detect_secrets()


def _detect_secrets() -> "tuple[str, Callable[[list[str]], int]]":
    from detect_secrets.__version__ import VERSION
    from detect_secrets.main import main

    return VERSION, main


class OfflineError(RuntimeError):
    """What using the stand-in for requests raises: detect-secrets tried to reach the network."""


class _Refused:
    """A name of requests as the stand-in gives it: usable in an annotation, refused when called (a
    request, a session, a response built); its attributes are refused names too."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> "_Refused":
        if attr.startswith("__"):
            raise AttributeError(attr)
        return _Refused(f"{self._name}.{attr}")

    def __call__(self, *args: object, **kwargs: object) -> None:
        raise OfflineError(f"{self._name}: detect-secrets runs offline here (scan --no-verify); nothing is sent")


class _Offline(types.ModuleType):
    """The stand-in for ``requests`` while detect-secrets runs: every name is a ``_Refused`` one. An
    ``except requests.exceptions.X`` clause it meets raises ``TypeError`` (not an exception class):
    only an exception already on its way out reaches one, and the scan fails either way."""

    def __getattr__(self, name: str) -> _Refused:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Refused(f"{self.__name__}.{name}")


def _keep_disabled(disabled: "list[str]") -> None:
    """Keep a default filter that ``--disable-filter`` turned off turned off in detect-secrets' process
    pool too: each pool process rebuilds its filters from the settings plus ``DEFAULT_FILTERS``
    (``Settings.configure_filters``), which would bring ``is_non_text_file`` back for every file
    scanned in parallel."""
    from detect_secrets.settings import Settings

    defaults = getattr(Settings, "DEFAULT_FILTERS", None)
    if isinstance(defaults, (set, frozenset)):
        Settings.DEFAULT_FILTERS = {f for f in defaults if f not in disabled}


def _lenient() -> bool:
    """Make detect-secrets' scanner read every file as UTF-8 with undecodable bytes replaced, and
    UTF-16 or UTF-32 text in its own encoding (read as UTF-8, a NUL beside every character, no
    pattern would match it)."""
    from detect_secrets.core import scan

    if not callable(getattr(scan, "_get_lines_from_file", None)):
        return False

    def reading(filename: str, *args: object, **kwargs: object) -> "object":
        with open(filename, "rb") as raw:
            head = raw.read(4096)
        return open(filename, encoding=text_encoding(head), errors="replace")

    scan.open = reading  # type: ignore[attr-defined]
    return True


def text_encoding(head: bytes) -> str:
    """The encoding of a file that starts with ``head``: UTF-32 or UTF-16 by their byte order mark,
    UTF-16 without one when every other byte of its start is NUL and none between (ASCII text in
    UTF-16), else UTF-8."""
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "utf-32"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if len(head) >= 16:
        even, odd = head[0::2], head[1::2]
        nul_even, nul_odd = even.count(0) / len(even), odd.count(0) / len(odd)
        if nul_odd > 0.9 and nul_even < 0.1:
            return "utf-16-le"
        if nul_even > 0.9 and nul_odd < 0.1:
            return "utf-16-be"
    return "utf-8"


def _inherited() -> None:
    """Let detect-secrets' process pool see this process's changes (the lenient reading, the filters
    kept off): its processes are forked where the platform can fork; elsewhere there is no pool and
    the files are scanned one after another in this process."""
    import multiprocessing

    if "fork" in multiprocessing.get_all_start_methods():
        multiprocessing.set_start_method("fork", force=True)
        return
    _one_process()


def _one_process(*, go_on: bool = False) -> None:
    """Scan the files one after another in this process (``scan_file`` each, as detect-secrets
    itself does for a single file), with the settings and the lenient reading this process has.

    ``go_on`` (asked with ``"each": true``, to find which files a failed scan failed on): a file
    detect-secrets fails on (it raises while scanning it) does not end the scan; its name and the
    exception's type (never its message, which may quote the file) go to stderr as
    ``gatekeeper-failed: {"file": ..., "error": ...}``, and the next file is scanned."""
    from detect_secrets.core.secrets_collection import SecretsCollection

    def scan_files(self: SecretsCollection, *filenames: str, num_processors: "int | None" = None) -> None:
        for filename in filenames:
            try:
                self.scan_file(filename)
            except Exception as exc:  # whatever it raises, the file is named
                if not go_on:
                    raise
                failed = {"file": filename, "error": type(exc).__name__}
                sys.stderr.write("gatekeeper-failed: " + json.dumps(failed) + "\n")

    SecretsCollection.scan_files = scan_files  # type: ignore[method-assign]


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
