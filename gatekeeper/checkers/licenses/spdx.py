"""License names to SPDX, and SPDX expressions against allow and deny lists.

Three sources describe a package's license (core metadata): ``License-Expression`` (PEP 639, an
SPDX expression), the free-text ``License`` field, and ``License ::`` trove classifiers. They are
normalised with the license-expression library where they are SPDX already, and with the tables
below where they are the free-text and classifier names the Python ecosystem uses.

Readings chosen here (documented in the README):

- "Apache Software License" (classifier) and unversioned "Apache" names mean Apache-2.0: the
  classifier predates versions, and Apache-1.x is, in practice, absent from PyPI.
- "BSD License" is ambiguous: the package's license file decides between BSD-2-Clause,
  BSD-3-Clause and BSD-4-Clause when it holds exactly one BSD text; otherwise it is unknown.
- GNU classifiers that name a version without "or later" ("GPLv3") are the ``-only`` id, the
  narrower grant; unversioned GNU names ("GNU General Public License (GPL)") take the GPL's own
  rule for an unspecified version, "any version ever published": GPL-1.0-or-later,
  LGPL-2.0-or-later (the convention ScanCode follows too). Either way a ``GPL-*`` deny matches.
- Several license classifiers on one package are read as a choice (OR), the usual meaning of
  dual licensing on PyPI; set ``classifiers = "and"`` to require all of them instead.
- "DFSG approved" and "OSI Approved" are categories, not licenses, and are dropped.
"""

from __future__ import annotations

import fnmatch
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from license_expression import (
    AND,
    OR,
    BaseSymbol,
    LicenseWithExceptionSymbol,
    get_spdx_licensing,
)

UNKNOWN = "unknown"
_BSD = "<bsd>"  # a marker: some BSD variant, to be resolved from the license text
_SKIP = "<skip>"  # a category classifier that names no license

