"""Re-derive every cached figure from the rows it summarises and report (or repair) drift.

Each kind of cache is one check: a statement that computes, in the database, the rows whose cached
value differs from what their rows add up to, and a statement that repairs them all at once
(`UPDATE … FROM` the same computation). Python only reads the drifted rows for the report, so the
work does not grow with the number of rows that agree. The SQL is the same on PostgreSQL and SQLite
(3.35 or newer): sums are rounded to the cent in the query because SQLite adds decimals in floating
point.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection

from chama.money import ZERO, to_money
from chama.roles import MembershipStatus
from finance.models import Account, Due, DueAllocation, Entry, Installment, RepaymentLine
from groups.models import Chama, Membership


@dataclass
class Drift:
    what: str
    chama_id: int
    cached: object
    actual: object
    repair: Callable[[], object] | None = field(default=None, compare=False, repr=False)  # fixes this row alone


@dataclass(frozen=True)
class DriftKind:
    """One cache: `find(chama)` lists its drift (one query), `fix(chama)` repairs it (one UPDATE) and
    returns the number of rows written. `chama` None means every chama."""

    name: str
    find: Callable[[Chama | None], list[Drift]]
    fix: Callable[[Chama | None], int]


def money(value: Any) -> Decimal:
    """A sum read back from the database as money (SQLite hands back floats; they are rounded in SQL)."""
    return ZERO if value is None else to_money(str(value))


def rows(sql: str, params: Sequence[Any] = ()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def execute(sql: str, params: Sequence[Any] = ()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def scope(chama: Chama | None, column: str) -> tuple[str, list[int]]:
    """(`AND column = %s`, [chama id]) for one chama, nothing for every chama."""
    return ("", []) if chama is None else (f" AND {column} = %s", [chama.pk])


def repair_update(table: str, assignments: str, drift_sql: str) -> str:
    """`UPDATE table SET … FROM (drift_sql) AS d WHERE table.id = d.id`: one statement for every drifted row."""
    return f"UPDATE {table} SET {assignments} FROM ({drift_sql}) AS d WHERE {table}.id = d.id"


# --- the ledger itself: every journal's entries sum to zero -----------------------------------------


def unbalanced_journal_ids(chama: Chama | None = None) -> list[int]:
    """Journals whose entries do not sum to zero (off by half a cent or more: SQLite sums in floating
    point), read from the entries alone."""
    inner, params = scope(chama, "chama_id")
    sql = f"""
        SELECT journal_id FROM {Entry._meta.db_table} WHERE 1 = 1{inner}
        GROUP BY journal_id HAVING ABS(SUM(amount)) >= 0.005 ORDER BY journal_id
    """
    return [journal_id for (journal_id,) in rows(sql, params)]


# --- account balances: the sum of their entries ---------------------------------------------------


def _account_sql(chama: Chama | None) -> tuple[str, list[int]]:
    inner, inner_params = scope(chama, "chama_id")
    outer, outer_params = scope(chama, "a.chama_id")
    sql = f"""
        SELECT a.id, a.chama_id, a.code, a.name, a.balance, COALESCE(s.total, 0) AS actual
        FROM {Account._meta.db_table} a
        LEFT JOIN (
            SELECT account_id, ROUND(SUM(amount), 2) AS total FROM {Entry._meta.db_table}
            WHERE 1 = 1{inner} GROUP BY account_id
        ) s ON s.account_id = a.id
        WHERE a.balance <> COALESCE(s.total, 0){outer}
    """
    return sql, [*inner_params, *outer_params]


def account_drift(chama: Chama | None = None) -> list[Drift]:
    sql, params = _account_sql(chama)
    found = []
    for pk, chama_id, code, name, balance, total in rows(f"{sql} ORDER BY a.chama_id, a.code", params):
        actual = money(total)
        found.append(
            Drift(
                f"account {code} {name}",
                chama_id,
                money(balance),
                actual,
                lambda pk=pk, value=actual: Account.objects.filter(pk=pk).update(balance=value),
            )
        )
    return found


def account_fix(chama: Chama | None = None) -> int:
    sql, params = _account_sql(chama)
    return execute(repair_update(Account._meta.db_table, "balance = d.actual", sql), params)


# --- dues: paid and waived amounts are the sums of their allocations ------------------------------


def _due_sql(chama: Chama | None) -> tuple[str, list[Any]]:
    inner, inner_params = scope(chama, "chama_id")
    outer, outer_params = scope(chama, "d.chama_id")
    sql = f"""
        SELECT d.id, d.chama_id, d.description, d.paid_amount, d.waived_amount,
               COALESCE(s.paid, 0) AS paid, COALESCE(s.waived, 0) AS waived
        FROM {Due._meta.db_table} d
        LEFT JOIN (
            SELECT due_id,
                   ROUND(SUM(CASE WHEN kind = %s THEN amount ELSE 0 END), 2) AS paid,
                   ROUND(SUM(CASE WHEN kind = %s THEN amount ELSE 0 END), 2) AS waived
            FROM {DueAllocation._meta.db_table} WHERE 1 = 1{inner} GROUP BY due_id
        ) s ON s.due_id = d.id
        WHERE (d.paid_amount <> COALESCE(s.paid, 0) OR d.waived_amount <> COALESCE(s.waived, 0)){outer}
    """
    kinds = [DueAllocation.Kind.PAYMENT.value, DueAllocation.Kind.WAIVER.value]
    return sql, [*kinds, *inner_params, *outer_params]


def due_drift(chama: Chama | None = None) -> list[Drift]:
    sql, params = _due_sql(chama)
    found = []
    for pk, chama_id, description, paid_amount, waived_amount, paid, waived in rows(f"{sql} ORDER BY d.id", params):
        actual = (money(paid), money(waived))
        found.append(
            Drift(
                f"due #{pk} {description} (paid, waived)",
                chama_id,
                (money(paid_amount), money(waived_amount)),
                actual,
                lambda pk=pk, a=actual: Due.objects.filter(pk=pk).update(paid_amount=a[0], waived_amount=a[1]),
            )
        )
    return found


def due_fix(chama: Chama | None = None) -> int:
    sql, params = _due_sql(chama)
    return execute(repair_update(Due._meta.db_table, "paid_amount = d.paid, waived_amount = d.waived", sql), params)


# --- loan installments: what was paid of each component is the sum of its repayment lines ---------

COMPONENTS = ("principal", "interest", "fee", "penalty")


def _installment_sql(chama: Chama | None) -> tuple[str, list[Any]]:
    inner, inner_params = scope(chama, "chama_id")
    outer, outer_params = scope(chama, "i.chama_id")
    sums = ", ".join(f"ROUND(SUM(CASE WHEN component = %s THEN amount ELSE 0 END), 2) AS {c}" for c in COMPONENTS)
    actual = ", ".join(f"COALESCE(s.{c}, 0) AS {c}" for c in COMPONENTS)
    differs = " OR ".join(f"i.{c}_paid <> COALESCE(s.{c}, 0)" for c in COMPONENTS)
    cached = ", ".join(f"i.{c}_paid" for c in COMPONENTS)
    sql = f"""
        SELECT i.id, i.chama_id, i.n, i.loan_id, {cached}, {actual}
        FROM {Installment._meta.db_table} i
        LEFT JOIN (
            SELECT installment_id, {sums} FROM {RepaymentLine._meta.db_table}
            WHERE 1 = 1{inner} GROUP BY installment_id
        ) s ON s.installment_id = i.id
        WHERE ({differs}){outer}
    """
    return sql, [*COMPONENTS, *inner_params, *outer_params]


def installment_drift(chama: Chama | None = None) -> list[Drift]:
    sql, params = _installment_sql(chama)
    found = []
    for pk, chama_id, n, loan_id, *values in rows(f"{sql} ORDER BY i.id", params):
        cached = tuple(money(v) for v in values[: len(COMPONENTS)])
        actual = tuple(money(v) for v in values[len(COMPONENTS) :])
        found.append(
            Drift(
                f"installment {n} of loan #{loan_id} (principal, interest, fee, penalty paid)",
                chama_id,
                cached,
                actual,
                lambda pk=pk, a=actual: Installment.objects.filter(pk=pk).update(
                    **{f"{c}_paid": v for c, v in zip(COMPONENTS, a, strict=True)}
                ),
            )
        )
    return found


def installment_fix(chama: Chama | None = None) -> int:
    sql, params = _installment_sql(chama)
    assignments = ", ".join(f"{c}_paid = d.{c}" for c in COMPONENTS)
    return execute(repair_update(Installment._meta.db_table, assignments, sql), params)


# --- a chama's members_count: its active memberships -----------------------------------------------


def _members_count_sql(chama: Chama | None) -> tuple[str, list[Any]]:
    inner, inner_params = scope(chama, "chama_id")
    outer, outer_params = scope(chama, "c.id")
    sql = f"""
        SELECT c.id, c.name, c.members_count, COALESCE(s.active, 0) AS actual
        FROM {Chama._meta.db_table} c
        LEFT JOIN (
            SELECT chama_id, COUNT(*) AS active FROM {Membership._meta.db_table}
            WHERE status = %s{inner} GROUP BY chama_id
        ) s ON s.chama_id = c.id
        WHERE c.members_count <> COALESCE(s.active, 0){outer}
    """
    return sql, [MembershipStatus.ACTIVE.value, *inner_params, *outer_params]


def members_count_drift(chama: Chama | None = None) -> list[Drift]:
    sql, params = _members_count_sql(chama)
    return [
        Drift(
            f"members_count of {name}",
            pk,
            cached,
            actual,
            lambda pk=pk, value=actual: Chama.objects.filter(pk=pk).update(members_count=value),
        )
        for pk, name, cached, actual in rows(f"{sql} ORDER BY c.id", params)
    ]


def members_count_fix(chama: Chama | None = None) -> int:
    sql, params = _members_count_sql(chama)
    return execute(repair_update(Chama._meta.db_table, "members_count = d.actual", sql), params)


# --- every kind -------------------------------------------------------------------------------------

KINDS = [
    DriftKind("account balances", account_drift, account_fix),
    DriftKind("dues paid and waived", due_drift, due_fix),
    DriftKind("installments paid", installment_drift, installment_fix),
    DriftKind("members counts", members_count_drift, members_count_fix),
]
# Caches kept by higher apps (e.g. attendance percentages) register their kind here at start-up.
EXTRA_KINDS: list[DriftKind] = []


def register(kind: DriftKind) -> None:
    """Add a cache's check and repair to reconcile_balances (called from a higher app's ready())."""
    if kind.name not in {each.name for each in EXTRA_KINDS}:
        EXTRA_KINDS.append(kind)


CHECKS_AT_ONCE = 3


def _on_own_connection(check: Callable[[Chama | None], Any], chama: Chama | None) -> Any:
    try:
        return check(chama)
    finally:
        connection.close()  # the thread's own connection, opened for this check


def run_checks(chama: Chama | None = None) -> tuple[list[int], dict[str, list[Drift]]]:
    """The journals that do not balance, and every kind's drift. On PostgreSQL, outside a
    transaction, the checks run at once on connections of their own: each is one statement,
    consistent in itself, and none depends on another. (Inside a transaction, as in a test, they
    run one after the other on its connection, which alone sees its rows.)"""
    checks = {"unbalanced journals": unbalanced_journal_ids}
    checks.update({kind.name: kind.find for kind in (*KINDS, *EXTRA_KINDS)})
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        results = {name: check(chama) for name, check in checks.items()}
    else:
        with ThreadPoolExecutor(max_workers=CHECKS_AT_ONCE) as pool:
            futures = {name: pool.submit(_on_own_connection, check, chama) for name, check in checks.items()}
            results = {name: future.result() for name, future in futures.items()}
    unbalanced = results.pop("unbalanced journals")
    return unbalanced, results


def drift_by_kind(chama: Chama | None = None) -> dict[str, list[Drift]]:
    """{kind's name: its drifted values} for every kind of cache: one query per kind."""
    return {kind.name: kind.find(chama) for kind in (*KINDS, *EXTRA_KINDS)}


def all_drift(chama: Chama | None = None) -> list[Drift]:
    """Every cached value that differs from its rows: one query per kind of cache."""
    return [item for found in drift_by_kind(chama).values() for item in found]


def fix_drift(chama: Chama | None = None, kinds: Collection[str] | None = None) -> int:
    """Write every re-derived value: one UPDATE per kind of cache (only `kinds`, by name, when
    given: those found drifting); returns the rows written."""
    return sum(kind.fix(chama) for kind in (*KINDS, *EXTRA_KINDS) if kinds is None or kind.name in kinds)
