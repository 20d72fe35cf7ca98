"""The treasurer's dashboard on the back office's front page: for each chama whose books the officer
reads, where the money is, what members hold and owe, this month's collections, who is behind, the
suspense queue, the next meeting and the welfare fund, with two charts. A fixed number of queries
per chama, whatever its members or history."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString

from chama.models import Notification
from chama.money import ZERO, to_money
from finance.models import Account, Due, Entry
from finance.periods import add_months
from finance.selectors.loans import portfolio
from groups import selectors as register
from groups.models import Chama, Membership
from meetings.models import Meeting, Rsvp
from reporting import charts
from reporting.models import MonthlySnapshot
from welfare.selectors import fund_balance

A = Account.Purpose
CHANNELS = [(A.CASH, "Cash"), (A.BANK, "Bank"), (A.MOBILE_MONEY, "M-Pesa")]
MONTHS = 12
ARREARS_SHOWN = 10


def _months(today: date) -> list[date]:
    first = today.replace(day=1)
    return [add_months(first, back) for back in range(-(MONTHS - 1), 1)]


def figures(*, chama: Chama, today: date) -> dict[str, object]:
    """Everything the chama's panel shows, read in a fixed number of queries."""
    own = {
        purpose: to_money(total or ZERO)
        for purpose, total in Account.objects.filter(chama=chama, membership__isnull=True)
        .values_list("purpose")
        .annotate(total=Sum("balance"))
        .values_list("purpose", "total")
    }
    members = {
        purpose: to_money(total or ZERO)
        for purpose, total in Account.objects.filter(chama=chama, membership__isnull=False)
        .values_list("purpose")
        .annotate(total=Sum("balance"))
        .values_list("purpose", "total")
    }
    months = _months(today)
    collections = {
        row["month"].date() if hasattr(row["month"], "date") else row["month"]: row
        for row in Due.objects.filter(
            chama=chama, kind__in=[Due.Kind.CONTRIBUTION, Due.Kind.LEVY], due_date__gte=months[0]
        )
        .exclude(status=Due.Status.CANCELLED)
        .annotate(month=TruncMonth("due_date"))
        .values("month")
        .annotate(raised=Sum("amount"), paid=Sum("paid_amount"))
    }
    behind = list(
        Due.objects.filter(chama=chama, status=Due.Status.OVERDUE)
        .values("membership")
        .annotate(owed=Sum("amount") - Sum("paid_amount") - Sum("waived_amount"))
        .order_by("-owed")[:ARREARS_SHOWN]
    )
    who = Membership.objects.select_related("user").in_bulk([row["membership"] for row in behind])
    cash_by_month = _cash_by_month(chama, months, sum((own.get(purpose) or ZERO for purpose, _ in CHANNELS), ZERO))
    meeting = (
        Meeting.objects.filter(chama=chama, status=Meeting.Status.SCHEDULED, starts_at__gte=timezone.now())
        .annotate(
            attending=Count("rsvps", filter=Q(rsvps__response=Rsvp.Response.ATTENDING)),
            apologies=Count("rsvps", filter=Q(rsvps__response=Rsvp.Response.APOLOGY)),
        )
        .order_by("starts_at")
        .first()
    )
    this_month = collections.get(months[-1], {})
    loans = portfolio(chama=chama, as_of=today)
    return {
        "chama": chama,
        "channels": [(label, own.get(purpose) or ZERO) for purpose, label in CHANNELS],
        "savings": -(members.get(A.MEMBER_SAVINGS) or ZERO),
        "shares": -(members.get(A.MEMBER_SHARES) or ZERO),
        "loans_outstanding": loans["outstanding_principal"],
        "par30": loans["par30"][1],
        "raised_this_month": to_money(this_month.get("raised") or ZERO),
        "paid_this_month": to_money(this_month.get("paid") or ZERO),
        "behind": [
            (who[row["membership"]], to_money(row["owed"]))
            for row in behind
            if row["owed"] and row["membership"] in who
        ],
        "suspense": -(own.get(A.SUSPENSE) or ZERO),
        "welfare_fund": fund_balance(chama=chama),
        "next_meeting": meeting,
        "contributions_chart": charts.bars(
            "Contributions and levies: raised and paid, by month",
            [f"{m:%b}" for m in months],
            [
                ("raised", [collections.get(m, {}).get("raised") or ZERO for m in months]),
                ("paid", [collections.get(m, {}).get("paid") or ZERO for m in months]),
            ],
        ),
        "cash_chart": charts.line(
            "Cash, bank and M-Pesa at each month's end", [f"{m:%b}" for m in months], cash_by_month
        ),
    }


def _cash_by_month(chama: Chama, months: list[date], cash_now: Decimal) -> list[Decimal]:
    """Cash, bank and M-Pesa at the end of each of `months`, the last one now. The months before
    this one come from their snapshots (`take_snapshots`, on the 1st) when every one is taken, so the
    ledger is not read at all (a posting backdated into a month shows once it is snapshotted again);
    otherwise from the entries of those months, back from what the accounts hold now."""
    past = months[:-1]
    taken = dict(MonthlySnapshot.objects.filter(chama=chama, month__in=past).values_list("month", "cash"))
    if len(taken) == len(past):
        return [taken[month] for month in past] + [cash_now]
    channels = Account.objects.filter(chama=chama, purpose__in=[p for p, _ in CHANNELS], membership__isnull=True)
    moved = {
        (row["month"].date() if hasattr(row["month"], "date") else row["month"]): to_money(row["total"] or ZERO)
        for row in Entry.objects.filter(account__in=channels, journal__value_date__gte=months[0])
        .annotate(month=TruncMonth("journal__value_date"))
        .values("month")
        .annotate(total=Sum("amount"))
    }
    # Before the first month: what the accounts hold now less what moved since (their cached
    # balances), so the history before the twelve months is never read.
    running, cash = to_money(cash_now - sum(moved.values(), ZERO)), []
    for month in months:
        running = to_money(running + moved.get(month, ZERO))
        cash.append(running)
    return cash


def panels(request) -> list[SafeString]:
    """The dashboard's panels for the officer's chamas (none for someone who reads no chama's books)."""
    chamas = register.chamas_where(user=request.user, action="view_books").order_by("name")
    waiting = Notification.objects.filter(
        user=request.user, kind=Notification.Kind.SIGNATURE, read_date__isnull=True
    ).count()
    return [
        render_to_string(
            "reporting/dashboard.html",
            {**figures(chama=chama, today=chama.today()), "waiting_for_me": waiting},
            request=request,
        )
        for chama in chamas
    ]