#: The leaf of every ``License ::`` trove classifier (what pip-licenses reports) to an SPDX
#: expression; ``None`` where the classifier does not identify one license.
CLASSIFIERS: dict[str, str | None] = {
    "Aladdin Free Public License (AFPL)": "Aladdin",
    "CC0 1.0 Universal (CC0 1.0) Public Domain Dedication": "CC0-1.0",
    "CeCILL-B Free Software License Agreement (CECILL-B)": "CECILL-B",
    "CeCILL-C Free Software License Agreement (CECILL-C)": "CECILL-C",
    "DFSG approved": _SKIP,
    "OSI Approved": _SKIP,
    "Eiffel Forum License (EFL)": None,
    "Free For Educational Use": None,
    "Free For Home Use": None,
    "Free To Use But Restricted": None,
    "Free for non-commercial use": None,
    "Freely Distributable": None,
    "Freeware": None,
    "GUST Font License 1.0": None,
    "GUST Font License 2006-09-30": None,
    "Netscape Public License (NPL)": None,
    "Nokia Open Source License (NOKOS)": "Nokia",
    "Academic Free License (AFL)": None,
    "Apache Software License": "Apache-2.0",
    "Apple Public Source License": None,
    "Artistic License": None,
    "Attribution Assurance License": "AAL",
    "BSD License": _BSD,
    "Blue Oak Model License (BlueOak-1.0.0)": "BlueOak-1.0.0",
    "Boost Software License 1.0 (BSL-1.0)": "BSL-1.0",
    "CEA CNRS Inria Logiciel Libre License, version 2.1 (CeCILL-2.1)": "CECILL-2.1",
    "CMU License (MIT-CMU)": "MIT-CMU",
    "Common Development and Distribution License 1.0 (CDDL-1.0)": "CDDL-1.0",
    "Common Public License": "CPL-1.0",
    "Eclipse Public License 1.0 (EPL-1.0)": "EPL-1.0",
    "Eclipse Public License 2.0 (EPL-2.0)": "EPL-2.0",
    "Educational Community License, Version 2.0 (ECL-2.0)": "ECL-2.0",
    "Eiffel Forum License": None,
    "European Union Public Licence 1.0 (EUPL 1.0)": "EUPL-1.0",
    "European Union Public Licence 1.1 (EUPL 1.1)": "EUPL-1.1",
    "European Union Public Licence 1.2 (EUPL 1.2)": "EUPL-1.2",
    "GNU Affero General Public License v3": "AGPL-3.0-only",
    "GNU Affero General Public License v3 or later (AGPLv3+)": "AGPL-3.0-or-later",
    "GNU Free Documentation License (FDL)": "GFDL-1.1-or-later",
    "GNU General Public License (GPL)": "GPL-1.0-or-later",
    "GNU General Public License v2 (GPLv2)": "GPL-2.0-only",
    "GNU General Public License v2 or later (GPLv2+)": "GPL-2.0-or-later",
    "GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
    "GNU General Public License v3 or later (GPLv3+)": "GPL-3.0-or-later",
    "GNU Lesser General Public License v2 (LGPLv2)": "LGPL-2.0-only",
    "GNU Lesser General Public License v2 or later (LGPLv2+)": "LGPL-2.0-or-later",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
    "GNU Lesser General Public License v3 or later (LGPLv3+)": "LGPL-3.0-or-later",
    "GNU Library or Lesser General Public License (LGPL)": "LGPL-2.0-or-later",
    "Historical Permission Notice and Disclaimer (HPND)": "HPND",
    "IBM Public License": "IPL-1.0",
    "ISC License (ISCL)": "ISC",
    "MIT License": "MIT",
    "MIT No Attribution License (MIT-0)": "MIT-0",
    "MirOS License (MirOS)": "MirOS",
    "Motosoto License": "Motosoto",
    "Mozilla Public License 1.0 (MPL)": "MPL-1.0",
    "Mozilla Public License 1.1 (MPL 1.1)": "MPL-1.1",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "Mulan Permissive Software License v2 (MulanPSL-2.0)": "MulanPSL-2.0",
    "NASA Open Source Agreement v1.3 (NASA-1.3)": "NASA-1.3",
    "Nethack General Public License": "NGPL",
    "Nokia Open Source License": "Nokia",
    "Open Group Test Suite License": "OGTSL",
    "Open Software License 3.0 (OSL-3.0)": "OSL-3.0",
    "PostgreSQL License": "PostgreSQL",
    "Python License (CNRI Python License)": "CNRI-Python",
    "Python Software Foundation License": "PSF-2.0",
    "Qt Public License (QPL)": "QPL-1.0",
    "Ricoh Source Code Public License": "RSCPL",
    "SIL Open Font License 1.1 (OFL-1.1)": "OFL-1.1",
    "Sleepycat License": "Sleepycat",
    "Sun Public License": "SPL-1.0",
    "The Unlicense (Unlicense)": "Unlicense",
    "Universal Permissive License (UPL)": "UPL-1.0",
    "University of Illinois/NCSA Open Source License": "NCSA",
    "Vovida Software License 1.0": "VSL-1.0",
    "W3C License": "W3C",
    "Zero-Clause BSD (0BSD)": "0BSD",
    "Zope Public License": None,
    "zlib/libpng License": "Zlib",
    "Other/Proprietary License": None,
    "Public Domain": None,
    "Repoze Public License": None,
}

