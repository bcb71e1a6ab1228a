"""Property tests of the follow-up policy: random conversations and random valid rules, walked
forward in time with the real policy and calendar, as the tick walks them.

The walk (`simulate`): at each instant every open order of one customer is decided; mail that is
due now goes out (the follow-ups of one instant merged into one mail, as the tick merges them;
answers and escalations with a template on their own), each taken as sent at its `at`; then
time jumps to the next planned `at` or the customer's next message. The properties are checked
on everything that went out, against an oracle that reads the `holidays` package directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.calendar import COUNTRY_ZONES, add_business_days, customer_zone
from bot.core.decision import Action, Decision, Event
from bot.core.model import Direction, Intent, Kind, Order, OrderStatus
from bot.core.policy import next_action
from bot.core.ruleset import CalendarSettings, DueDateRule, LadderStep, Ruleset
from bot.core.yamldoc import parse_yaml
from bot.paths import DEFAULT_RULES_DIR

RULES = Ruleset.from_docs(
    {
        "default": parse_yaml(
            (DEFAULT_RULES_DIR / "default.yaml").read_text(encoding="utf-8"), "rules/default.yaml"
        )
    }
)
COUNTRIES = ("CN", "DE", "US", "ES", "FR", "GB", "SG", "BR", "JP", "TR")
OTHER_ZONES = ("America/Los_Angeles", "Asia/Kolkata", "Pacific/Auckland", "Europe/Berlin")
START = datetime(2026, 1, 5, 9, 0, tzinfo=ZoneInfo("UTC"))
HORIZON = timedelta(days=120)
MAIL = frozenset({Action.FOLLOW_UP, Action.ANSWER, Action.ESCALATE})
HUMAN_INTENTS = tuple(i for i in Intent if i is not Intent.NONE)
ENDING = frozenset({Intent.PAID, Intent.CANCEL})
PROPERTY = settings(  # how many examples: the profile (tests/conftest.py)
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- what the strategies draw ---------------------------------------------------------------------


@dataclass(frozen=True)
class Inbound:
    """A message from the customer about one order, `after` the start."""

    order: int
    after: timedelta
    kind: Kind
    intent: Intent
    promised_in: int | None  # days after the message, for promise / absent / auto-reply


@dataclass(frozen=True)
class World:
    orders: tuple[Order, ...]
    inbound: tuple[Inbound, ...]
    rules: Ruleset
    default_tz: str


@dataclass(frozen=True)
class Sent:
    at: datetime
    order_id: str
    decision: Decision


@dataclass
class Run:
    world: World
    history: dict[str, list[Event]]
    status: dict[str, OrderStatus]
    sent: list[Sent] = field(default_factory=list)
    mails: list[datetime] = field(default_factory=list)  # one per mail: merged follow-ups once
    decisions: list[tuple[datetime, str, Decision]] = field(default_factory=list)


@st.composite
def rulesets(draw: st.DrawFn) -> Ruleset:
    start = draw(st.integers(6, 13))
    end = draw(st.integers(start + 1, min(start + 10, 23)))
    calendar = CalendarSettings(
        window=f"{start:02d}:00-{end:02d}:{draw(st.sampled_from(['00', '30']))}",
        min_gap=draw(st.integers(1, 7)),
        weekly_cap=draw(st.integers(0, 4)),
        avoid_first_working_day_of_week=draw(st.booleans()),
        avoid_first_days_of_month=draw(st.integers(0, 3)),
    )
    steps = draw(st.integers(1, 6))
    ladder = tuple(
        LadderStep(
            id=f"step-{i + 1}",
            after=draw(st.integers(1, 10)),
            template=RULES.ladder[i % len(RULES.ladder)].template,
            mode=draw(st.sampled_from(["draft", "send"])),
        )
        for i in range(steps)
    )
    due = DueDateRule(enabled=draw(st.booleans()), mode=draw(st.sampled_from(["draft", "send"])))
    return RULES.model_copy(update={"calendar": calendar, "ladder": ladder, "due_date": due})


@st.composite
def inbound(draw: st.DrawFn, n_orders: int) -> Inbound:
    kind = draw(st.sampled_from([Kind.HUMAN] * 6 + [Kind.AUTO_REPLY, Kind.BOUNCE]))
    intent = draw(st.sampled_from(HUMAN_INTENTS)) if kind is Kind.HUMAN else Intent.NONE
    dated = kind is Kind.AUTO_REPLY or intent in (Intent.PROMISE, Intent.ABSENT)
    return Inbound(
        order=draw(st.integers(0, n_orders - 1)),
        after=timedelta(minutes=draw(st.integers(60, 80 * 24 * 60))),
        kind=kind,
        intent=intent,
        promised_in=draw(st.none() | st.integers(-3, 30)) if dated else None,
    )


@st.composite
def worlds(draw: st.DrawFn) -> World:
    country = draw(st.sampled_from(COUNTRIES))
    zone = draw(st.none() | st.sampled_from((COUNTRY_ZONES[country], *OTHER_ZONES)))
    n = draw(st.integers(1, 3))
    orders = tuple(
        Order(
            order_id=f"PO-{i}",
            customer_email="buyer@customer.example",
            customer_name="Customer Ltd",
            amount=Decimal("1000.00"),
            currency="USD",
            due_date=draw(st.none() | st.dates(date(2026, 1, 1), date(2026, 4, 30))),
            country=country,
            timezone=zone,
            language="en",
        )
        for i in range(n)
    )
    messages = draw(st.lists(inbound(n), max_size=6))
    return World(orders, tuple(sorted(messages, key=lambda m: m.after)), draw(rulesets()), "UTC")


# --- the walk -----------------------------------------------------------------------------------


def event_of(world: World, m: Inbound) -> Event:
    at = START + m.after
    promised = None
    if m.promised_in is not None:
        promised = (at + timedelta(days=m.promised_in)).date()
    return Event(
        Direction.IN,
        at,
        kind=m.kind,
        intent=m.intent,
        promised=promised,
        bounce_recipient="buyer@customer.example" if m.kind is Kind.BOUNCE else None,
        sender="buyer@customer.example",
        language="en",
    )


def simulate(world: World) -> Run:
    run = Run(
        world,
        history={o.order_id: [Event(Direction.OUT, START, subject="PI")] for o in world.orders},
        status={o.order_id: o.status for o in world.orders},
    )
    pending = list(world.inbound)
    now, end = START, START + HORIZON
    for _ in range(400):
        while pending and START + pending[0].after <= now:
            m = pending.pop(0)
            run.history[world.orders[m.order].order_id].append(event_of(world, m))
        decisions = decide_all(run, now)
        due = [(oid, d) for oid, d in decisions if is_mail(d) and d.at == now]
        if due:
            send(run, now, due)
            continue  # decide again at the same instant, with the mail just sent
        later = [d.at for _, d in decisions if d.at is not None and d.at > now]
        if pending:
            later.append(START + pending[0].after)
        if not later or min(later) > end:
            return run
        now = min(later)
    raise AssertionError("the walk did not settle in 400 steps")


def is_mail(d: Decision) -> bool:
    return d.action in MAIL and d.template is not None


def decide_all(run: Run, now: datetime) -> list[tuple[str, Decision]]:
    out = []
    for o in run.world.orders:
        order = replace(o, status=run.status[o.order_id])
        d = next_action(
            order,
            run.history[o.order_id],
            run.world.rules,
            now=now,
            sent_to_customer=sorted(run.mails),
            default_tz=run.world.default_tz,
        )
        if d.status is not None:
            run.status[o.order_id] = d.status
        run.decisions.append((now, o.order_id, d))
        out.append((o.order_id, d))
    return out


def send(run: Run, now: datetime, due: list[tuple[str, Decision]]) -> None:
    """Follow-ups due together are one merged mail; answers go one by one (at the same time)."""
    for oid, d in due:
        assert d.at is not None
        run.sent.append(Sent(d.at, oid, d))
        run.history[oid].append(Event(Direction.OUT, d.at, rule_id=d.rule_id, subject="Re: PI"))
        if d.action is not Action.FOLLOW_UP:
            run.mails.append(d.at)
    if any(d.action is Action.FOLLOW_UP for _, d in due):
        run.mails.append(now)


# --- the oracle ---------------------------------------------------------------------------------


def zone_of(order: Order) -> ZoneInfo:
    return customer_zone(order.timezone, order.country, "UTC")


def working(day: date, country: str) -> bool:
    return bool(holidays.country_holidays(country, years=day.year).is_working_day(day))


def first_working_day_of_week(day: date, country: str) -> date | None:
    monday = day - timedelta(days=day.weekday())
    days = (monday + timedelta(days=k) for k in range(7))
    return next((d for d in days if working(d, country)), None)


def settlement_day(run: Run, s: Sent) -> date | None:
    """The documented exception: the agreed settlement date wins over the 'avoid' rules.
    That is the due-date reminder on the due date (or the business day before it), and the
    check-in the business day after a date the customer promised to pay by."""
    order = next(o for o in run.world.orders if o.order_id == s.order_id)
    rules = run.world.rules
    if s.decision.rule_id == rules.due_date.id and order.due_date is not None:
        day = order.due_date
        while not working(day, order.country or ""):
            day -= timedelta(days=1)
        return day
    if s.decision.rule_id == rules.answers["promise"].id:
        promised = [
            e.promised
            for e in run.history[s.order_id]
            if e.intent is Intent.PROMISE and e.promised and e.at < s.at
        ]
        if promised:
            return add_business_days(promised[-1], 1, order.country)
    return None


def follow_ups(run: Run) -> list[Sent]:
    return [s for s in run.sent if s.decision.action is Action.FOLLOW_UP]


# --- the properties -----------------------------------------------------------------------------


@PROPERTY
@given(worlds())
def test_follow_ups_keep_the_minimum_gap_and_the_weekly_cap(world: World) -> None:
    run = simulate(world)
    cal = world.rules.calendar
    tz = zone_of(world.orders[0])
    for f in follow_ups(run):
        local = f.at.astimezone(tz)
        before = [at for at in run.mails if at < f.at]
        for at in before:  # every earlier mail, answers included
            gap = (local.date() - at.astimezone(tz).date()).days
            assert gap >= cal.min_gap, (f, at, cal)
        week = local.isocalendar()[:2]
        in_week = [at for at in before if at.astimezone(tz).isocalendar()[:2] == week]
        if cal.weekly_cap:
            assert len(in_week) < cal.weekly_cap, (f, in_week, cal)


@PROPERTY
@given(worlds())
def test_follow_ups_only_on_allowed_days_inside_the_window(world: World) -> None:
    run = simulate(world)
    cal = world.rules.calendar
    window = cal.send_window()
    for s in run.sent:
        order = next(o for o in world.orders if o.order_id == s.order_id)
        country = order.country or ""
        local = s.at.astimezone(zone_of(order))
        if s.decision.action is Action.ESCALATE:
            continue  # a person reads it first; it goes when they send it
        assert window.start <= local.timetz().replace(tzinfo=None) < window.end, (s, cal)
        assert working(local.date(), country), (s, "not a working day / a public holiday")
        if s.decision.action is not Action.FOLLOW_UP:
            continue  # answers go out promptly on the next business day, in the window
        if local.date() == settlement_day(run, s):
            continue
        assert local.day > cal.avoid_first_days_of_month, (s, cal)
        if cal.avoid_first_working_day_of_week:
            assert first_working_day_of_week(local.date(), country) != local.date(), (s, cal)


@PROPERTY
@given(worlds())
def test_nothing_after_paid_or_cancel(world: World) -> None:
    run = simulate(world)
    for o in world.orders:
        ending = [
            e.at
            for e in run.history[o.order_id]
            if e.direction is Direction.IN and e.kind is Kind.HUMAN and e.intent in ENDING
        ]
        if not ending:
            continue
        paid = [
            e.at
            for e in run.history[o.order_id]
            if e.direction is Direction.IN and e.kind is Kind.HUMAN and e.intent is Intent.PAID
        ]
        for s in run.sent:
            if s.order_id != o.order_id:
                continue
            # after paid: nothing ever (the order is claimed paid until a person says otherwise)
            assert not paid or s.at < paid[0], (s, paid)
            # after cancel: nothing until the customer writes again
            # the last in conversation order: of two messages in one minute, the later one
            humans = [
                e
                for e in sorted(run.history[o.order_id], key=lambda e: e.at)
                if e.direction is Direction.IN and e.kind is Kind.HUMAN and e.at <= s.at
            ]
            last_human = humans[-1] if humans else None
            assert last_human is None or last_human.intent not in ENDING, (s, last_human)
        if paid:
            assert run.status[o.order_id] is OrderStatus.CLAIMED_PAID, run.history[o.order_id]


@PROPERTY
@given(worlds())
def test_a_dispute_is_never_sent_without_a_person(world: World) -> None:
    run = simulate(world)
    for at, oid, d in run.decisions:
        humans = [
            e
            for e in run.history[oid]
            if e.direction is Direction.IN and e.kind is Kind.HUMAN and e.at <= at
        ]
        if humans and humans[-1].intent is Intent.DISPUTE and d.template is not None:
            assert d.mode == "draft", (at, d)


def test_the_walk_sends_the_whole_ladder_when_nobody_answers() -> None:
    """The harness itself: a silent customer gets every step, in order (so the properties above
    are not vacuous)."""
    order = Order("PO-0", "b@c.example", "C", Decimal(1), "USD", None, country="DE")
    run = simulate(World((order,), (), RULES, "UTC"))
    assert [s.decision.rule_id for s in run.sent] == [s.id for s in RULES.ladder]
    assert all(s.at.astimezone(ZoneInfo("Europe/Berlin")).time() >= time(10) for s in run.sent)


# --- what the properties found (kept as examples) -----------------------------------------------

BERLIN = ZoneInfo("Europe/Berlin")


def de_order(**kw: object) -> Order:
    base = Order("PO-7", "buyer@acme.example", "Acme", Decimal(5000), "EUR", None, country="DE")
    return replace(base, **kw)  # type: ignore[arg-type]


def decide(o: Order, history: list[Event], now: datetime, rules: Ruleset = RULES) -> Decision:
    return next_action(o, history, rules, now=now, sent_to_customer=[], default_tz="UTC")


def berlin(month: int, day: int, hour: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=BERLIN)


def reply(at: datetime, intent: Intent, **kw: object) -> Event:
    return Event(Direction.IN, at, intent=intent, sender="buyer@acme.example", **kw)  # type: ignore[arg-type]


def test_found_due_date_reminder_after_a_dispute_is_a_draft() -> None:
    """Was: the dispute went to the salesperson, then the due-date reminder (mode send) went out
    unattended the next instant."""
    rules = RULES.model_copy(update={"due_date": DueDateRule(mode="send")})
    history = [
        Event(Direction.OUT, berlin(3, 2)),
        reply(berlin(3, 10, 9), Intent.DISPUTE),
        Event(Direction.OUT, berlin(3, 10, 15), rule_id="dispute-to-salesperson"),
    ]
    d = decide(de_order(due_date=date(2026, 3, 20)), history, berlin(3, 19), rules)
    assert d.rule_id == "due-date-reminder" and d.mode == "draft"
    assert any("silence after a dispute" in a.why for a in d.alerts)


def test_found_paid_then_a_bounce_still_stops_and_claims_paid() -> None:
    """Was: a bounce arriving with (or after) the paid reply won the walk for ever; the order was
    never marked claimed paid."""
    history = [
        Event(Direction.OUT, berlin(3, 2)),
        reply(berlin(3, 4, 9), Intent.PAID),
        Event(
            Direction.IN,
            berlin(3, 4, 9),
            kind=Kind.BOUNCE,
            bounce_recipient="finance@acme.example",
        ),
    ]
    d = decide(de_order(), history, berlin(3, 4, 12))
    assert d.action is Action.STOP and d.status is OrderStatus.CLAIMED_PAID
    assert d.flag_contact == "finance@acme.example"
    assert any("bounced" in a.why for a in d.alerts)


@pytest.mark.parametrize("minutes", [0, 20])
def test_found_paid_then_another_reply_still_claims_paid(minutes: int) -> None:
    """Was: "we paid" and, in the same minute (or before the next tick), "we are waiting on our
    customer": the policy answered the later one and the order was never claimed paid."""
    history = [
        Event(Direction.OUT, berlin(3, 2)),
        reply(berlin(3, 4, 9), Intent.PAID),
        reply(berlin(3, 4, 9) + timedelta(minutes=minutes), Intent.WAITING_ON_CUSTOMER),
    ]
    d = decide(de_order(), history, berlin(3, 4, 12))
    assert d.action is Action.STOP and d.status is OrderStatus.CLAIMED_PAID
    assert d.rule_id == RULES.answers["paid"].id


