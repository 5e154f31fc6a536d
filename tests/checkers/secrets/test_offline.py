"""detect-secrets runs offline in the worker: requests is never loaded, nothing can be sent, the
findings are detect-secrets' own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from gatekeeper.checkers import secrets as secrets_checker
from tests.checkers.secrets.test_checker import AWS, FILTERS_OFF, GITHUB, PASSWORD, scan_by_hand
from tests.helpers.projects import write

SLACK = "xoxb-1234567890-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx"
FILES = {
    "aws.cfg": f"aws_access_key_id = {AWS}\n",
    "app.py": f'password = "{PASSWORD}"\ntoken = "{GITHUB}"\n',
    "slack.txt": f"SLACK_TOKEN={SLACK}\n",
}
#: run before the worker: the network library cannot be imported at all
NO_REQUESTS = (
    "import sys\n"
    "class _Blocked:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name.partition('.')[0] in ('requests', 'urllib3', 'charset_normalizer', 'idna', 'certifi'):\n"
    "            raise ImportError('blocked: ' + name)\n"
    "sys.meta_path.insert(0, _Blocked())\n"
)
#: run before the worker: a detect-secrets whose import uses requests beyond a name
NEEDS_REQUESTS = (
    "import sys\n"
    "class _Needs:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name == 'detect_secrets.main':\n"
    "            import requests\n"
    "            requests.Session.__mro__\n"
    "sys.meta_path.insert(0, _Needs())\n"
)


def _worker(root: Path, args: list[str], prefix: str = "") -> subprocess.CompletedProcess[str]:
    source = Path(secrets_checker.__file__).with_name("worker.py").read_text(encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-I", "-c", prefix + source],
        input=json.dumps({"args": args, "serial": True}) + "\n",
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _found(done: subprocess.CompletedProcess[str]) -> set[tuple[str, str, int]]:
    assert done.returncode == 0, done.stderr
    hello, _, report = done.stdout.partition("\n")
    assert json.loads(hello)["version"]
    results = json.loads(report)["results"]
    return {(r["type"], path, r["line_number"]) for path, items in results.items() for r in items}


def test_the_worker_scans_without_importing_requests_and_finds_what_detect_secrets_finds(tmp_path: Path) -> None:
    root = write(tmp_path / "p", FILES)
    args = ["scan", "--no-verify", *FILTERS_OFF, *FILES]
    by_hand = scan_by_hand(root, *FILTERS_OFF, *FILES)  # detect-secrets with the real requests loaded
    assert {t for t, _, _ in by_hand} >= {"AWS Access Key", "Slack Token", "GitHub Token"}
    assert _found(_worker(root, args, NO_REQUESTS)) == by_hand


def test_asked_to_verify_the_worker_sends_nothing_and_fails(tmp_path: Path) -> None:
    """Without --no-verify, detect-secrets would post the Slack token to Slack to verify it: the
    stand-in refuses the request and the scan fails (the check always passes --no-verify)."""
    root = write(tmp_path / "p", {"slack.txt": FILES["slack.txt"]})
    done = _worker(root, ["scan", *FILTERS_OFF, "slack.txt"])
    assert done.returncode != 0
    assert "OfflineError: requests.post: detect-secrets runs offline here" in done.stderr
    assert SLACK not in done.stdout + done.stderr


def test_a_detect_secrets_whose_import_needs_requests_is_imported_with_it(tmp_path: Path) -> None:
    root = write(tmp_path / "p", FILES)
    args = ["scan", "--no-verify", *FILTERS_OFF, *FILES]
    assert _found(_worker(root, args, NEEDS_REQUESTS)) == scan_by_hand(root, *FILTERS_OFF, *FILES)
