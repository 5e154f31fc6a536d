"""The inspected environment's import path, built without running any of its start-up code.

A probe of the inspected interpreter runs with ``-I -S``: without ``site``, no ``.pth`` file's
``import`` line and no ``sitecustomize`` of that environment runs, so none can change what the
probe reports (a ``.pth`` that wraps ``importlib.metadata.distributions`` hides a package from
every tool that asks the interpreter with ``site`` on). ``PRELUDE`` then puts on ``sys.path`` what
``site`` would have put there: each site-packages folder of the environment (a virtual
environment's per its ``pyvenv.cfg``, with its base interpreter's when it includes the system's;
``sys.prefix`` set to the virtual environment's, as ``site`` sets it)
and each folder a ``.pth`` file names on a line of its own, in ``site``'s order, the file read as
that interpreter's ``site`` reads it (before 3.13 a hidden ``.pth`` is read too, in the locale's
encoding, split at universal newlines only; 3.13 skips it and reads UTF-8 with its BOM dropped):
a folder site adds and the probe missed hid its packages from the inventory. The user's site
folder comes first, as site puts it when the interpreter starts without ``-I`` (as the project's
tests and a tool run by hand start it): unless ``PYTHONNOUSERSITE`` is set, the ids differ, or a
virtual environment leaves out the system's packages. Standard library only, Python 3.8 and later.
"""

from __future__ import annotations

#: run first in a probe started with ``-I -S``: ``sys.path`` as site would make it, and
#: ``_gk_site_folders()``, the environment's site-packages folders (no ``.pth`` file read);
#: ``_gk_looked`` lists every path looked at to build it (``pyvenv.cfg``, the site-packages folders
#: whether or not they exist, each ``.pth`` file and each folder one names), for ``probecache``
PRELUDE = r"""
_gk_looked = []  # every path whose presence or contents decided what was put on sys.path
def _gk_site_folders():
    import os, site, sys
    exe_dir = os.path.dirname(os.path.abspath(sys.executable))
    venv_prefix = os.path.dirname(exe_dir)
    prefixes = [sys.prefix]
    system = "true"  # outside a virtual environment, the user's site folder is site's first
    for conf in (os.path.join(exe_dir, "pyvenv.cfg"), os.path.join(venv_prefix, "pyvenv.cfg")):
        _gk_looked.append(conf)
        if os.path.isfile(conf):
            system = "true"
            with open(conf, encoding="utf-8") as handle:
                for line in handle:
                    key, sep, value = line.partition("=")
                    if sep and key.strip().lower() == "include-system-site-packages":
                        system = value.strip().lower()
            prefixes = [venv_prefix, sys.prefix, sys.exec_prefix] if system == "true" else [venv_prefix]
            # as site.venv() does before it asks for the folders: Debian's and Ubuntu's
            # getsitepackages() name a prefix's lib/pythonX.Y/site-packages only while sys.prefix is
            # a virtual environment's (else their dist-packages folders alone)
            sys.prefix = sys.exec_prefix = venv_prefix
            break
    out = []
    user = _gk_user_site() if system == "true" else ""
    if user:
        _gk_looked.append(user)
        if os.path.isdir(user):
            out.append(user)
    for prefix in dict.fromkeys(prefixes):
        for folder in site.getsitepackages([prefix]):
            _gk_looked.append(folder)
            if folder not in out and os.path.isdir(folder):
                out.append(folder)
    return out
def _gk_user_site():
    # the user's site folder, where site puts it when the interpreter starts without -I or -s:
    # first, unless PYTHONNOUSERSITE is set (-s) or the process runs with other user or group ids
    # (site.check_enableusersite); a virtual environment without the system's packages has none
    import os, site
    if os.environ.get("PYTHONNOUSERSITE"):
        return ""
    if hasattr(os, "getuid") and hasattr(os, "geteuid") and (os.geteuid() != os.getuid() or os.getegid() != os.getgid()):
        return ""
    try:
        return site.getusersitepackages() or ""
    except Exception:
        return ""
def _gk_pth_lines(path, name):
    # the lines site reads of a .pth file, as this interpreter's site reads them (none: it skips the
    # file): before 3.13, every .pth (a hidden one too) in the locale's encoding, split at universal
    # newlines; from 3.13 on, hidden files skipped, UTF-8 (its BOM dropped) or else the locale's
    # encoding, split by str.splitlines
    import os, stat, sys  # locale only where it is used: importing it (re, enum) is most of a probe's start
    try:
        if sys.version_info < (3, 13):
            encoding = "locale" if sys.version_info >= (3, 10) else __import__("locale").getpreferredencoding(False)
            with open(path, encoding=encoding, errors="replace") as handle:
                return list(handle)
        if name.startswith(".") or getattr(os.lstat(path), "st_flags", 0) & getattr(stat, "UF_HIDDEN", 0):
            return []
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return []
    try:
        return data.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError:
        return data.decode(__import__("locale").getencoding(), "replace").splitlines()
def _gk_site_path():
    import os, sys
    known = {os.path.normcase(p) for p in sys.path}
    for folder in _gk_site_folders():
        if os.path.normcase(folder) in known:
            continue
        sys.path.append(folder)
        known.add(os.path.normcase(folder))
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            if not name.endswith(".pth"):
                continue
            _gk_looked.append(os.path.join(folder, name))
            lines = _gk_pth_lines(os.path.join(folder, name), name)
            for line in lines:
                # site.py runs an "import" line as code: never here; any other line names a folder
                if not line.strip() or line.startswith("#") or line.startswith(("import ", "import\t")):
                    continue
                path = os.path.abspath(os.path.join(folder, line.rstrip()))
                _gk_looked.append(path)
                if os.path.normcase(path) not in known and os.path.exists(path):
                    sys.path.append(path)
                    known.add(os.path.normcase(path))
_gk_site_path()
"""

