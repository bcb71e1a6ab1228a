"""How well `classify` understands the labeled set (tests/data/labeled), and that the set stays whole.

Scores (see tests/data/labeled/README.md for the definitions):
- intent macro-F1 over the human messages, by hand (no sklearn);
- kind accuracy over every message;
- date accuracy over the messages whose label OR prediction has a date;
- reply-text accuracy over human messages and auto-replies: whitespace-normalised equality, or a
  difflib ratio >= 0.9, against the label with or without its closing sign-off;
- language, order number and bounce recipient accuracy, reported (not asserted).

Run `python -m tests.test_understanding_scores` for the full report (confusion table, misses);
pytest prints it too when a threshold fails (or with `-s`).
"""

from __future__ import annotations

import difflib
import email
import email.policy
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.core.mime import parse_message
from bot.core.model import ParsedMessage, Understanding

LABELED = Path(__file__).resolve().parent / "data" / "labeled"
LABELS = LABELED / "labels.jsonl"

INTENTS = ("paid", "promise", "waiting_on_customer", "cash_flow", "exchange_rate", "competitor",
           "absent", "change_request", "poor_sales", "dispute", "question", "cancel", "other")
LANGUAGES = ("en", "zh", "de", "es", "fr", "it", "pt", "ru", "ja", "ar", "tr")
OTHER_LANGUAGES = ("ko", "nl", "pl", "vi", "id")  # a few, so no language goes unseen; no floor
MAJOR_LANGUAGES = ("en", "zh", "de", "es", "fr")
CHARSETS = ("utf-8", "gb2312", "gbk", "big5", "iso-2022-jp", "iso-8859-1", "windows-1252")
TRANSFER_ENCODINGS = ("8bit", "7bit", "quoted-printable", "base64")
REPLY_RATIO = 0.9

MIN_TOTAL, MIN_PER_INTENT, MIN_PER_LANGUAGE, MIN_MAJOR_LANGUAGE = 800, 30, 20, 45
# the held-out batches (README): each stays big enough to measure the patterns on, blind
HELDOUT_BATCHES, MIN_PER_HELDOUT_BATCH = ("ho-", "h2-", "h3-", "h4-", "h5-", "h6-", "h7-", "h8-", "h9-", "h10-"), 25
MIN_AUTO_REPLIES, MIN_BOUNCES = 50, 30
MIN_INTENT_F1, MIN_KIND, MIN_DATE, MIN_REPLY = 0.97, 0.99, 0.95, 0.98


@dataclass(frozen=True)
class Label:
    """One line of labels.jsonl."""

    file: str
    kind: str
    intent: str
    language: str | None
    script: str | None
    date: date | None
    order: str | None
    reply_text: str | None
    reply_text_signed: str | None
    bounce_recipient: str | None
    quote: str | None
    format: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Label:
        raw_date = data.get("date")
        return cls(
            file=data["file"], kind=data["kind"], intent=data["intent"], language=data.get("language"),
            script=data.get("script"), date=date.fromisoformat(raw_date) if raw_date else None,
            order=data.get("order"), reply_text=data.get("reply_text"),
            reply_text_signed=data.get("reply_text_signed"),
            bounce_recipient=data.get("bounce_recipient"), quote=data.get("quote"),
            format=data.get("format", "plain"),
        )

    @property
    def path(self) -> Path:
        return LABELED / self.file


def load_labels() -> list[Label]:
    lines = LABELS.read_text(encoding="utf-8").splitlines()
    return [Label.from_json(json.loads(line)) for line in lines if line.strip()]


# ---------------------------------------------------------------- comparisons
def normalise(text: str | None) -> str:
    return " ".join((text or "").split())


def reply_matches(predicted: str, label: Label) -> bool:
    """Equal after whitespace normalisation, or difflib ratio >= 0.9, to either form of the label."""
    got = normalise(predicted)
    for want in (label.reply_text, label.reply_text_signed):
        if want is None:
            continue
        wanted = normalise(want)
        if got == wanted or difflib.SequenceMatcher(None, got, wanted, autojunk=False).ratio() >= REPLY_RATIO:
            return True
    return False


def _order_key(value: str) -> str:
    return re.sub(r"[\s\-_./#:]+", "", value).upper()


def _same_order_fn() -> Callable[[str, str], bool]:
    try:
        from bot.core.ordernumbers import same_order_number
    except ImportError:  # the order-number module is not there yet: compare keys
        return lambda a, b: _order_key(a) == _order_key(b)
    return same_order_number


def order_matches(predicted: str | None, wanted: str | None) -> bool:
    if predicted is None or wanted is None:
        return predicted is None and wanted is None
    return _same_order_fn()(predicted, wanted)


