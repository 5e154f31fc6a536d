"""Normalisation to SPDX, BSD variants from license text, and expression evaluation."""

from __future__ import annotations

import pytest

from gatekeeper.checkers.licenses.spdx import CLASSIFIERS, alias, bsd_variant, evaluate, normalize, spdx
from tests.helpers.dists import BSD2, BSD3, BSD4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Apache 2.0", "Apache-2.0"),
        ("Apache Software License", "Apache-2.0"),
        ("Apache License, Version 2.0", "Apache-2.0"),
        ("MIT License", "MIT"),
        ("The MIT License (MIT)", "MIT"),
        ("MIT license", "MIT"),
        ("Mozilla Public License 2.0 (MPL 2.0)", "MPL-2.0"),
        ("Python Software Foundation License", "PSF-2.0"),
        ("PSFL", "PSF-2.0"),
        ("ISC License (ISCL)", "ISC"),
        ("The Unlicense (Unlicense)", "Unlicense"),
        ("GNU General Public License v3 (GPLv3)", "GPL-3.0-only"),
        ("GNU General Public License v3 or later (GPLv3+)", "GPL-3.0-or-later"),
        ("GPLv2+", "GPL-2.0-or-later"),
        ("LGPL 2.1", "LGPL-2.1-only"),
        ("GNU Library or Lesser General Public License (LGPL)", "LGPL-2.0-or-later"),
        ("AGPLv3", "AGPL-3.0-only"),
        ("new BSD license", "BSD-3-Clause"),
        ("Simplified BSD", "BSD-2-Clause"),
        ("zlib/libpng License", "Zlib"),
    ],
)
def test_free_text_names(text: str, expected: str) -> None:
    assert alias(text) == expected
    assert normalize("UNKNOWN", text, ["UNKNOWN"]).expression == expected


def test_spdx_expressions_are_normalised() -> None:
    assert spdx("mit") == "MIT"
    assert spdx("Apache-2.0 or BSD-2-Clause") == "Apache-2.0 OR BSD-2-Clause"
    assert spdx("GPL-2.0+") == "GPL-2.0-or-later"  # deprecated id, current form
    assert spdx("LicenseRef-Acme-EULA OR MIT") == "LicenseRef-Acme-EULA OR MIT"
    assert spdx("MIT License") is None and spdx("MIT/Apache") is None and spdx("(MIT") is None


def test_every_trove_license_classifier_is_decided() -> None:
    """Each classifier maps to a valid SPDX expression, or is deliberately unknown/skipped."""
    for name, value in CLASSIFIERS.items():
        if value is None or value.startswith("<"):
            continue
        assert spdx(value) == value, name


def test_bsd_variants_from_license_text() -> None:
    assert bsd_variant(BSD2) == "BSD-2-Clause"
    assert bsd_variant(BSD3) == "BSD-3-Clause"
    assert bsd_variant(BSD4) == "BSD-4-Clause"
    assert bsd_variant(BSD3 + "\n\nBundled code:\n\n" + BSD3) == "BSD-3-Clause"
    assert bsd_variant(BSD2 + "\n\nBundled code:\n\n" + BSD3) is None  # two different BSD texts: ambiguous
    assert bsd_variant("Permission is hereby granted, free of charge") is None


def test_ambiguous_bsd_resolution() -> None:
    bsd = ["BSD License"]
    assert normalize("UNKNOWN", "UNKNOWN", bsd, BSD3).expression == "BSD-3-Clause"
    assert normalize("UNKNOWN", "UNKNOWN", bsd, BSD2).expression == "BSD-2-Clause"
    unknown = normalize("UNKNOWN", "UNKNOWN", bsd, "")
    assert not unknown.known and "BSD License" in unknown.reason
    # an SPDX id in the License field beats the coarse classifier
    assert normalize("UNKNOWN", "BSD-3-Clause", bsd, "").expression == "BSD-3-Clause"
    # License-Expression (PEP 639) beats everything
    assert normalize("MIT", "BSD", ["Apache Software License"], BSD2).expression == "MIT"
    # the License field holding a whole license text
    assert normalize("UNKNOWN", BSD2, ["UNKNOWN"]).expression == "BSD-2-Clause"


def test_classifier_combinations() -> None:
    both = ["Apache Software License", "MIT License"]
    assert normalize("UNKNOWN", "UNKNOWN", both).expression == "Apache-2.0 OR MIT"
    assert normalize("UNKNOWN", "UNKNOWN", both, join_classifiers="and").expression == "Apache-2.0 AND MIT"
    assert normalize("UNKNOWN", "UNKNOWN", ["DFSG approved", "MIT License"]).expression == "MIT"
    proprietary = normalize("UNKNOWN", "UNKNOWN", ["Other/Proprietary License"])
    assert not proprietary.known and "Other/Proprietary License" in proprietary.reason
    bad_expr = normalize("MIT OR", "MIT", ["MIT License"])
    assert not bad_expr.known and "not a valid SPDX expression" in bad_expr.reason
    assert not normalize("UNKNOWN", "UNKNOWN", ["UNKNOWN"]).known


ALLOW = ["MIT", "BSD-*", "Apache-2.0"]
DENY = ["GPL-*", "AGPL-3.0-or-later"]


@pytest.mark.parametrize(
    ("expression", "allowed"),
    [
        ("MIT", True),
        ("MIT OR GPL-3.0-only", True),  # the user may pick MIT
        ("MIT AND GPL-3.0-only", False),  # GPL applies too, and it is denied
        ("GPL-3.0-only OR AGPL-3.0-or-later", False),
        ("BSD-3-Clause AND (MIT OR GPL-2.0-only)", True),
        ("(MIT OR GPL-2.0-only) AND GPL-3.0-or-later", False),
        ("GPL-2.0-only WITH Classpath-exception-2.0", False),  # judged on the license id
        ("Apache-2.0 WITH LLVM-exception", True),
        ("MPL-2.0", False),  # not denied, but not on the allow list
        ("bsd-2-clause", True),  # globs and ids compare case-insensitively
    ],
)
def test_expression_evaluation(expression: str, allowed: bool) -> None:
    assert evaluate(expression, ALLOW, DENY).allowed is allowed


def test_deny_wins_over_allow_and_empty_allow_allows_the_rest() -> None:
    decision = evaluate("GPL-3.0-only", ["GPL-3.0-only"], ["GPL-*"])
    assert not decision.allowed and "denied (deny: 'GPL-*')" in decision.reason
    assert evaluate("MPL-2.0", [], DENY).allowed
    assert not evaluate("GPL-2.0-or-later", [], DENY).allowed
    reason = evaluate("MIT AND GPL-3.0-only", ALLOW, DENY).reason
    assert "GPL-3.0-only is denied" in reason and "MIT" not in reason
