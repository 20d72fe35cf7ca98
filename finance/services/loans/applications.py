"""Applying for a loan, guarantors pledging their savings, officers approving or rejecting."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from chama import authority
from chama.locking import lock_row
from chama.money import shown, to_money
from chama.transitions import locked_in_status, move
from finance.locking import loan_rows
from finance.models import Guarantee, Loan, LoanApproval, LoanProduct
from finance.selectors.loans import approvals_needed, coverage_gaps, free_savings
from finance.services.loans.common import release_guarantees
from finance.services.loans.eligibility import eligibility
from finance.services.loans.quotes import check_product_limits, processing_fee
from groups import signatures
from groups.locking import lock_membership

if TYPE_CHECKING:
    from chama.models import User
    from groups.models import Membership


def loan_apply(
    *,
    membership: Membership,
    product: LoanProduct,
    principal: Decimal,
    installments: int,
    by: User,
    purpose: str = "",
    guarantors: Iterable[tuple[Membership, Decimal]] = (),
) -> Loan:
    """A member applies (or an officer applies for them); guarantors are asked at once."""
    chama = membership.chama
    if by.pk != membership.user_id:
        authority.require(by, "act_for_member", chama=chama)
    if product.chama_id != chama.pk or not product.is_active:
        raise ValidationError({"product": "Pick an active loan product of this chama."})
    principal = to_money(principal)
    check_product_limits(product, principal, installments)
    with transaction.atomic():
        lock_membership(membership.pk)
        check = eligibility(membership, product)
        if not check.eligible:
            failed = "; ".join(rule.reason for rule in check.rules if not rule.passed)
            raise ValidationError(f"Not eligible: {failed}")
        if principal > check.max_amount:
            raise ValidationError(
                {
                    "principal": f"The most {membership.user.get_full_name()} may borrow now is {shown(check.max_amount)}."
                }
            )
        loan = Loan.objects.create(
            chama=chama,
            membership=membership,
            product=product,
            principal=principal,
            purpose=purpose,
            interest_method=product.interest_method,
            interest_rate=product.interest_rate,
            rate_period=product.rate_period,
            repayment_frequency=product.repayment_frequency,
            installments_count=installments,
            rounding=product.rounding,
            installment_multiple=product.installment_multiple,
            fee=processing_fee(product, principal),
            fee_mode=product.fee_mode,
            applied_by=by,
        )
        for guarantor, amount in guarantors:
            guarantee_request(loan=loan, guarantor=guarantor, amount=amount)
        signatures.ask(
            loan,
            "approve_loan",
            asked_by=by,
            key=f"loan-{loan.pk}",
            what=f"loan #{loan.pk} of {shown(principal, chama.currency)} for {membership.member_number}",
        )
    return loan


def guarantee_request(*, loan: Loan, guarantor: Membership, amount: Decimal) -> Guarantee:
    if guarantor.chama_id != loan.chama_id or guarantor.pk == loan.membership_id:
        raise ValidationError({"guarantors": "A guarantor must be another member of the chama."})
    amount = to_money(amount)
    if amount <= 0:
        raise ValidationError({"guarantors": "A guarantee must be more than zero."})
    return Guarantee.objects.create(chama=loan.chama, loan=loan, guarantor=guarantor, amount=amount)


def guarantee_accept(*, guarantee: Guarantee, by: User) -> Guarantee:
    """The guarantor pledges that much of their savings, which they cannot then withdraw."""
    with transaction.atomic():
        guarantee = lock_row(Guarantee.objects.select_related("guarantor", "loan"), pk=guarantee.pk)
        if by.pk != guarantee.guarantor.user_id:
            raise ValidationError("Only the guarantor can accept this request.")
        if guarantee.status != Guarantee.Status.REQUESTED or guarantee.loan.status != Loan.Status.APPLIED:
            raise ValidationError("This guarantee request is no longer open.")
        lock_membership(guarantee.guarantor_id)
        available = free_savings(membership=guarantee.guarantor)
        if guarantee.amount > available:
            raise ValidationError(
                {"amount": f"Your free savings are {shown(available)}; you cannot pledge {shown(guarantee.amount)}."}
            )
        move(guarantee, Guarantee.Status.ACCEPTED, decided_date=timezone.now())
    return guarantee


def guarantee_decline(*, guarantee: Guarantee, by: User) -> Guarantee:
    with transaction.atomic():
        guarantee = lock_row(Guarantee.objects.select_related("guarantor"), pk=guarantee.pk)
        if by.pk != guarantee.guarantor.user_id:
            raise ValidationError("Only the guarantor can decline this request.")
        if guarantee.status != Guarantee.Status.REQUESTED:
            raise ValidationError("This guarantee request is no longer open.")
        move(guarantee, Guarantee.Status.DECLINED, decided_date=timezone.now())
    return guarantee


def loan_approve(*, loan: Loan, by: User, comment: str = "") -> Loan:
    """An officer approves; once the chama's number of officers have, the loan awaits disbursement."""
    with transaction.atomic():
        loan = locked_in_status(
            loan_rows(),
            pk=loan.pk,
            allowed=Loan.Status.APPLIED,
            by=by,
            action="approve_loan",
            refusal="This loan is {status}; it cannot be approved now.",
        )
        approved = loan.approvals.filter(decision=LoanApproval.Decision.APPROVE).values_list("officer_id", flat=True)
        authority.require_distinct(by, [loan.applied_by_id, *approved], "loan")
        gaps = coverage_gaps(loan=loan)
        if gaps:
            raise ValidationError("Guarantees are not complete: " + " ".join(gaps))
        LoanApproval.objects.create(
            chama=loan.chama, loan=loan, officer=by, decision=LoanApproval.Decision.APPROVE, comment=comment
        )
        if loan.approvals.filter(decision=LoanApproval.Decision.APPROVE).count() >= approvals_needed(loan=loan):
            move(loan, Loan.Status.APPROVED)
    return loan


def loan_reject(*, loan: Loan, by: User, comment: str = "") -> Loan:
    with transaction.atomic():
        loan = locked_in_status(
            loan_rows(),
            pk=loan.pk,
            allowed=(Loan.Status.APPLIED, Loan.Status.APPROVED),
            by=by,
            action="approve_loan",
            refusal="This loan is {status}; it cannot be rejected now.",
        )
        LoanApproval.objects.create(
            chama=loan.chama, loan=loan, officer=by, decision=LoanApproval.Decision.REJECT, comment=comment
        )
        move(loan, Loan.Status.REJECTED)
        release_guarantees(loan)
    return loan
