"""A bandit worker: bandit's own command-line code, started once, scanning batches of files sent to it.

Run by the security checker as ``python -I -c <this source>`` in the project's root, one per
CPU. It imports bandit (and loads its plugins) at once. The first worker is then asked to find
the files: its first JSON line on stdin is ``{"discover": request, "probe": <probe.py source>}``,
answered with the probe's JSON document in one frame (so discovery costs no bandit import of its
own). Every worker then reads one JSON line: the options every scan must use (the ``args`` of the
discovery). It runs bandit's
real ``main()`` with those options, so the configuration, profile, ``.bandit`` file, skips,
tests and ``# nosec`` handling are bandit's own; only two of its manager's steps are replaced:

* ``run_tests`` (the scan of the files ``main()`` discovered) does nothing at first, and
* ``output_results`` serves: for every further JSON line on stdin (a list of file names, as
  bandit's discovery named them) it clears the manager's per-run state, runs bandit's original
  ``run_tests`` on those files and writes bandit's original JSON report of them to stdout,
  framed as ``<byte count>\\n<report>``. End of input ends the worker (exit 0).

bandit judges every file on its own (the AST, the ``# nosec`` comments and the metrics are per
file), so the reports of the batches together equal one ``bandit -r`` over all the files.
Anything else written to stdout goes to stderr, so that it cannot corrupt a frame. It imports
nothing from gatekeeper.

Before bandit is imported (which loads every plugin its environment registers under the
``bandit.plugins``, ``bandit.formatters`` and ``bandit.blacklists`` entry points), each plugin not
bandit's own is located without importing it (``_from_checkout``): one whose module, or a package
above it, lies in the working folder (the project's root), or whose distribution was installed from
it (PEP 610 ``direct_url.json``), would run the checkout's code inside bandit (a plugin can make
bandit report nothing). Then bandit is not imported and no scan is made: the worker says why.

Two of bandit's imports are deferred (``_defer``) until something of them is used: ``rich.progress``,
which bandit imports for the progress bar it shows only when it logs at INFO level (never with
``-q``), and ``yaml``, which it uses only to read a YAML configuration file. A deferred module is
the real one, executed on first use, so bandit behaves as it does without the deferral; unused,
they cost nothing (together about a fifth of a worker's CPU when it scans one file).
"""

from __future__ import annotations

import gc
import importlib.machinery
import importlib.util
import io
import json
import os
import sys
import types
from typing import Any, BinaryIO

# bandit allocates millions of short-lived AST and context objects; the default thresholds spend
# ~7-10 % of its CPU time collecting them. Collection still runs, so memory stays bounded.
gc.set_threshold(100_000, 50, 100)


class _Report(io.StringIO):
    """bandit's JSON formatter writes into ``with fileobj:`` and reads ``fileobj.name``: keep the text."""

    name = "<gatekeeper>"
    text = ""

    def close(self) -> None:
        self.text = self.getvalue()
        super().close()


def _frame(out: BinaryIO, text: str) -> None:
    data = text.encode("utf-8", "surrogateescape")
    out.write(b"%d\n" % len(data))
    out.write(data)
    out.flush()


#: bandit's imports that its scans here never use: executed only if something of them is asked for
DEFERRED = ("rich.progress", "yaml")


class _Deferred(types.ModuleType):
    """A module whose code runs when one of its attributes is first asked for (``_defer``): then
    it becomes a plain module, executed in place, so every name bound to it sees the real one."""

    def __getattr__(self, name: str) -> Any:
        spec = self.__spec__
        if spec is None or spec.loader is None:  # not one ``_defer`` made
            raise AttributeError(name)
        module: types.ModuleType = self
        module.__class__ = types.ModuleType  # from here on an ordinary module, as the import system makes it
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(spec.name, None)  # as a failed import leaves it: the next import tries again
            raise
        return getattr(module, name)


