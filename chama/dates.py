"""The calendar the product deals in: a member's lifetime either way of today.

Outside it a date is a typing mistake, and the calendar arithmetic of schedules and time zones
would overflow (a server error). The API's date fields and the back office's date widgets both
refuse such a date with `DATE_RANGE_MESSAGE`.
"""

from datetime import date

EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(2200, 12, 31)
DATE_RANGE_MESSAGE = f"Give a date between {EARLIEST_DATE:%Y-%m-%d} and {LATEST_DATE:%Y-%m-%d}."


def in_range(day):
    return EARLIEST_DATE <= day <= LATEST_DATE