#: Free-text names seen in the ``License`` field, by ``_key`` (lower case, no punctuation, no
#: "the", "version", "license" or parenthesised abbreviations).
ALIASES: dict[str, str] = {
    "mit": "MIT", "expat": "MIT", "mit no attribution": "MIT-0", "mit 0": "MIT-0", "mit cmu": "MIT-CMU",
    "apache": "Apache-2.0", "apache 2": "Apache-2.0", "apache 2.0": "Apache-2.0", "apache2": "Apache-2.0",
    "apache software": "Apache-2.0", "apache software 2.0": "Apache-2.0", "apache license": "Apache-2.0",
    "apache license 2.0": "Apache-2.0", "apache license 2": "Apache-2.0", "asl 2.0": "Apache-2.0", "asl2": "Apache-2.0",
    "bsd": _BSD, "bsd like": _BSD, "bsd style": _BSD,
    "new bsd": "BSD-3-Clause", "modified bsd": "BSD-3-Clause", "revised bsd": "BSD-3-Clause",
    "bsd 3 clause": "BSD-3-Clause", "3 clause bsd": "BSD-3-Clause", "bsd3": "BSD-3-Clause", "bsd 3": "BSD-3-Clause",
    "simplified bsd": "BSD-2-Clause", "freebsd": "BSD-2-Clause", "bsd 2 clause": "BSD-2-Clause",
    "2 clause bsd": "BSD-2-Clause", "bsd2": "BSD-2-Clause", "bsd 2": "BSD-2-Clause",
    "zero clause bsd": "0BSD",
    "psf": "PSF-2.0", "psfl": "PSF-2.0", "psf 2.0": "PSF-2.0", "python software foundation": "PSF-2.0",
    "python software foundation 2.0": "PSF-2.0",
    "mpl 2.0": "MPL-2.0", "mpl2": "MPL-2.0", "mpl 2": "MPL-2.0", "mozilla public 2.0": "MPL-2.0",
    "mpl 1.1": "MPL-1.1", "mozilla public 1.1": "MPL-1.1",
    "isc": "ISC", "iscl": "ISC", "unlicense": "Unlicense", "zlib": "Zlib", "zlib/libpng": "Zlib",
    "cc0": "CC0-1.0", "cc0 1.0": "CC0-1.0", "cc0 1.0 universal": "CC0-1.0",
    "cc0 1.0 universal public domain dedication": "CC0-1.0",
    "hpnd": "HPND", "historical permission notice and disclaimer": "HPND",
    "boost software": "BSL-1.0", "boost software 1.0": "BSL-1.0",
    "eclipse public 1.0": "EPL-1.0", "eclipse public 2.0": "EPL-2.0", "epl 2.0": "EPL-2.0", "epl 1.0": "EPL-1.0",
    "eupl 1.2": "EUPL-1.2", "european union public 1.2": "EUPL-1.2", "eupl 1.1": "EUPL-1.1",
    "zpl 2.1": "ZPL-2.1", "zope public 2.1": "ZPL-2.1",
}  # fmt: skip

# GNU family in free text: "GPLv3+", "GNU GPL v2 or later", "LGPL 2.1", "GNU Affero General Public License v3".
_GNU = re.compile(
    r"^(?:gnu )?(?P<kind>a|l|lesser |library |library or lesser |affero |)"
    r"(?:gpl|general public)\s?v?(?P<ver>[123](?:\.[01])?)?(?P<later>\+| or later| or any later| or newer)?$"
)
_GNU_KIND = {
    "": "GPL", "a": "AGPL", "affero ": "AGPL", "l": "LGPL", "lesser ": "LGPL", "library ": "LGPL", "library or lesser ": "LGPL",
}  # fmt: skip
_GNU_UNVERSIONED = {"GPL": "GPL-1.0-or-later", "LGPL": "LGPL-2.0-or-later", "AGPL": "AGPL-3.0-or-later"}
_LICENSE_REF = re.compile(r"^(?:DocumentRef-[A-Za-z0-9.\-]+:)?LicenseRef-[A-Za-z0-9.\-]+$")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Normalized:
    """A license resolved to an SPDX expression (or not): the expression, its ids, and how."""

    expression: str  # normalised SPDX expression, or "" when unknown
    ids: tuple[str, ...]  # license ids (not exceptions) in the expression
    source: str  # "expression", "metadata", "metadata+classifier", "classifier", ... or "" when unknown
    reason: str = ""  # why it is unknown

    @property
    def known(self) -> bool:
        """True when the license resolved to an SPDX expression."""
        return bool(self.expression)


def _key(text: str) -> str:
    t = text.strip().lower().replace("licence", "license")
    t = re.sub(r"\([^)]*\)", " ", t)
    t = re.sub(r"^the\s+", "", t)
    t = re.sub(r"[,;:_\"'\-]", " ", t)
    t = re.sub(r"\bversion\b", " ", t)
    t = re.sub(r"\blicense\b", " ", t)
    t = re.sub(r"\s+", " ", t).strip()
    return re.sub(r"^the\s+", "", t)


