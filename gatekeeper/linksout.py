"""Links in the checkout that lead outside its git work tree: refused before any tool reads them.

The tools follow links. A pull request that adds ``conf.py -> /home/runner/.git-credentials`` has
mypy read the runner's file as a module and quote it (``Name "..." is not defined``), and bandit,
ruff or a coverage report could do the same: its contents would reach the console and the reports,
which no redaction rule can know to mask. A file no reviewer sees, which the job's other steps or
the tests may write, would also be judged as the project's. So a link whose target resolves
outside the project's git work tree (outside the root when there is no git work tree), or into
git's own ``.git`` folder, is refused, whatever it leads to: a file, a folder (a tool would read every file below it), a device or
``/proc`` file, another link (the chain is followed to its end), or nothing yet (a dangling link's
target can be created by the job or the tests). A link whose chain ends inside the tree is read as
it always was.

Two places refuse one, neither walking the tree again: the checkout's snapshot, which ``lstat``s
every tracked file and every configuration file of a tool's name before the first check starts
(``checkout.Snapshot.links_out``: no check then runs at all), and ``checkoutreads.Reads``, told by
each check (``CheckContext.reading``) which files it gives its tool before the tool reads them,
which catches an untracked or git-ignored link a tool would walk into (that check is then an error
and the run's verdict too). Only links pay: a target is resolved for a path that is a link, and for
each distinct folder of a file the comparison does not cover (a folder link).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

#: what a refused link's message tells the user to do
CURE = (
    "the tools would read the file it leads to, which no reviewer sees and which may hold the runner's secrets: "
    "remove the link, point it inside the repository, or commit the file itself in its place"
)


def work_tree(root: Path) -> str:
    """The folder a link of ``root``'s checkout must lead inside: the git work tree ``root`` lies in
    (the nearest folder at or above it holding a ``.git`` entry), else ``root`` itself; resolved."""
    real = Path(os.path.realpath(root))
    for place in (real, *real.parents):
        if os.path.lexists(place / ".git"):
            return os.fspath(place)
    return os.fspath(real)


def inside(real: str, tree: str) -> bool:
    """Whether the resolved path ``real`` is ``tree`` or lies below it, and not in git's own folder
    there (a ``.git`` part: ``.git/config`` may hold the credentials ``actions/checkout`` persists)."""
    if real == tree:
        return True
    prefix = tree.rstrip("/") + "/"
    return real.startswith(prefix) and ".git" not in real[len(prefix) :].split("/")


def leads_out(base: str, path: str, tree: str) -> str | None:
    """Where ``path`` (relative to the folder ``base``) resolves when that lies outside ``tree``
    (every link on the way followed, a dangling one to the path it names), else None."""
    real = os.path.realpath(os.path.join(base, path))
    return None if inside(real, tree) else real


def shown(link: str, target: str) -> str:
    """How a refused link is named: ``conf.py -> /home/runner/.git-credentials``."""
    text = f"{link} -> {target}"
    return os.fsencode(text).decode("utf-8", "backslashreplace")


def refusal(links: Iterable[str], limit: int = 5) -> str:
    """The message of a check or run refused for ``links`` (each as ``shown`` gives it)."""
    names = sorted(links)
    listed = ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")
    return f"the checkout holds a link leading outside its git work tree: {listed} ({CURE})"
