"""Fixtures of the sbom and licenses tests (defined in compliance_support)."""

from compliance_support import fake_env

__all__ = ["fake_env"]
