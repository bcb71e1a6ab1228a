"""Every email is hostile: approval replies that must not approve (what test_approve_reply.py
does not already cover).

Display-name and multi-address spoofs of the approver, DKIM signatures by another domain,
forged Authentication-Results below the trusted server's own, a token only in the quoted
text, two tokens in one reply, a token of another mailbox, and a token used once for snooze
then again for approve. And the legitimate variants (case, spacing, Outlook's
`"a@x" <a@x>`) still approve.
"""

from __future__ import annotations

import email
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

from bot.adapters.store import SqlOutbox, SqlStore
from bot.core.approval import find_token
from bot.core.mime import parse_message
from bot.core.model import DraftStatus
from bot.services.approve import Outcome
from tests.test_approve_reply import ALICE, MALLORY, answer, offline_mailbox, pending, request_for

AUTHSERV = "mx.supplier.test"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    sql_store = SqlStore.open(f"sqlite:///{tmp_path / 'dunbot.db'}")
    yield sql_store
    sql_store.close()


def reply_bytes(
    request: bytes, sender: str, text: str = "approve", *, on_top: str = "", **headers: str
) -> bytes:
    """A reply to the request as a mail client writes it; `on_top`: fields the receiving
    server prepended (Authentication-Results), above everything the sender wrote."""
    original = email.message_from_bytes(request)
    msg = EmailMessage()
    msg["From"] = "placeholder@invalid"
    msg["To"] = str(original["Reply-To"])
    msg["Subject"] = f"Re: {original['Subject']}"
    msg["Message-ID"] = make_msgid(domain="supplier.test")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(f"{text}\n\nOn Monday, dunbot wrote:\n> quoted request\n")
    raw = msg.as_bytes().replace(b"From: placeholder@invalid", f"From: {sender}".encode(), 1)
    return on_top.encode() + raw


def nothing_sent(store: SqlStore, *drafts: str) -> bool:
    return SqlOutbox(store).items() == [] and all(
        store.get_draft(d).status is DraftStatus.PENDING for d in drafts
    )


@pytest.mark.parametrize(
    "sender",
    [
        f"{ALICE} <{MALLORY}>",  # Python reads alice, mail clients and DMARC read mallory
        f'"{ALICE}" <{MALLORY}>',
        f"{MALLORY} <{ALICE}>",
        f"{ALICE}, {MALLORY}",
        f"{MALLORY}, {ALICE}",
        f"Alice <{ALICE}> (via {MALLORY})",
        f"=?utf-8?q?{ALICE.replace('@', '=40')}?= <{MALLORY}>",
        f"{ALICE}\r\nFrom: {MALLORY}",  # two From fields
    ],
)
def test_spoofed_approver_in_the_from_field_approves_nothing(store: SqlStore, sender: str) -> None:
    draft = pending(store)
    reply = parse_message(reply_bytes(request_for(draft), sender))
    assert answer(store, reply) is Outcome.REFUSED
    assert nothing_sent(store, draft.draft_id)


@pytest.mark.parametrize(
    "sender",
    [
        ALICE.upper(),
        f"  {ALICE}  ",
        f'"Alice Chen" <{ALICE.upper()}>',
        f'"{ALICE}" <{ALICE}>',
        f"<{ALICE}>",
    ],
)
def test_the_approver_written_any_ordinary_way_approves(store: SqlStore, sender: str) -> None:
    draft = pending(store)
    reply = parse_message(reply_bytes(request_for(draft), sender))
    assert answer(store, reply) is Outcome.QUEUED


@pytest.mark.parametrize(
    "results",
    [
        f"{AUTHSERV}; dkim=pass header.d=evil.test; dmarc=fail header.from=supplier.test",
        f"{AUTHSERV}; dkim=pass header.i=@evil.test",
        f"{AUTHSERV}; dmarc=pass header.from=evil.test",
        f"{AUTHSERV}; dmarc=fail (dmarc=pass header.from=supplier.test) header.from=supplier.test",
        f"{AUTHSERV}; dkim=fail header.d=supplier.test; spf=pass smtp.mailfrom=supplier.test",
        f"{AUTHSERV}; dkim=pass header.d=supplier.test.evil.test",
        f"{AUTHSERV}; none",
        f"{AUTHSERV}; dkim=pass",  # signed, but by whom?
    ],
)
def test_authentication_results_that_do_not_vouch_for_the_from_domain(
    store: SqlStore, results: str
) -> None:
    draft = pending(store)
    raw = reply_bytes(request_for(draft), ALICE, Authentication_Results=results)
    assert answer(store, parse_message(raw), authserv=AUTHSERV) is Outcome.REFUSED
    assert nothing_sent(store, draft.draft_id)