def _defer(name: str) -> None:
    """Put ``name`` in ``sys.modules`` as a ``_Deferred`` module: an ``import`` of it binds that
    module without running its code (its spec and file attributes are there, as after an import,
    so the import system asks nothing more of it). Nothing happens when it cannot be found."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return
    if spec is None or spec.loader is None or name in sys.modules:
        return
    module = importlib.util.module_from_spec(spec)
    module.__class__ = _Deferred
    sys.modules[name] = module


#: the entry-point groups bandit loads plugins from as it is imported (``bandit.core.extension_loader``)
PLUGIN_GROUPS = ("bandit.formatters", "bandit.plugins", "bandit.blacklists")


def _from_checkout(root: str) -> str:
    """Why importing bandit would run code of the folder ``root``: the first plugin it would load
    whose module (or a package above it) lies inside ``root``, or whose distribution was installed
    from it; "" when none would. The plugins are listed as bandit's loader (stevedore) lists them;
    those bandit's own distribution declares are left out, and the others' distributions are looked
    up only when there is one."""
    import importlib.metadata as md

    try:
        from stevedore import _cache  # what bandit's ExtensionManager loads, read once for both

        listed = [ep for group in PLUGIN_GROUPS for ep in _cache.get_group_all(group)]
    except Exception:  # another stevedore: ask importlib.metadata as it would
        listed = [ep for group in PLUGIN_GROUPS for ep in md.entry_points(group=group)]
    try:
        own = {(ep.group, ep.name, ep.value) for ep in md.distribution("bandit").entry_points}
    except md.PackageNotFoundError:
        own = set()
    foreign = [ep for ep in listed if (ep.group, ep.name, ep.value) not in own]
    if not foreign:
        return ""
    dists = _distributions_of({(ep.group, ep.name, ep.value) for ep in foreign})
    for ep in foreign:
        dist = dists.get((ep.group, ep.name, ep.value))
        where = _inside(root, ep.value.partition(":")[0].strip(), dist)
        if where:
            named = f"{dist.metadata['Name']} " if dist is not None else ""
            return (
                f"the bandit plugin {ep.name} ({ep.group}: {ep.value}) of {named or 'an unnamed distribution '}"
                f"{where}; a tool's plugin never runs from the checkout "
                "(install the project outside the tool interpreter, or set gate.tool_python)"
            )
    return ""


def _distributions_of(wanted: set[tuple[str, str, str]]) -> dict[tuple[str, str, str], Any]:
    """The distribution declaring each entry point of ``wanted`` (group, name, value)."""
    import importlib.metadata as md

    found: dict[tuple[str, str, str], Any] = {}
    for dist in md.distributions():
        text = dist.read_text("entry_points.txt") or ""
        if "bandit." in text:
            for ep in dist.entry_points:
                found.setdefault((ep.group, ep.name, ep.value), dist)
    return found


def _inside(root: str, module: str, dist: Any) -> str:
    """Why the plugin ``module`` (of the distribution ``dist``) must not be imported: importing it
    would run code from a file or folder of ``root``, its distribution was installed from ``root``,
    or where it would come from is not known before it is imported; "" when none holds."""
    import urllib.parse
    import urllib.request

    places = _module_places(module)
    if places is None:  # a package on the way extends its __path__ as it is imported: not known before
        return f"cannot be located without importing it ({module} is not where its package's folders say)"
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "null") if dist is not None else None
    except ValueError:
        direct = None
    url = str(direct.get("url") or "") if isinstance(direct, dict) else ""
    if url.startswith("file:"):
        places.append(urllib.request.url2pathname(urllib.parse.urlsplit(url).path))
    base = os.path.realpath(root)
    for place in places:
        if place and os.path.isabs(place):
            real = os.path.realpath(place)
            if real == base or real.startswith(base + os.sep):
                return f"comes from the project under review ({os.path.relpath(real, base)})"
    return ""


def _module_places(module: str) -> list[str] | None:
    """The files and folders importing ``module`` would run code from (each package's ``__init__``
    on the way down, the module's file, a package's folders), found without importing anything;
    [] when no top-level module of its name is installed (its import fails, running nothing), None
    when a module below one is not where its package's folders say."""
    parts = module.split(".")
    try:
        spec = importlib.util.find_spec(parts[0])
        if spec is None:
            return []
        places: list[str] = []
        for depth in range(1, len(parts)):
            places.append(spec.origin or "")
            locations = list(spec.submodule_search_locations or [])
            spec = importlib.machinery.PathFinder.find_spec(".".join(parts[: depth + 1]), locations) if locations else None
            if spec is None:
                return None
    except (ImportError, ValueError):
        return None
    return [*places, spec.origin or "", *(str(p) for p in spec.submodule_search_locations or [])]


