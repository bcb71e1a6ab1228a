"""Orders CSV text -> validated Orders (pure: the caller reads the file).

Columns (DESIGN.md): order_id, customer_email, customer_name, amount, currency, due_date,
language, country, timezone, mailbox; the last five may be missing or empty. The header row
names the columns, in any order. Every error names the file, the row (the header is row 1,
as a spreadsheet shows it), the column and what to write instead.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.model import Order
from bot.errors import InputError

REQUIRED = ("order_id", "customer_email", "customer_name", "amount", "currency")
OPTIONAL = ("due_date", "language", "country", "timezone", "mailbox")
COLUMNS = REQUIRED + OPTIONAL
T = TypeVar("T")
# "=?" is refused too: the mail library would decode it as an RFC 2047 word in the To header.
_EMAIL = re.compile(r"^(?!.*=\?)[^@\s<>,;]+@[^@\s<>,;]+\.[A-Za-z0-9-]{2,}$")


class _CellError(ValueError):
    """A bad cell; the message says what to write instead."""


def parse_orders_csv(text: str, source: str) -> list[Order]:
    """Every data row as an Order; InputError naming source, row and column on the first bad one."""
    text = text.removeprefix("\ufeff")  # Excel writes a byte-order mark
    reader = csv.DictReader(io.StringIO(text), dialect=_dialect(text))
    _check_header(reader.fieldnames, source)
    found: dict[str, int] = {}
    result: list[Order] = []
    for number, row in enumerate(reader, start=2):
        if not any((value or "").strip() for value in row.values()):
            continue
        order = _order(row, source, number)
        if order.order_id in found:
            raise InputError(
                f"{source}: row {number}, column 'order_id': {order.order_id!r} is already on "
                f"row {found[order.order_id]}; each order once per file"
            )
        found[order.order_id] = number
        result.append(order)
    return result


def _dialect(text: str) -> type[csv.Dialect]:
    header = text.split("\n", 1)[0]
    return _Semicolon if header.count(";") > header.count(",") else csv.excel


class _Semicolon(csv.excel):
    delimiter = ";"


def _check_header(fieldnames: object, source: str) -> None:
    names = [str(n).strip() for n in fieldnames] if isinstance(fieldnames, list) else []
    if not names:
        raise InputError(
            f"{source}: row 1: the file is empty; "
            f"the first row must name the columns: {', '.join(COLUMNS)}"
        )
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise InputError(
            f"{source}: row 1: unknown column {unknown[0]!r}; the columns are: {', '.join(COLUMNS)}"
        )
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        raise InputError(
            f"{source}: row 1: column {missing[0]!r} is missing; required: {', '.join(REQUIRED)}"
        )


def _order(row: Mapping[str | None, str | list[str] | None], source: str, number: int) -> Order:
    if row.get(None):
        raise InputError(
            f"{source}: row {number}: more cells than columns; "
            "quote cells that contain the delimiter"
        )
    cells = {
        str(k).strip(): (v if isinstance(v, str) else "").strip()
        for k, v in row.items()
        if k is not None
    }
    cell = _Cells(cells, source, number)
    return Order(
        order_id=cell.need("order_id", _order_id),
        customer_email=cell.need("customer_email", _email),
        customer_name=cells.get("customer_name", ""),
        amount=cell.need("amount", _amount),
        currency=cell.need("currency", _currency),
        due_date=cell.get("due_date", _date),
        language=cell.get("language", _language),
        country=cell.get("country", _country),
        timezone=cell.get("timezone", _timezone),
        mailbox=cell.get("mailbox", str),
    )


class _Cells:
    """One row's cells, checked one column at a time into InputErrors that say where."""

    def __init__(self, cells: Mapping[str, str], source: str, number: int) -> None:
        self.cells, self.where = cells, f"{source}: row {number}"

    def get(self, column: str, check: Callable[[str], T]) -> T | None:
        value = self.cells.get(column, "")
        if not value:
            return None
        try:
            return check(value)
        except _CellError as exc:
            raise InputError(f"{self.where}, column {column!r}: {exc}") from None

    def need(self, column: str, check: Callable[[str], T]) -> T:
        value = self.get(column, check)
        if value is None:
            raise InputError(f"{self.where}, column {column!r}: empty; every order needs one")
        return value


def _order_id(value: str) -> str:
    if len(value) > 100 or any(c.isspace() for c in value):
        raise _CellError(
            f"{value!r} is not an order number; use letters, digits and - / . _ (no spaces)"
        )
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise _CellError(f"{value!r} is not an email address; write it like buyer@example.com")
    return value.lower()


def _amount(value: str) -> Decimal:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise _CellError(
            f"{value!r} is not an amount; write digits with a point, like 12500.00 "
            "(no thousands separators or currency signs)"
        ) from None
    if not amount.is_finite() or amount <= 0:
        raise _CellError(f"{value!r} must be a positive amount, like 12500.00")
    return amount


def _currency(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{3}", value):
        raise _CellError(f"{value!r} is not a currency code; write three letters like USD or EUR")
    return value.upper()


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _CellError(
            f"{value!r} is not a date; write it as YYYY-MM-DD, like 2025-03-31"
        ) from None


def _language(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{2}", value):
        raise _CellError(f"{value!r} is not a language code; write two letters like en, zh, de")
    return value.lower()


def _country(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{2}", value):
        raise _CellError(f"{value!r} is not a country code; write two letters like US, CN, DE")
    return value.upper()


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise _CellError(
            f"{value!r} is not a time zone; write a name like Europe/Berlin or America/New_York"
        ) from None
    return value
