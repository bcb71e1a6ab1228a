"""The calendar: customer zones, holidays per country, avoided days, window, spacing, weekly cap."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.calendar import (
    CalendarError,
    CalendarRules,
    SendWindow,
    add_business_days,
    avoided_because,
    customer_zone,
    first_working_day_of_week,
    is_business_day,
    next_send_time,
    previous_business_day,
)

BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
UTC = ZoneInfo("UTC")
WINDOW = SendWindow()
RULES = CalendarRules()


def send(earliest: datetime, tz: ZoneInfo, country: str | None, **kw: object) -> datetime:
    return next_send_time(earliest, tz=tz, country=country, window=WINDOW, rules=RULES, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("start", "country", "expected", "holiday"),
    [
        (date(2026, 4, 2), "DE", date(2026, 4, 7), "Good Friday + Easter Monday"),
        (date(2026, 11, 25), "US", date(2026, 11, 27), "Thanksgiving"),
        (date(2026, 7, 2), "US", date(2026, 7, 6), "Independence Day observed on Friday"),
        (date(2026, 10, 9), "ES", date(2026, 10, 13), "Fiesta Nacional de España"),
        (date(2026, 7, 13), "FR", date(2026, 7, 15), "Fête nationale"),
        (date(2026, 2, 13), "CN", date(2026, 2, 14), "Saturday make-up working day"),
        (date(2026, 2, 14), "CN", date(2026, 2, 24), "Spring Festival"),
    ],
)
def test_business_days_follow_each_countrys_holidays(
    start: date, country: str, expected: date, holiday: str
) -> None:
    assert add_business_days(start, 1, country) == expected, holiday


def test_unknown_or_missing_country_counts_weekdays_only() -> None:
    assert add_business_days(date(2026, 12, 24), 1, "ZZ") == date(2026, 12, 25)
    assert add_business_days(date(2026, 12, 25), 1, None) == date(2026, 12, 28)
    assert is_business_day(date(2026, 12, 25), "DE") is False
    assert add_business_days(date(2026, 3, 7), 0, "DE") == date(2026, 3, 9)
    assert add_business_days(date(2026, 3, 2), 10, "DE") == date(2026, 3, 16)


def test_previous_business_day_and_first_working_day_of_week() -> None:
    assert previous_business_day(date(2026, 4, 6), "DE") == date(2026, 4, 2)
    assert first_working_day_of_week(date(2026, 4, 9), "DE") == date(2026, 4, 7)
    assert first_working_day_of_week(date(2026, 3, 4), "DE") == date(2026, 3, 2)


def test_avoided_days() -> None:
    assert avoided_because(date(2026, 6, 2), "DE", RULES) == "day 2 of the month"
    assert avoided_because(date(2026, 3, 9), "DE", RULES) == "first working day of the week"
    assert avoided_because(date(2026, 3, 3), "DE", RULES) is None
    lenient = CalendarRules(avoid_first_working_day_of_week=False, avoid_first_days_of_month=0)
    assert avoided_because(date(2026, 6, 1), "DE", lenient) is None


@pytest.mark.parametrize(
    ("order_tz", "country", "expected"),
    [
        ("America/Chicago", "US", "America/Chicago"),
        (None, "DE", "Europe/Berlin"),
        (None, "cn", "Asia/Shanghai"),
        (None, "ZZ", "Asia/Shanghai"),
        ("Not/AZone", None, "Asia/Shanghai"),
        (None, None, "Asia/Shanghai"),
    ],
)
def test_customer_zone(order_tz: str | None, country: str | None, expected: str) -> None:
    assert customer_zone(order_tz, country, "Asia/Shanghai") == ZoneInfo(expected)


def test_customer_zone_falls_back_to_utc_when_all_names_are_bad() -> None:
    assert customer_zone("Bad/Zone", None, "Also/Bad") == ZoneInfo("UTC")


def test_window_in_the_customers_zone_no_early_mornings() -> None:
    assert send(datetime(2026, 3, 4, 8, tzinfo=BERLIN), BERLIN, "DE") == datetime(
        2026, 3, 4, 10, tzinfo=BERLIN
    )
    assert send(datetime(2026, 3, 4, 16, 59, tzinfo=BERLIN), BERLIN, "DE") == datetime(
        2026, 3, 4, 16, 59, tzinfo=BERLIN
    )
    assert send(datetime(2026, 3, 4, 17, tzinfo=BERLIN), BERLIN, "DE") == datetime(
        2026, 3, 5, 10, tzinfo=BERLIN
    )
    # 02:00 UTC is 21:00 the evening before in New York: next morning at 10:00 local
    at = send(datetime(2026, 3, 4, 2, tzinfo=UTC), NEW_YORK, "US")
    assert at == datetime(2026, 3, 4, 10, tzinfo=NEW_YORK)
    assert at.utcoffset() == timedelta(hours=-5)


def test_skips_holidays_and_first_working_day_after_them() -> None:
    # Easter Monday is a holiday, so Tuesday is the first working day of that week: Wednesday.
    assert send(datetime(2026, 4, 3, 9, tzinfo=BERLIN), BERLIN, "DE") == datetime(
        2026, 4, 8, 10, tzinfo=BERLIN
    )
    # Spring Festival: closed until the 23rd; Tuesday 24th opens the week; Wednesday it is.
    assert send(datetime(2026, 2, 16, 9, tzinfo=SHANGHAI), SHANGHAI, "CN") == datetime(
        2026, 2, 25, 10, tzinfo=SHANGHAI
    )
    # Thanksgiving in New York
    assert send(datetime(2026, 11, 26, 11, tzinfo=NEW_YORK), NEW_YORK, "US") == datetime(
        2026, 11, 27, 10, tzinfo=NEW_YORK
    )


def test_first_two_days_of_month_avoided_unless_it_is_the_settlement_date() -> None:
    friday_evening = datetime(2026, 5, 29, 18, tzinfo=BERLIN)
    assert send(friday_evening, BERLIN, "DE") == datetime(2026, 6, 3, 10, tzinfo=BERLIN)
    on_time = send(friday_evening, BERLIN, "DE", on_time_for=date(2026, 6, 1))
    assert on_time == datetime(2026, 6, 1, 10, tzinfo=BERLIN)


def test_min_gap_across_orders() -> None:
    sent = [datetime(2026, 3, 3, 10, tzinfo=BERLIN)]
    assert send(datetime(2026, 3, 4, 10, tzinfo=BERLIN), BERLIN, "DE", sent=sent) == datetime(
        2026, 3, 6, 10, tzinfo=BERLIN
    )
    # a send planned later also keeps its distance
    later = [datetime(2026, 3, 5, 12, tzinfo=BERLIN)]
    at = send(datetime(2026, 3, 4, 10, tzinfo=BERLIN), BERLIN, "DE", sent=later)
    assert at - later[0] >= RULES.min_gap


def test_min_gap_counts_the_customers_calendar_days() -> None:
    sent = [berlin_at(3, 3, 16)]  # Tuesday 16:00
    assert send(berlin_at(3, 4, 10), BERLIN, "DE", sent=sent) == berlin_at(3, 6, 10)


def berlin_at(month: int, day: int, hour: int) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=BERLIN)


def test_weekly_cap_moves_to_next_week() -> None:
    sent = [datetime(2026, 3, 2, 10, tzinfo=BERLIN), datetime(2026, 3, 5, 10, tzinfo=BERLIN)]
    # the week of 2 March is full; next Monday is avoided: Tuesday 10 March
    assert send(datetime(2026, 3, 6, 10, tzinfo=BERLIN), BERLIN, "DE", sent=sent) == datetime(
        2026, 3, 10, 10, tzinfo=BERLIN
    )
    one = CalendarRules(weekly_cap=1, min_gap=timedelta(0))
    at = next_send_time(
        datetime(2026, 3, 4, 10, tzinfo=BERLIN),
        tz=BERLIN,
        country="DE",
        window=WINDOW,
        rules=one,
        sent=sent[:1],
    )
    assert at == datetime(2026, 3, 10, 10, tzinfo=BERLIN)


def test_spacing_can_be_turned_off_for_answers() -> None:
    sent = [datetime(2026, 3, 4, 9, tzinfo=BERLIN)]
    at = send(datetime(2026, 3, 4, 11, tzinfo=BERLIN), BERLIN, "DE", sent=sent, spacing=False)
    assert at == datetime(2026, 3, 4, 11, tzinfo=BERLIN)


def test_window_that_never_opens_is_an_error() -> None:
    with pytest.raises(CalendarError, match="never opens"):
        next_send_time(
            datetime(2026, 3, 4, tzinfo=BERLIN),
            tz=BERLIN,
            country="DE",
            window=SendWindow(time(17), time(10)),
            rules=RULES,
        )


def test_result_is_in_the_customers_zone() -> None:
    at = send(datetime(2026, 3, 4, 12, tzinfo=UTC), SHANGHAI, "CN")
    assert at.tzinfo == SHANGHAI and at == datetime(2026, 3, 5, 10, tzinfo=SHANGHAI)
