"""Domain values <-> table rows for SqlStore: plain functions, no connection in sight."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, String

from bot.adapters.store.tables import messages
from bot.core.model import (
    Contact,
    Direction,
    Draft,
    DraftStatus,
    Intent,
    Kind,
    Order,
    OrderStatus,
    Understanding,
)
from bot.ports import MessageRecord, Quarantined

_SEP = "\n"  # addresses and Message-IDs never contain a line break
_CHUNK = 500  # bound parameters per IN (...) query
_LIMITS = {
    column.name: column.type.length
    for column in messages.c
    if isinstance(column.type, String) and column.type.length
}


def clean(value: str) -> str:
    """Text both databases accept: no NUL (PostgreSQL refuses it), no lone surrogates."""
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def join_lines(values: Sequence[str]) -> str:
    """Several addresses, Message-IDs or order ids as one column value, one per line."""
    return _SEP.join(values)


def split_lines(value: str | None) -> tuple[str, ...]:
    """The values `join_lines` stored (none for "" or NULL)."""
    return tuple(value.split(_SEP)) if value else ()


def chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    """`items` in slices small enough for one IN (...) query."""
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _fit(row: dict[str, Any]) -> dict[str, Any]:
    for key, value in row.items():
        if isinstance(value, str):
            value = clean(value)
            limit = _LIMITS.get(key)
            row[key] = value[:limit] if limit else value
    return row


def message_row(record: MessageRecord, stored_at: datetime) -> dict[str, Any]:
    u = record.understanding
    return _fit(
        {
            "mailbox": record.mailbox,
            "folder": record.folder,
            "uid": record.uid,
            "message_id": record.message_id,
            "direction": record.direction.value,
            "subject": record.subject,
            "sender": record.sender,
            "recipients": join_lines(record.recipients),
            "date": record.date,
            "in_reply_to": record.in_reply_to,
            "references": join_lines(record.references),
            "text": record.text,
            "order_id": record.order_id,
            "match_reason": record.match_reason,
            "kind": u.kind.value if u else None,
            "intent": u.intent.value if u else None,
            "language": u.language if u else None,
            "promised_date": u.date if u else None,
            "stated_order": u.order if u else None,
            "reply_text": u.reply_text if u else None,
            "bounce_recipient": u.bounce_recipient if u else None,
            "bounce_status": u.bounce_status if u else None,
            "stored_at": stored_at,
        }
    )


def message_record(row: Row[Any]) -> MessageRecord:
    return MessageRecord(
        mailbox=row.mailbox,
        folder=row.folder,
        uid=row.uid,
        message_id=row.message_id,
        direction=Direction(row.direction),
        subject=row.subject,
        sender=row.sender,
        recipients=split_lines(row.recipients),
        date=row.date,
        in_reply_to=row.in_reply_to,
        references=split_lines(row.references),
        text=row.text,
        order_id=row.order_id,
        match_reason=row.match_reason,
        understanding=_understanding(row),
    )


def _understanding(row: Row[Any]) -> Understanding | None:
    if row.kind is None:
        return None
    return Understanding(
        kind=Kind(row.kind),
        intent=Intent(row.intent),
        language=row.language or "",
        date=row.promised_date,
        order=row.stated_order,
        reply_text=row.reply_text or "",
        bounce_recipient=row.bounce_recipient,
        bounce_status=row.bounce_status,
    )


def quarantine_row(item: Quarantined, at: datetime) -> dict[str, Any]:
    return {
        "mailbox": item.mailbox,
        "folder": item.folder,
        "uid": item.uid,
        "reason": clean(item.reason),
        "raw": item.raw,
        "at": at,
    }


def order_values(order: Order, customer_id: int, now: datetime) -> dict[str, Any]:
    """Columns an import sets on a new or existing order (never status or created_at)."""
    return {
        "customer_id": customer_id,
        "amount": order.amount,
        "currency": order.currency,
        "due_date": order.due_date,
        "language": order.language,
        "country": order.country,
        "timezone": order.timezone,
        "mailbox": order.mailbox,
        "updated_at": now,
        "next_due_at": None,  # the planning tick looks at it again (drafts.py)
    }


def order_from_row(row: Row[Any], people: tuple[Contact, ...]) -> Order:
    return Order(
        order_id=row.order_id,
        customer_email=row.email,
        customer_name=row.name,
        amount=row.amount,
        currency=row.currency,
        due_date=row.due_date,
        status=OrderStatus(row.status),
        language=row.language,
        country=row.country,
        timezone=row.timezone,
        mailbox=row.mailbox,
        contacts=people,
    )


def draft_row(d: Draft) -> dict[str, Any]:
    return {
        "draft_id": d.draft_id,
        "mailbox": d.mailbox,
        "order_ids": join_lines(d.order_ids),
        "customer_email": d.customer_email.lower(),
        "to": join_lines(d.to),
        "cc": join_lines(d.cc),
        "subject": clean(d.subject),
        "body": clean(d.body),
        "message_id": d.message_id,
        "in_reply_to": d.in_reply_to,
        "references": join_lines(d.references),
        "rule_id": d.rule_id,
        "template": d.template,
        "language": d.language,
        "mode": d.mode,
        "reason": clean(d.reason),
        "created_at": d.created_at,
        "due_at": d.due_at,
        "status": d.status.value,
        "status_reason": "",
        "updated_at": d.created_at,
    }


def draft_from_row(row: Row[Any]) -> Draft:
    return Draft(
        draft_id=row.draft_id,
        mailbox=row.mailbox,
        order_ids=split_lines(row.order_ids),
        customer_email=row.customer_email,
        to=split_lines(row.to),
        cc=split_lines(row.cc),
        subject=row.subject,
        body=row.body,
        message_id=row.message_id,
        in_reply_to=row.in_reply_to,
        references=split_lines(row.references),
        rule_id=row.rule_id,
        template=row.template,
        language=row.language,
        mode=row.mode,
        reason=row.reason,
        created_at=row.created_at,
        due_at=row.due_at,
        status=DraftStatus(row.status),
    )
