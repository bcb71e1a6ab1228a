"""The customer's new text: a reply without quoted history, signature, footers or disclaimers.

Pure. All patterns are data (rules/quotes.yaml, validated by `QuotePatterns.from_doc`); this
module only walks lines. The walk, top to bottom:

1. The first quote start cuts the text: a separator line ("-----Original Message-----",
   "---------- Forwarded message ---------", Foxmail's "------ 原始邮件 ------"), an Outlook
   header block ("From:/Sent:/To:" in many languages) or an attribution line ("On ... wrote:",
   "Am ... schrieb ...:", "在 ... 写道："), which clients wrap over up to three lines.
2. Above the cut, "> " lines are dropped (inline answers between them stay), gateway banners
   are dropped, and the tail is cut at a legal disclaimer, a "-- " delimiter, a mobile footer
   ("Sent from my iPhone", "发自我的iPhone"), a sign-off with a short name block, or a trailing
   contact block.
3. When the customer wrote nothing above the cut: below a forward marker the forwarded text
   is the message (itself stripped the same way); below a reply header only answers written
   below or between quoted lines count; otherwise the reply is "" (our own quoted reminder
   must never be read as the customer's words). A signature or footer alone gives "".

`email_reply_parser` (GitHub's algorithm) is not called: its patterns are English-only code,
not data a user can extend, and on the corpus cases of tests/test_corpus_replies.py it gets
30/101 exact against 100/101 here. The line walk follows the same idea (fragments split at
quote headers, signatures recognised from the bottom) with every pattern from the YAML file.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from bot.core.names import after_sentence, looks_like_name, name_block, trim_symbols
from bot.core.patterns import alternation, compile_at
from bot.core.yamldoc import YamlDoc, validated

MAX_LINE_CHARS = 1000  # longer lines are prose (or base64): never headers, never signatures
MAX_DEPTH = 3  # forwards inside forwards: how deep the text below a header is followed
_ODD_SPACES = re.compile(r"[\u00a0\u2000-\u200a\u202f\u3000]")
_BLANKS = re.compile(r"\n{3,}")


class _QuotesFile(BaseModel):
    """The schema of rules/quotes.yaml (see the comments in that file)."""

    model_config = ConfigDict(extra="forbid")

    max_chars: int = Field(60_000, gt=0)
    separators: list[str] = []
    forward_separators: list[str] = []
    reply_headers: list[str] = []
    reply_headers_loose: list[str] = []
    header_line_end: str = r"[:：]\s*$"
    header_from: list[str] = []
    header_fields: list[str] = []
    header_window: int = Field(6, ge=1, le=20)
    header_min_fields: int = Field(1, ge=1, le=10)
    quote_prefix: str = ">"
    signature_delimiters: list[str] = []
    mobile_footers: list[str] = []
    sign_offs: list[str] = []
    name_lines: list[str] = []
    contact_lines: list[str] = []
    disclaimers: list[str] = []
    banners: list[str] = []
    max_tail_lines: int = Field(10, ge=1)
    max_tail_width: int = Field(80, ge=10)


@dataclass(frozen=True, slots=True)
class QuotePatterns:
    """Compiled quote, signature and footer patterns; build with `from_doc`."""

    max_chars: int
    separator: re.Pattern[str]
    forward_separator: re.Pattern[str]
    reply_header: re.Pattern[str]
    reply_header_loose: re.Pattern[str]
    header_line_end: re.Pattern[str]
    header_from: re.Pattern[str]
    header_field: re.Pattern[str]
    header_window: int
    header_min_fields: int
    quote_prefix: str
    delimiter: re.Pattern[str]
    mobile_footer: re.Pattern[str]
    sign_off: re.Pattern[str]
    name_line: re.Pattern[str]
    contact_line: re.Pattern[str]
    disclaimer: re.Pattern[str]
    banner: re.Pattern[str]
    max_tail_lines: int
    max_tail_width: int

    @classmethod
    def from_doc(cls, doc: YamlDoc) -> QuotePatterns:
        """Validate a parsed quotes.yaml; a bad key or regex is a RuleError at its file:line."""
        spec = validated(_QuotesFile, doc, doc.data)
        return cls(
            max_chars=spec.max_chars,
            separator=alternation(doc, "separators", spec.separators),
            forward_separator=alternation(doc, "forward_separators", spec.forward_separators),
            reply_header=alternation(doc, "reply_headers", spec.reply_headers),
            reply_header_loose=alternation(doc, "reply_headers_loose", spec.reply_headers_loose),
            header_line_end=compile_at(doc, ("header_line_end",), spec.header_line_end),
            header_from=_field_names(doc, "header_from", spec.header_from),
            header_field=_field_names(doc, "header_fields", spec.header_fields + spec.header_from),
            header_window=spec.header_window,
            header_min_fields=spec.header_min_fields,
            quote_prefix=spec.quote_prefix,
            delimiter=alternation(doc, "signature_delimiters", spec.signature_delimiters),
            mobile_footer=alternation(doc, "mobile_footers", spec.mobile_footers),
            sign_off=alternation(doc, "sign_offs", spec.sign_offs),
            name_line=alternation(doc, "name_lines", spec.name_lines),
            contact_line=alternation(doc, "contact_lines", spec.contact_lines),
            disclaimer=alternation(doc, "disclaimers", spec.disclaimers),
            banner=alternation(doc, "banners", spec.banners),
            max_tail_lines=spec.max_tail_lines,
            max_tail_width=spec.max_tail_width,
        )


def _field_names(doc: YamlDoc, key: str, names: list[str]) -> re.Pattern[str]:
    """Header field names as a line-start regex: optional bold marks, the name, a colon."""
    if not names:
        return re.compile(r"(?!)")
    alternatives = "|".join(re.escape(n.strip()) for n in sorted(set(names), key=len, reverse=True))
    return compile_at(doc, (key,), rf"\*{{0,2}}(?:{alternatives})\*{{0,2}}\s*[:：]")


@dataclass(frozen=True, slots=True)
class _Cut:
    start: int  # first line of the quote header
    end: int  # first line after it
    forward: bool = False  # a forward marker, not a reply's quote header


def extract_reply(text: str, patterns: QuotePatterns, *, forwarded: bool = False) -> str:
    """The customer's new text: no quoted history, signature, mobile footer or disclaimer.

    When the customer wrote nothing above the first quote header, the result is the text
    below a forward marker ("---------- Forwarded message ---------"), or answers written
    below / between quoted lines, else "". Pass `forwarded=True` when the subject says the
    message is a forward ("Fwd:", "FW:", "WG:", "TR:", "转发:"): then any header block at the top
    introduces forwarded text (Outlook writes forwards and replies alike).
    """
    return _extract(_lines(text, patterns.max_chars), patterns, 0, forwarded)


def _extract(lines: list[str], p: QuotePatterns, depth: int, forwarded: bool = False) -> str:
    cut = _find_cut(lines, p)
    head = lines[: cut.start] if cut else lines
    reply = _clean(head, p)
    if cut is not None and depth < MAX_DEPTH and _greeting_only(reply):
        below = _answers_below(lines[cut.end :], p)
        return f"{reply}\n\n{below}" if below else reply
    if reply or depth >= MAX_DEPTH or any(line.strip() and not _quoted(line, p) for line in head):
        return reply  # (empty when the customer wrote only a signature or footer)
    if cut is None:
        return _quoted_forward(lines, p, depth)
    body = _skip_fields(lines[cut.end :], p)
    if cut.forward or forwarded:
        return _extract([_unquote(line, p) for line in body], p, depth + 1)
    plain = [line for line in body if not _quoted(line, p)]
    if len(plain) < len(body):  # answers written below or between the quoted lines
        return _extract(plain, p, depth + 1)
    return ""


def _quoted_forward(lines: list[str], p: QuotePatterns, depth: int) -> str:
    """A message quoted whole ("> Begin forwarded message:"): its forwarded text, else nothing."""
    if not any(_quoted(line, p) for line in lines) or depth >= MAX_DEPTH:
        return ""
    unquoted = [_unquote(line, p) for line in lines]
    cut = _find_cut(unquoted, p)
    if cut is None or not cut.forward or any(line.strip() for line in unquoted[: cut.start]):
        return ""
    return _extract(unquoted, p, depth + 1)


def _lines(text: str, max_chars: int) -> list[str]:
    text = text[:max_chars].replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    text = _ODD_SPACES.sub(" ", text.replace("\u200b", "").replace("&nbsp;", " "))
    return [line.rstrip() for line in text.split("\n")]


def _quoted(line: str, p: QuotePatterns) -> bool:
    return line.lstrip().startswith(p.quote_prefix)


def _unquote(line: str, p: QuotePatterns) -> str:
    stripped = line.lstrip()
    if not stripped.startswith(p.quote_prefix):
        return line
    rest = stripped[len(p.quote_prefix) :]
    return rest.removeprefix(" ")


def _find_cut(lines: list[str], p: QuotePatterns) -> _Cut | None:
    """The first quote header, separator or header block (quoted lines are never one, except
    a wrapped attribution's last line that the client quoted: ">:")."""
    for i, raw in enumerate(lines):
        line = raw.strip()
        if not line or len(line) > MAX_LINE_CHARS:
            continue
        if _quoted(line, p):
            if line.replace(" ", "") == p.quote_prefix + ":" and i > 0:
                start = _attribution_start(lines, i, p)
                if start is not None:
                    return _Cut(start, i + 1)
            continue
        if p.forward_separator.fullmatch(line):
            return _Cut(i, i + 1, forward=True)
        if p.separator.fullmatch(line):
            return _Cut(i, i + 1)
        if p.header_from.match(line) and _field_block(lines, i, p):
            return _Cut(i, i + 1)
        if p.header_line_end.search(line):
            start = _attribution_start(lines, i, p)
            if start is not None:
                return _Cut(start, i + 1)
    return None


def _field_block(lines: list[str], i: int, p: QuotePatterns) -> bool:
    window = lines[i + 1 : i + 1 + p.header_window]
    found = sum(1 for line in window if p.header_field.match(line.strip()))
    return found >= p.header_min_fields


def _attribution_start(lines: list[str], end: int, p: QuotePatterns) -> int | None:
    """The first line of an attribution ending at line `end`: the strict patterns first, each
    tier trying the shortest span first (so a text line above a wrapped header stays text)."""
    spans: list[tuple[int, str]] = []
    for start in range(end, max(end - 3, -1), -1):
        first = lines[start].strip()
        if not first or len(first) > MAX_LINE_CHARS or (start < end and _quoted(first, p)):
            break
        spans.append((start, " ".join(line.strip() for line in lines[start : end + 1])))
    for start, span in spans:
        if not _quoted(lines[start].strip(), p) and p.reply_header.fullmatch(span):
            return start
    for k, (start, span) in enumerate(spans):
        if not _quoted(lines[start].strip(), p) and p.reply_header_loose.fullmatch(span):
            wrapped = lines[start].lstrip()[:1] == "<" or lines[start].lstrip()[:1].islower()
            return spans[k + 1][0] if wrapped and k + 1 < len(spans) else start
    return None


def _greeting_only(reply: str) -> bool:
    """A reply of one short line ("Hi,") above a quote: the answer is probably below it."""
    return bool(reply) and "\n" not in reply and len(reply) <= 40


def _answers_below(lines: list[str], p: QuotePatterns) -> str:
    """Text the customer wrote below or between the quoted lines (bottom-posting)."""
    body = _skip_fields(lines, p)
    first_quote = next((i for i, line in enumerate(body) if _quoted(line, p)), None)
    if first_quote is None:
        return ""
    plain = [line for line in body[first_quote:] if not _quoted(line, p)]
    if not any(line.strip() for line in plain):
        return ""
    cut = _find_cut(plain, p)
    return _clean(plain[: cut.start] if cut else plain, p)


def _skip_fields(lines: list[str], p: QuotePatterns) -> list[str]:
    """The lines after a header block's fields: up to the last field line of the paragraph."""
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i >= len(lines) or not p.header_field.match(lines[i].strip()):
        return lines
    last = i
    j = i
    while j < len(lines) and lines[j].strip():
        if p.header_field.match(lines[j].strip()):
            last = j
        j += 1
    return lines[last + 1 :]


def _clean(lines: list[str], p: QuotePatterns) -> str:
    kept = _drop_banners([line for line in lines if not _quoted(line, p)], p)
    kept = _strip_signature(kept, p)
    text = textwrap.dedent("\n".join(kept))
    return _BLANKS.sub("\n\n", text).strip()


def _drop_banners(lines: list[str], p: QuotePatterns) -> list[str]:
    """Remove every paragraph whose first line is a gateway banner ("CAUTION: external")."""
    out: list[str] = []
    skipping = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        starts = not stripped or i == 0 or not lines[i - 1].strip()
        if starts and stripped:
            skipping = len(stripped) <= MAX_LINE_CHARS and bool(p.banner.fullmatch(stripped))
        elif not stripped:
            skipping = False
        if not skipping:
            out.append(line)
    return out


def _strip_signature(lines: list[str], p: QuotePatterns) -> list[str]:
    """Cut the tail at a disclaimer, delimiter, footer, sign-off or contact block; repeat."""
    for _ in range(4):
        cut = _signature_start(lines, p)
        if cut is None:
            break
        lines = lines[:cut]
    return lines


def _signature_start(lines: list[str], p: QuotePatterns) -> int | None:
    content = [i for i, line in enumerate(lines) if line.strip()]
    if not content:
        return None
    candidates = content[1:]
    for i in candidates:
        line = lines[i].strip()
        if len(line) <= MAX_LINE_CHARS and p.disclaimer.fullmatch(line):
            return i
    for i in content:
        line = lines[i].strip()
        if p.mobile_footer.fullmatch(line) or (
            p.delimiter.fullmatch(line) and _short_tail(lines, i, p)
        ):
            return i
    last = lines[content[-1]].strip()
    if candidates and p.name_line.fullmatch(last):
        return content[-1]
    for i in reversed(candidates):
        if _is_sign_off(lines[i], p) and name_block(lines[i + 1 :]):
            return i
    for before, i in zip(content, candidates, strict=False):
        if (
            after_sentence(lines[before])
            and looks_like_name(lines[i])
            and name_block(lines[i + 1 :])
        ):
            return i  # "...attached.\n\nJohn\nJohn Miller\nPurchasing Manager"
    return _contact_block(lines, content[0], p)


def _is_sign_off(line: str, p: QuotePatterns) -> bool:
    """A closing line, alone ("Best regards,") or with the name after it ("Gruß K. Hofmann")."""
    trimmed = trim_symbols(line)
    if p.sign_off.fullmatch(trimmed):
        return True
    found = p.sign_off.match(trimmed)
    if found is None or found.end() >= len(trimmed):
        return False
    return looks_like_name(trimmed[found.end() :])


def _short_tail(lines: list[str], i: int, p: QuotePatterns) -> bool:
    tail = [line.strip() for line in lines[i + 1 :] if line.strip()]
    return len(tail) <= p.max_tail_lines and all(len(line) <= p.max_tail_width for line in tail)


def _contact_block(lines: list[str], first: int, p: QuotePatterns) -> int | None:
    """A trailing paragraph of short lines, two or more of them an address, phone or URL."""
    end = len(lines)
    while end > 0 and not lines[end - 1].strip():
        end -= 1
    start = end
    while start > 0 and lines[start - 1].strip():
        start -= 1
    block = [line.strip() for line in lines[start:end]]
    if start <= first or not 2 <= len(block) <= 8 or any(len(line) > 60 for line in block):
        return None
    hits = sum(1 for line in block if p.contact_line.fullmatch(line))
    return start if hits >= 2 else None
