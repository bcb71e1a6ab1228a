"""The follow-up policy: ladder timing, due dates, every intent, catch-up, spacing, signals."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.core.decision import Action, Decision, Event, events_from_records
from bot.core.model import (
    Contact,
    Direction,
    Intent,
    Kind,
    Order,
    OrderStatus,
    Understanding,
)
from bot.core.policy import next_action
from bot.core.ruleset import Ruleset
from bot.core.yamldoc import parse_yaml
from bot.paths import DEFAULT_RULES_DIR
from bot.ports import MessageRecord

BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")
RULES = Ruleset.from_docs(
    {
        "default": parse_yaml(
            (DEFAULT_RULES_DIR / "default.yaml").read_text(encoding="utf-8"), "rules/default.yaml"
        )
    }
)
LADDER = [s.id for s in RULES.ladder]


def order(**kw: object) -> Order:
    base: dict[str, object] = {
        "order_id": "PO-7",
        "customer_email": "buyer@acme.example",
        "customer_name": "Acme",
        "amount": Decimal(5000),
        "currency": "EUR",
        "due_date": None,
        "country": "DE",
        "language": "de",
    }
    base.update(kw)
    return Order(**base)  # type: ignore[arg-type]


def berlin(month: int, day: int, hour: int = 11, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def out(at: datetime, rule_id: str | None = None) -> Event:
    return Event(Direction.OUT, at, sender="alice@supplier.example", rule_id=rule_id)


def reply(at: datetime, intent: Intent, **kw: object) -> Event:
    base: dict[str, object] = {"sender": "buyer@acme.example", "language": "de"}
    base.update(kw)
    return Event(Direction.IN, at, intent=intent, **base)  # type: ignore[arg-type]


def decide(
    history: list[Event],
    now: datetime,
    o: Order | None = None,
    *,
    sent: list[datetime] | None = None,
    rules: Ruleset = RULES,
    reliable: bool = False,
) -> Decision:
    return next_action(
        o or order(),
        history,
        rules,
        now=now,
        sent_to_customer=sent or [],
        default_tz="Asia/Shanghai",
        reliable_payer=reliable,
    )


# Monday 2 March 2026, 11:00 Berlin: the proforma invoice goes out.
PI = out(berlin(3, 2))


def test_silence_ladder_first_step_after_three_business_days() -> None:
    d = decide([PI], berlin(3, 4))
    assert d.action is Action.FOLLOW_UP and d.rule_id == "friendly-check-in"
    assert d.at == berlin(3, 5, 10) and d.at.tzinfo == BERLIN
    assert d.template == "friendly-check-in" and d.mode == "draft" and d.language == "de"
    assert d.recipients == ("buyer",)
    assert "step 1 of 6" in d.reason


def test_ladder_counts_from_the_last_message_and_rises_step_by_step() -> None:
    history = [PI, out(berlin(3, 5, 10))]
    d = decide(history, berlin(3, 6))
    assert d.rule_id == "slot-release-warning"
    assert d.at == berlin(3, 11, 10)  # 4 business days after Thursday 5 March
    history.append(out(berlin(3, 11, 10)))
    assert decide(history, berlin(3, 12)).rule_id == "price-validity-notice"


def test_ladder_uses_rule_ids_when_the_store_knows_them() -> None:
    history = [PI, out(berlin(3, 5, 10), "supplier-advantages")]
    d = decide(history, berlin(3, 6))
    assert d.rule_id == "manager-involved"
    assert d.recipients == ("buyer", "decision_maker", "manager")
    assert [a.to for a in d.alerts] == ["manager"]


def test_ladder_finished_alerts_the_manager_once_more_nothing_sent() -> None:
    history = [PI, out(berlin(3, 5, 10), "manager-involved")]
    d = decide(history, berlin(4, 20))
    assert d.action is Action.NONE and d.rule_id == "ladder-finished" and d.at is None
    assert [a.to for a in d.alerts] == ["manager"]


def test_catch_up_after_downtime_proposes_only_the_latest_due_step_once() -> None:
    d = decide([PI], berlin(3, 24, 12))
    # 3+4 business days: step 2 was due 11 March, step 3 (5 more) 18 March, step 4 on 25 March
    assert d.rule_id == "price-validity-notice"
    assert "friendly-check-in, slot-release-warning came due but never went out" in d.reason
    assert d.at == berlin(3, 24, 12)
    # sent: the next step is the one after it, not the skipped ones
    after = decide([PI, out(berlin(3, 24, 12), "price-validity-notice")], berlin(3, 25))
    assert after.rule_id == "salesperson-effort"


@pytest.mark.parametrize(
    ("country", "tz", "pi", "expected"),
    [
        # Spring Festival: 16-23 Feb off, Saturday 14 Feb a working day
        ("CN", "Asia/Shanghai", datetime(2026, 2, 12, 11), datetime(2026, 2, 25, 10)),
        # Good Friday / Easter Monday in Germany; Tuesday 7 April opens the week
        ("DE", "Europe/Berlin", datetime(2026, 4, 1, 11), datetime(2026, 4, 8, 10)),
        # Thanksgiving (Thursday 26 Nov) in the US
        ("US", None, datetime(2026, 11, 23, 11), datetime(2026, 11, 27, 10)),
        # Fiesta Nacional (Monday 12 Oct) in Spain
        ("ES", None, datetime(2026, 10, 7, 11), datetime(2026, 10, 14, 10)),
        # Fête nationale (Tuesday 14 July) in France
        ("FR", None, datetime(2026, 7, 9, 11), datetime(2026, 7, 15, 10)),
    ],
)
def test_first_step_respects_each_countrys_holidays_in_its_zone(
    country: str, tz: str | None, pi: datetime, expected: datetime
) -> None:
    from bot.core.calendar import customer_zone

    zone = customer_zone(tz, country, "UTC")
    o = order(country=country, timezone=tz)
    d = decide([out(pi.replace(tzinfo=zone))], expected.replace(tzinfo=zone, hour=9), o)
    assert d.rule_id == "friendly-check-in"
    assert d.at == expected.replace(tzinfo=zone)
    assert d.at is not None and d.at.tzinfo == zone


def test_due_date_reminder_goes_out_on_time_even_on_the_first_of_the_month() -> None:
    o = order(due_date=date(2026, 6, 1))  # a Monday and day 1: both normally avoided
    d = decide([out(berlin(5, 20))], berlin(5, 25), o)
    assert d.action is Action.FOLLOW_UP and d.rule_id == "due-date-reminder"
    assert d.at == datetime(2026, 6, 1, 10, tzinfo=BERLIN)
    assert d.recipients == ("buyer", "finance")
    # before the due date there is no chasing: not the ladder, the reminder decides
    assert all(h.rule_id != "friendly-check-in" for h in d.hits)


def test_due_date_on_a_holiday_reminds_the_business_day_before() -> None:
    o = order(due_date=date(2026, 4, 6))  # Easter Monday
    d = decide([], berlin(3, 30), o)
    assert d.rule_id == "due-date-reminder" and d.at == berlin(4, 2, 10)


def test_after_the_due_reminder_the_ladder_starts() -> None:
    o = order(due_date=date(2026, 6, 3))
    history = [out(berlin(5, 20)), out(berlin(6, 3, 10))]
    d = decide(history, berlin(6, 5), o)
    # 3 business days after Wednesday 3 June is Monday 8th, avoided: Tuesday 9th
    assert d.rule_id == "friendly-check-in" and d.at == berlin(6, 9, 10)


def test_due_date_passed_without_reminder_the_ladder_takes_over() -> None:
    o = order(due_date=date(2026, 3, 3))
    d = decide([], berlin(3, 20), o)
    assert d.rule_id != "due-date-reminder" and d.action is Action.FOLLOW_UP
    assert any(h.rule_id == "due-date-reminder" and not h.hit for h in d.hits)


def test_no_conversation_no_due_date_nothing_to_do() -> None:
    d = decide([], berlin(3, 20))
    assert d.action is Action.NONE and d.rule_id == "no-conversation"


@pytest.mark.parametrize(
    "status",
    [OrderStatus.PAID, OrderStatus.CANCELLED, OrderStatus.PAUSED, OrderStatus.CLAIMED_PAID],
)
def test_closed_orders_get_nothing(status: OrderStatus) -> None:
    d = decide([PI], berlin(3, 20), order(status=status))
    assert d.action is Action.NONE and d.rule_id == "order-closed" and d.alerts == ()
    assert [h.rule_id for h in d.hits] == ["order-closed"]


def test_paid_stops_and_asks_the_salesperson_to_confirm() -> None:
    d = decide([PI, reply(berlin(3, 3), Intent.PAID)], berlin(3, 3, 12))
    assert d.action is Action.STOP and d.status is OrderStatus.CLAIMED_PAID
    assert d.template is None and d.mode is None
    assert [a.to for a in d.alerts] == ["salesperson"] and "confirm" in d.alerts[0].why


def test_cancel_stops_and_notifies_never_sends() -> None:
    d = decide([PI, reply(berlin(3, 3), Intent.CANCEL)], berlin(3, 3, 12))
    assert d.action is Action.STOP and d.status is None and d.mode is None
    assert {a.to for a in d.alerts} == {"salesperson", "manager"}


def test_promise_waits_then_checks_in_the_next_business_day() -> None:
    history = [PI, reply(berlin(3, 3), Intent.PROMISE, promised=date(2026, 3, 13))]
    d = decide(history, berlin(3, 4))
    assert d.action is Action.WAIT and d.at == berlin(3, 16, 10)  # Friday 13th -> Monday 16th
    d = decide(history, berlin(3, 16, 12))  # a Monday, but the check-in is due: on time
    assert d.action is Action.FOLLOW_UP and d.template == "promise-check-in"
    assert d.at == berlin(3, 16, 12)


def test_promise_without_date_pauses_five_business_days() -> None:
    d = decide([PI, reply(berlin(3, 3), Intent.PROMISE)], berlin(3, 4))
    assert d.action is Action.WAIT and d.at == berlin(3, 10, 10)


def test_absent_pauses_until_return_then_the_ladder_resumes_from_it() -> None:
    history = [PI, reply(berlin(3, 3), Intent.ABSENT, promised=date(2026, 3, 16))]
    d = decide(history, berlin(3, 5))
    assert d.action is Action.WAIT and d.at == berlin(3, 16, 10)
    d = decide(history, berlin(3, 17))
    assert d.rule_id == "friendly-check-in" and d.at == berlin(3, 19, 10)


def test_auto_reply_pauses_until_the_return_date_without_resetting_the_ladder() -> None:
    history = [
        PI,
        out(berlin(3, 5, 10)),
        Event(
            Direction.IN,
            berlin(3, 5, 10, 1),
            kind=Kind.AUTO_REPLY,
            intent=Intent.ABSENT,
            promised=date(2026, 3, 23),
            language="en",
        ),
    ]
    d = decide(history, berlin(3, 9))
    assert d.action is Action.WAIT and d.rule_id == "pause-auto-reply"
    assert d.at == berlin(3, 23, 10)
    d = decide(history, berlin(3, 24))
    assert d.rule_id == "slot-release-warning"  # step 1 was already sent
    assert d.language == "de"  # an auto-reply's language is not the customer's


@pytest.mark.parametrize(
    ("intent", "template"),
    [
        (Intent.CASH_FLOW, "answer-cash-flow"),
        (Intent.EXCHANGE_RATE, "answer-exchange-rate"),
        (Intent.WAITING_ON_CUSTOMER, "answer-waiting-on-customer"),
        (Intent.CHANGE_REQUEST, "answer-change-request"),
        (Intent.POOR_SALES, "answer-poor-sales"),
        (Intent.QUESTION, "answer-question"),
        (Intent.COMPETITOR, "answer-competitor"),
    ],
)
def test_reasons_get_their_own_answer_promptly(intent: Intent, template: str) -> None:
    d = decide([PI, reply(berlin(3, 3, 18), intent)], berlin(3, 3, 19))
    assert d.action is Action.ANSWER and d.template == template and d.mode == "draft"
    assert d.at == berlin(3, 4, 10)  # next morning in the window, not in the evening


def test_competitor_alerts_the_manager() -> None:
    d = decide([PI, reply(berlin(3, 3), Intent.COMPETITOR)], berlin(3, 3, 12))
    assert "manager" in {a.to for a in d.alerts}


def test_dispute_goes_to_the_salesperson_as_a_draft() -> None:
    d = decide([PI, reply(berlin(3, 3), Intent.DISPUTE)], berlin(3, 3, 12))
    assert d.action is Action.ESCALATE and d.mode == "draft"
    assert d.template == "answer-dispute" and [a.to for a in d.alerts] == ["salesperson"]


@pytest.mark.parametrize("intent", ["dispute", "cancel", "competitor"])
def test_never_send_for_draft_only_intents_even_if_rules_say_so(intent: str) -> None:
    forced = RULES.answers[intent].model_copy(
        update={"mode": "send", "action": "answer", "template": "x"}
    )
    rules = RULES.model_copy(update={"answers": {**RULES.answers, intent: forced}})
    d = decide([PI, reply(berlin(3, 3), Intent(intent))], berlin(3, 3, 12), rules=rules)
    assert d.mode == "draft"


def test_other_goes_to_a_person() -> None:
    d = decide([PI, reply(berlin(3, 3), Intent.OTHER)], berlin(3, 3, 12))
    assert d.action is Action.ESCALATE and d.template is None


def test_once_answered_the_ladder_restarts_from_the_answer() -> None:
    history = [PI, reply(berlin(3, 3), Intent.QUESTION), out(berlin(3, 4, 10))]
    d = decide(history, berlin(3, 5))
    assert d.rule_id == "friendly-check-in" and d.at == berlin(3, 10, 10)


def test_bounce_flags_the_contact_and_alerts() -> None:
    bounce = Event(
        Direction.IN, berlin(3, 2, 11, 5), kind=Kind.BOUNCE, bounce_recipient="buyer@acme.example"
    )
    d = decide([PI, bounce], berlin(3, 3))
    assert d.action is Action.ESCALATE and d.flag_contact == "buyer@acme.example"
    assert {a.to for a in d.alerts} == {"salesperson", "manager"}
    assert any(h.rule_id == "bounced-address" and h.hit for h in d.hits)


def test_silence_after_dispute_is_a_bad_debt_signal() -> None:
    history = [PI, reply(berlin(3, 3), Intent.DISPUTE), out(berlin(3, 4, 10))]
    d = decide(history, berlin(3, 12))
    assert d.action is Action.FOLLOW_UP and d.mode == "draft"
    assert any("silence after a dispute" in a.why for a in d.alerts)


def test_reliable_payer_asking_for_time_alerts_the_manager() -> None:
    history = [PI, reply(berlin(3, 3), Intent.CASH_FLOW)]
    assert not any(a.to == "manager" for a in decide(history, berlin(3, 3, 12)).alerts)
    d = decide(history, berlin(3, 3, 12), reliable=True)
    assert any(a.to == "manager" and "reliable payer" in a.why for a in d.alerts)


def test_new_contact_person_is_a_signal_known_contacts_are_not() -> None:
    history = [PI, reply(berlin(3, 3), Intent.QUESTION, sender="new.guy@acme.example")]
    d = decide(history, berlin(3, 3, 12))
    assert any("new contact" in a.why for a in d.alerts)
    known = order(contacts=(Contact("new.guy@acme.example", role="finance"),))
    assert not any("new contact" in a.why for a in decide(history, berlin(3, 3, 12), known).alerts)


def test_spacing_and_weekly_cap_across_the_customers_orders() -> None:
    # the customer got a follow-up for another order on Wednesday 4 March
    d = decide([PI], berlin(3, 4), sent=[berlin(3, 4, 15)])
    assert d.at == berlin(3, 10, 10)  # 3 days later is Saturday; Monday avoided: Tuesday
    capped = decide([PI], berlin(3, 4), sent=[berlin(3, 2, 10), berlin(3, 5, 9)])
    assert capped.at == berlin(3, 10, 10)


def test_language_from_last_reply_else_order_else_english() -> None:
    history = [PI, reply(berlin(3, 3), Intent.QUESTION, language="fr")]
    assert decide(history, berlin(3, 3, 12)).language == "fr"
    assert decide([PI], berlin(3, 4)).language == "de"
    assert decide([PI], berlin(3, 4), order(language=None)).language == "en"


def test_zone_from_order_else_country_else_default() -> None:
    d = decide([out(datetime(2026, 3, 2, 3, tzinfo=UTC))], berlin(3, 4), order(country=None))
    assert d.at == datetime(2026, 3, 5, 10, tzinfo=SHANGHAI)
    d = decide([PI], berlin(3, 4), order(timezone="America/New_York", country="US"))
    assert d.at == datetime(2026, 3, 5, 10, tzinfo=ZoneInfo("America/New_York"))


def test_overrides_show_in_the_rule_walk() -> None:
    rules = RULES.model_copy(
        update={
            "overrides": RULES.overrides.model_copy(
                update={
                    "customers": {
                        "acme.example": RULES.overrides.model_validate(
                            {
                                "customers": {
                                    "x": {
                                        "ladder": [
                                            {
                                                "id": "slow-nudge",
                                                "after": "10d",
                                                "template": "friendly-check-in",
                                            }
                                        ]
                                    }
                                }
                            }
                        ).customers["x"]
                    }
                }
            )
        }
    )
    d = decide([PI], berlin(3, 4), rules=rules)
    assert d.rule_id == "slow-nudge" and d.at == berlin(3, 17, 10)
    assert d.hits[0].rule_id == "override-customer-acme.example" and d.hits[0].hit


def test_the_rule_walk_records_every_hit_and_miss() -> None:
    d = decide([PI], berlin(3, 4))
    walk = [(h.rule_id, h.hit) for h in d.hits]
    assert walk[:5] == [
        ("order-closed", False),
        ("bounce", False),
        ("customer-reply", False),
        ("auto-reply-pause", False),
        ("due-date-reminder", False),
    ]
    assert walk[5] == ("friendly-check-in", True)
    assert all(h.why for h in d.hits)
    js = d.as_json()
    assert js["action"] == "follow_up" and js["at"] == "2026-03-05T10:00:00+01:00"
    assert js["rule_id"] == "friendly-check-in" and len(js["hits"]) == len(d.hits)  # type: ignore[arg-type]


def test_events_from_store_records() -> None:
    def record(
        mid: str, direction: Direction, at: datetime | None, u: Understanding | None
    ) -> MessageRecord:
        return MessageRecord(
            mailbox="sales",
            folder="INBOX",
            uid=1,
            message_id=mid,
            direction=direction,
            subject="PI PO-7",
            sender="Buyer@Acme.example",
            recipients=(),
            date=at,
            in_reply_to=None,
            references=("a@x",),
            text="",
            order_id="PO-7",
            match_reason="",
            understanding=u,
        )

    u = Understanding(Kind.HUMAN, Intent.PROMISE, "es", date(2026, 3, 20), "PO-7", "pagaremos")
    events = events_from_records(
        [
            record("2@x", Direction.IN, berlin(3, 3), u),
            record("1@x", Direction.OUT, berlin(3, 2), None),
            record("0@x", Direction.IN, None, u),
        ]
    )
    assert [e.message_id for e in events] == ["1@x", "2@x"]
    e = events[1]
    assert (e.intent, e.promised, e.language, e.sender) == (
        Intent.PROMISE,
        date(2026, 3, 20),
        "es",
        "buyer@acme.example",
    )
    assert events[0].intent is Intent.NONE and events[0].rule_id is None
    d = decide(events, berlin(3, 4))
    assert d.action is Action.WAIT and d.language == "es"


def test_naive_now_is_not_accepted_silently() -> None:
    with pytest.raises((TypeError, ValueError)):
        decide([PI], datetime(2026, 3, 4, 12))


def test_decision_is_frozen() -> None:
    d = decide([PI], berlin(3, 4))
    with pytest.raises(AttributeError):
        d.action = Action.NONE  # type: ignore[misc]
    assert replace(d, action=Action.NONE).action is Action.NONE
