"""Follow-up rules: the shipped defaults, validation errors at the right file:line, overrides."""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal

import pytest

from bot.core.model import Order
from bot.core.ruleset import ANSWER_KEYS, Ruleset, business_days
from bot.core.yamldoc import parse_yaml
from bot.errors import RuleError
from bot.paths import DEFAULT_RULES_DIR

DEFAULT_TEXT = (DEFAULT_RULES_DIR / "default.yaml").read_text(encoding="utf-8")

MINIMAL = """\
ladder:
  - id: friendly-check-in
    after: 3d
    template: friendly-check-in
answers:
""" + "".join(f"  {k}: {{id: {k.replace('_', '-')}-rule, action: stop}}\n" for k in ANSWER_KEYS)


def load(text: str, path: str = "rules/default.yaml") -> Ruleset:
    return Ruleset.from_docs({"default": parse_yaml(text, path)})


def error_of(text: str) -> RuleError:
    with pytest.raises(RuleError) as info:
        load(text)
    return info.value


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def order(**kw: object) -> Order:
    base: dict[str, object] = {
        "order_id": "PO-1",
        "customer_email": "Buyer@Acme.example",
        "customer_name": "Acme",
        "amount": Decimal(100),
        "currency": "USD",
        "due_date": None,
    }
    base.update(kw)
    return Order(**base)  # type: ignore[arg-type]


def test_default_rules_encode_the_trade_know_how() -> None:
    rules = load(DEFAULT_TEXT)
    ids = [s.id for s in rules.ladder]
    assert ids == [
        "friendly-check-in",
        "slot-release-warning",
        "price-validity-notice",
        "salesperson-effort",
        "supplier-advantages",
        "manager-involved",
    ]
    assert rules.ladder[-1].to == ("buyer", "decision_maker", "manager")
    assert set(rules.answers) == set(ANSWER_KEYS)
    assert rules.answers["paid"].action == "stop" and rules.answers["paid"].status == "claimed_paid"
    assert rules.answers["dispute"].action == "escalate"
    assert "manager" in rules.answers["competitor"].alert
    cal = rules.calendar
    assert cal.send_window().start == time(10) and cal.send_window().end == time(17)
    assert cal.rules().min_gap == timedelta(days=3) and cal.rules().weekly_cap == 2
    assert cal.avoid_first_working_day_of_week and cal.avoid_first_days_of_month == 2


def test_minimal_rules_load_with_calendar_defaults() -> None:
    rules = load(MINIMAL)
    assert rules.ladder[0].after == 3 and rules.ladder[0].mode == "draft"
    assert rules.ladder[0].to == ("buyer",)
    assert rules.calendar.weekly_cap == 2
    assert rules.step("friendly-check-in") == 0 and rules.step("nope") is None


@pytest.mark.parametrize(("value", "days"), [("3d", 3), ("2w", 10), (4, 4), (" 5 d ", 5)])
def test_durations_count_business_days(value: object, days: int) -> None:
    assert business_days(value, "after") == days


def test_min_gap_weeks_are_calendar_weeks() -> None:
    rules = load("calendar: {min_gap: 2w}\n" + MINIMAL)
    assert rules.calendar.rules().min_gap == timedelta(days=14)


def test_bad_duration_names_the_line_and_the_fix() -> None:
    text = MINIMAL.replace("after: 3d", "after: soon")
    err = error_of(text)
    assert err.line == line_of(text, "after: soon")
    assert (
        str(err)
        == f"rules/default.yaml:{err.line}: 'after' must be a duration like 3d (days) or 2w (weeks)"
    )


def test_unknown_key_is_named_at_its_line() -> None:
    text = MINIMAL.replace("    template: friendly-check-in", "    templte: friendly-check-in")
    err = error_of(text)
    assert err.line == line_of(text, "templte")
    assert "unknown key 'templte'" in err.msg


def test_bad_mode_and_role() -> None:
    text = MINIMAL.replace("after: 3d", "after: 3d\n    mode: shout")
    err = error_of(text)
    assert err.line == line_of(text, "mode: shout") and "ladder.0.mode" in err.msg
    text = MINIMAL.replace("after: 3d", "after: 3d\n    to: [buyer, cousin]")
    assert error_of(text).line == line_of(text, "to: [buyer, cousin]")


