"""Correcting a posted journal with a reversal journal that points at it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction

from chama import authority
from chama.locking import lock_row
from finance.locking import lock_dues
from finance.models import Due, DueAllocation, Journal, SharePurchase, Waiver, Withdrawal
from finance.services import ledger, loans
from finance.services.dues import record_allocations

if TYPE_CHECKING:
    from chama.models import User


def journal_reverse(*, journal: Journal, reason: str, by: User) -> Journal:
    """Post the mirror image of `journal` and undo what it settled (dues, shares, waivers)."""
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the journal is reversed."})
    with transaction.atomic():
        original = lock_row(Journal.objects.select_related("chama", "membership"), pk=journal.pk)
        chama = original.chama
        authority.require(by, "reverse_journal", original)
        if original.kind == Journal.Kind.REVERSAL:
            raise ValidationError("A reversal cannot itself be reversed; post the original transaction again instead.")
        if Journal.objects.filter(reversal_of=original).exists():
            raise ValidationError(f"Journal #{original.pk} has already been reversed.")
        charged = lock_dues(Due.objects.filter(charge_journal=original))
        if any(fine.paid_amount or fine.waived_amount for fine in charged):
            raise ValidationError("Some of these fines were paid or waived: reverse those payments or waivers first.")
        if original.loan_id:
            loans.check_reversible(original)
        reversal = ledger.post_journal(
            chama=chama,
            kind=Journal.Kind.REVERSAL,
            value_date=chama.today(),
            membership=original.membership,
            memo=f"Reversal of #{original.pk}: {reason}",
            created_by=by,
            reversal_of=original,
            loan=original.loan,
            lines=[(entry.account, -entry.amount) for entry in original.entries.select_related("account")],
        )
        if original.loan_id:
            loans.undo_for_reversal(original, reversal)
        _undo_allocations(original, reversal)
        _undo_share_purchases(original, reversal)
        for fine in charged:
            fine.status = Due.Status.CANCELLED
            fine.save(update_fields=["status", "updated_date"])
        Waiver.objects.filter(journal=original).update(status=Waiver.Status.REVERSED)
        Withdrawal.objects.filter(journal=original).update(status=Withdrawal.Status.APPROVED)
    return reversal


def _undo_allocations(original: Journal, reversal: Journal) -> None:
    for kind in DueAllocation.Kind.values:
        allocations = original.allocations.filter(kind=kind).select_related("due")
        record_allocations(original.chama, [(a.due, -a.amount) for a in allocations], kind, reversal)


def _undo_share_purchases(original: Journal, reversal: Journal) -> None:
    SharePurchase.objects.append(
        [
            # Dated like the purchase it cancels, so the per-meeting limit of that meeting is what changes.
            SharePurchase(
                chama=p.chama,
                membership=p.membership,
                journal=reversal,
                shares=-p.shares,
                share_price=p.share_price,
                value_date=p.value_date,
            )
            for p in original.share_purchases.all()
        ]
    )
