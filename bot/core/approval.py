"""Approval tokens and approver commands: pure, the key, the clock and the approver come in.

A token is `<expiry>-<mac>`: the expiry as Unix seconds in base 36, and the first 128 bits of
HMAC-SHA256(key, draft_id, content digest, approver, expiry) in lower-case base 32. Lower case
and digits only, so it survives a plus-address (`sales+a-<token>@example.com`, whose local part
some servers fold to lower case, RFC 5321 2.4) and a subject tag (`[dunbot:<token>]`); 34
characters at most. The token names no draft: the caller tries it against the mailbox's waiting
drafts (one HMAC each), so nothing about the draft leaks into an address.

`verify` never raises for hostile input: anything short of a valid, unused, unexpired token,
minted for this draft's exact content and this approver, is a Verdict that says why, and the
caller's safe action is to hold (STYLE.md rule 6).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from bot.core.model import Draft, Order
from bot.core.ordernumbers import order_ids_in

MAC_BYTES = 16  # 128 bits: forging needs 2**128 tries; 26 base-32 characters
MAX_TOKEN_CHARS = 64  # anything longer is not ours; checked before any work
_TOKEN = re.compile(r"^([0-9a-z]{1,10})-([a-z2-7]{26})$")
TOKEN_IN_TEXT = re.compile(r"(?:\+a-|\[dunbot:)([0-9a-z]{1,10}-[a-z2-7]{26})", re.IGNORECASE)


class VerdictReason(StrEnum):
    VALID = "valid"
    MALFORMED = "malformed"  # not a token at all
    NOT_APPROVER = "not_approver"  # the sender is not a configured approver
    BAD_TOKEN = "bad_token"  # wrong key, other draft, changed content or minted for someone else
    EXPIRED = "expired"
    USED = "used"  # already consumed once


@dataclass(frozen=True, slots=True)
class Verdict:
    reason: VerdictReason
    detail: str

    @property
    def ok(self) -> bool:
        return self.reason is VerdictReason.VALID


def content_digest(draft: Draft) -> str:
    """SHA-256 (hex) of everything the customer would receive: an edit or a re-plan changes it."""
    parts = (
        draft.draft_id,
        draft.message_id,
        "\n".join(draft.to),
        "\n".join(draft.cc),
        draft.subject,
        draft.body,
        draft.in_reply_to or "",
    )
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()


def mint_token(
    key: bytes, *, draft_id: str, content_digest: str, approver: str, expires_at: datetime
) -> str:
    """A token only `approver` can use to approve this draft's exact content until `expires_at`."""
    if not key:
        raise ValueError("the approval key is empty; set it in the environment")
    expiry = _b36(int(expires_at.timestamp()))
    return f"{expiry}-{_mac(key, draft_id, content_digest, _norm(approver), expiry)}"


def verify(
    token: str,
    key: bytes,
    *,
    draft_id: str,
    content_digest: str,
    sender: str,
    approvers: Iterable[str],
    now: datetime,
    used: Collection[str] = (),
) -> Verdict:
    """Whether `token`, arriving from `sender` at `now`, approves this draft; never raises."""
    token = (token or "").strip().lower()
    found = _TOKEN.match(token) if len(token) <= MAX_TOKEN_CHARS else None
    if found is None or not key:
        return Verdict(VerdictReason.MALFORMED, "no dunbot approval token in the reply")
    who = _norm(sender)
    if who not in {_norm(a) for a in approvers}:
        return Verdict(VerdictReason.NOT_APPROVER, f"{who or 'an empty sender'} is not an approver")
    expiry, mac = found.groups()
    wanted = _mac(key, draft_id, content_digest, who, expiry)
    if not hmac.compare_digest(wanted.encode("ascii"), mac.encode("ascii")):
        return Verdict(VerdictReason.BAD_TOKEN, "the token does not match this draft and approver")
    expires = datetime.fromtimestamp(int(expiry, 36), UTC)
    if now >= expires:
        return Verdict(VerdictReason.EXPIRED, f"the token expired at {expires.isoformat()}")
    if token in used:
        return Verdict(VerdictReason.USED, "this approval was already used")
    return Verdict(VerdictReason.VALID, f"approved by {who}")


def find_token(*texts: str) -> str | None:
    """The first token in a plus-address or a `[dunbot:...]` subject tag among these texts."""
    for text in texts:
        found = TOKEN_IN_TEXT.search(text or "")
        if found:
            return found.group(1).lower()
    return None


def reply_address(address: str, token: str) -> str:
    """`sales@example.com` + token -> `sales+a-<token>@example.com` (the approval's Reply-To)."""
    local, _, domain = address.partition("@")
    return f"{local}+a-{token}@{domain}"


def subject_tag(token: str) -> str:
    return f"[dunbot:{token}]"


def _mac(key: bytes, draft_id: str, digest: str, approver: str, expiry: str) -> str:
    message = f"dunbot-approval-v1\x00{draft_id}\x00{digest}\x00{approver}\x00{expiry}"
    raw = hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()[:MAC_BYTES]
    return base64.b32encode(raw).decode("ascii").rstrip("=").lower()


def _norm(address: str) -> str:
    return (address or "").strip().strip("<>").lower()


