"""Unattended sending (`mode: send`), its guards and the daily cap, and "look again" before
sending: the pure decisions, then on real Dovecot + Postfix through `dunbot sync --once`."""

from __future__ import annotations

import email.utils
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path

import pytest

from bot.config import MailboxConfig, ServerConfig
from bot.core.mime import parse_message
from bot.core.model import (
    Direction,
    Draft,
    DraftStatus,
    Intent,
    Kind,
    Order,
    OrderStatus,
    Understanding,
)
from bot.ports import MessageRecord
from bot.services.guards import is_dunbot_mail, news_since, unattended_block
from tests.fixtures.mail import MailStack
from tests.test_loop_e2e import (
    copies_for,
    delivered_to,
    forged,
    make_world,
    requests_to,
    silent_for_a_week,
    wait_count,
    wait_delivered,
)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
BUYER = "bob@buyer.test"
ORDER = Order("PO-7", BUYER, "Bob Buyer", Decimal(100), "USD", None)


def record(
    message_id: str,
    at: datetime,
    *,
    direction: Direction = Direction.IN,
    intent: Intent = Intent.OTHER,
    kind: Kind = Kind.HUMAN,
) -> MessageRecord:
    understanding = (
        Understanding(kind=kind, intent=intent, language="en", date=None, order=None, reply_text="hi")
        if direction is Direction.IN
        else None
    )
    return MessageRecord(
        mailbox="sales",
        folder="INBOX" if direction is Direction.IN else "Sent",
        uid=1,
        message_id=message_id,
        direction=direction,
        subject="Re: PO-7",
        sender=BUYER if direction is Direction.IN else "alice@supplier.test",
        recipients=(),
        date=at,
        in_reply_to=None,
        references=(),
        text="hi",
        order_id="PO-7",
        match_reason="thread",
        understanding=understanding,
    )


def draft(in_reply_to: str = "pi@supplier.test", mode: str = "send") -> Draft:
    return Draft(
        draft_id="d1",
        mailbox="sales",
        order_ids=("PO-7",),
        customer_email=BUYER,
        to=(BUYER,),
        cc=(),
        subject="Re: PO-7",
        body="Dear Bob",
        message_id="d1@supplier.test",
        in_reply_to=in_reply_to,
        references=(in_reply_to,),
        rule_id="friendly-check-in",
        template="friendly-check-in",
        language="en",
        mode=mode,
        reason="silent",
        created_at=T0 + timedelta(days=7),
        due_at=T0 + timedelta(days=7),
    )


PI = record("pi@supplier.test", T0, direction=Direction.OUT)


# ---- the pure decisions -----------------------------------------------------------------------


def test_a_plain_silent_thread_may_go_unattended() -> None:
    assert unattended_block(draft(), [PI]) is None


@pytest.mark.parametrize("intent", [Intent.DISPUTE, Intent.CANCEL, Intent.COMPETITOR])
def test_never_unattended_after_a_dispute_cancel_or_competitor(intent: Intent) -> None:
    said = record("r1@buyer.test", T0 + timedelta(days=1), intent=intent)
    why = unattended_block(draft("r1@buyer.test"), [PI, said])
    assert why is not None and intent.value in why


def test_never_unattended_for_an_unmatched_thread_or_no_conversation() -> None:
    assert unattended_block(draft("elsewhere@x.test"), [PI]) is not None
    assert unattended_block(draft(), []) is not None


def test_never_unattended_as_an_answer_to_an_auto_reply() -> None:
    away = record("ooo@buyer.test", T0 + timedelta(days=1), kind=Kind.AUTO_REPLY, intent=Intent.ABSENT)
    assert unattended_block(draft("ooo@buyer.test"), [PI, away]) is not None


def test_look_again_finds_a_reply_a_payment_or_the_salespersons_own_mail() -> None:
    d = draft()
    assert news_since(d, [ORDER], {"PO-7": [PI]}) is None
    later = T0 + timedelta(days=8)
    answered = news_since(d, [ORDER], {"PO-7": [PI, record("r@buyer.test", later)]})
    assert answered is not None and BUYER in answered
    wrote = record("own@supplier.test", later, direction=Direction.OUT)
    assert "wrote to the customer" in (news_since(d, [ORDER], {"PO-7": [PI, wrote]}) or "")
    paid = replace(ORDER, status=OrderStatus.PAID)
    assert "paid" in (news_since(d, [paid], {"PO-7": [PI]}) or "")
    # the draft's own copy (Sent, or the journal copy in INBOX) is not news
    own = record("d1@supplier.test", later, direction=Direction.OUT)
    assert news_since(d, [ORDER], {"PO-7": [PI, own]}) is None


