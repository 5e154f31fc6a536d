"""``python -m gatekeeper``.

``-m`` puts the current folder first on ``sys.path``. Run in the checkout under review, that would
let a ``typer/`` or ``jinja2/`` folder there be imported as one of gatekeeper's own dependencies,
so the entry is dropped before anything else is imported. (A ``gatekeeper/`` folder there would
already have been imported in gatekeeper's place: run the ``gatekeeper`` command, or
``python -I -m gatekeeper``, in an untrusted checkout.)
"""

import os
import sys

if sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

from gatekeeper.cli import run  # after sys.path is cleaned

run()
