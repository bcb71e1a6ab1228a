"""The customer's follow-up as bytes, and customer-derived header values made safe to write."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr

from bot.core.model import Draft


def render_message(
    draft: Draft, *, sender: str, sender_name: str, date: datetime, body: str | None = None
) -> bytes:
    """The customer's mail as bytes: threading headers kept, no Auto-Submitted (RFC 3834 5)."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = formataddr((sender_name, sender)) if sender_name else sender
    msg["To"] = ", ".join(draft.to)
    if draft.cc:
        msg["Cc"] = ", ".join(draft.cc)
    msg["Subject"] = header_text(draft.subject)
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = f"<{draft.message_id}>"
    parent = header_ids([draft.in_reply_to or ""])
    if parent:
        msg["In-Reply-To"] = f"<{parent[0]}>"
    references = header_ids(draft.references)
    if references:
        msg["References"] = " ".join(f"<{r}>" for r in references)
    msg["Content-Language"] = header_text(draft.language) or "en"
    msg.set_content(body if body is not None else draft.body, charset="utf-8")
    return msg.as_bytes()


# Python before 3.11.10 (CVE-2024-6923) decodes an RFC 2047 word in a header value it is given
# and writes a CR LF from inside it out raw: a customer's Message-ID or (double-encoded) subject
# "=?utf-8?q?x=0D=0AReply-To:_evil@example?=" became a header of its own in our reply.
_MSG_ID = re.compile(r"[!-;=?-~]{1,250}")  # msg-id text (RFC 5322 3.6.4): printable ASCII, no <>


def header_text(value: str) -> str:
    """Customer-derived text as a literal one-line header value: every line break (CR, LF, NEL,
    U+2028...) becomes a space and "=?" is broken by a word joiner, so it is never decoded."""
    return " ".join(value.split()).replace("=?", "=\u2060?")


def header_ids(ids: Iterable[str]) -> list[str]:
    """The Message-IDs that are safe between angle brackets: printable ASCII, no "=?"; others
    are left out (a reply threads by the ids that remain)."""
    return [i for i in ids if _MSG_ID.fullmatch(i) and "=?" not in i]