def macro_f1(pairs: Iterable[tuple[str, str]], classes: Iterable[str]) -> tuple[float, dict[str, tuple[float, float, float]]]:
    """Macro-averaged F1 over `classes` from (label, prediction) pairs; also P/R/F1 per class."""
    pairs = list(pairs)
    per_class: dict[str, tuple[float, float, float]] = {}
    for cls in classes:
        tp = sum(1 for want, got in pairs if want == cls and got == cls)
        fp = sum(1 for want, got in pairs if want != cls and got == cls)
        fn = sum(1 for want, got in pairs if want == cls and got != cls)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0
        per_class[cls] = (precision, recall, f1)
    score = sum(f for _, _, f in per_class.values()) / len(per_class) if per_class else 0.0
    return score, per_class


# ---------------------------------------------------------------- running the classifier
@dataclass(frozen=True)
class Outcome:
    label: Label
    message: ParsedMessage
    result: Understanding


@lru_cache(maxsize=1)
def classify_all() -> tuple[Outcome, ...]:
    from bot.adapters.rulefiles import read_rules_dir
    from bot.core.understand import UnderstandingRules, classify
    from bot.paths import DEFAULT_RULES_DIR

    rules = UnderstandingRules.from_docs(read_rules_dir(DEFAULT_RULES_DIR))
    outcomes = []
    for label in load_labels():
        message = parse_message(label.path.read_bytes())
        outcomes.append(Outcome(label, message, classify(message, rules)))
    return tuple(outcomes)


@dataclass(frozen=True)
class Scores:
    intent_f1: float
    per_intent: dict[str, tuple[float, float, float]]
    kind: float
    date: float
    reply: float
    language: float
    order: float
    bounce_recipient: float
    counts: dict[str, int]


def _ratio(hits: list[bool]) -> float:
    return sum(hits) / len(hits) if hits else 1.0


def score(outcomes: Iterable[Outcome]) -> Scores:
    rows = list(outcomes)
    humans = [o for o in rows if o.label.kind == "human"]
    texts = [o for o in rows if o.label.kind != "bounce"]
    dated = [o for o in rows if o.label.date is not None or o.result.date is not None]
    bounces = [o for o in rows if o.label.kind == "bounce"]
    f1, per_intent = macro_f1(((o.label.intent, o.result.intent.value) for o in humans), INTENTS)
    return Scores(
        intent_f1=f1,
        per_intent=per_intent,
        kind=_ratio([o.result.kind.value == o.label.kind for o in rows]),
        date=_ratio([o.result.date == o.label.date for o in dated]),
        reply=_ratio([reply_matches(o.result.reply_text, o.label) for o in texts]),
        language=_ratio([o.result.language == o.label.language for o in texts]),
        order=_ratio([order_matches(o.result.order, o.label.order) for o in texts]),
        bounce_recipient=_ratio([(o.result.bounce_recipient or "").lower() == o.label.bounce_recipient
                                 for o in bounces]),
        counts={"all": len(rows), "human": len(humans), "with text": len(texts), "dated": len(dated),
                "bounces": len(bounces)},
    )


# ---------------------------------------------------------------- the report
def _short(text: str | None, width: int = 90) -> str:
    flat = normalise(text)
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def confusion_table(outcomes: Iterable[Outcome]) -> str:
    humans = [o for o in outcomes if o.label.kind == "human"]
    cells = Counter((o.label.intent, o.result.intent.value) for o in humans)
    predicted = sorted({got for _, got in cells} | set(INTENTS), key=lambda x: (x not in INTENTS, x))
    abbrev = {name: name[:6] for name in predicted}
    lines = ["label \\ predicted".ljust(20) + " ".join(abbrev[p].rjust(6) for p in predicted)]
    for want in INTENTS:
        lines.append(want.ljust(20) + " ".join(str(cells.get((want, p), "") or ".").rjust(6) for p in predicted))
    return "\n".join(lines)


