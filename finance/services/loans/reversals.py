"""What reversing a loan's journal must check before and undo after."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Sum

from chama.money import ZERO
from finance.locking import lock_loan
from finance.models import Guarantee, Installment, Journal, Loan
from finance.selectors.loans import current_installments
from finance.services.loans.repayment import apply_lines


def check_reversible(original: Journal) -> None:
    """Refuse, before anything is posted, a reversal that would leave the loan inconsistent."""
    if original.kind == Journal.Kind.LOAN_DISBURSEMENT:
        repaid = original.loan.repayment_lines.aggregate(total=Sum("amount"))["total"] or ZERO
        if repaid:
            raise ValidationError("Repayments were made on this loan: reverse them before the disbursement.")
    if original.kind == Journal.Kind.LOAN_WRITE_OFF:
        raise ValidationError("A write-off is not reversed; record money received later as a recovery.")
    lines = original.repayment_lines.select_related("installment")
    if lines.exists():
        if original.loan.status == Loan.Status.WRITTEN_OFF:
            raise ValidationError("This loan was written off after that payment: it cannot be reversed any more.")
        if any(line.installment.version != original.loan.schedule_version for line in lines):
            raise ValidationError("The loan was rescheduled after that payment: it cannot be reversed any more.")


def undo_for_reversal(original: Journal, reversal: Journal) -> None:
    """What a reversal of a loan journal must undo besides the entries (called by journal_reverse)."""
    loan = lock_loan(original.loan_id)
    if original.kind == Journal.Kind.LOAN_DISBURSEMENT:
        current_installments(loan=loan).update(status=Installment.Status.CANCELLED)
        loan.status, loan.disbursed_date, loan.disbursement_journal = Loan.Status.APPROVED, None, None
        loan.schedule_version += 1
        loan.save()
        return
    lines = list(original.repayment_lines.select_related("installment"))
    if not lines:
        return
    if loan.status == Loan.Status.CLOSED:
        for row in current_installments(loan=loan):
            if row.interest_forgiven:
                row.interest_forgiven = ZERO
                row.save(update_fields=["interest_forgiven", "updated_date"])
        loan.status, loan.closed_date = Loan.Status.ACTIVE, None
        loan.save(update_fields=["status", "closed_date", "updated_date"])
        # The guarantees released at closing pledge the guarantors' savings again.
        loan.guarantees.filter(status=Guarantee.Status.RELEASED, decided_date__isnull=False).update(
            status=Guarantee.Status.ACCEPTED
        )
    apply_lines(
        loan, reversal, [(line.installment, line.component, -line.amount) for line in lines], loan.chama.today()
    )
    if original.kind == Journal.Kind.GUARANTOR_RECOVERY:
        guarantee = loan.guarantees.get(guarantor=original.membership)
        guarantee.recovered_amount -= sum(line.amount for line in lines)
        guarantee.status = Guarantee.Status.ACCEPTED if not guarantee.recovered_amount else guarantee.status
        guarantee.save(update_fields=["recovered_amount", "status", "updated_date"])
