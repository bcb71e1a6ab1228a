"""The `dates:` section of rules/intents.yaml, validated and compiled: phrases per language,
weekday and month names, number words, and the cues that say what a date is about."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict

from bot.core.intent import lowered
from bot.core.yamldoc import YamlDoc, validated

ANY = "any"  # phrases for every language (numeric dates)
PLACEHOLDERS = ("{weekday}", "{month}", "{day}", "{year}", "{n}")
# "valuta beneficiario 3 dicembre", "value date 05.12.", "fecha valor": the bank's value date of
# a payment already made is never a promised date. The cue must stand right before the date
# (short filler words allowed), so "pagheremo in valuta EUR il 10 dicembre" stays a promise.
# Override with `value_date_cues:` in the `dates:` section.
VALUE_DATE_CUES = (
    r"\bvalue[ -]?dated?|\bval\. ?date|\bvaluta(?:datum)?(?: (?:beneficiario|ordinante|fissa"
    r"|beneficiante|a favore del beneficiario))?|\bwertstellung|\bfecha(?: de)? valor"
    r"|\bdata(?: de)? valor|\bdata (?:di )?valuta|\bdate de valeur|\bvaleur|\bvalör(?: tarihi)?"
    r"|дата валютирования|起息日|起息|入账日|資金化日|\bdata waluty"
)
VALUE_DATE_FILLER = (
    r"(?:\W+(?:del|della|dello|al|il|lo|le|la|am|zum|zur|vom|per|de|du|des|the|of|on|at|do|da"
    r"|em|en|el|à|a|ist|is|was|è|es|est|é|stata|sarà|will be|wird))*\W*$"
)


def _placeholders_ok(value: str) -> str:
    probe = value
    for name in PLACEHOLDERS:
        probe = probe.replace(name, "x")
    try:
        re.compile(probe, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression ({exc}): {value!r}") from exc
    return value


Regex = Annotated[str, AfterValidator(_placeholders_ok)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PhraseSpec(_Model):
    pattern: Regex
    week: Literal["next", "this", "upcoming", "last"] | None = None
    days: int = 0
    weeks: int = 0
    months: int = 0
    unit: Literal["days", "weeks", "months"] | None = None
    anchor: Literal["week_end", "month_start", "month_mid", "month_end", "year_end"] | None = None
    order: Literal["dmy", "mdy", "auto"] = "dmy"


class DatesSpec(_Model):
    numbers: dict[str, dict[str, int]] = {}
    weekdays: dict[str, list[Regex]] = {}
    months: dict[str, list[Regex]] = {}
    phrases: dict[str, list[PhraseSpec]] = {}
    pay_cues: Regex = "pay"
    return_cues: Regex = "back|return"
    # "from tomorrow", "à partir du 5": where an absence starts, not where it ends
    start_cues: Regex | None = None
    # "valuta 3 dicembre", "value date": when a made payment reaches the account, no promise
    value_date_cues: Regex | None = VALUE_DATE_CUES


@dataclass(frozen=True, slots=True)
class Phrase:
    regex: re.Pattern[str]
    language: str
    spec: PhraseSpec


@dataclass(frozen=True, slots=True)
class DatePatterns:
    """The compiled `dates:` section; build with `DatePatterns.from_doc(doc)` (bot.core.dates finds the dates)."""

    phrases: Mapping[str, tuple[Phrase, ...]]
    weekdays: Mapping[str, tuple[re.Pattern[str], ...]]
    months: Mapping[str, tuple[re.Pattern[str], ...]]
    numbers: Mapping[str, Mapping[str, int]]
    pay_cue: re.Pattern[str]
    return_cue: re.Pattern[str]
    start_cue: re.Pattern[str] | None = None
    value_date_cue: re.Pattern[str] | None = None

    @classmethod
    def from_doc(cls, doc: YamlDoc) -> DatePatterns:
        """Validate doc.data["dates"]; errors are RuleError with the file and line."""
        data = doc.data.get("dates") if isinstance(doc.data, dict) else None
        spec = validated(DatesSpec, doc, data or {}, at=("dates",))
        for lang, months in spec.months.items():
            if len(months) != 12:
                raise doc.error(
                    ("dates", "months", lang), f"{lang}: needs 12 months, has {len(months)}"
                )
        for lang, days in spec.weekdays.items():
            if len(days) != 7:
                raise doc.error(
                    ("dates", "weekdays", lang), f"{lang}: needs 7 weekdays, has {len(days)}"
                )
        return _compile(spec, doc)


def _compile(spec: DatesSpec, doc: YamlDoc) -> DatePatterns:
    phrases = {
        lang: tuple(_phrase(spec, lang, i, p, doc) for i, p in enumerate(items))
        for lang, items in spec.phrases.items()
    }
    return DatePatterns(
        phrases=phrases,
        weekdays={
            k: tuple(re.compile(f"(?:{lowered(w)})") for w in v) for k, v in spec.weekdays.items()
        },
        months={
            k: tuple(re.compile(f"(?:{lowered(m)})") for m in v) for k, v in spec.months.items()
        },
        numbers={k: {w.lower(): n for w, n in v.items()} for k, v in spec.numbers.items()},
        pay_cue=re.compile(lowered(spec.pay_cues)),
        return_cue=re.compile(lowered(spec.return_cues)),
        start_cue=re.compile(f"(?:{lowered(spec.start_cues)})\\W*$") if spec.start_cues else None,
        value_date_cue=(
            re.compile(f"(?:{lowered(spec.value_date_cues)}){VALUE_DATE_FILLER}")
            if spec.value_date_cues
            else None
        ),
    )


def _phrase(spec: DatesSpec, lang: str, i: int, phrase: PhraseSpec, doc: YamlDoc) -> Phrase:
    try:
        regex = re.compile(lowered(_expand(phrase.pattern, lang, spec)))
    except re.error as exc:
        raise doc.error(("dates", "phrases", lang, i), f"phrase does not compile ({exc})") from exc
    return Phrase(regex, lang, phrase)


def _expand(pattern: str, lang: str, spec: DatesSpec) -> str:
    weekdays = "|".join(f"(?:{w})" for w in spec.weekdays.get(lang, ["(?!x)x"]))
    months = "|".join(f"(?:{m})" for m in spec.months.get(lang, []))
    words = sorted(spec.numbers.get(lang, {}), key=len, reverse=True)
    number = "|".join([r"\d{1,3}", *(re.escape(w) for w in words)])
    parts = pattern.split("{weekday}")  # each weekday slot gets its own group: wd, wd1, wd2...
    pattern = parts[0] + "".join(
        f"(?P<wd{i or ''}>{weekdays}){part}" for i, part in enumerate(parts[1:])
    )
    return (
        pattern.replace("{month}", f"(?P<m>{months})" if months else r"(?P<m>\d{1,2})")
        .replace("{day}", r"(?P<d>\d{1,2})")
        .replace("{year}", r"(?P<y>\d{4})")
        .replace("{n}", f"(?P<n>{number})")
    )
