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
from typing import Annotated, Any, Protocol

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from bot.core.literals import LiteralIndex, required_literals
from bot.core.model import Attachment, Intent
from bot.core.yamldoc import YamlDoc, pydantic_errors

EXTRA_MATCH_BONUS = 0.25  # each further match of an intent adds this to its best weight
CLAUSE_END_RE = re.compile(r"[.!?;。！？；\n,，、:：]")
DIGIT_DOT_RE = re.compile(r"(?<=\d)\.(?=\d)")
SENTENCE_END_RE = re.compile(r"[.!?;。！？；\n]")
CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]")
# Patterns of these languages need their script in the text; skipping them saves time.
SCRIPT_LANGUAGES = (
    ("zh", re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")),
    ("ja", re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")),
    ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
)
NEEDS_SCRIPT = frozenset(lang for lang, _ in SCRIPT_LANGUAGES)
# Letters to lower-case in a pattern: not escapes (\\W, \\S) nor "(?P<name>" group syntax.
ESCAPED_UPPER_RE = re.compile(r"(?<!\\)(?<!\(\?)[^\W\d_]")
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
    weight: float = Field(default=1.0, gt=0)
    negatable: bool = False
    negation_window: int | None = Field(default=None, ge=0)  # overrides negation.window_before
    past_only: bool = False
    patterns: dict[str, list[Annotated[PatternSpec, BeforeValidator(_as_spec)]]]


class CueSpec(_Model):
    before: list[Regex] = []
    future: list[Regex] = []
    after: list[Regex] = []


class NegationSpec(_Model):
    window_before: int = Field(default=40, ge=0)
    window_after: int = Field(default=12, ge=0)
    cues: dict[str, CueSpec] = {}


class SlipSpec(_Model):
    max_words: float = Field(default=25, ge=0)
    weight: float = 5.0
    weight_with_text: float = 1.5
    generic_weight: float = 1.5
    no_text_words: float = Field(default=3, ge=0)
    ignore_names: Regex | None = None  # inline images of signatures: logo.png, image001.jpg
    names: list[Regex] = []


class DatedPromiseSpec(_Model):
    bonus: float = Field(default=2.0, ge=0)


class ContrastSpec(_Model):
    factor: float = Field(default=1.0, gt=0)
    cues: Regex | None = None


class IntentsFile(_Model):
    threshold: float = 1.0
    max_extra_bonus: float = Field(default=0.5, ge=0)
    dated_promise: DatedPromiseSpec = DatedPromiseSpec()
    contrast: ContrastSpec = ContrastSpec()
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
    window: int  # characters before a match searched for negation cues
    # At least one of these is in every text the regex matches (bot.core.literals); () no hint.
    needs: tuple[str, ...] = ()


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
    no_text_words: float
    ignore_names: re.Pattern[str] | None


@dataclass(frozen=True, slots=True)
class IntentResult:
    intent: Intent
    scores: tuple[tuple[str, float], ...]  # every intent that scored, best first


class SecondOpinion(Protocol):
    """Asked when no pattern decides (bot.core.intent_model.IntentModel)."""

    def second_opinion(self, text: str, result: IntentResult) -> IntentResult: ...


@dataclass(frozen=True, slots=True)
class IntentPatterns:
    """The compiled intents.yaml: build with `IntentPatterns.from_doc(doc)`."""

    threshold: float
    max_extra_bonus: float
    dated_promise_bonus: float
    contrast: re.Pattern[str] | None
    contrast_factor: float
    priority: tuple[Intent, ...]
    patterns: tuple[CompiledPattern, ...]
    cues: Mapping[str, Cues]
    window_before: int
    window_after: int
    slip: SlipRules
    fallback: SecondOpinion | None = None  # rules/intent_model.yaml: when no pattern decides
    # The patterns' required literals, found in one pass; None runs every pattern (the tests).
    literals: LiteralIndex | None = None

    @classmethod
    def from_doc(cls, doc: YamlDoc) -> IntentPatterns:
        """Validate and compile; any error is a RuleError naming doc.path and the line."""
        try:
            spec = IntentsFile.model_validate(doc.data if doc.data is not None else {})
        except ValidationError as exc:
            raise pydantic_errors(doc, exc) from exc
        compiled = tuple(_compile_patterns(spec.intents, spec.negation.window_before))
        return cls(
            threshold=spec.threshold,
            max_extra_bonus=spec.max_extra_bonus,
            dated_promise_bonus=spec.dated_promise.bonus,
            contrast=_alternation([spec.contrast.cues] if spec.contrast.cues else []),
            contrast_factor=spec.contrast.factor,
            priority=tuple(Intent(name) for name in spec.priority),
            patterns=compiled,
            cues={lang: _compile_cues(cue) for lang, cue in spec.negation.cues.items()},
            window_before=spec.negation.window_before,
            window_after=spec.negation.window_after,
            slip=SlipRules(
                _alternation(spec.slip.names),
                spec.slip.max_words,
                spec.slip.weight,
                spec.slip.weight_with_text,
                spec.slip.generic_weight,
                spec.slip.no_text_words,
                _alternation([spec.slip.ignore_names] if spec.slip.ignore_names else []),
            ),
            literals=LiteralIndex([pattern.needs for pattern in compiled]),
        )


def _compile_patterns(intents: Mapping[str, IntentSpec], window: int) -> Iterable[CompiledPattern]:
    for name, spec in intents.items():
        for language, entries in spec.patterns.items():
            for entry in entries:
                regex = re.compile(lowered(entry.pattern))
                yield CompiledPattern(
                    intent=Intent(name),
                    language=language,
                    regex=regex,
                    weight=entry.weight if entry.weight is not None else spec.weight,
                    negatable=entry.negatable if entry.negatable is not None else spec.negatable,
                    past_only=spec.past_only,
                    window=spec.negation_window if spec.negation_window is not None else window,
                    needs=required_literals(regex),
                )


def lowered(pattern: str) -> str:
    """The pattern in lower case, escapes (\\W, \\S, \\B...) kept: matched on lower-cased text.

    Matching lower case against lower case is about 40% faster than re.IGNORECASE.
    """
    return ESCAPED_UPPER_RE.sub(lambda m: m.group(0).lower(), pattern)


def _alternation(patterns: Sequence[str]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{lowered(p)})" for p in patterns))


def _compile_cues(spec: CueSpec) -> Cues:
    return Cues(_alternation(spec.before), _alternation(spec.future), _alternation(spec.after))


def normalise(text: str) -> str:
    """NFKC (full-width '？' is '?'), one kind of line break, no dots inside numbers.

    "25.04.2025" and "12.500,00" become "25/04/2025" and "12/500,00" so that patterns can
    treat a dot as the end of a sentence.
    """
    text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n").replace("\r", "\n")
    return DIGIT_DOT_RE.sub("/", text)


def word_count(text: str) -> float:
    """Words, where a CJK character counts half (Chinese and Japanese write no spaces)."""
    cjk = len(CJK_RE.findall(text))
    return len(CJK_RE.sub(" ", text).split()) + cjk / 2


def score_intents(
    text: str,
    patterns: IntentPatterns,
    attachments: Sequence[Attachment] = (),
    *,
    dated: bool = False,
) -> IntentResult:
    """The intent of the customer's new text (and attachments): best score over the threshold.

    `dated`: the text names a coming payment date; that makes a promise (and strengthens one).
    """
    clean = normalise(text).lower()
    turn = _contrast_at(clean, patterns)
    matches: dict[Intent, list[float]] = {}
    for pattern in _candidates(clean, patterns):
        for found in pattern.regex.finditer(clean):
            if not _cancelled(clean, found, pattern, patterns):
                factor = patterns.contrast_factor if found.start() >= turn else 1.0
                matches.setdefault(pattern.intent, []).append(pattern.weight * factor)
    scores = {intent: _combine(weights, patterns) for intent, weights in matches.items()}
    if dated:
        scores[Intent.PROMISE] = scores.get(Intent.PROMISE, 0.0) + patterns.dated_promise_bonus
    slip = _slip_bonus(clean, attachments, patterns.slip)
    if slip:
        scores[Intent.PAID] = scores.get(Intent.PAID, 0.0) + slip
    result = _decide(scores, patterns)
    if result.intent != Intent.OTHER or patterns.fallback is None:
        return result
    return patterns.fallback.second_opinion(clean, result)


def _candidates(clean: str, patterns: IntentPatterns) -> list[CompiledPattern]:
    """The patterns that can match: a literal each needs is in the text (bot.core.literals),
    and the script of the script languages (no Han in the text: no Chinese pattern)."""
    scripts = {lang for lang, regex in SCRIPT_LANGUAGES if regex.search(clean)}
    index, every = patterns.literals, patterns.patterns
    chosen = every if index is None else [every[i] for i in index.candidates(clean)]
    return [p for p in chosen if p.language not in NEEDS_SCRIPT or p.language in scripts]


def _contrast_at(text: str, patterns: IntentPatterns) -> int:
    """Where the first "but" is: what follows it is what the customer means."""
    found = patterns.contrast.search(text) if patterns.contrast is not None else None
    return found.end() if found else len(text) + 1


def _combine(weights: list[float], patterns: IntentPatterns) -> float:
    extra = min(EXTRA_MATCH_BONUS * (len(weights) - 1), patterns.max_extra_bonus)
    return max(weights) + extra


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
    before = _clause_before(text, found.start(), pattern.window)
    if cues.before is not None and cues.before.search(before):
        return True
    # "haben noch nicht bezahlt": for past_only intents the match itself may hold the negation
    if pattern.past_only and cues.before is not None and cues.before.search(found.group(0)):
        return True
    after = _clause_after(text, found.end(), patterns.window_after)
    if pattern.past_only and cues.future is not None:
        # "the transfer will be...", and right after: "l'avis de virement vous sera adressé"
        sentence = _sentence_before(text, found.start()) + found.group(0) + after
        if cues.future.search(sentence):
            return True
    return cues.after is not None and cues.after.search(after) is not None


def _clause_before(text: str, start: int, window: int) -> str:
    piece = text[max(0, start - window) : start]
    ends = list(CLAUSE_END_RE.finditer(piece))
    return piece[ends[-1].end() :] if ends else piece


def _sentence_before(text: str, start: int) -> str:
    piece = text[max(0, start - 80) : start]
    ends = list(SENTENCE_END_RE.finditer(piece))
    return piece[ends[-1].end() :] if ends else piece


def _clause_after(text: str, end: int, window: int) -> str:
    piece = text[end : end + window]
    stop = CLAUSE_END_RE.search(piece)
    return piece[: stop.start()] if stop else piece


def _slip_bonus(text: str, attachments: Sequence[Attachment], slip: SlipRules) -> float:
    """A bank slip or remittance copy (image/PDF) counts towards `paid`, a lot if text is short."""
    names = [(a.filename or "").lower() for a in attachments if _slip_type(a)]
    if slip.ignore_names is not None:
        names = [name for name in names if not slip.ignore_names.search(name)]
    if not names:
        return 0.0
    words = word_count(text)
    if slip.names is not None and any(slip.names.search(name) for name in names):
        return slip.weight if words <= slip.max_words else slip.weight_with_text
    return slip.generic_weight if words <= slip.no_text_words else 0.0


def _slip_type(attachment: Attachment) -> bool:
    return attachment.content_type.lower().startswith(SLIP_TYPES)


# -- the statistical second opinion -----------------------------------------------------------
