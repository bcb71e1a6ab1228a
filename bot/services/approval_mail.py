"""Approval by email: the request mailed to each approver (a token in its Reply-To and
subject), an approver's answer read and acted on, and notices to the approvers.

An email reply counts only when it comes from a configured approver, carries a token minted for
that approver and this draft's exact content (`bot.core.approval`), is not expired and not used
before, and (when the config names a trusted Authentication-Results authserv-id) passed DMARC or
DKIM there. Anything short of that changes nothing: it is logged, and the approvers (never the
sender of a forgery) are told.

Mails from dunbot to approvers carry `Auto-Submitted: auto-generated` (RFC 3834 5), and dunbot
never acts on a message that is itself auto-submitted, so two robots can never loop.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from bot.config import MailboxConfig
from bot.core.approval import (
    EDIT_BEGIN,
    Command,
    CommandKind,
    Verdict,
    VerdictReason,
    content_digest,
    find_token,
    mint_token,
    parse_command,
    reply_address,
    subject_tag,
    verify,
)
from bot.core.model import Draft, DraftStatus, OrderStatus, ParsedMessage
from bot.services.approval_trust import authenticated, sender_doubt, token_doubt
from bot.services.approve import (
    KNOWN,
    TOKEN_TTL,
    WAITING,
    Answer,
    ApprovalStore,
    Outcome,
    TokenStore,
    approve,
    refuse,
    reject,
    snooze,
)
from bot.services.message import header_text
from bot.services.outbox import OutboxPolicy

log = logging.getLogger(__name__)


# ---- asking by email ---------------------------------------------------------------------------


def approval_request(
    draft: Draft,
    mailbox: MailboxConfig,
    approver: str,
    key: bytes,
    *,
    now: datetime,
    context: str = "",
    ttl: timedelta = TOKEN_TTL,
) -> bytes:
    """The mail asking `approver` about a draft: a normal reply returns the token twice (the
    Reply-To plus-address and the subject tag). Auto-Submitted: auto-generated."""
    token = mint_token(
        key,
        draft_id=draft.draft_id,
        content_digest=content_digest(draft),
        approver=approver,
        expires_at=now + ttl,
    )
    msg = EmailMessage(policy=SMTP)
    msg["From"] = mailbox.address
    msg["To"] = approver
    msg["Reply-To"] = reply_address(mailbox.address, token)
    msg["Subject"] = f"{subject_tag(token)} Approve: {header_text(draft.subject)}"
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = (
        f"<approval.{draft.draft_id}.{token[:8]}@{mailbox.address.partition('@')[2]}>"
    )
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(_request_text(draft, context, now + ttl), charset="utf-8")
    return msg.as_bytes()


def _request_text(draft: Draft, context: str, expires: datetime) -> str:
    return (
        "\n".join(
            [
                f"dunbot drafted a follow-up for order {', '.join(draft.order_ids)} ({draft.reason}).",
                *([context] if context else []),
                "",
                f"To: {', '.join(draft.to)}"
                + (f"   Cc: {', '.join(draft.cc)}" if draft.cc else ""),
                f"Subject: {draft.subject}",
                "",
                draft.body.rstrip(),
                "",
                "Reply with one word: approve (ok, send, 好, 同意, ja), skip, snooze 3d, paid or stop.",
                (
                    'To send your own text instead, put it between a line "--- edit below ---" '
                    'and a line "--- end ---".'
                ),
                f"This request expires {expires:%Y-%m-%d %H:%M} UTC.",
            ]
        )
        + "\n"
    )


# ---- answers by email --------------------------------------------------------------------------


def is_auto_submitted(message: ParsedMessage) -> bool:
    """RFC 3834: anything but `Auto-Submitted: no`, or the usual robot headers."""
    value = (message.header("Auto-Submitted") or "no").strip().lower()
    robot = any(
        message.header(h) for h in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress")
    )
    precedence = (message.header("Precedence") or "").strip().lower() in (
        "bulk",
        "junk",
        "list",
        "auto_reply",
    )
    return not value.startswith("no") or robot or precedence


def answer_by_mail(
    store: ApprovalStore,
    outbox: TokenStore,
    mailbox: MailboxConfig,
    message: ParsedMessage,
    *,
    key: bytes,
    now: datetime,
    reply_text: str,
    authserv_id: str | None = None,
    policy: OutboxPolicy | None = None,
) -> Answer:
    """Act on an approver's reply (reply_text: the reply without quoted history)."""
    if is_auto_submitted(message):
        return Answer(Outcome.IGNORED, "auto-submitted: dunbot never answers a robot")
    addresses = [a.email for a in (*message.to, *message.cc)]
    token = find_token(*addresses, message.subject)
    if token is None:
        return Answer(Outcome.IGNORED, "no approval token: not an answer to dunbot")
    sender = message.sender.email
    doubt = sender_doubt(message) or token_doubt(message)
    if doubt is not None:
        return _forged(store, sender, doubt)
    if not authenticated(message, authserv_id):
        return _forged(store, sender, f"the From {sender} did not pass DMARC/DKIM at {authserv_id}")
    draft, verdict = _match(store, outbox, mailbox, token, sender, key=key, now=now)
    if draft is None or not verdict.ok:
        return _forged(store, sender, verdict.detail, draft)
    command = _command(message.text, reply_text)
    used = (token, sender, command.kind.value)
    return _apply(store, outbox, mailbox, draft, command, used, now=now, policy=policy)


