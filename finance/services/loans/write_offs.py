"""What happens to a loan in default: recovery from its guarantors, write-off with a second officer, and money recovered after."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction

from chama import authority
from chama.money import ZERO, shown, to_money
from chama.transitions import locked_in_status, move
from finance.locking import loan_rows
from finance.models import Account, Guarantee, Installment, Journal, Loan, LoanApproval
from finance.selectors.loans import (
    current_installments,
    outstanding_principal,
    recovered_after_write_off,
    written_off_amount,
)
from finance.services import ledger
from finance.services.loans.common import A, release_guarantees
from finance.services.loans.repayment import apply_lines, close_loan
from groups import signatures
from groups.locking import lock_membership

if TYPE_CHECKING:
    from chama.models import User


def recover_from_guarantors(*, loan: Loan, by: User) -> list:
    """Take a defaulted loan's outstanding principal from its guarantors' pledged savings:
    Dr the guarantor's savings, Cr the loan's receivable, oldest installments first."""
    journals = []
    with transaction.atomic():
        loan = locked_in_status(
            loan_rows(),
            pk=loan.pk,
            allowed=Loan.Status.DEFAULTED,
            by=by,
            action="recover_loan",
            refusal="Only a loan in default is recovered from its guarantors.",
        )
        chama = loan.chama
        as_of = chama.today()
        for guarantee in loan.guarantees.filter(status=Guarantee.Status.ACCEPTED).select_related(
            "guarantor__user", "guarantor__chama"
        ):
            remaining = outstanding_principal(loan=loan)
            if remaining <= 0:
                break
            lock_membership(guarantee.guarantor_id)
            # Savings are credit balances: ascending order puts the largest first.
            accounts = Account.objects.filter(
                membership=guarantee.guarantor, purpose=A.MEMBER_SAVINGS, balance__lt=0
            ).order_by("balance")
            wanted = min(guarantee.amount - guarantee.recovered_amount, remaining)
            lines = []
            for account in accounts:
                part = min(wanted - sum((amount for _, amount in lines), ZERO), account.normal_balance)
                if part > 0:
                    lines.append((account, part))
            take = sum((amount for _, amount in lines), ZERO)
            if take <= 0:
                continue
            journal = ledger.post_journal(
                chama=chama,
                kind=Journal.Kind.GUARANTOR_RECOVERY,
                value_date=as_of,
                created_by=by,
                loan=loan,
                membership=guarantee.guarantor,
                memo=f"Loan #{loan.pk} recovered from guarantor {guarantee.guarantor.member_number}",
                lines=[*lines, (ledger.loan_account(loan), -take)],
            )
            plan = [(row, component, part) for row, component, part in _principal_plan(loan, take)]
            apply_lines(loan, journal, plan, as_of)
            guarantee.recovered_amount += take
            guarantee.status = Guarantee.Status.CALLED
            guarantee.save(update_fields=["recovered_amount", "status", "updated_date"])
            journals.append(journal)
        if outstanding_principal(loan=loan) <= 0:
            close_loan(loan, as_of)
    return journals


def _principal_plan(loan: Loan, amount: Decimal) -> list[tuple[Installment, str, Decimal]]:
    plan, remaining = [], amount
    for row in current_installments(loan=loan).filter(status__in=Installment.OPEN_STATUSES):
        take = min(remaining, row.owed("principal"))
        if take > 0:
            plan.append((row, "principal", take))
            remaining -= take
    return plan


def write_off_request(*, loan: Loan, by: User, reason: str) -> Loan:
    with transaction.atomic():
        loan = locked_in_status(
            loan_rows(),
            pk=loan.pk,
            allowed=Loan.OUTSTANDING_STATUSES,
            by=by,
            action="write_off_loan",
            refusal="Only an outstanding loan can be written off.",
        )
        if not (reason or "").strip():
            raise ValidationError({"reason": "Say why the loan is written off."})
        loan.write_off_requested_by, loan.write_off_reason = by, reason
        loan.save(update_fields=["write_off_requested_by", "write_off_reason", "updated_date"])
        signatures.ask(
            loan,
            "approve_write_off",
            asked_by=by,
            key=f"write-off-{loan.pk}",
            what=f"the write-off of loan #{loan.pk} ({loan.membership.member_number})",
        )
    return loan


def _locked_write_off_request(loan: Loan, by: User) -> Loan:
    """The loan, locked for the second officer deciding the write-off asked for on it."""
    no_request = "No write-off has been asked for on this loan."
    loan = locked_in_status(
        loan_rows(),
        pk=loan.pk,
        allowed=Loan.OUTSTANDING_STATUSES,
        by=by,
        action="approve_write_off",
        refusal=no_request,
    )
    if loan.write_off_requested_by_id is None:
        raise ValidationError(no_request)
    return loan


def write_off_reject(*, loan: Loan, by: User) -> Loan:
    """A second officer refuses the write-off asked for: the loan stays outstanding."""
    with transaction.atomic():
        loan = _locked_write_off_request(loan, by)
        loan.write_off_requested_by, loan.write_off_reason = None, ""
        loan.save(update_fields=["write_off_requested_by", "write_off_reason", "updated_date"])
    return loan


def write_off_approve(*, loan: Loan, by: User) -> Loan:
    """A second officer approves: Dr loan losses, Cr the loan's receivable (its outstanding principal)."""
    with transaction.atomic():
        loan = _locked_write_off_request(loan, by)
        chama = loan.chama
        authority.require_distinct(by, [loan.write_off_requested_by_id], "write-off")
        principal = outstanding_principal(loan=loan)
        as_of = chama.today()
        if principal > 0:
            ledger.post_journal(
                chama=chama,
                kind=Journal.Kind.LOAN_WRITE_OFF,
                value_date=as_of,
                created_by=by,
                loan=loan,
                membership=loan.membership,
                memo=f"Loan #{loan.pk} written off: {loan.write_off_reason}",
                lines=[(ledger.chama_account(chama, A.LOAN_LOSS), principal), (ledger.loan_account(loan), -principal)],
            )
        LoanApproval.objects.create(chama=chama, loan=loan, officer=by, decision=LoanApproval.Decision.WRITE_OFF)
        current_installments(loan=loan).filter(status__in=Installment.OPEN_STATUSES).update(
            status=Installment.Status.WRITTEN_OFF
        )
        move(loan, Loan.Status.WRITTEN_OFF, closed_date=as_of)
        release_guarantees(loan)
    return loan


