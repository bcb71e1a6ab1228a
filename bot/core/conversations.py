"""Which order a message belongs to, and why: pure, values in, a Match out.

Evidence, strongest first (the first step that decides wins; the reason says which):

1. thread: a Message-ID in In-Reply-To or References (most recent first) that is already stored
   with an order (`thread_orders`, which the caller looked up with `referenced_ids`). In-Reply-To
   is tried first, so clients that truncate or drop References still thread. When the message
   also names a different order number, the thread wins and the reason says so: a reply keeps its
   conversation, and the salesperson sees the conflict in the log.
   A subject alone ("Re: payment") is never a thread key; only the same stripped subject with the
   same counterpart address is (`thread_key`, looked up by the caller in `subject_orders`), and it
   ranks after a stated order number.
2. order_number: numbers stated in the subject, else in `search_text` (the reply without its
   quote; default the whole text), or an order id written verbatim, that match exactly one order.
   Every order passed in is a candidate (a customer writing about a paid order is still about it);
   when a number fits several, the active ones (open, paused, claimed paid) are preferred.
3. sender: the counterpart's address (the sender of an incoming message, the recipients of one we
   sent) is the customer or a contact of exactly one active order.
4. domain: the counterpart's domain is that of exactly one active order (a colleague at the
   customer's company writing or forwarding); never for free-mail domains or our own domain.

Several candidates and no other clue leave the message unmatched, with a reason naming them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.core.model import Order, OrderStatus, ParsedMessage
from bot.core.ordernumbers import OrderIdIndex, OrderPatterns, find_order_numbers

Via = Literal["thread", "order_number", "sender", "domain", "none"]
ACTIVE = frozenset({OrderStatus.OPEN, OrderStatus.PAUSED, OrderStatus.CLAIMED_PAID})
MAX_ID_LEN = 250  # RFC 5322 does not bound it; anything longer is junk, not an id
MSGID_OK_RE = re.compile(r"[^\s<>()\[\]\\,;\"]+@[^\s<>()\[\]\\,;\"@]+")
# Reply/forward prefixes of many clients and languages (RFC 5322 3.6.5 only names "Re: ").
SUBJECT_PREFIX_RE = re.compile(
    r"^\s*(?:(?:re|aw|sv|vs|wg|fw|fwd|tr|rv|res|antw|odp|ynt|ha|ref|答复|回复|回覆|转发|轉寄|轉發)"
    r"\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*|\[[^\]]{1,30}\]\s*)+",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Match:
    """The order a message belongs to (None: unmatched), why, and which evidence decided."""

    order_id: str | None
    reason: str
    via: Via


@dataclass(frozen=True, slots=True)
class OrderIndex:
    """The orders a message may belong to, indexed once per list (`OrderIndex.build`) so that
    matching costs what the message names, not what the list holds. Pass it to `match_order`
    as `open_orders` when many messages are matched against the same orders."""

    orders: tuple[Order, ...]
    ids: OrderIdIndex
    by_address: dict[str, tuple[int, ...]]  # active orders by customer/contact address
    by_domain: dict[str, tuple[int, ...]]  # active orders by the domains of those addresses

    @classmethod
    def build(cls, orders: Iterable[Order]) -> OrderIndex:
        all_orders = tuple(orders)
        by_address: dict[str, list[int]] = {}
        by_domain: dict[str, list[int]] = {}
        for pos, order in enumerate(all_orders):
            if order.status not in ACTIVE:
                continue
            for address in _order_addresses(order):
                by_address.setdefault(address, []).append(pos)
            for domain in _order_domains(order):
                by_domain.setdefault(domain, []).append(pos)
        return cls(
            orders=all_orders,
            ids=OrderIdIndex.build(o.order_id for o in all_orders),
            by_address={k: tuple(v) for k, v in by_address.items()},
            by_domain={k: tuple(v) for k, v in by_domain.items()},
        )

    def at(self, positions: Iterable[int]) -> list[Order]:
        """The orders at these positions, once each, in list order."""
        return [self.orders[p] for p in sorted(set(positions))]


def referenced_ids(msg: ParsedMessage) -> tuple[str, ...]:
    """Message-IDs this message refers to: In-Reply-To, then References newest first, then
    those of attached or returned messages (a bounce carries our original).

    De-duplicated; ids without '@', with spaces or absurdly long, and the message's own id,
    are dropped (broken clients put all of these there).
    """
    replied = [msg.in_reply_to] if msg.in_reply_to else []
    candidates = [*replied, *reversed(msg.references), *msg.attached_ids]
    seen: dict[str, None] = {}
    for raw in candidates:
        msgid = raw.strip().strip("<>")
        if _plausible_id(msgid) and msgid != msg.message_id:
            seen.setdefault(msgid, None)
    return tuple(seen)


def _plausible_id(msgid: str) -> bool:
    return 0 < len(msgid) <= MAX_ID_LEN and MSGID_OK_RE.fullmatch(msgid) is not None


def counterparts(msg: ParsedMessage, own_addresses: frozenset[str]) -> tuple[str, ...]:
    """The other side's addresses: the sender (and Reply-To) of an incoming message,
    the To and Cc of one sent from an own address."""
    own = {a.lower() for a in own_addresses}
    if msg.sender.email in own:
        pool = msg.to + msg.cc
    else:
        pool = (msg.sender,) + msg.reply_to
    return tuple(dict.fromkeys(a.email for a in pool if a.email and a.email not in own))


def strip_subject(subject: str) -> str:
    """The subject without Re:/AW:/回复:/Fwd:/[tags], lower-cased, spaces collapsed."""
    return " ".join(SUBJECT_PREFIX_RE.sub("", subject).split()).lower()


def thread_key(msg: ParsedMessage, own_addresses: frozenset[str]) -> str | None:
    """Stripped subject + the first counterpart address; None without either.

    Store it with each message; a later message with the same key is the same conversation.
    """
    subject, who = strip_subject(msg.subject), counterparts(msg, own_addresses)
    return f"{who[0]}\n{subject}" if subject and who else None


def match_order(
    msg: ParsedMessage,
    *,
    thread_orders: Mapping[str, str],
    open_orders: Sequence[Order] | OrderIndex,
    patterns: OrderPatterns,
    own_addresses: frozenset[str],
    search_text: str | None = None,
    subject_orders: Mapping[str, str] | None = None,
) -> Match:
    """The order this message belongs to, by the evidence listed in the module docstring.

    `open_orders` may hold closed orders too: numbers match any of them, sender and domain only
    the active ones. `subject_orders` maps `thread_key`s of stored messages to their order.
    Matching many messages against the same orders: pass an `OrderIndex` built once.
    """
    index = open_orders if isinstance(open_orders, OrderIndex) else OrderIndex.build(open_orders)
    text = msg.text if search_text is None else search_text
    who = counterparts(msg, own_addresses)
    by_number = _by_number(msg.subject, text, index, patterns, who)
    threaded = _by_thread(msg, thread_orders)
    if threaded is not None:
        return _with_conflict(threaded, by_number)
    if by_number.via == "order_number":
        return by_number
    by_subject = _by_subject(msg, own_addresses, subject_orders or {})
    if by_subject is not None:
        return by_subject
    return _by_party(who, index, patterns, own_addresses, clue=by_number.reason)


def _by_thread(msg: ParsedMessage, thread_orders: Mapping[str, str]) -> Match | None:
    for msgid in referenced_ids(msg):
        order_id = thread_orders.get(msgid)
        if order_id:
            how = _how(msg, msgid)
            return Match(order_id, f"{how} <{msgid}>, which belongs to {order_id}", "thread")
    return None


def _how(msg: ParsedMessage, msgid: str) -> str:
    if msgid == msg.in_reply_to:
        return "reply to"
    return "references" if msgid in msg.references else "carries the message"


def _with_conflict(threaded: Match, by_number: Match) -> Match:
    other = by_number.order_id
    if other is None or threaded.order_id is None or other == threaded.order_id:
        return threaded
    return _note(threaded, f"it also names order {other}; the thread wins")


def _note(match: Match, note: str) -> Match:
    return Match(match.order_id, f"{match.reason}; {note}", match.via)


def _by_number(
    subject: str, text: str, orders: OrderIndex, patterns: OrderPatterns, who: Sequence[str]
) -> Match:
    """via 'order_number' when the numbers decide (one order, or an ambiguity to report);
    otherwise Match(None, clue, 'none'), the clue naming numbers that fit no order."""
    unknown: list[str] = []
    for where, source in (("subject", subject), ("text", text)):
        numbers = find_order_numbers(source, patterns)
        hits = _orders_for_numbers(numbers, source, orders)
        if len(hits) > 1:
            hits = [h for h in hits if _from_party(h[0], who, patterns)] or hits
        if len(hits) == 1:
            return _number_match(hits[0], where, who, patterns)
        if len(hits) > 1:
            ids = _list(order.order_id for order, _ in hits)
            return Match(None, f"the {where} names several orders: {ids}", "order_number")
        unknown += [n for n in numbers if n not in unknown]
    clue = f"it names unknown order number {_list(unknown)}" if unknown else ""
    return Match(None, clue, "none")


def _number_match(
    hit: tuple[Order, str], where: str, who: Sequence[str], patterns: OrderPatterns
) -> Match:
    order, number = hit
    reason = f"the {where} names order {number}"
    if number != order.order_id:
        reason += f" ({order.order_id})"
    if who and not _from_party(order, who, patterns):
        reason += f"; note: {_list(who)} is not a contact of this order"
    return Match(order.order_id, reason, "order_number")


def _orders_for_numbers(
    numbers: Sequence[str], source: str, orders: OrderIndex
) -> list[tuple[Order, str]]:
    """(order, number as stated) for stated numbers and verbatim ids; active ones preferred."""
    hits: dict[str, tuple[Order, str]] = {}
    for number in numbers:
        fitting = _prefer_active(orders.at(orders.ids.same_number(number)))
        for order in fitting:
            hits.setdefault(order.order_id, (order, number))
    verbatim = [o for o in orders.at(orders.ids.mentioned_in(source)) if o.order_id not in hits]
    for order in verbatim:
        hits[order.order_id] = (order, order.order_id)
    return list(hits.values())


def _prefer_active(orders: list[Order]) -> list[Order]:
    active = [o for o in orders if o.status in ACTIVE]
    return active or orders


def _from_party(order: Order, who: Sequence[str], patterns: OrderPatterns) -> bool:
    """True if one of `who` is the order's customer or contact, or at its (non-free-mail) domain."""
    addresses = _order_addresses(order)
    domains = _order_domains(order) - patterns.free_mail_domains
    return any(a in addresses or a.rpartition("@")[2] in domains for a in who)


