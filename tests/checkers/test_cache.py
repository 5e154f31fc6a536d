"""The sbom and licenses checkers reuse their results while the inspected environment is unchanged,
and notice when it changes; cache entries are never written through a link."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gatekeeper.checkers import cache
from gatekeeper.checkers.licenses import LicensesChecker, spdx
from gatekeeper.checkers.sbom import SbomChecker
from tests.helpers.dists import bare_venv, context, make_project, write_dist


def test_sbom_and_licenses_are_cached_until_the_environment_changes(tmp_path: Path) -> None:
    python, site = bare_venv(tmp_path / "venv")
    write_dist(site, "alpha", "1.0", ["License-Expression: MIT"], None, {})
    write_dist(site, "bravo", "2.0", ["License: Apache 2.0"], None, {})
    root = make_project(tmp_path / "p", f'[environment]\npython = "{python}"\n[checks.licenses]\nunknown = "warn"\n')
    cache_dir = tmp_path / "cache"

    def run() -> tuple:  # type: ignore[type-arg]
        ctx = context(root, cache_dir=cache_dir)
        sbom = SbomChecker().run(ctx.policy.checks["sbom"], ctx)
        bom = json.loads((root / "out" / "sbom.cdx.json").read_text())
        ctx = context(root, cache_dir=cache_dir)
        licenses = LicensesChecker().run(ctx.policy.checks["licenses"], ctx)
        tools.append(dict(ctx.tools))
        return sbom, bom, licenses

    tools: list[dict] = []  # type: ignore[type-arg]
    sbom1, bom1, lic1 = run()
    sbom2, bom2, lic2 = run()
    # the report names where pip-licenses comes from whether its listing was run or reused
    assert tools[1]["pip-licenses"] == tools[0]["pip-licenses"] is not None
    assert (sbom1.metrics["cached"], sbom2.metrics["cached"]) == (False, True)
    assert (lic1.metrics["cached"], lic2.metrics["cached"]) == (False, True)
    assert sbom2.metrics["components"] == sbom1.metrics["components"] == 2 and sbom2.metrics["valid"]
    assert bom2["components"] == bom1["components"]
    assert bom2["serialNumber"] != bom1["serialNumber"]  # every generated BOM gets its own serial number
    assert lic2.metrics["packages"] == lic1.metrics["packages"]

    # a package is installed: both notice
    write_dist(site, "charlie", "3.0", ["License-Expression: GPL-3.0-only"], None, {})
    sbom3, bom3, lic3 = run()
    assert sorted(c["name"] for c in bom3["components"]) == ["alpha", "bravo", "charlie"]
    assert (sbom3.metrics["cached"], lic3.metrics["cached"]) == (False, False)
    assert sbom3.metrics["components"] == 3
    assert {p["name"]: p["verdict"] for p in lic3.metrics["packages"]}["charlie"] == "denied"

    # a license file appears (same version): the licenses listing is read again
    (site / "alpha-1.0.dist-info" / "LICENSE").write_text("MIT License\n")
    _, _, lic4 = run()
    assert lic4.metrics["cached"] is False

    # corrupt entries are ignored and recomputed
    for entry in cache_dir.rglob("*.json"):
        entry.write_text(entry.read_text()[:-5])
    sbom5, bom5, lic5 = run()
    assert (sbom5.metrics["cached"], lic5.metrics["cached"]) == (False, False)
    assert sbom5.metrics["components"] == 3 and len(bom5["components"]) == 3


def test_cache_entries_are_never_written_through_a_link(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # the per-user secret goes there
    folder = tmp_path / "cache" / "security"
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.json"
    victim.write_text("precious\n")
    linked_folder, linked_entry, plain = "ab" + "0" * 62, "cd" + "1" * 62, "ef" + "2" * 62
    (folder / "cd").mkdir(parents=True)
    (folder / "ab").symlink_to(outside)  # an entry folder that is a link
    (folder / "cd" / f"{linked_entry}.json").symlink_to(victim)  # an entry that is a link
    for _ in range(2):  # a second time too: each entry folder is resolved once, then remembered
        for key in (linked_folder, "ab" + "3" * 62, linked_entry, plain):
            cache.write(folder, key, {"results": [key]})
    assert sorted(p.name for p in outside.iterdir()) == ["victim.json"] and victim.read_text() == "precious\n"
    assert cache.read(folder, plain) == ({"results": [plain]}, False)


_BSD3 = (
    "Copyright (c) 2020, Bravo\n\n"
    "Redistribution and use in source and binary forms, with or without modification, are permitted provided that "
    "the following conditions are met:\n"
    "1. Redistributions of source code must retain the above copyright notice.\n"
    "2. Redistributions in binary form must reproduce the above copyright notice.\n"
    "3. Neither the name of the copyright holder nor the names of its contributors may be used to endorse or "
    "promote products derived from this software without specific prior written permission.\n"
    "THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS AS IS.\n"
)


def test_license_verdicts_are_reused_only_while_every_input_is_unchanged(tmp_path: Path) -> None:
    python, site = bare_venv(tmp_path / "venv")
    write_dist(site, "alpha", "1.0", ["License-Expression: MIT"], None, {})
    write_dist(site, "bravo", "2.0", ["License: BSD"], _BSD3, {})
    policy = f'[environment]\npython = "{python}"\n[checks.licenses]\nunknown = "warn"\n'
    root = make_project(tmp_path / "p", policy)
    cache_dir = tmp_path / "cache"

    def verdicts() -> dict[str, tuple[str, str]]:
        ctx = context(root, cache_dir=cache_dir)
        result = LicensesChecker().run(ctx.policy.checks["licenses"], ctx)
        return {p["name"]: (p["license"], p["verdict"]) for p in result.metrics["packages"]}

    first = verdicts()
    assert first == {"alpha": ("MIT", "allowed"), "bravo": ("BSD-3-Clause", "allowed")}
    # nothing changed: the verdicts come from the cache, without loading the SPDX table
    spdx._LICENSING.clear()
    assert verdicts() == first and not spdx._LICENSING

    # the policy changes: judged again
    (root / "gatekeeper.toml").write_text(policy + 'deny = ["BSD-3-Clause"]\n')
    assert verdicts()["bravo"] == ("BSD-3-Clause", "denied")
    (root / "gatekeeper.toml").write_text(policy)

    # a forged entry (a verdict swapped, its MAC kept) is rejected and judged again
    for entry in (cache_dir / "licenses").rglob("*.json"):
        stored = json.loads(entry.read_text())
        if isinstance(stored["payload"], list) and stored["payload"] and "verdict" in stored["payload"][0]:
            stored["payload"] = [{**row, "verdict": "denied"} for row in stored["payload"]]
            entry.write_text(json.dumps(stored))
    assert verdicts() == first

    # the license file loses its endorsement clause, keeping its size and mtime: read and judged again
    license_file = site / "bravo-2.0.dist-info" / "LICENSE"
    before = license_file.stat()
    clause = _BSD3[_BSD3.index("3. Neither") : _BSD3.index("THIS SOFTWARE")]
    license_file.write_text(_BSD3.replace(clause, "x" * (len(clause) - 1) + "\n"), encoding="utf-8")
    os.utime(license_file, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (license_file.stat().st_size, license_file.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert verdicts()["bravo"] == ("BSD-2-Clause", "allowed")


def test_an_entry_holds_its_payload_as_the_bytes_its_mac_covers(tmp_path: Path) -> None:
    # read checks the MAC over the payload's bytes as written, without serialising it again
    secret = cache._secret()
    assert secret is not None
    key, payload = cache.cache_key("entry"), {"b": [1, {"z": "é\udcff", "a": None}], "a": 1.5}
    cache.write(tmp_path, key, payload)
    path = cache._entry_path(tmp_path, key)
    entry = json.loads(path.read_bytes())
    assert entry["payload"] == payload and entry["key"] == key
    assert path.read_bytes().endswith(b'"payload":' + json.dumps(payload, sort_keys=True, separators=(",", ":")).encode() + b"}")
    assert cache.read(tmp_path, key) == (payload, False)
    # one value changed in place, the layout kept: the MAC no longer covers it
    path.write_bytes(path.read_bytes().replace(b'"a":1.5', b'"a":2.5'))
    assert cache.read(tmp_path, key) == (None, True)
    # as the earlier layout wrote it (the payload's keys unsorted): checked the long way, still valid
    earlier = {"v": cache.ENTRY_VERSION, "key": key, "mac": cache._mac(secret, key, payload), "payload": payload}
    path.write_text(json.dumps(earlier, separators=(",", ":")))
    assert cache.read(tmp_path, key) == (payload, False)
    # another key's entry copied over it: refused whatever its layout
    other = cache.cache_key("other")
    cache.write(tmp_path, other, payload)
    path.write_bytes(cache._entry_path(tmp_path, other).read_bytes())
    assert cache.read(tmp_path, key) == (None, True)


def test_once_a_run_ends_its_log_a_check_still_running_stores_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run that ends its log (``end_log``) takes back what it stored (unless kept) and stores
    nothing more from its checks: an entry a check left running past the run's end writes afterwards
    (another thread than the run's own) is not kept,
    nor one whose writing was under way when the log ended (``end_log`` waits for it, then takes it
    back). The next run's log lets entries be stored again."""
    import threading

    from gatekeeper import fileio

    folder = tmp_path / "cache"
    log = cache.log_writes(folder)
    cache.write(folder, cache.cache_key("a"), {"v": 1})
    started, release = threading.Event(), threading.Event()
    real = fileio.write_atomic

    def slow(path: Path, data: bytes, **kw: object) -> None:
        started.set()
        assert release.wait(10)
        real(path, data, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(cache, "write_atomic", slow)
    writer = threading.Thread(target=cache.write, args=(folder, cache.cache_key("b"), {"v": 2}))
    writer.start()
    assert started.wait(10)
    ender = threading.Thread(target=cache.end_log, args=(log,), kwargs={"keep": False})
    ender.start()
    ender.join(0.3)
    assert ender.is_alive()  # it waits for the entry being written
    release.set()
    writer.join(10)
    ender.join(10)
    monkeypatch.setattr(cache, "write_atomic", real)
    assert cache.read(folder, cache.cache_key("a")) == (None, False)
    assert cache.read(folder, cache.cache_key("b")) == (None, False)
    late = threading.Thread(target=cache.write, args=(folder, cache.cache_key("c"), {"v": 3}))
    late.start()  # a check's thread after the run's end: not stored
    late.join(10)
    assert cache.read(folder, cache.cache_key("c")) == (None, False)
    own = cache.log_writes(tmp_path / "other")
    cache.end_log(own, keep=False)
    cache.write(tmp_path / "other", cache.cache_key("run"), {"v": 0})  # the thread that ended the log (the run's): stored
    assert cache.read(tmp_path / "other", cache.cache_key("run")) == ({"v": 0}, False)
    kept = cache.log_writes(folder)  # the next run
    cache.write(folder, cache.cache_key("c"), {"v": 3})
    cache.end_log(kept, keep=True)
    assert cache.read(folder, cache.cache_key("c")) == ({"v": 3}, False)
