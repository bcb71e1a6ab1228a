"""Pure helpers for building a reply in the order's thread (RFC 5322 section 3.6.4)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.decision import Event

# Reply prefixes mail clients add, in the languages dunbot meets (Re, AW, SV, RV, Ré, 回复, 答复…).
_PREFIX = re.compile(
    r"^\s*((re|aw|sv|vs|rv|r|ré|réf|antw|odp|ynt|回复|回覆|答复|fw|fwd|wg|tr|rif)\s*(\[\d+\])?\s*[:：]\s*)+",
    re.IGNORECASE,
)
_MAX_REFERENCES = 20  # keep the header short; the first and the latest ids matter most


@dataclass(frozen=True, slots=True)
class Threading:
    """The headers that put a reply in the same conversation."""

    subject: str
    in_reply_to: str | None  # without angle brackets
    references: tuple[str, ...]  # oldest first, without angle brackets

    def headers(self) -> dict[str, str]:
        out = {"Subject": self.subject}
        if self.in_reply_to:
            out["In-Reply-To"] = f"<{self.in_reply_to}>"
        if self.references:
            out["References"] = " ".join(f"<{r}>" for r in self.references)
        return out


def reply_subject(subject: str) -> str:
    """'Re: ' + the subject without any stack of reply/forward prefixes ('AW: Re: x' -> 'Re: x')."""
    base = _PREFIX.sub("", subject or "").strip()
    return f"Re: {base}" if base else "Re:"


def reply_threading(
    subject: str, message_id: str | None, references: Sequence[str] = ()
) -> Threading:
    """Subject, In-Reply-To and References for a reply to the message with these headers.

    References = the parent's References + the parent's Message-ID (RFC 5322 3.6.4), trimmed to
    the first id and the latest ones when long.
    """
    refs = [r.strip("<> ") for r in references if r.strip("<> ")]
    parent = (message_id or "").strip("<> ") or None
    if parent and parent not in refs:
        refs.append(parent)
    if len(refs) > _MAX_REFERENCES:
        refs = [refs[0], *refs[-(_MAX_REFERENCES - 1) :]]
    return Threading(reply_subject(subject), parent, tuple(refs))


def thread_reply(history: Sequence[Event]) -> Threading | None:
    """Threading for a reply to the conversation's latest message that has a Message-ID."""
    for event in reversed(history):
        if event.message_id:
            return reply_threading(event.subject, event.message_id, event.references)
    return None
