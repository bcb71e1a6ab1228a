"""The outbox on real Postfix + Dovecot: exactly once, in Sent, retries, failures, limits."""

from __future__ import annotations

import dataclasses
import email
import os
import secrets
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bot.adapters.imap import ImapMailbox, ImapSettings
from bot.adapters.smtp import SmtpSender, SmtpSettings
from bot.adapters.store import SqlOutbox, SqlStore
from bot.config import Folders, MailboxConfig, ServerConfig
from bot.core.model import Contact, Draft, DraftStatus, Order
from bot.ports import (
    Delivered,
    OutboxState,
    PermanentFailure,
    SendResult,
    TemporaryFailure,
)
from bot.services.outbox import OutboxPolicy, RecipientError, queue_draft, send_due
from tests.fixtures.mail import PASSWORD_ENV, MailStack, MailUser

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def mailbox_config(stack: MailStack, user: MailUser) -> MailboxConfig:
    def server(port: int) -> ServerConfig:
        return ServerConfig(
            host="127.0.0.1",
            port=port,
            security="none",
            username=user.address,
            password_env=PASSWORD_ENV,
        )

    return MailboxConfig(
        name="sales",
        address=user.address,
        imap=server(stack.imap_port),
        smtp=server(stack.smtp_port),
        folders=Folders(inbox="INBOX", sent="Sent"),
    )


def imap_for(stack: MailStack, user: MailUser) -> ImapMailbox:
    settings = ImapSettings(
        name="sales",
        host="127.0.0.1",
        port=stack.imap_port,
        security="none",
        username=user.address,
        password=user.password,
        timeout=15,
    )
    return ImapMailbox(settings)


def smtp_for(stack: MailStack, user: MailUser) -> SmtpSender:
    return SmtpSender(
        SmtpSettings(
            name="sales",
            host="127.0.0.1",
            port=stack.smtp_port,
            security="none",
            username=user.address,
            password=user.password,
            timeout=15,
        )
    )


def add_order(store: SqlStore, order_id: str, customer: str, *extra: str) -> Order:
    order = Order(
        order_id=order_id,
        customer_email=customer,
        customer_name="Buyer Ltd",
        amount=Decimal("1200.00"),
        currency="USD",
        due_date=NOW.date(),
        contacts=tuple(Contact(e) for e in extra),
    )
    store.upsert_orders([order])
    for address in extra:
        store.add_contact(customer, Contact(address))
    return order


def make_draft(order: Order, to: Sequence[str] = (), cc: Sequence[str] = (), n: int = 0) -> Draft:
    tag = secrets.token_hex(6)
    return Draft(
        draft_id=f"d-{tag}-{n}",
        mailbox="sales",
        order_ids=(order.order_id,),
        customer_email=order.customer_email,
        to=tuple(to) or (order.customer_email,),
        cc=tuple(cc),
        subject=f"Re: Order {order.order_id}",
        body="Dear buyer,\nthe production slot is reserved until Friday.\n\nAlice\n",
        message_id=f"{tag}.{n}@dunbot.test",
        in_reply_to="orig-1@customer.invalid",
        references=("orig-1@customer.invalid",),
        rule_id="friendly-check-in",
        template="check_in",
        language="en",
        mode="draft",
        reason="silent for 7 days",
        created_at=NOW,
        due_at=NOW,
    )


def customer() -> str:
    return f"buyer-{secrets.token_hex(4)}@customer.invalid"


def count_in(
    stack: MailStack, user: MailUser, folder: str, message_id: str, delivered_to: str | None = None
) -> int:
    criteria: list[str] = ["HEADER", "Message-ID", f"<{message_id}>"]
    if delivered_to:
        criteria += ["HEADER", "Delivered-To", delivered_to]
    client = stack.imap(user)
    try:
        client.select_folder(folder, readonly=True)
        return len(client.search(criteria))
    finally:
        client.logout()


def sink(stack: MailStack) -> MailUser:
    return MailUser(stack.env["SINK_USER"], stack.env["SINK_PASSWORD"])


def settle(
    stack: MailStack, message_id: str, recipient: str, *, want: int = 1, timeout: float = 10
) -> int:
    """Sink copies for this recipient, once `want` arrived or the time is up (plus a short wait
    for a copy too many to show up)."""
    deadline = time.monotonic() + timeout
    while (n := count_in(stack, sink(stack), "INBOX", message_id, recipient)) < want:
        if time.monotonic() > deadline:
            return n
        time.sleep(0.2)
    time.sleep(0.5)
    return count_in(stack, sink(stack), "INBOX", message_id, recipient)


