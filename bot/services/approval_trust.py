"""Whether an approval reply may be believed: who it is from, and what vouches for that.

A reply approves only when its sender is beyond doubt. Three doubts are checked here; each
returns the reason in words (None: no doubt), and the caller refuses the reply:

- the From field is ambiguous: several From fields, several addresses, or a display name that
  is itself another address (`alice@supplier.test <mallory@evil.test>`, which Python's parser
  reads as alice while mail clients and DMARC read mallory);
- the reply carries two different approval tokens (an answer must name one draft);
- with a trusted authserv-id: the topmost Authentication-Results field from that server
  (RFC 8601 5: the receiving server adds its own on top; fields below may be the sender's
  forgeries) does not say dmarc=pass (for the From domain, when it names one: header.from), or
  dkim=pass for a signing domain aligned with it (RFC 7489 3.1.1: a signature by evil.test
  vouches for nothing at supplier.test).
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterator

from bot.core.approval import TOKEN_IN_TEXT
from bot.core.model import ParsedMessage

_ADDRESS = re.compile(r"[^\s<>\"'(),;:\[\]]+@[^\s<>\"'(),;:\[\]]+")
_COMMENT = re.compile(r"\([^()]*\)")
_RESULT = re.compile(r"^\s*(dmarc|dkim)\s*=\s*([a-z]+)", re.IGNORECASE)
_PROPERTY = re.compile(r"\b(header\.from|header\.d|header\.i)\s*=\s*\"?([^\s;\"]+)", re.IGNORECASE)


def sender_doubt(message: ParsedMessage) -> str | None:
    """Why the From field does not name exactly one sender (None: it does)."""
    fields = [value for name, value in message.headers if name.strip().lower() == "from"]
    if len(fields) != 1:
        return f"the reply has {len(fields)} From fields; an approval needs exactly one"
    pairs = [p for p in email.utils.getaddresses([fields[0]]) if any(p)]
    sender = message.sender.email.lower()
    if len(pairs) != 1:
        return f"the From field {fields[0][:120]!r} names more than one address"
    others = {a.lower().strip(".") for a in _ADDRESS.findall(fields[0])} - {sender}
    if others:
        return f"the From field {fields[0][:120]!r} shows another address than {sender}"
    return None


def token_doubt(message: ParsedMessage) -> str | None:
    """Why the reply's tokens do not name one draft (None: at most one token in it)."""
    texts = [a.email for a in (*message.to, *message.cc)] + [message.subject]
    tokens = {t.lower() for text in texts for t in TOKEN_IN_TEXT.findall(text or "")}
    if len(tokens) > 1:
        return f"the reply carries {len(tokens)} different approval tokens; answer one request"
    return None


def authenticated(message: ParsedMessage, authserv_id: str | None) -> bool:
    """With a trusted authserv-id: its topmost Authentication-Results field says dmarc=pass
    for the From domain, or dkim=pass by an aligned domain. Without one: True."""
    if not authserv_id:
        return True
    domain = message.sender.email.rpartition("@")[2].lower()
    ours = next(_results_of(message, authserv_id.lower()), None)
    if ours is None or not domain:
        return False
    return any(_passes(item, domain) for item in _COMMENT.sub(" ", ours).split(";"))


def _results_of(message: ParsedMessage, authserv_id: str) -> Iterator[str]:
    """The result part of each Authentication-Results field by that server, topmost first."""
    for name, value in message.headers:
        if name.strip().lower() != "authentication-results":
            continue
        server, _, results = value.partition(";")
        if server.strip().lower().split()[0:1] == [authserv_id]:
            yield results


def _passes(item: str, domain: str) -> bool:
    found = _RESULT.match(item)
    if found is None or found.group(2).lower() != "pass":
        return False
    props: dict[str, str] = {
        k.lower(): v.lower().rpartition("@")[2] for k, v in _PROPERTY.findall(item)
    }
    if found.group(1).lower() == "dmarc":  # judged on the one From domain; if named, must be it
        return props.get("header.from", domain) == domain
    signer = props.get("header.d") or props.get("header.i") or ""
    return bool(signer) and (domain == signer or domain.endswith("." + signer))


__all__ = ["authenticated", "sender_doubt", "token_doubt"]
