"""Reads about merry-go-rounds: a cycle's board."""

from __future__ import annotations

from typing import Any

from finance import periods
from finance.models import Due, RoscaBid, RoscaCycle, RoscaPayout


def rosca_rounds(*, cycle: RoscaCycle) -> list[dict[str, Any]]:
    """The cycle's rounds in order, in two queries: each one's position, date, recipient (their
    membership) and payout (paid or waiting for a signature; None when not paid out)."""
    payouts = {
        p.slot_id: p for p in cycle.payouts.filter(top_up_of__isnull=True).exclude(status=RoscaPayout.Status.REJECTED)
    }
    return [
        {
            "position": slot.position,
            "date": cycle.round_date(slot.position),
            "recipient": slot.membership,
            "payout": payouts.get(slot.pk),
        }
        for slot in cycle.slots.select_related("membership__user").order_by("position")
    ]


def rosca_board(*, cycle: RoscaCycle) -> dict[str, Any]:
    """Rounds × members of a cycle, in three queries whatever their number: the rounds
    (`rosca_rounds`); for each member on the roster, their due for each round (None when not raised
    yet), the round in which they receive the pot, and whether they are late after receiving it."""
    rounds = rosca_rounds(cycle=cycle)
    cells: dict[tuple[int, int], Due] = {}
    plan = cycle.plan
    if plan is not None:
        round_of = {
            periods.period_containing(each["date"], plan.frequency, plan.due_day, plan.start_date).start: each[
                "position"
            ]
            for each in rounds
        }
        for due in (
            Due.objects.filter(chama_id=cycle.chama_id, plan=plan)
            .exclude(status=Due.Status.CANCELLED)
            .only("membership_id", "period_start", "amount", "paid_amount", "waived_amount", "status")
        ):
            position = round_of.get(due.period_start)
            if position is not None:
                cells[(due.membership_id, position)] = due
    rows = []
    for each in rounds:
        row_cells = [cells.get((each["recipient"].pk, other["position"])) for other in rounds]
        received = each["payout"] is not None and each["payout"].status == RoscaPayout.Status.PAID
        rows.append(
            {
                "membership": each["recipient"],
                "receives": each["position"],
                "cells": row_cells,
                # Flagged: late with the rounds after receiving the pot (recoverable from savings).
                "late_after_receiving": received
                and any(due is not None and due.status == Due.Status.OVERDUE for due in row_cells),
            }
        )
    return {"rounds": rounds, "rows": rows}


def rosca_bids(*, cycle: RoscaCycle) -> list[RoscaBid]:
    """The bids for rounds not paid out yet, each round's highest (then earliest) first."""
    paid = cycle.payouts.filter(top_up_of__isnull=True).exclude(status=RoscaPayout.Status.REJECTED)
    taken = set(paid.values_list("slot__position", flat=True))
    rows = (
        RoscaBid.objects.filter(cycle=cycle)
        .select_related("membership")
        .order_by("position", "-discount", "updated_date", "id")
    )
    return [row for row in rows if row.position not in taken]
