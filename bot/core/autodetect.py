"""What a message is before what it says: a human, an auto-reply, or a bounce.

Pure. Every phrase, header and sender pattern is data (rules/autoreply.yaml, validated by
`AutoPatterns.from_doc`). Bounces are checked first because many MTAs also mark them
"Auto-Submitted: auto-replied" (RFC 3834 section 3.1.7 only asks them to).

Decisions, documented here because callers depend on them:
- A delay warning (RFC 3464 Action: delayed, or a 4.x.x status, or "still being retried")
  is kind `bounce` with a 4.x.x `bounce_status`: the address is in trouble, not dead;
  the policy treats 4.x.x as soft.
- A read receipt (RFC 8098 MDN) or an abuse/feedback report (RFC 5965 ARF) is kind
  `auto_reply`: a machine answered, not the customer. So is a delivery report whose every
  recipient was delivered, and a challenge-response request (Boxbe, Bluebottle).
- "Auto-Submitted: no" makes a message human whatever its subject says (RFC 3834 section 5).
- "X-Auto-Response-Suppress" alone proves nothing: Outlook sets it on ordinary mail too.
- "Precedence: bulk/junk" counts only without list headers: a customer may write through a list.
- An out-of-office phrase in the body alone (no header, no subject) counts only when the text
  quotes nothing: vacation responders do not quote, people answering from a phone do.
"""

from __future__ import annotations

import email.errors
import email.header
import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from bot.core.dsn import (
    ADDRESS,
    DSN_DELAYED,
    DSN_OK,
    STATUS,
    clean_address,
    dsn_recipient,
    field_blocks,
    status_from_text,
    worst,
)
from bot.core.model import Kind, ParsedMessage
from bot.core.patterns import alternation, compile_at
from bot.core.yamldoc import YamlDoc, validated

_ORIGINAL_TO = re.compile(r"^to:[ \t]*([^\n]{1,300})", re.IGNORECASE | re.MULTILINE)
_QUOTED_LINE = re.compile(r"^>", re.MULTILINE)
_REPORT_TYPE = re.compile(r"report-type\s*=\s*\"?([\w-]+)", re.IGNORECASE)


class _HeaderRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    header: str
    value: str


class _AutoFile(BaseModel):
    """The schema of rules/autoreply.yaml (see the comments in that file)."""

    model_config = ConfigDict(extra="forbid")

    max_chars: int = Field(20_000, gt=0)
    auto_headers: list[_HeaderRule] = []
    human_auto_submitted: str = r"^\s*no\b"
    bulk_precedence: str = r"^\s*(bulk|junk)\b"
    list_headers: list[str] = []
    subject_prefixes: list[str] = []
    reply_prefixes: str = r"^\s*(re\s*:\s*)*"
    body_phrases: list[str] = []
    body_triggers: list[str] = []
    human_markers: list[str] = []
    challenge_senders: str = r"(?!)"
    challenge_phrases: list[str] = []
    bounce_senders: str = r"^(mailer-daemon|postmaster)(@|$)"
    bounce_subjects: list[str] = []
    bounce_bodies: list[str] = []
    bounce_notices: list[str] = []
    delay_markers: list[str] = []
    status_hints: dict[str, str] = {}
    recipient_patterns: list[str] = []
    original_markers: list[str] = []


@dataclass(frozen=True, slots=True)
class KindResult:
    """The kind of a message and why; for bounces, the failed address and RFC 3463 status."""

    kind: Kind
    reason: str
    bounce_recipient: str | None = None
    bounce_status: str | None = None


