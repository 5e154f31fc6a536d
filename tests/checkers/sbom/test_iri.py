"""The regex IRI check agrees with rfc3987-syntax (what jsonschema would use) string for string."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rfc3987_syntax import is_valid_syntax

from gatekeeper.checkers.sbom.iri import is_iri, is_iri_reference

TRICKY = [
    "", "#", "?", "//", "a:", "a:b:c", "1a:b", "http://[::1]/", "http://[1:2:3:4:5:6:7::]/", "http://[v1.x]/",
    "http://[1:2:3:4:5:6:1.2.3.4]", "http://1.2.3.256/", "http://a@b:80:90/", "http://exa mple.com", "http://a/%zz",
    "http://a/%aA", "ü", "http://ü.de/ä?\ue000", "http://a/#\ue000", "mailto:x@y", "pkg:pypi/foo@1.0?x=y#sub",
    "https://files.pythonhosted.org/packages/x.whl", "../a/b?c#d", "/a//b", "\U0001f600", "a\nb", "[::1]", "a[b]",
]  # fmt: skip


def _agree(value: str) -> None:
    assert is_iri_reference(value) == is_valid_syntax("iri_reference", value), value
    assert is_iri(value) == is_valid_syntax("iri", value), value


def test_tricky_strings() -> None:
    for value in TRICKY:
        _agree(value)


@pytest.mark.slow  # cyclonedx-py over this suite's whole environment
def test_every_iri_of_a_real_sbom(tmp_path: Path) -> None:
    out = tmp_path / "sbom.json"
    subprocess.run(
        [sys.executable, "-m", "cyclonedx_py", "environment", "--no-validate", "-o", str(out), sys.executable],
        check=True, capture_output=True,
    )  # fmt: skip
    values: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, item in node.items():
                if key in ("url", "purl", "ref", "bom-ref") and isinstance(item, str):
                    values.append(item)
                walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(json.loads(out.read_text()))
    assert len(values) > 100
    for value in values[::3]:  # every third: rfc3987-syntax takes tens of ms per value
        _agree(value)


#: the first and last code points of ``ucschar`` and ``iprivate`` and their neighbours outside them
_CODES = (0x9F, 0xA0, 0xD7FF, 0xD800, 0xDFFF, 0xE000, 0xF8FF, 0xF900, 0xFDCF, 0xFDD0, 0xFDEF, 0xFDF0, 0xFFEF, 0xFFF0, 0x10000)
EDGES = [chr(c) for c in _CODES]
PLACES = ["{}", "a:{}", "http://{}/", "http://u{}@h/", "http://h/{}", "http://h/?{}", "http://h/#{}", "{}/b", "//{}", "a:b?{}#{}"]


def test_each_edge_of_the_non_ascii_classes_in_each_part() -> None:
    """The pattern names one character of ``ucschar`` and one of ``iprivate``, and the check
    replaces the others by them: every edge of those ranges, in every part of an IRI, still agrees."""
    for char in EDGES:
        for template in PLACES:
            _agree(template.replace("{}", char))


ALPHABET = st.sampled_from([*"aZ09-._~:/?#[]@!$&'()*+,;=% ", "%4", "%41", "ü", "\ue000", "\ufdd0", "::", "[::1]", "v1.", *EDGES])


@settings(max_examples=150, deadline=None)
@given(st.lists(ALPHABET, max_size=12).map("".join))
def test_generated_strings(value: str) -> None:
    _agree(value)
