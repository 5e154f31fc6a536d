"""Expected problems, each carrying what a user needs to fix them; only the CLI catches them."""

from __future__ import annotations


class GatekeeperError(Exception):
    """Base of every expected error; ``exit_code`` follows docs/design.md."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        key: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.key = key
        self.line = line
        self.hint = hint

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line:
                where += f":{self.line}"
            where += ": "
        key = f"{self.key}: " if self.key else ""
        text = f"{where}{key}{self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text


class PolicyError(GatekeeperError):
    """The policy file is missing, malformed or invalid (exit 2)."""


class UsageError(GatekeeperError):
    """The command line asks for something impossible (exit 2)."""


class OutputError(GatekeeperError):
    """A report or the audit log could not be written (exit 2)."""


class EvidenceRefused(GatekeeperError):
    """Evidence asked to be verified before it is written does not hold up; nothing was written (exit 1)."""

    exit_code = 1


class PluginError(GatekeeperError):
    """A checker plugin could not be loaded."""


class ToolError(GatekeeperError):
    """A wrapped tool is missing, crashed, hung or printed something unreadable.

    Raised inside checkers; the engine turns it into a check with status ``error``.
    """

    exit_code = 3


class ToolMissing(ToolError):
    """The tool's executable or module is not installed."""


class ToolTimeout(ToolError):
    """The tool ran past its deadline and was killed with its children."""
