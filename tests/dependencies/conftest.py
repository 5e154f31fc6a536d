"""Fixtures of the dependencies checker's tests (defined in deps_support.py, shared with the test modules)."""

from deps_support import checkers, fake_env, make_project, run_gate

__all__ = ["checkers", "fake_env", "make_project", "run_gate"]
