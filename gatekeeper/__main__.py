"""``python -m gatekeeper``.

``-m`` puts the current folder first on ``sys.path``, ahead of the standard library. Run in the
checkout under review, that would let a ``typer/``, ``jinja2/`` or ``json/`` folder there be
imported in place of a module gatekeeper uses, so the entry is dropped here, before gatekeeper
imports anything (``gatekeeper/__init__.py`` imports nothing; ``os`` and ``sys`` are loaded at start-up).

What this cannot protect against: Python itself imports modules after putting the folder on the
path and before this file runs. runpy's own imports (on 3.11: ``importlib``, ``warnings``,
``collections``, ``types``, ``functools``, ``contextlib``, ``operator``, ``keyword``, ``reprlib``)
are taken from the folder when a file of that name is there, and so is a ``gatekeeper/`` folder or
``gatekeeper.py``: such a file runs with gatekeeper's rights and environment, the audit key
included. In an untrusted checkout run the ``gatekeeper`` command (its console script does not
put the current folder on ``sys.path``), or ``python -I -m gatekeeper``.
"""

import os
import sys

if sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

from gatekeeper.entry import main  # after sys.path is cleaned

main()
