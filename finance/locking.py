"""Locks on the money rows, the last steps of the order in `chama.locking`: the row acted on (a loan)
and the rows under it by primary key (installments, dues), then the chama's chain of journals
(`lock_chain`), then the ledger accounts by primary key."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import connection

from chama import rows
from chama.locking import lock_row, lock_rows, lock_values
from finance.models import Account, ContributionPlan, Due, Installment, LedgerChain, Loan, SavingsType

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from groups.models import Membership


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


def lock_open_dues(membership: Membership, kinds: Sequence[str] | None = None) -> list[Due]:
    """The member's open dues (of `kinds`, or all), locked by primary key, each with its plan and
    the plan's savings type (read, not locked): one statement, in SQL written once (`chama.rows`),
    because every payment asks even when nothing is owed. The caller holds the member's lock."""
    due, plan, savings_type = (rows.reader(model) for model in (Due, ContributionPlan, SavingsType))
    statuses = list(Due.OPEN_STATUSES)
    where = (
        f"{rows.col(Due, 'chama_id')} = %s AND {rows.col(Due, 'membership_id')} = %s "
        f"AND {rows.col(Due, 'status')} IN {rows.in_list(statuses)}"
    )
    params = [membership.chama_id, membership.pk, *statuses]
    if kinds:
        where += f" AND {rows.col(Due, 'kind')} IN {rows.in_list(kinds)}"
        params += list(kinds)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {rows.columns(Due)}, {rows.columns(ContributionPlan)}, {rows.columns(SavingsType)} "
            f"FROM {rows.quote(Due._meta.db_table)} "
            f"LEFT JOIN {rows.quote(ContributionPlan._meta.db_table)} "
            f"ON {rows.col(ContributionPlan, 'id')} = {rows.col(Due, 'plan_id')} "
            f"LEFT JOIN {rows.quote(SavingsType._meta.db_table)} "
            f"ON {rows.col(SavingsType, 'id')} = {rows.col(ContributionPlan, 'savings_type_id')} "
            f"WHERE {where} ORDER BY {rows.col(Due, 'id')}{rows.lock_clause(Due, rows.UPDATE)}",
            params,
        )
        found = cursor.fetchall()
    dues = []
    plan_at, type_at = len(due.attnames), len(due.attnames) + len(plan.attnames)
    for row in found:
        each = due.build(row[:plan_at])
        if each.plan_id is not None:
            each.plan = plan.build(row[plan_at:type_at])
            each.plan.savings_type = savings_type.build(row[type_at:]) if each.plan.savings_type_id else None
        dues.append(each)
    return dues


def lock_chain(chama_id: int) -> list:
    """The head of the chama's chain of journals, [position, hash], locked: every posting takes it
    before its accounts, so a chama's journals join the chain one at a time, in one line (made on
    the chama's first posting)."""
    heads = LedgerChain.objects.filter(pk=chama_id)
    found = lock_values(heads, "position", "head_hash")
    if not found:
        LedgerChain.objects.bulk_create([LedgerChain(chama_id=chama_id)], ignore_conflicts=True)
        found = lock_values(heads, "position", "head_hash")
    return list(found[0])


def lock_accounts(ids: Iterable[int]) -> dict[int, Decimal]:
    """{pk: balance} of the accounts a journal moves, locked by primary key (in SQL written once:
    every posting takes this lock). The caller holds the chama's chain lock."""
    ids = list(ids)
    where = f"{rows.col(Account, 'id')} IN {rows.in_list(ids)}"
    return dict(rows.fetch_values(Account, ["id", "balance"], where, ids, lock=rows.UPDATE))


def lock_chama_accounts(chama_id: int, membership_ids: Iterable[int]) -> list[Account]:
    """The chama's own accounts and the accounts of the members `membership_ids`, locked by primary
    key (a batch of postings for those members: the caller holds their locks)."""
    members = list(membership_ids)
    membership = rows.col(Account, "membership_id")
    where = f"{rows.col(Account, 'chama_id')} = %s AND ({membership} IS NULL"
    if members:
        where += f" OR {membership} IN {rows.in_list(members)}"
    return rows.fetch(Account, where + ")", [chama_id, *members], lock=rows.UPDATE)