def spdx(text: str) -> str | None:
    """``text`` as a normalised SPDX expression when it is one (LicenseRef-* allowed), else None."""
    text = text.strip()
    if not text or "\n" in text or len(text) > 300:
        return None
    licensing = _licensing()
    try:
        info = licensing.validate(text)
    except Exception:  # license-expression raises odd errors on free text ("MIT/Apache")
        return None
    if info.errors:
        bad = [s for s in info.invalid_symbols if s]
        if not bad or not all(_LICENSE_REF.match(s) for s in bad) or len(bad) != len(info.errors):
            return None
        try:
            return str(licensing.parse(text, validate=False).render("{symbol.key}"))
        except Exception:
            return None
    return str(info.normalized_expression) if info.normalized_expression else None


def alias(text: str) -> str | None:
    """A free-text or classifier name as SPDX via the tables; ``_BSD`` for an unresolved BSD."""
    key = _key(text)
    if not key:
        return None
    if key in ALIASES:
        return ALIASES[key]
    m = _GNU.match(key)
    if m:
        family = _GNU_KIND[m.group("kind")]
        ver = m.group("ver")
        if not ver:
            return _GNU_UNVERSIONED[family]
        if "." not in ver:
            ver += ".0"
        candidate = f"{family}-{ver}-{'or-later' if m.group('later') else 'only'}"
        return candidate if spdx(candidate) == candidate else None
    return None


_BSD_PREAMBLE = re.compile(r"redistribution\s+and\s+use\s+in\s+source\s+and\s+binary\s+forms", re.I)
_BSD_ENDORSE = re.compile(
    r"(?:neither\s+the\s+name|the\s+names?\s+of\s+(?:its|the)\s+contributors|may\s+not\s+be\s+used\s+to\s+endorse)", re.I
)
_BSD_ADVERT = re.compile(r"all\s+advertising\s+materials\s+mentioning", re.I)
_BSD_DISCLAIMER = re.compile(r"this\s+software\s+is\s+provided\s+by", re.I)


def bsd_variant(text: str) -> str | None:
    """BSD-2-Clause, BSD-3-Clause or BSD-4-Clause when ``text`` holds exactly one kind of BSD license."""
    starts = [m.start() for m in _BSD_PREAMBLE.finditer(text)]
    if not starts:
        return None
    kinds = set()
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        part = text[start:end]
        if not _BSD_DISCLAIMER.search(part):
            return None  # not a complete BSD text: do not guess
        if _BSD_ADVERT.search(part):
            kinds.add("BSD-4-Clause")
        elif _BSD_ENDORSE.search(part):
            kinds.add("BSD-3-Clause")
        else:
            kinds.add("BSD-2-Clause")
    return kinds.pop() if len(kinds) == 1 else None


def _full_text(text: str) -> str | None:
    """A license's full text (as some packages put in ``License``) identified, when unambiguous."""
    if _BSD_PREAMBLE.search(text):
        return bsd_variant(text)
    low = " ".join(text.lower().split())
    if "apache license" in low and "version 2.0" in low and "gnu" not in low:
        return "Apache-2.0"
    if "permission is hereby granted, free of charge, to any person obtaining a copy" in low and "gnu" not in low:
        return "MIT"
    return None


def normalize(
    expression: str,
    metadata: str,
    classifiers: Sequence[str],
    license_text: str = "",
    join_classifiers: str = "or",
) -> Normalized:
    """Resolve a package's license from its three metadata sources (pip-licenses' "UNKNOWN" means absent).

    Order: License-Expression; the License field when it is valid SPDX (with, AND-ed, the license
    classifiers when they name a license it does not; unknown when one identifies no license); the
    classifiers; the License field through the alias table or as a full license text. A BSD name is
    resolved from ``license_text`` (the package's license file) when that is unambiguous.
    """
    expression = "" if expression == "UNKNOWN" else expression.strip()
    metadata = "" if metadata == "UNKNOWN" else metadata.strip()
    if expression:
        found = spdx(expression)
        if found:
            return _made(found, "expression")
        return Normalized("", (), "", f"License-Expression {expression!r} is not a valid SPDX expression")
    names = [c for c in classifiers if c and c != "UNKNOWN"]
    if metadata:
        found = spdx(metadata)
        if found:
            return _field_and_classifiers(_made(found, "metadata"), names, license_text, join_classifiers)
    if names:
        from_classifiers = _from_classifiers(names, license_text, join_classifiers)
        if from_classifiers is not None:
            return from_classifiers
    if metadata:
        return _from_license_field(metadata, license_text)
    return Normalized("", (), "", "the package declares no license")


