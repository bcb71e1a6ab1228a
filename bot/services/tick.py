"""The planning tick: due orders -> the policy -> drafts in the approval queue, and the audit log.

`run_tick(store, ruleset, renderer, config, now=...)` is one pass; the scheduler (and
`sync --once`) call it with `now` read at the edge. Per due order (an indexed query, see
bot/adapters/store/drafts.py): load the conversation, decide with the spacing of ALL of that
customer's mail, audit the decision, apply a stop (status), record alerts, and set when to look
again. Actions due now become drafts with a fixed Message-ID, threaded to the conversation's last
message, addressed only to the order's own contacts. A customer's follow-ups due on the same
tick are merged into one draft (one customer, one voice). An order with a live draft gets no
second one; a pending draft older than `stale_after`, or overtaken by a reply, is superseded and
re-planned instead of being sent stale. After downtime the core proposes only the latest due step,
and the draft's existence holds the order back until it is sent or superseded: no burst, no loop.

Alerts (salesperson, manager) are audit entries `alert.<who>` naming the address they are for;
the approval work turns them into mail.

Drafts skip addresses that bounced (bot.services.bounces); when that leaves nobody, the
salesperson is alerted instead. Whatever the tick writes is dated `now` (`sync --now`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from typing import Protocol

from bot.config import Config, MailboxConfig
from bot.core.decision import Action, Decision, Event, Notice
from bot.core.model import Draft, DraftStatus, Order, OrderStatus
from bot.core.policy import next_action
from bot.core.ruleset import Ruleset
from bot.errors import BotError
from bot.ports import MessageRecord
from bot.services.bounces import BounceStore, drafts_to, nobody_left, record_bounce
from bot.services.letters import Letter, Renderer, addressees, compose
from bot.services.plan import audit_detail, history_of, reliable_payer

log = logging.getLogger(__name__)

FAR_FUTURE = datetime(9000, 1, 1, tzinfo=UTC)  # "only a new message or status change wakes it"
MAIL_ACTIONS = frozenset({Action.FOLLOW_UP, Action.ANSWER, Action.ESCALATE})
RULES_KEY = "rules"
LIVE = (DraftStatus.PENDING, DraftStatus.APPROVED, DraftStatus.SNOOZED, DraftStatus.HELD)


class DueOrdersLike(Protocol):
    @property
    def order_ids(self) -> tuple[str, ...]: ...
    @property
    def watermark(self) -> int: ...


class TickStore(BounceStore, Protocol):
    """What the tick needs of the store (SqlStore implements it)."""

    def due_orders(self, now: datetime, *, limit: int | None = None) -> DueOrdersLike: ...
    def commit_watermark(self, value: int) -> None: ...
    def tick_value(self, name: str) -> int | None: ...
    def set_tick_value(self, name: str, value: int) -> None: ...
    def replan_open_orders(self) -> int: ...
    def set_next_due(self, order_id: str, at: datetime | None) -> None: ...
    def get_order(self, order_id: str) -> Order: ...
    def customer_orders(self, customer_email: str) -> list[Order]: ...
    def messages_for_order(self, order_id: str) -> list[MessageRecord]: ...
    def sent_to_customer(self, customer_email: str) -> list[datetime]: ...
    def drafts_for_order(
        self, order_id: str, statuses: Iterable[DraftStatus] | None = None
    ) -> list[tuple[Draft, str]]: ...
    def add_draft(self, draft: Draft, rule_ids: Mapping[str, str] | None = None) -> bool: ...
    def set_draft_status(
        self, draft_id: str, status: DraftStatus, *, reason: str, at: datetime | None = None
    ) -> None: ...
    def set_order_status(
        self, order_id: str, status: OrderStatus, *, reason: str, at: datetime | None = None
    ) -> None: ...
    def audit(
        self, event: str, *, order_id: str | None, detail: str, at: datetime | None = None
    ) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class TickOptions:
    stale_after: timedelta = timedelta(days=3)  # a pending draft older than this is re-planned
    retry_after: timedelta = timedelta(hours=1)  # after an error with one order
    price_valid_days: int = 14  # `valid_until` in the templates: today + this


@dataclass(slots=True)
class TickReport:
    planned: int = 0
    drafts: list[Draft] = field(default_factory=list)
    superseded: int = 0
    stopped: int = 0
    alerts: int = 0
    errors: list[str] = field(default_factory=list)
    decisions: dict[str, Decision] = field(default_factory=dict)

    def summary(self) -> str:
        merged = sum(1 for d in self.drafts if len(d.order_ids) > 1)
        return (
            f"planned {self.planned} order(s): {len(self.drafts)} draft(s) ({merged} merged), "
            f"{self.superseded} superseded, {self.stopped} stopped, {self.alerts} alert(s), "
            f"{len(self.errors)} error(s)"
        )


@dataclass(frozen=True, slots=True)
class _Due:
    """An order whose mail is due now: the letter is written after all orders are planned."""

    order: Order
    decision: Decision
    history: tuple[Event, ...]


def run_tick(
    store: TickStore,
    ruleset: Ruleset,
    renderer: Renderer,
    config: Config,
    *,
    now: datetime,
    options: TickOptions | None = None,
) -> TickReport:
    """Plan every due order as of `now` (aware) and write the drafts that are due."""
    opts = options or TickOptions()
    report = TickReport()
    _rules_changed(store, ruleset, now)
    due = store.due_orders(now)
    mails: list[_Due] = []
    for order_id in due.order_ids:
        try:
            item = _plan_one(store, ruleset, config, order_id, now, opts, report)
        except BotError as exc:
            _failed(store, order_id, now, opts, report, exc)
            continue
        if item is not None:
            mails.append(item)
    for group in _groups(mails, ruleset):
        _draft_group(store, renderer, config, group, ruleset, now, opts, report)
    store.commit_watermark(due.watermark)
    log.info("tick %s: %s", now.isoformat(), report.summary())
    return report


def rules_fingerprint(ruleset: Ruleset) -> int:
    """A 63-bit digest of the rules' content (not of where they were read from)."""
    text = ruleset.model_dump_json(exclude={"source"})
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


