"""The steps every decision on a row begins and ends with: lock the row, ask the authority, check the
row is still in a status the decision can move it from; then move it and save what changed.

    with transaction.atomic():
        waiver = locked_in_status(Waiver.objects.select_related("chama"), pk=waiver.pk,
                                  allowed=Waiver.Status.PENDING, by=by, action="approve_waiver")
        ...
        move(waiver, Waiver.Status.REJECTED, approved_by=by, decided_date=timezone.now())

Two officers deciding the same row at once queue on its lock; the second finds it decided and is
told so, in the words of `refusal`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet

from chama import authority
from chama.locking import lock_row

if TYPE_CHECKING:
    from chama.models import User

ALREADY = "This {what} is already {status}."


def locked_in_status(
    queryset: QuerySet,
    *,
    pk: int,
    allowed: str | Collection[str],
    by: User | None = None,
    action: str | None = None,
    on_chama: bool = False,
    refusal: str = ALREADY,
) -> Model:
    """The row `pk` of `queryset`, locked, once `by` may take `action` on it (on its chama when
    `on_chama`: the action is the chama's, not the row's) and its status is `allowed` (one or several).
    `refusal` may name {what} (the row's kind) and {status} (where it stands)."""
    row = lock_row(queryset, pk=pk)
    if action is not None:
        if on_chama:
            authority.require(by, action, chama=row.chama)
        else:
            authority.require(by, action, row)
    statuses = {allowed} if isinstance(allowed, str) else set(allowed)
    if row.status not in statuses:
        raise ValidationError(
            refusal.format(what=row._meta.verbose_name, status=row.get_status_display().lower()), code="status"
        )
    return row


def move(row: Model, status: str, **fields: object) -> Model:
    """Give `row` its new `status` and `fields`, and save those (and the time it changed)."""
    row.status = status
    for name, value in fields.items():
        setattr(row, name, value)
    row.save(update_fields=["status", *fields, "updated_date"])
    return row