@pytest.fixture
def env_password(mail_user: MailUser) -> Iterator[None]:
    old = os.environ.get(PASSWORD_ENV)
    os.environ[PASSWORD_ENV] = mail_user.password
    yield
    if old is None:
        os.environ.pop(PASSWORD_ENV, None)
    else:
        os.environ[PASSWORD_ENV] = old


@pytest.fixture
def sql_store(tmp_path: Path) -> Iterator[SqlStore]:
    store = SqlStore.open(f"sqlite:///{tmp_path / 'dunbot.db'}")
    yield store
    store.close()


def test_a_queued_draft_reaches_the_customer_once_and_sits_in_sent(
    mailstack: MailStack, mail_user: MailUser, sql_store: SqlStore, env_password: None
) -> None:
    cfg = mailbox_config(mailstack, mail_user)
    buyer, finance = customer(), customer()
    order = add_order(sql_store, "PO-100", buyer, finance)
    draft = make_draft(order, cc=[finance])
    assert sql_store.add_draft(draft)
    outbox = SqlOutbox(sql_store)
    assert queue_draft(outbox, draft, cfg, now=NOW)
    assert not queue_draft(outbox, draft, cfg, now=NOW)  # approved twice: queued once
    assert sql_store.get_draft(draft.draft_id).status is DraftStatus.APPROVED

    with imap_for(mailstack, mail_user) as imap:
        report = send_due(outbox, cfg, smtp_for(mailstack, mail_user), imap, now=NOW, owner="t1")
        again = send_due(
            outbox,
            cfg,
            smtp_for(mailstack, mail_user),
            imap,
            now=NOW + timedelta(hours=1),
            owner="t2",
        )
    assert report.sent == [draft.message_id] and not report.failed
    assert again.sent == [] and again.found == []
    for person in (buyer, finance):
        assert settle(mailstack, draft.message_id, person) == 1
    assert count_in(mailstack, mail_user, "Sent", draft.message_id) == 1
    assert sql_store.get_draft(draft.draft_id).status is DraftStatus.SENT
    assert [i.state for i in outbox.items()] == [OutboxState.SENT]


def test_customer_copy_threads_and_has_no_auto_submitted(
    mailstack: MailStack, mail_user: MailUser, sql_store: SqlStore, env_password: None
) -> None:
    cfg = mailbox_config(mailstack, mail_user)
    buyer = customer()
    draft = make_draft(add_order(sql_store, "PO-101", buyer))
    outbox = SqlOutbox(sql_store)
    edited = "Dear buyer,\nan edited text.\n"
    assert queue_draft(outbox, draft, cfg, now=NOW, body=edited)
    with imap_for(mailstack, mail_user) as imap:
        send_due(outbox, cfg, smtp_for(mailstack, mail_user), imap, now=NOW, owner="t")
    assert settle(mailstack, draft.message_id, buyer) == 1
    client = mailstack.imap(sink(mailstack))
    try:
        client.select_folder("INBOX", readonly=True)
        uid = client.search(["HEADER", "Message-ID", f"<{draft.message_id}>"])[0]
        raw = client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]
    finally:
        client.logout()
    msg = email.message_from_bytes(raw)
    assert msg["Auto-Submitted"] is None
    assert msg["In-Reply-To"] == "<orig-1@customer.invalid>"
    assert msg["From"] == mail_user.address and msg["Bcc"] is None
    payload = msg.get_payload(decode=True)
    assert isinstance(payload, bytes) and payload.decode().replace("\r\n", "\n") == edited


def test_a_recipient_who_is_not_the_orders_contact_is_refused(
    mailstack: MailStack, mail_user: MailUser, sql_store: SqlStore, env_password: None
) -> None:
    cfg = mailbox_config(mailstack, mail_user)
    buyer, stranger = customer(), customer()
    draft = make_draft(add_order(sql_store, "PO-102", buyer), cc=[stranger])
    assert sql_store.add_draft(draft)
    outbox = SqlOutbox(sql_store)
    with pytest.raises(RecipientError, match=stranger):
        queue_draft(outbox, draft, cfg, now=NOW)
    assert outbox.items() == []
    # allowed when the config names it as a CC
    allow = OutboxPolicy(allowed_cc=frozenset({stranger}))
    assert queue_draft(outbox, draft, cfg, now=NOW, policy=allow)
    # ... and checked again at sending time, where the default policy does not allow it
    with imap_for(mailstack, mail_user) as imap:
        report = send_due(outbox, cfg, smtp_for(mailstack, mail_user), imap, now=NOW, owner="t")
    assert report.sent == [] and stranger in report.failed[0][1]
    assert settle(mailstack, draft.message_id, buyer, timeout=1) == 0
    assert sql_store.get_draft(draft.draft_id).status is DraftStatus.HELD


