"""Dates in customer mail: the promised payment date or the out-of-office return date.

Pure: every relative phrase resolves against `base`, the message's Date, which the caller
passes in. The phrases are data (the `dates:` section of rules/intents.yaml, compiled by
bot.core.date_rules): our own small rules do what dateparser cannot ("下周五", "月底", "end of
next month", "ab dem 12.08.") and are fast; dateparser (restricted to one language,
RELATIVE_BASE = the Date, PREFER_DATES_FROM = future) covers languages that have no phrases in
the YAML, on the sentences that talk about paying or returning only, since its search is slow.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from bot.core.date_rules import ANY, DatePatterns, Phrase, PhraseSpec
from bot.core.daymath import add_months, anchored, build_date, day_of_month, full_year

Purpose = Literal["payment", "return"]
MAX_AHEAD = timedelta(days=400)  # a promise further out than this is not a date we act on
# Dates are looked for in this many characters of the new text: a promise sits near the top,
# and the pairwise work below (overlaps, sentence cues) must stay bounded for hostile mail.
MAX_DATE_TEXT = 10_000
SENTENCE_RE = re.compile(r"[.!?;。！？；\n]")


@dataclass(frozen=True, slots=True)
class FoundDate:
    value: date
    start: int
    end: int
    specific: bool  # a day and month were written out, not a weekday or "next week"
    counted: bool = False  # "in 3 days", "within 2 weeks": a span, not a calendar date
    vague: bool = False  # "next week", "this week", "early next month": no day is stated


def find_dates(
    text: str, base: date, patterns: DatePatterns, languages: Sequence[str]
) -> list[FoundDate]:
    """Every date phrase of those languages (plus numeric forms) resolved against `base`.

    Where phrases overlap the longest wins; a weekday next to a written-out date defers to it.
    """
    text = arabic_numerals(text[:MAX_DATE_TEXT].lower())  # patterns are lower case too
    found: list[FoundDate] = []
    for lang in _languages(patterns, languages):
        for phrase in patterns.phrases.get(lang, ()):
            for match in phrase.regex.finditer(text):
                value = _resolve(match, phrase, base, patterns)
                if value is not None:
                    counted = phrase.spec.unit is not None
                    found.append(
                        FoundDate(
                            value,
                            match.start(),
                            match.end(),
                            _specific(match),
                            counted,
                            _vague(match, phrase.spec),
                        )
                    )
    kept = _without_overlaps(found)
    return sorted(_without_shadowed_weekdays(kept), key=lambda f: f.start)


def _languages(patterns: DatePatterns, languages: Sequence[str]) -> list[str]:
    wanted = [lang for lang in languages if lang in patterns.phrases]
    if not wanted:
        wanted = [lang for lang in patterns.phrases if lang != ANY]
    return [ANY, *dict.fromkeys(wanted)]


def _specific(match: re.Match[str]) -> bool:
    return "d" in match.re.groupindex and match.group("d") is not None


def _vague(match: re.Match[str], spec: PhraseSpec) -> bool:
    """A week or the start of a month with no day in it: "next week", "early next month"."""
    groups = match.groupdict()
    if groups.get("d") or any(v for k, v in groups.items() if k.startswith("wd")):
        return False
    return spec.anchor in ("week_end", "month_start") or (spec.weeks != 0 and spec.unit is None)


CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5,
             "六": 6, "七": 7, "八": 8, "九": 9}  # fmt: skip
CN_NUMBER_RE = re.compile(r"[零〇一二两兩三四五六七八九十]{1,3}(?=\s*[月日号號])")


def arabic_numerals(text: str) -> str:
    """Chinese numerals before 月/日/号 as digits ("七月一日" -> "7月1日"); all else as it was."""
    if not CN_NUMBER_RE.search(text):
        return text
    return CN_NUMBER_RE.sub(_cn_number, text)


def _cn_number(match: re.Match[str]) -> str:
    word = match.group(0)
    tens, _, ones = word.rpartition("十")
    if "十" not in word:
        return "".join(str(CN_DIGITS[ch]) for ch in word) if len(word) == 1 else word
    value = (CN_DIGITS.get(tens, 0) if tens else 1) * 10 + (CN_DIGITS.get(ones, 0) if ones else 0)
    return str(value) if len(tens) <= 1 and len(ones) <= 1 else word


def _without_overlaps(found: list[FoundDate]) -> list[FoundDate]:
    kept: list[FoundDate] = []
    for item in sorted(found, key=lambda f: (-(f.end - f.start), not f.specific, f.start)):
        if all(item.end <= k.start or item.start >= k.end for k in kept):
            kept.append(item)
    return kept


def _without_shadowed_weekdays(found: list[FoundDate]) -> Iterator[FoundDate]:
    specific = [f for f in found if f.specific]
    for item in found:
        near = any(abs(item.start - s.end) < 16 or abs(s.start - item.end) < 16 for s in specific)
        if item.specific or not near:
            yield item


def pick_date(
    text: str,
    base: date,
    patterns: DatePatterns,
    languages: Sequence[str],
    purpose: Purpose,
    *,
    require_cue: bool = False,
    found: Sequence[FoundDate] | None = None,
) -> date | None:
    """The date the message promises to pay on (or, for "return", comes back on), else None.

    Dates before `base` are ignored for payments (they say when something happened); for a
    return they are kept only when no later date is stated. A date in a sentence that talks
    about paying (or returning) beats one that does not; with `require_cue` only such a
    date counts. `found`: the result of find_dates for this text, when the caller has it.
    """
    text = arabic_numerals(text[:MAX_DATE_TEXT].lower())
    if found is None:
        found = find_dates(text, base, patterns, languages)
    found = [f for f in found if f.value <= base + MAX_AHEAD]
    if purpose == "payment":
        found = [f for f in found if not value_dated(text, f, patterns)]
    if not found:
        return _dateparser_fallback(text, base, patterns, languages, purpose)
    cue = patterns.pay_cue if purpose == "payment" else patterns.return_cue
    if require_cue:
        found = [f for f in found if _cued(text, f, cue)]
    future = [f for f in found if f.value >= base]
    if purpose == "return":  # "away until the 8th, back on the 11th": the last date stated
        dated = [f for f in found if not f.counted]  # "we reply within 2 days" is no return
        dated = [f for f in dated if not _absence_start(text, f, patterns)]
        pool = [f for f in dated if f.value >= base] or dated
        return max(f.value for f in pool) if pool else None
    if not future:
        return None
    cued = [f for f in future if _cued(text, f, cue)]
    return (cued or future)[0].value


def value_dated(text: str, found: FoundDate, patterns: DatePatterns) -> bool:
    """ "valuta beneficiario 3 dicembre", "value date 05.12.": the date a made payment is
    credited, not one a payment is promised for. `text` is lower-cased like pick_date's."""
    if patterns.value_date_cue is None:
        return False
    window = text[max(0, found.start - 40) : found.start]
    return patterns.value_date_cue.search(window) is not None


