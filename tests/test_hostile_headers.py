"""Every email is hostile: what a customer writes never becomes a header or a recipient of ours.

Customer-controlled strings reach outgoing mail through the reply's Subject ("Re: ..."), its
In-Reply-To/References (the customer's Message-IDs), the order's fields and the customer's
name. Python before 3.11.10 (CVE-2024-6923) decodes an RFC 2047 word inside a header value it is
given and writes a CR LF from inside it out raw; a Message-ID such as
<=?utf-8?q?x=0D=0AReply-To:_evil@...?=> put a Reply-To of the attacker's choosing into our
follow-up. These tests send crafted inbound mail through parse -> threading -> draft -> the
bytes the customer and the approver get, and read those bytes back.
"""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.message import Message

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.adapters.templates import SandboxedRenderer
from bot.config import MailboxConfig, ServerConfig
from bot.core.approval import find_token
from bot.core.decision import Action, Decision, Event
from bot.core.drafting import reply_threading
from bot.core.mime import parse_message
from bot.core.model import Contact, Direction, Draft, Order
from bot.core.orders_csv import parse_orders_csv
from bot.paths import DEFAULT_TEMPLATES_DIR
from bot.services.approval_mail import approval_request, notice_mail
from bot.services.letters import Letter, compose
from bot.services.message import header_ids, header_text, render_message
from bot.services.outbox import foreign_recipients, outbox_item

NOW = datetime(2026, 3, 10, 10, tzinfo=UTC)
CUSTOMER = "bob@buyer.test"
EVIL = "attacker@evil.test"
CUSTOMER_HEADERS = {
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "in-reply-to",
    "references",
    "content-language",
    "content-type",
    "content-transfer-encoding",
    "mime-version",
}
ORDER = Order(
    order_id="PO-4711",
    customer_email=CUSTOMER,
    customer_name="Bob Buyer",
    amount=Decimal("1200.00"),
    currency="USD",
    due_date=None,
    contacts=(Contact("finance@buyer.test", "Fin", "finance"),),
)
MAILBOX = MailboxConfig(
    name="sales",
    address="alice@supplier.test",
    imap=ServerConfig(host="127.0.0.1", port=1, security="none"),
    smtp=ServerConfig(host="127.0.0.1", port=1, security="none"),
    approvers=("boss@supplier.test",),
)


def draft(**fields: object) -> Draft:
    base: dict[str, object] = {
        "draft_id": "d1",
        "mailbox": "sales",
        "order_ids": ("PO-4711",),
        "customer_email": CUSTOMER,
        "to": (CUSTOMER,),
        "cc": (),
        "subject": "Re: PO-4711",
        "body": "Dear Bob,\n",
        "message_id": "m1@supplier.test",
        "in_reply_to": "p@buyer.test",
        "references": ("p@buyer.test",),
        "rule_id": "check-in",
        "template": "friendly-check-in",
        "language": "en",
        "mode": "draft",
        "reason": "due",
        "created_at": NOW,
        "due_at": NOW,
    }
    base.update(fields)
    return Draft(**base)  # type: ignore[arg-type]


def read_back(raw: bytes) -> Message:
    """The bytes as the customer's mail client reads them (the standard, strict parser)."""
    return email.message_from_bytes(raw, policy=email.policy.default)


def header_names(msg: Message) -> set[str]:
    return {name.lower() for name in msg}


def addresses(msg: Message, name: str) -> list[str]:
    return [a for _, a in email.utils.getaddresses(msg.get_all(name, []))]


def inbound(*lines: str, body: str = "We will pay next week.") -> bytes:
    head = [
        f"From: Bob <{CUSTOMER}>",
        "To: alice@supplier.test",
        "Date: Tue, 03 Mar 2026 10:00:00 +0800",
    ]
    return ("\r\n".join([*head, *lines]) + "\r\n\r\n" + body + "\r\n").encode()


