"""Threading a message to its order: thread, order number, sender, domain, and the reasons."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

import pytest

from bot.core.conversations import (
    Match,
    counterparts,
    match_order,
    referenced_ids,
    strip_subject,
    thread_key,
)
from bot.core.mime import parse_message
from bot.core.model import Contact, Order, OrderStatus, ParsedMessage
from bot.core.ordernumbers import OrderPatterns
from bot.core.yamldoc import parse_yaml
from bot.paths import DEFAULT_RULES_DIR

OWN = frozenset({"alice@supplier.example"})


@pytest.fixture(scope="module")
def pats() -> OrderPatterns:
    path = DEFAULT_RULES_DIR / "orders.yaml"
    return OrderPatterns.from_doc(parse_yaml(path.read_text(encoding="utf-8"), str(path)))


def order(
    order_id: str, email: str, status: OrderStatus = OrderStatus.OPEN, *contacts: str
) -> Order:
    return Order(
        order_id=order_id,
        customer_email=email,
        customer_name="Acme",
        amount=Decimal(1000),
        currency="USD",
        due_date=None,
        status=status,
        contacts=tuple(Contact(c) for c in contacts),
    )


def mail(
    subject: str = "Payment",
    body: str = "Hello",
    sender: str = "buyer@acme.example",
    to: str = "alice@supplier.example",
    extra: str = "",
) -> ParsedMessage:
    raw = (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <new-1@acme.example>\r\nDate: Mon, 4 Mar 2024 10:00:00 +0100\r\n"
        f"{extra}\r\n{body}\r\n"
    )
    return parse_message(raw.encode("utf-8"))


def run(
    msg: ParsedMessage,
    orders: Sequence[Order],
    pats: OrderPatterns,
    thread: Mapping[str, str] | None = None,
    **kw: object,
) -> Match:
    return match_order(
        msg,
        thread_orders=thread or {},
        open_orders=orders,
        patterns=pats,
        own_addresses=OWN,
        **kw,  # type: ignore[arg-type]
    )


ACME = [order("PO-1", "buyer@acme.example"), order("PO-2", "buyer@acme.example")]


# --- referenced_ids ---------------------------------------------------------------------------


def test_referenced_ids_newest_first_deduplicated_without_junk() -> None:
    msg = mail(
        extra=(
            "In-Reply-To: <c@x.example>\r\n"
            "References: <a@x.example> <junk> <b@x.example>\r\n <c@x.example> <new-1@acme.example>\r\n"
        )
    )
    assert referenced_ids(msg) == ("c@x.example", "b@x.example", "a@x.example")


def test_referenced_ids_empty_and_in_reply_to_alone() -> None:
    assert referenced_ids(mail()) == ()
    assert referenced_ids(mail(extra="In-Reply-To: <only@x.example>\r\n")) == ("only@x.example",)


def test_referenced_ids_drops_absurdly_long_ids() -> None:
    long_id = "a" * 300 + "@x.example"
    msg = mail(extra=f"References: <{long_id}> <ok@x.example>\r\n")
    assert referenced_ids(msg) == ("ok@x.example",)


# --- thread -----------------------------------------------------------------------------------


def test_thread_by_in_reply_to(pats: OrderPatterns) -> None:
    msg = mail(extra="In-Reply-To: <ours-7@supplier.example>\r\n")
    got = run(msg, ACME, pats, {"ours-7@supplier.example": "PO-2"})
    assert (got.order_id, got.via) == ("PO-2", "thread")
    assert "ours-7@supplier.example" in got.reason


def test_thread_when_client_broke_references(pats: OrderPatterns) -> None:
    # Outlook-style: References holds only the root, In-Reply-To the message answered.
    msg = mail(
        extra="In-Reply-To: <ours-9@supplier.example>\r\nReferences: <unknown-root@x.example>\r\n"
    )
    got = run(msg, ACME, pats, {"ours-9@supplier.example": "PO-1"})
    assert (got.order_id, got.via) == ("PO-1", "thread")


def test_thread_by_older_reference_when_in_reply_to_unknown(pats: OrderPatterns) -> None:
    msg = mail(
        extra="In-Reply-To: <gone@x.example>\r\nReferences: <root@supplier.example> <gone@x.example>\r\n"
    )
    got = run(msg, ACME, pats, {"root@supplier.example": "PO-2"})
    assert (got.order_id, got.via) == ("PO-2", "thread")


def test_newest_reference_wins(pats: OrderPatterns) -> None:
    msg = mail(extra="References: <old@s.example> <new@s.example>\r\n")
    got = run(msg, ACME, pats, {"old@s.example": "PO-1", "new@s.example": "PO-2"})
    assert got.order_id == "PO-2"


FOUR = [order("PO-4711", "buyer@acme.example"), order("PO-4712", "buyer@acme.example")]


def test_bounce_threads_by_the_returned_message(pats: OrderPatterns) -> None:
    raw = (
        b"From: MAILER-DAEMON@mx.acme.example\r\nTo: alice@supplier.example\r\n"
        b"Subject: Undelivered Mail\r\nMessage-ID: <b1@mx.acme.example>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\r\n\r\n'
        b"--r\r\nContent-Type: text/plain\r\n\r\nUser unknown\r\n"
        b"--r\r\nContent-Type: message/rfc822\r\n\r\n"
        b"From: alice@supplier.example\r\nMessage-ID: <ours-5@supplier.example>\r\n\r\nPlease pay\r\n"
        b"--r--\r\n"
    )
    msg = parse_message(raw)
    assert referenced_ids(msg) == ("ours-5@supplier.example",)
    got = run(msg, ACME, pats, {"ours-5@supplier.example": "PO-2"})
    assert (got.order_id, got.via) == ("PO-2", "thread")
    assert got.reason == "carries the message <ours-5@supplier.example>, which belongs to PO-2"


def test_thread_wins_over_a_conflicting_order_number(pats: OrderPatterns) -> None:
    msg = mail(subject="Re: PO 4712", extra="In-Reply-To: <t@s.example>\r\n")
    got = run(msg, FOUR, pats, {"t@s.example": "PO-4711"})
    assert (got.order_id, got.via) == ("PO-4711", "thread")
    assert "PO-4712" in got.reason and "thread wins" in got.reason


def test_thread_reason_has_no_conflict_note_when_number_agrees(pats: OrderPatterns) -> None:
    msg = mail(subject="Re: PO 4711", extra="In-Reply-To: <t@s.example>\r\n")
    got = run(msg, FOUR, pats, {"t@s.example": "PO-4711"})
    assert got.order_id == "PO-4711" and "wins" not in got.reason


# --- order numbers ----------------------------------------------------------------------------


def test_number_in_subject_decides_between_two_open_orders(pats: OrderPatterns) -> None:
    got = run(mail(subject="AW: Zahlung Bestellung Nr. 4712"), FOUR, pats)
    assert (got.order_id, got.via) == ("PO-4712", "order_number")
    assert "subject" in got.reason and "4712" in got.reason


def test_number_in_text_when_subject_has_none(pats: OrderPatterns) -> None:
    orders = [order("4711", "buyer@acme.example"), order("4712", "buyer@acme.example")]
    got = run(mail(body="我们会尽快支付订单号：4711的款项"), orders, pats)
    assert (got.order_id, got.via) == ("4711", "order_number")
    assert "text" in got.reason


def test_search_text_replaces_the_body(pats: OrderPatterns) -> None:
    orders = [order("PO-4711", "buyer@acme.example"), order("PO-4712", "buyer@acme.example")]
    msg = mail(body="Paying today.\r\n\r\n> On Monday you wrote about PO 4712")
    got = run(msg, orders, pats, search_text="Paying today.")
    assert got.order_id is None and "2 open orders" in got.reason
    got = run(msg, orders, pats)
    assert got.order_id == "PO-4712"


def test_number_matches_a_paid_order_too_but_prefers_active(pats: OrderPatterns) -> None:
    paid = order("PO-4711", "buyer@acme.example", OrderStatus.PAID)
    got = run(mail(subject="PO 4711 receipt"), [paid, *ACME], pats)
    assert got.order_id == "PO-4711"
    twins = [paid, order("PI-4711", "buyer@acme.example")]
    got = run(mail(subject="order 4711"), twins, pats)
    assert got.order_id == "PI-4711"


def test_verbatim_order_id_in_subject(pats: OrderPatterns) -> None:
    orders = [order("SO-2024-0815", "x@other.example"), order("SO-2024-0816", "x@other.example")]
    got = run(mail(subject="Remittance SO-2024-0816", sender="ap@unknown.example"), orders, pats)
    assert (got.order_id, got.via) == ("SO-2024-0816", "order_number")


def test_two_orders_named_is_unmatched(pats: OrderPatterns) -> None:
    orders = [order("PO-4711", "buyer@acme.example"), order("PO-4712", "buyer@acme.example")]
    got = run(mail(subject="PO 4711 and PO 4712"), orders, pats)
    assert got.order_id is None
    assert "PO-4711" in got.reason and "PO-4712" in got.reason


def test_unknown_number_falls_back_to_sender_and_says_so(pats: OrderPatterns) -> None:
    got = run(mail(subject="PO 9999"), [order("PO-1", "buyer@acme.example")], pats)
    assert (got.order_id, got.via) == ("PO-1", "sender")
    assert "9999" in got.reason


# --- sender and domain ------------------------------------------------------------------------


def test_sender_with_one_open_order(pats: OrderPatterns) -> None:
    orders = [order("PO-1", "buyer@acme.example"), order("PO-2", "other@beta.example")]
    got = run(mail(sender="Buyer <BUYER@acme.example>"), orders, pats)
    assert (got.order_id, got.via) == ("PO-1", "sender")
    assert "buyer@acme.example" in got.reason


def test_closed_orders_do_not_count_for_the_sender(pats: OrderPatterns) -> None:
    orders = [
        order("PO-1", "buyer@acme.example", OrderStatus.PAID),
        order("PO-2", "buyer@acme.example"),
    ]
    assert run(mail(), orders, pats).order_id == "PO-2"


def test_contact_of_an_order_counts_as_sender(pats: OrderPatterns) -> None:
    orders = [order("PO-1", "buyer@acme.example", OrderStatus.OPEN, "finance@acme-group.example")]
    got = run(mail(sender="finance@acme-group.example"), orders, pats)
    assert (got.order_id, got.via) == ("PO-1", "sender")


def test_two_open_orders_and_no_clue_names_the_candidates(pats: OrderPatterns) -> None:
    got = run(mail(), ACME, pats)
    assert got == Match(
        None, "2 open orders for buyer@acme.example: PO-1, PO-2; no order number or thread", "none"
    )


def test_outgoing_message_uses_the_recipients(pats: OrderPatterns) -> None:
    orders = [order("PO-1", "buyer@acme.example"), order("PO-2", "other@beta.example")]
    msg = mail(sender="alice@supplier.example", to="other@beta.example")
    got = run(msg, orders, pats)
    assert (got.order_id, got.via) == ("PO-2", "sender")
    assert counterparts(msg, OWN) == ("other@beta.example",)


def test_colleague_at_the_customer_domain_forwarding(pats: OrderPatterns) -> None:
    orders = [order("PO-1", "buyer@acme.example"), order("PO-2", "other@beta.example")]
    msg = mail(
        subject="Fwd: Payment", sender="boss@acme.example", body="---------- Forwarded message"
    )
    got = run(msg, orders, pats)
    assert (got.order_id, got.via) == ("PO-1", "domain")
    assert "acme.example" in got.reason


def test_domain_with_two_open_orders_is_unmatched(pats: OrderPatterns) -> None:
    got = run(mail(sender="boss@acme.example"), ACME, pats)
    assert got.order_id is None
    assert "2 open orders at acme.example: PO-1, PO-2" in got.reason


@pytest.mark.parametrize("domain", ["gmail.com", "qq.com", "163.com", "web.de", "outlook.com"])
def test_never_by_free_mail_domain(pats: OrderPatterns, domain: str) -> None:
    orders = [order("PO-1", f"buyer@{domain}")]
    got = run(mail(sender=f"stranger@{domain}"), orders, pats)
    assert (got.order_id, got.via) == (None, "none")
    assert f"stranger@{domain}" in got.reason


def test_same_address_on_free_mail_still_matches(pats: OrderPatterns) -> None:
    got = run(mail(sender="buyer@qq.com"), [order("PO-1", "buyer@qq.com")], pats)
    assert (got.order_id, got.via) == ("PO-1", "sender")


def test_our_own_domain_is_never_a_customer_domain(pats: OrderPatterns) -> None:
    orders = [order("PO-1", "bob@supplier.example")]
    msg = mail(sender="alice@supplier.example", to="carol@supplier.example")
    assert run(msg, orders, pats).order_id is None


def test_nothing_known(pats: OrderPatterns) -> None:
    got = run(mail(sender="who@nowhere.example"), ACME, pats)
    assert got.order_id is None and got.via == "none"
    assert "who@nowhere.example" in got.reason


# --- subjects ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "subject",
    [
        "Re: Payment PO",
        "RE: AW: Payment PO",
        "回复：Payment PO",
        "回复: Payment PO",
        "WG: Fwd: Payment  PO",
        "TR: RV: SV: Payment PO",
        "Re[2]: Payment PO",
        "[EXTERNAL] Re: payment po",
    ],
)
def test_strip_subject(subject: str) -> None:
    assert strip_subject(subject) == "payment po"


def test_subject_alone_is_not_a_thread_key(pats: OrderPatterns) -> None:
    key = thread_key(mail(subject="Payment"), OWN)
    assert key is not None
    # The same subject from someone else does not thread.
    got = run(
        mail(subject="Re: Payment", sender="x@other.example"),
        ACME,
        pats,
        subject_orders={key: "PO-2"},
    )
    assert got.order_id is None


def test_subject_with_the_same_counterpart_threads(pats: OrderPatterns) -> None:
    ours = mail(
        subject="Payment for your order", sender="alice@supplier.example", to="buyer@acme.example"
    )
    key = thread_key(ours, OWN)
    reply = mail(subject="AW: Payment for your order")
    assert thread_key(reply, OWN) == key
    got = run(reply, ACME, pats, subject_orders={key: "PO-2"})
    assert (got.order_id, got.via) == ("PO-2", "thread")
    assert "same subject" in got.reason


def test_stated_number_beats_subject_key(pats: OrderPatterns) -> None:
    orders = [order("PO-4711", "buyer@acme.example"), order("PO-4712", "buyer@acme.example")]
    reply = mail(subject="AW: Payment", body="PO 4711 is paid")
    key = thread_key(reply, OWN)
    assert key is not None
    got = run(reply, orders, pats, subject_orders={key: "PO-4712"})
    assert got.order_id == "PO-4711"


def test_empty_subject_has_no_thread_key() -> None:
    assert thread_key(mail(subject="Re:"), OWN) is None


def test_number_fitting_two_orders_is_narrowed_by_the_sender(pats: OrderPatterns) -> None:
    orders = [order("PO-4711", "buyer@acme.example"), order("PI-4711", "ap@beta.example")]
    got = run(mail(subject="Payment 订单号 4711", sender="ap@beta.example"), orders, pats)
    assert (got.order_id, got.via) == ("PI-4711", "order_number")
    got = run(mail(subject="Payment 订单号 4711", sender="x@gamma.example"), orders, pats)
    assert got.order_id is None and "PO-4711, PI-4711" in got.reason


def test_number_from_a_stranger_matches_but_the_reason_says_so(pats: OrderPatterns) -> None:
    got = run(mail(subject="PO 4711 paid", sender="bank@hsbc.example"), FOUR, pats)
    assert got.order_id == "PO-4711"
    assert got.reason == (
        "the subject names order 4711 (PO-4711); note: bank@hsbc.example is not a contact of this order"
    )


# ---------------------------------------------------------------- ids with their own prefix
def test_a_prefixed_id_after_a_keyword_threads_to_its_order(pats: OrderPatterns) -> None:
    orders = [
        order("AB-27091", "einkauf@kunde.example"),
        order("AB-27092", "einkauf@kunde.example"),
    ]
    got = run(
        mail("AW: Zahlungserinnerung Auftrag AB-27091", sender="x@kunde.example"), orders, pats
    )
    assert (got.order_id, got.via) == ("AB-27091", "order_number")
    assert "subject names order AB-27091" in got.reason


def test_a_self_evident_id_in_the_text_threads_without_a_keyword(pats: OrderPatterns) -> None:
    orders = [order("SO-88123", "buyer@acme.example"), order("SO-88124", "buyer@acme.example")]
    got = run(mail("Payment", "Transferred today for SO88124, thanks."), orders, pats)
    assert (got.order_id, got.via) == ("SO-88124", "order_number")


@pytest.mark.parametrize(
    "body",
    [
        "Please call 400-123-4711 about the order, or +49 30 1234 4711.",
        "Paid to IBAN DE89370400440532013000 on 05.03.2024, order of EUR-4711.",
        "Tracking RR123456789CN, invoice 2024-03-05, amount 4,711.00 USD.",
    ],
)
def test_phones_ibans_dates_and_amounts_thread_nothing(pats: OrderPatterns, body: str) -> None:
    orders = [
        order("4711", "a@one.example"),
        order("PO-3000", "b@two.example"),
        order("2024", "c@three.example"),
        order("1234", "d@four.example"),
    ]
    got = run(mail("Payment", body, sender="stranger@else.example"), orders, pats)
    assert got.order_id is None
    assert got.via == "none"


def test_a_prefixed_number_never_threads_to_another_prefix(pats: OrderPatterns) -> None:
    orders = [order("PO-27091", "a@one.example")]
    got = run(mail("Auftrag AB-27091", sender="stranger@else.example"), orders, pats)
    assert got.order_id is None
    assert "unknown order number AB-27091" in got.reason
