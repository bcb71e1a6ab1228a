"""The follow-up rules as data: validated YAML documents -> a typed, frozen Ruleset.

Reads no files: `Ruleset.from_docs` takes the YamlDocs the adapter read (rules/default.yaml is
the "default" doc) and turns every problem into a RuleError naming file:line and the fix.
Template names are not checked here (that needs files): `dunbot rules check` does it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.core.calendar import CalendarRules, SendWindow
from bot.core.model import Order
from bot.core.yamldoc import YamlDoc
from bot.errors import RuleError

Mode = Literal["draft", "send"]
Role = Literal["buyer", "finance", "decision_maker", "manager"]
Alert = Literal["salesperson", "manager"]
AnswerAction = Literal["answer", "wait", "stop", "escalate"]

INTENTS = (
    "paid",
    "promise",
    "waiting_on_customer",
    "cash_flow",
    "exchange_rate",
    "competitor",
    "absent",
    "change_request",
    "poor_sales",
    "dispute",
    "question",
    "cancel",
    "other",
)
ANSWER_KEYS = INTENTS + ("auto_reply", "bounce")
# Never sent unattended: a person must read these first (DESIGN.md: never accuse, never guess).
DRAFT_ONLY = frozenset({"dispute", "cancel", "competitor"})

_KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_DURATION = re.compile(r"^\s*(\d+)\s*([dw])\s*$")
_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def business_days(value: Any, key: str) -> int:
    """'3d' -> 3 business days, '2w' -> 10; a bare integer counts days."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    match = _DURATION.match(str(value)) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"'{key}' must be a duration like 3d (days) or 2w (weeks)")
    n = int(match.group(1))
    return n * 5 if match.group(2) == "w" else n


def _kebab(value: str) -> str:
    if not _KEBAB.match(value):
        raise ValueError(f"'id' must be kebab-case like friendly-check-in, not {value!r}")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LadderStep(_Strict):
    """One rung of the silence ladder: after N business days of silence, send this template."""

    id: str
    after: int
    template: str
    mode: Mode = "draft"
    to: tuple[Role, ...] = ("buyer",)
    alert: tuple[Alert, ...] = ()

    check_id = field_validator("id")(_kebab)

    @field_validator("after", mode="before")
    @classmethod
    def _after(cls, value: Any) -> int:
        n = business_days(value, "after")
        if n < 1:
            raise ValueError("'after' must be at least 1d")
        return n


class DueDateRule(_Strict):
    """The reminder that goes out on the agreed settlement date (on time, not late)."""

    id: str = "due-date-reminder"
    template: str = "due-date-reminder"
    mode: Mode = "draft"
    to: tuple[Role, ...] = ("buyer", "finance")
    enabled: bool = True

    check_id = field_validator("id")(_kebab)


class Answer(_Strict):
    """How to answer one kind of reply (an intent, an auto-reply or a bounce)."""

    id: str
    action: AnswerAction
    template: str | None = None
    mode: Mode = "draft"
    to: tuple[Role, ...] = ("buyer",)
    alert: tuple[Alert, ...] = ()
    pause: int = 0  # business days to wait when the reply gave no date (promise, absent)
    status: Literal["claimed_paid"] | None = None

    check_id = field_validator("id")(_kebab)

    @field_validator("pause", mode="before")
    @classmethod
    def _pause(cls, value: Any) -> int:
        return business_days(value, "pause")