@dataclass(frozen=True, slots=True)
class AutoPatterns:
    """Compiled auto-reply and bounce patterns; build with `from_doc`."""

    max_chars: int
    auto_headers: tuple[tuple[str, re.Pattern[str]], ...]
    human_auto_submitted: re.Pattern[str]
    bulk_precedence: re.Pattern[str]
    list_headers: frozenset[str]
    subject_prefix: re.Pattern[str]
    reply_prefix: re.Pattern[str]
    body_phrase: re.Pattern[str]
    body_triggers: tuple[str, ...]
    challenge_sender: re.Pattern[str]
    challenge_phrase: re.Pattern[str]
    bounce_sender: re.Pattern[str]
    bounce_subject: re.Pattern[str]
    bounce_body: re.Pattern[str]
    bounce_notice: re.Pattern[str]
    delay_marker: re.Pattern[str]
    status_hints: tuple[tuple[re.Pattern[str], str], ...]
    recipient_patterns: tuple[re.Pattern[str], ...]
    original_marker: re.Pattern[str]
    human_marker: re.Pattern[str] | None = None

    @classmethod
    def from_doc(cls, doc: YamlDoc) -> AutoPatterns:
        """Validate a parsed autoreply.yaml; a bad key or regex is a RuleError at its file:line."""
        spec = validated(_AutoFile, doc, doc.data)
        return cls(
            max_chars=spec.max_chars,
            auto_headers=tuple(
                (rule.header.lower(), compile_at(doc, ("auto_headers", i, "value"), rule.value))
                for i, rule in enumerate(spec.auto_headers)
            ),
            human_auto_submitted=compile_at(
                doc, ("human_auto_submitted",), spec.human_auto_submitted
            ),
            bulk_precedence=compile_at(doc, ("bulk_precedence",), spec.bulk_precedence),
            list_headers=frozenset(h.lower() for h in spec.list_headers),
            subject_prefix=alternation(doc, "subject_prefixes", spec.subject_prefixes),
            reply_prefix=compile_at(doc, ("reply_prefixes",), spec.reply_prefixes),
            body_phrase=alternation(doc, "body_phrases", spec.body_phrases),
            body_triggers=tuple(t.lower() for t in spec.body_triggers),
            challenge_sender=compile_at(doc, ("challenge_senders",), spec.challenge_senders),
            challenge_phrase=alternation(doc, "challenge_phrases", spec.challenge_phrases),
            bounce_sender=compile_at(doc, ("bounce_senders",), spec.bounce_senders),
            bounce_subject=alternation(doc, "bounce_subjects", spec.bounce_subjects),
            bounce_body=alternation(doc, "bounce_bodies", spec.bounce_bodies),
            bounce_notice=alternation(doc, "bounce_notices", spec.bounce_notices),
            delay_marker=alternation(doc, "delay_markers", spec.delay_markers),
            status_hints=tuple(
                _hint(doc, key, status) for key, status in spec.status_hints.items()
            ),
            recipient_patterns=tuple(
                compile_at(doc, ("recipient_patterns", i), pat, re.MULTILINE)
                for i, pat in enumerate(spec.recipient_patterns)
            ),
            original_marker=alternation(
                doc, "original_markers", spec.original_markers, re.MULTILINE
            ),
            human_marker=(
                alternation(doc, "human_markers", spec.human_markers, re.MULTILINE)
                if spec.human_markers
                else None
            ),
        )


def _hint(doc: YamlDoc, pattern: str, status: str) -> tuple[re.Pattern[str], str]:
    if not STATUS.fullmatch(status):
        raise doc.error(
            ("status_hints", pattern), f"status_hints: {status!r} is not a status like 5.1.1"
        )
    return compile_at(doc, ("status_hints", pattern), pattern), status


def detect_kind(msg: ParsedMessage, patterns: AutoPatterns) -> KindResult:
    """Bounce, auto-reply or human, with the reason (the rule that decided)."""
    return (
        _bounce(msg, patterns)
        or _machine_report(msg)
        or _by_headers(msg, patterns)
        or _by_content(msg, patterns)
        or KindResult(Kind.HUMAN, "no auto-reply or bounce markers")
    )


# --- bounces -------------------------------------------------------------------------------


def _bounce(msg: ParsedMessage, p: AutoPatterns) -> KindResult | None:
    report = _report_type(msg)
    dsn = [text for ctype, text in msg.parts if ctype == "message/delivery-status"]
    if not dsn and "final-recipient:" in msg.text[: p.max_chars].lower():
        dsn = [msg.text[: p.max_chars]]  # a report pasted inline by a broken MTA
    if dsn:
        found = _from_dsn("\n\n".join(dsn), p)
        if found is not None:
            return found
    return _free_form_bounce(msg, p, report == "delivery-status")


