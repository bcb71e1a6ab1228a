"""One root error and a family per area; every message names what to fix."""

from __future__ import annotations

from pathlib import Path


class BotError(Exception):
    """Root of every error dunbot raises on purpose."""


class ConfigError(BotError):
    """The configuration file is wrong: names the file, the key path and the fix."""

    def __init__(self, path: Path | str, key: str, msg: str, *, line: int | None = None) -> None:
        self.path, self.key, self.msg, self.line = str(path), key, msg, line
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {key}: {msg}" if key else f"{where}: {msg}")


class RuleError(BotError):
    """A rules or patterns file is wrong at a given line."""

    def __init__(self, path: Path | str, line: int | None, msg: str) -> None:
        self.path, self.line, self.msg = str(path), line, msg
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {msg}")


class TemplateError(BotError):
    """A template is missing or does not render."""


class InputError(BotError):
    """Bad user input (CSV row, command argument)."""


class MessageParseError(BotError, ValueError):
    """An email cannot be parsed; carries the reason for the quarantine."""


class OrderLookupError(BotError, LookupError):
    """No order with that id."""


class MailboxError(BotError):
    """An IMAP account cannot be used; names the mailbox. `temporary` says whether a retry may help."""

    temporary = False

    def __init__(self, mailbox: str, msg: str) -> None:
        self.mailbox, self.msg = mailbox, msg
        super().__init__(f"mailbox {mailbox!r}: {msg}")


class MailboxUnavailableError(MailboxError):
    """The server is down, dropped the connection or timed out: try again later."""

    temporary = True


class MailboxLoginError(MailboxError):
    """The server refused the credentials (or TLS failed to verify): fix the config, retrying won't help."""