def _baseline_hidden(manager: Any, sev: Any, conf: Any) -> dict[str, int]:
    """Per file, how many issues a baseline (``baseline`` in a ``.bandit`` file) keeps out of the report:
    bandit leaves out each issue equal to one the baseline lists (the same file, test, severity,
    confidence and text, on any line: ``manager._compare_baseline_results``)."""
    baseline = getattr(manager, "baseline", None)
    hidden: dict[str, int] = {}
    if baseline:
        for issue in manager.results:
            if issue.filter(sev, conf) and issue in baseline:
                hidden[str(issue.fname)] = hidden.get(str(issue.fname), 0) + 1
    return hidden


def _with_hidden(report: str, hidden: dict[str, int]) -> str:
    """bandit's JSON report with ``gatekeeper_baseline_hidden`` (``_baseline_hidden``) as its first key."""
    start = report.find("{")
    if not hidden or start < 0:
        return report
    return '{"gatekeeper_baseline_hidden": ' + json.dumps(hidden) + ", " + report[start + 1 :]


def main() -> int:
    """Serve batches until stdin closes; the exit code is bandit's when it refuses the options."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints (a plugin, a warning) land in stderr, never inside a frame
    sys.stdout = sys.stderr
    missing: ImportError | None = None
    for name in DEFERRED:
        _defer(name)
    refused = _from_checkout(os.getcwd())
    try:
        if refused:
            raise ImportError(refused)
        from bandit.cli import main as cli
        from bandit.core import manager, meta_ast, metrics
    except ImportError as exc:  # a discovery request says why; a scan cannot start
        missing = exc
    else:  # bandit's own, before discovery hooks run_tests
        run_tests = manager.BanditManager.run_tests
        output_results = manager.BanditManager.output_results
    header = sys.stdin.readline()
    first = json.loads(header) if header else None
    if isinstance(first, dict) and refused:  # the probe imports bandit, and with it the plugin: not run
        _frame(out, json.dumps({"ok": False, "message": refused}))
        return 1
    if isinstance(first, dict):  # {"discover": request, "probe": source}: find the files first
        probe: dict[str, Any] = {"__name__": "gatekeeper_bandit_probe"}
        exec(compile(str(first["probe"]), "probe.py", "exec"), probe)  # noqa: S102  # nosec B102: gatekeeper's own probe.py
        _frame(out, json.dumps(probe["answer"](first["discover"])))
        header = sys.stdin.readline()
    if not header:
        return 0  # nothing to scan after all
    if missing is not None:
        print(refused or f"bandit cannot be imported: {missing}", file=sys.stderr)
        return 1
    args = [str(a) for a in json.loads(header)]
    manager.BanditManager.run_tests = run_tests  # discovery's hook out, bandit's own back

    def no_scan(self: Any) -> None:
        """``main()``'s own scan of its placeholder target: skipped."""

    def serve(  # noqa: PLR0913  # bandit's output_results signature, which this replaces
        self: Any, lines: Any, sev: Any, conf: Any, output_file: Any, output_format: Any, template: Any = None
    ) -> None:
        while line := sys.stdin.readline():
            self.files_list = [str(name) for name in json.loads(line)]
            self.excluded_files = []
            self.skipped = []
            self.results = []
            self.scores = []
            self.metrics = metrics.Metrics()
            self.b_ma = meta_ast.BanditMetaAst()
            run_tests(self)
            hidden = _baseline_hidden(self, sev, conf)
            report = _Report()
            output_results(self, lines, sev, conf, report, output_format, template)
            _frame(out, _with_hidden(report.text, hidden))
        # end of input: every report is out, and all main() would still do is exit 0 (the findings
        # were data, already sent). Exit now: tearing down an interpreter that holds bandit's
        # modules and a scan's garbage takes longer than many a scan
        out.close()
        sys.stderr.flush()
        os._exit(0)

    manager.BanditManager.run_tests = no_scan
    manager.BanditManager.output_results = serve
    # the placeholder target is never scanned: the files come over stdin
    sys.argv = ["bandit", *args, "-f", "json", "-q", "--", os.devnull]
    try:
        cli.main()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
