"""Benchmark of understanding: messages per second for `classify`, and where the time goes.

    python bench/understand.py [--count 3000] [--labeled tests/data/labeled/mail]

Loads the labeled .eml files (when present) and adds synthetic replies in eleven languages,
multiplied into `--count` messages that differ in their text (so no cache can flatter the
figure), parses them once, classifies all of them once untimed (the one-time loads: lingua's
models, dateparser; bot.core caches nothing keyed by text), then times a second pass. It prints the
throughput of `classify` and of each stage run on its own. Target: >= 300 messages/s, one core.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from bot.adapters.rulefiles import read_rules_dir
from bot.core.autodetect import detect_kind
from bot.core.dates import pick_date
from bot.core.intent import score_intents
from bot.core.language import detect_language
from bot.core.mime import parse_message
from bot.core.model import ParsedMessage
from bot.core.ordernumbers import find_order_numbers
from bot.core.reply import extract_reply
from bot.core.understand import UnderstandingRules, classify
from bot.errors import MessageParseError
from bot.paths import DEFAULT_RULES_DIR, PROJECT_ROOT

SYNTHETIC = (
    "We will pay the balance next Friday, sorry for the delay.",
    "We have paid the deposit this morning, please find the bank slip attached.",
    "Our customer has not paid us yet, we will transfer once we receive their payment.",
    "Cash flow is very tight this month, can we pay in two installments?",
    "The goods arrived damaged, 20 cartons are broken. We will not pay until this is solved.",
    "Can you send me your bank details and the PI again? Our bank needs the SWIFT code.",
    "我们下周五付款，不好意思拖了这么久。",
    "老板出差了，月底回来再安排付款。",
    "货已经收到了，但是有一批质量有问题，请处理。",
    "Wir werden die Rechnung bis Ende des Monats überweisen.",
    "Wir haben noch nicht bezahlt, weil unser Kunde noch nicht gezahlt hat.",
    "Pagaremos la próxima semana, disculpe el retraso.",
    "Nous avons trouvé un fournisseur moins cher, nous allons annuler la commande.",
    "Il bonifico sarà effettuato il 20 marzo.",
    "O pagamento foi efetuado hoje, segue o comprovativo.",
    "Мы оплатим счёт в понедельник.",
    "来週の金曜日に送金いたします。",
    "Döviz kuru çok yüksek, ödemeyi gelecek hafta yapacağız.",
    "سوف ندفع المبلغ الأسبوع القادم",
)
QUOTE = "\n\nOn Mon, 3 Mar 2025 at 10:00, Lily Chen <lily@supplier.test> wrote:\n> Dear customer,\n> a friendly reminder that PO-2025-{n:04d} is due.\n"


def synthetic(i: int, rng: random.Random) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"buyer{i}@customer{i % 50}.test"
    msg["To"] = "lily@supplier.test"
    msg["Subject"] = f"Re: Payment reminder PO-2025-{i % 500:04d}"
    sent = datetime(2025, 3, 3, 9, tzinfo=UTC) + timedelta(hours=rng.randint(0, 2000))
    msg["Date"] = format_datetime(sent)
    msg["Message-ID"] = f"<bench-{i}@customer.test>"
    body = f"Hi Lily,\n\n{rng.choice(SYNTHETIC)} (#{i})\n\nBest regards,\nBuyer {i}"
    msg.set_content(body + QUOTE.format(n=i % 500))
    return msg.as_bytes()


def load(count: int, labeled: Path) -> list[ParsedMessage]:
    rng = random.Random(7)
    raws = [p.read_bytes() for p in sorted(labeled.glob("*.eml"))] if labeled.is_dir() else []
    raws += [synthetic(i, rng) for i in range(max(count - len(raws), 0))]
    messages = []
    for raw in raws[:count]:
        try:
            messages.append(parse_message(raw))
        except MessageParseError:
            continue
    return messages


def timed(
    label: str, messages: list[ParsedMessage], step: Callable[[ParsedMessage], object]
) -> tuple[float, float]:
    """Wall-clock and CPU seconds for one pass; CPU time is the fair figure on a busy machine."""
    wall, cpu = time.perf_counter(), time.process_time()
    for msg in messages:
        step(msg)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    n = len(messages)
    print(
        f"  {label:<10} {cpu * 1000 / n:7.3f} ms/msg CPU  {n / cpu:7.0f} msg/s CPU"
        f"  ({n / wall:.0f} msg/s wall)"
    )
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--labeled", type=Path, default=PROJECT_ROOT / "tests/data/labeled/mail")
    args = parser.parse_args()
    t0 = time.perf_counter()
    rules = UnderstandingRules.from_docs(read_rules_dir(DEFAULT_RULES_DIR))
    print(f"rules compiled in {(time.perf_counter() - t0) * 1000:.0f} ms")
    messages = load(args.count, args.labeled)
    warm = time.perf_counter()
    for msg in messages:  # once per process: language models, dateparser (~0.8 s), lazy imports
        classify(msg, rules)
    print(
        f"{len(messages)} messages; warm-up pass (one-time loads) {time.perf_counter() - warm:.1f} s"
    )
    wall, cpu = timed("classify", messages, lambda m: classify(m, rules))
    n = len(messages)
    print(f"classify: {n / cpu:.0f} messages/s of CPU time ({n / wall:.0f}/s wall), one core")
    print("stages, each on its own:")
    texts = {m.message_id: extract_reply(m.text, rules.quotes) for m in messages}
    langs = {key: detect_language(text) for key, text in texts.items()}
    timed("kind", messages, lambda m: detect_kind(m, rules.auto))
    timed("reply", messages, lambda m: extract_reply(m.text, rules.quotes))
    timed("language", messages, lambda m: detect_language(texts[m.message_id]))
    timed(
        "intent",
        messages,
        lambda m: score_intents(texts[m.message_id], rules.intents, m.attachments),
    )
    timed("dates", messages, lambda m: _date(m, texts[m.message_id], langs[m.message_id], rules))
    timed(
        "order",
        messages,
        lambda m: find_order_numbers(f"{m.subject}\n{texts[m.message_id]}", rules.orders),
    )


def _date(msg: ParsedMessage, text: str, language: str, rules: UnderstandingRules) -> object:
    if msg.date is None:
        return None
    languages = [language, "en"] if language else []
    return pick_date(text, msg.date.date(), rules.dates, languages, "payment")


if __name__ == "__main__":
    main()