def _by_party(
    who: Sequence[str],
    orders: OrderIndex,
    patterns: OrderPatterns,
    own: frozenset[str],
    *,
    clue: str,
) -> Match:
    found = _by_address(who, orders) or _by_domain(who, orders, patterns, own)
    if found is None:
        sender = _list(who) or "no sender"
        found = Match(None, f"no thread, order number or known sender ({sender})", "none")
    return _note(found, clue) if clue else found


def _by_subject(
    msg: ParsedMessage, own: frozenset[str], subject_orders: Mapping[str, str]
) -> Match | None:
    key = thread_key(msg, own)
    order_id = subject_orders.get(key) if key else None
    if key is None or not order_id:
        return None
    who, subject = key.split("\n", 1)
    return Match(
        order_id, f"same subject {subject!r} with {who} as a message of {order_id}", "thread"
    )


def _by_address(who: Sequence[str], orders: OrderIndex) -> Match | None:
    if not who:
        return None
    found = orders.at(p for a in set(who) for p in orders.by_address.get(a, ()))
    label = _list(who)
    if len(found) == 1:
        return Match(found[0].order_id, f"{label} has exactly one open order", "sender")
    if len(found) > 1:
        ids = _list(o.order_id for o in found)
        return Match(
            None, f"{len(found)} open orders for {label}: {ids}; no order number or thread", "none"
        )
    return None


def _by_domain(
    who: Sequence[str], orders: OrderIndex, patterns: OrderPatterns, own: frozenset[str]
) -> Match | None:
    own_domains = {a.rpartition("@")[2].lower() for a in own}
    domains = {a.rpartition("@")[2] for a in who} - patterns.free_mail_domains - own_domains - {""}
    if not domains:
        return None
    found = orders.at(p for d in domains for p in orders.by_domain.get(d, ()))
    label = _list(sorted(domains))
    if len(found) == 1:
        return Match(
            found[0].order_id, f"{label} has exactly one open order (same company)", "domain"
        )
    if len(found) > 1:
        ids = _list(o.order_id for o in found)
        return Match(
            None, f"{len(found)} open orders at {label}: {ids}; no order number or thread", "none"
        )
    return None


def _order_addresses(order: Order) -> set[str]:
    return {order.customer_email.lower()} | {c.email.lower() for c in order.contacts}


def _order_domains(order: Order) -> set[str]:
    return {a.rpartition("@")[2] for a in _order_addresses(order)}


def _list(items: Iterable[str]) -> str:
    return ", ".join(items)
