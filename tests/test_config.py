"""bot.config: dunbot.yaml keys, path resolution, secrets from env/files, errors with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import Config, ServerConfig, load_config
from bot.errors import ConfigError
from bot.paths import DEFAULT_RULES_DIR, DEFAULT_TEMPLATES_DIR

FULL = """\
database: sqlite:///data/dunbot.db
timezone: Asia/Shanghai
rules: my-rules/
templates: /opt/templates
mailboxes:
  - name: sales
    address: Alice@Example.test
    imap: {host: 127.0.0.1, port: 993, security: ssl, username: alice, password_env: T_IMAP_PW}
    smtp:
      host: 127.0.0.1
      port: 587
      security: starttls
      tls_verify: false
      username: alice
      password_file: secrets/smtp
    folders: {inbox: INBOX, sent: Sent Items}
    approvers: [alice@example.test, bob@example.test]
    manager: boss@example.test
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dunbot.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_full_config_resolves_relative_paths_against_its_folder(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL), environ={})
    assert config.database == f"sqlite:///{tmp_path.resolve() / 'data' / 'dunbot.db'}"
    assert config.timezone == "Asia/Shanghai"
    assert config.rules == tmp_path.resolve() / "my-rules"
    assert config.templates == Path("/opt/templates")
    box = config.mailbox("sales")
    assert box.address == "alice@example.test"
    assert box.imap.security == "ssl" and box.imap.tls_verify is True
    assert box.smtp.tls_verify is False
    assert box.smtp.password_file == tmp_path.resolve() / "secrets" / "smtp"
    assert box.folders.sent == "Sent Items"
    assert box.approvers == ("alice@example.test", "bob@example.test")


def test_defaults_when_keys_are_absent(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "mailboxes: []\n"), environ={})
    assert config.database == f"sqlite:///{tmp_path.resolve() / 'dunbot.db'}"
    assert config.timezone == "UTC"
    assert config.rules == DEFAULT_RULES_DIR
    assert config.templates == DEFAULT_TEMPLATES_DIR
    assert config.mailboxes == ()


def test_empty_file_is_all_defaults(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, ""), environ={}).timezone == "UTC"


def test_database_env_override(tmp_path: Path) -> None:
    url = "postgresql+psycopg://dunbot@127.0.0.1:5432/dunbot"
    config = load_config(write(tmp_path, FULL), environ={"DUNBOT_DATABASE": url})
    assert config.database == url


def test_approvers_default_to_the_mailbox_address(tmp_path: Path) -> None:
    text = FULL.replace("    approvers: [alice@example.test, bob@example.test]\n", "")
    assert load_config(write(tmp_path, text), environ={}).mailboxes[0].approvers == (
        "alice@example.test",
    )


def test_missing_file_says_run_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="dunbot init"):
        load_config(tmp_path / "nope.yaml")


def test_unknown_key_names_key_and_line(tmp_path: Path) -> None:
    text = FULL.replace("      tls_verify: false\n", "      tls_verfy: false\n")
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), environ={})
    assert info.value.key == "mailboxes.0.smtp.tls_verfy"
    assert info.value.line == 13
    assert str(info.value).startswith(
        f"{tmp_path / 'dunbot.yaml'}:13: mailboxes.0.smtp.tls_verfy: unknown key"
    )


def test_bad_port_names_key_and_line(tmp_path: Path) -> None:
    text = FULL.replace("      port: 587\n", "      port: lots\n")
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), environ={})
    assert (info.value.key, info.value.line) == ("mailboxes.0.smtp.port", 11)


def test_bad_security_and_timezone(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="security"):
        load_config(
            write(tmp_path, FULL.replace("security: starttls", "security: tls")), environ={}
        )
    with pytest.raises(ConfigError, match=r":2: timezone: .*not a time zone"):
        load_config(write(tmp_path, FULL.replace("Asia/Shanghai", "Asia/Atlantis")), environ={})


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "timezone: UTC\nmailboxes: [\n  - oops: {\n"), environ={})
    assert info.value.line is not None and info.value.line >= 2
    assert "YAML" in str(info.value)


def test_literal_password_is_rejected_with_the_fix(tmp_path: Path) -> None:
    text = FULL.replace("password_env: T_IMAP_PW", "password: hunter2")
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), environ={})
    assert info.value.line == 8
    assert "password_env" in str(info.value) and "password_file" in str(info.value)
    assert "hunter2" not in str(info.value)


def test_username_needs_a_password_source(tmp_path: Path) -> None:
    text = FULL.replace(", password_env: T_IMAP_PW", "")
    with pytest.raises(ConfigError, match="password_env or password_file"):
        load_config(write(tmp_path, text), environ={})


def test_duplicate_mailbox_names(tmp_path: Path) -> None:
    text = FULL + FULL.split("mailboxes:\n", 1)[1]
    with pytest.raises(ConfigError, match="repeated: sales"):
        load_config(write(tmp_path, text), environ={})


def test_password_from_env_is_read_lazily(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("T_IMAP_PW", raising=False)
    imap = load_config(write(tmp_path, FULL), environ={}).mailboxes[0].imap
    with pytest.raises(ConfigError, match="T_IMAP_PW"):
        imap.password()
    monkeypatch.setenv("T_IMAP_PW", "s3cret")
    assert imap.password() == "s3cret"


def test_password_from_file(tmp_path: Path) -> None:
    smtp = load_config(write(tmp_path, FULL), environ={}).mailboxes[0].smtp
    with pytest.raises(ConfigError, match=r"secrets/smtp.*cannot read"):
        smtp.password()
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "smtp").write_text("pa ss\n", encoding="utf-8")
    assert smtp.password() == "pa ss"


def test_models_are_frozen_and_keyword_built() -> None:
    server = ServerConfig(host="127.0.0.1", port=143, security="none")
    with pytest.raises(ValidationError, match="frozen"):
        server.port = 25
    assert Config().mailboxes == ()


def test_unknown_mailbox_lists_known(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="known: sales"):
        load_config(write(tmp_path, FULL), environ={}).mailbox("support")
