"""Re-derive every cached figure from the rows it summarises and report (or repair) drift."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Manager, Q, QuerySet, Sum

from chama.money import ZERO, to_money
from finance.models import Account, Due, DueAllocation, Entry, Installment, RepaymentLine
from groups import services as group_services

if TYPE_CHECKING:
    from groups.models import Chama


@dataclass
class Drift:
    what: str
    chama_id: int
    cached: object
    actual: object
    repair: object  # callable that writes `actual`


def _scoped(queryset: Manager[Any], chama: Chama | None) -> Manager[Any] | QuerySet[Any]:
    return queryset if chama is None else queryset.filter(chama=chama)


def account_drift(chama: Chama | None = None) -> list[Drift]:
    sums = dict(
        _scoped(Entry.objects, chama).values("account").annotate(total=Sum("amount")).values_list("account", "total")
    )
    drift = []
    for account in _scoped(Account.objects, chama).only("pk", "code", "name", "chama_id", "balance"):
        # SQLite sums decimals in floating point: back to cents (PostgreSQL's sum is already exact).
        actual = to_money(sums.get(account.pk) or ZERO)
        if account.balance != actual:
            drift.append(
                Drift(
                    f"account {account.code} {account.name}",
                    account.chama_id,
                    account.balance,
                    actual,
                    lambda pk=account.pk, value=actual: Account.objects.filter(pk=pk).update(balance=value),
                )
            )
    return drift


def due_drift(chama: Chama | None = None) -> list[Drift]:
    totals = {}
    rows = _scoped(DueAllocation.objects, chama).values("due", "kind").annotate(total=Sum("amount"))
    for row in rows:
        totals[(row["due"], row["kind"])] = row["total"]
    drift = []
    dues = (
        _scoped(Due.objects, chama)
        .filter(Q(paid_amount__gt=0) | Q(waived_amount__gt=0) | Q(allocations__isnull=False))
        .distinct()
    )
    for due in dues.only("pk", "chama_id", "paid_amount", "waived_amount", "description"):
        paid = to_money(totals.get((due.pk, DueAllocation.Kind.PAYMENT)) or ZERO)
        waived = to_money(totals.get((due.pk, DueAllocation.Kind.WAIVER)) or ZERO)
        if (due.paid_amount, due.waived_amount) != (paid, waived):
            drift.append(
                Drift(
                    f"due #{due.pk} {due.description} (paid, waived)",
                    due.chama_id,
                    (due.paid_amount, due.waived_amount),
                    (paid, waived),
                    lambda pk=due.pk, p=paid, w=waived: Due.objects.filter(pk=pk).update(
                        paid_amount=p, waived_amount=w
                    ),
                )
            )
    return drift


def installment_drift(chama: Chama | None = None) -> list[Drift]:
    totals = defaultdict(lambda: ZERO)
    for row in _scoped(RepaymentLine.objects, chama).values("installment", "component").annotate(total=Sum("amount")):
        totals[(row["installment"], row["component"])] = to_money(row["total"])
    components = ("principal", "interest", "fee", "penalty")
    drift = []
    paid_rows = (
        _scoped(Installment.objects, chama)
        .filter(
            Q(repayment_lines__isnull=False)
            | Q(principal_paid__gt=0)
            | Q(interest_paid__gt=0)
            | Q(fee_paid__gt=0)
            | Q(penalty_paid__gt=0)
        )
        .distinct()
    )
    for row in paid_rows:
        cached = tuple(getattr(row, f"{c}_paid") for c in components)
        actual = tuple(totals[(row.pk, c)] for c in components)
        if cached != actual:
            drift.append(
                Drift(
                    f"installment {row.n} of loan #{row.loan_id} (principal, interest, fee, penalty paid)",
                    row.chama_id,
                    cached,
                    actual,
                    lambda pk=row.pk, a=actual: Installment.objects.filter(pk=pk).update(
                        **{f"{c}_paid": v for c, v in zip(components, a, strict=True)}
                    ),
                )
            )
    return drift


def members_count_drift(chama: Chama | None = None) -> list[Drift]:
    return [
        Drift(f"members_count of {each}", each.pk, cached, actual, lambda c=each: group_services.members_count_fix(c))
        for each, cached, actual in group_services.members_count_drift(chama)
    ]


# Caches kept by higher apps (e.g. attendance percentages) register their checks here at start-up.
EXTRA_CHECKS = []


def register(check: Callable[[Chama | None], list[Drift]]) -> None:
    """Add `check(chama) -> [Drift]` to reconcile_balances (called from a higher app's ready())."""
    if check not in EXTRA_CHECKS:
        EXTRA_CHECKS.append(check)


def all_drift(chama: Chama | None = None) -> list[Drift]:
    extra = [item for check in EXTRA_CHECKS for item in check(chama)]
    return [*account_drift(chama), *due_drift(chama), *installment_drift(chama), *members_count_drift(chama), *extra]
