"""Bytes in, a ParsedMessage out: MIME parsing that survives whatever the wild sends.

The standard library's modern policy does the parsing; this module adds what it lacks for
hostile input: charset aliases and guessing, headers that fail to parse, and a Message-ID
for messages without one. Anything that still cannot be read raises MessageParseError
with the reason, which the ingest service stores with the quarantined message.
"""

from __future__ import annotations

import codecs
import email
import email.header
import email.policy
import email.utils
import hashlib
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from email.message import EmailMessage, Message

import html2text
from charset_normalizer import from_bytes

from bot.core.model import Address, Attachment, ParsedMessage
from bot.errors import MessageParseError

# Labels that lie: mail clients declare the small charset and use its superset (WHATWG encoding spec).
CHARSET_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "big5": "big5hkscs",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "iso-2022-jp": "iso2022_jp_ext",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-9": "cp1254",
    "tis-620": "cp874",
    "x-mac-cyrillic": "mac_cyrillic",
    "unicode-1-1-utf-7": "utf-7",
    "utf8": "utf-8",
}
TEXT_TYPES = ("text/plain", "text/html", "message/delivery-status", "text/rfc822-headers")
MSGID_RE = re.compile(r"<([^<>\s]+)>")
MAX_TEXT_CHARS = 200_000  # longer bodies are cut: nothing a customer writes is that long


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse one RFC 5322 message. Raises MessageParseError if nothing useful can be read."""
    if not raw or not raw.strip():
        raise MessageParseError("empty message")
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception as exc:  # the parser itself should not raise, but hostile input finds ways
        raise MessageParseError(f"MIME parser failed: {exc!r}") from exc
    if not isinstance(msg, EmailMessage):  # pragma: no cover - the policy guarantees it
        raise MessageParseError("not an email message")
    headers = tuple(_headers(msg))
    if not any(k.lower() in ("from", "subject", "date", "message-id", "to") for k, _ in headers):
        raise MessageParseError("no message headers found (From, To, Subject, Date or Message-ID)")
    parts, html, attachments = _walk(msg)
    text = _best_text(parts, html)
    first = _first_header(headers)
    return ParsedMessage(
        message_id=_message_id(first("message-id"), raw),
        subject=_one_line(first("subject") or ""),
        sender=_first_address(first("from") or first("sender") or ""),
        to=_addresses(first("to")),
        cc=_addresses(first("cc")),
        reply_to=_addresses(first("reply-to")),
        date=_date(first("date")),
        in_reply_to=_first_msgid(first("in-reply-to")),
        references=tuple(MSGID_RE.findall(first("references") or "")),
        text=text[:MAX_TEXT_CHARS],
        html=html,
        headers=headers,
        attachments=tuple(attachments),
        content_type=msg.get_content_type(),
        parts=tuple(parts),
        defects=tuple(sorted({type(d).__name__ for d in _defects(msg)})),
        size=len(raw),
    )


def decode_bytes(data: bytes, declared: str | None) -> str:
    """Decode a body with its declared charset, its superset, or a guess; never raises."""
    for name in _charset_candidates(declared):
        try:
            return data.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
    best = from_bytes(data).best()
    if best is not None:
        return str(best)
    return data.decode("utf-8", errors="replace")


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
    except Exception:  # html2text chokes on some broken markup; fall back to stripping tags
        text = re.sub(r"<[^>]*>", " ", html)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _charset_candidates(declared: str | None) -> Iterator[str]:
    if declared:
        name = declared.strip().strip('"').lower()
        yield CHARSET_SUPERSETS.get(name, name)
        try:
            yield codecs.lookup(name).name
        except LookupError:
            pass
    yield "utf-8"


def _headers(msg: Message) -> Iterator[tuple[str, str]]:
    for key, value in msg.raw_items():
        yield key, _header_value(value)


def _header_value(value: object) -> str:
    """The decoded value of a header; falls back to RFC 2047 decoding by hand when the policy fails."""
    try:
        return str(value)
    except Exception:
        pass
    raw = getattr(value, "_parse_tree", None) or value
    try:
        chunks = email.header.decode_header(str(raw))
    except Exception:
        return repr(raw)
    return "".join(
        decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk for chunk, charset in chunks
    )


def _first_header(headers: tuple[tuple[str, str], ...]) -> _Lookup:
    return _Lookup(headers)


class _Lookup:
    def __init__(self, headers: tuple[tuple[str, str], ...]) -> None:
        self._first: dict[str, str] = {}
        for key, value in headers:
            self._first.setdefault(key.lower(), value)

    def __call__(self, name: str) -> str | None:
        return self._first.get(name)


def _walk(msg: EmailMessage) -> tuple[list[tuple[str, str]], str | None, list[Attachment]]:
    """Text parts (type, text), the first HTML body, and the attachments, in document order."""
    parts: list[tuple[str, str]] = []
    attachments: list[Attachment] = []
    html: str | None = None
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        filename = _safe(part.get_filename)
        payload = _payload(part)
        if disposition == "attachment" or filename or ctype not in TEXT_TYPES:
            if ctype in ("message/rfc822",) or ctype.startswith("multipart/"):
                continue
            attachments.append(Attachment(filename or "", ctype, len(payload)))
            if not (ctype in TEXT_TYPES and not filename):
                continue
        text = decode_bytes(payload, _safe(part.get_content_charset))
        if ctype == "text/html" and html is None:
            html = text
        parts.append((ctype, text))
    return parts, html, attachments


def _payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _best_text(parts: list[tuple[str, str]], html: str | None) -> str:
    plain = [text for ctype, text in parts if ctype == "text/plain" and text.strip()]
    if plain:
        return plain[0].replace("\r\n", "\n").strip()
    if html:
        return html_to_text(html)
    other = [text for _, text in parts if text.strip()]
    return other[0].replace("\r\n", "\n").strip() if other else ""


def _safe(getter: object) -> str | None:
    """Call a Message getter that may raise on hostile parameters; None when it does."""
    try:
        value = getter()  # type: ignore[operator]
    except Exception:
        return None
    return str(value) if value else None


def _defects(msg: Message) -> Iterator[object]:
    for part in msg.walk():
        yield from getattr(part, "defects", ())


def _message_id(value: str | None, raw: bytes) -> str:
    found = _first_msgid(value)
    if found:
        return found
    if value and value.strip():
        return value.strip()[:250]
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


def _addresses(value: str | None) -> tuple[Address, ...]:
    if not value:
        return ()
    try:
        pairs = email.utils.getaddresses([value])
    except Exception:
        return ()
    return tuple(Address(addr.strip().lower(), name.strip()) for name, addr in pairs if "@" in addr)


def _first_address(value: str) -> Address:
    found = _addresses(value)
    return found[0] if found else Address("", value.strip())


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed
