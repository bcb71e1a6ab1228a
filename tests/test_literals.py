"""required_literals: the literal pre-filter of the intent patterns never skips a pattern that matches."""

from __future__ import annotations

import re

import pytest

from bot.adapters.rulefiles import read_rules_dir
from bot.core.intent import IntentPatterns, normalise
from bot.core.literals import required_literals
from bot.paths import DEFAULT_RULES_DIR


@pytest.mark.parametrize(
    ("pattern", "want"),
    [
        (r"\bconfirm (on |the )?receipt\b", ("confirm ",)),  # optional group: not required
        (r"\b(paid|settled) in full\b", (" in full",)),
        (r"(?:wire|tt)+ sent", (" sent",)),
        (r"(wire|tt)+x", ("wire", "tt")),
        (r"(wire|)x", ("x",)),  # a branch that needs nothing: only the literal after it
        (r"(wire|)", ()),
        (r"[？?]", ()),
        (r"(?i)paid", ()),  # case-insensitive: no case-exact hint
        (r"(?i:paid) now", (" now",)),
        (r"付款|汇款", ("付款", "汇款")),
    ],
)
def test_required_literals(pattern: str, want: tuple[str, ...]) -> None:
    assert required_literals(re.compile(pattern)) == want


def test_every_intent_pattern_that_matches_has_a_required_literal_in_the_text() -> None:
    """Over the patterns of rules/intents.yaml and texts built from their own examples."""
    patterns = IntentPatterns.from_doc(read_rules_dir(DEFAULT_RULES_DIR)["intents"]).patterns
    texts = [normalise(t).lower() for t in SAMPLES]
    checked = 0
    for pattern in patterns:
        for text in texts:
            if pattern.regex.search(text):
                checked += 1
                assert not pattern.needs or any(s in text for s in pattern.needs), (
                    pattern.regex.pattern,
                    text,
                )
    assert checked >= 10  # the samples do exercise the patterns


SAMPLES = [
    "We have paid the balance today, please check.",
    "Payment was sent yesterday, the TT reference is attached.",
    "We will pay next Friday after our customer pays us.",
    "Wir haben die Rechnung gestern bezahlt.",
    "Wir zahlen nächste Woche.",
    "Hemos realizado el pago hoy.",
    "Nous avons effectué le virement ce matin.",
    "我们已经付款了，请查收。",
    "来週お支払いします。",
    "Мы оплатили счёт вчера.",
    "I am out of the office until Monday.",
    "Please cancel the order, we found a cheaper supplier.",
    "The exchange rate is too high right now.",
    "The goods were damaged, we dispute the invoice.",
]