def _absence_start(text: str, found: FoundDate, patterns: DatePatterns) -> bool:
    """ "away from tomorrow": a date behind a start cue, with no return word right after it.

    "ab dem 02.06. wieder im Büro" is still a return: "wieder" follows within a few words.
    """
    if patterns.start_cue is None or not patterns.start_cue.search(
        text[max(0, found.start - 20) : found.start]
    ):
        return False
    return patterns.return_cue.search(text[found.end : found.end + 30]) is None


def _cued(text: str, found: FoundDate, cue: re.Pattern[str]) -> bool:
    """The sentence around the date mentions paying (or returning) before or at the date."""
    left = text[: found.start]
    starts = list(SENTENCE_RE.finditer(left))
    start = starts[-1].end() if starts else 0
    stop = SENTENCE_RE.search(text, found.end)
    end = stop.start() if stop else len(text)
    return cue.search(text[start:end]) is not None


# -- resolving one phrase ---------------------------------------------------------------------


def _resolve(
    match: re.Match[str], phrase: Phrase, base: date, patterns: DatePatterns
) -> date | None:
    groups = match.groupdict()
    spec = phrase.spec
    weekday = next((v for k, v in groups.items() if k.startswith("wd") and v), None)
    if weekday:
        return _weekday(weekday, phrase.language, spec.week or "upcoming", base, patterns)
    if groups.get("d") and groups.get("m"):
        return _day_month(groups, phrase.language, spec.order, base, patterns)
    if groups.get("d"):
        return day_of_month(int(groups["d"]), base)
    if groups.get("m"):  # "end of March", "Anfang April", "8月底"
        first = _day_month(
            {"d": "1", "m": groups["m"], "y": groups.get("y")},
            phrase.language,
            "dmy",
            base,
            patterns,
        )
        return None if first is None else anchored(first, spec.anchor or "month_start")
    return _offset(groups.get("n"), phrase, base, patterns)


