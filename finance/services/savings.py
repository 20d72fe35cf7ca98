"""Savings deposits and withdrawals, and share purchases."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum

from chama import authority
from chama.money import ZERO, positive_money, shown, to_money
from chama.transitions import locked_in_status, move
from finance.models import Account, Journal, SavingsType, Withdrawal
from finance.selectors import loans as loan_reads
from finance.selectors import savings as savings_reads
from finance.services import ledger
from finance.services.dues import default_savings_type
from finance.services.shares import SHARE_KINDS, check_per_meeting, purchase_record, terms
from groups import signatures
from groups.locking import lock_membership
from groups.models import Membership

if TYPE_CHECKING:
    from chama.models import User

A = Account.Purpose


def savings_deposit(
    *,
    membership: Membership,
    amount: Decimal,
    method: str,
    by: User,
    savings_type: SavingsType | None = None,
    value_date: date | None = None,
    reference: str = "",
    idempotency_key: str = "",
) -> Journal:
    """Money straight into a member's savings (outside the dues schedule)."""
    chama = membership.chama
    authority.require(by, "record_payment", membership)
    amount = positive_money(amount, what="A deposit")
    savings_type = savings_type or default_savings_type(chama)
    return ledger.post_once(
        membership,
        reference=reference,
        idempotency_key=idempotency_key,
        amount=amount,
        post=lambda: ledger.post_journal(
            chama=chama,
            kind=Journal.Kind.SAVINGS_DEPOSIT,
            value_date=value_date or chama.today(),
            memo=f"{savings_type.name} savings deposit ({method})",
            membership=membership,
            created_by=authority.person(by),
            external_reference=reference,
            idempotency_key=idempotency_key,
            lines=[
                (ledger.method_account(chama, method), amount),
                (ledger.member_account(membership, A.MEMBER_SAVINGS, savings_type), -amount),
            ],
        ),
    )


def _check_withdrawable(withdrawal: Withdrawal, today: date) -> None:
    savings_type = withdrawal.savings_type
    balance = savings_reads.savings_balance(membership=withdrawal.membership, savings_type=savings_type)
    if savings_type.locked_until and today < savings_type.locked_until:
        raise ValidationError(f"{savings_type} are locked until {savings_type.locked_until:%d %b %Y}.")
    pledged = loan_reads.pledged_savings(membership=withdrawal.membership)
    if pledged and loan_reads.savings_total(membership=withdrawal.membership) - pledged < withdrawal.amount:
        raise ValidationError(
            {
                "amount": (
                    f"{shown(pledged)} of these savings guarantee other members' loans and cannot be withdrawn; "
                    f"at most {shown(max(loan_reads.free_savings(membership=withdrawal.membership), ZERO))} is free."
                )
            }
        )
    if balance - withdrawal.amount < savings_type.minimum_balance:
        raise ValidationError(
            {
                "amount": f"{savings_type} hold {shown(balance)}; at least {shown(savings_type.minimum_balance)} must stay, "
                f"so at most {shown(max(balance - savings_type.minimum_balance, ZERO))} can be withdrawn."
            }
        )


def withdrawal_request(
    *, membership: Membership, amount: Decimal, by: User, savings_type: SavingsType | None = None, reason: str = ""
) -> Withdrawal:
    """A member (or an officer for them) asks to withdraw savings; the notice period starts now."""
    chama = membership.chama
    if by.pk != membership.user_id:
        authority.require(by, "act_for_member", chama=chama)
    amount = positive_money(amount, what="A withdrawal")
    savings_type = savings_type or default_savings_type(chama)
    today = chama.today()
    withdrawal = Withdrawal(
        chama=chama,
        membership=membership,
        savings_type=savings_type,
        amount=amount,
        reason=reason,
        requested_by=by,
        payable_from=today + timedelta(days=savings_type.withdrawal_notice_days),
    )
    _check_withdrawable(withdrawal, today)
    withdrawal.save()
    signatures.ask(
        withdrawal,
        "approve_withdrawal",
        asked_by=by,
        key=f"withdrawal-{withdrawal.pk}",
        what=f"a withdrawal of {shown(amount, chama.currency)} by {membership.member_number}",
    )
    return withdrawal


def withdrawn_in_window(withdrawal: Withdrawal) -> Decimal:
    """What else the member asked to withdraw (and was not refused) in the approval window."""
    return (
        Withdrawal.objects.filter(
            membership_id=withdrawal.membership_id,
            created_date__date__gte=signatures.window_start(withdrawal.chama),
        )
        .exclude(status=Withdrawal.Status.REJECTED)
        .exclude(pk=withdrawal.pk)
        .aggregate(total=Sum("amount"))["total"]
        or ZERO
    )


def approvals_needed(withdrawal: Withdrawal) -> int:
    """Two officers when the member's withdrawals in the window pass the threshold, else one."""
    return 2 if signatures.needs_second(withdrawal.chama, withdrawal.amount, withdrawn_in_window(withdrawal)) else 1


