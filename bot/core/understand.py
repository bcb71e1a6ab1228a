"""What dunbot understands of one message: `classify(msg, rules) -> Understanding`.

Pure: the rules come in compiled (`UnderstandingRules.from_docs`), the message is already
parsed, and relative dates resolve against the message's own Date header (or the caller's
`received_at` when the header is missing); no clock is read here.

The steps: kind (human, auto-reply, bounce) -> the new text without quotes and signature ->
language -> intent (from the new text only, never the quote) -> promised payment or return
date -> order number (subject first, then the new text).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime

from bot.core.autodetect import AutoPatterns, KindResult, detect_kind
from bot.core.date_rules import DatePatterns
from bot.core.dates import FoundDate, Purpose, find_dates, pick_date
from bot.core.intent import IntentPatterns, IntentResult, score_intents
from bot.core.intent_model import IntentModel
from bot.core.language import detect_language
from bot.core.model import Intent, Kind, ParsedMessage, Understanding
from bot.core.ordernumbers import OrderPatterns, find_order_numbers
from bot.core.reply import QuotePatterns, extract_reply
from bot.core.yamldoc import YamlDoc
from bot.errors import RuleError

RULE_FILES = ("intents", "quotes", "autoreply", "orders")
MODEL_FILE = "intent_model"  # optional
SENTENCE_END_RE = re.compile(r"[.!?;。！？；\n]")


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
            intents=_intents(docs),
            dates=DatePatterns.from_doc(docs["intents"]),
        )


def _intents(docs: Mapping[str, YamlDoc]) -> IntentPatterns:
    """intents.yaml, with the statistical second opinion of intent_model.yaml when present."""
    patterns = IntentPatterns.from_doc(docs["intents"])
    if MODEL_FILE not in docs:
        return patterns
    return replace(patterns, fallback=IntentModel.from_doc(docs[MODEL_FILE]))


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
    text = extract_reply(msg.text, rules.quotes)
    language = detect_language(text) or detect_language(f"{msg.subject}\n{msg.text}")
    when = msg.date or received_at
    day = when.date() if when is not None else None
    languages = [language, "en"] if language else []
    if kind.kind == Kind.AUTO_REPLY:
        result = IntentResult(Intent.ABSENT, ())
        found = _return_date(f"{msg.subject}\n{text or msg.text}", day, languages, rules)
    else:
        result, found = _human(text, msg, day, languages, rules)
    return Understanding(
        kind=kind.kind,
        intent=result.intent,
        language=language,
        date=found,
        order=first_order_number(msg.subject, text, rules.orders),
        reply_text=text,
        bounce_recipient=kind.bounce_recipient,
        bounce_status=kind.bounce_status,
        scores=result.scores,
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


def _human(
    text: str, msg: ParsedMessage, day: date | None, languages: list[str], rules: UnderstandingRules
) -> tuple[IntentResult, date | None]:
    """Intent and date of a person's reply; a coming date in a sentence about paying is a promise.

    The date is the promised payment date (intent promise) or the return date (absent).
    """
    if day is None or not text:
        return score_intents(text, rules.intents, msg.attachments), None
    found = find_dates(text, day, rules.dates, languages)
    cued = pick_date(text, day, rules.dates, languages, "payment", require_cue=True, found=found)
    dated = cued is not None and not _asked(text, found, cued)
    result = score_intents(text, rules.intents, msg.attachments, dated=dated)
    if result.intent == Intent.PROMISE:
        return result, _picked(text, day, languages, rules, "payment", found)
    if result.intent == Intent.ABSENT:
        return result, _picked(text, day, languages, rules, "return", found)
    if cued is not None and any(f.specific and f.value == cued for f in found):
        return result, cued  # "our client pays on the 20th, you get yours the same day"
    return result, None


def _asked(text: str, found: list[FoundDate], cued: date) -> bool:
    """ "Can we pay the rest on the 20th?": a date in a question is a proposal, not a promise."""
    for f in found:
        if f.value == cued:
            stop = SENTENCE_END_RE.search(text, f.end)
            return stop is not None and stop.group(0) in "?？"
    return False


def _picked(
    text: str,
    day: date,
    languages: list[str],
    rules: UnderstandingRules,
    purpose: Purpose,
    found: list[FoundDate],
) -> date | None:
    """The date of `purpose` among the stated dates: "next week" makes a promise, names no day."""
    stated = [f for f in found if not f.vague]
    if found and not stated:
        return None
    return pick_date(text, day, rules.dates, languages, purpose, found=stated or None)


def _return_date(
    text: str, day: date | None, languages: list[str], rules: UnderstandingRules
) -> date | None:
    if day is None:
        return None
    return _picked(
        text, day, languages, rules, "return", find_dates(text, day, rules.dates, languages)
    )


def first_order_number(subject: str, text: str, patterns: OrderPatterns) -> str | None:
    """The first order number stated in the subject, else in the new text."""
    found = find_order_numbers(f"{subject}\n{text}", patterns)
    return found[0] if found else None
