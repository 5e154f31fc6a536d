"""The target platforms a policy may name for lock files, and the marker values each implies.

A module of its own so that the package (which offers them as the ``platform`` option's choices)
and the model (which evaluates markers with them) both import it, neither importing the other.
"""

from __future__ import annotations

from collections.abc import Mapping

PLATFORMS: Mapping[str, Mapping[str, str]] = {
    "linux": {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix"},
    "darwin": {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix"},
    "win32": {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt"},
}
