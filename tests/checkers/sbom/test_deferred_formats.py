"""The SBOM validator's process imports the libraries of the format checks no CycloneDX schema
needs only when a document needs one, and those checks are then jsonschema's own, verdict for verdict."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from jsonschema import Draft7Validator

from gatekeeper.checkers.sbom import validate
from gatekeeper.checkers.sbom.validate import validate_text
from gatekeeper.checkers.sbom.validation import validate_file
from tests.helpers.dists import FakeEnv, context, make_project

VALUES = {
    "hostname": ["example.com", "-bad-.com", "", "a" * 64 + ".com", 3],
    "idn-hostname": ["bücher.de", "a..b", "xn--a", "-x"],
    "uri": ["https://a/b?c#d", "not a uri", "a:b", "http://[::1", ""],
    "uri-reference": ["../x", "http://[", " ", "#f"],
    "json-pointer": ["/a/b", "a", "/~2", ""],
    "relative-json-pointer": ["0/a", "01", "1#", "", "x"],
    "uri-template": ["http://{x}", "http://{x", "{}", "a{+b,c*}"],
}

_DRIVER = textwrap.dedent(
    """
    import json, runpy, sys
    ns = runpy.run_path(sys.argv[1])
    ns["defer_imports"]()
    checker = ns["build_validator"]("1.6").format_checker
    loaded = sorted(m for m in ns["_DEFERRED"] if sys.modules.get(m) is not None)
    values = json.loads(sys.argv[2])
    verdicts = {name: [checker.conforms(v, name) for v in vs] for name, vs in values.items()}
    after = sorted(m for m in ns["_DEFERRED"] if sys.modules.get(m) is not None)
    print(json.dumps({"loaded": loaded, "after": after, "verdicts": verdicts, "formats": sorted(checker.checkers)}))
    """
)


def test_deferred_checks_load_their_library_on_first_use_and_agree_with_jsonschema() -> None:
    script = Path(validate.__file__)
    done = subprocess.run(
        [sys.executable, "-I", "-c", _DRIVER, str(script), json.dumps(VALUES)], capture_output=True, text=True, check=True
    )
    out = json.loads(done.stdout)
    assert out["loaded"] == []  # building the validator imported none of them
    assert out["after"] == sorted(validate._DEFERRED)
    assert out["formats"] == sorted(Draft7Validator.FORMAT_CHECKER.checkers)
    checker = Draft7Validator.FORMAT_CHECKER  # here every library is imported: jsonschema's own checks
    expected = {name: [checker.conforms(v, name) for v in vs] for name, vs in VALUES.items()}
    assert out["verdicts"] == expected
    flat = [verdict for verdicts in expected.values() for verdict in verdicts]
    assert True in flat and False in flat  # the values try both sides of each check


def test_a_signature_algorithm_that_is_no_uri_fails_as_in_jsonschema(dist_env: FakeEnv, tmp_path: Path) -> None:
    """jsf's ``uri`` is the one deferred format a CycloneDX document can need (a signature's algorithm)."""
    root = make_project(tmp_path / "p", f'[environment]\npython = "{dist_env.python}"\n')
    bom: dict[str, object] = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1}
    for algorithm, valid in (("https://example.com/alg#x", True), ("not a uri", False)):
        bom["signature"] = {"algorithm": algorithm, "value": "AAAA"}
        path = tmp_path / "bom.json"
        path.write_text(json.dumps(bom), encoding="utf-8")
        problem, _ = validate_file(context(root), path, "1.6")
        assert problem == validate_text(path.read_text(encoding="utf-8"), "1.6")
        assert (problem is None) is valid, problem