def _field_and_classifiers(made: Normalized, names: Sequence[str], license_text: str, join_classifiers: str) -> Normalized:
    """The SPDX License field ``made`` beside the license classifiers ``names``: both are the
    package's word (pip-licenses --from=mixed shows the classifiers), so classifiers naming a
    license the field does not are AND-ed with it, and one that identifies no SPDX license (Other/
    Proprietary) makes the license unknown. A BSD classifier beside a BSD License field agrees."""
    bsd = any(i.startswith("BSD-") or i == "0BSD" for i in made.ids)
    rest = [n for n in names if not (bsd and (CLASSIFIERS[n] if n in CLASSIFIERS else alias(n)) == _BSD)]
    declared = _from_classifiers(rest, license_text, join_classifiers) if rest else None
    if declared is None or (declared.known and set(declared.ids) <= set(made.ids)):
        return made
    if not declared.known:
        return Normalized("", (), "", f"License {made.expression!r}, but {declared.reason}")
    return _made(f"({made.expression}) AND ({declared.expression})", "metadata+classifier")


def _from_classifiers(names: Sequence[str], license_text: str, join_classifiers: str) -> Normalized | None:
    """The license the classifiers ``names`` declare (joined by "and" or "or"); a failure naming the
    classifiers that identify no SPDX license; None when they say nothing usable."""
    parts: list[str] = []
    failed: list[str] = []
    from_text = False
    for name in names:
        mapped = CLASSIFIERS[name] if name in CLASSIFIERS else alias(name)
        if mapped == _SKIP:
            continue
        if mapped == _BSD:
            mapped = bsd_variant(license_text) if license_text else None
            if mapped is None:
                failed.append(f"{name!r} ({_bsd_why(license_text)})")
                continue
            from_text = True
        if mapped is None:
            failed.append(repr(name))
            continue
        parts.append(mapped)
    if failed:
        return Normalized("", (), "", "classifier " + ", ".join(failed) + " does not identify an SPDX license")
    if parts:
        joiner = " AND " if join_classifiers == "and" else " OR "
        unique = list(dict.fromkeys(parts))
        combined = joiner.join(f"({p})" if " " in p else p for p in unique)
        found = spdx(combined)
        if found:
            return _made(found, "classifier+license-file" if from_text else "classifier")
    return None


def _from_license_field(metadata: str, license_text: str) -> Normalized:
    """The license a License field that is not SPDX names: a known name (a BSD one resolved from
    ``license_text``) or a full license text; else a failure saying why."""
    mapped = alias(metadata) if len(metadata) <= 100 and "\n" not in metadata else None
    if mapped == _BSD:
        resolved = bsd_variant(license_text) if license_text else None
        if resolved:
            return _made(resolved, "metadata+license-file")
        return Normalized("", (), "", f"License {metadata!r} names no BSD variant and {_bsd_why(license_text)}")
    if mapped:
        return _made(mapped, "metadata")
    if len(metadata) > 100 or "\n" in metadata:
        found_text = _full_text(metadata)
        if found_text:
            return _made(found_text, "metadata-text")
        return Normalized("", (), "", "the License field holds a text that is not one recognisable license")
    return Normalized("", (), "", f"License {metadata!r} is not an SPDX expression or a known license name")


def _made(expression: str, source: str) -> Normalized:
    parsed = _licensing().parse(expression, validate=False)
    return Normalized(str(parsed.render("{symbol.key}")), tuple(dict.fromkeys(license_ids(parsed))), source)


