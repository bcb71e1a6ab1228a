"""dunbot.yaml -> typed, frozen Config, validated once at the edge (DESIGN.md "config keys").

Relative paths (rules, templates, password files, sqlite:/// databases) resolve against the
config file's folder. Passwords never live in the YAML: `password_env` or `password_file`
name where to find them, and `ServerConfig.password()` reads them lazily.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.core.approval import parse_duration
from bot.core.yamldoc import YamlDoc, parse_yaml
from bot.errors import ConfigError, RuleError
from bot.paths import DEFAULT_RULES_DIR, DEFAULT_TEMPLATES_DIR

DEFAULT_DATABASE = "sqlite:///dunbot.db"
APPROVAL_KEY_ENV = "DUNBOT_APPROVAL_KEY"
DATABASE_ENV = "DUNBOT_DATABASE"
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_FROZEN = ConfigDict(frozen=True, extra="forbid")


def _base(info: ValidationInfo) -> Path | None:
    context = info.context
    if isinstance(context, Mapping):
        base = context.get("base")
        return base if isinstance(base, Path) else None
    return None


def _resolve(path: Path, info: ValidationInfo) -> Path:
    path = path.expanduser()
    base = _base(info)
    return path if path.is_absolute() or base is None else (base / path).resolve()


def _email(value: str) -> str:
    value = value.strip().lower()
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an email address like alice@example.com")
    return value


class ServerConfig(BaseModel):
    """One IMAP or SMTP server; `username` absent means no login (loopback tests only)."""

    model_config = _FROZEN

    host: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)
    security: Literal["none", "starttls", "ssl"]
    tls_verify: bool = True
    ca_file: Path | None = None  # PEM file of the CA(s) to trust instead of the system's
    username: str | None = None
    password_env: str | None = None
    password_file: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_literal_password(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "password" in data:
            raise ValueError(
                "a literal `password:` is not allowed in the config file; "
                "use `password_env: VARIABLE` or `password_file: /path/to/file`"
            )
        return data

    @field_validator("password_file")
    @classmethod
    def _resolve_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else _resolve(value, info)

    @field_validator("ca_file")
    @classmethod
    def _check_ca_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        path = _resolve(value, info)
        if not path.is_file():
            raise ValueError(f"{path}: no such file (a PEM file of CA certificates)")
        return path

    @model_validator(mode="after")
    def _one_password_source(self) -> ServerConfig:
        if self.password_env and self.password_file:
            raise ValueError("give either password_env or password_file, not both")
        if self.username and not (self.password_env or self.password_file):
            raise ValueError("a username needs password_env or password_file")
        return self

    def password(self) -> str:
        """The password, read now from the environment variable or file the config names."""
        if self.password_env:
            value = os.environ.get(self.password_env, "")
            if not value:
                raise ConfigError(
                    "environment",
                    self.password_env,
                    "not set or empty; export the password in it (named by password_env)",
                )
            return value
        if self.password_file:
            try:
                return self.password_file.read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                raise ConfigError(
                    self.password_file,
                    "",
                    f"cannot read the password file (password_file): {exc.strerror}",
                ) from exc
        raise ConfigError("config", "password", "no password_env or password_file for this server")


class Folders(BaseModel):
    model_config = _FROZEN

    inbox: str = "INBOX"
    sent: str = "Sent"


class MailboxConfig(BaseModel):
    """One salesperson's account: where mail arrives, how drafts are sent, who approves."""

    model_config = _FROZEN

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    address: str
    imap: ServerConfig
    smtp: ServerConfig
    folders: Folders = Folders()
    approvers: tuple[str, ...] = ()  # empty: the mailbox's own address approves
    manager: str | None = None
    cc: tuple[str, ...] = ()  # added to every follow-up's Cc header (and allowed as recipients)
    bcc: tuple[str, ...] = ()  # added to every follow-up's envelope only, never to a header
    sender_name: str | None = None  # the From display name and the templates' signature
    company: str | None = None  # the templates' company name
    daily_send_cap: int = Field(default=20, ge=0)  # unattended (mode: send) sends per day at most
    rate_limit_per_minute: int = Field(default=10, ge=1)  # messages sent per minute at most

    @field_validator("address", "manager")
    @classmethod
    def _check_email(cls, value: str | None) -> str | None:
        return None if value is None else _email(value)

    @field_validator("approvers", "cc", "bcc")
    @classmethod
    def _check_approvers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_email(v) for v in value)

    @model_validator(mode="after")
    def _default_approver(self) -> MailboxConfig:
        if not self.approvers:
            object.__setattr__(self, "approvers", (self.address,))
        return self