def _report_type(msg: ParsedMessage) -> str:
    if msg.content_type != "multipart/report":
        return ""
    found = _REPORT_TYPE.search(msg.header("Content-Type") or "")
    return found.group(1).lower() if found else ""


def _from_dsn(text: str, p: AutoPatterns) -> KindResult | None:
    blocks = [
        b
        for b in field_blocks(text)
        if "final-recipient" in b or "original-recipient" in b or "action" in b
    ]
    if not blocks:
        return None
    actions = [b.get("action", "").lower().split(" ")[0] for b in blocks]
    if all(a in DSN_OK for a in actions):
        return KindResult(Kind.AUTO_REPLY, f"delivery report (RFC 3464): {actions[0]}")
    block = worst(blocks)
    action = block.get("action", "").lower()
    status = _dsn_status(block, action, p)
    recipient = dsn_recipient(block)
    return KindResult(
        Kind.BOUNCE, f"delivery report (RFC 3464): {action or 'failed'} {status}", recipient, status
    )


def _dsn_status(block: dict[str, str], action: str, p: AutoPatterns) -> str:
    for source in (block.get("status", ""), block.get("diagnostic-code", "")):
        found = STATUS.search(source)
        if found and found.group(1) != "2":
            return found.group(0)
    delayed = action.startswith(DSN_DELAYED)
    return status_from_text(block.get("diagnostic-code", ""), delayed, p.status_hints)


def _free_form_bounce(msg: ParsedMessage, p: AutoPatterns, is_report: bool) -> KindResult | None:
    failed = msg.header("X-Failed-Recipients")
    daemon = bool(p.bounce_sender.search(msg.sender.email)) or _null_sender(msg)
    subject = p.bounce_subject.search(_subject(msg)) is not None
    if not (failed or daemon or subject or is_report):
        return None  # the common case, decided without reading the body
    text = _notice(msg, p)
    body = p.bounce_body.search(text) is not None
    if failed:
        reason = "X-Failed-Recipients header"
    elif is_report and (daemon or subject or body):
        reason = "delivery report without a readable status part"
    elif daemon and (subject or body):
        reason = f"bounce from {msg.sender.email or 'the null sender'}"
    elif subject and p.bounce_notice.search(text):
        reason = "bounce subject and mail-system notice"
    else:
        return None
    delayed = (
        p.delay_marker.search(_subject(msg)) is not None or p.delay_marker.search(text) is not None
    )
    status = status_from_text(text, delayed and not failed, p.status_hints)
    recipient = _failed_address(failed, text, msg, p)
    return KindResult(Kind.BOUNCE, reason, recipient, status)


def _null_sender(msg: ParsedMessage) -> bool:
    """The null reverse-path of RFC 5321 section 4.5.5, which bounces are sent from."""
    path = msg.header("Return-Path")
    if path is not None and path.strip() in ("<>", ""):
        return True
    return not msg.sender.email and "<>" in (msg.header("From") or "")


def _notice(msg: ParsedMessage, p: AutoPatterns) -> str:
    """The bounce notice itself: the first text part, cut where the returned original starts."""
    text = msg.text[: p.max_chars].replace("\r\n", "\n")
    found = p.original_marker.search(text)
    return text[: found.start()] if found else text


def _failed_address(
    header: str | None, text: str, msg: ParsedMessage, p: AutoPatterns
) -> str | None:
    if header:
        found = ADDRESS.search(header)
        if found:
            return found.group(0).lower()
    ours = {msg.sender.email, *(a.email for a in msg.to), *(a.email for a in msg.cc)}
    for pattern in p.recipient_patterns:
        for match in pattern.finditer(text):
            addr = clean_address(
                match.group("addr") if "addr" in pattern.groupindex else match.group(0)
            )
            if addr and addr not in ours:
                return addr
    for match in ADDRESS.finditer(text):
        addr = clean_address(match.group(0))
        line_start = text.rfind("\n", 0, match.start()) + 1
        if (
            addr
            and addr not in ours
            and not p.bounce_sender.search(addr)
            and not _MESSAGE_ID_FIELD.search(text, line_start, match.start())
        ):
            return addr  # an address in "Message-id: <x@host>" names a message, not a recipient
    return _original_to(msg, ours, p)


