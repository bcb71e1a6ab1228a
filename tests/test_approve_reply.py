"""Answering drafts: `dunbot queue approve/reject/snooze`, and approval by email reply
(forgeries refused), end to end on the real mail stack."""

from __future__ import annotations

import dataclasses
import email
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.adapters.rulefiles import read_rules_dir
from bot.adapters.store import SqlOutbox, SqlStore
from bot.cli import app
from bot.config import MailboxConfig, ServerConfig
from bot.core.mime import parse_message
from bot.core.model import Draft, DraftStatus, OrderStatus, ParsedMessage
from bot.core.reply import extract_reply
from bot.core.understand import UnderstandingRules
from bot.paths import DEFAULT_RULES_DIR
from bot.ports import Delivered, OutboxState
from bot.services.approval_mail import answer_by_mail, approval_request
from bot.services.approve import Outcome
from bot.services.outbox import send_due
from tests.fixtures.mail import PASSWORD_ENV, MailStack, MailUser
from tests.test_outbox import (
    add_order,
    customer,
    imap_for,
    mailbox_config,
    make_draft,
    settle,
    smtp_for,
)

KEY = b"test approval key, 32 bytes long"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ALICE = "alice@supplier.test"
MALLORY = "mallory@evil.test"
QUOTES = UnderstandingRules.from_docs(read_rules_dir(DEFAULT_RULES_DIR)).quotes


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    sql_store = SqlStore.open(f"sqlite:///{tmp_path / 'dunbot.db'}")
    yield sql_store
    sql_store.close()


def offline_mailbox() -> MailboxConfig:
    server = ServerConfig(host="127.0.0.1", port=1, security="none")
    return MailboxConfig(
        name="sales", address="sales@supplier.test", imap=server, smtp=server, approvers=(ALICE,)
    )


def pending(store: SqlStore, order_id: str = "PO-1", n: int = 0) -> Draft:
    order = add_order(store, order_id, customer())
    draft = make_draft(order, n=n)
    assert store.add_draft(draft)
    return draft


def reply_to(request: bytes, sender: str, text: str, **headers: str) -> ParsedMessage:
    """What a mail client makes of "Reply": To = the Reply-To, Re: subject, quoted original."""
    original = email.message_from_bytes(request)
    body = original.get_payload(decode=True)
    assert isinstance(body, bytes)
    quoted = "\n".join(f"> {line}" for line in body.decode().splitlines())
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = str(original["Reply-To"])
    msg["Subject"] = f"Re: {original['Subject']}"
    msg["Message-ID"] = make_msgid(domain="supplier.test")
    msg["In-Reply-To"] = str(original["Message-ID"])
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(f"{text}\n\nOn Monday, dunbot wrote:\n{quoted}\n")
    return parse_message(msg.as_bytes())


def answer(
    store: SqlStore,
    message: ParsedMessage,
    *,
    now: datetime = NOW,
    authserv: str | None = None,
    mailbox: MailboxConfig | None = None,
) -> Outcome:
    result = answer_by_mail(
        store,
        SqlOutbox(store),
        mailbox or offline_mailbox(),
        message,
        key=KEY,
        now=now,
        reply_text=extract_reply(message.text, QUOTES),
        authserv_id=authserv,
    )
    return result.outcome


def request_for(
    draft: Draft, approver: str = ALICE, *, ttl: timedelta = timedelta(days=7)
) -> bytes:
    return approval_request(draft, offline_mailbox(), approver, KEY, now=NOW, ttl=ttl)


# ---- by email (no servers: the parsing, the tokens and the store) --------------------------


def test_request_is_auto_submitted_and_carries_the_token_twice(store: SqlStore) -> None:
    raw = request_for(pending(store))
    msg = email.message_from_bytes(raw)
    assert msg["Auto-Submitted"] == "auto-generated"
    assert str(msg["Reply-To"]).startswith("sales+a-")
    assert str(msg["Subject"]).startswith("[dunbot:")
    token = str(msg["Reply-To"]).split("+a-")[1].split("@")[0]
    assert token in str(msg["Subject"])


@pytest.mark.parametrize("word", ["approve", "OK", "好的", "同意", "senden"])
def test_an_approvers_reply_queues_the_draft_once(store: SqlStore, word: str) -> None:
    draft = pending(store)
    reply = reply_to(request_for(draft), ALICE, word)
    assert answer(store, reply) is Outcome.QUEUED
    assert answer(store, reply) is Outcome.REFUSED  # the same reply again: used
    items = SqlOutbox(store).items()
    assert [i.draft_id for i in items] == [draft.draft_id] and items[0].state is OutboxState.QUEUED
    assert store.get_draft(draft.draft_id).status is DraftStatus.APPROVED


