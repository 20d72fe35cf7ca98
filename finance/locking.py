"""Locks on the money rows, the last steps of the order in `chama.locking`: the row acted on (a loan)
and the rows under it by primary key (installments, dues), then the ledger accounts by primary key."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Q

from chama.locking import lock_row, lock_rows, lock_values
from finance.models import Account, Due, Installment, Loan

if TYPE_CHECKING:
    from django.db.models import QuerySet


def loan_rows() -> QuerySet[Loan]:
    """Loans read with what their services need (policy, borrower, product)."""
    return Loan.objects.select_related("chama__policy", "membership__user", "product")


def lock_loan(pk: int) -> Loan:
    """The loan, locked, read with what its services need."""
    return lock_row(loan_rows(), pk=pk)


def lock_loans(queryset: QuerySet[Loan]) -> list[Loan]:
    """Several loans (the arrears run), by primary key."""
    return lock_rows(queryset)


def lock_installments(queryset: QuerySet[Installment]) -> list[Installment]:
    """A loan's installments, locked by primary key, returned by number (the order they are paid in).
    The caller holds the loan's lock."""
    return sorted(lock_rows(queryset), key=lambda row: (row.version, row.n))


def lock_due(pk: int) -> Due:
    return lock_row(Due.objects.all(), pk=pk)


def lock_dues(queryset: QuerySet[Due]) -> list[Due]:
    """Dues, locked by primary key, as a list in that order."""
    return lock_rows(queryset)


def lock_accounts(ids: Iterable[int]) -> dict[int, Decimal]:
    """{pk: balance} of the accounts a journal moves, locked by primary key."""
    return dict(lock_values(Account.objects.filter(pk__in=ids), "pk", "balance"))


def lock_chama_accounts(chama_id: int, membership_ids: Iterable[int]) -> list[Account]:
    """The chama's own accounts and the accounts of the members `membership_ids`, locked by primary
    key (a batch of postings for those members: the caller holds their locks)."""
    return lock_rows(
        Account.objects.filter(Q(membership__isnull=True) | Q(membership__in=membership_ids), chama_id=chama_id)
    )
