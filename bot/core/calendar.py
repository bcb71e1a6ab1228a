"""When a follow-up may go out: the customer's zone, business days, send window and spacing.

Pure: every function takes the instant it reasons from; nothing reads the clock. Holidays come
from the `holidays` package for the customer's country (weekends and substituted working days
included, e.g. China's make-up Saturdays); an unknown country falls back to Saturday/Sunday.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from bot.errors import BotError

# The main time zone of the countries dunbot's users most often sell to; a country not listed
# falls back to the order's own zone or the config default.
COUNTRY_ZONES: dict[str, str] = {
    "AE": "Asia/Dubai",
    "AR": "America/Argentina/Buenos_Aires",
    "AT": "Europe/Vienna",
    "AU": "Australia/Sydney",
    "BD": "Asia/Dhaka",
    "BE": "Europe/Brussels",
    "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
    "CH": "Europe/Zurich",
    "CL": "America/Santiago",
    "CN": "Asia/Shanghai",
    "CO": "America/Bogota",
    "CZ": "Europe/Prague",
    "DE": "Europe/Berlin",
    "DK": "Europe/Copenhagen",
    "EG": "Africa/Cairo",
    "ES": "Europe/Madrid",
    "FI": "Europe/Helsinki",
    "FR": "Europe/Paris",
    "GB": "Europe/London",
    "GR": "Europe/Athens",
    "HK": "Asia/Hong_Kong",
    "ID": "Asia/Jakarta",
    "IE": "Europe/Dublin",
    "IL": "Asia/Jerusalem",
    "IN": "Asia/Kolkata",
    "IT": "Europe/Rome",
    "JP": "Asia/Tokyo",
    "KE": "Africa/Nairobi",
    "KR": "Asia/Seoul",
    "MA": "Africa/Casablanca",
    "MX": "America/Mexico_City",
    "MY": "Asia/Kuala_Lumpur",
    "NG": "Africa/Lagos",
    "NL": "Europe/Amsterdam",
    "NO": "Europe/Oslo",
    "NZ": "Pacific/Auckland",
    "PE": "America/Lima",
    "PH": "Asia/Manila",
    "PK": "Asia/Karachi",
    "PL": "Europe/Warsaw",
    "PT": "Europe/Lisbon",
    "RO": "Europe/Bucharest",
    "RU": "Europe/Moscow",
    "SA": "Asia/Riyadh",
    "SE": "Europe/Stockholm",
    "SG": "Asia/Singapore",
    "TH": "Asia/Bangkok",
    "TR": "Europe/Istanbul",
    "TW": "Asia/Taipei",
    "UA": "Europe/Kyiv",
    "US": "America/New_York",
    "VN": "Asia/Ho_Chi_Minh",
    "ZA": "Africa/Johannesburg",
}

_SEARCH_DAYS = 400  # a send time is always found well within a year; past that the rules are wrong


class CalendarError(BotError, ValueError):
    """No send time can satisfy the calendar rules (e.g. a window that never opens)."""


@dataclass(frozen=True, slots=True)
class SendWindow:
    """Local hours in which mail may go out, e.g. 10:00-17:00 (no early mornings)."""

    start: time = time(10, 0)
    end: time = time(17, 0)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True, slots=True)
class CalendarRules:
    """Spacing and the days to avoid; see rules/default.yaml `calendar:`."""

    min_gap: timedelta = timedelta(days=3)  # whole calendar days in the customer's zone
    weekly_cap: int = 2
    avoid_first_working_day_of_week: bool = True
    avoid_first_days_of_month: int = 2


def customer_zone(order_tz: str | None, country: str | None, default_tz: str) -> ZoneInfo:
    """The order's zone, else the country's main zone, else the config default."""
    for name in (order_tz, COUNTRY_ZONES.get((country or "").upper()), default_tz):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


@lru_cache(maxsize=256)
def _country_calendar(country: str, year: int) -> holidays.HolidayBase | None:
    try:
        return holidays.country_holidays(country, years=year)
    except NotImplementedError:
        return None


def is_business_day(day: date, country: str | None) -> bool:
    """A working day in that country: no weekend, no public holiday (make-up days count)."""
    cal = _country_calendar(country.upper(), day.year) if country else None
    if cal is None:
        return day.weekday() < 5
    return bool(cal.is_working_day(day))


def add_business_days(start: date, n: int, country: str | None) -> date:
    """The n-th business day after `start` (n=0: start itself if a business day, else the next)."""
    day = start
    if n == 0:
        while not is_business_day(day, country):
            day += timedelta(days=1)
        return day
    while n > 0:
        day += timedelta(days=1)
        if is_business_day(day, country):
            n -= 1
    return day


def previous_business_day(day: date, country: str | None) -> date:
    """`day` itself if a business day, else the latest business day before it."""
    while not is_business_day(day, country):
        day -= timedelta(days=1)
    return day


def first_working_day_of_week(day: date, country: str | None) -> date | None:
    """The first business day of `day`'s ISO week (Tuesday when Monday is a holiday)."""
    monday = day - timedelta(days=day.weekday())
    for offset in range(7):
        candidate = monday + timedelta(days=offset)
        if is_business_day(candidate, country):
            return candidate
    return None


