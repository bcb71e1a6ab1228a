"""`ca_file` per IMAP/SMTP server: resolved against the config file, must exist, and reaches
the adapters the daemon builds; `dunbot init` mentions it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli.init import CONFIG_TEXT
from bot.config import load_config
from bot.daemon import imap_settings, smtp_sender
from bot.errors import ConfigError

CONFIG = """\
database: sqlite:///dunbot.db
mailboxes:
  - name: sales
    address: alice@example.test
    imap:
      host: 127.0.0.1
      port: 993
      security: ssl
      ca_file: {imap_ca}
      username: alice
      password_env: T_CA_IMAP_PW
    smtp: {{host: 127.0.0.1, port: 465, security: ssl, ca_file: {smtp_ca}}}
"""


def write(tmp_path: Path, imap_ca: str, smtp_ca: str) -> Path:
    path = tmp_path / "dunbot.yaml"
    path.write_text(CONFIG.format(imap_ca=imap_ca, smtp_ca=smtp_ca), encoding="utf-8")
    return path


def test_ca_files_resolve_and_reach_the_adapters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    other = tmp_path / "smtp-ca.pem"
    other.write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    config = load_config(write(tmp_path, "certs/ca.pem", str(other)))
    mailbox = config.mailboxes[0]
    assert mailbox.imap.ca_file == (tmp_path / "certs" / "ca.pem").resolve()
    assert mailbox.smtp.ca_file == other
    monkeypatch.setenv("T_CA_IMAP_PW", "secret")
    assert imap_settings(mailbox).ca_file == mailbox.imap.ca_file
    assert smtp_sender(mailbox).settings.ca_file == other


def test_a_missing_ca_file_names_the_key_and_line(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "ca.pem", "nope/ca.pem"))
    assert (info.value.key, info.value.line) == ("mailboxes.0.smtp.ca_file", 12)
    assert "no such file" in info.value.msg and "nope/ca.pem" in info.value.msg
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, str(tmp_path), "ca.pem"))  # a folder is not a CA file
    assert info.value.key == "mailboxes.0.imap.ca_file"


def test_without_ca_file_the_system_cas_are_used(tmp_path: Path) -> None:
    path = tmp_path / "dunbot.yaml"
    path.write_text(
        CONFIG.replace("      ca_file: {imap_ca}\n", "")
        .replace(", ca_file: {smtp_ca}", "")
        .replace("{{", "{")
        .replace("}}", "}"),
        encoding="utf-8",
    )
    mailbox = load_config(path).mailboxes[0]
    assert mailbox.imap.ca_file is None and mailbox.smtp.ca_file is None


def test_init_template_mentions_ca_file_for_imap_and_smtp() -> None:
    assert CONFIG_TEXT.count("# ca_file:") == 2
