"""What every policy rule looks at (`Context`), the shape of a rule, and how a decision is built.

Pure: send times come from bot.core.calendar with the customer's zone, country and spacing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from bot.core.calendar import CalendarRules, local_start, next_send_time
from bot.core.decision import Action, Decision, Event, Notice
from bot.core.model import Direction, Kind, Order, OrderStatus
from bot.core.ruleset import Answer, LadderStep, Mode, Ruleset


@dataclass(frozen=True)
class Context:
    """Everything a rule looks at, computed once per decision."""

    order: Order
    rules: Ruleset
    history: tuple[Event, ...]
    now: datetime
    tz: ZoneInfo
    sent: tuple[datetime, ...]
    language: str
    reliable_payer: bool = False
    pending: tuple[Event, ...] = field(default=())  # inbound after our last outgoing message

    @property
    def country(self) -> str | None:
        return self.order.country

    def send_time(self, earliest: datetime, *, on_time_for: date | None = None) -> datetime:
        """The first allowed follow-up time at or after `earliest` (spacing included)."""
        cal = self.rules.calendar
        return next_send_time(
            earliest,
            tz=self.tz,
            country=self.country,
            window=cal.send_window(),
            rules=cal.rules(),
            sent=self.sent,
            on_time_for=on_time_for,
        )

    def reply_time(self, earliest: datetime) -> datetime:
        """An answer to the customer goes out promptly: a business day, in the window."""
        lenient = CalendarRules(avoid_first_working_day_of_week=False, avoid_first_days_of_month=0)
        return next_send_time(
            earliest,
            tz=self.tz,
            country=self.country,
            window=self.rules.calendar.send_window(),
            rules=lenient,
            spacing=False,
        )

    def day_start(self, day: date) -> datetime:
        return local_start(day, self.rules.calendar.send_window(), self.tz)

    def local_date(self, at: datetime) -> date:
        return at.astimezone(self.tz).date()


# A rule looks at the context and returns (decision or None, why).
Verdict = tuple[Decision | None, str]


@dataclass(frozen=True)
class Rule:
    id: str
    check: Callable[[Context], Verdict]


def customer_language(order: Order, history: Sequence[Event]) -> str:
    """The language of their last reply, else the order's, else English."""
    for e in reversed(history):
        if e.direction is Direction.IN and e.kind is Kind.HUMAN and e.language:
            return e.language
    return order.language or "en"


def make_decision(
    ctx: Context,
    action: Action,
    rule_id: str,
    reason: str,
    *,
    at: datetime | None | Literal["now"] = "now",
    template: str | None = None,
    mode: Mode | None = None,
    recipients: tuple[str, ...] = (),
    alerts: tuple[Notice, ...] = (),
    status: OrderStatus | None = None,
    flag_contact: str | None = None,
) -> Decision:
    return Decision(
        action=action,
        at=ctx.now if at == "now" else at,
        reason=reason,
        rule_id=rule_id,
        language=ctx.language,
        template=template,
        mode=mode if template else None,
        recipients=recipients if template else (),
        alerts=alerts,
        status=status,
        flag_contact=flag_contact,
    )


def notices(rule: Answer | LadderStep, why: str) -> tuple[Notice, ...]:
    return tuple(Notice(who, why) for who in rule.alert)
