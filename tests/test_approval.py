"""Approval tokens and approver commands (pure: no servers, no clock)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.approval import (
    CommandKind,
    VerdictReason,
    content_digest,
    find_token,
    mint_token,
    parse_command,
    parse_duration,
    reply_address,
    subject_tag,
    verify,
)
from bot.core.model import Draft

KEY = b"k" * 32
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ALICE = "alice@supplier.test"
APPROVERS = (ALICE, "bob@supplier.test")


def draft(**changes: object) -> Draft:
    base = Draft(
        draft_id="d-1",
        mailbox="sales",
        order_ids=("PO-1",),
        customer_email="buyer@customer.test",
        to=("buyer@customer.test",),
        cc=(),
        subject="Re: PO-1",
        body="Dear buyer, a friendly reminder.\n",
        message_id="abc@dunbot",
        in_reply_to="x@customer.test",
        references=("x@customer.test",),
        rule_id="friendly-check-in",
        template="check_in",
        language="en",
        mode="draft",
        reason="silent 7 days",
        created_at=NOW,
        due_at=NOW,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def token_for(d: Draft, approver: str = ALICE, *, ttl: timedelta = timedelta(days=3)) -> str:
    return mint_token(
        KEY,
        draft_id=d.draft_id,
        content_digest=content_digest(d),
        approver=approver,
        expires_at=NOW + ttl,
    )


def check(
    token: str,
    d: Draft,
    *,
    sender: str = ALICE,
    now: datetime = NOW,
    used: tuple[str, ...] = (),
    key: bytes = KEY,
) -> VerdictReason:
    return verify(
        token,
        key,
        draft_id=d.draft_id,
        content_digest=content_digest(d),
        sender=sender,
        approvers=APPROVERS,
        now=now,
        used=used,
    ).reason


def test_valid_token_fits_plus_address_and_subject() -> None:
    d = draft()
    token = token_for(d)
    assert check(token, d) is VerdictReason.VALID
    assert len(token) <= 40 and token == token.lower() and token.replace("-", "").isalnum()
    address = reply_address("sales@supplier.test", token)
    assert len(address.partition("@")[0]) <= 64  # RFC 5321 4.5.3.1.1
    assert find_token(address) == token
    assert find_token(f"Re: {subject_tag(token)} PO-1".upper()) == token  # folded case still works
    assert check(token.upper(), d, sender="  ALICE@Supplier.TEST ") is VerdictReason.VALID


def test_other_sender_rejected_even_with_good_token() -> None:
    d = draft()
    assert check(token_for(d), d, sender="mallory@evil.test") is VerdictReason.NOT_APPROVER


def test_token_bound_to_its_approver() -> None:
    d = draft()
    token = token_for(d, approver="bob@supplier.test")
    assert check(token, d, sender=ALICE) is VerdictReason.BAD_TOKEN
    assert check(token, d, sender="bob@supplier.test") is VerdictReason.VALID


def test_wrong_tokens_rejected() -> None:
    d = draft()
    good = token_for(d)
    expiry, mac = good.split("-")
    flipped = mac[:-1] + ("a" if mac[-1] != "a" else "b")
    later = format(int(expiry, 36) + 86400, "x")  # a forged longer lifetime
    for bad in (f"{expiry}-{flipped}", f"{later}-{mac}", f"{expiry}-{mac[:-2]}"):
        assert check(bad, d) in (VerdictReason.BAD_TOKEN, VerdictReason.MALFORMED), bad
    assert check(good, d, key=b"another key") is VerdictReason.BAD_TOKEN


def test_token_bound_to_draft_and_content() -> None:
    d = draft()
    token = token_for(d)
    assert check(token, draft(draft_id="d-2")) is VerdictReason.BAD_TOKEN
    assert check(token, draft(body="Pay now or else.\n")) is VerdictReason.BAD_TOKEN
    assert check(token, draft(to=("attacker@evil.test",))) is VerdictReason.BAD_TOKEN


def test_expired_and_reused_rejected() -> None:
    d = draft()
    token = token_for(d, ttl=timedelta(hours=1))
    assert check(token, d, now=NOW + timedelta(minutes=59)) is VerdictReason.VALID
    assert check(token, d, now=NOW + timedelta(hours=1)) is VerdictReason.EXPIRED
    assert check(token, d, used=(token,)) is VerdictReason.USED


@pytest.mark.parametrize(
    "hostile",
    [
        "",
        " ",
        "-",
        "a" * 5000,
        "\x00\x00",
        "zz-" + "1" * 26,
        "k-" + "é" * 26,
        None,
        "1-" + "a" * 27,
    ],
)
def test_hostile_tokens_never_raise(hostile: str | None) -> None:
    d = draft()
    assert check(hostile, d) is VerdictReason.MALFORMED  # type: ignore[arg-type]


def test_empty_key_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        mint_token(b"", draft_id="d", content_digest="x", approver=ALICE, expires_at=NOW)
    assert check(token_for(draft()), draft(), key=b"") is VerdictReason.MALFORMED


@pytest.mark.parametrize(
    "text",
    [
        "approve",
        "OK",
        "ok!",
        "Send.",
        "yes",
        "好",
        "好的",
        "同意",
        "发送",
        "可以",
        "ja",
        "Senden",
        "oui",
        "sí",
        "  approve  \n\n",
    ],
)
def test_approve_words(text: str) -> None:
    assert parse_command(text).kind is CommandKind.APPROVE


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("skip", CommandKind.REJECT),
        ("reject", CommandKind.REJECT),
        ("paid", CommandKind.PAID),
        ("Stop", CommandKind.STOP),
        ("approve\n> quoted approval request\n> --- edit below ---", CommandKind.APPROVE),
    ],
)
def test_other_words(text: str, kind: CommandKind) -> None:
    assert parse_command(text).kind is kind


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("snooze 3d", timedelta(days=3)),
        ("snooze 2w", timedelta(weeks=2)),
        ("Snooze 5h", timedelta(hours=5)),
        ("snooze 4 days", timedelta(days=4)),
        ("推迟3天", timedelta(days=3)),
    ],
)
def test_snooze(text: str, span: timedelta) -> None:
    command = parse_command(text)
    assert command.kind is CommandKind.SNOOZE and command.snooze == span


def test_unknown_and_ambiguous_replies_do_not_approve() -> None:
    for text in (
        "",
        "maybe",
        "ok but change the price to 500",
        "yes\nbut wait until Monday",
        "snooze 0d",
        "snooze 999w",
        "approve it tomorrow please",
    ):
        command = parse_command(text)
        assert command.kind is CommandKind.UNKNOWN, text
        assert command.detail


def test_edit_between_markers_replaces_body() -> None:
    reply = (
        "--- edit below ---\n"
        "Dear Mr. Li,\n"
        "  the slot is held until Friday.\n"
        "--- END ---\n"
        "> --- edit below ---\n> old\n"
    )
    command = parse_command(reply)
    assert command.kind is CommandKind.EDIT
    assert command.body == "Dear Mr. Li,\n  the slot is held until Friday.\n"


def test_edit_needs_end_marker_and_text() -> None:
    assert parse_command("--- edit below ---\nHello\n").kind is CommandKind.UNKNOWN
    assert parse_command("--- edit below ---\n\n--- end ---").kind is CommandKind.UNKNOWN


def test_parse_duration() -> None:
    assert parse_duration("3d") == timedelta(days=3)
    assert parse_duration("2w") == timedelta(weeks=2)
    assert parse_duration("soon") is None
