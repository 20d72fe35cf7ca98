"""Whether a member may borrow from a product now, rule by rule, and how much."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Q

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


@dataclass
class Eligibility:
    rules: list = field(default_factory=list)
    max_amount: Decimal = ZERO

    @property
    def eligible(self) -> bool:
        return all(rule.passed for rule in self.rules)


def eligibility(
    membership: Membership, product: LoanProduct, as_of: date | None = None, under_review: Loan | None = None
) -> Eligibility:
    """Each lending rule, passed or failed with its reason, and the largest amount allowed now
    (`under_review`: an application being judged, which does not count against itself)."""
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
    savings = savings_total(membership=membership)
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
    loans = Loan.objects.filter(membership=membership).exclude(pk=getattr(under_review, "pk", None))
    troubled = loans.filter(
        Q(status__in=[Loan.Status.DEFAULTED, Loan.Status.WRITTEN_OFF])
        | Q(status=Loan.Status.ACTIVE, days_in_arrears__gt=0)
    )
    result.rules.append(
        Rule(
            "no_arrears",
            not troubled.exists(),
            "No loan in arrears or default."
            if not troubled.exists()
            else "A loan is in arrears, in default or written off.",
        )
    )
    running = loans.filter(status__in=[Loan.Status.APPLIED, Loan.Status.APPROVED, *Loan.OUTSTANDING_STATUSES]).count()
    result.rules.append(
        Rule(
            "concurrent_loans",
            running < policy.loan_max_concurrent,
            f"{running} loan(s) running or applied for; the chama allows {policy.loan_max_concurrent} at once.",
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