_MESSAGE_ID_FIELD = re.compile(r"(message-id|in-reply-to|references)\s*:", re.IGNORECASE)


def _original_to(msg: ParsedMessage, ours: set[str], p: AutoPatterns) -> str | None:
    """The To: of the returned original, when the notice itself names nobody."""
    for _, text in ((None, msg.text), *msg.parts):
        for match in _ORIGINAL_TO.finditer(text[: p.max_chars]):
            addr = clean_address(match.group(1))
            if addr and addr not in ours:
                return addr
    return None


# --- auto-replies ----------------------------------------------------------------------------


def _machine_report(msg: ParsedMessage) -> KindResult | None:
    report = _report_type(msg)
    types = {ctype for ctype, _ in msg.parts}
    if report == "disposition-notification" or "message/disposition-notification" in types:
        return KindResult(Kind.AUTO_REPLY, "read receipt (RFC 8098 MDN)")
    if report == "feedback-report" or "message/feedback-report" in types:
        return KindResult(Kind.AUTO_REPLY, "feedback report (RFC 5965 ARF)")
    return None


def _by_headers(msg: ParsedMessage, p: AutoPatterns) -> KindResult | None:
    submitted = msg.header("Auto-Submitted")
    if submitted is not None and p.human_auto_submitted.search(submitted):
        return KindResult(Kind.HUMAN, "Auto-Submitted: no (RFC 3834)")
    for name, pattern in p.auto_headers:
        value = msg.header(name)
        if value is not None and pattern.search(value):
            return KindResult(Kind.AUTO_REPLY, f"{name}: {value.strip()[:60]}")
    precedence = msg.header("Precedence") or ""
    if p.bulk_precedence.search(precedence) and not any(msg.header(h) for h in p.list_headers):
        return KindResult(Kind.AUTO_REPLY, f"Precedence: {precedence.strip()} without list headers")
    return None


def _by_content(msg: ParsedMessage, p: AutoPatterns) -> KindResult | None:
    subject = _subject(msg)
    prefix = p.reply_prefix.match(subject)
    found = p.subject_prefix.match(subject, prefix.end() if prefix else 0)
    if found:
        return KindResult(Kind.AUTO_REPLY, f"subject starts with {found.group(0)!r}")
    if p.challenge_sender.search(msg.sender.email):
        return KindResult(Kind.AUTO_REPLY, "challenge-response request")
    head = msg.text[: min(p.max_chars, 1200)]  # out-of-office notices say so at the top
    lowered = head.lower()
    if p.body_triggers and not any(t in lowered for t in p.body_triggers):
        return None
    if p.challenge_phrase.search(head):
        return KindResult(Kind.AUTO_REPLY, "challenge-response request")
    if _QUOTED_LINE.search(msg.text[: p.max_chars]):
        return None  # a person answering with the history quoted ("I'm on leave from tomorrow")
    if p.human_marker is not None and p.human_marker.search(msg.text[: p.max_chars]):
        return None  # "Sent from my iPhone": a person typed it, no responder does
    phrase = p.body_phrase.search(head)
    if phrase:
        return KindResult(Kind.AUTO_REPLY, f"body says {phrase.group(0)[:60]!r}")
    return None


def _subject(msg: ParsedMessage) -> str:
    """The subject, decoding RFC 2047 words the MIME layer left encoded."""
    subject = msg.subject
    if "=?" not in subject:
        return subject
    try:
        return str(email.header.make_header(email.header.decode_header(subject)))
    except (UnicodeDecodeError, LookupError, ValueError, email.errors.HeaderParseError):
        return subject