_LICENSING: list[Any] = []
_LICENSING_LOCK = threading.Lock()


def _licensing() -> Any:
    """license-expression's SPDX table, loaded once per process (a JSON index of some 2,600 licenses),
    with the tokenizer every parse uses (an automaton of all their keys), built before it is shared:
    license-expression keeps a tokenizer it has begun to fill, so a parse in another thread could
    otherwise meet one half built."""
    with _LICENSING_LOCK:
        if not _LICENSING:
            licensing = get_spdx_licensing()
            licensing.get_advanced_tokenizer()
            _LICENSING.append(licensing)
        return _LICENSING[0]


def warm_up() -> None:
    """Load the SPDX table and build its tokenizer in a thread of its own, so that both are ready by
    the time a license is judged."""
    threading.Thread(target=_licensing, name="gatekeeper-spdx-table", daemon=True).start()


@cache
def license_ids(parsed: Any) -> list[str]:
    """The license ids of a parsed expression, in order (exceptions left out)."""
    out: list[str] = []
    if isinstance(parsed, LicenseWithExceptionSymbol):
        out.append(str(parsed.license_symbol.key))
    elif isinstance(parsed, BaseSymbol):
        out.append(str(parsed.key))
    else:
        for arg in parsed.args:
            out.extend(license_ids(arg))
    return out


# --------------------------------------------------------------------------- policy evaluation


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Decision:
    """The verdict on one expression (``allowed`` or ``denied``) and why."""

    allowed: bool
    reason: str


def _matches(license_id: str, patterns: Iterable[str]) -> str | None:
    lid = license_id.casefold()
    return next((p for p in patterns if fnmatch.fnmatchcase(lid, p.casefold())), None)


def evaluate(expression: str, allow: Sequence[str], deny: Sequence[str]) -> Decision:
    """Evaluate an SPDX expression: OR needs one allowed branch, AND needs all; deny wins per id.

    A license id on the deny list (glob, case-insensitive) is denied; else, with a non-empty
    allow list, it must be on it; with an empty allow list anything not denied is allowed.
    ``X WITH exception`` is judged on ``X``.
    """
    parsed = _licensing().parse(expression, validate=False)
    return _decide(parsed, allow, deny)


def _decide(node: Any, allow: Sequence[str], deny: Sequence[str]) -> Decision:
    if isinstance(node, LicenseWithExceptionSymbol):
        return _leaf(str(node.license_symbol.key), allow, deny, f" WITH {node.exception_symbol.key}")
    if isinstance(node, BaseSymbol):
        return _leaf(str(node.key), allow, deny, "")
    branches = [_decide(a, allow, deny) for a in node.args]
    if isinstance(node, OR):
        good = [b for b in branches if b.allowed]
        if good:
            return Decision(True, good[0].reason)
        return Decision(False, "no alternative is allowed: " + "; ".join(b.reason for b in branches))
    if isinstance(node, AND):
        bad = [b for b in branches if not b.allowed]
        if bad:
            return Decision(False, "; ".join(b.reason for b in bad))
        return Decision(True, "all of " + ", ".join(b.reason for b in branches))
    raise ValueError(f"unexpected node {node!r} in a license expression")  # pragma: no cover


def _leaf(license_id: str, allow: Sequence[str], deny: Sequence[str], suffix: str) -> Decision:
    hit = _matches(license_id, deny)
    if hit is not None:
        return Decision(False, f"{license_id}{suffix} is denied (deny: {hit!r})")
    if not allow:
        return Decision(True, f"{license_id}{suffix} is not denied")
    hit = _matches(license_id, allow)
    if hit is not None:
        return Decision(True, f"{license_id}{suffix} is allowed (allow: {hit!r})")
    return Decision(False, f"{license_id}{suffix} is not on the allow list")


def _bsd_why(license_text: str) -> str:
    """Why a BSD name stays unresolved: the distribution's license file is silent, or it has none."""
    if license_text.strip() not in ("", "UNKNOWN"):  # pip-licenses' LicenseText is "UNKNOWN" without a file
        return "the license file does not say which BSD license"
    return "the distribution has no license file to say which BSD license"
