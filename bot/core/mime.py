"""Bytes in, a ParsedMessage out: MIME parsing that survives whatever the wild sends.

The standard library's parser splits the message; this module adds what it lacks for hostile
input: RFC 2047 decoding that tolerates lying or unknown charsets, raw 8-bit headers, charset
aliases and guessing, multiparts whose boundary never appears, and a Message-ID for messages
without one. Anything that still cannot be read raises MessageParseError with the reason,
which the ingest service stores with the quarantined message.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import Message
from typing import NamedTuple

import html2text

from bot.core.charsets import decode_bytes, decode_encoded_words
from bot.core.model import Address, Attachment, ParsedMessage
from bot.errors import MessageParseError

__all__ = ["decode_bytes", "decode_header", "html_to_text", "parse_message"]

# Machine reports (RFC 3464 DSN, RFC 8098 MDN, RFC 5965 ARF) are kept as text parts.
REPORT_TYPES = (
    "message/delivery-status",
    "message/global-delivery-status",
    "message/disposition-notification",
    "message/feedback-report",
)
TEXT_TYPES = ("text/plain", "text/html", "text/rfc822-headers", *REPORT_TYPES)
ATTACHED_TYPES = ("message/rfc822", "message/global")
HEADER_MSGID_RE = re.compile(r"^message-id:[ \t]*(.+)$", re.IGNORECASE | re.MULTILINE)
# A message has headers if the parser found at least one of these (RFC 5322, 2045, 5321, 1036).
KNOWN_HEADERS = frozenset(
    {
        *("from", "to", "cc", "bcc", "subject", "date", "message-id", "sender", "reply-to"),
        *("in-reply-to", "references", "mime-version", "content-type", "received"),
        *("content-transfer-encoding", "content-disposition", "return-path", "delivered-to"),
        *("x-original-to", "newsgroups", "x-mailer", "user-agent"),
    }
)
MSGID_RE = re.compile(r"<([^<>\s]+)>")
# RFC 5322 4.5 obs-optional: old mailers put spaces between a field name and its colon.
OBS_FIELD_RE = re.compile(rb"^([!-9;-~]+)[ \t]+:", re.MULTILINE)
BOUNDARY_LINE_RE = re.compile(r"^--([^\s]{1,200}?)(?:--)?[ \t]*\r?$", re.MULTILINE)
ESCAPED_BYTE_RE = re.compile("[\udc80-\udcff]")  # a raw 8-bit byte, as the parser leaves it
FOLDING_RE = re.compile(r"\r?\n(?=[ \t])")
MAX_DEPTH = 60  # MIME nesting deeper than this is an attack, not a message
MAX_TEXT_CHARS = 200_000  # longer bodies are cut: nothing a customer writes is that long
MAX_HTML_CHARS = 250_000  # html2text's time grows with length x nesting (5 MB took minutes)
GUESS_BUDGET = 1_000_000  # bytes of text parts per message decoded with charset guessing


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse one RFC 5322 message. Raises MessageParseError if nothing useful can be read."""
    if not raw or not raw.strip():
        raise MessageParseError("empty message")
    try:
        msg = _message_from_bytes(_obs_fields(raw))
        return _build(msg, raw)
    except MessageParseError:
        raise
    except RecursionError as exc:  # the stdlib parser recurses once per nested part
        raise MessageParseError(
            "MIME parts nested too deep to read (an attack, not a message)"
        ) from exc
    except Exception as exc:  # the parser should not raise, but hostile input finds ways
        raise MessageParseError(f"MIME parser failed: {exc!r}") from exc