def test_an_address_that_bounced_after_approval_gets_nothing(
    mailstack: MailStack, mail_user: MailUser, sql_store: SqlStore, env_password: None
) -> None:
    cfg = mailbox_config(mailstack, mail_user)
    buyer, finance = customer(), customer()
    draft = make_draft(add_order(sql_store, "PO-103", buyer, finance), cc=[finance])
    assert sql_store.add_draft(draft)
    outbox = SqlOutbox(sql_store)
    assert queue_draft(outbox, draft, cfg, now=NOW)  # approved while finance still worked
    assert sql_store.flag_bounced(buyer, finance, order_id="PO-103", bounced_at=NOW)
    with imap_for(mailstack, mail_user) as imap:
        report = send_due(outbox, cfg, smtp_for(mailstack, mail_user), imap, now=NOW, owner="t")
    assert report.sent == [] and "bounced" in report.failed[0][1]
    assert settle(mailstack, draft.message_id, buyer, timeout=1) == 0
    assert sql_store.get_draft(draft.draft_id).status is DraftStatus.HELD
    # and a draft to it is refused at approval too
    again = make_draft(sql_store.get_order("PO-103"), cc=[finance])
    assert sql_store.add_draft(again)
    with pytest.raises(RecipientError, match="bounced"):
        queue_draft(outbox, again, cfg, now=NOW)


@dataclasses.dataclass
class ScriptedSender:
    """A tiny real Sender whose answers are scripted, counting the calls."""

    answers: list[SendResult]
    calls: int = 0

    def send_sync(self, raw: bytes, *, sender: str, recipients: Sequence[str]) -> SendResult:
        self.calls += 1
        return self.answers.pop(0)


def test_4xx_retries_with_bounded_backoff_then_5xx_fails_and_is_audited(
    mailstack: MailStack, mail_user: MailUser, sql_store: SqlStore, env_password: None
) -> None:
    cfg = mailbox_config(mailstack, mail_user)
    draft = make_draft(add_order(sql_store, "PO-103", customer()))
    assert sql_store.add_draft(draft)
    outbox = SqlOutbox(sql_store)
    queue_draft(outbox, draft, cfg, now=NOW)
    grey = TemporaryFailure("451 4.7.1 greylisted", 451)
    sender = ScriptedSender([grey, grey, PermanentFailure("550 5.1.1 no such user", 550)])
    policy = OutboxPolicy(first_retry=timedelta(minutes=1), max_retry=timedelta(minutes=3))
    with imap_for(mailstack, mail_user) as imap:
        first = send_due(outbox, cfg, sender, imap, now=NOW, owner="t", policy=policy)
        queued = outbox.item(draft.draft_id)
        assert first.retrying and queued is not None
        assert queued.next_attempt_at == NOW + timedelta(minutes=1)
        early = send_due(
            outbox, cfg, sender, imap, now=NOW + timedelta(seconds=30), owner="t", policy=policy
        )
        assert sender.calls == 1 and not early.retrying  # not due yet
        send_due(
            outbox, cfg, sender, imap, now=NOW + timedelta(minutes=1), owner="t", policy=policy
        )
        item = outbox.item(draft.draft_id)
        assert item is not None and item.next_attempt_at == NOW + timedelta(
            minutes=3
        )  # 2 min, capped 3
        last = send_due(
            outbox, cfg, sender, imap, now=NOW + timedelta(minutes=3), owner="t", policy=policy
        )
    assert sender.calls == 3 and last.failed and "550" in last.failed[0][1]
    item = outbox.item(draft.draft_id)
    assert item is not None and item.state is OutboxState.FAILED and item.attempts == 3
    events = [e.event for e in sql_store.audit_log("PO-103")]
    assert events.count("outbox.retry") == 2 and "outbox.failed" in events
    assert sql_store.get_draft(draft.draft_id).status is DraftStatus.HELD