def avoided_because(day: date, country: str | None, rules: CalendarRules) -> str | None:
    """Why a business day is avoided for follow-ups, or None when it is fine."""
    if day.day <= rules.avoid_first_days_of_month:
        return f"day {day.day} of the month"
    if rules.avoid_first_working_day_of_week and first_working_day_of_week(day, country) == day:
        return "first working day of the week"
    return None


def next_send_time(
    earliest: datetime,
    *,
    tz: ZoneInfo,
    country: str | None,
    window: SendWindow,
    rules: CalendarRules,
    sent: Sequence[datetime] = (),
    on_time_for: date | None = None,
    spacing: bool = True,
) -> datetime:
    """The first instant at or after `earliest` when a follow-up may go out, in `tz`.

    A business day in `country`, inside the window, not an avoided day (unless it is
    `on_time_for`, the agreed settlement date: being on time wins), at least
    `rules.min_gap` calendar days (customer's dates) away from every instant in `sent`, and fewer than `rules.weekly_cap` of `sent` in
    that ISO week (both only when `spacing`). Raises CalendarError if nothing fits in a year.
    """
    if window.start >= window.end:
        raise CalendarError(f"send window {window} never opens")
    candidate = earliest.astimezone(tz)
    limit = candidate + timedelta(days=_SEARCH_DAYS)
    while candidate < limit:
        moved = _first_violation(candidate, tz, country, window, rules, sent, on_time_for, spacing)
        if moved is None:
            return candidate
        candidate = moved
    raise CalendarError(f"no send time within {_SEARCH_DAYS} days of {earliest.isoformat()}")


def _first_violation(
    at: datetime,
    tz: ZoneInfo,
    country: str | None,
    window: SendWindow,
    rules: CalendarRules,
    sent: Sequence[datetime],
    on_time_for: date | None,
    spacing: bool,
) -> datetime | None:
    """None if `at` is allowed, else a later instant to try next."""
    moved = _day_and_window(at, tz, country, window, rules, on_time_for)
    if moved is not None or not spacing:
        return moved
    return _spacing(at, tz, rules, sent)


def _day_and_window(
    at: datetime,
    tz: ZoneInfo,
    country: str | None,
    window: SendWindow,
    rules: CalendarRules,
    on_time_for: date | None,
) -> datetime | None:
    day = at.date()
    allowed = is_business_day(day, country) and (
        day == on_time_for or avoided_because(day, country, rules) is None
    )
    if not allowed or at.timetz().replace(tzinfo=None) >= window.end:
        return _at_local(day + timedelta(days=1), window.start, tz)
    if at.timetz().replace(tzinfo=None) < window.start:
        return _at_local(day, window.start, tz)
    return None


def _spacing(
    at: datetime, tz: ZoneInfo, rules: CalendarRules, sent: Sequence[datetime]
) -> datetime | None:
    # The gap counts the customer's calendar days: mail on Monday at 16:00 allows Thursday 10:00.
    gap = rules.min_gap.days
    for previous in sent:
        day = previous.astimezone(tz).date()
        if abs((at.date() - day).days) < gap:
            return _at_local(day + timedelta(days=gap), time(0, 0), tz)
    week = at.isocalendar()[:2]
    in_week = [s for s in sent if s.astimezone(tz).isocalendar()[:2] == week]
    if rules.weekly_cap and len(in_week) >= rules.weekly_cap:
        monday = at.date() + timedelta(days=7 - at.weekday())
        return _at_local(monday, time(0, 0), tz)
    return None


def _at_local(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """A wall-clock time on a local day (DST gaps resolve forward, as zoneinfo does)."""
    return datetime.combine(day, clock, tzinfo=tz)


def local_start(day: date, window: SendWindow, tz: ZoneInfo) -> datetime:
    """The opening of the send window on a local day."""
    return _at_local(day, window.start, tz)