def _weekday(word: str, lang: str, week: str, base: date, patterns: DatePatterns) -> date | None:
    index = _index_of(word, patterns.weekdays.get(lang, ()))
    if index is None:
        return None
    monday = base - timedelta(days=base.weekday())
    if week == "next":
        return monday + timedelta(days=7 + index)
    if week == "this":
        return monday + timedelta(days=index)
    if week == "last":
        return monday + timedelta(days=index - 7)
    ahead = (index - base.weekday()) % 7 or 7
    return base + timedelta(days=ahead)


def _index_of(word: str, regexes: Sequence[re.Pattern[str]]) -> int | None:
    for i, regex in enumerate(regexes):
        if regex.fullmatch(word.strip()):
            return i
    return None


def _day_month(
    groups: Mapping[str, str | None], lang: str, order: str, base: date, patterns: DatePatterns
) -> date | None:
    day, month_text, year_text = groups["d"] or "", groups["m"] or "", groups.get("y")
    if month_text.isdigit():
        month: int | None = int(month_text)
    else:
        found = _index_of(month_text.rstrip("."), patterns.months.get(lang, ()))
        month = None if found is None else found + 1
    if month is None:
        return None
    year = full_year(year_text)
    readings = [(int(day), month)]
    if month_text.isdigit() and order in ("mdy", "auto"):
        readings = [(month, int(day))] + (readings if order == "auto" else [])
    dates = [d for d in (build_date(year, m, d_, base) for d_, m in readings) if d is not None]
    if not dates:
        return None
    future = sorted(d for d in dates if d >= base)
    return future[0] if future else dates[0]


def _offset(count: str | None, phrase: Phrase, base: date, patterns: DatePatterns) -> date | None:
    spec = phrase.spec
    days, weeks, months = spec.days, spec.weeks, spec.months
    if count is not None and spec.unit is not None:
        n = _count(count, phrase.language, patterns)
        if n is None:
            return None
        days += n if spec.unit == "days" else 0
        weeks += n if spec.unit == "weeks" else 0
        months += n if spec.unit == "months" else 0
    moved = add_months(base, months) + timedelta(days=days, weeks=weeks)
    return anchored(moved, spec.anchor)


def _count(text: str, lang: str, patterns: DatePatterns) -> int | None:
    if text.isdigit():
        return int(text)
    return patterns.numbers.get(lang, {}).get(text.lower())


# -- dateparser, for languages without phrases ----------------------------------------------


def _dateparser_fallback(
    text: str, base: date, patterns: DatePatterns, languages: Sequence[str], purpose: Purpose
) -> date | None:
    """dateparser's search on the sentences that mention paying/returning, one language only."""
    lang = next((lang for lang in languages if lang), "")
    if not lang or lang in patterns.phrases or not any(ch.isdigit() for ch in text):
        return None
    cue = patterns.pay_cue if purpose == "payment" else patterns.return_cue
    sentences = [s for s in SENTENCE_RE.split(text) if cue.search(s)][:2]
    for sentence in sentences:
        found = _search(sentence, lang, base)
        if found is not None:
            return found
    return None


def _search(sentence: str, lang: str, base: date) -> date | None:
    from dateparser.search import search_dates  # imported late: loading it costs ~0.3 s

    settings: dict[str, Any] = {
        "RELATIVE_BASE": datetime.combine(base, time(12)),
        "PREFER_DATES_FROM": "future",
        "REQUIRE_PARTS": ["day"],
    }
    try:
        hits = search_dates(sentence[:300], languages=[lang], settings=settings)
    except (ValueError, LookupError, TypeError, AttributeError):  # unknown language, odd input
        return None
    for _, value in hits or ():
        if base <= value.date() <= base + MAX_AHEAD:
            return value.date()
    return None
