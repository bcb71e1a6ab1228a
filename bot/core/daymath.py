"""Calendar arithmetic for date phrases: month steps, anchors ("end of the month"), and a
day and month without a year. Pure; dates.py finds the phrases.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta


def full_year(text: str | None) -> int | None:
    """A written year; two digits are this century's ("25" -> 2025)."""
    if not text:
        return None
    value = int(text)
    return value + 2000 if value < 100 else value


def build_date(year: int | None, month: int, day: int, base: date) -> date | None:
    """The date; without a year, this year's unless that lies over a month back (then next)."""
    if not 1 <= month <= 12:
        return None
    chosen = year if year is not None else base.year
    value = safe_date(chosen, month, day)
    if value is not None and year is None and value < base - timedelta(days=31):
        value = safe_date(chosen + 1, month, day)
    return value


def safe_date(year: int, month: int, day: int) -> date | None:
    """The date, or None when it does not exist (30 February)."""
    try:
        return date(year, month, day)
    except ValueError:
        return None


def day_of_month(day: int, base: date) -> date | None:
    """The next such day from `base` on: this month's, else next month's."""
    if not 1 <= day <= 31:
        return None
    if day >= base.day:
        same = safe_date(base.year, base.month, day)
        if same is not None:
            return same
    nxt = add_months(base.replace(day=1), 1)
    return safe_date(nxt.year, nxt.month, day)


def add_months(value: date, months: int) -> date:
    """`months` later (earlier if negative), at the month's last day when the day is missing."""
    total = value.year * 12 + value.month - 1 + months
    year, month = divmod(total, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(value.day, last))


def anchored(value: date, anchor: str | None) -> date:
    """The week's Friday, the month's first, 15th or last day, or the year's end (None: as is)."""
    if anchor == "week_end":  # the working week ends on Friday
        return value - timedelta(days=value.weekday()) + timedelta(days=4)
    if anchor == "month_start":
        return value.replace(day=1)
    if anchor == "month_mid":
        return value.replace(day=15)
    if anchor == "month_end":
        return value.replace(day=calendar.monthrange(value.year, value.month)[1])
    if anchor == "year_end":
        return date(value.year, 12, 31)
    return value
