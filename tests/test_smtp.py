"""SmtpSender against the real Postfix of the mail stack (STARTTLS, implicit TLS, AUTH)."""

from __future__ import annotations

import asyncio
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

from bot.adapters.smtp import (
    Delivered,
    PermanentFailure,
    Security,
    SmtpSender,
    SmtpSettings,
    TemporaryFailure,
)
from tests.fixtures.mail import MailStack, MailUser

OUTSIDE = "buyer@customer.invalid"  # not the local domain: lands in the sink, Delivered-To kept


def message(sender: str, to: str) -> tuple[bytes, str]:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, "PO-7 reminder"
    msg_id = make_msgid(domain="dunbot.test")
    msg["Message-ID"] = msg_id
    msg.set_content("A friendly reminder.\n")
    return msg.as_bytes(), msg_id.strip("<>")


def settings(stack: MailStack, user: MailUser, security: Security, **kw: object) -> SmtpSettings:
    port = int(stack.env["SMTPS_PORT"]) if security == "ssl" else stack.smtp_port
    base: dict[str, object] = {
        "name": "sales",
        "host": "127.0.0.1",
        "port": port,
        "security": security,
        "username": user.address,
        "password": user.password,
        "ca_file": Path(stack.env["MAIL_CA_CERT"]),
        "timeout": 15.0,
    }
    return SmtpSettings(**{**base, **kw})  # type: ignore[arg-type]


def sink_count(stack: MailStack, message_id: str, recipient: str, timeout: float = 10.0) -> int:
    """Copies in the sink for this recipient and Message-ID, waiting up to `timeout` for one."""
    sink = MailUser(stack.env["SINK_USER"], stack.env["SINK_PASSWORD"])
    deadline = time.monotonic() + timeout
    while True:
        client = stack.imap(sink)
        try:
            client.select_folder("INBOX", readonly=True)
            found = client.search(
                ["HEADER", "Delivered-To", recipient, "HEADER", "Message-ID", f"<{message_id}>"]
            )
        finally:
            client.logout()
        if found or time.monotonic() > deadline:
            return len(found)
        time.sleep(0.2)


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_delivers_over_tls_with_auth(
    mailstack: MailStack, mail_user: MailUser, security: Security
) -> None:
    raw, msg_id = message(mail_user.address, OUTSIDE)
    sender = SmtpSender(settings(mailstack, mail_user, security))
    result = sender.send_sync(raw, sender=mail_user.address, recipients=[OUTSIDE])
    assert isinstance(result, Delivered), result
    assert sink_count(mailstack, msg_id, OUTSIDE) == 1


def test_untrusted_certificate_is_permanent_unless_verification_is_off(
    mailstack: MailStack, mail_user: MailUser
) -> None:
    raw, msg_id = message(mail_user.address, OUTSIDE)
    strict = SmtpSender(settings(mailstack, mail_user, "starttls", ca_file=None))
    result = strict.send_sync(raw, sender=mail_user.address, recipients=[OUTSIDE])
    assert isinstance(result, PermanentFailure) and "certificate" in result.reason, result
    lax = SmtpSender(settings(mailstack, mail_user, "ssl", ca_file=None, tls_verify=False))
    assert isinstance(lax.send_sync(raw, sender=mail_user.address, recipients=[OUTSIDE]), Delivered)
    assert sink_count(mailstack, msg_id, OUTSIDE) == 1


def test_wrong_password_and_relay_without_login_are_permanent(
    mailstack: MailStack, mail_user: MailUser
) -> None:
    raw, _ = message(mail_user.address, OUTSIDE)
    bad = SmtpSender(settings(mailstack, mail_user, "starttls", password="wrong"))
    result = bad.send_sync(raw, sender=mail_user.address, recipients=[OUTSIDE])
    assert isinstance(result, PermanentFailure) and result.code == 535, result
    anonymous = SmtpSender(settings(mailstack, mail_user, "none", username=None))
    result = anonymous.send_sync(raw, sender=mail_user.address, recipients=[OUTSIDE])
    assert isinstance(result, PermanentFailure) and result.code == 554, result


def test_unknown_local_recipient_is_permanent_and_partial_refusal_is_delivered(
    mailstack: MailStack, mail_user: MailUser
) -> None:
    raw, msg_id = message(mail_user.address, OUTSIDE)
    sender = SmtpSender(settings(mailstack, mail_user, "starttls"))
    nobody = f"nobody{secrets.token_hex(3)}@{mailstack.env['MAIL_DOMAIN']}"
    result = sender.send_sync(raw, sender=mail_user.address, recipients=[nobody])
    assert isinstance(result, PermanentFailure) and result.code == 550, result
    both = sender.send_sync(raw, sender=mail_user.address, recipients=[OUTSIDE, nobody])
    assert isinstance(both, Delivered) and [r for r, _ in both.refused] == [nobody], both
    assert sink_count(mailstack, msg_id, OUTSIDE) == 1


def test_nothing_listening_is_temporary(mail_user: MailUser) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connection refused
        plain = SmtpSettings(name="sales", host="127.0.0.1", port=port, security="none", timeout=5)
        result = SmtpSender(plain).send_sync(b"x", sender=mail_user.address, recipients=[OUTSIDE])
    assert isinstance(result, TemporaryFailure) and result.code is None, result


class GreylistServer:
    """A loopback SMTP server that answers MAIL FROM with 451 (greylisting), as many do."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn, conn.makefile("rwb") as f:
            f.write(b"220 grey ESMTP\r\n")
            f.flush()
            for line in f:
                verb = line[:4].upper()
                answer = {
                    b"EHLO": b"250 grey\r\n",
                    b"MAIL": b"451 4.7.1 greylisted, try again later\r\n",
                    b"QUIT": b"221 bye\r\n",
                }.get(verb, b"250 ok\r\n")
                f.write(answer)
                f.flush()
                if verb == b"QUIT":
                    return


@pytest.fixture
def greylist() -> Iterator[GreylistServer]:
    server = GreylistServer()
    server.thread.start()
    yield server
    server.sock.close()


def test_4xx_is_temporary(greylist: GreylistServer) -> None:
    plain = SmtpSettings(name="sales", host="127.0.0.1", port=greylist.port, security="none")
    result = SmtpSender(plain).send_sync(
        b"Subject: x\r\n\r\nx\r\n", sender="a@b.test", recipients=[OUTSIDE]
    )
    assert isinstance(result, TemporaryFailure) and result.code == 451, result


def test_send_sync_refuses_inside_a_running_loop(mail_user: MailUser) -> None:
    plain = SmtpSettings(name="sales", host="127.0.0.1", port=1, security="none")

    async def inside() -> None:
        with pytest.raises(RuntimeError):
            SmtpSender(plain).send_sync(b"x", sender=mail_user.address, recipients=[OUTSIDE])

    asyncio.run(inside())