def test_forged_approvals_send_nothing(store: SqlStore) -> None:
    draft = pending(store)
    request = request_for(draft)
    assert answer(store, reply_to(request, MALLORY, "approve")) is Outcome.REFUSED
    mallory_token = reply_to(request_for(draft, MALLORY), MALLORY, "approve")
    assert answer(store, mallory_token) is Outcome.REFUSED  # minted for a non-approver
    for_bob = approval_request(draft, offline_mailbox(), "bob@supplier.test", KEY, now=NOW)
    assert answer(store, reply_to(for_bob, ALICE, "approve")) is Outcome.REFUSED  # someone else's
    expired = reply_to(request_for(draft, ttl=timedelta(hours=1)), ALICE, "approve")
    assert answer(store, expired, now=NOW + timedelta(hours=2)) is Outcome.REFUSED
    assert SqlOutbox(store).items() == []
    assert store.get_draft(draft.draft_id).status is DraftStatus.PENDING
    events = [e.event for e in store.audit_log()]
    assert events.count("approval.rejected") == 4


def test_a_tampered_token_is_refused(store: SqlStore) -> None:
    draft = pending(store)
    good = reply_to(request_for(draft), ALICE, "approve")
    token = next(a.email for a in good.to).split("+a-")[1].split("@")[0]
    flipped = token[:-1] + ("a" if token[-1] != "a" else "b")
    forged = dataclasses.replace(
        good,
        to=(dataclasses.replace(good.to[0], email=f"sales+a-{flipped}@supplier.test"),),
        subject="Re: approve",
    )
    assert answer(store, forged) is Outcome.REFUSED
    assert SqlOutbox(store).items() == []


def test_a_changed_draft_invalidates_its_token(store: SqlStore) -> None:
    draft = pending(store)
    stale = request_for(dataclasses.replace(draft, body="an older text\n"))
    assert answer(store, reply_to(stale, ALICE, "approve")) is Outcome.REFUSED
    assert SqlOutbox(store).items() == []


def test_trusted_authentication_results_must_pass(store: SqlStore) -> None:
    draft = pending(store)
    request = request_for(draft)
    fail = "mx.supplier.test; dmarc=fail header.from=supplier.test"
    spoofed_elsewhere = "evil.example; dmarc=pass header.from=supplier.test"
    for header in (fail, spoofed_elsewhere):
        msg = reply_to(request, ALICE, "approve", Authentication_Results=header)
        assert answer(store, msg, authserv="mx.supplier.test") is Outcome.REFUSED
    assert SqlOutbox(store).items() == []
    good = reply_to(
        request,
        ALICE,
        "approve",
        Authentication_Results="mx.supplier.test; dkim=pass header.d=supplier.test",
    )
    assert answer(store, good, authserv="mx.supplier.test") is Outcome.QUEUED


def test_auto_submitted_replies_are_ignored(store: SqlStore) -> None:
    draft = pending(store)
    robot = reply_to(request_for(draft), ALICE, "approve", Auto_Submitted="auto-replied")
    assert answer(store, robot) is Outcome.IGNORED
    assert SqlOutbox(store).items() == []


def test_skip_snooze_paid_stop_by_reply(store: SqlStore) -> None:
    drafts = [pending(store, f"PO-{n}", n) for n in range(4)]
    outcomes = [
        answer(store, reply_to(request_for(d), ALICE, word))
        for d, word in zip(drafts, ["skip", "snooze 3d", "paid", "stop"], strict=True)
    ]
    assert outcomes == [Outcome.REJECTED, Outcome.SNOOZED, Outcome.PAID, Outcome.STOPPED]
    assert store.get_draft(drafts[0].draft_id).status is DraftStatus.REJECTED
    assert store.get_draft(drafts[1].draft_id).status is DraftStatus.SNOOZED
    assert store.next_due("PO-1") == NOW + timedelta(days=3)
    assert store.get_order("PO-2").status is OrderStatus.PAID
    assert store.get_order("PO-3").status is OrderStatus.PAUSED
    assert SqlOutbox(store).items() == []


def test_edit_replaces_the_body_unless_it_names_another_customer(store: SqlStore) -> None:
    other = add_order(store, "SO-7788", customer())
    draft = pending(store, "PO-4711")
    bad = "--- edit below ---\nDear buyer, about order SO-7788 ...\n--- end ---"
    assert answer(store, reply_to(request_for(draft), ALICE, bad)) is Outcome.REFUSED
    assert store.get_draft(draft.draft_id).status is DraftStatus.PENDING
    good = "--- edit below ---\nDear buyer,\nwe keep the slot for PO-4711 until Friday.\n\nBest regards,\nAlice\n--- end ---"
    assert answer(store, reply_to(request_for(draft), ALICE, good)) is Outcome.QUEUED
    raw = SqlOutbox(store).items()[0].raw
    body = email.message_from_bytes(raw).get_payload(decode=True)
    assert isinstance(body, bytes)
    text = body.decode().replace("\r\n", "\n")
    assert (
        text == "Dear buyer,\nwe keep the slot for PO-4711 until Friday.\n\nBest regards,\nAlice\n"
    )
    assert other.order_id not in text