def test_a_forged_pass_below_the_trusted_servers_own_result_is_ignored(store: SqlStore) -> None:
    draft = pending(store)
    forged = f"{AUTHSERV}; dmarc=pass header.from=supplier.test"
    real = f"Authentication-Results: {AUTHSERV}; dmarc=fail header.from=supplier.test\r\n"
    raw = reply_bytes(request_for(draft), ALICE, on_top=real, Authentication_Results=forged)
    assert answer(store, parse_message(raw), authserv=AUTHSERV) is Outcome.REFUSED
    assert nothing_sent(store, draft.draft_id)


@pytest.mark.parametrize(
    "results",
    [
        f"{AUTHSERV}; dmarc=pass (p=reject dis=none) header.from=supplier.test",
        f"{AUTHSERV.upper()} 1; spf=pass; dkim=pass header.d=supplier.test header.s=s1",
        f"{AUTHSERV}; dkim=pass header.i=@supplier.test",
        f"{AUTHSERV}; dkim=pass; dmarc=pass",  # DMARC judged the one From field
    ],
)
def test_authentication_results_that_do_vouch_approve(store: SqlStore, results: str) -> None:
    draft = pending(store)
    raw = reply_bytes(
        request_for(draft), f"Alice <{ALICE}>", on_top=f"Authentication-Results: {results}\r\n"
    )
    assert answer(store, parse_message(raw), authserv=AUTHSERV) is Outcome.QUEUED


def test_a_token_only_in_the_quoted_text_is_no_answer(store: SqlStore) -> None:
    draft = pending(store)
    request = request_for(draft)
    token = find_token(str(email.message_from_bytes(request)["Subject"]))
    assert token is not None
    raw = reply_bytes(request, ALICE, f"ok\n> [dunbot:{token}]\n> sales+a-{token}@supplier.test")
    plain = raw.replace(f"sales+a-{token}@".encode(), b"sales@").replace(
        f"[dunbot:{token}] ".encode(), b""
    )
    assert (
        find_token(*[a.email for a in parse_message(plain).to], parse_message(plain).subject)
        is None
    )
    assert answer(store, parse_message(plain)) is Outcome.IGNORED
    assert nothing_sent(store, draft.draft_id)


def test_two_tokens_in_one_reply_approve_neither(store: SqlStore) -> None:
    first, second = pending(store, "PO-1", 1), pending(store, "PO-2", 2)
    other = find_token(str(email.message_from_bytes(request_for(second))["Subject"]))
    raw = reply_bytes(request_for(first), ALICE, Cc=f"sales+a-{other}@supplier.test")
    assert answer(store, parse_message(raw)) is Outcome.REFUSED
    assert nothing_sent(store, first.draft_id, second.draft_id)


def test_a_token_of_another_mailbox_approves_nothing_here(store: SqlStore) -> None:
    draft = pending(store)  # in mailbox "sales"
    export = offline_mailbox().model_copy(
        update={"name": "export", "address": "export@supplier.test"}
    )
    raw = reply_bytes(request_for(draft), ALICE)
    assert answer(store, parse_message(raw), mailbox=export) is Outcome.REFUSED
    assert nothing_sent(store, draft.draft_id)


def test_a_token_used_to_snooze_cannot_approve_afterwards(store: SqlStore) -> None:
    draft = pending(store)
    request = request_for(draft)
    assert answer(store, parse_message(reply_bytes(request, ALICE, "snooze 2d"))) is Outcome.SNOOZED
    assert answer(store, parse_message(reply_bytes(request, ALICE, "approve"))) is Outcome.REFUSED
    assert SqlOutbox(store).items() == []