def _message_from_bytes(raw: bytes) -> Message:
    """email.message_from_bytes (compat32), faster for a single-part message: only the header
    block goes through the line-by-line parser, the body is set as the payload in one piece,
    which is what the parser makes of it. Anything else is parsed in full: a multipart or
    message/* type, a header block the parser found defects in, or one whose end is unclear."""
    cut = _header_end(raw)
    if cut is not None:
        msg = email.message_from_bytes(raw[:cut], policy=email.policy.compat32)
        if not msg.defects and msg.get_content_maintype() not in ("multipart", "message"):
            msg.set_payload(raw[cut:].decode("ascii", "surrogateescape"))
            return msg
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def _header_end(raw: bytes) -> int | None:
    """Where the body starts: after the first empty line (CRLF CRLF or LF LF), when the header
    block has no other line ending (a lone CR ends a line for the parser too)."""
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    if not ends or raw.startswith((b"\r", b"\n")):  # no header block at all
        return None
    at = min(ends)
    if at == 0 or raw[at - 1 : at] == b"\n":  # the empty line is the first, or an LF's line
        return None
    cut = at + (4 if raw.startswith(b"\r\n\r\n", at) else 2)
    head = raw[:cut]
    return cut if head.count(b"\r") == head.count(b"\r\n") else None


def _obs_fields(raw: bytes) -> bytes:
    """Rewrite "Name :" to "Name:" in the header block when the first line is written so;
    the stdlib parser would otherwise read the whole header block as body."""
    if not OBS_FIELD_RE.match(raw):
        return raw
    head, *rest = re.split(rb"(\r?\n\r?\n)", raw, maxsplit=1)
    return OBS_FIELD_RE.sub(rb"\1:", head) + b"".join(rest)


def _build(msg: Message, raw: bytes) -> ParsedMessage:
    if not any(key.strip().lower() in KNOWN_HEADERS for key in msg):
        raise MessageParseError(
            "no message headers found (From, To, Subject, Date, Content-Type...)"
        )
    hint = _charset_hint(msg)
    headers = tuple((key, decode_header(value, hint)) for key, value in msg.raw_items())
    body = _walk(msg)
    first = _Lookup(tuple(msg.raw_items()))
    return ParsedMessage(
        message_id=_message_id(first("message-id"), raw),
        subject=_one_line(decode_header(first("subject") or "", hint)),
        sender=_first_address(first("from") or first("sender") or "", hint),
        to=_addresses(first("to"), hint),
        cc=_addresses(first("cc"), hint),
        reply_to=_addresses(first("reply-to"), hint),
        date=_date(first("date")),
        in_reply_to=_first_msgid(first("in-reply-to")),
        references=tuple(MSGID_RE.findall(first("references") or "")),
        text=_best_text(body)[:MAX_TEXT_CHARS],
        html=next((text for ctype, text in body.outer if ctype == "text/html"), None),
        headers=headers,
        attachments=tuple(body.attachments),
        content_type=msg.get_content_type(),
        parts=tuple(body.parts),
        defects=tuple(sorted({type(d).__name__ for d in _defects(msg)})),
        attached_ids=_attached_ids(msg, body),
        size=len(raw),
    )


def _charset_hint(msg: Message) -> str | None:
    """The first declared charset in the message: raw 8-bit headers are usually in it."""
    for part in msg.walk():
        charset = _safe(part.get_content_charset)
        if charset:
            return charset
    return None


# --- headers ----------------------------------------------------------------------------------


def decode_header(value: object, hint: str | None = None) -> str:
    """A header's text: raw 8-bit bytes and RFC 2047 encoded words decoded, folding removed."""
    text = str(value)
    if not text.isascii() and ESCAPED_BYTE_RE.search(text):  # raw 8-bit bytes, surrogate-escaped
        text = decode_bytes(text.encode("utf-8", "surrogateescape"), hint)
    if "\n" in text:
        text = FOLDING_RE.sub("", text)
    return decode_encoded_words(text)


class _Lookup:
    def __init__(self, headers: tuple[tuple[str, object], ...]) -> None:
        self._first: dict[str, str] = {}
        for key, value in headers:
            self._first.setdefault(key.strip().lower(), str(value))

    def __call__(self, name: str) -> str | None:
        return self._first.get(name)