def test_id_must_be_kebab_case() -> None:
    text = MINIMAL.replace("id: friendly-check-in", "id: Friendly Check")
    err = error_of(text)
    assert err.line == line_of(text, "Friendly Check") and "kebab-case" in err.msg


def test_duplicate_ladder_id() -> None:
    text = MINIMAL.replace(
        "answers:", "  - id: friendly-check-in\n    after: 5d\n    template: x\nanswers:"
    )
    err = error_of(text)
    assert "duplicate ladder id" in err.msg and err.line == 5


def test_unknown_intent_and_missing_intents() -> None:
    text = MINIMAL + "  gratitude: {id: thanks, action: stop}\n"
    err = error_of(text)
    assert err.line == line_of(text, "gratitude") and "unknown intent 'gratitude'" in err.msg
    text = "\n".join(line for line in MINIMAL.splitlines() if "  cancel:" not in line)
    err = error_of(text)
    assert "missing cancel" in err.msg and err.line == line_of(text, "answers:")


@pytest.mark.parametrize("intent", ["dispute", "cancel", "competitor"])
def test_draft_only_intents_refuse_mode_send(intent: str) -> None:
    text = MINIMAL.replace(
        f"  {intent}: {{id: {intent}-rule, action: stop}}",
        f"  {intent}: {{id: {intent}-rule, action: answer, template: t, mode: send}}",
    )
    err = error_of(text)
    assert err.line == line_of(text, f"  {intent}:") and "never sent unattended" in err.msg


def test_answer_needs_a_template() -> None:
    text = MINIMAL.replace(
        "question: {id: question-rule, action: stop}",
        "question: {id: question-rule, action: answer}",
    )
    assert "needs a template" in error_of(text).msg


def test_bad_window_and_yaml_syntax() -> None:
    text = 'calendar:\n  window: "17:00-10:00"\n' + MINIMAL
    err = error_of(text)
    assert err.line == 2 and "10:00-17:00" in err.msg
    err = error_of("ladder: [\n  - id: x\n")
    assert err.path == "rules/default.yaml" and err.line is not None and "not valid YAML" in err.msg


def test_missing_default_doc_and_wrong_shape() -> None:
    with pytest.raises(RuleError, match="missing"):
        Ruleset.from_docs({})
    with pytest.raises(RuleError, match="mapping"):
        load("- just\n- a list\n")
    assert "ladder: required" in error_of("answers: {}\n").msg


def test_overrides_replace_parts_most_specific_last() -> None:
    text = (
        MINIMAL
        + """\
overrides:
  mailboxes:
    export:
      calendar: {weekly_cap: 1, window: "09:00-12:00"}
  customers:
    acme.example:
      ladder:
        - {id: gentle-nudge, after: 10d, template: friendly-check-in}
    buyer@acme.example:
      answers:
        paid: {id: vip-paid, action: stop}
"""
    )
    rules = load(text)
    effective = rules.for_order(order(mailbox="export"))
    assert effective.calendar.weekly_cap == 1
    assert effective.calendar.send_window().start == time(9)
    assert effective.calendar.min_gap == 3  # merged, not replaced
    assert [s.id for s in effective.ladder] == ["gentle-nudge"]
    assert effective.answers["paid"].id == "vip-paid"
    assert effective.answers["cancel"].id == "cancel-rule"
    assert effective.applied == (
        "mailbox:export",
        "customer:acme.example",
        "customer:buyer@acme.example",
    )
    other = rules.for_order(order(customer_email="x@other.example"))
    assert other.applied == () and other.ladder == rules.ladder
    assert "friendly-check-in" in rules.templates()


def test_bad_override_calendar_is_reported_at_its_line() -> None:
    text = (
        MINIMAL + "overrides:\n  customers:\n    acme.example:\n      calendar: {weekly_cap: -1}\n"
    )
    err = error_of(text)
    assert err.line == line_of(text, "calendar: {weekly_cap") and "weekly_cap" in err.msg
