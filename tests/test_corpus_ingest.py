"""Every real-world corpus message goes through parsing (and classify) without a crash.

Runs when DUNBOT_CORPUS points at the corpus folder (../shared/corpus); skips otherwise.
A MessageParseError is a quarantine and must carry a reason; any other exception fails.
The fuzz tests at the end need no corpus for their garbage half.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.rulefiles import read_rules_dir
from bot.core.mime import parse_message
from bot.core.model import Intent, Kind, ParsedMessage, Understanding
from bot.core.understand import UnderstandingRules, classify
from bot.errors import MessageParseError
from bot.paths import DEFAULT_RULES_DIR

CORPUS_ENV = "DUNBOT_CORPUS"
NOT_DATA = re.compile(r"LICEN[CS]E|COPYING|NOTICE|^MANIFEST|^index\.tsv$", re.IGNORECASE)
CLASSIFY_KEYS = {"kind", "intent", "language", "date", "order", "reply_text"}
# A file "has headers" when it starts like a header block (first line "Name:" or "Name :") and that
# block names a message field; bare bodies that open with a quote header ("Von:", "Od:") do not.
FIRST_LINE_FIELD = re.compile(rb"^[!-9;-~]+[ \t]*:")
KNOWN_FIELD = re.compile(
    rb"^(?:from|to|cc|subject|date|message-id|sender|reply-to|mime-version|content-type|"
    rb"received|return-path|delivered-to|newsgroups)[ \t]*:",
    re.IGNORECASE | re.MULTILINE,
)


def has_headers(raw: bytes) -> bool:
    block = re.split(rb"\r?\n[ \t]*\r?\n", raw.lstrip(), maxsplit=1)[0]
    return bool(FIRST_LINE_FIELD.match(block) and KNOWN_FIELD.search(block))


RECEIVED_AT = datetime(2024, 3, 4, 12, tzinfo=UTC)


def corpus_root() -> Path | None:
    value = os.environ.get(CORPUS_ENV)
    return Path(value) if value else None


def corpus_files(root: Path) -> list[Path]:
    """Every data file under the corpus (walked, not only those in index.tsv)."""
    found = (
        p
        for p in root.rglob("*")
        if p.is_file() and not any(NOT_DATA.search(part) for part in p.relative_to(root).parts)
    )
    return sorted(found)


needs_corpus = pytest.mark.skipif(corpus_root() is None, reason=f"{CORPUS_ENV} is not set")


@pytest.fixture(scope="module")
def files() -> list[Path]:
    root = corpus_root()
    assert root is not None and root.is_dir(), f"{CORPUS_ENV}={root} is not a folder"
    return corpus_files(root)


def load_classify() -> Callable[[ParsedMessage], Understanding]:
    """classify with the rules of the shipped rules/ folder."""
    rules = UnderstandingRules.from_docs(read_rules_dir(DEFAULT_RULES_DIR))
    return lambda msg: classify(msg, rules, received_at=msg.date or RECEIVED_AT)


def as_json(result: Any) -> dict[str, Any]:
    if hasattr(result, "as_json"):
        data = result.as_json()
    else:
        data = result
    assert isinstance(data, dict), f"classify returned {type(result).__name__}"
    return data


def check_understanding(data: dict[str, Any]) -> None:
    assert CLASSIFY_KEYS <= data.keys(), f"missing keys {CLASSIFY_KEYS - data.keys()}"
    assert data["kind"] in {k.value for k in Kind}
    assert data["intent"] in {i.value for i in Intent}
    assert data["language"] is None or re.fullmatch(r"[a-z]{2}", data["language"])
    assert data["date"] is None or re.fullmatch(r"\d{4}-\d{2}-\d{2}", data["date"])
    assert data["order"] is None or isinstance(data["order"], str)
    assert isinstance(data["reply_text"], str)


def parse_or_reason(raw: bytes) -> ParsedMessage | str:
    try:
        return parse_message(raw)
    except MessageParseError as exc:
        reason = str(exc)
        assert reason.strip(), "a quarantine needs a reason"
        return reason


@needs_corpus
def test_corpus_index_lists_existing_files(files: list[Path]) -> None:
    root = corpus_root()
    assert root is not None
    index = root / "index.tsv"
    listed = [
        line.split("\t")[0]
        for line in index.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    assert listed, "index.tsv lists no files"
    missing = [p for p in listed if not (root / p).is_file()]
    assert not missing
    assert {root / p for p in listed} == set(files)


@needs_corpus
def test_every_corpus_file_parses_or_is_quarantined_with_a_reason(
    files: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    parsed, quarantined, header_failures = 0, 0, []
    for path in files:
        raw = path.read_bytes()
        result = parse_or_reason(raw)
        if isinstance(result, str):
            quarantined += 1
            if has_headers(raw):
                header_failures.append(f"{path}: {result}")
        else:
            parsed += 1
            assert result.message_id and isinstance(result.text, str)
    with capsys.disabled():
        print(f"\ncorpus: {len(files)} files, {parsed} parsed, {quarantined} quarantined")
    assert not header_failures, "files with headers must parse:\n" + "\n".join(header_failures)
    assert parsed > len(files) // 2


@needs_corpus
def test_every_parsed_corpus_file_classifies(files: list[Path]) -> None:
    understand = load_classify()
    failures: list[str] = []
    for path in files:
        result = parse_or_reason(path.read_bytes())
        if isinstance(result, str):
            continue
        try:
            check_understanding(as_json(understand(result)))
        except MessageParseError as exc:
            assert str(exc).strip()
        except Exception as exc:  # noqa: BLE001 - collect every failure, then report them all
            failures.append(f"{path}: {exc!r}")
    assert not failures, f"{len(failures)} files failed classify:\n" + "\n".join(failures[:30])


# --- fuzz -------------------------------------------------------------------------------------


def garbage(rng: random.Random) -> Iterator[bytes]:
    alphabet = (
        b"From: To: Subject: =?utf-8?B?5LuY?= \r\n--b\r\nContent-Type: multipart/mixed;\x00\xff\xe4"
    )
    for _ in range(1500):
        size = rng.randrange(0, 600)
        if rng.random() < 0.5:
            yield bytes(rng.randrange(256) for _ in range(size))
        else:
            yield bytes(rng.choice(alphabet) for _ in range(size))


def mutations(raw: bytes, rng: random.Random) -> Iterator[bytes]:
    """Truncations, flipped bytes and dropped lines of a real message."""
    yield raw[: rng.randrange(len(raw) + 1)]
    flipped = bytearray(raw)
    for _ in range(max(1, len(raw) // 50)):
        flipped[rng.randrange(len(raw))] = rng.randrange(256)
    yield bytes(flipped)
    lines = raw.splitlines(keepends=True)
    yield b"".join(line for line in lines if rng.random() > 0.2)
    yield raw.replace(b"\r\n", b"\n", rng.randrange(5)) + raw[: rng.randrange(len(raw) + 1)]


def assert_only_parse_errors(raw: bytes) -> None:
    try:
        parse_message(raw)
    except MessageParseError as exc:
        assert str(exc).strip()


def test_fuzz_garbage_bytes_raise_only_parse_errors() -> None:
    rng = random.Random(20240304)
    for raw in garbage(rng):
        assert_only_parse_errors(raw)


def test_fuzz_pathological_structures() -> None:
    nested = b'Content-Type: multipart/mixed; boundary="a"\r\n\r\n' + (
        b'--a\r\nContent-Type: multipart/mixed; boundary="a"\r\n\r\n' * 300
    )
    deep_rfc822 = b"From: a@b.example\r\n" + b"Content-Type: message/rfc822\r\n\r\n" * 300
    huge_header = b"Subject: " + b"=?utf-8?B?5LuY?= " * 20000 + b"\r\n\r\nx"
    for raw in (nested, deep_rfc822, huge_header, b"From:\r\n\r\n", b":\r\n\r\n", b"\r\n\r\n\r\n"):
        assert_only_parse_errors(raw)


@needs_corpus
def test_fuzz_mutated_corpus_files_raise_only_parse_errors(files: list[Path]) -> None:
    rng = random.Random(4711)
    sample = rng.sample(files, len(files))  # every file, shuffled: 4 mutations each
    for path in sample:
        raw = path.read_bytes()
        if not raw:
            continue
        for mutated in mutations(raw, rng):
            try:
                parse_message(mutated)
            except MessageParseError as exc:
                assert str(exc).strip()
            except Exception as exc:  # noqa: BLE001 - name the file the mutation came from
                pytest.fail(f"{path} mutated: {exc!r}")
