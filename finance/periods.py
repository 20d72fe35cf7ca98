"""Contribution periods: which period a day falls in, and when that period's due is due and late."""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from groups.models import Policy

F = Policy.Frequency


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    label: str
    due_date: date

    def late_after(self, grace_days):
        return self.due_date + timedelta(days=grace_days)


def clamp_day(year, month, day):
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def add_months(day, months):
    month_index = day.month - 1 + months
    return clamp_day(day.year + month_index // 12, month_index % 12 + 1, day.day)


def period_containing(day, frequency, due_day, anchor):
    """The period of a plan (`frequency`, `due_day`, fortnights counted from `anchor`) holding `day`."""
    if frequency == F.MONTHLY:
        start = day.replace(day=1)
        end = clamp_day(day.year, day.month, 31)
        return Period(start, end, f"{day:%Y-%m}", clamp_day(day.year, day.month, due_day))
    weekday_offset = timedelta(days=min(max(due_day, 1), 7) - 1)
    if frequency == F.WEEKLY:
        start = day - timedelta(days=day.weekday())
        year, week, _ = start.isocalendar()
        return Period(start, start + timedelta(days=6), f"{year}-W{week:02d}", start + weekday_offset)
    first_monday = anchor - timedelta(days=anchor.weekday())
    start = first_monday + timedelta(days=14 * ((day - first_monday).days // 14))
    return Period(start, start + timedelta(days=13), f"{start:%Y-%m-%d}+14d", start + weekday_offset)


def periods_due_in_month(year, month, frequency, due_day, anchor):
    """Every period of the plan whose due date falls in the given month."""
    found = {}
    day = date(year, month, 1)
    while day.month == month:
        period = period_containing(day, frequency, due_day, anchor)
        if period.due_date.year == year and period.due_date.month == month:
            found[period.start] = period
        day += timedelta(days=1)
    return sorted(found.values(), key=lambda period: period.start)


def periods_late(late_after, as_of, frequency):
    """How many periods a due that became late after `late_after` has been late on `as_of` (0 if not late)."""
    if as_of <= late_after:
        return 0
    if frequency == F.MONTHLY:
        count = 1
        while add_months(late_after, count) < as_of:
            count += 1
        return count
    length = 7 if frequency == F.WEEKLY else 14
    return 1 + ((as_of - late_after).days - 1) // length
