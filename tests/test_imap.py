"""ImapMailbox against a real Dovecot on loopback: TLS modes, UIDs, PEEK, IDLE, errors, reconnects."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.adapters import imap
from bot.adapters.imap import Backoff, ImapMailbox, ImapSettings, Security
from bot.errors import MailboxError, MailboxLoginError, MailboxUnavailableError
from tests.fixtures.mail import MailStack, MailUser, free_port

FAST = Backoff(first=0.05, attempts=3)


def settings(stack: MailStack, user: MailUser, security: Security = "none", **kw: object) -> ImapSettings:
    port = int(stack.env["IMAPS_PORT"]) if security == "ssl" else stack.imap_port
    values: dict[str, object] = {
        "name": "sales", "host": "127.0.0.1", "port": port, "security": security,
        "username": user.address, "password": user.password, "timeout": 10.0, **kw,
    }
    return ImapSettings(**values)  # type: ignore[arg-type]


def raw(n: int) -> bytes:
    return f"From: bob@buyer.test\r\nTo: sales@example.test\r\nSubject: m{n}\r\nMessage-ID: <m{n}@buyer.test>\r\n\r\nbody {n}\r\n".encode()


@pytest.fixture
def box(mailstack: MailStack, mail_user: MailUser) -> Iterator[ImapMailbox]:
    with ImapMailbox(settings(mailstack, mail_user), backoff=FAST, fetch_batch=2) as mailbox:
        yield mailbox


@pytest.mark.parametrize(
    ("security", "tls"),
    [("none", {}), ("starttls", {"ca": True}), ("ssl", {"ca": True}), ("ssl", {"tls_verify": False})],
)
def test_connects_in_every_security_mode(
    mailstack: MailStack, mail_user: MailUser, security: Security, tls: dict[str, object]
) -> None:
    extra: dict[str, object] = {"tls_verify": tls.get("tls_verify", True)}
    if tls.get("ca"):
        extra["ca_file"] = Path(mailstack.env["MAIL_CA_CERT"])
    with ImapMailbox(settings(mailstack, mail_user, security, **extra)) as mailbox:
        assert mailbox.uidvalidity("INBOX") > 0


def test_an_untrusted_certificate_is_a_permanent_error_that_says_what_to_do(
    mailstack: MailStack, mail_user: MailUser
) -> None:
    with ImapMailbox(settings(mailstack, mail_user, "ssl"), backoff=FAST) as mailbox, pytest.raises(MailboxError) as err:
        mailbox.uidvalidity("INBOX")
    assert not err.value.temporary
    assert "mailbox 'sales'" in str(err.value) and "not trusted" in str(err.value) and "ca_file" in str(err.value)


def test_a_wrong_password_is_permanent_and_names_the_mailbox(mailstack: MailStack, mail_user: MailUser) -> None:
    wrong = MailUser(mail_user.address, "wrong-password")
    started = time.monotonic()
    with ImapMailbox(settings(mailstack, wrong), backoff=FAST) as mailbox, pytest.raises(MailboxLoginError) as err:
        mailbox.uidvalidity("INBOX")
    assert time.monotonic() - started < 5  # no retry loop on a refused login
    assert f"mailbox 'sales': login as '{mail_user.address}'" in str(err.value)
    assert "AUTHENTICATIONFAILED" in str(err.value)


def test_no_server_is_temporary_retried_with_backoff_then_given_up(caplog: pytest.LogCaptureFixture) -> None:
    dead = ImapSettings(name="sales", host="127.0.0.1", port=free_port(set()), security="none",
                        username="x", password="y", timeout=2.0)
    with (
        caplog.at_level(logging.WARNING, logger="bot.adapters.imap"),
        ImapMailbox(dead, backoff=FAST) as mailbox,
        pytest.raises(MailboxUnavailableError) as err,
    ):
        mailbox.uidvalidity("INBOX")
    assert err.value.temporary and "gave up after 3 tries" in str(err.value)
    assert len([r for r in caplog.records if "reconnecting in" in r.getMessage()]) == 2


def test_uids_after_handles_the_star_quirk_and_fetch_streams_in_order_without_marking_seen(
    box: ImapMailbox, mailstack: MailStack, mail_user: MailUser
) -> None:
    for n in range(1, 6):
        mailstack.append(mail_user, "INBOX", raw(n), flags=())
    box.uidvalidity("INBOX")
    assert box.uids_after("INBOX", 0) == [1, 2, 3, 4, 5]
    assert box.uids_after("INBOX", 3) == [4, 5]
    assert box.uids_after("INBOX", 5) == []  # "UID 6:*" matches UID 5: must not come back
    assert box.uids_after("INBOX", 99) == []
    fetched = list(box.fetch("INBOX", [5, 1, 3, 42]))  # 42 does not exist: skipped
    assert [(f.uid, f.raw) for f in fetched] == [(5, raw(5)), (1, raw(1)), (3, raw(3))]
    client = mailstack.imap(mail_user)
    try:
        client.select_folder("INBOX", readonly=True)
        assert client.search(["UNSEEN"]) == [1, 2, 3, 4, 5]
    finally:
        client.logout()


def test_fetch_splits_a_chunk_of_large_messages_by_size(
    box: ImapMailbox, mailstack: MailStack, mail_user: MailUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = [raw(n) + b"x" * 600_000 + b"\r\n" for n in range(1, 4)]
    for message in big:
        mailstack.append(mail_user, "INBOX", message, flags=())
    fetches: list[list[int]] = []
    real = ImapMailbox._fetch_chunk

    def counting(self: ImapMailbox, client: object, folder: str, chunk: list[int]) -> object:
        fetches.append(chunk)
        return real(self, client, folder, chunk)  # type: ignore[arg-type]

    monkeypatch.setattr(imap, "FETCH_BYTES", 1_000_000)
    monkeypatch.setattr(ImapMailbox, "_fetch_chunk", counting)
    box.uidvalidity("INBOX")
    fetched = list(box.fetch("INBOX", [1, 2, 3]))
    assert [f.raw for f in fetched] == big
    assert fetches == [[1], [2], [3]]  # fetch_batch=2, but two of them are over 1 MB


def test_by_size_keeps_order_and_sends_an_oversized_message_alone() -> None:
    sizes = {1: 10, 2: 10, 3: 100, 4: 5, 5: 5}
    assert list(imap._by_size([1, 2, 3, 4, 5], sizes, 25)) == [[1, 2], [3], [4, 5]]
    assert list(imap._by_size([1, 2], {}, 25)) == [[1, 2]]  # sizes unknown: one run


def test_uidvalidity_select_sees_mail_that_arrived_since_the_last_select(
    box: ImapMailbox, mailstack: MailStack, mail_user: MailUser
) -> None:
    box.uidvalidity("INBOX")
    assert box.uids_after("INBOX", 0) == []
    mailstack.append(mail_user, "INBOX", raw(1))
    box.uidvalidity("INBOX")
    assert box.uids_after("INBOX", 0) == [1]


@pytest.mark.parametrize("idle", [True, False])
def test_wait_for_news_wakes_on_delivery_and_times_out_otherwise(
    mailstack: MailStack, mail_user: MailUser, idle: bool
) -> None:
    with ImapMailbox(settings(mailstack, mail_user), idle=idle) as mailbox:
        mailbox.uidvalidity("INBOX")
        started = time.monotonic()
        assert mailbox.wait_for_news("INBOX", 1.5) is False
        assert 1.4 < time.monotonic() - started < 4
        timer = threading.Timer(0.5, lambda: mailstack.deliver(raw(1), [mail_user.address]))
        timer.start()
        started = time.monotonic()
        assert mailbox.wait_for_news("INBOX", 20) is True
        assert time.monotonic() - started < (3 if idle else 5)
        timer.join()


def test_setting_stop_ends_an_idle_early(box: ImapMailbox) -> None:
    box.uidvalidity("INBOX")
    threading.Timer(0.3, box.stop.set).start()
    started = time.monotonic()
    assert box.wait_for_news("INBOX", 30) is False
    assert time.monotonic() - started < 3


def test_search_message_id_and_append_for_the_sending_side(box: ImapMailbox) -> None:
    assert box.search_message_id("Sent", "m7@buyer.test") is False
    uid = box.append("Sent", raw(7))
    assert uid == 1  # Dovecot answers APPENDUID (RFC 4315)
    assert box.search_message_id("Sent", "<m7@buyer.test>") is True
    assert box.search_message_id("Sent", "m7@buyer") is False  # the whole id, not a substring


def test_a_missing_folder_is_a_permanent_error(box: ImapMailbox) -> None:
    with pytest.raises(MailboxError) as err:
        box.uidvalidity("NoSuchFolder")
    assert not err.value.temporary and "SELECT NoSuchFolder" in str(err.value)


def test_reconnects_after_a_dovecot_restart(private_mailstack: MailStack, caplog: pytest.LogCaptureFixture) -> None:
    stack = private_mailstack
    with ImapMailbox(settings(stack, stack.sales), backoff=Backoff(first=0.5, attempts=8)) as mailbox:
        first = mailbox.uidvalidity("INBOX")
        stack.stop()
        threading.Timer(1.0, stack.start).start()
        with caplog.at_level(logging.WARNING, logger="bot.adapters.imap"):
            assert mailbox.uidvalidity("INBOX") == first
        stack.append(stack.sales, "INBOX", raw(1))
        mailbox.uidvalidity("INBOX")
        assert [f.raw for f in mailbox.fetch("INBOX", mailbox.uids_after("INBOX", 0))] == [raw(1)]
    assert any("reconnecting in" in r.getMessage() for r in caplog.records)