INJECTIONS = {
    "encoded CRLF in Message-ID": inbound(
        "Subject: Re: PO-4711", f"Message-ID: <=?utf-8?q?x=0D=0AReply-To:_{EVIL}?=>"
    ),
    "encoded CRLF in References": inbound(
        "Subject: Re: PO-4711",
        "Message-ID: <ok@buyer.test>",
        f"References: <a@buyer.test> <=?utf-8?q?y=0D=0ACc:_{EVIL}?=>",
    ),
    "double-encoded CRLF in Subject": inbound(
        # base64 of "=?utf-8?q?a=0D=0AReply-To:_attacker@evil.test?=": still a word once decoded
        "Subject: Re: PO-4711 =?utf-8?b?PT91dGYtOD9xP2E9MEQ9MEFSZXBseS1UbzpfYXR0YWNrZXJAZXZpbC50ZXN0Pz0=?=",
        "Message-ID: <ok@buyer.test>",
    ),
    "encoded CRLF, NEL and U+2028 in Subject": inbound(
        f"Subject: =?utf-8?q?Re:_PO-4711=0D=0ABcc:_{EVIL}=C2=85Cc:_{EVIL}=E2=80=A8To:_{EVIL}?=",
        "Message-ID: <ok@buyer.test>",
    ),
    "folded Subject with a header-like line": inbound(
        f"Subject: Re: PO-4711\r\n Bcc: {EVIL}", "Message-ID: <ok@buyer.test>"
    ),
    "In-Reply-To full of brackets": inbound(
        "Subject: Re: PO-4711", f"Message-ID: <ok@buyer.test>\r\nIn-Reply-To: <a@b>,Bcc:{EVIL}<<>>"
    ),
}


@pytest.mark.parametrize("name", sorted(INJECTIONS))
def test_a_crafted_reply_injects_no_header_into_our_follow_up(name: str) -> None:
    msg = parse_message(INJECTIONS[name])
    thread = reply_threading(msg.subject, msg.message_id, msg.references)
    ours = draft(
        subject=thread.subject, in_reply_to=thread.in_reply_to, references=thread.references
    )
    out = read_back(render_message(ours, sender=MAILBOX.address, sender_name="Alice", date=NOW))
    assert header_names(out) <= CUSTOMER_HEADERS
    assert addresses(out, "To") == [CUSTOMER] and not out.get_all("Cc") and not out.get_all("Bcc")
    assert EVIL not in str(out.get("In-Reply-To", "")) + str(out.get("References", ""))
    assert str(out["Subject"]).startswith("Re: PO-4711")
    assert "\n" not in str(out["Subject"]) and "\r" not in str(out["Subject"])


@pytest.mark.parametrize("name", sorted(INJECTIONS))
def test_a_crafted_reply_injects_no_header_into_the_approval_request(name: str) -> None:
    msg = parse_message(INJECTIONS[name])
    thread = reply_threading(msg.subject, msg.message_id, msg.references)
    ours = draft(
        subject=thread.subject, in_reply_to=thread.in_reply_to, references=thread.references
    )
    raw = approval_request(ours, MAILBOX, "boss@supplier.test", b"k" * 32, now=NOW)
    out = read_back(raw)
    assert header_names(out) == {
        "from",
        "to",
        "reply-to",
        "subject",
        "date",
        "message-id",
        "auto-submitted",
        "content-type",
        "content-transfer-encoding",
        "mime-version",
    }
    assert addresses(out, "To") == ["boss@supplier.test"]
    reply_to = addresses(out, "Reply-To")
    assert len(reply_to) == 1 and reply_to[0].startswith("alice+a-")
    assert find_token(reply_to[0]) == find_token(str(out["Subject"]))  # one token, ours


@pytest.mark.parametrize("name", sorted(INJECTIONS))
def test_a_crafted_subject_injects_no_header_into_a_notice_to_the_approvers(name: str) -> None:
    """The loop's "held, not sent: <draft subject>" notice quotes the customer's subject."""
    msg = parse_message(INJECTIONS[name])
    subject = f"dunbot: held, not sent: {reply_threading(msg.subject, None).subject}"
    raw, recipients = notice_mail(MAILBOX, "held", now=NOW, subject=subject)
    out = read_back(raw)
    assert header_names(out) == {
        "from",
        "to",
        "subject",
        "date",
        "auto-submitted",
        "content-type",
        "content-transfer-encoding",
        "mime-version",
    }
    assert addresses(out, "To") == list(recipients) == ["boss@supplier.test"]


HOSTILE_TEXT = st.lists(
    st.sampled_from(
        [
            "a",
            " ",
            "\r",
            "\n",
            "\x85",
            "\u2028",
            "=?",
            "utf-8?q?",
            "=0D=0A",
            "?=",
            ":",
            "<",
            ">",
            "Bcc",
            "@",
            "\x00",
            "\t",
            "é",
            "付",
        ]
    ),
    max_size=20,
).map("".join)


