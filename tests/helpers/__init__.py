"""What the tests share, by concern (fixtures built from these are registered in tests/conftest.py).

- ``env``: the environment a CI job or a user's shell gives gatekeeper (no CI variables, no colour).
- ``cli``: running the real ``gatekeeper`` CLI in a subprocess; the installed checkers.
- ``projects``: small projects written in tmp_path, tools run by hand, policy sections and policies.
- ``plugin``: the test plugin (tests/data/plugin) and plugins written by a test.
- ``dists``: a real venv holding real-format distributions (sbom, licenses).
- ``osv``: OSV advisory databases written by the tests, and an environment to audit (dependencies).
- ``faults``: a project every built-in checks, and interpreters that inject one fault into one tool.
- ``samples``: gate results for the renderers; ``history``: audit logs for the history page.
- ``reports``: reading the reports a run wrote.
"""
