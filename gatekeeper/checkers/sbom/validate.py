"""Validate a CycloneDX JSON SBOM against its schema: ``python -I path/to/validate.py SPEC FILE``.

Uses cyclonedx-python-lib's strict JSON validator (the schema and ``$ref`` registry it ships) with
every format check jsonschema has, except that ``iri``/``iri-reference`` are checked by ``iri``'s
regular expression instead of rfc3987-syntax's Earley parser. Run as a process, it also skips
importing rfc3987-syntax, whose grammar compilation at import costs 1-5 s; in-process (tests) the
import happens but its checkers are replaced all the same. The format checks are draft 7's (the
CycloneDX schemas' draft), so the process also skips importing isoduration and webcolors, which
jsonschema loads only for ``duration`` (drafts 2019-09 and 2020-12) and ``color`` (draft 3): a
tenth of the validator's CPU, and not one draft-7 check fewer (``checked_formats`` lists them).

It runs as a script, by its path: ``python -m`` would first import gatekeeper's checker packages
(a third of the process's CPU), and it needs nothing of them but ``iri.py`` beside it. With
``-`` for FILE it builds the validator first and then reads the file's path from its stdin, so
the SBOM check starts it before cyclonedx-py and the two start-ups overlap.

Prints one JSON object: ``{"valid": bool, "error": message|null, "formats": [checked formats]}``.
"""

from __future__ import annotations

import json
import sys
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
    checker.checkers["iri-reference"] = (iri.is_iri_reference, ())
    checker.checkers["iri"] = (iri.is_iri, ())
    return inner.evolve(format_checker=checker)


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
    if "jsonschema" not in sys.modules:
        # jsonschema registers rfc3987-syntax's checkers at import when it can import it; blocking
        # that import saves its grammar compilation. Both IRI formats are registered above instead.
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]
        # the checkers of formats no draft-7 schema has (duration, color): their libraries are not loaded
        sys.modules["isoduration"] = None  # type: ignore[assignment]
        sys.modules["webcolors"] = None  # type: ignore[assignment]
    _end(main(sys.argv[1:]))