def withdrawal_approve(*, withdrawal: Withdrawal, by: User) -> Withdrawal:
    """An officer approves; above the chama's threshold two different officers must (maker–checker)."""
    with transaction.atomic():
        withdrawal = locked_in_status(
            Withdrawal.objects.select_related("chama__policy", "membership"),
            pk=withdrawal.pk,
            allowed=Withdrawal.Status.REQUESTED,
            by=by,
            action="approve_withdrawal",
        )
        authority.require_distinct(
            by, [withdrawal.requested_by_id, *withdrawal.approvals.values_list("pk", flat=True)], "withdrawal"
        )
        withdrawal.approvals.add(by)
        if withdrawal.approvals.count() >= approvals_needed(withdrawal):
            move(withdrawal, Withdrawal.Status.APPROVED)
        else:
            signatures.ask(
                withdrawal,
                "approve_withdrawal",
                asked_by=by,
                key=f"withdrawal-{withdrawal.pk}",
                what=f"a withdrawal of {shown(withdrawal.amount, withdrawal.chama.currency)} by "
                f"{withdrawal.membership.member_number}",
            )
    return withdrawal


def withdrawal_reject(*, withdrawal: Withdrawal, by: User, reason: str = "") -> Withdrawal:
    with transaction.atomic():
        withdrawal = locked_in_status(
            Withdrawal.objects.select_related("chama", "membership"),
            pk=withdrawal.pk,
            allowed=(Withdrawal.Status.REQUESTED, Withdrawal.Status.APPROVED),
            by=by,
            action="approve_withdrawal",
        )
        move(withdrawal, Withdrawal.Status.REJECTED, decided_reason=reason)
    return withdrawal


def withdrawal_pay(*, withdrawal: Withdrawal, method: str, by: User, reference: str = "") -> Withdrawal:
    """Pay an approved withdrawal once its notice has run; the rules are checked again now."""
    with transaction.atomic():
        withdrawal = locked_in_status(
            Withdrawal.objects.select_related("chama", "membership__user", "savings_type"),
            pk=withdrawal.pk,
            allowed=Withdrawal.Status.APPROVED,
            by=by,
            action="pay_withdrawal",
            refusal="Only an approved withdrawal can be paid.",
        )
        chama = withdrawal.chama
        today = chama.today()
        if today < withdrawal.payable_from:
            raise ValidationError(f"The notice period ends on {withdrawal.payable_from:%d %b %Y}; pay it then.")
        lock_membership(withdrawal.membership_id)
        _check_withdrawable(withdrawal, today)
        withdrawal.journal = ledger.post_journal(
            chama=chama,
            kind=Journal.Kind.SAVINGS_WITHDRAWAL,
            value_date=today,
            membership=withdrawal.membership,
            memo=f"{withdrawal.savings_type} withdrawal ({method})",
            created_by=by,
            external_reference=reference,
            lines=[
                (
                    ledger.member_account(withdrawal.membership, A.MEMBER_SAVINGS, withdrawal.savings_type),
                    withdrawal.amount,
                ),
                (ledger.method_account(chama, method), -withdrawal.amount),
            ],
        )
        withdrawal.status = Withdrawal.Status.PAID
        withdrawal.save(update_fields=["status", "journal", "updated_date"])
    return withdrawal


def share_purchase(
    *,
    membership: Membership,
    shares: int,
    method: str,
    by: User,
    value_date: date | None = None,
    reference: str = "",
    idempotency_key: str = "",
) -> Journal:
    """Buy shares at the share price, within the per-meeting limits (VSLA / ASCA), of the running
    savings cycle or, where none runs, of the policy (`shares.terms`)."""
    chama = membership.chama
    authority.require(by, "record_payment", membership)
    if chama.kind not in SHARE_KINDS:
        raise ValidationError(f"{chama} ({chama.get_kind_display()}) does not sell shares.")
    price = terms(chama).share_price
    if price <= 0:
        raise ValidationError("Set the share price in the chama's policy first.")
    if not isinstance(shares, int) or isinstance(shares, bool) or shares <= 0:
        raise ValidationError({"shares": "Buy a whole number of shares, at least one."})
    value_date = value_date or chama.today()

    def post():
        check_per_meeting(membership, shares, value_date)
        journal = ledger.post_journal(
            chama=chama,
            kind=Journal.Kind.SHARE_PURCHASE,
            value_date=value_date,
            membership=membership,
            memo=f"{shares} share(s) at {shown(price)}",
            created_by=authority.person(by),
            external_reference=reference,
            idempotency_key=idempotency_key,
            lines=[
                (ledger.method_account(chama, method), amount),
                (ledger.member_account(membership, A.MEMBER_SHARES), -amount),
            ],
        )
        purchase_record(journal=journal, membership=membership, shares=shares, share_price=price, value_date=value_date)
        return journal

    amount = to_money(price * shares)
    return ledger.post_once(membership, reference=reference, idempotency_key=idempotency_key, post=post, amount=amount)
