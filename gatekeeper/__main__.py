"""``python -m gatekeeper``.

``-m`` puts the current folder first on ``sys.path``, ahead of the standard library. Run in the
checkout under review, that would let a ``typer/``, ``jinja2/`` or ``json/`` folder there be
imported in place of a module gatekeeper uses, so the entry is dropped before anything else is
imported (``gatekeeper/__init__.py`` imports nothing; ``os`` and ``sys`` are loaded at start-up).
A ``gatekeeper/`` folder or ``gatekeeper.py`` there would already have run in gatekeeper's place:
run the ``gatekeeper`` command, or ``python -I -m gatekeeper``, in an untrusted checkout.
"""

import os
import sys

if sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

from gatekeeper.cli import run  # after sys.path is cleaned

run()
