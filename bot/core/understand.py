"""What dunbot understands of one message: `classify(msg, rules) -> Understanding`.

Pure: the rules come in compiled (`UnderstandingRules.from_docs`), the message is already
parsed, and relative dates resolve against the message's own Date header (or the caller's
`received_at` when the header is missing); no clock is read here.

The steps: kind (human, auto-reply, bounce) -> the new text without quotes and signature ->
language -> intent (from the new text only, never the quote) -> promised payment or return
date -> order number (subject first, then the new text).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from bot.core.autodetect import AutoPatterns, KindResult, detect_kind
from bot.core.dates import DatePatterns, pick_date
from bot.core.intent import IntentPatterns, IntentResult, score_intents
from bot.core.language import detect_language
from bot.core.model import Intent, Kind, ParsedMessage, Understanding
from bot.core.ordernumbers import OrderPatterns, find_order_numbers
from bot.core.reply import QuotePatterns, extract_reply
from bot.core.yamldoc import YamlDoc
from bot.errors import RuleError

RULE_FILES = ("intents", "quotes", "autoreply", "orders")
# Intents whose date we report: a promise's payment date, an absence's return date. A date in
# a middleman's excuse is usually when *his* customer pays, not when we get paid.
DATED_INTENTS = frozenset({Intent.PROMISE, Intent.ABSENT})


@dataclass(frozen=True, slots=True)
class UnderstandingRules:
    """The compiled quote, auto-reply, order-number, intent and date patterns."""

    quotes: QuotePatterns
    auto: AutoPatterns
    orders: OrderPatterns
    intents: IntentPatterns
    dates: DatePatterns

    @classmethod
    def from_docs(cls, docs: Mapping[str, YamlDoc]) -> UnderstandingRules:
        """From the docs keyed "intents", "quotes", "autoreply", "orders" (read_rules_dir's keys).

        A missing doc or any invalid pattern is a RuleError naming the file (and line).
        """
        missing = [name for name in RULE_FILES if name not in docs]
        if missing:
            raise RuleError(f"{missing[0]}.yaml", None, "rules file missing from the rules folder")
        return cls(
            quotes=QuotePatterns.from_doc(docs["quotes"]),
            auto=AutoPatterns.from_doc(docs["autoreply"]),
            orders=OrderPatterns.from_doc(docs["orders"]),
            intents=IntentPatterns.from_doc(docs["intents"]),
            dates=DatePatterns.from_doc(docs["intents"]),
        )


def classify(
    msg: ParsedMessage, rules: UnderstandingRules, *, received_at: datetime | None = None
) -> Understanding:
    """Kind, intent, language, date, order and new text of one message.

    Bounces have intent "none", auto-replies "absent" (date = the stated return date);
    a human message's intent comes from its new text only. Dates resolve against msg.date,
    else `received_at`, else there is no date.
    """
    kind = detect_kind(msg, rules.auto)
    if kind.kind == Kind.BOUNCE:
        return _bounce(kind)
    reply_text = extract_reply(msg.text, rules.quotes)
    language = detect_language(reply_text) or detect_language(f"{msg.subject}\n{msg.text}")
    base = msg.date or received_at
    languages = [language, "en"] if language else []
    result = _intent(kind.kind, reply_text, msg, rules, _promised(reply_text, base, languages, rules))
    return Understanding(
        kind=kind.kind,
        intent=result.intent,
        language=language,
        date=_date(kind.kind, result.intent, msg, reply_text, languages, base, rules),
        order=first_order_number(msg.subject, reply_text, rules.orders),
        reply_text=reply_text,
        bounce_recipient=kind.bounce_recipient,
        bounce_status=kind.bounce_status,
        scores=tuple((name, float(score)) for name, score in result.scores),
    )


def _bounce(kind: KindResult) -> Understanding:
    """A bounce carries no customer text: no intent, language, date or order of its own."""
    return Understanding(
        kind=Kind.BOUNCE,
        intent=Intent.NONE,
        language="",
        date=None,
        order=None,
        reply_text="",
        bounce_recipient=kind.bounce_recipient,
        bounce_status=kind.bounce_status,
    )


def _intent(
    kind: Kind, text: str, msg: ParsedMessage, rules: UnderstandingRules, dated: bool
) -> IntentResult:
    if kind == Kind.BOUNCE:
        return IntentResult(Intent.NONE, ())
    if kind == Kind.AUTO_REPLY:
        return IntentResult(Intent.ABSENT, ())
    return score_intents(text, rules.intents, msg.attachments, dated=dated)


def _promised(
    text: str, base: datetime | None, languages: list[str], rules: UnderstandingRules
) -> bool:
    """The text names a coming date in a sentence about paying: a promise, even if unsaid."""
    if base is None or not text:
        return False
    found = pick_date(text, base.date(), rules.dates, languages, "payment", require_cue=True)
    return found is not None


def _date(
    kind: Kind,
    intent: Intent,
    msg: ParsedMessage,
    text: str,
    languages: list[str],
    base: datetime | None,
    rules: UnderstandingRules,
) -> date | None:
    """The return date of an auto-reply or absent boss; the promised date of a payment."""
    if base is None or kind == Kind.BOUNCE or intent not in DATED_INTENTS:
        return None
    if kind == Kind.AUTO_REPLY or intent == Intent.ABSENT:
        source = f"{msg.subject}\n{text or msg.text}" if kind == Kind.AUTO_REPLY else text
        return pick_date(source, base.date(), rules.dates, languages, "return")
    return pick_date(text, base.date(), rules.dates, languages, "payment")


def first_order_number(subject: str, text: str, patterns: OrderPatterns) -> str | None:
    """The first order number stated in the subject, else in the new text."""
    found = find_order_numbers(f"{subject}\n{text}", patterns)
    return found[0] if found else None
