"""Row locks: the only place that calls `select_for_update` (with `chama.rows`, which writes the same
lock clause for the posting path's hand-written reads), and the order every transaction takes them in.

A transaction that locks more than one row takes them in this order:

1. the chama (`groups.locking.lock_chama`): its register, member numbers and cashbook change one at a time;
2. a membership (`groups.locking.lock_membership`, several by primary key): a member's books change one
   posting at a time;
3. the row being acted on (`lock_row`: a loan, withdrawal, waiver, guarantee, meeting, proposal…) and the
   rows under it, by primary key (`finance.locking`: a loan's installments, a member's dues);
4. the head of the chama's chain of journals (`finance.locking.lock_chain`): every posting takes it,
   so a chama's journals are chained one at a time;
5. the ledger accounts, by primary key, last: `post_journal` locks them when it moves their balances
   (`finance.locking.lock_accounts`). A collection sheet (`finance.services.ledger.all_or_nothing`)
   takes the same steps up front for all its postings: its members, the loans it repays, then the
   chain, then the chama's accounts and its members' accounts.

Why: two transactions that take their locks in the same order may wait for each other, never for each
other in a cycle, so PostgreSQL never has to abort one of them as a deadlock. Rows of one kind are locked
by primary key ascending for the same reason (two payments touching the same three accounts lock them in
the same sequence). Where a service locks a decided row before its member (a withdrawal being paid, a
guarantee being accepted), no transaction takes that pair the other way round.

Advisory locks (`advisory_lock`) guard work rather than rows: a scheduled job for one chama
(`chama.jobs`) takes PostgreSQL's session advisory lock keyed on (a hash of the job's name, the
chama's id) with `pg_try_advisory_lock`, so a second run of the same job for the same chama, started
at the same time by another scheduler, worker or shell, does not wait: it is told the lock is held and
skips that chama. The lock is released when the block ends (or the connection closes), never held by a
transaction, so it does not change the transactions the job's services open. It is taken outside any
row lock, before them: a job's own row locks follow the order above. On SQLite (development, tests)
there is one writer at a time anyway and the helper always grants the lock.

Locks are on the row's own table only (`of=("self",)`): rows joined by `select_related` are read, not
locked, so a nullable join (an outer join, which PostgreSQL will not lock) never fails the query.
`no_key=True` takes FOR NO KEY UPDATE: inserts of rows that point at the locked one (journals, entries,
dues) are not held up by it.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import connection

if TYPE_CHECKING:
    from django.db.models import Model, QuerySet

_M = TypeVar("_M", bound="Model")


def _locking(queryset: QuerySet[_M], no_key: bool) -> QuerySet[_M]:
    return queryset.select_for_update(of=("self",), no_key=no_key)


def lock_row(queryset: QuerySet[_M], *, no_key: bool = False, **lookup: Any) -> _M:
    """The one row of `queryset` matching `lookup`, locked (DoesNotExist when there is none)."""
    return _locking(queryset, no_key).get(**lookup)


def lock_first(queryset: QuerySet[_M], *, no_key: bool = False) -> _M | None:
    """The first row of `queryset` by primary key, locked, or None."""
    return _locking(queryset, no_key).order_by("pk").first()


def lock_rows(queryset: QuerySet[_M], *, no_key: bool = False) -> list[_M]:
    """Every row of `queryset`, locked in primary key order, as a list in that order."""
    return list(_locking(queryset, no_key).order_by("pk"))


def lock_values(queryset: QuerySet[_M], *fields: str, no_key: bool = False) -> list[tuple[Any, ...]]:
    """Lock every row of `queryset` in primary key order and read only `fields` of each (as
    tuples, in that order): no model is built where the lock is what matters."""
    return list(_locking(queryset, no_key).order_by("pk").values_list(*fields))


def advisory_key(name: str) -> int:
    """The 32-bit signed key of a job's name (CRC-32, stable across processes and releases)."""
    key = zlib.crc32(name.encode())
    return key - (1 << 32) if key >= 1 << 31 else key


@contextmanager
def advisory_lock(name: str, *, chama_id: int | None = None) -> Iterator[bool]:
    """Hold the advisory lock of job `name` for one chama (`chama_id` None: the job as a whole,
    keyed 0) for the block; yields False, holding nothing, when another session holds it."""
    if connection.vendor != "postgresql":
        yield True
        return
    keys = (advisory_key(name), chama_id or 0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", keys)
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", keys)
