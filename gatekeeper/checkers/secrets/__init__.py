"""Secrets with detect-secrets: every potential secret in a tracked file becomes a finding.

How a scan goes:

1. The files are those git tracks (``git ls-files --recurse-submodules``: a checked-out submodule's
   files too), so build outputs and virtualenvs are not scanned; the policy's ``exclude`` globs
   leave more out (and are reported). With ``--shard I/N`` only a share of them, balanced by bytes,
   is kept.
2. detect-secrets is taken from the tool interpreter (gatekeeper's own, or ``gate.tool_python``),
   never from the project (``CheckContext.tool`` refuses a copy inside the root or installed from
   it, and says where it came from); it runs with ``-I`` and its standard plugins and filters (or the
   policy's ``plugins``), with ``--no-verify`` so no secret is sent over the network to be checked (and offline: its
   ``requests`` is a stand-in that refuses every request, ``worker.py``).
   Its filters that skip whole files by name or extension (``.css``, ``.svg``, ``.lock``,
   ``poetry.lock``, ``package-lock.json``, ``*swagger*``...) are turned off: a tracked file is
   scanned whatever its name, and a file that is not UTF-8 is read with its undecodable bytes
   replaced (``worker.py``), where detect-secrets alone would skip it without a word.
   It reads no configuration from the checkout and executes none of it; it runs in the root only
   because its ``is_invalid_file`` filter looks files up relative to its working directory.
   It is started (``worker.py``) as the check starts while its version is not cached: it imports
   detect-secrets and says its version while the files are listed and hashed, then scans the first
   batch of files that need it (a larger run's further batches each get a worker of their own);
   once its version is cached (``launcher.LazyWorker``) it starts only when a file must be scanned. When
   other checks run at the same time, a batch of fewer than ``scan.SERIAL_BELOW_BYTES`` is scanned in
   that process, file after file, instead of in detect-secrets' process pool: the same scan, for
   less CPU.
3. Files whose result is cached (keyed by content, path, the tool's version and the plugins)
   are not scanned again.
4. A scan detect-secrets fails (it raised on a file, and so reported nothing) is an error; one more
   scan that goes on past such files (``worker.py``, ``"each"``) names them in it.

A finding carries the secret's type, file and line, and nothing derived from the secret: not
the secret, and not detect-secrets' ``hashed_secret`` (an unsalted SHA-1, from which a short or
common secret is recovered by trying candidates in seconds). That hash is used only inside the
check, to tell the results the allowlist pragmas hid from the others, and is dropped before a
result is cached. A finding's fingerprint is made of its type, file and place among the secrets of
that type in that file (``results.to_findings``).
``# pragma: allowlist secret`` and ``# pragma: whitelist secret`` comments (and ``allowlist
nextline``) narrow the scan: each file's pragmas are a ``Narrowing`` record, with the secrets they
hid counted by scanning that file again with detect-secrets' allowlist filter off. With
``project_config = "ignore"`` that filter is off for every file and no pragma is honoured.

This module is what loading the checker needs (its declaration, options and presentation); the run
is ``scan``, which starts detect-secrets through ``launcher``, reads its results with ``results``
and records what narrowed the scan with ``narrowing``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gatekeeper.checkers.base import OFF_BY_DEFAULT, PROJECT_CONFIG, CheckContext, CheckerBase, Display
from gatekeeper.checkers.secrets import presentation
from gatekeeper.checkers.secrets.terms import ALLOWLIST_FILTER as ALLOWLIST_FILTER
from gatekeeper.checkers.secrets.terms import CACHE_VERSION as CACHE_VERSION
from gatekeeper.checkers.secrets.terms import CHECK
from gatekeeper.checkers.secrets.terms import FILE_FILTERS as FILE_FILTERS
from gatekeeper.checkers.secrets.terms import INSTALL as INSTALL
from gatekeeper.findings import CheckResult
from gatekeeper.options import Option


class SecretsChecker(CheckerBase):
    """Runs detect-secrets over the tracked files and maps each potential secret to a blocking finding."""

    name = CHECK
    description = "secrets in tracked files (detect-secrets)"
    shardable = True
    options: Mapping[str, Option] = {
        "enabled": OFF_BY_DEFAULT,
        "exclude": Option("str_list", [], 'tracked paths or globs not to scan, e.g. ["tests/fixtures/*"]'),
        "plugins": Option("str_list", [], 'detect-secrets plugins to use, e.g. ["AWSKeyDetector"]; empty: all standard plugins'),
        "project_config": PROJECT_CONFIG,
    }

    tool = presentation.TOOL
    run_imports = ("gatekeeper.checkers.source", "gatekeeper.checkers.secrets.scan")

    def display(self, result: CheckResult) -> Display:
        """Files scanned and potential secrets."""
        return presentation.display(result)

    def run(self, section: Mapping[str, Any], ctx: CheckContext) -> CheckResult:
        """Scan (or reuse cached scans of) the tracked files; every potential secret is a blocking finding."""
        from gatekeeper.checkers.secrets import scan

        return scan.run(section, ctx)
