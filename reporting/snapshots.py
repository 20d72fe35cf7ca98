"""Month-end snapshots of every chama (`take_snapshots`): a few set-based queries over the whole
ledger for the month, whatever the number of chamas, written in one upsert, so a second run of the
same month rewrites the same figures."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Avg, Count, Q, Sum

from chama.money import ZERO, to_money
from chama.roles import MembershipStatus
from finance.models import Account, Entry, Journal
from finance.periods import add_months
from groups.models import Chama, Membership
from reporting.models import MonthlySnapshot

A, T = Account.Purpose, Account.Type
FIELDS = ["members", "savings", "shares", "loans_outstanding", "cash", "income", "expenses", "attendance_percentage"]


def last_complete_month(today: date) -> date:
    return add_months(today.replace(day=1), -1)


def take_snapshots(
    *,
    month: date,
    chama: Chama | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> list[MonthlySnapshot]:
    """The figures of `month` (its first day) for `chama` or every chama, stored unless `dry_run`."""
    month = month.replace(day=1)
    end = add_months(month, 1)
    chamas = Chama.objects.all() if chama is None else Chama.objects.filter(pk=chama.pk)
    if end > (chama.today() if chama else date.today()):
        raise ValidationError(f"{month:%B %Y} has not ended yet: snapshot a month once it is over.")
    scope = Q() if chama is None else Q(chama=chama)
    balances: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for chama_id, purpose, total in (
        Entry.objects.filter(scope, journal__value_date__lt=end)
        .values_list("chama", "account__purpose")
        .annotate(total=Sum("amount"))
        .values_list("chama", "account__purpose", "total")
    ):
        balances[chama_id][purpose] += to_money(total or ZERO)
    closing = Q(journal__kind=Journal.Kind.SHARE_OUT, journal__membership__isnull=True)
    movement: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for chama_id, kind, total in (
        Entry.objects.filter(scope, journal__value_date__gte=month, journal__value_date__lt=end)
        .exclude(closing)
        .filter(account__type__in=[T.INCOME, T.EXPENSE])
        .values_list("chama", "account__type")
        .annotate(total=Sum("amount"))
        .values_list("chama", "account__type", "total")
    ):
        movement[chama_id][kind] += to_money(total or ZERO)
    people = {
        row["chama"]: row
        for row in Membership.objects.filter(scope, status=MembershipStatus.ACTIVE)
        .values("chama")
        .annotate(count=Count("id"), attendance=Avg("attendance_percentage"))
    }
    rows = []
    chama_ids = list(chamas.values_list("pk", flat=True))
    for done, chama_id in enumerate(chama_ids, start=1):
        money, flows, who = balances[chama_id], movement[chama_id], people.get(chama_id, {})
        rows.append(
            MonthlySnapshot(
                chama_id=chama_id,
                month=month,
                members=who.get("count") or 0,
                savings=-money[A.MEMBER_SAVINGS],
                shares=-money[A.MEMBER_SHARES],
                loans_outstanding=money[A.LOAN_RECEIVABLE],
                cash=money[A.CASH] + money[A.BANK] + money[A.MOBILE_MONEY],
                income=-flows[T.INCOME],
                expenses=flows[T.EXPENSE],
                attendance_percentage=to_money(who.get("attendance") or 0),
            )
        )
        if progress:
            progress(done, len(chama_ids))
    if not dry_run:
        MonthlySnapshot.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["chama", "month"], update_fields=[*FIELDS, "updated_date"]
        )
    return rows