def _rules_changed(store: TickStore, ruleset: Ruleset, now: datetime) -> None:
    """New rules (edited, or changed while dunbot was down) apply to every open order now."""
    digest = rules_fingerprint(ruleset)
    known = store.tick_value(RULES_KEY)
    if known == digest:
        return
    if known is not None:
        count = store.replan_open_orders()
        detail = f"{count} open order(s) re-planned"
        store.audit("rules.changed", order_id=None, detail=detail, at=now)
        log.info("tick: rules changed; %d open order(s) re-planned", count)
    store.set_tick_value(RULES_KEY, digest)


def _failed(
    store: TickStore,
    order_id: str,
    now: datetime,
    opts: TickOptions,
    report: TickReport,
    exc: Exception,
) -> None:
    """One order's failure is logged, audited and retried later; the tick goes on."""
    log.error("tick: order %s: %s", order_id, exc)
    report.errors.append(f"{order_id}: {exc}")
    store.audit("tick.error", order_id=order_id, detail=str(exc), at=now)
    store.set_next_due(order_id, now + opts.retry_after)


def _plan_one(
    store: TickStore,
    ruleset: Ruleset,
    config: Config,
    order_id: str,
    now: datetime,
    opts: TickOptions,
    report: TickReport,
) -> _Due | None:
    order = store.get_order(order_id)
    records = store.messages_for_order(order_id)
    history = history_of(records, store.drafts_for_order(order_id, [DraftStatus.SENT]))
    live = store.drafts_for_order(order_id, LIVE)
    live = _supersede(store, live, lambda d, _r: _stale(d, now, opts), report, now)
    if any(d.status is not DraftStatus.PENDING for d, _ in live):  # the approval work has it
        store.set_next_due(order_id, now + opts.stale_after)
        return None
    report.planned += 1
    decision = next_action(
        order,
        history,
        ruleset,
        now=now,
        sent_to_customer=store.sent_to_customer(order.customer_email),
        default_tz=config.timezone,
        reliable_payer=reliable_payer(order, store.customer_orders(order.customer_email)),
    )
    report.decisions[order_id] = decision
    store.audit("plan.decision", order_id=order_id, detail=audit_detail(decision, now), at=now)
    flagged = record_bounce(store, order, decision, records, now)
    if flagged:  # the customer's drafts still waiting for approval are re-planned without it
        why = f"{flagged} bounced since it was drafted: re-planned"
        _supersede(store, drafts_to(store, order, flagged), lambda _d, _r: why, report, now)
    store.revive_contacts(order.customer_email, now=now)  # after flagging: a reply may be newer
    live = _supersede(store, live, lambda _d, rule: _overtaken(rule, decision), report, now)
    if live:  # the pending draft still says what the rules say: it stands
        store.set_next_due(order_id, min(d.created_at + opts.stale_after for d, _ in live))
        return None
    _side_effects(store, config, order, decision, report, now)
    if _mail_due(decision, now):
        return _Due(order, decision, tuple(history))
    store.set_next_due(order_id, next_look(order, decision, now))
    return None


