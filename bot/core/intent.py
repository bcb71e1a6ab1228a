"""Why the customer wrote: weighted patterns per intent and language (rules/intents.yaml).

Pure: the patterns come in as a validated YamlDoc; `score_intents` takes the customer's new
text (never the quoted history) and the attachments and returns the winning intent with the
scores that decided it. How scoring, negation and precedence work is described at the top of
rules/intents.yaml, where a salesperson edits the patterns.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from bot.core.model import Attachment, Intent
from bot.core.yamldoc import YamlDoc, pydantic_errors

EXTRA_MATCH_BONUS = 0.25  # each further match of an intent adds this to its best weight
CLAUSE_END_RE = re.compile(r"[.!?;。！？；\n,，、:：]")
CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]")
SLIP_TYPES = ("image/", "application/pdf")
SCORED_INTENTS = frozenset(i.value for i in Intent) - {Intent.NONE.value, Intent.OTHER.value}


def _regex(value: str) -> str:
    try:
        re.compile(value, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression ({exc}): {value!r}") from exc
    return value


def _intent_name(value: str) -> str:
    if value not in SCORED_INTENTS:
        raise ValueError(f"unknown intent {value!r}; one of {', '.join(sorted(SCORED_INTENTS))}")
    return value


def _as_spec(value: Any) -> Any:
    return {"pattern": value} if isinstance(value, str) else value


Regex = Annotated[str, AfterValidator(_regex)]
IntentName = Annotated[str, AfterValidator(_intent_name)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PatternSpec(_Model):
    pattern: Regex
    weight: float | None = None
    negatable: bool | None = None


class IntentSpec(_Model):
    weight: float = Field(1.0, gt=0)
    negatable: bool = False
    past_only: bool = False
    patterns: dict[str, list[Annotated[PatternSpec, BeforeValidator(_as_spec)]]]


class CueSpec(_Model):
    before: list[Regex] = []
    future: list[Regex] = []
    after: list[Regex] = []


class NegationSpec(_Model):
    window_before: int = Field(40, ge=0)
    window_after: int = Field(12, ge=0)
    cues: dict[str, CueSpec] = {}


class SlipSpec(_Model):
    max_words: float = Field(25, ge=0)
    weight: float = 5.0
    weight_with_text: float = 1.5
    generic_weight: float = 1.5
    names: list[Regex] = []


class IntentsFile(_Model):
    threshold: float = 1.0
    priority: list[IntentName] = []
    negation: NegationSpec = NegationSpec()
    slip: SlipSpec = SlipSpec()
    intents: dict[IntentName, IntentSpec]
    dates: dict[str, Any] | None = None  # validated by bot.core.dates


@dataclass(frozen=True, slots=True)
class CompiledPattern:
    intent: Intent
    language: str
    regex: re.Pattern[str]
    weight: float
    negatable: bool
    past_only: bool


@dataclass(frozen=True, slots=True)
class Cues:
    before: re.Pattern[str] | None
    future: re.Pattern[str] | None
    after: re.Pattern[str] | None


@dataclass(frozen=True, slots=True)
class SlipRules:
    names: re.Pattern[str] | None
    max_words: float
    weight: float
    weight_with_text: float
    generic_weight: float


@dataclass(frozen=True, slots=True)
class IntentResult:
    intent: Intent
    scores: tuple[tuple[str, float], ...]  # every intent that scored, best first


@dataclass(frozen=True, slots=True)
class IntentPatterns:
    """The compiled intents.yaml: build with `IntentPatterns.from_doc(doc)`."""

    threshold: float
    priority: tuple[Intent, ...]
    patterns: tuple[CompiledPattern, ...]
    cues: Mapping[str, Cues]
    window_before: int
    window_after: int
    slip: SlipRules

    @classmethod
    def from_doc(cls, doc: YamlDoc) -> IntentPatterns:
        """Validate and compile; any error is a RuleError naming doc.path and the line."""
        try:
            spec = IntentsFile.model_validate(doc.data if doc.data is not None else {})
        except ValidationError as exc:
            raise pydantic_errors(doc, exc) from exc
        return cls(
            threshold=spec.threshold,
            priority=tuple(Intent(name) for name in spec.priority),
            patterns=tuple(_compile_patterns(spec.intents)),
            cues={lang: _compile_cues(cue) for lang, cue in spec.negation.cues.items()},
            window_before=spec.negation.window_before,
            window_after=spec.negation.window_after,
            slip=SlipRules(
                _alternation(spec.slip.names),
                spec.slip.max_words,
                spec.slip.weight,
                spec.slip.weight_with_text,
                spec.slip.generic_weight,
            ),
        )


def _compile_patterns(intents: Mapping[str, IntentSpec]) -> Iterable[CompiledPattern]:
    for name, spec in intents.items():
        for language, entries in spec.patterns.items():
            for entry in entries:
                yield CompiledPattern(
                    intent=Intent(name),
                    language=language,
                    regex=re.compile(entry.pattern, re.IGNORECASE),
                    weight=entry.weight if entry.weight is not None else spec.weight,
                    negatable=entry.negatable if entry.negatable is not None else spec.negatable,
                    past_only=spec.past_only,
                )


def _alternation(patterns: Sequence[str]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


def _compile_cues(spec: CueSpec) -> Cues:
    return Cues(_alternation(spec.before), _alternation(spec.future), _alternation(spec.after))


def normalise(text: str) -> str:
    """NFKC (full-width '？' is '?'), one kind of line break."""
    return unicodedata.normalize("NFKC", text).replace("\r\n", "\n").replace("\r", "\n")


def word_count(text: str) -> float:
    """Words, where a CJK character counts half (Chinese and Japanese write no spaces)."""
    cjk = len(CJK_RE.findall(text))
    return len(CJK_RE.sub(" ", text).split()) + cjk / 2


def score_intents(
    text: str, patterns: IntentPatterns, attachments: Sequence[Attachment] = ()
) -> IntentResult:
    """The intent of the customer's new text (and attachments): best score over the threshold."""
    clean = normalise(text)
    matches: dict[Intent, list[float]] = {}
    for pattern in patterns.patterns:
        for found in pattern.regex.finditer(clean):
            if not _cancelled(clean, found, pattern, patterns):
                matches.setdefault(pattern.intent, []).append(pattern.weight)
    scores = {intent: _combine(weights) for intent, weights in matches.items()}
    slip = _slip_bonus(clean, attachments, patterns.slip)
    if slip:
        scores[Intent.PAID] = scores.get(Intent.PAID, 0.0) + slip
    return _decide(scores, patterns)