def misses(outcomes: Iterable[Outcome]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"kind": [], "intent": [], "date": [], "reply_text": [], "language": [],
                                   "order": [], "bounce_recipient": []}
    for o in outcomes:
        lab, res, name = o.label, o.result, Path(o.label.file).stem
        if res.kind.value != lab.kind:
            found["kind"].append(f"{name}: want {lab.kind}, got {res.kind.value} | subject {_short(o.message.subject, 60)}")
        if lab.kind == "human" and res.intent.value != lab.intent:
            found["intent"].append(f"{name}: want {lab.intent}, got {res.intent.value} | {_short(lab.reply_text)}")
        if (lab.date or res.date) and lab.date != res.date:
            found["date"].append(f"{name}: want {lab.date}, got {res.date} (sent {o.message.date}) | "
                                 f"{_short(lab.reply_text)}")
        if lab.kind != "bounce" and not reply_matches(res.reply_text, lab):
            found["reply_text"].append(f"{name} [{lab.quote}/{lab.format}]:\n      want {_short(lab.reply_text, 160)!r}"
                                       f"\n      got  {_short(res.reply_text, 160)!r}")
        if lab.kind != "bounce" and res.language != lab.language:
            found["language"].append(f"{name}: want {lab.language}, got {res.language or None}")
        if lab.kind != "bounce" and not order_matches(res.order, lab.order):
            found["order"].append(f"{name}: want {lab.order}, got {res.order} | subject {_short(o.message.subject, 60)}")
        if lab.kind == "bounce" and (res.bounce_recipient or "").lower() != lab.bounce_recipient:
            found["bounce_recipient"].append(f"{name}: want {lab.bounce_recipient}, got {res.bounce_recipient}")
    return found


def report(outcomes: tuple[Outcome, ...]) -> str:
    s = score(outcomes)
    out = [
        f"labeled set: {s.counts}",
        (f"intent macro-F1 {s.intent_f1:.3f} (>= {MIN_INTENT_F1})   kind {s.kind:.3f} (>= {MIN_KIND})   "
         f"date {s.date:.3f} (>= {MIN_DATE})   reply_text {s.reply:.3f} (>= {MIN_REPLY})"),
        f"language {s.language:.3f}   order {s.order:.3f}   bounce recipient {s.bounce_recipient:.3f}",
        "",
        "per intent:  precision recall f1",
    ]
    out += [f"  {name:20} {p:.2f}      {r:.2f}   {f:.2f}" for name, (p, r, f) in s.per_intent.items()]
    out += ["", confusion_table(outcomes), ""]
    for category, items in misses(outcomes).items():
        out.append(f"misses: {category} ({len(items)})")
        out += [f"  {item}" for item in items]
    return "\n".join(out)


def test_understanding_scores() -> None:
    outcomes = classify_all()
    s = score(outcomes)
    print(report(outcomes))
    failed = [
        f"{name} {value:.3f} < {floor}"
        for name, value, floor in (
            ("intent macro-F1", s.intent_f1, MIN_INTENT_F1),
            ("kind accuracy", s.kind, MIN_KIND),
            ("date accuracy", s.date, MIN_DATE),
            ("reply-text accuracy", s.reply, MIN_REPLY),
        )
        if value < floor
    ]
    assert not failed, "; ".join(failed) + " (the report above lists the misses)"


# ---------------------------------------------------------------- the set itself
def _raw_headers(path: Path) -> email.message.Message:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.compat32)


def _leaf_facts(path: Path) -> tuple[set[str], set[str], set[str]]:
    """(charsets, transfer encodings, content types) of a message's parts."""
    msg = _raw_headers(path)
    charsets, ctes, types = set(), set(), {msg.get_content_type()}
    for part in msg.walk():
        types.add(part.get_content_type())
        if part.is_multipart():
            continue
        if part.get_content_charset():
            charsets.add(str(part.get_content_charset()).lower())
        ctes.add(str(part.get("Content-Transfer-Encoding", "7bit")).lower())
    return charsets, ctes, types


def test_labeled_set_covers_what_it_promises() -> None:
    labels = load_labels()
    files = {p.name for p in (LABELED / "mail").glob("*.eml")}
    assert files == {Path(lab.file).name for lab in labels}, "every .eml has one label and every label a file"
    assert len(labels) >= MIN_TOTAL

    kinds = Counter(lab.kind for lab in labels)
    assert kinds["auto_reply"] >= MIN_AUTO_REPLIES and kinds["bounce"] >= MIN_BOUNCES, kinds
    intents = Counter(lab.intent for lab in labels if lab.kind == "human")
    assert {i: intents[i] for i in INTENTS if intents[i] < MIN_PER_INTENT} == {}, intents
    languages = Counter(lab.language for lab in labels if lab.kind != "bounce")
    assert {x: languages[x] for x in LANGUAGES if languages[x] < MIN_PER_LANGUAGE} == {}, languages
    assert {x: languages[x] for x in MAJOR_LANGUAGES if languages[x] < MIN_MAJOR_LANGUAGE} == {}, languages
    scripts = Counter(lab.script for lab in labels if lab.language == "zh")
    assert scripts["hans"] >= MIN_PER_LANGUAGE and scripts["hant"] >= MIN_PER_LANGUAGE, scripts

    charsets: Counter[str] = Counter()
    ctes: Counter[str] = Counter()
    types: Counter[str] = Counter()
    for lab in labels:
        c, e, t = _leaf_facts(lab.path)
        charsets.update(c)
        ctes.update(e)
        types.update(t)
    assert {x: charsets[x] for x in CHARSETS if charsets[x] < 3} == {}, charsets
    assert {x: ctes[x] for x in TRANSFER_ENCODINGS if ctes[x] < 3} == {}, ctes
    assert types["multipart/alternative"] >= 5 and types["multipart/report"] >= 10, types
    assert sum(1 for lab in labels if lab.format == "html") >= 15, "HTML-only messages"

    quotes = Counter(lab.quote for lab in labels if lab.kind == "human")
    assert len(quotes) >= 30, f"quote styles: {sorted(str(q) for q in quotes)}"
    assert sum(1 for lab in labels if lab.reply_text_signed) >= 100, "sign-offs under the text"
    batches = Counter(b for lab in labels if lab.kind == "human" for b in HELDOUT_BATCHES if Path(lab.file).stem.startswith(b))
    assert {b: batches[b] for b in HELDOUT_BATCHES if batches[b] < MIN_PER_HELDOUT_BATCH} == {}, batches