@given(
    subject=HOSTILE_TEXT,
    parent=HOSTILE_TEXT,
    refs=st.lists(HOSTILE_TEXT, max_size=3),
    name=HOSTILE_TEXT,
)
def test_any_stored_text_renders_to_our_headers_only(
    subject: str, parent: str, refs: list[str], name: str
) -> None:
    """Even a database row holding anything (an older dunbot, a hand edit) cannot add a header."""
    ours = draft(
        subject=subject or "x", in_reply_to=parent or None, references=tuple(refs), language=name
    )
    out = read_back(render_message(ours, sender=MAILBOX.address, sender_name="Alice", date=NOW))
    assert header_names(out) <= CUSTOMER_HEADERS
    assert addresses(out, "To") == [CUSTOMER]
    assert str(out["Subject"]) == header_text(subject or "x")
    written = [i.strip("<>") for i in str(out.get("References", "")).split()]
    assert written == header_ids(refs)


def test_header_text_and_ids_defuse_what_the_mail_library_would_decode() -> None:
    assert header_text("Re: a\r\nBcc: x\u2028y\x85z") == "Re: a Bcc: x y z"
    assert "=?" not in header_text("=?utf-8?q?a=0D=0A?=")
    assert header_ids(["ok@b", "=?utf-8?q?a?=@b", "a b@c", "a<b>@c", "", "é@x"]) == ["ok@b"]


def test_order_fields_from_the_csv_inject_no_header() -> None:
    """A fresh thread takes its subject from the template ("Order {{ order_id }}"); the CSV's
    order number may hold "=?...?=" and the customer's name line breaks."""
    rows = (
        "order_id,customer_email,customer_name,amount,currency\n"
        f'=?utf-8?q?x=0D=0AReply-To:_{EVIL}?=,{CUSTOMER},"Bob\r\nBcc: {EVIL}",10,USD\n'
    )
    [order] = parse_orders_csv(rows, "orders.csv")
    decision = Decision(
        Action.FOLLOW_UP,
        NOW,
        "due",
        "friendly-check-in",
        template="friendly-check-in",
        mode="draft",
        recipients=("buyer",),
    )
    renderer = SandboxedRenderer(DEFAULT_TEMPLATES_DIR)
    ours = compose([Letter(order, decision, ())], renderer, MAILBOX, now=NOW)
    item = outbox_item(ours, MAILBOX, now=NOW, journal=False)
    out = read_back(item.raw)
    assert header_names(out) <= CUSTOMER_HEADERS
    assert addresses(out, "To") == [CUSTOMER] and item.recipients == (CUSTOMER,)
    assert EVIL in str(out["Subject"])  # shown as the text it is, not as a header
    raw = approval_request(ours, MAILBOX, "boss@supplier.test", b"k" * 32, now=NOW)
    request = read_back(raw)
    assert not request.get_all("Bcc") and len(request.get_all("Reply-To") or []) == 1


# --- recipients -----------------------------------------------------------------------------------


def event_of(raw: bytes) -> Event:
    msg = parse_message(raw)
    return Event(
        Direction.IN,
        msg.date or NOW,
        sender=msg.sender.email,
        subject=msg.subject,
        message_id=msg.message_id,
        references=msg.references,
    )


def test_reply_to_cc_and_addresses_in_the_text_never_become_recipients() -> None:
    """The follow-up goes to the order's contacts only: not to the Reply-To, the Cc or the
    From of a stranger who wrote into the thread, nor an address in the text."""
    hostile = inbound(
        "Subject: Re: PO-4711",
        "Message-ID: <r1@buyer.test>",
        f"Reply-To: {EVIL}",
        f"Cc: {EVIL}, other@evil.test",
        f"Mail-Followup-To: {EVIL}",
        body=f"Please write to {EVIL} from now on, our new finance address.",
    )
    stranger = inbound("Subject: Re: PO-4711", "Message-ID: <r2@evil.test>").replace(
        CUSTOMER.encode(), EVIL.encode(), 1
    )
    decision = Decision(
        Action.FOLLOW_UP,
        NOW + timedelta(hours=1),
        "due",
        "friendly-check-in",
        template="friendly-check-in",
        mode="draft",
        recipients=("buyer", "finance", "manager"),
    )
    history = (event_of(hostile), event_of(stranger))
    ours = compose(
        [Letter(ORDER, decision, history)],
        SandboxedRenderer(DEFAULT_TEMPLATES_DIR),
        MAILBOX,
        now=NOW,
    )
    assert set(ours.to) | set(ours.cc) == {CUSTOMER, "finance@buyer.test"}
    item = outbox_item(ours, MAILBOX, now=NOW, journal=False)
    assert set(item.recipients) == {CUSTOMER, "finance@buyer.test"}
    out = read_back(item.raw)
    assert EVIL not in item.raw.decode("utf-8", "replace").split("\r\n\r\n")[0]
    assert not out.get_all("Reply-To") and not out.get_all("Bcc")
    assert foreign_recipients([*item.recipients, EVIL], [ORDER]) == [EVIL]