def test_temporary_failures_give_up_after_max_attempts(
    mailstack: MailStack, mail_user: MailUser, sql_store: SqlStore, env_password: None
) -> None:
    cfg = mailbox_config(mailstack, mail_user)
    draft = make_draft(add_order(sql_store, "PO-104", customer()))
    outbox = SqlOutbox(sql_store)
    queue_draft(outbox, draft, cfg, now=NOW)
    sender = ScriptedSender([TemporaryFailure("421 busy", 421)] * 3)
    policy = OutboxPolicy(max_attempts=3)
    with imap_for(mailstack, mail_user) as imap:
        for hour in range(3):
            send_due(
                outbox, cfg, sender, imap, now=NOW + timedelta(hours=hour), owner="t", policy=policy
            )
    item = outbox.item(draft.draft_id)
    assert (
        item is not None
        and item.state is OutboxState.FAILED
        and "gave up after 3" in item.last_error
    )


def test_rate_limit_per_mailbox(
    mailstack: MailStack, mail_user: MailUser, sql_store: SqlStore, env_password: None
) -> None:
    cfg = mailbox_config(mailstack, mail_user)
    order = add_order(sql_store, "PO-105", customer())
    outbox = SqlOutbox(sql_store)
    drafts = [make_draft(order, n=n) for n in range(3)]
    for d in drafts:
        queue_draft(outbox, d, cfg, now=NOW)
    sender = ScriptedSender([Delivered("250 ok")] * 3)
    policy = OutboxPolicy(per_window=2, window=timedelta(minutes=10))
    with imap_for(mailstack, mail_user) as imap:
        first = send_due(outbox, cfg, sender, imap, now=NOW, owner="t", policy=policy)
        held = send_due(
            outbox, cfg, sender, imap, now=NOW + timedelta(minutes=5), owner="t", policy=policy
        )
        later = send_due(
            outbox, cfg, sender, imap, now=NOW + timedelta(minutes=11), owner="t", policy=policy
        )
    assert len(first.sent) == 2 and first.rate_limited
    assert held.sent == [] and held.rate_limited
    assert len(later.sent) == 1 and sender.calls == 3


def test_a_claim_is_exclusive_until_its_lease_expires(store: SqlStore) -> None:
    """On SQLite and PostgreSQL: a second daemon gets nothing while the lease holds, then the
    row comes back marked `resumed` (its sender may have died mid-send)."""
    order = add_order(store, "PO-106", customer())
    draft = make_draft(order)
    outbox = SqlOutbox(store)
    cfg_address = "sales@example.test"
    cfg = MailboxConfig(
        name="sales",
        address=cfg_address,
        imap=ServerConfig(host="127.0.0.1", port=1, security="none"),
        smtp=ServerConfig(host="127.0.0.1", port=1, security="none"),
    )
    assert queue_draft(outbox, draft, cfg, now=NOW)
    lease = timedelta(seconds=60)
    first = outbox.claim("sales", owner="a", now=NOW, lease=lease)
    assert first is not None and not first.resumed and first.attempts == 1
    assert outbox.claim("sales", owner="b", now=NOW + timedelta(seconds=59), lease=lease) is None
    again = outbox.claim("sales", owner="b", now=NOW + timedelta(seconds=61), lease=lease)
    assert again is not None and again.resumed and again.attempts == 2
    assert not outbox.mark_sent(first.outbox_id, owner="a", now=NOW, note="late")  # lease lost
    assert outbox.mark_sent(again.outbox_id, owner="b", now=NOW, note="ok")
    assert outbox.claim("sales", owner="c", now=NOW + timedelta(days=1), lease=lease) is None


def test_concurrent_daemons_claim_each_row_once(store: SqlStore) -> None:
    """Four threads (four daemons) drain 40 rows: every row is claimed by exactly one of them
    (SKIP LOCKED on PostgreSQL, the conditional UPDATE on SQLite)."""
    import threading

    order = add_order(store, "PO-107", customer())
    outbox = SqlOutbox(store)
    cfg = MailboxConfig(
        name="sales",
        address="sales@example.test",
        imap=ServerConfig(host="127.0.0.1", port=1, security="none"),
        smtp=ServerConfig(host="127.0.0.1", port=1, security="none"),
    )
    for n in range(40):
        assert queue_draft(outbox, make_draft(order, n=n), cfg, now=NOW)
    claimed: dict[str, list[int]] = {}
    errors: list[Exception] = []

    def daemon(name: str) -> None:
        mine = claimed.setdefault(name, [])
        try:
            while (
                item := outbox.claim("sales", owner=name, now=NOW, lease=timedelta(minutes=5))
            ) is not None:
                mine.append(item.outbox_id)
                assert outbox.mark_sent(item.outbox_id, owner=name, now=NOW, note="test")
        except Exception as exc:  # noqa: BLE001  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=daemon, args=(f"d{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    ids = [i for got in claimed.values() for i in got]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 40
    assert {i.state for i in outbox.items()} == {OutboxState.SENT}
