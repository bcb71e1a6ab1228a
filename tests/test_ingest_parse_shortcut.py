"""mime's shortcut for single-part messages (only the header block through the stdlib's
line-by-line parser) must give exactly what the full parse gives, or not be taken."""

from __future__ import annotations

import email
import email.policy
import os
from email.message import Message
from pathlib import Path

import pytest

from bot.core import mime

LABELED = Path(__file__).parent / "data" / "labeled"

EDGE_CASES = [
    b"From: a@b.test\r\nSubject: hi\r\n\r\nbody\r\n",
    b"From: a@b.test\nSubject: hi\n\nbody\n\nmore\n",
    b"From: a@b.test\r\nSubject: hi\r\n\nbody after CRLF LF",
    b"\r\n\r\nbody",  # the first line is empty: no header block at all
    b"\nFrom: a@b.test\n\nbody",
    b"From: a@b.test\n\r\nbody\r\n",  # LF, then an empty CRLF line
    b"From: a@b.test\r\rSubject: x\n\nbody",  # a lone CR ends a line for the parser
    b"Subject: x\r\nnot a header\r\n\r\nbody",  # a defect: the headers end early
    b" folded\r\nFrom: a@b.test\r\n\r\nbody",  # a defect: the first line is a continuation
    b"Subject: x\r\n \r\n\r\nbody",  # a blank continuation line is not the end
    b"From a@b.test Mon Jan  5 08:00:00 2026\r\nFrom: a@b.test\r\n\r\nbody\r\n",
    b"Content-Type: text\r\nFrom: a@b.test\r\n\r\n\xe4\xf6 8-bit body",
    b"From: a@b.test\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@y.test\r\n\r\nhi",
    b"From: a@b.test\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\n\r\nx\r\n--zz--\r\n",
    b"From: a@b.test\r\nContent-Type: multipart/mixed\r\n\r\nno boundary at all",
    b"From: a@b.test\r\n\r\n",
    b"From: a@b.test",  # no body, no empty line
]


def _full(raw: bytes) -> Message:
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def _same(fast: Message, full: Message) -> None:
    assert fast.is_multipart() == full.is_multipart()
    assert fast.items() == full.items()
    assert [type(d) for d in fast.defects] == [type(d) for d in full.defects]
    assert fast.get_unixfrom() == full.get_unixfrom()
    if not full.is_multipart():
        assert fast.get_payload() == full.get_payload()
    else:
        assert fast.as_bytes() == full.as_bytes()


def _samples() -> list[bytes]:
    found = [p.read_bytes() for p in sorted(LABELED.rglob("*.eml"))]
    corpus = os.environ.get("DUNBOT_CORPUS")
    if corpus:
        found += [p.read_bytes() for p in sorted(Path(corpus).rglob("*")) if p.is_file()]
    return found


@pytest.mark.parametrize("raw", EDGE_CASES)
def test_shortcut_gives_the_full_parse_on_edge_cases(raw: bytes) -> None:
    _same(mime._message_from_bytes(raw), _full(raw))


def test_shortcut_is_taken_only_where_the_header_block_ends_clearly() -> None:
    assert mime._header_end(b"From: a@b.test\r\n\r\nbody") == 18
    assert mime._header_end(b"From: a@b.test\n\nbody") == 16
    for unclear in (b"\r\n\r\nbody", b"From: a@b.test\n\r\nbody", b"A: b\r\rC: d\n\nx", b"A: b"):
        assert mime._header_end(unclear) is None


def test_shortcut_gives_the_full_parse_on_real_mail(monkeypatch: pytest.MonkeyPatch) -> None:
    samples = _samples()
    assert len(samples) >= 300  # the labeled set at least
    taken = 0
    for raw in samples:
        raw = mime._obs_fields(raw)
        taken += mime._header_end(raw) is not None
        _same(mime._message_from_bytes(raw), _full(raw))
        shortcut = _parsed(raw)
        monkeypatch.setattr(mime, "_message_from_bytes", _full)
        assert _parsed(raw) == shortcut
        monkeypatch.undo()
    assert taken >= len(samples) // 2


def _parsed(raw: bytes) -> object:
    try:
        return mime.parse_message(raw)
    except Exception as exc:  # noqa: BLE001 - the same failure either way is what counts
        return (type(exc), str(exc))
