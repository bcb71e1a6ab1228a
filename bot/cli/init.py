"""`dunbot init [DIR]`: a commented dunbot.yaml plus copies of the default rules and templates."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import handles_bot_errors
from bot.cli.main import app
from bot.errors import InputError
from bot.paths import DEFAULT_RULES_DIR, DEFAULT_TEMPLATES_DIR

CONFIG_NAME = "dunbot.yaml"
CONFIG_TEXT = """\
# dunbot configuration. Relative paths are relative to this file's folder.
# Check it with `dunbot rules check`; secrets never go in this file.

# Where dunbot keeps orders, messages and the approval queue.
# sqlite:///FILE (embedded, one daemon) or postgresql+psycopg://USER@HOST/DB (several daemons).
# The environment variable DUNBOT_DATABASE overrides it.
database: sqlite:///dunbot.db

# Your own time zone (an IANA name like Asia/Shanghai); customers' zones come from the orders.
timezone: UTC

# The follow-up rules: rules/*.yaml (check them with `dunbot rules check`).
rules: rules/
# The message templates: templates/<language>/*.j2.
templates: templates/

# Approval by reply: each draft is mailed to the approvers with a token signed by a secret
# that is read from this environment variable (never written here): 16+ characters, e.g.
#   export DUNBOT_APPROVAL_KEY=$(openssl rand -hex 32)
approval_key_env: DUNBOT_APPROVAL_KEY
# When your incoming server adds Authentication-Results, name it here: an approval then counts
# only if it passed DMARC or DKIM there (headers from any other server are ignored).
# trusted_authserv_id: mx.example.test
# A draft not answered within this is re-planned, never sent stale (12h, 3d, 1w).
draft_lifetime: 3d

# One entry per salesperson's mail account that dunbot watches and sends from.
mailboxes:
  - name: sales                       # short id used in orders (mailbox column) and logs
    address: sales@example.test       # the salesperson's address; follow-ups are sent as this
    imap:                             # where customer mail arrives
      host: 127.0.0.1                 # IMAP server
      port: 993                       # 993 for ssl, 143 for starttls or none
      security: ssl                   # ssl | starttls | none (none: loopback tests only)
      tls_verify: true                # false only for a self-signed test server
      # ca_file: certs/ca.pem         # trust this CA (PEM) instead of the system's, e.g. your own
      username: sales                 # login name
      password_env: DUNBOT_IMAP_PASSWORD   # the environment variable holding the password
    smtp:                             # how approved follow-ups are sent
      host: 127.0.0.1                 # SMTP submission server
      port: 587                       # 587 for starttls, 465 for ssl
      security: starttls              # ssl | starttls | none
      tls_verify: true                # false only for a self-signed test server
      # ca_file: certs/ca.pem         # trust this CA (PEM) instead of the system's
      username: sales                 # login name
      password_env: DUNBOT_SMTP_PASSWORD   # or password_file: /run/secrets/smtp
    folders:                          # IMAP folder names on this server
      inbox: INBOX                    # read for customer replies and approvals
      sent: Sent                      # read for your own mails; dunbot files its sends here
    approvers: [sales@example.test]   # who may approve a draft by replying to it
    manager: boss@example.test        # told about bad-debt signals and escalations
    sender_name: Alice Chen           # the From display name and the letters' signature
    company: Example Manufacturing Co., Ltd.   # the company name in the letters
    cc: []                            # always in Cc of follow-ups, e.g. [accounts@example.test]
    bcc: []                           # always a hidden copy (envelope only), e.g. [crm@example.test]
    daily_send_cap: 20                # at most this many unattended (mode: send) sends per day
    rate_limit_per_minute: 10         # at most this many messages sent per minute
"""


@app.command("init")
@handles_bot_errors
def init(
    directory: Annotated[
        Path, typer.Argument(help="Folder to write into (created if missing).")
    ] = Path("."),
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite files that already exist.")
    ] = False,
) -> None:
    """Write a commented dunbot.yaml and copies of the default rules and templates."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        written, kept = _write_config(directory / CONFIG_NAME, force)
        for source, name in ((DEFAULT_RULES_DIR, "rules"), (DEFAULT_TEMPLATES_DIR, "templates")):
            w, k = copy_tree(source, directory / name, force)
            written, kept = written + w, kept + k
    except OSError as exc:
        raise InputError(f"{directory}: cannot write: {exc}") from exc
    typer.echo(f"{directory}: wrote {len(written)} file(s)")
    if kept:
        typer.echo(
            f"kept {len(kept)} existing file(s) (use --force to overwrite): "
            + ", ".join(map(str, kept[:5]))
        )
    config = directory / CONFIG_NAME
    typer.echo(f"next: edit {config}, then `dunbot --config {config} orders import FILE.csv`")


def _write_config(path: Path, force: bool) -> tuple[list[Path], list[Path]]:
    if path.exists() and not force:
        return [], [path]
    path.write_text(CONFIG_TEXT, encoding="utf-8")
    return [path], []


def copy_tree(source: Path, target: Path, force: bool) -> tuple[list[Path], list[Path]]:
    """Copy every file under source to target; existing files stay unless force. (written, kept)"""
    written: list[Path] = []
    kept: list[Path] = []
    for file in sorted(
        p for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    ):
        dest = target / file.relative_to(source)
        if dest.exists() and not force:
            kept.append(dest)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, dest)
        written.append(dest)
    return written, kept
