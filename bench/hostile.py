"""Time and memory of parse_message + classify on each hostile message of tests/hostile_mail.py.

    python bench/hostile.py [CASE ...]

One line per case: the message size, seconds to parse and to classify, the peak of Python
allocations (tracemalloc, measured in a second run so it does not slow the timed one), and the
outcome (the intent, or the MessageParseError reason that ingest quarantines with).
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.adapters.rulefiles import read_rules_dir
from bot.core.mime import parse_message
from bot.core.understand import UnderstandingRules, classify
from bot.errors import MessageParseError
from bot.paths import DEFAULT_RULES_DIR
from tests.hostile_mail import CASES

RECEIVED = datetime(2026, 3, 5, 9, tzinfo=UTC)


def run(raw: bytes, rules: UnderstandingRules) -> tuple[float, float, str]:
    start = time.perf_counter()
    try:
        msg = parse_message(raw)
    except MessageParseError as exc:
        return time.perf_counter() - start, 0.0, f"quarantined: {str(exc)[:60]}"
    parsed = time.perf_counter()
    understanding = classify(msg, rules, received_at=RECEIVED)
    return parsed - start, time.perf_counter() - parsed, understanding.intent.value


def main(names: list[str]) -> None:
    rules = UnderstandingRules.from_docs(read_rules_dir(DEFAULT_RULES_DIR))
    print(f"{'case':28} {'MB':>7} {'parse s':>8} {'classify s':>10} {'peak MB':>8}  outcome")
    for name in names or list(CASES):
        raw = CASES[name]()
        parse_s, classify_s, outcome = run(raw, rules)
        tracemalloc.start()
        run(raw, rules)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(
            f"{name:28} {len(raw) / 1e6:7.2f} {parse_s:8.2f} {classify_s:10.2f} "
            f"{peak / 1e6:8.1f}  {outcome}",
            flush=True,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
