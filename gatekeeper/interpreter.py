"""Which interpreter's environment the dependencies, sbom and licenses checks inspect, and why.

Discovery order: the policy's ``[environment] python``; the active virtualenv (``$VIRTUAL_ENV``);
a ``.venv/`` or ``venv/`` in the project root; gatekeeper's own interpreter. The choice is said
on the console and carried in the reports, so a run never audits an environment silently.

A virtualenv inside the checkout is the checkout's files, so it is only used when it looks like
one the job made: not tracked by git (a pull request cannot commit it) and with an interpreter
that is a link to one outside the checkout (no binary of the checkout runs). Otherwise it is
passed over, and the reason is part of what the console says.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatekeeper import process
from gatekeeper.errors import ToolError

#: how the interpreter was chosen -> what the console says about it
HOW = {
    "policy": "set by [environment] python",
    "virtual_env": "the active virtualenv, $VIRTUAL_ENV",
    "project_venv": "the project's {venv}, found in the project root",
    "gatekeeper": "gatekeeper's own: no [environment] python, $VIRTUAL_ENV or .venv/ found",
}


@dataclass(frozen=True, slots=True)
class Interpreter:
    """The inspected interpreter, how it was chosen, and whether it is gatekeeper's own."""

    python: str
    chosen_by: str  # a key of HOW
    own: bool  # gatekeeper's own environment: its own dependencies are among the packages
    venv: str = ""  # for project_venv: ".venv/" or "venv/"
    passed_over: str = ""  # why a .venv/ in the project root was not used

    def describe(self) -> dict[str, Any]:
        """The ``environment`` entry of the JSON result."""
        out: dict[str, Any] = {"python": self.python, "chosen_by": self.chosen_by, "gatekeeper_own": self.own}
        if self.passed_over:
            out["passed_over"] = self.passed_over
        return out

    def sentence(self) -> str:
        """One console line: the interpreter and how it was chosen."""
        return sentence(self.describe())


def sentence(env: dict[str, Any]) -> str:
    """The console line for the JSON result's ``environment`` entry; with gatekeeper's own
    interpreter it says whether gatekeeper's dependencies are checked, which the scope decides."""
    how = str(env.get("chosen_by", ""))
    python = str(env.get("python", ""))
    venv = ".venv/" if "/.venv/" in python.replace("\\", "/") else "venv/"
    text = f"environment: {python} ({HOW.get(how, how).format(venv=venv)})"
    if env.get("gatekeeper_own"):
        if env.get("scope") == "project":
            # scope "project" keeps the project's dependency closure only: gatekeeper's are left out
            text += "; scope project: only the project's dependencies are checked, not gatekeeper's own"
        else:
            text += "; gatekeeper's own dependencies are among the packages"
    if env.get("passed_over"):
        text += f"; {env['passed_over']}"
    return text


def discover(root: Path, configured: str) -> Interpreter:
    """The interpreter to inspect, in the order the module docstring gives."""
    if configured:
        path = Path(configured)
        if not path.is_absolute():
            path = root / path
        return Interpreter(str(path), "policy", _is_own(path))
    venv = os.environ.get("VIRTUAL_ENV")
    if venv:
        found = _venv_python(Path(venv))
        if found is not None:
            return Interpreter(str(found), "virtual_env", _is_own(found))
    passed_over = []
    for name in (".venv", "venv"):
        folder = root / name
        found = _venv_python(folder) if (folder / "pyvenv.cfg").is_file() else None
        if found is None:
            continue
        problem = _untrusted(root, folder, found)
        if problem:
            passed_over.append(f"{name}/ passed over: {problem}")
            continue
        return Interpreter(str(found), "project_venv", _is_own(found), venv=f"{name}/", passed_over="; ".join(passed_over))
    return Interpreter(sys.executable, "gatekeeper", True, passed_over="; ".join(passed_over))


def _venv_python(folder: Path) -> Path | None:
    for candidate in (folder / "bin" / "python", folder / "Scripts" / "python.exe"):
        if candidate.exists():
            return candidate
    return None


def _untrusted(root: Path, folder: Path, python: Path) -> str:
    """Why the virtualenv ``folder`` in the checkout must not be run ("" when it may)."""
    try:
        target = python.resolve()
        inside = target.is_relative_to(root.resolve())
    except OSError as exc:
        return f"its interpreter cannot be resolved ({exc.strerror})"
    if inside:
        return "its interpreter is a file of the checkout, not a link to one outside it"
    try:
        done = process.run(["git", "ls-files", "--", folder.name], timeout=30, cwd=root)
    except ToolError:
        return ""  # no git: not a checkout a pull request could have filled
    if done.returncode == 0 and done.stdout.strip():
        return "it holds files tracked by git, so the checkout (not the job) made it"
    return ""


def _prefix(python: Path) -> Path:
    """The environment an interpreter belongs to: its virtualenv folder, or its installation."""
    venv = python.parent.parent
    if (venv / "pyvenv.cfg").is_file():
        return venv.absolute()
    try:
        return python.resolve().parent.parent
    except OSError:
        return python.parent.parent


def runs_gatekeeper(python: Path) -> bool:
    """Whether ``python`` runs gatekeeper's own environment."""
    return _is_own(python)


def _is_own(python: Path) -> bool:
    """Whether ``python`` runs gatekeeper's own environment."""
    try:
        return _prefix(python).resolve() == Path(sys.prefix).resolve()
    except OSError:
        return False
