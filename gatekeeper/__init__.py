"""gatekeeper: a quality gate and compliance auditor for Python projects."""

__version__ = "0.1.0"