# ---- the command line ----------------------------------------------------------------------


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "dunbot.yaml"
    path.write_text(
        f"database: sqlite:///{tmp_path / 'dunbot.db'}\n"
        "mailboxes:\n"
        "  - name: sales\n"
        "    address: sales@supplier.test\n"
        "    imap: {host: 127.0.0.1, port: 1, security: none}\n"
        "    smtp: {host: 127.0.0.1, port: 1, security: none}\n",
        encoding="utf-8",
    )
    return path


def test_queue_approve_reject_snooze_commands(tmp_path: Path, store: SqlStore) -> None:
    config = write_config(tmp_path)
    a, b, c = (pending(store, f"PO-{n}", n) for n in range(3))
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, ["--config", str(config), "queue", *args])
        return result.exit_code, result.output

    assert run("approve", a.draft_id) == (0, f"{a.draft_id} approved; sent at the next sync\n")
    code, out = run("approve", a.draft_id)
    assert code == 0 and "approved before" in out
    assert run("reject", b.draft_id)[0] == 0
    code, out = run("approve", b.draft_id)
    assert code == 2 and "rejected, not waiting" in out
    assert run("snooze", c.draft_id, "2w")[0] == 0
    code, out = run("snooze", c.draft_id, "soon")
    assert code == 2 and "not a duration" in out
    code, out = run("approve", "no-such-draft")
    assert code == 2 and "no draft" in out
    edit = tmp_path / "edit.txt"
    edit.write_text("Dear buyer, a new text.", encoding="utf-8")
    assert (
        run("approve", c.draft_id, "--edit", str(edit))[0] == 0
    )  # a snoozed draft can be approved
    items = SqlOutbox(store).items()
    assert [i.draft_id for i in items] == [a.draft_id, c.draft_id]
    assert b"Dear buyer, a new text." in items[1].raw
    assert store.get_draft(b.draft_id).status is DraftStatus.REJECTED


# ---- end to end on Postfix + Dovecot -------------------------------------------------------


def fetch_one(stack: MailStack, user: MailUser, subject_part: str, timeout: float = 15) -> bytes:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        client = stack.imap(user)
        try:
            client.select_folder("INBOX", readonly=True)
            uids = client.search(["SUBJECT", subject_part])
            if uids:
                return bytes(client.fetch(uids[-1:], ["BODY.PEEK[]"])[uids[-1]][b"BODY[]"])
        finally:
            client.logout()
        time.sleep(0.2)
    raise AssertionError(f"no mail with {subject_part!r} in {user.address}'s INBOX")


@pytest.fixture
def env_password(mail_user: MailUser, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, mail_user.password)


def test_approval_by_reply_over_real_mail_sends_once(
    mailstack: MailStack, mail_user: MailUser, store: SqlStore, env_password: None
) -> None:
    approver = mailstack.add_user()
    mailbox = mailbox_config(mailstack, mail_user).model_copy(
        update={"approvers": (approver.address,)}
    )
    buyer = customer()
    draft = make_draft(add_order(store, "PO-5150", buyer))
    assert store.add_draft(draft)
    sender = smtp_for(mailstack, mail_user)
    request = approval_request(draft, mailbox, approver.address, KEY, now=datetime.now(UTC))
    delivered = sender.send_sync(request, sender=mail_user.address, recipients=[approver.address])
    assert isinstance(delivered, Delivered), delivered
    got = fetch_one(mailstack, approver, "dunbot:")
    reply_to_address = str(email.message_from_bytes(got)["Reply-To"])
    mailstack.deliver(
        reply_bytes(got, approver.address, "同意"), [reply_to_address], sender=approver.address
    )
    landed = parse_message(fetch_one(mailstack, mail_user, "Re: [dunbot:"))
    assert landed.to[0].email.startswith(mail_user.name + "+a-")
    outbox = SqlOutbox(store)
    result = answer_by_mail(
        store,
        outbox,
        mailbox,
        landed,
        key=KEY,
        now=datetime.now(UTC),
        reply_text=extract_reply(landed.text, QUOTES),
    )
    assert result.outcome is Outcome.QUEUED, result
    with imap_for(mailstack, mail_user) as imap:
        report = send_due(outbox, mailbox, sender, imap, now=datetime.now(UTC), owner="e2e")
    assert report.sent == [draft.message_id]
    assert settle(mailstack, draft.message_id, buyer) == 1
    again = answer_by_mail(
        store,
        outbox,
        mailbox,
        landed,
        key=KEY,
        now=datetime.now(UTC),
        reply_text=extract_reply(landed.text, QUOTES),
    )
    assert again.outcome is Outcome.REFUSED
    with imap_for(mailstack, mail_user) as imap:
        assert (
            send_due(outbox, mailbox, sender, imap, now=datetime.now(UTC), owner="e2e").sent == []
        )
    assert settle(mailstack, draft.message_id, buyer) == 1


def reply_bytes(request: bytes, sender: str, text: str) -> bytes:
    original = email.message_from_bytes(request)
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = str(original["Reply-To"])
    msg["Subject"] = f"Re: {original['Subject']}"
    msg["Message-ID"] = make_msgid(domain="example.test")
    msg["In-Reply-To"] = str(original["Message-ID"])
    msg.set_content(f"{text}\n")
    return msg.as_bytes()