def _match(
    store: ApprovalStore,
    outbox: TokenStore,
    mailbox: MailboxConfig,
    token: str,
    sender: str,
    *,
    key: bytes,
    now: datetime,
) -> tuple[Draft | None, Verdict]:
    """The draft this token was minted for (one HMAC per known draft of the mailbox) and the
    verdict. A token for a draft that is no longer waiting counts as used."""
    for draft in store.list_drafts(KNOWN):
        if draft.mailbox != mailbox.name:
            continue
        verdict = verify(
            token,
            key,
            draft_id=draft.draft_id,
            content_digest=content_digest(draft),
            sender=sender,
            approvers=mailbox.approvers,
            now=now,
            used=outbox.used_tokens(draft.draft_id),
        )
        if verdict.reason in (VerdictReason.NOT_APPROVER, VerdictReason.MALFORMED):
            return None, verdict
        if verdict.reason is VerdictReason.BAD_TOKEN:
            continue
        if verdict.ok and draft.status not in WAITING:
            return draft, Verdict(
                VerdictReason.USED, f"draft {draft.draft_id} is {draft.status.value} already"
            )
        return draft, verdict
    return None, Verdict(VerdictReason.BAD_TOKEN, "the token matches no draft of this approver")


def _command(full_text: str, reply_text: str) -> Command:
    """Edits are read from the whole text (the reply extraction could cut a signature inside
    them); one-word commands from the reply without its quoted history."""
    unquoted = [
        line.strip() for line in full_text.splitlines() if not line.lstrip().startswith(">")
    ]
    if any(EDIT_BEGIN.match(line) for line in unquoted):
        return parse_command(full_text)
    command = parse_command(reply_text)
    if command.kind is not CommandKind.UNKNOWN:
        return command
    own = parse_command("\n".join(own_lines(full_text)))  # e.g. bottom-posted under a tab quote
    return own if own.kind is not CommandKind.UNKNOWN else command


_ATTRIBUTION = re.compile(r"(wrote|schrieb|a écrit|escribió|写道)\s*[:：]\s*$", re.IGNORECASE)


def own_lines(text: str) -> list[str]:
    """The lines the approver typed: no quoted lines (`>` or an indented block, as s-nail
    quotes with a tab by default) and no "X wrote:" attribution line."""
    return [
        line
        for line in text.splitlines()
        if not line.startswith((">", "\t", "    ")) and not _ATTRIBUTION.search(line)
    ]


def _apply(
    store: ApprovalStore,
    outbox: TokenStore,
    mailbox: MailboxConfig,
    draft: Draft,
    command: Command,
    used: tuple[str, str, str],
    *,
    now: datetime,
    policy: OutboxPolicy | None,
) -> Answer:
    by = used[1]
    kind = command.kind
    if kind is CommandKind.UNKNOWN:
        return refuse(store, draft, command.detail)
    if kind in (CommandKind.APPROVE, CommandKind.EDIT):
        body = command.body if kind is CommandKind.EDIT else None
        return approve(
            store,
            outbox,
            mailbox,
            draft.draft_id,
            now=now,
            body=body,
            by=by,
            token=used,
            policy=policy,
        )
    if not outbox.use_token(draft.draft_id, used, now=now):
        return Answer(Outcome.ALREADY, "this answer was used before", draft.draft_id)
    if kind is CommandKind.REJECT:
        return reject(store, draft.draft_id, by=by)
    if kind is CommandKind.SNOOZE and command.snooze is not None:
        return snooze(store, draft.draft_id, command.snooze, now=now, by=by)
    return _settle(store, draft, kind, by)


def _settle(store: ApprovalStore, draft: Draft, kind: CommandKind, by: str) -> Answer:
    """`paid` marks the orders paid, `stop` pauses them; the draft is not sent either way."""
    status, outcome = (
        (OrderStatus.PAID, Outcome.PAID)
        if kind is CommandKind.PAID
        else (OrderStatus.PAUSED, Outcome.STOPPED)
    )
    for order_id in draft.order_ids:
        store.set_order_status(order_id, status, reason=f"{kind.value} by {by}")
    store.set_draft_status(draft.draft_id, DraftStatus.REJECTED, reason=f"{kind.value} by {by}")
    return Answer(outcome, f"orders {', '.join(draft.order_ids)} {status.value}", draft.draft_id)


def _forged(store: ApprovalStore, sender: str, why: str, draft: Draft | None = None) -> Answer:
    order_id = draft.order_ids[0] if draft and draft.order_ids else None
    draft_id = draft.draft_id if draft else None
    store.audit("approval.rejected", order_id=order_id, detail=f"from {sender}: {why}")
    log.warning("approval reply from %s rejected: %s", sender, why)
    notice = f"An answer from {sender} was not accepted: {why}. Nothing was sent."
    return Answer(Outcome.REFUSED, why, draft_id, notice=notice)


def notice_mail(
    mailbox: MailboxConfig,
    text: str,
    *,
    now: datetime,
    subject: str = "dunbot: an answer was not accepted",
    to: Sequence[str] = (),
) -> tuple[bytes, Sequence[str]]:
    """A notice to the approvers (never to the sender of a forgery), or to `to` (an alert to
    the manager); Auto-Submitted."""
    recipients = tuple(to) or tuple(mailbox.approvers)
    msg = EmailMessage(policy=SMTP)
    msg["From"] = mailbox.address
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = header_text(subject)  # may quote a customer's subject
    msg["Date"] = format_datetime(now)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text + "\n", charset="utf-8")
    return msg.as_bytes(), recipients