def _supersede(
    store: TickStore,
    live: Sequence[tuple[Draft, str]],
    why_not: Callable[[Draft, str], str | None],
    report: TickReport,
    now: datetime,
) -> list[tuple[Draft, str]]:
    """Supersede the drafts `why_not` has a reason against; their other orders are re-planned."""
    kept: list[tuple[Draft, str]] = []
    for draft, rule in live:
        why = why_not(draft, rule)
        if why is None:
            kept.append((draft, rule))
            continue
        store.set_draft_status(draft.draft_id, DraftStatus.SUPERSEDED, reason=why, at=now)
        report.superseded += 1
        for other in draft.order_ids:
            store.set_next_due(other, None)
    return kept


def _stale(draft: Draft, now: datetime, opts: TickOptions) -> str | None:
    if draft.status is DraftStatus.PENDING and now - draft.created_at >= opts.stale_after:
        return f"not approved within {opts.stale_after.days} day(s): re-planned, never sent stale"
    return None


def _overtaken(rule: str, decision: Decision) -> str | None:
    """A pending draft stands while the rules still pick the same rule for its order."""
    if rule == decision.rule_id:
        return None
    return f"the plan changed since it was drafted: now {decision.rule_id} ({decision.reason})"


def _mail_due(decision: Decision, now: datetime) -> bool:
    return (
        decision.action in MAIL_ACTIONS
        and decision.template is not None
        and decision.at is not None
        and decision.at <= now
    )


def next_look(order: Order, decision: Decision, now: datetime) -> datetime:
    """When to plan this order again: the decision's time, the due date, or only on news."""
    if decision.at is not None and decision.at > now:
        return decision.at
    if decision.action is Action.NONE and order.due_date is not None:
        day_before = datetime.combine(order.due_date - timedelta(days=1), time(), UTC)
        if day_before > now:
            return day_before
    return FAR_FUTURE


def _side_effects(
    store: TickStore,
    config: Config,
    order: Order,
    decision: Decision,
    report: TickReport,
    now: datetime,
) -> None:
    """A stop changes the order's status; alerts go to the audit log."""
    if decision.status is not None and decision.status is not order.status:
        store.set_order_status(order.order_id, decision.status, reason=decision.reason, at=now)
        report.stopped += 1
    mailbox = mailbox_for(config, order)
    for alert in decision.alerts:
        _alert(store, mailbox, order.order_id, alert, now)
        report.alerts += 1