def test_auto_replies_and_bounces_cover_their_variants() -> None:
    labels = load_labels()
    autos = [_raw_headers(lab.path) for lab in labels if lab.kind == "auto_reply"]
    with_header = Counter(
        name for msg in autos for name in ("Auto-Submitted", "X-Autoreply", "Precedence") if msg[name]
    )
    assert with_header["Auto-Submitted"] >= 10 and with_header["X-Autoreply"] >= 4, with_header
    assert with_header["Precedence"] >= 3, with_header
    bare = [m for m in autos if not any(m[h] for h in ("Auto-Submitted", "X-Autoreply", "Precedence"))]
    assert len(bare) >= 6, "auto-replies recognisable only by subject and wording"
    assert sum(1 for lab in labels if lab.kind == "auto_reply" and lab.date) >= 15, "stated return dates"

    bounces = [lab for lab in labels if lab.kind == "bounce"]
    assert all(lab.bounce_recipient and "@" in lab.bounce_recipient for lab in bounces)
    reports = sum(1 for lab in bounces if lab.format == "report")
    assert reports >= 10 and len(bounces) - reports >= 8, "RFC 3464 reports and plain-text bounces"


def test_labels_are_consistent_with_their_messages() -> None:
    """A wrong label costs as much as a wrong answer: check what can be checked mechanically."""
    for lab in load_labels():
        message = parse_message(lab.path.read_bytes())
        name = Path(lab.file).name
        assert message.date is not None and message.date.utcoffset() is not None, f"{name}: Date with a zone"
        assert lab.intent in INTENTS + ("none",), name
        assert (lab.kind == "bounce") == (lab.intent == "none"), name
        assert lab.kind != "auto_reply" or lab.intent == "absent", name
        if lab.date is not None:
            assert lab.date >= message.date.date(), f"{name}: a promised or return date lies ahead"
        if lab.kind == "bounce":
            assert lab.reply_text is None and lab.language is None and lab.date is None, name
            raw = message.text + " ".join(text for _, text in message.parts)
            assert lab.bounce_recipient and lab.bounce_recipient in raw.lower(), name
            continue
        assert lab.language in LANGUAGES + OTHER_LANGUAGES, name
        assert lab.reply_text is not None and normalise(lab.reply_text) in normalise(message.text), name
        if lab.reply_text_signed:
            assert normalise(lab.reply_text_signed).startswith(normalise(lab.reply_text)), name
        if lab.order is not None:
            assert _order_key(lab.order) in _order_key(message.subject + lab.reply_text), name


def test_scoring_helpers_count_by_hand() -> None:
    f1, per = macro_f1([("a", "a"), ("a", "b"), ("b", "b"), ("b", "b")], ["a", "b"])
    assert per["a"] == (1.0, 0.5, 2 / 3) and per["b"] == (2 / 3, 1.0, 0.8)
    assert abs(f1 - (2 / 3 + 0.8) / 2) < 1e-9
    lab = Label("x", "human", "paid", "en", None, None, None, "Paid today, slip attached.",
                "Paid today, slip attached.\n\nBest regards,\nJohn", None, None, "plain")
    assert reply_matches("  Paid today,\n slip attached. ", lab)
    assert reply_matches("Paid today, slip attached.\nBest regards,\nJohn", lab)
    assert not reply_matches("Paid today.", lab)
    assert order_matches(None, None) and not order_matches("4711", None)


if __name__ == "__main__":
    print(report(classify_all()))
