"""Reads about dues: what members owe, and the contribution matrix."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from chama.money import ZERO
from chama.roles import MembershipStatus
from finance.models import Due
from groups.models import Chama


def owed_by_member(*, chama: Chama) -> dict[tuple[int, str], Decimal]:
    """{(membership id, "contributions" or "fines"): outstanding} over the chama's open dues, in one query."""
    owed: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
    for due in Due.objects.filter(chama=chama, status__in=Due.OPEN_STATUSES).only(
        "membership_id", "kind", "amount", "paid_amount", "waived_amount"
    ):
        owed[(due.membership_id, "fines" if due.kind == Due.Kind.FINE else "contributions")] += due.outstanding
    return dict(owed)


def dues_matrix(*, chama: Chama, kind: str, periods_shown: int = 12) -> dict:
    """The last `periods_shown` periods as columns, members as rows (each cell the member's dues of
    that period); two queries."""
    due_list = list(
        Due.objects.filter(chama=chama, kind=kind)
        .exclude(status=Due.Status.CANCELLED)
        .only("membership_id", "period_label", "due_date", "amount", "paid_amount", "waived_amount", "status")
    )
    labels = sorted(
        {
            (
                due.due_date if kind == Due.Kind.FINE else due.period_start or due.due_date,
                due.period_label or f"{due.due_date}",
            )
            for due in due_list
        }
    )
    columns = [label for _, label in labels][-periods_shown:]
    cells = defaultdict(list)
    for due in due_list:
        cells[(due.membership_id, due.period_label or f"{due.due_date}")].append(due)
    members = (
        chama.memberships.exclude(status=MembershipStatus.PENDING).select_related("user").order_by("member_number")
    )
    rows = [{"membership": m, "cells": [cells.get((m.pk, column), []) for column in columns]} for m in members]
    return {"columns": columns, "rows": rows, "chama": chama}