def test_a_reply_after_a_cancel_reopens_the_conversation() -> None:
    history = [
        Event(Direction.OUT, berlin(3, 2)),
        reply(berlin(3, 4, 9), Intent.CANCEL),
        reply(berlin(3, 9, 9), Intent.QUESTION),
    ]
    d = decide(de_order(), history, berlin(3, 9, 12))
    assert d.action is Action.ANSWER and d.rule_id == RULES.answers["question"].id


def test_found_a_promise_without_a_date_keeps_the_avoided_days() -> None:
    """Was: the check-in after a dateless promise (a 5-day pause ending Wednesday 1 April) went
    out on the 1st of the month; only a promised date is a settlement date."""
    history = [Event(Direction.OUT, berlin(3, 2)), reply(berlin(3, 25, 9), Intent.PROMISE)]
    d = decide(de_order(), history, berlin(4, 1))
    assert d.rule_id == "promise-check-in" and d.action is Action.FOLLOW_UP
    # 2 April: day 2; 3 and 6 April: Good Friday, Easter Monday; 7 April: first working day
    assert d.at == berlin(4, 8, 10)


def test_a_promised_date_is_the_settlement_date_the_check_in_keeps() -> None:
    history = [
        Event(Direction.OUT, berlin(3, 2)),
        reply(berlin(3, 25, 9), Intent.PROMISE, promised=date(2026, 3, 31)),
    ]
    d = decide(de_order(), history, berlin(4, 1))
    assert d.rule_id == "promise-check-in" and d.at == berlin(4, 1)  # on time, on the 1st