#: the flags a probe of the inspected interpreter runs with: isolated, and without ``site``
FLAGS = ("-I", "-S")

#: the end of each of the two below: a tool that inspected another interpreter than gatekeeper's own
#: without asking it as gatekeeper asks ends with exit 70 (output gatekeeper refuses)
_CHECK_ASKED = """def _gk_check_asked():
    if _GK_GIVEN != sys.executable and not _gk_asked:
        sys.stderr.write(_GK_TOOL + " read " + _GK_GIVEN + " without asking it as gatekeeper asks (-I -S)\\n")
        sys.stderr.flush()
        os._exit(70)
"""

#: run in a tool's process before the tool (``runmain.command``'s ``before``), for a tool that asks
#: the interpreter it inspects for its ``sys.path`` as ``subprocess.run([PY, "-c", SCRIPT])`` with
#: ``site`` on (pip-licenses' ``--python``, cyclonedx-py's ``environment PY``), so that the
#: environment's ``.pth`` import lines and ``sitecustomize`` would run, and could hide a package
#: from what the tool lists: that question is asked as the environment probe asks its own (``FLAGS``
#: and ``PRELUDE``: none of that environment's start-up code runs). A run in which the tool read
#: another interpreter without asking that way ends with exit 70 (output gatekeeper refuses) instead
#: of a listing nobody vetted. Needs ``_GK_TOOL`` and ``_GK_GIVEN`` (``asking``).
_ASKING = (
    """
import subprocess as _gk_subprocess

_gk_asked = []


def _gk_isolated(args, *rest, _gk_run=_gk_subprocess.run, **kwargs):
    if isinstance(args, list) and len(args) == 3 and args[1] == "-c":
        _gk_asked.append(args[0])
        args = [args[0], *_GK_FLAGS, "-c", _GK_PRELUDE + args[2]]
    return _gk_run(args, *rest, **kwargs)


"""
    + _CHECK_ASKED
    + """

_gk_subprocess.run = _gk_isolated
atexit.register(_gk_check_asked)
"""
)


def asking(tool: str, python: str) -> str:
    """The code to run in ``tool``'s process before it (``runmain.command``) so that its question to
    ``python``, the interpreter it inspects, runs none of that environment's start-up code (``_ASKING``)."""
    return f"_GK_TOOL = {tool!r}\n_GK_GIVEN = {python!r}\n_GK_FLAGS = {list(FLAGS)!r}\n_GK_PRELUDE = {PRELUDE!r}\n{_ASKING}"


#: run in mypy's process before it (``runmain.command``'s ``before``): mypy asks the interpreter of
#: ``--python-executable`` for its search folders as ``subprocess.check_output([PY, pyinfo.py,
#: "getsearchdirs"])`` with ``site`` on, which ran every ``import`` line of that environment's ``.pth``
#: files (a package's, the project's own build's) while the types check ran, with the job's rights.
#: The question is asked as the environment probe asks its own (``FLAGS``, ``PRELUDE``): mypy's own
#: ``pyinfo.py`` runs there, its ``sys.path`` the one ``PRELUDE`` builds and its site-packages
#: folders ``PRELUDE``'s (with ``-S``, ``site`` would name the base interpreter's). A run in which mypy
#: read another interpreter without asking that way ends with exit 70. Needs ``_GK_TOOL`` and ``_GK_GIVEN``.
_SEARCH_DIRS = (
    """
import subprocess as _gk_subprocess

_gk_asked = []
_GK_PYINFO = (
    "import runpy, site, sys\\n"
    "_gk_folders = _gk_site_folders()\\n"
    "site.getsitepackages = lambda *args, **kwargs: list(_gk_folders)\\n"
    "sys.argv = [_GK_FILE, 'getsearchdirs']\\n"
    "runpy.run_path(_GK_FILE, run_name='__main__')\\n"
)


def _gk_isolated(args, *rest, _gk_run=_gk_subprocess.check_output, **kwargs):
    if isinstance(args, list) and len(args) == 3 and args[2] == "getsearchdirs":
        _gk_asked.append(args[0])
        code = _GK_PRELUDE + "_GK_FILE = " + repr(str(args[1])) + "\\n" + _GK_PYINFO
        args = [args[0], *_GK_FLAGS, "-c", code]
    return _gk_run(args, *rest, **kwargs)


"""
    + _CHECK_ASKED
    + """

_gk_subprocess.check_output = _gk_isolated
atexit.register(_gk_check_asked)
"""
)


def search_dirs(python: str) -> str:
    """The code to run in mypy's process before it (``runmain.command``) so that its question to
    ``python`` (``--python-executable``) runs none of that environment's start-up code (``_SEARCH_DIRS``)."""
    return f"_GK_TOOL = 'mypy'\n_GK_GIVEN = {python!r}\n_GK_FLAGS = {list(FLAGS)!r}\n_GK_PRELUDE = {PRELUDE!r}\n{_SEARCH_DIRS}"
