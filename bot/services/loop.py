"""One pass of the whole loop for one mailbox: the order `sync --once` and the daemon follow.

1. ingest: new mail is fetched, understood and threaded; mail that is dunbot's own business
   (approval requests, approvers' answers carrying a token) is diverted: stored unthreaded,
   never as a customer's message, and each answer in INBOX goes to `answer_by_mail`;
2. snoozes that are over release their drafts (the planner decides again);
3. look again: a draft waiting or queued for sending is held (superseded, the approver told
   why) when the customer answered or paid, or the salesperson wrote to them, since it was made;
4. the planning tick writes new drafts;
5. each new pending draft is queued at once when its rule step says `mode: send` and nothing
   forbids it (dispute, cancel, competitor, an unmatched thread, an auto-submitted message,
   the daily cap), else mailed once to each approver, and that is recorded;
6. the outbox sends what is due (exactly once; see bot.services.outbox).

Time is `now`, read at the edge. Notices to approvers are Auto-Submitted (bot.services.approval_mail).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from bot.config import Config, MailboxConfig
from bot.core.model import Draft, DraftStatus, ParsedMessage
from bot.core.reply import extract_reply
from bot.errors import BotError
from bot.ports import Delivered, Mailbox, MessageRecord, Sender, SentFolder, Store
from bot.services.alerts import notify, send_alerts
from bot.services.approval_mail import answer_by_mail, approval_request, is_auto_submitted
from bot.services.approve import Answer, ApprovalStore, Outcome, TokenStore, approve
from bot.services.guards import (
    day_start,
    is_dunbot_mail,
    last_customer_message,
    message_id_of,
    message_line,
    news_since,
    order_line,
    outbox_policy,
    unattended_block,
)
from bot.services.ingest import Knowledge, MailboxSpec, ProgressFn, SyncReport, sync_mailbox
from bot.services.outbox import OutboxReport, send_due
from bot.services.tick import TickReport

log = logging.getLogger(__name__)
LOOKED_AT = (DraftStatus.PENDING, DraftStatus.SNOOZED, DraftStatus.APPROVED)


class LoopStore(Store, ApprovalStore, Protocol):
    """What the loop needs of the database (SqlStore)."""

    def messages_for_order(self, order_id: str) -> list[MessageRecord]: ...

    def next_due(self, order_id: str) -> datetime | None: ...


class LoopOutbox(TokenStore, Protocol):
    """What the loop needs of the outbox (SqlOutbox)."""

    def hold(self, draft_id: str, *, reason: str, now: datetime, status: DraftStatus) -> bool: ...

    def requested(self, draft_id: str) -> set[str]: ...

    def record_request(
        self, draft_id: str, approver: str, *, message_id: str, now: datetime
    ) -> bool: ...

    def unattended_since(self, mailbox: str, since: datetime) -> int: ...


class LoopMailbox(Mailbox, SentFolder, Protocol):
    """One IMAP account: read (ingest) and the Sent folder (exactly-once sending)."""


@dataclass(slots=True)
class LoopReport:
    """What one pass of one mailbox did."""

    mailbox: str
    sync: SyncReport | None = None
    answers: list[Answer] = field(default_factory=list)
    released: list[str] = field(default_factory=list)  # snoozes over: re-planned
    held: list[tuple[str, str]] = field(default_factory=list)  # (draft_id, why)
    tick: TickReport | None = None
    alerts: int = 0  # alert mails sent (salesperson, manager)
    requested: list[str] = field(default_factory=list)  # draft ids mailed to approvers
    unattended: list[str] = field(default_factory=list)  # draft ids queued without approval
    sent: OutboxReport | None = None

    def summary(self) -> str:
        answered = ", ".join(f"{a.draft_id or '?'} {a.outcome.value}" for a in self.answers)
        sent = self.sent
        return (
            f"{len(self.answers)} answer(s){f' ({answered})' if answered else ''}, "
            f"{len(self.held)} held, {len(self.released)} released, {self.alerts} alert(s), "
            f"{len(self.requested)} approval request(s), {len(self.unattended)} unattended, "
            f"{len(sent.sent) if sent else 0} sent, {len(sent.failed) if sent else 0} failed"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Loop:
    """The loop's dependencies; `run_mailbox` is one pass (see the module docstring)."""

    config: Config
    store: LoopStore
    outbox: LoopOutbox
    knowledge: Knowledge
    tick: Callable[[datetime], TickReport]
    owner: str | None = None  # names this daemon in the outbox leases

    def run_mailbox(
        self,
        mailbox: MailboxConfig,
        imap: LoopMailbox,
        sender: Sender,
        *,
        now: datetime,
        progress: ProgressFn | None = None,
    ) -> LoopReport:
        report = LoopReport(mailbox.name)
        report.sync = self.ingest(mailbox, imap, sender, now=now, report=report, progress=progress)
        self.after_ingest(mailbox, imap, sender, now=now, report=report)
        return report

    def ingest(
        self,
        mailbox: MailboxConfig,
        imap: LoopMailbox,
        sender: Sender,
        *,
        now: datetime,
        report: LoopReport,
        progress: ProgressFn | None = None,
    ) -> SyncReport:
        """Fetch new mail; approvers' answers found in INBOX are acted on as they are read."""
        key = self._key(mailbox)
        spec = MailboxSpec(
            name=mailbox.name,
            address=mailbox.address,
            inbox=mailbox.folders.inbox,
            sent=mailbox.folders.sent,
            divert=lambda folder, msg: self._divert(mailbox, folder, msg, key, now, report),
        )
        synced = sync_mailbox(spec, imap, self.store, self.knowledge, now=now, progress=progress)
        for answer in report.answers:
            if answer.notice:
                notify(mailbox, sender, answer.notice, now=now)
        return synced

    def after_ingest(
        self,
        mailbox: MailboxConfig,
        imap: SentFolder,
        sender: Sender,
        *,
        now: datetime,
        report: LoopReport,
    ) -> None:
        """Release snoozes, look again, plan, ask or queue, send."""
        report.released = self.release_snoozes(mailbox, now=now)
        report.held = self.look_again(mailbox, sender, now=now)
        report.tick = self.tick(now)
        report.alerts = send_alerts(self.outbox, mailbox, sender, report.tick, now=now)
        self.ask_or_queue(mailbox, sender, now=now, report=report)
        report.sent = send_due(
            self.outbox,
            mailbox,
            sender,
            imap,
            now=now,
            owner=self.owner,
            policy=outbox_policy(mailbox),
        )
        for message_id, why in report.sent.failed:
            text = f"The follow-up {message_id} was not sent: {why}."
            notify(mailbox, sender, text, now=now, subject="dunbot: a follow-up failed")

    # ---- 1. approvers' answers --------------------------------------------------------------

    def _key(self, mailbox: MailboxConfig) -> bytes:
        """The approval key; without one, an error only when a draft of this mailbox waits."""
        try:
            return self.config.approval_key()
        except BotError:
            if any(d.mailbox == mailbox.name for d in self.store.list_drafts(LOOKED_AT)):
                raise
            return b""

    def _divert(
        self,
        mailbox: MailboxConfig,
        folder: str,
        msg: ParsedMessage,
        key: bytes,
        now: datetime,
        report: LoopReport,
    ) -> bool:
        if not is_dunbot_mail(msg, mailbox):
            return False
        if folder == mailbox.folders.inbox and not is_auto_submitted(msg):
            reply = extract_reply(msg.text, self.knowledge.understanding.quotes)
            answer = answer_by_mail(
                self.store,
                self.outbox,
                mailbox,
                msg,
                key=key,
                now=now,
                reply_text=reply,
                authserv_id=self.config.trusted_authserv_id,
                policy=outbox_policy(mailbox),
            )
            log.info("approval mail %s from %s: %s", msg.message_id, msg.sender.email, answer)
            report.answers.append(answer)
        return True

    # ---- 2. and 3. snoozes and looking again ------------------------------------------------

    def release_snoozes(self, mailbox: MailboxConfig, *, now: datetime) -> list[str]:
        """Snoozed drafts whose time is up are superseded; their orders are planned again."""
        released: list[str] = []
        for draft in self._drafts(mailbox, (DraftStatus.SNOOZED,)):
            due = [self.store.next_due(order_id) for order_id in draft.order_ids]
            if any(at is not None and at > now for at in due):
                continue
            self.store.set_draft_status(
                draft.draft_id, DraftStatus.SUPERSEDED, reason="the snooze is over: re-planned"
            )
            for order_id in draft.order_ids:
                self.store.set_next_due(order_id, None)
            released.append(draft.draft_id)
        return released

    def look_again(
        self, mailbox: MailboxConfig, sender: Sender, *, now: datetime
    ) -> list[tuple[str, str]]:
        """Hold every waiting or queued draft the conversation has overtaken; tell why."""
        held: list[tuple[str, str]] = []
        for draft in self._drafts(mailbox, LOOKED_AT):
            orders = [self.store.get_order(order_id) for order_id in draft.order_ids]
            records = {o.order_id: self.store.messages_for_order(o.order_id) for o in orders}
            why = news_since(draft, orders, records)
            if why is None or not self._hold(draft, why, now):
                continue
            held.append((draft.draft_id, why))
            text = f"Draft {draft.draft_id} ({draft.subject}) is held and not sent: {why}."
            text += " dunbot plans the order again."
            subject = f"dunbot: held, not sent: {draft.subject}"
            notify(mailbox, sender, text, now=now, subject=subject)
        return held

    def _hold(self, draft: Draft, why: str, now: datetime) -> bool:
        if draft.status is DraftStatus.APPROVED:
            done = self.outbox.hold(
                draft.draft_id, reason=why, now=now, status=DraftStatus.SUPERSEDED
            )
        else:
            self.store.set_draft_status(
                draft.draft_id, DraftStatus.SUPERSEDED, reason=f"held: {why}"
            )
            done = True
        if done:
            for order_id in draft.order_ids:
                self.store.set_next_due(order_id, None)
        return done

    # ---- 5. asking or queueing --------------------------------------------------------------

    def ask_or_queue(
        self, mailbox: MailboxConfig, sender: Sender, *, now: datetime, report: LoopReport
    ) -> None:
        """Each pending draft: queued now (mode: send, nothing against it) or mailed for approval
        once per approver."""
        drafts = self._drafts(mailbox, (DraftStatus.PENDING,))
        if not drafts:
            return
        for draft in drafts:
            asked = self.outbox.requested(draft.draft_id)
            why_not = None if asked else self.unattended_block(mailbox, draft, now=now)
            if draft.mode == "send" and not asked and why_not is None:
                answer = approve(
                    self.store,
                    self.outbox,
                    mailbox,
                    draft.draft_id,
                    now=now,
                    by="the rules (mode: send)",
                    policy=outbox_policy(mailbox),
                )
                if answer.outcome is Outcome.QUEUED:
                    report.unattended.append(draft.draft_id)
                    continue
                why_not = answer.detail
            if self._ask(mailbox, sender, draft, asked, now=now, note=why_not):
                report.requested.append(draft.draft_id)

    def unattended_block(
        self, mailbox: MailboxConfig, draft: Draft, *, now: datetime
    ) -> str | None:
        """Why this draft may not go out without approval (None: it may)."""
        if draft.mode != "send":
            return None
        records = [r for o in draft.order_ids for r in self.store.messages_for_order(o)]
        why = unattended_block(draft, records)
        if why:
            return why
        since = day_start(now, self.config)
        if self.outbox.unattended_since(mailbox.name, since) >= mailbox.daily_send_cap:
            return f"the daily cap of {mailbox.daily_send_cap} unattended sends is reached"
        return None

    def _ask(
        self,
        mailbox: MailboxConfig,
        sender: Sender,
        draft: Draft,
        asked: set[str],
        *,
        now: datetime,
        note: str | None,
    ) -> bool:
        if set(mailbox.approvers) <= asked:
            return False
        key = self.config.approval_key()  # ConfigError naming the variable when it is unset
        context = self.context(draft)
        if draft.mode == "send" and note:
            context += f"\nThis step may be sent unattended, but not now: {note}."
        mailed = False
        for approver in mailbox.approvers:
            if approver in asked:
                continue
            raw = approval_request(
                draft, mailbox, approver, key, now=now, context=context, ttl=self.config.draft_ttl
            )
            result = sender.send_sync(raw, sender=mailbox.address, recipients=[approver])
            if not isinstance(result, Delivered):
                log.warning("approval request %s to %s: %s", draft.draft_id, approver, result)
                continue
            self.outbox.record_request(
                draft.draft_id, approver, message_id=message_id_of(raw), now=now
            )
            mailed = True
        return mailed

    def context(self, draft: Draft) -> str:
        """What the approver needs to decide: amount, days overdue, the last customer message
        and what dunbot understood of it, and why this draft now."""
        lines: list[str] = []
        for order_id in draft.order_ids:
            order = self.store.get_order(order_id)
            lines.append(order_line(order, draft.created_at))
            last = last_customer_message(self.store.messages_for_order(order_id))
            if last is not None:
                lines.append(message_line(last))
        lines.append(f"Why now: {draft.reason}")
        return "\n".join(lines)

    # ---- helpers ----------------------------------------------------------------------------

    def _drafts(self, mailbox: MailboxConfig, statuses: Sequence[DraftStatus]) -> list[Draft]:
        return [d for d in self.store.list_drafts(statuses) if d.mailbox == mailbox.name]


__all__ = [
    "Loop",
    "LoopMailbox",
    "LoopOutbox",
    "LoopReport",
    "LoopStore",
]