def _addresses(value: str | None, hint: str | None) -> tuple[Address, ...]:
    """Parsed before decoding, so a decoded name with a comma cannot split an address."""
    if not value:
        return ()
    raw = value
    if not raw.isascii() and ESCAPED_BYTE_RE.search(raw):
        raw = decode_bytes(raw.encode("utf-8", "surrogateescape"), hint)
    try:
        pairs = email.utils.getaddresses([re.sub(r"\r?\n", "", raw)])
    except Exception:  # noqa: BLE001 - hostile headers reach stdlib corners; no address then
        return ()
    return tuple(
        Address(addr.strip().lower(), _one_line(decode_encoded_words(name)))
        for name, addr in pairs
        if "@" in addr
    )


def _first_address(value: str, hint: str | None) -> Address:
    found = _addresses(value, hint)
    return found[0] if found else Address("", _one_line(decode_header(value, hint)))


def _message_id(value: str | None, raw: bytes) -> str:
    found = _first_msgid(value)
    if found:
        return found
    if value and value.strip():
        return _one_line(value)[:250]
    # Without a Message-ID the bytes are the identity: the same message fetched twice gets one id.
    return f"sha256-{hashlib.sha256(raw).hexdigest()[:32]}@dunbot.invalid"


def _first_msgid(value: str | None) -> str | None:
    if not value:
        return None
    found = MSGID_RE.search(value)
    if found:
        return found.group(1)
    bare = value.strip().split()
    return bare[0] if bare and "@" in bare[0] else None


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(_one_line(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


# --- bodies -----------------------------------------------------------------------------------


class _Body(NamedTuple):
    parts: list[tuple[str, str]]  # every text part, document order
    outer: list[tuple[str, str]]  # those not inside an attached message (message/rfc822)
    attachments: list[Attachment]


def _walk(msg: Message) -> _Body:
    """Text parts (type, text) and attachments, in document order."""
    body = _Body([], [], [])
    budget = GUESS_BUDGET
    for part, nested in _leaves(msg, depth=0, nested=False):
        ctype = part.get_content_type()
        filename = _filename(part)
        payload = _payload(part)
        disposition = (_safe(part.get_content_disposition) or "").lower()
        if disposition == "attachment" or filename or ctype not in TEXT_TYPES:
            body.attachments.append(Attachment(filename or "", ctype, len(payload)))
            continue
        budget -= len(payload)  # past the budget: UTF-8, no guessing
        declared = _safe(part.get_content_charset)
        data = decode_bytes(payload, declared) if budget >= 0 else payload.decode(errors="replace")
        text = (ctype, data)
        body.parts.append(text)
        if not nested:
            body.outer.append(text)
    return body


def _leaves(part: Message, depth: int, nested: bool) -> Iterator[tuple[Message, bool]]:
    """Every leaf part in document order, with whether it sits inside an attached message.
    A machine report (DSN, MDN, ARF) comes back whole, as text; a multipart whose boundary
    never appears is re-read with the boundary it does use."""
    ctype = part.get_content_type()
    payload = _raw_payload(part)
    if depth > MAX_DEPTH:
        return
    if ctype in REPORT_TYPES and isinstance(payload, list):
        yield _text_part(ctype, "\n\n".join(_header_block(block) for block in payload)), nested
    elif isinstance(payload, list):
        inner = nested or part.get_content_maintype() == "message"
        for sub in payload:
            if isinstance(sub, Message):
                yield from _leaves(sub, depth + 1, inner)
    elif part.get_content_maintype() == "multipart":
        yield from ((leaf, nested) for leaf, _ in _repaired(part, depth))
    else:
        yield part, nested


def _header_block(block: object) -> str:
    """One field block of a delivery-status part, and any text a broken report put after it."""
    if not isinstance(block, Message):
        return ""
    fields = "\n".join(f"{key}: {value}" for key, value in block.raw_items())
    rest = _raw_payload(block)
    return f"{fields}\n\n{rest}" if isinstance(rest, str) and rest.strip() else fields


def _text_part(ctype: str, text: str) -> Message:
    part = Message()
    part["Content-Type"] = f"{ctype}; charset=utf-8"
    part.set_payload(text.encode("utf-8", "surrogateescape"))
    return part


def _repaired(part: Message, depth: int) -> Iterator[tuple[Message, bool]]:
    body = _raw_payload(part)
    text = body if isinstance(body, str) else ""
    found = BOUNDARY_LINE_RE.search(text)
    if found:
        head = f'Content-Type: multipart/mixed; boundary="{found.group(1)}"\n\n'
        inner = email.message_from_string(head + text, policy=email.policy.compat32)
        if inner.is_multipart():
            yield from _leaves(inner, depth + 1, nested=False)
            return
    yield _text_part("text/plain", text), False  # no boundary at all: the body is the text


def _attached_ids(msg: Message, body: _Body) -> tuple[str, ...]:
    """Message-IDs of attached messages and returned headers: a bounce names our original."""
    found: list[str | None] = []
    for part in msg.walk():
        payload = _raw_payload(part)
        if part.get_content_type() in ATTACHED_TYPES and isinstance(payload, list) and payload:
            inner = payload[0]
            found.append(
                _first_msgid(inner.get("Message-ID")) if isinstance(inner, Message) else None
            )
    for ctype, text in body.parts:
        if ctype == "text/rfc822-headers":
            found += [_first_msgid(m) for m in HEADER_MSGID_RE.findall(text)]
    return tuple(dict.fromkeys(i for i in found if i))


def _filename(part: Message) -> str | None:
    name = _safe(part.get_filename) or _safe(lambda: part.get_param("name"))
    return _one_line(decode_encoded_words(name)) if name else None


def _payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - a broken transfer encoding: fall back to the raw payload
        data = None
    if isinstance(data, bytes):
        return data
    raw = _raw_payload(part)
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _best_text(body: _Body) -> str:
    """The reader's text: plain, else HTML as text, else any text part (a bare delivery
    report); parts of the message itself before those of attached messages."""
    for parts in (body.outer, body.parts):
        for wanted in ("text/plain", "text/html", None):
            for ctype, text in parts:
                if text.strip() and ctype == (wanted or ctype):
                    clean = text.replace("\r\n", "\n").strip()
                    return html_to_text(clean[:MAX_HTML_CHARS]) if ctype == "text/html" else clean
    return ""


def html_to_text(html: str) -> str:
    """HTML to readable text; blockquotes become "> " lines so quote stripping still sees them."""
    converter = html2text.HTML2Text(bodywidth=0)
    converter.ignore_links = True
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.ignore_tables = True
    converter.unicode_snob = True
    try:
        text = converter.handle(html)
    except Exception:  # noqa: BLE001 - html2text chokes on some broken markup; fall back to stripping tags
        text = re.sub(r"<[^>]*>", " ", html)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _raw_payload(part: Message) -> object:
    """part.get_payload(): compat32 decodes 8-bit text with the declared charset and raises when
    that codec refuses its "replace" handler (charset=idna); then the bytes, decoded our way."""
    try:
        return part.get_payload()
    except (ValueError, LookupError):
        data = part.get_payload(decode=True)
        return decode_bytes(data, None) if isinstance(data, bytes) else ""


def _safe(getter: object) -> str | None:
    """Call a Message getter that may raise on hostile parameters; None when it does."""
    try:
        value = getter()  # type: ignore[operator]
    except Exception:  # noqa: BLE001 - the getter's own parser; None is the safe answer
        return None
    if isinstance(value, tuple):  # RFC 2231 (charset, language, value) left undecoded
        value = email.utils.collapse_rfc2231_value(value)
    return str(value) if value else None


def _defects(msg: Message) -> Iterator[object]:
    for part in msg.walk():
        yield from getattr(part, "defects", ())