class Config(BaseModel):
    """The whole dunbot.yaml."""

    model_config = _FROZEN

    database: str = Field(default=DEFAULT_DATABASE, validate_default=True)
    timezone: str = "UTC"
    rules: Path = DEFAULT_RULES_DIR
    templates: Path = DEFAULT_TEMPLATES_DIR
    mailboxes: tuple[MailboxConfig, ...] = ()
    approval_key_env: str = Field(default=APPROVAL_KEY_ENV, min_length=1)  # names the variable
    trusted_authserv_id: str | None = None  # approvals must pass DMARC/DKIM at this server
    draft_lifetime: str = "3d"  # a draft not approved within this is re-planned, never sent stale

    @field_validator("draft_lifetime")
    @classmethod
    def _check_lifetime(cls, value: str) -> str:
        if parse_duration(value) is None:
            raise ValueError(f"{value!r} is not a duration like 12h, 3d or 1w")
        return value

    @property
    def draft_ttl(self) -> timedelta:
        """draft_lifetime as a timedelta (validated at load)."""
        return parse_duration(self.draft_lifetime) or timedelta(days=3)

    def approval_key(self, environ: Mapping[str, str] | None = None) -> bytes:
        """The approval tokens' secret, read now from the variable `approval_key_env` names."""
        env = os.environ if environ is None else environ
        value = env.get(self.approval_key_env, "")
        if len(value) < 16:
            raise ConfigError(
                "environment",
                self.approval_key_env,
                "not set or shorter than 16 characters; drafts are mailed to approvers with a "
                f"token signed by it: export {self.approval_key_env}=$(openssl rand -hex 32)",
            )
        return value.encode("utf-8")

    @field_validator("database")
    @classmethod
    def _check_database(cls, value: str, info: ValidationInfo) -> str:
        if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", value):
            raise ValueError("must be sqlite:///FILE or postgresql+psycopg://user@host/db")
        return resolve_sqlite_url(value, _base(info))

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        check_timezone(value)
        return value

    @field_validator("rules", "templates")
    @classmethod
    def _resolve_dir(cls, value: Path, info: ValidationInfo) -> Path:
        return _resolve(value, info)

    @field_validator("mailboxes")
    @classmethod
    def _unique_names(cls, value: tuple[MailboxConfig, ...]) -> tuple[MailboxConfig, ...]:
        names = [m.name for m in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"mailbox names must be unique; repeated: {', '.join(dupes)}")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def mailbox(self, name: str) -> MailboxConfig:
        """The mailbox with that name; ConfigError listing the known names otherwise."""
        for mailbox in self.mailboxes:
            if mailbox.name == name:
                return mailbox
        known = ", ".join(m.name for m in self.mailboxes) or "none configured"
        raise ConfigError("config", "mailboxes", f"no mailbox named {name!r} (known: {known})")


def check_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{name!r} is not a time zone name like Europe/Berlin or UTC") from exc


def resolve_sqlite_url(url: str, base: Path | None) -> str:
    """sqlite:///relative.db -> sqlite:////abs/base/relative.db; other URLs unchanged."""
    prefix, sep, rest = url.partition(":///")
    if not sep or not prefix.startswith("sqlite") or base is None:
        return url
    if rest.startswith(("/", ":memory:")) or rest == "":
        return url
    return f"{prefix}:///{(base / rest).resolve()}"


def load_config(path: Path, *, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate dunbot.yaml; every problem is a ConfigError naming file, line and key."""
    env = os.environ if environ is None else environ
    doc = _read(path)
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise ConfigError(
            path, "", "the config must be a mapping of keys (database:, mailboxes:, ...)", line=1
        )
    if env.get(DATABASE_ENV):
        data = {**data, "database": env[DATABASE_ENV]}
    try:
        return Config.model_validate(data, context={"base": path.resolve().parent})
    except ValidationError as exc:
        raise _config_error(path, doc, exc) from exc


def _read(path: Path) -> YamlDoc:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(
            path, "", "config file not found; run `dunbot init` to write one, or pass --config"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, "", f"cannot read the config file: {exc}") from exc
    try:
        return parse_yaml(text, str(path))
    except RuleError as exc:
        raise ConfigError(path, "", exc.msg, line=exc.line) from exc


def _config_error(path: Path, doc: YamlDoc, exc: ValidationError) -> ConfigError:
    errors = exc.errors()
    first = errors[0]
    loc = tuple(first.get("loc", ()))
    key = ".".join(str(part) for part in loc) or "(top)"
    msg = str(first.get("msg", "invalid"))
    msg = msg.removeprefix("Value error, ")
    if first.get("type") == "extra_forbidden":
        msg = "unknown key; check the spelling against the keys `dunbot init` writes"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return ConfigError(path, key, msg + more, line=doc.line_of(loc))
