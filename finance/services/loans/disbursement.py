"""Paying an approved loan out and starting its schedule."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.db import transaction

from chama.money import ZERO, shown
from chama.transitions import locked_in_status
from finance.locking import loan_rows
from finance.models import Journal, Loan, LoanProduct
from finance.services import ledger
from finance.services.loans.common import A, write_schedule

if TYPE_CHECKING:
    from chama.models import User


def loan_disburse(*, loan: Loan, by: User, method: str, value_date: date | None = None, reference: str = "") -> Loan:
    """Pay the loan out: Dr the loan's receivable, Cr cash (and fee income for a deducted fee);
    the schedule starts from this day."""
    with transaction.atomic():
        loan = locked_in_status(
            loan_rows(),
            pk=loan.pk,
            allowed=Loan.Status.APPROVED,
            by=by,
            action="disburse_loan",
            refusal="Only an approved loan can be disbursed.",
        )
        chama = loan.chama
        value_date = value_date or chama.today()
        deducted = loan.fee if loan.fee_mode == LoanProduct.FeeMode.DEDUCTED else ZERO
        lines = [
            (ledger.loan_account(loan), loan.principal),
            (ledger.method_account(chama, method), -(loan.principal - deducted)),
        ]
        if deducted:
            lines.append((ledger.chama_account(chama, A.FEE_INCOME), -deducted))
        loan.disbursement_journal = ledger.post_journal(
            chama=chama,
            kind=Journal.Kind.LOAN_DISBURSEMENT,
            value_date=value_date,
            lines=lines,
            created_by=by,
            membership=loan.membership,
            loan=loan,
            external_reference=reference,
            memo=f"Loan #{loan.pk} disbursed ({method}){f', fee {shown(deducted)} deducted' if deducted else ''}",
        )
        write_schedule(
            loan,
            loan.principal,
            loan.installments_count,
            value_date,
            fee=loan.fee if loan.fee_mode == LoanProduct.FeeMode.ADDED else ZERO,
        )
        loan.status = Loan.Status.ACTIVE
        loan.disbursed_date = value_date
        loan.save()
    return loan