def _combine(weights: list[float]) -> float:
    return max(weights) + EXTRA_MATCH_BONUS * (len(weights) - 1)


def _decide(scores: Mapping[Intent, float], patterns: IntentPatterns) -> IntentResult:
    rank = {intent: i for i, intent in enumerate(patterns.priority)}
    ordered = sorted(scores.items(), key=lambda kv: (-kv[1], rank.get(kv[0], len(rank))))
    table = tuple((intent.value, round(score, 3)) for intent, score in ordered)
    if not ordered or ordered[0][1] < patterns.threshold:
        return IntentResult(Intent.OTHER, table)
    return IntentResult(ordered[0][0], table)


def _cancelled(
    text: str, found: re.Match[str], pattern: CompiledPattern, patterns: IntentPatterns
) -> bool:
    """A negated (or, for past_only intents, future) mention does not count."""
    if not pattern.negatable:
        return False
    cues = patterns.cues.get(pattern.language)
    if cues is None:
        return False
    before = _clause_before(text, found.start(), patterns.window_before) + found.group(0)
    if cues.before is not None and cues.before.search(before):
        return True
    if pattern.past_only and cues.future is not None and cues.future.search(before):
        return True
    after = _clause_after(text, found.end(), patterns.window_after)
    return cues.after is not None and cues.after.search(after) is not None


def _clause_before(text: str, start: int, window: int) -> str:
    piece = text[max(0, start - window) : start]
    ends = list(CLAUSE_END_RE.finditer(piece))
    return piece[ends[-1].end() :] if ends else piece


def _clause_after(text: str, end: int, window: int) -> str:
    piece = text[end : end + window]
    stop = CLAUSE_END_RE.search(piece)
    return piece[: stop.start()] if stop else piece


def _slip_bonus(text: str, attachments: Sequence[Attachment], slip: SlipRules) -> float:
    """A bank slip or remittance copy (image/PDF) counts towards `paid`, a lot if text is short."""
    files = [a for a in attachments if a.content_type.lower().startswith(SLIP_TYPES)]
    if not files:
        return 0.0
    short = word_count(text) <= slip.max_words
    named = slip.names is not None and any(slip.names.search(a.filename or "") for a in files)
    if named:
        return slip.weight if short else slip.weight_with_text
    return slip.generic_weight if word_count(text) <= slip.max_words / 3 else 0.0