def _b36(value: int) -> str:
    if value <= 0:
        return "0"
    digits = ""
    while value:
        value, rest = divmod(value, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[rest] + digits
    return digits


# ---- approver commands ------------------------------------------------------------------------


class CommandKind(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    SNOOZE = "snooze"
    PAID = "paid"
    STOP = "stop"
    EDIT = "edit"  # approve with this text as the body instead of the draft's
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Command:
    kind: CommandKind
    snooze: timedelta | None = None
    body: str | None = None  # the edited text, for EDIT
    detail: str = ""  # for UNKNOWN: why, in words the approver can act on


APPROVE_WORDS = frozenset(
    [
        "approve",
        "approved",
        "ok",
        "okay",
        "send",
        "yes",
        "好",
        "好的",
        "同意",
        "发送",
        "可以",
        "行",
        "ja",
        "senden",
        "oui",
        "sí",
        "si",
    ]
)
REJECT_WORDS = frozenset(["skip", "reject", "no", "don't", "跳过", "不发", "不要", "nein", "non"])
PAID_WORDS = frozenset(["paid", "已付", "已付款", "bezahlt", "payé", "pagado"])
STOP_WORDS = frozenset(["stop", "停止", "停"])
# Edited text goes between two marker lines, each alone on its line. Both are required: without
# the end marker the reply's quoted history could become part of the customer's mail.
EDIT_BEGIN = re.compile(r"^-{2,}\s*edit\s+below\s*-{2,}$", re.IGNORECASE)
EDIT_END = re.compile(r"^-{2,}\s*end\s*-{2,}$", re.IGNORECASE)
_SNOOZE = re.compile(
    r"^(?:snooze|推迟|later)\s*(\d{1,3})\s*(h|hours?|d|days?|w|weeks?|小时|天|周)$", re.IGNORECASE
)
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
_UNIT_ALIASES = {"小时": "h", "天": "d", "周": "w"}
_WORDS = re.compile(r"[^\w]+")
_TRAILING = "!！.。,，~ "
MAX_SNOOZE = timedelta(days=180)
HELP = "answer with one word: approve, skip, snooze 3d, paid or stop; or an edit between markers"


def parse_command(reply_text: str) -> Command:
    """The approver's command in their reply (quoted history already removed, or `>` lines)."""
    lines = [line.rstrip() for line in (reply_text or "").splitlines()]
    lines = [line for line in lines if not line.lstrip().startswith(">")]
    if any(EDIT_BEGIN.match(line.strip()) for line in lines):
        return _edit(lines)
    words = [line.strip() for line in lines if line.strip()]
    if not words:
        return Command(CommandKind.UNKNOWN, detail=f"the reply is empty; {HELP}")
    if len(words) > 1:
        return Command(CommandKind.UNKNOWN, detail=f"the reply holds more than a command; {HELP}")
    return _word(words[0])


def _word(line: str) -> Command:
    word = line.strip(_TRAILING).lower()
    for kind, vocabulary in (
        (CommandKind.APPROVE, APPROVE_WORDS),
        (CommandKind.REJECT, REJECT_WORDS),
        (CommandKind.PAID, PAID_WORDS),
        (CommandKind.STOP, STOP_WORDS),
    ):
        if word in vocabulary:
            return Command(kind)
    found = _SNOOZE.match(word)
    if found:
        return _snooze(int(found.group(1)), found.group(2))
    return Command(CommandKind.UNKNOWN, detail=f"{line[:40]!r} is not a command; {HELP}")


def _snooze(count: int, unit: str) -> Command:
    unit = _UNIT_ALIASES.get(unit, unit[0].lower())
    span = count * _UNITS[unit]
    if not timedelta(0) < span <= MAX_SNOOZE:
        return Command(CommandKind.UNKNOWN, detail=f"snooze between 1h and {MAX_SNOOZE.days}d")
    return Command(CommandKind.SNOOZE, snooze=span)


def _edit(lines: list[str]) -> Command:
    start = next(i for i, line in enumerate(lines) if EDIT_BEGIN.match(line.strip()))
    end = next((i for i in range(start + 1, len(lines)) if EDIT_END.match(lines[i].strip())), None)
    if end is None:
        return Command(CommandKind.UNKNOWN, detail="the edit has no '--- end ---' line after it")
    body = "\n".join(lines[start + 1 : end]).strip("\n")
    if not body.strip():
        return Command(CommandKind.UNKNOWN, detail="the text between the edit markers is empty")
    return Command(CommandKind.EDIT, body=body + "\n")


def parse_duration(text: str) -> timedelta | None:
    """'3d', '2w', '5h' (also '3 days') -> timedelta, for `queue snooze ID DURATION`."""
    command = _word(f"snooze {text.strip()}")
    return command.snooze if command.kind is CommandKind.SNOOZE else None


def foreign_mentions(text: str, own: Sequence[Order], others: Iterable[Order]) -> list[str]:
    """Other orders' ids and other customers' names that an edited text mentions: a sign it was
    pasted from another customer's mail, so it is held back and the approver asked again."""
    own_ids = {o.order_id for o in own}
    own_names = {o.customer_name.strip().lower() for o in own}
    strangers = [o for o in others if o.order_id not in own_ids]
    found = order_ids_in(text, [o.order_id for o in strangers])
    lowered = f" {_WORDS.sub(' ', text.lower())} "
    for order in strangers:
        name = order.customer_name.strip().lower()
        if len(name) >= 4 and name not in own_names and f" {_WORDS.sub(' ', name)} " in lowered:
            found.append(order.customer_name)
    return list(dict.fromkeys(found))