class CalendarSettings(_Strict):
    window: str = "10:00-17:00"
    min_gap: int = 3  # calendar days between two follow-ups to one customer
    weekly_cap: int = Field(default=2, ge=0)
    avoid_first_working_day_of_week: bool = True
    avoid_first_days_of_month: int = Field(default=2, ge=0, le=28)

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        parse_window(value)
        return value

    @field_validator("min_gap", mode="before")
    @classmethod
    def _gap(cls, value: Any) -> int:
        days = business_days(value, "min_gap")  # validates the form; weeks here are 7 days
        return days // 5 * 7 if isinstance(value, str) and value.strip().endswith("w") else days

    def send_window(self) -> SendWindow:
        return parse_window(self.window)

    def rules(self) -> CalendarRules:
        return CalendarRules(
            min_gap=timedelta(days=self.min_gap),
            weekly_cap=self.weekly_cap,
            avoid_first_working_day_of_week=self.avoid_first_working_day_of_week,
            avoid_first_days_of_month=self.avoid_first_days_of_month,
        )


def parse_window(value: str) -> SendWindow:
    match = _WINDOW.match(value)
    if not match:
        raise ValueError("'window' must be local hours like 10:00-17:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59 or (h1, m1) >= (h2, m2):
        raise ValueError("'window' must be local hours like 10:00-17:00, start before end")
    return SendWindow(time(h1, m1), time(h2, m2))


class Override(_Strict):
    """Replaces parts of the global rules for one mailbox or customer (email or domain)."""

    calendar: dict[str, Any] | None = None  # keys of `calendar:`, merged over the global ones
    due_date: DueDateRule | None = None
    ladder: tuple[LadderStep, ...] | None = None  # replaces the whole ladder
    answers: dict[str, Answer] = {}  # replaces the answer for each intent given


class Overrides(_Strict):
    mailboxes: dict[str, Override] = {}
    customers: dict[str, Override] = {}  # "buyer@acme.example" or "acme.example"


class RulesDoc(_Strict):
    """The schema of rules/default.yaml."""

    calendar: CalendarSettings = CalendarSettings()
    due_date: DueDateRule = DueDateRule()
    ladder: tuple[LadderStep, ...]
    answers: dict[str, Answer]
    overrides: Overrides = Overrides()


class Ruleset(BaseModel):
    """The effective follow-up rules; `for_order` applies the overrides for one order."""

    model_config = ConfigDict(frozen=True)

    calendar: CalendarSettings
    due_date: DueDateRule
    ladder: tuple[LadderStep, ...]
    answers: dict[str, Answer]
    overrides: Overrides = Overrides()
    source: str = "rules/default.yaml"
    applied: tuple[str, ...] = ()  # which overrides made this set, for the rule walk

    @classmethod
    def from_docs(cls, docs: Mapping[str, YamlDoc]) -> Ruleset:
        """Validate the "default" doc; raises RuleError(file, line, what to fix)."""
        doc = docs.get("default")
        if doc is None:
            raise RuleError("rules/default.yaml", None, "missing: the follow-up rules live here")
        if not isinstance(doc.data, dict):
            raise doc.error((), "must be a mapping with ladder: and answers:")
        try:
            parsed = RulesDoc.model_validate(doc.data)
        except ValidationError as exc:
            raise rule_error(doc, exc) from exc
        _check(doc, parsed)
        return cls(
            calendar=parsed.calendar,
            due_date=parsed.due_date,
            ladder=parsed.ladder,
            answers=parsed.answers,
            overrides=parsed.overrides,
            source=doc.path,
        )

    def step(self, rule_id: str) -> int | None:
        """The ladder index of a step id, or None."""
        return next((i for i, s in enumerate(self.ladder) if s.id == rule_id), None)

    def templates(self) -> set[str]:
        """Every template name the rules refer to, overrides included."""
        names = {s.template for s in self.ladder} | {self.due_date.template}
        names |= {a.template for a in self.answers.values() if a.template}
        for o in (*self.overrides.mailboxes.values(), *self.overrides.customers.values()):
            names |= {s.template for s in o.ladder or ()}
            names |= {a.template for a in o.answers.values() if a.template}
            names |= {o.due_date.template} if o.due_date else set()
        return names

    def for_order(self, order: Order) -> Ruleset:
        """The rules for this order: mailbox override, then domain, then exact email."""
        result = self
        customers = {k.lower(): v for k, v in self.overrides.customers.items()}
        layers = [
            (f"mailbox:{order.mailbox}", self.overrides.mailboxes.get(order.mailbox or "")),
            (f"customer:{order.customer_domain}", customers.get(order.customer_domain)),
            (
                f"customer:{order.customer_email.lower()}",
                customers.get(order.customer_email.lower()),
            ),
        ]
        for name, override in layers:
            if override is not None:
                result = result._apply(name, override)
        return result

    def _apply(self, name: str, o: Override) -> Ruleset:
        calendar = self.calendar
        if o.calendar:
            calendar = CalendarSettings.model_validate({**self.calendar.model_dump(), **o.calendar})
        return self.model_copy(
            update={
                "calendar": calendar,
                "due_date": o.due_date or self.due_date,
                "ladder": o.ladder if o.ladder is not None else self.ladder,
                "answers": {**self.answers, **o.answers},
                "applied": (*self.applied, name),
            }
        )


def _check(doc: YamlDoc, parsed: RulesDoc) -> None:
    """What the schema cannot say: known intents, unique ids, draft-only answers."""
    _check_answers(doc, ("answers",), parsed.answers)
    _check_ladder(doc, ("ladder",), parsed.ladder)
    missing = [k for k in ANSWER_KEYS if k not in parsed.answers]
    if missing:
        raise doc.error(("answers",), f"answers: missing {', '.join(missing)}")
    for kind in ("mailboxes", "customers"):
        for key, o in getattr(parsed.overrides, kind).items():
            loc = ("overrides", kind, key)
            _check_answers(doc, (*loc, "answers"), o.answers)
            _check_ladder(doc, (*loc, "ladder"), o.ladder or ())
            if o.calendar:
                try:
                    CalendarSettings.model_validate({**parsed.calendar.model_dump(), **o.calendar})
                except ValidationError as exc:
                    raise rule_error(doc, exc, prefix=(*loc, "calendar")) from exc


def _check_answers(doc: YamlDoc, loc: tuple[Any, ...], answers: Mapping[str, Answer]) -> None:
    for key, answer in answers.items():
        if key not in ANSWER_KEYS:
            raise doc.error(
                (*loc, key), f"unknown intent {key!r}; use one of {', '.join(ANSWER_KEYS)}"
            )
        if key in DRAFT_ONLY and answer.mode == "send":
            raise doc.error(
                (*loc, key, "mode"), f"'{key}' is never sent unattended: use mode: draft"
            )
        if answer.action == "answer" and not answer.template:
            raise doc.error((*loc, key), f"'{key}': action answer needs a template")


def _check_ladder(doc: YamlDoc, loc: tuple[Any, ...], ladder: tuple[LadderStep, ...]) -> None:
    seen: set[str] = set()
    for i, step in enumerate(ladder):
        if step.id in seen:
            raise doc.error((*loc, i, "id"), f"duplicate ladder id {step.id!r}")
        seen.add(step.id)


def rule_error(doc: YamlDoc, exc: ValidationError, *, prefix: tuple[Any, ...] = ()) -> RuleError:
    """The first pydantic error as 'file:line: what to fix' (the rest counted)."""
    # A misspelt key shows up as both "unknown" and "missing": name the misspelling first.
    errors = sorted(exc.errors(), key=lambda e: e.get("type") != "extra_forbidden")
    first = errors[0]
    loc = (*prefix, *first.get("loc", ()))
    where = ".".join(str(p) for p in loc) or "(top)"
    kind = first.get("type", "")
    msg = str(first.get("msg", "invalid"))
    if kind == "value_error":
        text = msg.removeprefix("Value error, ")
    elif kind == "extra_forbidden":
        text = f"{where}: unknown key {loc[-1]!r} (check the spelling)"
    elif kind == "missing":
        text = f"{where}: required"
    else:
        text = f"{where}: {msg}"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return doc.error(loc, text + more)
