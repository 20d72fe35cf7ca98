"""Re-derive every cached figure from the rows it summarises and report (or repair) drift."""

from dataclasses import dataclass

from django.db.models import Q, Sum

from chama.money import ZERO, to_money
from finance.models import Account, Due, DueAllocation, Entry
from groups import services as group_services


@dataclass
class Drift:
    what: str
    chama_id: int
    cached: object
    actual: object
    repair: object  # callable that writes `actual`


def _scoped(queryset, chama):
    return queryset if chama is None else queryset.filter(chama=chama)


def account_drift(chama=None):
    sums = dict(_scoped(Entry.objects, chama).values("account").annotate(total=Sum("amount")).values_list("account", "total"))
    drift = []
    for account in _scoped(Account.objects, chama).only("pk", "code", "name", "chama_id", "balance"):
        # SQLite sums decimals in floating point: back to cents (PostgreSQL's sum is already exact).
        actual = to_money(sums.get(account.pk) or ZERO)
        if account.balance != actual:
            drift.append(Drift(f"account {account.code} {account.name}", account.chama_id, account.balance, actual,
                               lambda pk=account.pk, value=actual: Account.objects.filter(pk=pk).update(balance=value)))
    return drift


def due_drift(chama=None):
    totals = {}
    rows = _scoped(DueAllocation.objects, chama).values("due", "kind").annotate(total=Sum("amount"))
    for row in rows:
        totals[(row["due"], row["kind"])] = row["total"]
    drift = []
    dues = _scoped(Due.objects, chama).filter(Q(paid_amount__gt=0) | Q(waived_amount__gt=0) | Q(allocations__isnull=False)).distinct()
    for due in dues.only("pk", "chama_id", "paid_amount", "waived_amount", "description"):
        paid = to_money(totals.get((due.pk, DueAllocation.Kind.PAYMENT)) or ZERO)
        waived = to_money(totals.get((due.pk, DueAllocation.Kind.WAIVER)) or ZERO)
        if (due.paid_amount, due.waived_amount) != (paid, waived):
            drift.append(Drift(f"due #{due.pk} {due.description} (paid, waived)", due.chama_id,
                               (due.paid_amount, due.waived_amount), (paid, waived),
                               lambda pk=due.pk, p=paid, w=waived: Due.objects.filter(pk=pk).update(paid_amount=p, waived_amount=w)))
    return drift


def members_count_drift(chama=None):
    return [
        Drift(f"members_count of {each}", each.pk, cached, actual,
              lambda c=each: group_services.members_count_fix(c))
        for each, cached, actual in group_services.members_count_drift(chama)
    ]


def all_drift(chama=None):
    return [*account_drift(chama), *due_drift(chama), *members_count_drift(chama)]
