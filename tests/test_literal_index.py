"""LiteralIndex: the one-pass literal pre-filter of score_intents never changes a result."""

from __future__ import annotations

import pickle
from dataclasses import replace
from pathlib import Path

import pytest

from bot.adapters.rulefiles import read_rules_dir
from bot.core.intent import IntentPatterns, normalise, score_intents
from bot.core.literals import LiteralIndex
from bot.core.mime import parse_message
from bot.core.reply import QuotePatterns, extract_reply
from bot.paths import DEFAULT_RULES_DIR

LABELED_MAIL = Path(__file__).resolve().parent / "data" / "labeled" / "mail"
NEEDS = [("pay",), (), ("wire", "tt"), ("付款",), ("payment",), ("ment",), ("",)]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("", [1, 6]),
        ("tt sent", [1, 2, 6]),
        ("payment sent", [0, 1, 4, 5, 6]),  # overlapping literals are all found
        ("我们下周付款", [1, 3, 6]),
        ("wir zahlen", [1, 6]),
    ],
)
def test_candidates_are_the_patterns_with_a_literal_in_the_text(text: str, want: list[int]) -> None:
    assert LiteralIndex(NEEDS).candidates(text) == want


def test_an_index_without_literals_names_every_pattern_without_hints() -> None:
    assert LiteralIndex([(), ()]).candidates("anything") == [0, 1]
    assert LiteralIndex([]).candidates("anything") == []


def test_the_index_survives_pickling_for_worker_processes() -> None:
    index = pickle.loads(pickle.dumps(LiteralIndex(NEEDS)))
    assert index.candidates("payment by tt") == [0, 1, 2, 4, 5, 6]


@pytest.fixture(scope="module")
def rules() -> tuple[IntentPatterns, QuotePatterns]:
    docs = read_rules_dir(DEFAULT_RULES_DIR)
    return IntentPatterns.from_doc(docs["intents"]), QuotePatterns.from_doc(docs["quotes"])


def _labeled_texts(quotes: QuotePatterns) -> list[tuple[str, bool]]:
    """(text, whether to score it unfiltered too): each reply, and each whole message."""
    texts = []
    for path in sorted(LABELED_MAIL.glob("*.eml")):
        msg = parse_message(path.read_bytes())
        texts += [(extract_reply(msg.text, quotes), True), (f"{msg.subject}\n{msg.text}", False)]
    return texts


def test_the_prefilter_never_changes_a_result_on_the_labeled_set(
    rules: tuple[IntentPatterns, QuotePatterns],
) -> None:
    """Every labeled reply: the same IntentResult as running every pattern; every reply and
    whole message: the same candidates as checking each pattern's literals with `in`."""
    patterns, quotes = rules
    assert patterns.literals is not None
    unfiltered = replace(patterns, literals=None)
    texts = _labeled_texts(quotes)
    assert len(texts) > 1000
    for text, score in texts:
        clean = normalise(text).lower()
        plain = [
            i
            for i, p in enumerate(patterns.patterns)
            if not p.needs or any(literal in clean for literal in p.needs)
        ]
        assert patterns.literals.candidates(clean) == plain, text
        if score:
            assert score_intents(text, patterns) == score_intents(text, unfiltered), text
