"""Find the files ``bandit -r`` would scan, with bandit's own command-line code; print one JSON document.

Run by the security checker inside a bandit worker (``worker.py`` runs ``answer`` before it scans:
one bandit import serves both; the worker first refuses a bandit plugin of the checkout, which
importing bandit would run), in the project's root; ``python -I -c <this source> REQUEST_JSON``
runs it by hand.
It builds bandit's arguments from the policy and the project's ``.bandit`` file, then runs
bandit's real ``main()`` with the scanning step replaced by a hook that reports the discovered
file list. So the list (targets, exclusions, ``exclude_dirs`` and include globs from the config
file) is exactly bandit's; the checker then scans those files in shards and caches per file.
It imports nothing from gatekeeper.

Request: ``{"targets": [...], "exclude": [...], "skip": [...], "tests": [...], "config": "",
"project_config": "honour"|"ignore"}``; with ``ignore`` no ``.bandit`` file is read (not even the
one bandit would find by itself) and ``# nosec`` marks are ignored (``--ignore-nosec``).
Answer: ``{"ok": true, "args": [...], "files": [...], "ini": path|null, "version": ..., "python": ...,
"project": {...}}`` where ``args`` are the options (everything but targets) every scan must use and
``project`` what the project's own bandit configuration (``.bandit``, the config file) narrows:
its exclusions, skipped tests, the tests it restricts the scan to, and other options; or
``{"ok": false, "message": ...}``.
"""

from __future__ import annotations

import fnmatch
import io
import json
import os
import sys
from contextlib import redirect_stderr, redirect_stdout
from typing import Any


class _Discovered(Exception):
    """Carries the discovered files out of bandit's main() (a signal, not an error)."""

    def __init__(self, files: list[str]) -> None:
        super().__init__()
        self.files = files


def _find_ini(targets: list[str]) -> list[str]:
    """The ``.bandit`` files bandit itself would find under the targets (bandit.cli.main._get_options_from_ini)."""
    found: list[str] = []
    for target in targets:
        for root, _, filenames in os.walk(target):
            for name in fnmatch.filter(filenames, ".bandit"):
                found.append(os.path.join(root, name))
    return found


def _merge(*groups: list[str]) -> list[str]:
    out: list[str] = []
    for group in groups:
        for item in group:
            item = item.strip()
            if item and item not in out:
                out.append(item)
    return out


def _split(value: Any) -> list[str]:
    return [v for v in str(value or "").split(",") if v.strip()]


def _policy_excludes(entries: list[str]) -> list[str]:
    """The policy's exclude entries as ``-x`` patterns that do what they say under ``bandit -r``.

    bandit turns a directory ``tests`` into the glob ``tests/*`` and also drops any path that
    contains a pattern as a substring. Walking the target ``.`` it names files ``./tests/x.py``,
    which ``tests/*`` does not match, so ``-r . -x tests`` scans the tests (while a plain word like
    ``build`` drops ``src/rebuild.py``). So: a path that exists is passed as written and with
    ``./`` (both spellings bandit produces); a glob likewise; a plain name that does not exist
    here excludes nothing and is left out.
    """
    out: list[str] = []
    for entry in entries:
        entry = str(entry).strip().rstrip("/")
        if not entry:
            continue
        bare = entry[2:] if entry.startswith("./") else entry
        is_glob = any(c in bare for c in "*?[")
        if not is_glob and not os.path.exists(bare):
            continue
        out.append(bare)
        if not bare.startswith(("*", "/")):
            out.append("./" + bare)
    return out


