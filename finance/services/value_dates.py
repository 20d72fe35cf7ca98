"""The one rule for the day money is dated (its value date), whatever records it: the API, the
back office, an M-Pesa callback or a command.

A value date is
- between 1900 and 2200 (anything else is a typing mistake);
- never in the future, in the chama's time zone;
- never before the chama's start, nor, for a loan's journal, before the loan was disbursed;
- at most the policy's `backdating_window_days` before the day it is recorded, unless the
  chairperson and a second officer approved backdating that far (a `BackdatingApproval` in force).

`post_journal` checks every journal, so no entry point can skip the rule; services whose other
checks read the date (a loan's payoff, shares per meeting, an expense kept for a second officer)
check it first, so that the date is what the officer hears about. M-Pesa's clock may run a little
ahead of ours: its receipts get a day of slack (`for_mpesa`).
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

from chama.dates import DATE_RANGE_MESSAGE, in_range
from finance.models import BackdatingApproval, Loan
from groups.models import Chama, Policy

ASK_FOR_APPROVAL = "Ask the chairperson and a second officer to approve backdating."


def calendar_problem(chama: Chama, day: date, *, slack_days: int = 0) -> str | None:
    """Why `day` can never be a value date in `chama` (off the calendar, in the future, before the
    chama started), or None."""
    if not in_range(day):
        return DATE_RANGE_MESSAGE
    today = chama.today()
    if day > today + timedelta(days=slack_days):
        return f"The value date {day} is in the future: today is {today} in {chama}'s time zone ({chama.timezone})."
    if day < chama.start_date:
        return f"The value date {day} is before {chama} started ({chama.start_date})."
    return None


def window_days(chama: Chama) -> int:
    policy = getattr(chama, "policy", None)  # a chama made without its policy row has the default
    return (
        policy.backdating_window_days
        if policy is not None
        else Policy._meta.get_field("backdating_window_days").default
    )


def approved_back_to(chama: Chama, day: date) -> bool:
    """Whether an approval in force lets money be dated `day`."""
    return BackdatingApproval.objects.filter(
        chama=chama,
        status=BackdatingApproval.Status.APPROVED,
        earliest_date__lte=day,
        expires_date__gt=timezone.now(),
    ).exists()


def problem(
    chama: Chama, day: date, *, loan: Loan | None = None, recorded_on: date | None = None, slack_days: int = 0
) -> str | None:
    """Why `day` may not be the value date of money recorded in `chama` on `recorded_on` (default
    today), or None."""
    reason = calendar_problem(chama, day, slack_days=slack_days)
    if reason:
        return reason
    if loan is not None and loan.disbursed_date and day < loan.disbursed_date:
        return f"The value date {day} is before loan #{loan.pk} was disbursed ({loan.disbursed_date})."
    today = chama.today()
    recorded_on = min(recorded_on, today) if recorded_on else today  # nothing is recorded after today
    if day >= recorded_on:
        return None
    back, window = (recorded_on - day).days, window_days(chama)
    if back > window and not approved_back_to(chama, day):
        return f"The value date {day} is {back} days back; the policy allows {window} days. {ASK_FOR_APPROVAL}"
    return None


def check(
    chama: Chama, day: date, *, loan: Loan | None = None, recorded_on: date | None = None, field: str = "value_date"
) -> date:
    """Refuse (a ValidationError on `field`) a value date the rule does not allow; returns it."""
    reason = problem(chama, day, loan=loan, recorded_on=recorded_on)
    if reason:
        raise ValidationError({field: reason})
    return day


def check_not_future(chama: Chama, day: date, *, field: str = "as_of") -> date:
    """For a day a job judges lateness on: on the calendar and not after the chama's today."""
    if not in_range(day):
        raise ValidationError({field: DATE_RANGE_MESSAGE})
    today = chama.today()
    if day > today:
        raise ValidationError(
            {field: f"{day} is in the future: today is {today} in {chama}'s time zone ({chama.timezone})."}
        )
    return day


def recorded_day(chama: Chama, moment: datetime) -> date:
    """The chama's date of a moment (when something was recorded)."""
    return timezone.localtime(moment, zoneinfo.ZoneInfo(chama.timezone)).date()


def for_mpesa(chama: Chama, moment: datetime | None) -> tuple[date, str]:
    """(value date, note) of an M-Pesa receipt whose `TransTime` is `moment` (None: unknown).

    The receipt is real money that has arrived, so it is never refused for its date: it is dated
    on its M-Pesa time when the rule allows that day (with a day of slack for Safaricom's clock; a
    time just past our midnight counts as today), and otherwise on the day it was received, with a
    note saying why. The receipt keeps its M-Pesa time either way."""
    today = chama.today()
    if moment is None:
        return today, ""
    day = recorded_day(chama, moment)
    reason = problem(chama, day, slack_days=1)
    if reason is None:
        return min(day, today), ""
    return today, f"dated the day received, not its M-Pesa time {moment:%Y-%m-%d %H:%M} ({reason})"
