"""Reads about loans shared by the services, the admin, the API and the commands."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import F, OuterRef, QuerySet, Subquery, Sum

from chama.money import ZERO, shown, to_money
from finance.models import Account, Guarantee, Installment, Journal, Loan
from finance.models.loans import ALLOCATION_COMPONENTS

if TYPE_CHECKING:
    from groups.models import Chama, Membership

A = Account.Purpose
# Loans whose guarantees still pledge the guarantor's savings.
PLEDGING_STATUSES = (Loan.Status.APPLIED, Loan.Status.APPROVED, Loan.Status.ACTIVE, Loan.Status.DEFAULTED)
BUCKETS = [
    (0, Loan.Classification.CURRENT),
    (30, Loan.Classification.DAYS_1_30),
    (60, Loan.Classification.DAYS_31_60),
    (90, Loan.Classification.DAYS_61_90),
    (180, Loan.Classification.DAYS_91_180),
]


def savings_total(*, membership: Membership) -> Decimal:
    """What a member has saved for lending purposes: savings plus shares (a VSLA saves in shares)."""
    total = Account.objects.filter(membership=membership, purpose__in=[A.MEMBER_SAVINGS, A.MEMBER_SHARES]).aggregate(
        total=Sum("balance")
    )["total"]
    return -to_money(total or ZERO)  # savings and shares are credit balances


def pledged_savings(*, membership: Membership) -> Decimal:
    """Savings pledged on accepted guarantees of loans still outstanding (less what was recovered)."""
    pledges = Guarantee.objects.filter(
        guarantor=membership, status=Guarantee.Status.ACCEPTED, loan__status__in=PLEDGING_STATUSES
    )
    total = pledges.aggregate(total=Sum(F("amount") - F("recovered_amount")))["total"]
    return to_money(total or ZERO)


def free_savings(*, membership: Membership) -> Decimal:
    return savings_total(membership=membership) - pledged_savings(membership=membership)


def coverage_gaps(*, loan: Loan) -> list[str]:
    """What the accepted guarantees still lack, as sentences (empty when covered)."""
    product = loan.product
    accepted = loan.guarantees.filter(status=Guarantee.Status.ACCEPTED)
    gaps = []
    if accepted.count() < product.guarantors_required:
        gaps.append(f"{accepted.count()} of {product.guarantors_required} guarantors have accepted.")
    needed = to_money(loan.principal * product.guarantee_coverage / 100)
    pledged = accepted.aggregate(total=Sum("amount"))["total"] or ZERO
    if pledged < needed:
        gaps.append(f"Guarantees cover {shown(pledged)} of the {shown(needed)} required.")
    return gaps


def approvals_needed(*, loan: Loan) -> int:
    return loan.chama.policy.loan_approvals_required


def current_installments(*, loan: Loan) -> QuerySet[Installment]:
    return loan.installments.filter(version=loan.schedule_version).order_by("n")


def with_next_installment(*, loans: QuerySet[Loan]) -> QuerySet[Loan]:
    """`loans` each annotated with its current schedule's next open installment: `next_due_date`
    and `next_amount` (what is left of it; `Installment.outstanding` in SQL), None when none is open
    — one statement however many loans."""
    upcoming = Installment.objects.filter(
        loan=OuterRef("pk"), version=OuterRef("schedule_version"), status__in=Installment.OPEN_STATUSES
    ).order_by("due_date", "n")
    left = sum(
        (F(component) - F(f"{component}_paid") for component in ALLOCATION_COMPONENTS), start=-F("interest_forgiven")
    )
    return loans.annotate(
        next_due_date=Subquery(upcoming.values("due_date")[:1]),
        next_amount=Subquery(upcoming.annotate(left=left).values("left")[:1]),
    )


def outstanding_principal(*, loan: Loan) -> Decimal:
    account = Account.objects.filter(loan=loan).first()
    return account.normal_balance if account else ZERO


def owed_now(*, row: Installment, component: str, as_of: date) -> Decimal:
    """What of `component` is owed on `as_of`: all of it once the installment is due; before that,
    everything but its interest (except interest carried from an earlier schedule, already due)."""
    if component != "interest" or row.due_date <= as_of:
        return row.owed(component)
    return max(row.carried_interest - row.interest_paid, ZERO)


def payoff_amount(*, loan: Loan, as_of: date | None = None) -> Decimal:
    """What closes the loan today: outstanding principal plus interest, fees and penalties already
    due (interest of installments not yet due is not charged)."""
    as_of = as_of or loan.chama.today()
    return sum(
        (
            owed_now(row=row, component=component, as_of=as_of)
            for row in current_installments(loan=loan).filter(status__in=Installment.OPEN_STATUSES)
            for component in ALLOCATION_COMPONENTS
        ),
        ZERO,
    )


def written_off_amount(*, loan: Loan) -> Decimal:
    return (
        loan.journals.filter(kind=Journal.Kind.LOAN_WRITE_OFF, reversals__isnull=True).aggregate(total=Sum("amount"))[
            "total"
        ]
        or ZERO
    )


def recovered_after_write_off(*, loan: Loan) -> Decimal:
    return (
        loan.journals.filter(kind=Journal.Kind.LOAN_RECOVERY, reversals__isnull=True).aggregate(total=Sum("amount"))[
            "total"
        ]
        or ZERO
    )


def portfolio(*, chama: Chama, as_of: date | None = None) -> dict[str, Any]:
    """Outstanding principal by aging bucket, PAR30 / PAR60 / PAR90, and the principal of installments
    past due on `as_of` (three queries)."""
    loans = list(
        Loan.objects.filter(chama=chama, status__in=Loan.OUTSTANDING_STATUSES).prefetch_related("receivable_accounts")
    )
    outstanding = {loan.pk: loan.receivable_account.normal_balance for loan in loans}
    total = sum(outstanding.values(), ZERO)
    buckets = {bucket: ZERO for _, bucket in BUCKETS} | {Loan.Classification.OVER_180: ZERO}
    for loan in loans:
        buckets[loan.classification] += outstanding[loan.pk]

    def par(days):
        at_risk = sum((outstanding[loan.pk] for loan in loans if loan.days_in_arrears > days), ZERO)
        return at_risk, (to_money(at_risk * 100 / total) if total else ZERO)

    in_arrears = (
        loans
        and Installment.objects.filter(
            loan__in=loans,
            version=F("loan__schedule_version"),
            status__in=Installment.OPEN_STATUSES,
            due_date__lt=as_of or chama.today(),
        ).aggregate(total=Sum(F("principal") - F("principal_paid")))["total"]
    )
    return {
        "loans": len(loans),
        "outstanding_principal": total,
        "principal_in_arrears": to_money(in_arrears or ZERO),
        "buckets": buckets,
        "par30": par(30),
        "par60": par(60),
        "par90": par(90),
    }


def oldest_outstanding_loans(*, chama: Chama, membership_ids: Iterable[int] | None = None) -> dict[int, Loan]:
    """{membership id: that member's oldest loan still outstanding}, in one query; the loan a
    repayment handed in at a meeting goes to."""
    outstanding = Loan.objects.filter(chama=chama, status__in=Loan.OUTSTANDING_STATUSES)
    if membership_ids is not None:
        outstanding = outstanding.filter(membership_id__in=membership_ids)
    # Ordered newest first so that each member's oldest loan is the one left in the dict.
    return {loan.membership_id: loan for loan in outstanding.order_by("-disbursed_date", "-id")}
