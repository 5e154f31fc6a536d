"""``python -m gatekeeper``."""

from gatekeeper.cli import run

run()
