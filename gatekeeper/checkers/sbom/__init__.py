"""A CycloneDX SBOM of the inspected environment, generated with cyclonedx-bom and validated.

With a lock file as the ``source``, the SBOM is written from the lock instead (``lockbom``):
cyclonedx-py does not read lock files, and nothing is installed.

cyclonedx-py generates the SBOM with ``--no-validate``; gatekeeper then validates it once against
the CycloneDX JSON schema with cyclonedx-python-lib's strict validator, in a separate process
(``validate``, started beside cyclonedx-py so that its imports and schema loading overlap the
generation; it is handed the written file's path). Every schema rule and every
``format`` is checked; only the checker behind ``format: iri-reference`` is swapped: jsonschema
uses rfc3987-syntax's Earley parser (about 95 % of a validating ``cyclonedx-py environment`` run's
time: 5.9 of 6.2 s on 70 components), and gatekeeper uses a regular expression transcribed from
the same grammar (``iri``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatekeeper import __version__, process
from gatekeeper.checkers.base import CheckContext, CheckerBase, Display
from gatekeeper.checkers.lockfiles import LOCK_OPTIONS, format_of, left_in_lock, source_problem
from gatekeeper.checkers.sbom import presentation
from gatekeeper.errors import ToolError
from gatekeeper.findings import NO_BASELINE, CheckResult, Finding, Package, Severity, Status, decide_status, fingerprint
from gatekeeper.options import Option

# the run path (cyclonedx-py's invocation, the inventory, lock files, SPDX, validation, packaging) is
# imported where it is used, in the check's own thread: loading the checker needs none of it


def _supported() -> tuple[str, ...]:
    """The CycloneDX versions from 1.4 up that the installed cyclonedx-python-lib validates (1.7 from its 11.x)."""
    from cyclonedx.schema import SchemaVersion

    found = sorted((v.value for v in SchemaVersion if v.value >= (1, 4)), reverse=False)
    return tuple(f"{major}.{minor}" for major, minor in found)


SPEC_VERSIONS = _supported()
#: CycloneDX versions newer than some cyclonedx-python-lib releases validate: what each needs
_NEEDS = {"1.7": "cyclonedx-python-lib 11 or later, with cyclonedx-bom 7 or later to write it"}


def spec_problem(value: str, supported: tuple[str, ...] = SPEC_VERSIONS, library: str | None = None) -> str:
    """Why the policy's ``spec_version`` cannot be used with the installed library (empty when it
    can): a CycloneDX version the library is too old for says which version it needs."""
    if value in supported:
        return ""
    if value in _NEEDS:
        if library is None:
            from importlib.metadata import PackageNotFoundError, version

            try:
                library = version("cyclonedx-python-lib")
            except PackageNotFoundError:
                library = "(not installed)"
        return (
            f"CycloneDX {value} needs {_NEEDS[value]}; the installed cyclonedx-python-lib {library} validates "
            f"{', '.join(supported)} (upgrade them in gatekeeper's environment, or choose one of those)"
        )
    return f"expected one of {', '.join(repr(v) for v in supported)}, got {value!r}"


SBOM_FORMATS = ("cyclonedx", "spdx")


class SbomChecker(CheckerBase):
    """Writes and validates a CycloneDX SBOM; thresholds on how complete the inventory is."""

    name = "sbom"
    description = "software bill of materials (CycloneDX via cyclonedx-bom)"
    options: Mapping[str, Option] = {
        "output": Option("str", "sbom.cdx.json", "file name of the SBOM, written into the output dir"),
        "spec_version": Option(
            "str",
            "1.6",
            f"CycloneDX specification version ({', '.join(SPEC_VERSIONS)} with this cyclonedx-python-lib)",
            accepts=spec_problem,
        ),
        "formats": Option(
            "str_list",
            ["cyclonedx"],
            'SBOM files to write: the CycloneDX one always, and SPDX 2.3 JSON with "spdx"',
            choices=SBOM_FORMATS,
        ),
        "spdx_output": Option("str", "sbom.spdx.json", "file name of the SPDX SBOM, written into the output dir"),
        "wheel": Option(
            "str", "", "a glob (e.g. dist/*.whl) of the project's built wheel: whether it ships .dist-info/sboms/ (PEP 770)"
        ),
        "require_wheel_sbom": Option("bool", False, "the wheel named by wheel must carry an SBOM in .dist-info/sboms/"),
        "source": Option(
            "str",
            "environment",
            '"environment", a requirements file, "pyproject.toml", or a lock file (uv.lock, pylock.toml, poetry.lock, pdm.lock)',
            accepts=source_problem,
        ),
        **LOCK_OPTIONS,
        "min_license_coverage": Option(
            "float", 0.0, "minimum share of components with a license (percent)", minimum=0, maximum=100
        ),
        "require_purl": Option("bool", False, "every component must carry a package URL"),
    }

    tool = presentation.TOOL
    inspects_environment = True

    def display(self, result: CheckResult) -> Display:
        """The SBOM's size, schema validity and completeness."""
        return presentation.display(result)

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        """Generate the SBOM with cyclonedx-py, filter it to the scope, validate it and write it."""
        import datetime as dt
        import uuid

        from gatekeeper.checkers import cache
        from gatekeeper.checkers.inventory import load_inventory
        from gatekeeper.checkers.sbom import pep770
        from gatekeeper.checkers.sbom.invocation import invocation
        from gatekeeper.checkers.sbom.validation import early_validator
        from gatekeeper.fileio import resolve_for_write, write_atomic

        spec = str(section["spec_version"])
        source = str(section["source"] or "environment")
        if format_of(Path(source).name) is not None:
            return self._from_lock(section, ctx, source)
        pyproject = ctx.root / "pyproject.toml"
        args, stdin, keep, extra = invocation(ctx, source, spec)
        if section.get("wheel"):
            extra["wheel"] = pep770.wheel_sboms(ctx.root, str(section["wheel"]))
        folder = ctx.cache_dir / "sbom" if ctx.cache_dir is not None else None
        version = process.tool_version(ctx.tool_python, "cyclonedx-bom", elsewhere=ctx.tool_python, missing="(not installed)")
        key = cache.cache_key(
            "sbom", 2, version, args, stdin or b"", sorted(keep or ()), extra,
            cache.file_digest(pyproject), cache.file_digest(ctx.root / source) if source != "environment" else "",
            [cache.file_digest(ctx.root / f) for f in extra.get("requirements_files") or ()],  # what its -r and -c name
            load_inventory(ctx).digest() if source == "environment" else "",
            *(cache.file_digest(Path(__file__).with_name(n)) for n in ("validate.py", "iri.py", "validation.py")),
        )  # fmt: skip
        out = resolve_for_write(ctx.output_dir / str(section["output"]), ctx.root)
        payload, rejected = cache.read(folder, key)
        extra["cache_rejected"] = int(rejected)
        if isinstance(payload, dict) and isinstance(payload.get("text"), str):
            # the same inventory gives the same SBOM; it gets its own serial number and time (CycloneDX
            # asks for a unique serialNumber per generated BOM), which does not change its validity
            bom = json.loads(payload["text"])
            bom["serialNumber"] = f"urn:uuid:{uuid.uuid4()}"
            if isinstance(bom.get("metadata"), dict) and "timestamp" in bom["metadata"]:
                bom["metadata"]["timestamp"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
            write_atomic(out, json.dumps(bom, indent=2, ensure_ascii=False) + "\n")
            checked = _Validation(payload.get("problem"), list(payload.get("formats") or []))
            self._write_spdx(section, bom, ctx, extra)
            return self._result(section, bom, extra, checked, cached=True)
        with early_validator(ctx, spec) as validate:
            bom = _generate(ctx, args, stdin, keep, extra)
            text = json.dumps(bom, indent=2, ensure_ascii=False) + "\n"
            write_atomic(out, text)
            checked = _Validation(*validate(out))
        cache.write(folder, key, {"text": text, "problem": checked.problem, "formats": checked.formats})
        self._write_spdx(section, bom, ctx, extra)
        return self._result(section, bom, extra, checked, cached=False)

    def _from_lock(self, section: Mapping[str, Any], ctx: CheckContext, source: str) -> CheckResult:
        """The SBOM of a lock file's counted packages (``lockbom``), written, validated and judged like any other."""
        from gatekeeper.checkers.inventory import declared_name
        from gatekeeper.checkers.lockfiles import read_lock, selection_of
        from gatekeeper.checkers.lockfiles.scope import left_out
        from gatekeeper.checkers.sbom import pep770
        from gatekeeper.checkers.sbom.lockbom import lock_bom
        from gatekeeper.checkers.sbom.validation import validate_file
        from gatekeeper.fileio import resolve_for_write, under, write_atomic

        spec = str(section["spec_version"])
        path = under(ctx.root, source)
        selection = selection_of(section)
        lock = read_lock(path, selection, declared_name(ctx.root))
        bom = lock_bom(lock, spec, _project_of(ctx.root))
        held = lock.held()  # named when nothing counted
        described = {"path": source, "format": lock.format, **held, **selection.describe()}
        extra: dict[str, Any] = {"scope": "lock", "lock": {**described, **left_out(lock, selection, declared_name(ctx.root))}}
        if section.get("wheel"):
            extra["wheel"] = pep770.wheel_sboms(ctx.root, str(section["wheel"]))
        out = resolve_for_write(ctx.output_dir / str(section["output"]), ctx.root)
        write_atomic(out, json.dumps(bom, indent=2, ensure_ascii=False) + "\n")
        checked = _Validation(*validate_file(ctx, out, spec))
        self._write_spdx(section, bom, ctx, extra)
        return self._result(section, bom, extra, checked, cached=False)

    def _write_spdx(self, section: Mapping[str, Any], bom: Mapping[str, Any], ctx: CheckContext, extra: dict[str, Any]) -> None:
        """With ``formats`` naming spdx: the SPDX 2.3 JSON of the same SBOM, beside it (metric ``spdx``)."""
        if "spdx" not in (section.get("formats") or ()):
            return  # before the imports: the SPDX writer loads license-expression's table
        from gatekeeper.checkers.sbom.spdx import to_spdx
        from gatekeeper.fileio import resolve_for_write, write_atomic

        tools = [f"gatekeeper-{__version__}", f"cyclonedx-py-{_tool_version(bom) or 'unknown'}"]
        doc = to_spdx(bom, tools)
        path = resolve_for_write(ctx.output_dir / str(section["spdx_output"]), ctx.root)
        write_atomic(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        extra["spdx"] = {
            "output": Path(str(section["spdx_output"])).as_posix(),
            "spdx_version": doc["spdxVersion"],
            "packages": len(doc["packages"]),
        }

    def _result(
        self,
        section: Mapping[str, Any],
        bom: Mapping[str, Any],
        extra: Mapping[str, Any],
        checked: _Validation,
        cached: bool,
    ) -> CheckResult:
        problem, formats = checked.problem, checked.formats
        spec = str(section["spec_version"])
        validation = {"schema": f"CycloneDX {spec} JSON (strict)", "formats": formats}
        metrics = {**measure(bom), **extra, "valid": problem is None, "validation": validation, "cached": cached}
        metrics["thresholds"] = {
            "min_license_coverage": float(section["min_license_coverage"]),
            "require_purl": bool(section["require_purl"]),
        }
        findings = _findings(bom, section, metrics, problem, str(section["output"]))
        findings += _wheel_findings(section, metrics)
        artifacts = {"sbom": Path(str(section["output"])).as_posix()}
        if "spdx" in extra:
            artifacts["sbom_spdx"] = extra["spdx"]["output"]
        status, summary = decide_status(findings), _summary(metrics, problem)
        if not metrics["components"] and status is not Status.FAIL and not section.get("allow_empty"):
            # the rule of every environment check: an SBOM of nothing vouches for nothing
            left_out = f", {metrics['left_out']} left out" if metrics.get("left_out") else ""
            status = Status.ERROR
            summary = (
                f"the SBOM lists no component (scope {metrics.get('scope', '?')}{left_out})"
                f"{left_in_lock(metrics.get('lock'), 'sbom')}; "
                "set checks.sbom.allow_empty = true if that is expected"
            )
        return CheckResult(
            name=self.name,
            status=status,
            summary=summary,
            error=summary if status is Status.ERROR else None,
            tool_name="gatekeeper (lock file)" if extra.get("scope") == "lock" else "cyclonedx-bom",
            tool_version=__version__ if extra.get("scope") == "lock" else _tool_version(bom),
            metrics=metrics,
            artifacts=artifacts,
            findings=tuple(findings),
        )


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class _Validation:
    """What validating the SBOM found: the problem (None when valid) and the formats checked."""

    problem: str | None
    formats: list[str]


def _project_of(root: Path) -> dict[str, str]:
    """The project's name and version as pyproject.toml's [project] declares them ("" when absent or dynamic)."""
    from gatekeeper import tomlio

    try:
        table = tomlio.loads((root / "pyproject.toml").read_text(encoding="utf-8")).get("project") or {}
    except (OSError, UnicodeDecodeError, tomlio.TOMLDecodeError):
        table = {}
    return {k: str(table[k]) for k in ("name", "version") if isinstance(table, dict) and isinstance(table.get(k), str)}


def restrict(bom: Mapping[str, Any], keep: set[str], project: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The SBOM with only the components whose (PEP 503) name is in ``keep`` (each once), and the
    dependency graph pruned to match; the root component (metadata.component) stays. Without a root,
    the ``project``'s own component (name, version) becomes the root."""
    from packaging.utils import canonicalize_name

    out = dict(bom)
    components: list[Any] = []
    seen: set[str] = set()
    root = (bom.get("metadata") or {}).get("component") or {}
    own = canonicalize_name(str(project["name"])) if project else ""
    for c in bom.get("components", []):
        key = canonicalize_name(str(c.get("name", "")))
        if own and key == own and not root and str(c.get("version", "")) == str(project and project["version"]):
            root = c
            out["metadata"] = {**(bom.get("metadata") or {}), "component": c}
        if key in keep and key not in seen:
            seen.add(key)
            components.append(c)
    if project and root and canonicalize_name(str(root.get("name", ""))) == own and not root.get("version"):
        root = {**root, "version": str(project["version"])}  # a dynamic PEP 621 version: the installed one
        out["metadata"] = {**(bom.get("metadata") or {}), "component": root}
    kept_refs = {str(c.get("bom-ref")) for c in components}
    if root.get("bom-ref"):
        kept_refs.add(str(root["bom-ref"]))
    out["components"] = components
    if "dependencies" in bom:
        deps = []
        for entry in bom["dependencies"]:
            if str(entry.get("ref")) not in kept_refs:
                continue
            entry = dict(entry)
            if "dependsOn" in entry:
                entry["dependsOn"] = [r for r in entry["dependsOn"] if str(r) in kept_refs]
            deps.append(entry)
        out["dependencies"] = deps
    return out


def measure(bom: Mapping[str, Any]) -> dict[str, Any]:
    """Counts over the SBOM's components: licenses, purls, hashes, and the root component."""
    components = [c for c in bom.get("components", []) if isinstance(c, dict)]
    total = len(components)
    with_license = sum(1 for c in components if c.get("licenses"))
    root = (bom.get("metadata") or {}).get("component")
    return {
        "components": total,
        "spec_version": str(bom.get("specVersion", "")),
        "with_license": with_license,
        "with_purl": sum(1 for c in components if c.get("purl")),
        "with_hashes": sum(1 for c in components if _has_hashes(c)),
        "license_coverage": round(100.0 * with_license / total, 2) if total else 100.0,
        "root": {"name": root.get("name"), "version": root.get("version")} if isinstance(root, dict) else None,
    }


def _has_hashes(component: Mapping[str, Any]) -> bool:
    """Hashes on the component, or on one of its external references (where cyclonedx-py puts the
    ``--hash`` values of a requirements file and PEP 610 archive hashes)."""
    if component.get("hashes"):
        return True
    refs = component.get("externalReferences") or []
    return any(isinstance(r, dict) and r.get("hashes") for r in refs)


def _findings(
    bom: Mapping[str, Any], section: Mapping[str, Any], metrics: Mapping[str, Any], problem: str | None, output: str
) -> list[Finding]:
    from packaging.utils import canonicalize_name

    findings: list[Finding] = []
    if problem is not None:
        findings.append(
            Finding(
                rule_id="sbom.invalid",
                tags=("sbom", NO_BASELINE),
                severity=Severity.HIGH,
                blocking=True,
                message=f"the SBOM {output} is not valid CycloneDX {metrics['spec_version']}: {problem}",
                fingerprint=fingerprint("sbom", "sbom.invalid", output),
                rule_name="SBOM fails schema validation",
                properties={"validator": problem},
            )
        )
    minimum = float(section["min_license_coverage"])
    if minimum > 0 and metrics["license_coverage"] < minimum:
        missing = sorted(str(c.get("name")) for c in _components(bom) if not c.get("licenses"))
        findings.append(
            Finding(
                rule_id="sbom.min_license_coverage",
                tags=("sbom", NO_BASELINE),
                severity=Severity.MEDIUM,
                blocking=True,
                message=(
                    f"{metrics['license_coverage']}% of components carry a license, below the minimum {minimum:g}% "
                    f"({len(missing)} without: {', '.join(missing[:10])}{'…' if len(missing) > 10 else ''})"
                ),
                fingerprint=fingerprint("sbom", "sbom.min_license_coverage"),
                rule_name="license coverage below the minimum",
                properties={"coverage": metrics["license_coverage"], "minimum": minimum, "without_license": missing},
            )
        )
    if section["require_purl"]:
        for c in _components(bom):
            if c.get("purl"):
                continue
            name, version = str(c.get("name", "")), str(c.get("version") or "")
            findings.append(
                Finding(
                    rule_id="sbom.require_purl",
                    severity=Severity.MEDIUM,
                    blocking=True,
                    message=f"component {name} {version} has no package URL (purl)".replace("  ", " "),
                    package=Package(name, version),
                    fingerprint=fingerprint("sbom", "sbom.require_purl", canonicalize_name(name)),
                    rule_name="component without a purl",
                    properties={"bom_ref": c.get("bom-ref")},
                )
            )
    return findings


def _components(bom: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    return [c for c in bom.get("components", []) if isinstance(c, dict)]


def _wheel_findings(section: Mapping[str, Any], metrics: Mapping[str, Any]) -> list[Finding]:
    """With ``require_wheel_sbom``: one blocking finding per named wheel without ``.dist-info/sboms/``."""
    if not section.get("require_wheel_sbom"):
        return []
    return [
        Finding(
            rule_id="sbom.wheel_without_sbom",
            tags=("sbom", NO_BASELINE),
            severity=Severity.MEDIUM,
            blocking=True,
            message=f"the wheel {w['path']} carries no SBOM in .dist-info/sboms/ (PEP 770)",
            fingerprint=fingerprint("sbom", "sbom.wheel_without_sbom", w["path"]),
            rule_name="wheel without a PEP 770 SBOM",
        )
        for w in metrics.get("wheel") or ()
        if not w["pep770"]
    ]


def _summary(metrics: Mapping[str, Any], problem: str | None) -> str:
    state = "valid" if problem is None else "INVALID"
    components = f"{metrics['components']} component{'' if metrics['components'] == 1 else 's'}"
    text = (
        f"{components}, CycloneDX {metrics['spec_version']} {state}; "
        f"{metrics['with_license']} with a license, {metrics['with_purl']} with a purl"
    )
    if metrics.get("scope") == "lock":  # a selection smaller than the lock never reads as the whole lock
        from gatekeeper.checkers.lockfiles.scope import note

        text += note(metrics.get("lock"), "sbom", "listed")
    from gatekeeper.checkers.inventory import missing_note

    text += missing_note(metrics.get("missing") or [], "not listed")
    if metrics.get("spdx"):
        text += f"; SPDX 2.3 {metrics['spdx']['output']}"
    shipped = metrics.get("dependency_sboms") or []
    if shipped:
        text += f"; {len(shipped)} {'dependency ships' if len(shipped) == 1 else 'dependencies ship'} SBOMs (PEP 770)"
    for wheel in metrics.get("wheel") or ():
        carries = f"carries {len(wheel['sboms'])} SBOM(s)" if wheel["pep770"] else "carries no SBOM"
        text += f"; wheel {wheel['path']} {carries} in .dist-info/sboms/"
    return text


def _tool_version(bom: Mapping[str, Any]) -> str:
    tools = (bom.get("metadata") or {}).get("tools") or []
    entries = tools.get("components", []) if isinstance(tools, dict) else tools
    for tool in entries:
        if isinstance(tool, dict) and tool.get("name") == "cyclonedx-py":
            return str(tool.get("version", ""))
    return ""


def _generate(
    ctx: CheckContext, args: Sequence[str], stdin: bytes | None, keep: set[str] | None, extra: Mapping[str, Any]
) -> dict[str, Any]:
    """Run cyclonedx-py (from a folder outside the tree) and return its SBOM, restricted to ``keep``
    and redacted; output that is not a CycloneDX JSON document is a ``ToolError``."""
    import tempfile

    from gatekeeper import runmain
    from gatekeeper.checkers import sitepaths
    from gatekeeper.checkers.sbom import pep770
    from gatekeeper.process import tail
    from gatekeeper.redaction import redact_tree

    # ``environment PY``: cyclonedx-py asks PY for its sys.path without that environment's start-up code
    before = sitepaths.asking("cyclonedx-py", args[-1]) if args[4:5] == ["environment"] else ""
    with tempfile.TemporaryDirectory(prefix="gatekeeper-sbom-") as cwd:
        # as ``python -I -m cyclonedx_py`` runs it, less the interpreter's teardown (``runmain``)
        done = ctx.run(runmain.command(list(args), before), stdin=stdin, cwd=cwd)
    process.require_module(
        done, "cyclonedx_py", "cyclonedx-bom", ctx.tool_python, "pip install cyclonedx-bom, or set gate.tool_python"
    )
    if done.returncode != 0:
        raise ToolError(f"cyclonedx-py failed (exit {done.returncode}): {tail(done.stderr or done.stdout)}")
    try:
        bom = json.loads(done.stdout)
        if not isinstance(bom, dict) or not isinstance(bom.get("components", []), list):
            raise ValueError("not a CycloneDX JSON document")
    except ValueError as exc:
        raise ToolError(
            f"cyclonedx-py printed output that is not a CycloneDX JSON SBOM ({exc}): {tail(done.stdout, 200)}"
        ) from exc
    if keep is not None:
        own = extra.get("project")
        bom = restrict(bom, keep, own if isinstance(own, dict) else None)
    # the SBOM leaves the process too: a URL's user-info or a secret from the environment that a
    # requirements file carried is masked (digests and purls are left alone)
    redacted: dict[str, Any] = redact_tree(pep770.reference_in(bom, extra.get("dependency_sboms") or ()), heuristic=False)
    return redacted