def test_dunbot_mail_is_told_apart_from_customer_mail() -> None:
    server = ServerConfig(host="127.0.0.1", port=1, security="none")
    mailbox = MailboxConfig(name="sales", address="alice@supplier.test", imap=server, smtp=server)

    def parsed(sender: str, to: str, subject: str, **headers: str) -> bool:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = sender, to, subject
        msg["Message-ID"] = email.utils.make_msgid()
        for name, value in headers.items():
            msg[name.replace("_", "-")] = value
        msg.set_content("approve\n")
        return is_dunbot_mail(parse_message(msg.as_bytes()), mailbox)

    token = "abc123-" + "a" * 26
    assert parsed("boss@supplier.test", f"alice+a-{token}@supplier.test", "Re: hi")
    assert parsed("boss@supplier.test", "alice@supplier.test", f"Re: [dunbot:{token}] Approve")
    assert parsed("alice@supplier.test", "alice@supplier.test", "notice", Auto_Submitted="auto-generated")
    assert not parsed(BUYER, "alice@supplier.test", "Re: PO-7 payment")
    assert not parsed("alice@supplier.test", BUYER, "PO-7")  # her own mail to a customer


# ---- on the real servers ----------------------------------------------------------------------


def monday_after(start: datetime) -> datetime:
    at = start + timedelta(days=8)
    return at + timedelta(days=-at.weekday() % 7)


def test_mode_send_goes_out_without_approval_once(mailstack: MailStack, tmp_path: Path) -> None:
    world = make_world(mailstack, tmp_path, mode="send")
    at = monday_after(world.start)
    out = world.sync(at)
    assert "1 unattended" in out, out
    got = wait_delivered(mailstack, world.customer, 1)
    assert len(got) == 1 and got[0]["In-Reply-To"] == f"<{world.thread_id}>"
    assert got[0]["Auto-Submitted"] is None
    world.sync(at + timedelta(hours=1))
    assert len(delivered_to(mailstack, world.customer)) == 1
    assert mailstack.count(world.approver, "INBOX") == 0  # nobody was asked
    assert [d.mode for d in world.drafts(DraftStatus.SENT)] == ["send"]


def test_the_daily_cap_turns_unattended_into_a_request(mailstack: MailStack, tmp_path: Path) -> None:
    world = make_world(mailstack, tmp_path, mode="send", mailbox_extra="    daily_send_cap: 0")
    at = monday_after(world.start)
    out = world.sync(at)
    assert "0 unattended" in out and "1 approval request" in out, out
    assert wait_count(mailstack, world.approver, "INBOX", 1) == 1
    assert "daily cap" in requests_to(world)[0].get_content()
    assert delivered_to(mailstack, world.customer) == []


def test_an_approved_draft_is_held_when_the_customer_answers_first(
    mailstack: MailStack, tmp_path: Path
) -> None:
    world = make_world(mailstack, tmp_path)
    at, pending = silent_for_a_week(world)
    approval = forged(world, world.approver.address)  # a valid answer, straight over SMTP
    mailstack.deliver(approval, [world.sales.address], sender=world.approver.address)
    reply = EmailMessage()  # ... and the customer writes before dunbot's next pass
    reply["From"] = world.customer
    reply["To"] = world.sales.address
    reply["Subject"] = f"Re: Proforma invoice {world.order_id}"
    reply["Date"] = email.utils.format_datetime(datetime.now(UTC))
    reply["Message-ID"] = email.utils.make_msgid(domain="customer.invalid")
    reply["In-Reply-To"] = f"<{world.thread_id}>"
    reply.set_content("Hi Alice, we are checking with our bank, one moment please.\nBob\n")
    mailstack.deliver(reply, [world.sales.address], sender=world.customer)
    wait_count(mailstack, world.sales, "INBOX", 2)
    out = world.sync(at + timedelta(hours=1))
    assert "1 held" in out, out
    store = world.store()
    try:
        assert store.get_draft(pending.draft_id).status is DraftStatus.SUPERSEDED
    finally:
        store.close()
    # the request, the notice, and what the planner makes of the reply (an alert or a draft)
    assert wait_count(mailstack, world.approver, "INBOX", 3) >= 2
    assert delivered_to(mailstack, world.customer) == []
    notices = copies_for(mailstack, world.approver, "INBOX", "SUBJECT", "held")
    assert len(notices) == 1 and world.customer in notices[0].get_content()
    assert notices[0]["Auto-Submitted"] == "auto-generated"


def test_an_unclear_reply_alerts_the_salesperson_once(mailstack: MailStack, tmp_path: Path) -> None:
    world = make_world(mailstack, tmp_path)
    reply = EmailMessage()
    reply["From"] = world.customer
    reply["To"] = world.sales.address
    reply["Subject"] = f"Re: Proforma invoice {world.order_id}"
    reply["Date"] = email.utils.format_datetime(datetime.now(UTC))
    reply["Message-ID"] = email.utils.make_msgid(domain="customer.invalid")
    reply["In-Reply-To"] = f"<{world.thread_id}>"
    reply.set_content("Hi Alice, the weather in Hamburg is lovely today.\nBob\n")
    mailstack.deliver(reply, [world.sales.address], sender=world.customer)
    wait_count(mailstack, world.sales, "INBOX", 1)
    at = monday_after(world.start)
    out = world.sync(at)
    assert "1 alert(s)" in out, out
    world.sync(at + timedelta(hours=1))
    assert wait_count(mailstack, world.approver, "INBOX", 1) == 1
    alerts = copies_for(mailstack, world.approver, "INBOX", "SUBJECT", "dunbot alert")
    assert len(alerts) == 1 and world.order_id in alerts[0].get_content()
    assert alerts[0]["Auto-Submitted"] == "auto-generated"
    assert delivered_to(mailstack, world.customer) == []
