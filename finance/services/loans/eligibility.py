"""Whether a member may borrow from a product now, rule by rule, and how much."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from chama.money import ZERO, shown, to_money
from finance.models import Loan, LoanProduct
from finance.selectors.loans import savings_total

if TYPE_CHECKING:
    from groups.models import Membership


@dataclass
class Rule:
    name: str
    passed: bool
    reason: str


@dataclass(frozen=True)
class Standing:
    """What the lending rules read of a member whatever the product: their savings, whether a loan
    of theirs is in trouble, and how many are running or applied for."""

    savings: Decimal
    troubled: bool
    running: int


RUNNING_STATUSES = (Loan.Status.APPLIED, Loan.Status.APPROVED, *Loan.OUTSTANDING_STATUSES)


def _troubled(loan: Loan) -> bool:
    return loan.status in (Loan.Status.DEFAULTED, Loan.Status.WRITTEN_OFF) or (
        loan.status == Loan.Status.ACTIVE and loan.days_in_arrears > 0
    )


def standing_of(loans: Iterable[Loan], *, savings: Decimal) -> Standing:
    """A member's standing from their loans (every one of them) and their savings."""
    loans = list(loans)
    return Standing(
        savings=savings,
        troubled=any(_troubled(loan) for loan in loans),
        running=sum(loan.status in RUNNING_STATUSES for loan in loans),
    )


def standing(membership: Membership, *, under_review: Loan | None = None) -> Standing:
    """A member's standing in two queries (a member's loans are few)."""
    loans = Loan.objects.filter(membership=membership).exclude(pk=getattr(under_review, "pk", None))
    return standing_of(loans.only("status", "days_in_arrears"), savings=savings_total(membership=membership))


@dataclass
class Eligibility:
    rules: list = field(default_factory=list)
    max_amount: Decimal = ZERO

    @property
    def eligible(self) -> bool:
        return all(rule.passed for rule in self.rules)


def eligibility(
    membership: Membership,
    product: LoanProduct,
    as_of: date | None = None,
    under_review: Loan | None = None,
    member: Standing | None = None,
) -> Eligibility:
    """Each lending rule, passed or failed with its reason, and the largest amount allowed now
    (`under_review`: an application being judged, which does not count against itself; `member`:
    the member's standing, when it is read once for several products)."""
    member = member or standing(membership, under_review=under_review)
    chama, policy = membership.chama, membership.chama.policy
    as_of = as_of or chama.today()
    result = Eligibility()
    days = (as_of - membership.joined_date).days if membership.joined_date else 0
    result.rules.append(
        Rule(
            "membership_age",
            days >= policy.loan_min_membership_days,
            f"Member for {days} days; the chama asks for {policy.loan_min_membership_days}.",
        )
    )
    multiple = product.savings_multiple if product.savings_multiple is not None else policy.loan_max_savings_multiple
    savings = member.savings
    by_savings = to_money(savings * multiple)
    result.rules.append(
        Rule(
            "savings",
            by_savings >= product.min_amount,
            f"Savings {shown(savings)} × {multiple} = {shown(by_savings)}; the product starts at {shown(product.min_amount)}.",
        )
    )
    attendance = getattr(membership, "attendance_percentage", None)
    if attendance is None:
        result.rules.append(Rule("attendance", True, "No meetings are recorded yet, so attendance is not checked."))
    else:
        result.rules.append(
            Rule(
                "attendance",
                attendance >= policy.loan_min_attendance_percentage,
                f"Attendance {attendance}%; the chama asks for {policy.loan_min_attendance_percentage}%.",
            )
        )
    result.rules.append(
        Rule(
            "no_arrears",
            not member.troubled,
            "A loan is in arrears, in default or written off." if member.troubled else "No loan in arrears or default.",
        )
    )
    result.rules.append(
        Rule(
            "concurrent_loans",
            member.running < policy.loan_max_concurrent,
            f"{member.running} loan(s) running or applied for; the chama allows {policy.loan_max_concurrent} at once.",
        )
    )
    if product.guarantors_required or product.guarantee_coverage:
        result.rules.append(
            Rule(
                "guarantors",
                True,
                (
                    f"Needs {product.guarantors_required} guarantor(s) pledging {product.guarantee_coverage}% of the amount; "
                    "checked when they accept."
                ),
            )
        )
    result.max_amount = min(product.max_amount, by_savings) if result.eligible else ZERO
    return result
