"""The secrets check's names and constants, which its declaration and its run modules share (a module of
their own so that neither imports the other)."""

from __future__ import annotations

#: detect-secrets' filters that skip whole files by name or extension (``filters.heuristic``): turned off
FILE_FILTERS = (
    "detect_secrets.filters.heuristic.is_non_text_file",
    "detect_secrets.filters.heuristic.is_lock_file",
    "detect_secrets.filters.heuristic.is_swagger_file",
)
#: detect-secrets' filter that honours the allowlist pragmas
ALLOWLIST_FILTER = "detect_secrets.filters.allowlist.is_line_allowlisted"
CHECK = "secrets"
CACHE_VERSION = 5  # 5: a cached result holds no hashed_secret
INSTALL = "pip install 'gatekeeper[secrets]' into gatekeeper's environment, or set gate.tool_python"
