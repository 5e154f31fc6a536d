"""One installed distribution as its metadata describes it: the record the inventory, the project scope
and the checks share (a module of its own so that the scope need not import the inventory)."""

from __future__ import annotations

from dataclasses import dataclass

from packaging.utils import canonicalize_name


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Distribution:
    """One installed distribution, as its metadata describes it."""

    name: str
    version: str
    requires: tuple[str, ...] = ()
    license: str = ""
    license_expression: str = ""
    classifiers: tuple[str, ...] = ()
    license_files: tuple[str, ...] = ()
    summary: str = ""
    home_page: str = ""
    location: str = ""
    origin: str = "index"  # PEP 610: "index" (no direct_url.json), "local" (a folder or file), "vcs", "url"
    url: str = ""  # PEP 610: where it was installed from (direct_url.json's url), "" for an index release

    @property
    def key(self) -> str:
        """The PEP 503 normalised name."""
        return canonicalize_name(self.name)
