"""Repayments: allocation over the installments in the product's order, up to the payoff; closing a paid-off loan."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db.models import F
from django.db.models.functions import Round

from chama import authority
from chama.money import ZERO, positive_money, shown
from chama.transitions import locked_in_status
from finance.locking import loan_rows, lock_installments
from finance.models import Account, Installment, Journal, Loan, RepaymentLine
from finance.selectors.loans import current_installments, owed_now, payoff_amount
from finance.services import ledger, value_dates
from finance.services.loans.common import COMPONENT_INCOME, release_guarantees

if TYPE_CHECKING:
    from chama.models import User


def _allocate(loan: Loan, amount: Decimal, as_of: date) -> tuple[list[tuple[Installment, str, Decimal]], Decimal]:
    """[(installment, component, amount)] spreading `amount` over due installments oldest first, in
    the product's order, then over the principal (and fees) of installments not yet due."""
    order = loan.product.order
    open_rows = lock_installments(current_installments(loan=loan).filter(status__in=Installment.OPEN_STATUSES))
    plan, remaining = [], amount
    due = [row for row in open_rows if row.due_date <= as_of]
    for row in due + [row for row in open_rows if row.due_date > as_of]:
        for component in order:
            take = min(remaining, owed_now(row=row, component=component, as_of=as_of))
            if take > 0:
                plan.append((row, component, take))
                remaining -= take
    return plan, remaining


def apply_lines(loan: Loan, journal: Journal, plan: Sequence[tuple[Installment, str, Decimal]], as_of: date) -> None:
    """Record the repayment lines and move the installments' paid caches and status with them."""
    RepaymentLine.objects.append(
        [
            RepaymentLine(
                chama_id=loan.chama_id, loan=loan, installment=row, journal=journal, component=component, amount=amount
            )
            for row, component, amount in plan
        ]
    )
    per_row = defaultdict(lambda: defaultdict(lambda: ZERO))
    for row, component, amount in plan:
        per_row[row.pk][component] += amount
    for pk, amounts in per_row.items():
        Installment.objects.filter(pk=pk).update(
            **{f"{c}_paid": Round(F(f"{c}_paid") + v, 2) for c, v in amounts.items()}
        )
    refresh_statuses(loan, as_of)


def refresh_statuses(loan: Loan, as_of: date) -> None:
    for row in current_installments(loan=loan).exclude(
        status__in=[Installment.Status.WRITTEN_OFF, Installment.Status.CANCELLED]
    ):
        status = (
            Installment.Status.PAID
            if row.outstanding <= 0
            else Installment.Status.OVERDUE
            if row.due_date < as_of
            else Installment.Status.PARTIAL
            if row.principal_paid or row.interest_paid or row.fee_paid or row.penalty_paid
            else Installment.Status.PENDING
        )
        if status != row.status:
            row.status = status
            row.save(update_fields=["status", "updated_date"])


def loan_repay(
    *,
    loan: Loan,
    amount: Decimal,
    method: str,
    by: User,
    value_date: date | None = None,
    reference: str = "",
    idempotency_key: str = "",
    source_account: Account | None = None,
) -> Journal:
    """A repayment (Dr cash; Cr penalty, fee and interest income and the loan's principal, in the
    product's order). More than the payoff is refused; reaching it closes the loan."""
    authority.require(by, "record_payment", loan)
    amount = positive_money(amount, what="A repayment")
    membership = loan.membership

    def post():
        locked = _locked_outstanding(loan)
        return _repay(
            locked,
            amount,
            source_account=source_account or ledger.method_account(locked.chama, method),
            by=by,
            value_date=value_date,
            memo=f"Repayment of loan #{locked.pk} ({method})",
            reference=reference,
            idempotency_key=idempotency_key,
        )

    return ledger.post_once(
        membership, reference=reference, idempotency_key=idempotency_key, post=post, amount=amount, loan=loan
    )


def repay_from_share_out(
    *, loan: Loan, amount: Decimal, source_account: Account, by: User, value_date: date
) -> Journal:
    """The part of a member's share-out that settles their loan, taken from their shares account;
    the share-out's two officers are its authority (`savings_cycles`)."""
    return _repay(
        _locked_outstanding(loan),
        amount,
        source_account=source_account,
        by=by,
        value_date=value_date,
        memo=f"Repayment of loan #{loan.pk} from the share-out",
    )


def _locked_outstanding(loan: Loan) -> Loan:
    return locked_in_status(
        loan_rows(),
        pk=loan.pk,
        allowed=Loan.OUTSTANDING_STATUSES,
        refusal="This loan is {status}; it takes no repayments.",
    )


def _repay(
    locked: Loan,
    amount: Decimal,
    *,
    source_account: Account,
    by: User,
    value_date: date | None,
    memo: str,
    reference: str = "",
    idempotency_key: str = "",
) -> Journal:
    """Post a repayment of the locked loan from `source_account`: allocated in the product's order,
    never above the payoff; reaching the payoff closes the loan."""
    chama = locked.chama
    value_day = value_dates.check(chama, value_date or chama.today(), loan=locked)
    # What is owed is judged on the day the repayment is recorded, whatever its value date: a
    # backdated repayment never forgives interest or penalties that had fallen due by then.
    as_of = chama.today()
    payoff = payoff_amount(loan=locked, as_of=as_of)
    if amount > payoff:
        raise ValidationError({"amount": f"The payoff on {as_of:%d %b %Y} is {shown(payoff)}; pay at most that."})
    plan, _ = _allocate(locked, amount, as_of)
    totals = defaultdict(lambda: ZERO)
    for _, component, part in plan:
        totals[component] += part
    lines = [(source_account, amount)]
    if totals["principal"]:
        lines.append((ledger.loan_account(locked), -totals["principal"]))
    for component, purpose in COMPONENT_INCOME.items():
        if totals[component]:
            lines.append((ledger.chama_account(chama, purpose), -totals[component]))
    journal = ledger.post_journal(
        chama=chama,
        kind=Journal.Kind.LOAN_REPAYMENT,
        value_date=value_day,
        lines=lines,
        created_by=authority.person(by),
        membership=locked.membership,
        loan=locked,
        external_reference=reference,
        idempotency_key=idempotency_key,
        memo=memo,
    )
    apply_lines(locked, journal, plan, as_of)
    if amount == payoff:
        close_loan(locked, value_day)
    return journal


def close_loan(loan: Loan, as_of: date) -> None:
    """Paid off: interest of installments not yet due is forgiven, guarantees released."""
    for row in current_installments(loan=loan).filter(status__in=Installment.OPEN_STATUSES):
        row.interest_forgiven = row.interest - row.interest_paid
        row.status = Installment.Status.PAID
        row.save(update_fields=["interest_forgiven", "status", "updated_date"])
    loan.status = Loan.Status.CLOSED
    loan.closed_date = as_of
    loan.classification, loan.days_in_arrears = Loan.Classification.CURRENT, 0
    loan.save(update_fields=["status", "closed_date", "classification", "days_in_arrears", "updated_date"])
    release_guarantees(loan)
