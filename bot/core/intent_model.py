"""The statistical second opinion on a reply's intent: multinomial naive Bayes over character
n-grams, read from rules/intent_model.yaml (tests/data/labeled/train_intent_model.py writes it)."""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import repeat

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.core.intent import IntentResult, word_count
from bot.core.model import Intent
from bot.core.yamldoc import YamlDoc, pydantic_errors

WORD_RE = re.compile(r"\w+(?:'\w+)?")
PUNCTUATION_RE = re.compile(r"[^\w\s]+")  # "好的，了解，謝謝。" is three words, not six


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _ModelClass(_Model):
    documents: int = Field(gt=0)
    counts: str  # JSON object {"3-gram": count} (one string: quick to parse, see the trainer)


class _ModelFile(_Model):
    ngram: int = Field(default=3, ge=1, le=6)
    words: int = Field(default=0, ge=0, le=3)  # word n-grams up to this order as well ("w:" keys)
    uniform_prior: bool = False  # every intent equally likely a priori (the set's mix is ours)
    # Naive Bayes counts every overlapping n-gram as independent evidence, so its raw posteriors
    # are all near 1.0; dividing the log-likelihoods by `temperature` makes `min_posterior` bite.
    temperature: float = Field(default=1.0, gt=0)
    alpha: float = Field(default=0.1, gt=0)
    min_posterior: float = Field(default=0.6, gt=0, le=1)
    min_words: float = Field(default=5, ge=0)  # "Received, thanks": too little to go on
    classes: dict[str, _ModelClass]


@dataclass(frozen=True, slots=True)
class IntentModel:
    """Multinomial naive Bayes over character n-grams, trained on the labeled set's texts.

    Asked only when no pattern reaches the threshold: patterns know the phrasings we wrote
    down; the model knows words near them ("skint", "forex", "godown") and wins back much of
    what unseen phrasings lose (see tests/data/labeled/README.md). It answers only when its
    posterior is at least `min_posterior`; "other" stays "other" otherwise.
    """

    ngram: int
    words: int
    temperature: float
    min_posterior: float
    min_words: float
    classes: tuple[tuple[Intent, float, float, Mapping[str, float]], ...]  # prior, unseen, logp
    vocabulary: frozenset[str]

    @classmethod
    def from_doc(cls, doc: YamlDoc) -> IntentModel:
        """rules/intent_model.yaml, written by tests/data/labeled/train_intent_model.py."""
        try:
            spec = _ModelFile.model_validate(doc.data if doc.data is not None else {})
            counts = {name: json.loads(c.counts) for name, c in spec.classes.items()}
            intents = {name: Intent(name) for name in spec.classes}
        except ValidationError as exc:
            raise pydantic_errors(doc, exc) from exc
        except ValueError as exc:  # bad JSON or an unknown intent name
            raise doc.error(("classes",), f"intent model does not load: {exc}") from exc
        known = frozenset(gram for table in counts.values() for gram in table)
        vocabulary = len(known)
        documents = sum(c.documents for c in spec.classes.values())
        classes = []
        for name, c in spec.classes.items():
            total = sum(counts[name].values()) + spec.alpha * vocabulary
            logp = {g: math.log((n + spec.alpha) / total) for g, n in counts[name].items()}
            unseen = math.log(spec.alpha / total)
            prior = 0.0 if spec.uniform_prior else math.log(c.documents / documents)
            classes.append((intents[name], prior, unseen, logp))
        return cls(
            spec.ngram,
            spec.words,
            spec.temperature,
            spec.min_posterior,
            spec.min_words,
            tuple(classes),
            known,
        )

    def predict(self, text: str) -> tuple[Intent, float]:
        """The most likely intent of a (lower-cased, normalised) text and its posterior.

        `map(logp.get, grams, repeat(unseen))` sums in C what a generator summed in Python:
        the same additions in the same order (identical results), about twice as fast.
        """
        grams = [g for g in features(text, self.ngram, self.words) if g in self.vocabulary]
        logs = [
            (intent, (prior + sum(map(logp.get, grams, repeat(unseen)))) / self.temperature)
            for intent, prior, unseen, logp in self.classes
        ]
        best = max(value for _, value in logs)
        total = sum(math.exp(value - best) for _, value in logs)
        intent = max(logs, key=lambda item: item[1])[0]
        return intent, 1.0 / total

    def second_opinion(self, text: str, result: IntentResult) -> IntentResult:
        """The model's intent instead of `result` ("other") when it is confident enough."""
        if word_count(PUNCTUATION_RE.sub(" ", text)) < self.min_words:
            return result
        intent, posterior = self.predict(text)
        if intent == Intent.OTHER or posterior < self.min_posterior:
            return result
        return IntentResult(
            intent, (*result.scores, (f"model:{intent.value}", round(posterior, 3)))
        )


def features(text: str, ngram: int, words: int) -> list[str]:
    """What the model counts: character n-grams, and word n-grams up to `words` ("w:" + words)."""
    grams = char_grams(text, ngram)
    if words:
        grams.extend(word_grams(text, words))
    return grams


def word_grams(text: str, upto: int) -> list[str]:
    """Word 1..upto-grams ("w:pay half"), digits as 0; CJK runs stay whole words."""
    tokens = WORD_RE.findall(re.sub(r"\d", "0", unicodedata.normalize("NFKC", text).lower()))
    return [
        "w:" + " ".join(tokens[i : i + n])
        for n in range(1, upto + 1)
        for i in range(len(tokens) - n + 1)
    ]


def char_grams(text: str, n: int) -> list[str]:
    """Character n-grams of the text as the model sees it: NFKC, lower case, one space, 0 for digits."""
    flat = " " + " ".join(unicodedata.normalize("NFKC", text).lower().split()) + " "
    flat = re.sub(r"\d", "0", flat)
    return [flat[i : i + n] for i in range(len(flat) - n + 1)]