def recovery_record(
    *, loan: Loan, amount: Decimal, method: str, by: User, value_date: date | None = None, reference: str = ""
) -> Journal:
    """Money received on a written-off loan: Dr cash, Cr recoveries income, up to what was written off."""
    amount = to_money(amount)
    with transaction.atomic():
        loan = locked_in_status(
            loan_rows(),
            pk=loan.pk,
            allowed=Loan.Status.WRITTEN_OFF,
            by=by,
            action="recover_loan",
            refusal="Recoveries are recorded on written-off loans; repay an active loan instead.",
        )
        chama = loan.chama
        open_amount = written_off_amount(loan=loan) - recovered_after_write_off(loan=loan)
        if amount <= 0 or amount > open_amount:
            raise ValidationError({"amount": f"At most {shown(open_amount)} of this loan is still to recover."})
        return ledger.post_journal(
            chama=chama,
            kind=Journal.Kind.LOAN_RECOVERY,
            value_date=value_date or chama.today(),
            created_by=by,
            loan=loan,
            membership=loan.membership,
            external_reference=reference,
            memo=f"Recovery on written-off loan #{loan.pk}",
            lines=[
                (ledger.method_account(chama, method), amount),
                (ledger.chama_account(chama, A.RECOVERIES_INCOME), -amount),
            ],
        )
