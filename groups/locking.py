"""Locks on a chama and its memberships, the first two steps of the order in `chama.locking`."""

from __future__ import annotations

from collections.abc import Iterable

from chama import rows
from chama.locking import lock_row
from groups.models import Chama, Membership


def lock_chama(pk: int, *, no_key: bool = True) -> Chama:
    """The chama's row. No key by default: payments inserting rows that point at the chama go on;
    `no_key=False` also holds those up (a status change, a member admitted)."""
    return lock_row(Chama.objects.all(), no_key=no_key, pk=pk)


def lock_membership(pk: int) -> None:
    """The membership row alone (no join to the chama), the aggregate of a member's books."""
    lock_memberships([pk])


def lock_memberships(ids: Iterable[int]) -> None:
    """Several memberships, by primary key (no key: rows pointing at them can still be inserted).
    In SQL written once (`chama.rows`): every payment starts here."""
    ids = list(ids)
    if ids:
        where = f"{rows.col(Membership, 'id')} IN {rows.in_list(ids)}"
        rows.fetch_values(Membership, ["id"], where, ids, lock=rows.NO_KEY_UPDATE)