def _alert(
    store: TickStore, mailbox: MailboxConfig | None, order_id: str, alert: Notice, now: datetime
) -> None:
    to = alert_address(mailbox, alert.to)
    store.audit(f"alert.{alert.to}", order_id=order_id, detail=f"to {to}: {alert.why}", at=now)


def mailbox_for(config: Config, order: Order) -> MailboxConfig | None:
    """The order's mailbox, else the first configured one (None: no mailbox configured)."""
    for mailbox in config.mailboxes:
        if mailbox.name == order.mailbox:
            return mailbox
    return config.mailboxes[0] if config.mailboxes else None


def alert_address(mailbox: MailboxConfig | None, who: str) -> str:
    if mailbox is None:
        return who
    if who == "manager" and mailbox.manager:
        return mailbox.manager
    return ", ".join(mailbox.approvers) or mailbox.address


def _groups(mails: Sequence[_Due], ruleset: Ruleset) -> list[list[_Due]]:
    """Follow-ups of one customer (and mailbox) form one group; answers stay on their own."""
    groups: dict[tuple[str, ...], list[_Due]] = {}
    for item in mails:
        if item.decision.action is Action.FOLLOW_UP:
            key: tuple[str, ...] = (item.order.customer_email.lower(), item.order.mailbox or "")
        else:
            key = ("order", item.order.order_id)
        groups.setdefault(key, []).append(item)
    return [sorted(g, key=lambda d: _pressure(ruleset, d), reverse=True) for g in groups.values()]


def _pressure(ruleset: Ruleset, item: _Due) -> tuple[int, str]:
    """The most advanced step leads a merged letter (the due-date reminder ranks lowest)."""
    step = ruleset.for_order(item.order).step(item.decision.rule_id)
    return (-1 if step is None else step, item.order.order_id)


def _draft_group(
    store: TickStore,
    renderer: Renderer,
    config: Config,
    group: Sequence[_Due],
    ruleset: Ruleset,
    now: datetime,
    opts: TickOptions,
    report: TickReport,
) -> None:
    letters = [Letter(d.order, d.decision, d.history) for d in group]
    mailbox = mailbox_for(config, group[0].order)
    dead = store.bounced_addresses(group[0].order.customer_email)
    if dead and addressees(letters[0], mailbox, dead).nobody:
        _nobody_left(store, mailbox, group, dead, now, opts, report)
        return
    try:
        letter = compose(
            letters,
            renderer,
            mailbox,
            now=now,
            price_valid_days=opts.price_valid_days,
            bounced=dead,
        )
    except BotError as exc:
        for item in group:
            _failed(store, item.order.order_id, now, opts, report, exc)
        return
    rules = {d.order.order_id: d.decision.rule_id for d in group}
    stored = store.add_draft(letter, rules)
    if stored:
        report.drafts.append(letter)
    for item in group:
        store.set_next_due(item.order.order_id, now + opts.stale_after)


def _nobody_left(
    store: TickStore,
    mailbox: MailboxConfig | None,
    group: Sequence[_Due],
    dead: frozenset[str],
    now: datetime,
    opts: TickOptions,
    report: TickReport,
) -> None:
    """Every address of the order bounced: no draft (nothing can be sent); the salesperson is
    told, once per order and rule (bot.services.alerts), and the order is looked at again later."""
    notice = nobody_left(dead)
    for item in group:
        order_id = item.order.order_id
        report.decisions[order_id] = replace(
            item.decision,
            action=Action.ESCALATE,
            reason=f"{item.decision.reason}; {notice.why}",
            alerts=(*item.decision.alerts, notice),
        )
        _alert(store, mailbox, order_id, notice, now)
        report.alerts += 1
        store.set_next_due(order_id, now + opts.stale_after)


__all__ = [
    "FAR_FUTURE",
    "Renderer",
    "TickOptions",
    "TickReport",
    "TickStore",
    "next_look",
    "run_tick",
]
