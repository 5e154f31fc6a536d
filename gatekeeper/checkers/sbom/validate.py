"""Validate a CycloneDX JSON SBOM against its schema: ``python -I path/to/validate.py SPEC FILE``.

Uses cyclonedx-python-lib's strict JSON validator (the schema and ``$ref`` registry it ships) with
every format check jsonschema has, except that ``iri``/``iri-reference`` are checked by ``iri``'s
regular expression instead of rfc3987-syntax's Earley parser. Run as a process, it also skips
importing rfc3987-syntax, whose grammar compilation at import costs 1-5 s; in-process (tests) the
import happens but its checkers are replaced all the same. The format checks are draft 7's (the
CycloneDX schemas' draft), so the process also skips importing isoduration and webcolors, which
jsonschema loads only for ``duration`` (drafts 2019-09 and 2020-12) and ``color`` (draft 3): a
tenth of the validator's CPU, and not one draft-7 check fewer (``checked_formats`` lists them).
The libraries behind the draft-7 checks that no CycloneDX schema names, or only a signature's
(``_DEFERRED``: ``hostname``, ``uri``, ``json-pointer``...), are imported the first time a document
needs one of those checks, which is then jsonschema's own (``_deferred``): another twentieth.

It runs as a script, by its path: ``python -m`` would first import gatekeeper's checker packages
(a third of the process's CPU), and it needs nothing of them but ``iri.py`` beside it. With
``-`` for FILE it builds the validator first and then reads the file's path from its stdin, so
the SBOM check starts it before cyclonedx-py and the two start-ups overlap.

Prints one JSON object: ``{"valid": bool, "error": message|null, "formats": [checked formats]}``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

if __package__:
    from gatekeeper.checkers.sbom import iri
else:  # run by path: iri.py beside this file, without importing the packages above it
    import importlib.util

    _spec = importlib.util.spec_from_file_location("_gatekeeper_sbom_iri", Path(__file__).with_name("iri.py"))
    if _spec is None or _spec.loader is None:
        raise ImportError(f"cannot load {Path(__file__).with_name('iri.py')}")
    iri = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(iri)


#: the libraries of draft-7 format checks that a CycloneDX schema names nowhere, or only in a signature
#: (jsf's algorithm ``uri``), and the formats jsonschema checks with each (``jsonschema._format``)
_DEFERRED = {
    "fqdn": ("hostname",),
    "idna": ("idn-hostname",),
    "rfc3986_validator": ("uri", "uri-reference"),
    "jsonpointer": ("json-pointer", "relative-json-pointer"),
    "uri_template": ("uri-template",),
}


def defer_imports() -> None:
    """Keep the libraries of ``_DEFERRED`` (and of the checks ``__main__`` says) out of jsonschema's
    import, which registers a format's check only when its library imports: ``build_validator``
    registers ``_deferred`` ones for them instead. Call it before anything imports jsonschema."""
    if "jsonschema" in sys.modules:
        return
    # jsonschema registers rfc3987-syntax's checkers at import when it can import it; blocking
    # that import saves its grammar compilation. build_validator registers both IRI formats instead.
    sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]
    # the checkers of formats no draft-7 schema has (duration, color): their libraries are not loaded
    sys.modules["isoduration"] = None  # type: ignore[assignment]
    sys.modules["webcolors"] = None  # type: ignore[assignment]
    for module in _DEFERRED:
        sys.modules[module] = None  # type: ignore[assignment]


def _deferred(name: str) -> Callable[[object], bool]:
    """jsonschema's draft-7 check of format ``name``, its library imported at the first call (``_full``);
    a value its check raises on fails, as it fails jsonschema's ``FormatChecker``."""

    def check(instance: object) -> bool:
        found = _full().get(name)
        if found is None:  # its library did not import after all: jsonschema would not check it either
            raise RuntimeError(f"jsonschema checks no format {name!r} here: its library does not import")
        func, raises = found
        try:
            return bool(func(instance))
        except raises:
            return False

    return check


@cache
def _full() -> dict[str, tuple[Callable[[object], Any], Any]]:
    """Draft 7's format checks as jsonschema builds them with the ``_DEFERRED`` libraries importable:
    a copy of ``jsonschema._format`` run once they are let in."""
    import importlib.util

    for module in _DEFERRED:
        if module in sys.modules and sys.modules[module] is None:
            del sys.modules[module]
    spec = importlib.util.find_spec("jsonschema._format")
    if spec is None or spec.loader is None:
        raise ImportError("cannot find jsonschema._format")
    copy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(copy)
    return dict(copy.draft7_format_checker.checkers)


@cache
def build_validator(spec_version: str) -> Any:
    """The jsonschema validator for CycloneDX ``spec_version`` JSON (strict), with the regex IRI check."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    from jsonschema import Draft7Validator, FormatChecker  # type: ignore[import-untyped]

    strict = JsonStrictValidator(SchemaVersion.from_version(spec_version))
    # cyclonedx-python-lib builds its jsonschema validator (schema + $ref registry) lazily in the
    # ``_validator`` property; reuse it with a format checker whose IRI checks are the regex.
    inner = strict._validator
    checker = FormatChecker(formats=())
    checker.checkers = dict(Draft7Validator.FORMAT_CHECKER.checkers)
    for module, names in _DEFERRED.items():
        if module in sys.modules and sys.modules[module] is None and _installed(module):  # kept out by defer_imports
            for name in names:  # "uri" comes from rfc3987 instead where that is installed
                checker.checkers.setdefault(name, (_deferred(name), ()))
    checker.checkers["iri-reference"] = (iri.is_iri_reference, ())
    checker.checkers["iri"] = (iri.is_iri, ())
    return inner.evolve(format_checker=checker)


def _installed(module: str) -> bool:
    """Whether the top-level ``module`` is on the path (``defer_imports`` keeps it from ``sys.modules``)."""
    from importlib.machinery import PathFinder

    return PathFinder.find_spec(module) is not None


def checked_formats(spec_version: str) -> list[str]:
    """The ``format`` names the validator checks."""
    return sorted(build_validator(spec_version).format_checker.checkers)


def validate_text(text: str, spec_version: str) -> str | None:
    """None when ``text`` is a valid CycloneDX ``spec_version`` JSON SBOM, else the validator's message."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        return f"not JSON: {exc}"
    error = next(iter(build_validator(spec_version).iter_errors(document)), None)
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{error.message} (at /{where})" if where else str(error.message)


def main(argv: list[str]) -> int:
    """Validate the file ``argv[1]`` (``-``: the path on the first line of stdin, read once the
    validator is built) as CycloneDX ``argv[0]`` and print the verdict as JSON."""
    if len(argv) != 2:
        print("usage: python -I validate.py SPEC_VERSION FILE|-", file=sys.stderr)
        return 2
    spec, path = argv
    build_validator(spec)
    if path == "-":
        path = sys.stdin.readline().rstrip("\n")
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    error = validate_text(text, spec)
    print(json.dumps({"valid": error is None, "error": error, "formats": checked_formats(spec)}))
    return 0


def _end(code: int) -> None:
    """End the process once the verdict is out and the exit handlers have run, without the
    interpreter's teardown: freeing jsonschema's, referencing's and the schemas' objects one at a
    time cost a fifth of the validator's CPU."""
    import atexit
    import os

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can reach it
            pass
    os._exit(code)


if __name__ == "__main__":
    defer_imports()
    _end(main(sys.argv[1:]))
