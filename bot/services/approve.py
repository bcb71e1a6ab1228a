"""The approval queue's answers: approve / reject / snooze from the command line, and the
answers' shared vocabulary (Answer, Outcome, the stores they need). Email replies are read in
bot.services.approval_mail, which ends in the same three functions.

The command line is trusted (whoever runs it owns the database); what an email reply must carry
to count is described in bot.services.approval_mail.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from bot.config import MailboxConfig
from bot.core.approval import foreign_mentions
from bot.core.model import Draft, DraftStatus, Order, OrderStatus
from bot.errors import BotError
from bot.services.outbox import OutboxPolicy, OutboxStore, RecipientError, queue_draft

log = logging.getLogger(__name__)
WAITING = (DraftStatus.PENDING, DraftStatus.SNOOZED)
KNOWN = (*WAITING, DraftStatus.HELD, DraftStatus.APPROVED, DraftStatus.SENT, DraftStatus.REJECTED)
TOKEN_TTL = timedelta(days=7)


class ApprovalError(BotError):
    """The draft cannot take this answer (already rejected, superseded...); says why."""


class ApprovalStore(Protocol):
    """What answering a draft needs from the database (SqlStore)."""

    def get_draft(self, draft_id: str) -> Draft: ...

    def list_drafts(self, statuses: Iterable[DraftStatus] | None = None) -> list[Draft]: ...

    def set_draft_status(self, draft_id: str, status: DraftStatus, *, reason: str) -> None: ...

    def set_next_due(self, order_id: str, at: datetime | None) -> None: ...

    def get_order(self, order_id: str) -> Order: ...

    def list_orders(self, status: OrderStatus | None = None) -> list[Order]: ...

    def set_order_status(self, order_id: str, status: OrderStatus, *, reason: str) -> None: ...

    def audit(self, event: str, *, order_id: str | None, detail: str) -> None: ...


class TokenStore(OutboxStore, Protocol):
    def use_token(self, draft_id: str, token: tuple[str, str, str], *, now: datetime) -> bool: ...

    def used_tokens(self, draft_id: str) -> set[str]: ...


class Outcome(StrEnum):
    QUEUED = "queued"  # approved (or edited): in the outbox
    ALREADY = "already"  # approved before: sent once, nothing more
    REJECTED = "rejected"
    SNOOZED = "snoozed"
    PAID = "paid"
    STOPPED = "stopped"
    REFUSED = "refused"  # a forgery, an unknown command or a suspicious edit: nothing changed
    IGNORED = "ignored"  # auto-submitted or carries no token: not an answer at all


@dataclass(frozen=True, slots=True)
class Answer:
    outcome: Outcome
    detail: str
    draft_id: str | None = None
    notice: str | None = None  # what the approvers should be told, when something went wrong


# ---- the command line (trusted) ------------------------------------------------------------------


def approve(
    store: ApprovalStore,
    outbox: TokenStore,
    mailbox: MailboxConfig,
    draft_id: str,
    *,
    now: datetime,
    body: str | None = None,
    by: str = "the command line",
    token: tuple[str, str, str] | None = None,
    policy: OutboxPolicy | None = None,
) -> Answer:
    """Queue the draft for sending (with the edited `body` instead of its own, when given)."""
    draft = store.get_draft(draft_id)
    if draft.status in (DraftStatus.APPROVED, DraftStatus.SENT):
        return Answer(Outcome.ALREADY, f"{draft_id} was approved before; it is sent once", draft_id)
    _must_wait(draft)
    if body is not None:
        suspicious = _suspicious_edit(store, draft, body)
        if suspicious:
            return refuse(store, draft, f"the edited text mentions {suspicious}; not sent")
    policy = policy or OutboxPolicy()
    try:
        queued = queue_draft(outbox, draft, mailbox, now=now, body=body, token=token, policy=policy)
    except RecipientError as exc:
        return refuse(store, draft, str(exc))
    if not queued:
        return Answer(Outcome.ALREADY, f"{draft_id} was queued before; it is sent once", draft_id)
    what = "edited and approved" if body is not None else "approved"
    store.audit("draft.approved", order_id=draft.order_ids[0], detail=f"{draft_id} {what} by {by}")
    return Answer(Outcome.QUEUED, f"{draft_id} {what}; sent at the next sync", draft_id)


def reject(store: ApprovalStore, draft_id: str, *, by: str = "the command line") -> Answer:
    draft = store.get_draft(draft_id)
    _must_wait(draft)
    store.set_draft_status(draft_id, DraftStatus.REJECTED, reason=f"skipped by {by}")
    return Answer(
        Outcome.REJECTED, f"{draft_id} skipped; the planner decides again later", draft_id
    )


def snooze(
    store: ApprovalStore,
    draft_id: str,
    span: timedelta,
    *,
    now: datetime,
    by: str = "the command line",
) -> Answer:
    """Put the draft aside; its orders are looked at again (and re-planned) after `span`."""
    draft = store.get_draft(draft_id)
    _must_wait(draft)
    until = now + span
    store.set_draft_status(
        draft_id, DraftStatus.SNOOZED, reason=f"snoozed by {by} until {until.isoformat()}"
    )
    for order_id in draft.order_ids:
        store.set_next_due(order_id, until)
    return Answer(Outcome.SNOOZED, f"{draft_id} snoozed until {until:%Y-%m-%d %H:%M} UTC", draft_id)


def _must_wait(draft: Draft) -> None:
    if draft.status not in WAITING:
        raise ApprovalError(
            f"draft {draft.draft_id} is {draft.status.value}, not waiting for approval; "
            "see `dunbot queue list`"
        )


def _suspicious_edit(store: ApprovalStore, draft: Draft, body: str) -> str:
    own = [store.get_order(order_id) for order_id in draft.order_ids]
    return ", ".join(foreign_mentions(body, own, store.list_orders()))


def refuse(store: ApprovalStore, draft: Draft, why: str) -> Answer:
    store.audit(
        "approval.refused",
        order_id=draft.order_ids[0] if draft.order_ids else None,
        detail=f"{draft.draft_id}: {why}",
    )
    log.warning("approval of %s refused: %s", draft.draft_id, why)
    return Answer(
        Outcome.REFUSED,
        why,
        draft.draft_id,
        notice=f"Draft {draft.draft_id}: {why}. Please answer again.",
    )