def _project_narrowing(ini: str | None, ini_options: dict[str, Any], config: str) -> dict[str, Any]:
    """What the project's bandit configuration leaves out: ``.bandit`` keys, and the config file's lists
    and its other settings (a plugin test's own, e.g. ``assert_used: skips``, which turns it off for
    the files named). The config file is the one bandit loads: ``config`` (``-c``), else the one the
    ``.bandit`` file names (``configfile``)."""
    from bandit.core import config as b_config
    from bandit.core import utils as b_utils

    config = config or str(ini_options.get("configfile") or "")

    exclude = _split(ini_options.get("exclude"))
    skips = _split(ini_options.get("skips"))
    tests = _split(ini_options.get("tests"))
    files = [ini] if ini else []
    other = {
        str(k): str(v)
        for k, v in ini_options.items()
        if k not in ("exclude", "skips", "tests", "targets", "recursive", "format", "output", "quiet", "verbose", "debug")
    }
    if config:
        files.append(config)
        try:
            conf = b_config.BanditConfig(config_file=config)
        except (b_utils.ConfigError, OSError, ValueError) as exc:  # bandit's own run reports it too
            other["config_error"] = str(exc)
        else:
            exclude += [str(d) for d in conf.get_option("exclude_dirs") or []]
            skips += [str(t) for t in conf.get_option("skips") or []]
            tests += [str(t) for t in conf.get_option("tests") or []]
            settings = conf.config if isinstance(conf.config, dict) else {}
            for key, value in sorted(settings.items(), key=lambda item: str(item[0])):
                if key not in ("exclude_dirs", "skips", "tests"):
                    other[str(key)] = json.dumps(value, sort_keys=True, default=str)
    return {"files": files, "exclude": _merge(exclude), "skips": _merge(skips), "tests": _merge(tests), "options": other}


def discover(request: dict[str, Any]) -> dict[str, Any]:
    """Build the scan options and let bandit's CLI discover the files."""
    import bandit
    from bandit.cli import main as cli
    from bandit.core import constants, manager, utils

    targets = [str(t) for t in request.get("targets") or ["."]]
    honour = request.get("project_config", "honour") != "ignore"
    inis = _find_ini(targets) if honour else []
    if len(inis) > 1:
        return {
            "ok": False,
            "message": f"several .bandit files found ({', '.join(sorted(inis))}): keep one, or exclude the others",
        }
    ini = inis[0] if inis else None
    ini_options: dict[str, Any] = (utils.parse_ini_file(ini) or {}) if ini else {}
    # The policy's lists extend the project's own (.bandit) and bandit's default exclusions;
    # bandit alone would let a command-line -x/-s replace them.
    exclude = _merge(_policy_excludes(request.get("exclude") or []), _split(ini_options.get("exclude")), list(constants.EXCLUDE))
    skips = _merge(list(request.get("skip") or []), _split(ini_options.get("skips")))
    tests = _merge(list(request.get("tests") or [])) or _split(ini_options.get("tests"))
    args: list[str] = ["-x", ",".join(exclude)]
    if request.get("config"):
        args += ["-c", str(request["config"])]
    if ini:
        args += ["--ini", ini]
    if skips:
        args += ["-s", ",".join(skips)]
    if tests:
        args += ["-t", ",".join(tests)]
    if not honour:
        args.append("--ignore-nosec")
        cli._get_options_from_ini = lambda *_args, **_kwargs: None  # bandit would find .bandit by itself
    project = _project_narrowing(ini, ini_options, str(request.get("config") or ""))

    def hook(self: Any) -> None:
        raise _Discovered(list(self.files_list))

    manager.BanditManager.run_tests = hook
    sys.argv = ["bandit", "-r", *args, "-f", "json", "-q", "--", *targets]
    err = io.StringIO()
    try:
        with redirect_stdout(io.StringIO()), redirect_stderr(err):
            cli.main()
    except _Discovered as found:
        return {
            "ok": True,
            "args": args,
            "files": sorted(found.files),
            "ini": ini,
            "version": bandit.__version__,
            "python": sys.version,
            "project": project,
        }
    except SystemExit as exc:
        return {"ok": False, "message": f"bandit refused the options (exit {exc.code}): {err.getvalue().strip()[-600:]}"}
    return {"ok": False, "message": f"bandit finished without scanning: {err.getvalue().strip()[-600:]}"}


def answer(request: dict[str, Any]) -> dict[str, Any]:
    """``discover``, or why bandit cannot be used here (also called inside a bandit worker, ``worker.py``)."""
    try:
        return discover(request)
    except ImportError as exc:
        if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] == "bandit":
            message = f"bandit is not installed in {sys.executable} (pip install bandit, or set gate.tool_python)"
        else:
            message = f"bandit is not usable in {sys.executable}: {exc}"
        return {"ok": False, "message": message}


def main(argv: list[str]) -> int:
    """Entry point: one JSON request in argv, one JSON answer on stdout."""
    request = json.loads(argv[0]) if argv else {}
    sys.stdout.write(json.dumps(answer(request)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
