"""A member's financial summary and the chama's group summary, from cached balances: a fixed number
of queries whatever the member's history, loans or the chama's loan products (the ledger keeps
every account's balance current)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Q, Sum

from chama.money import ZERO, to_money
from finance.models import Account, ContributionPlan, Due, Loan, LoanProduct
from finance.selectors.loans import with_next_installment
from finance.services.loans import eligibility, standing_of
from finance.services.shares import terms
from groups.models import Chama, Membership
from groups.selectors import active_members
from welfare.models import Claim
from welfare.selectors import fund_balance

A = Account.Purpose


def member_summary(*, membership: Membership) -> dict[str, object]:
    """Savings, shares and their value, loans with their next installment, what is owed, attendance,
    what the member may borrow now and their welfare standing."""
    chama = membership.chama
    balances: dict[str, Decimal] = defaultdict(lambda: ZERO)
    by_loan: dict[int, Decimal] = {}
    for purpose, loan_id, balance in Account.objects.filter(chama=chama, membership=membership).values_list(
        "purpose", "loan_id", "balance"
    ):
        balances[purpose] += balance
        if loan_id:
            by_loan[loan_id] = balance
    shares_value = -balances[A.MEMBER_SHARES]
    # A member's loans are few: their standing for the lending rules is read off the same rows.
    mine = list(with_next_installment(loans=Loan.objects.filter(chama=chama, membership=membership)))
    loans = [
        {
            "loan": loan.pk,
            "outstanding_principal": by_loan.get(loan.pk, ZERO),
            "next_due_date": loan.next_due_date,
            "next_amount": loan.next_amount,
        }
        for loan in mine
        if loan.status in Loan.OUTSTANDING_STATUSES
    ]
    member = standing_of(mine, savings=-(balances[A.MEMBER_SAVINGS] + balances[A.MEMBER_SHARES]))
    owed = defaultdict(lambda: ZERO)
    overdue = welfare_behind = ZERO
    for due in Due.objects.filter(chama=chama, membership=membership, status__in=Due.OPEN_STATUSES).select_related(
        "plan"
    ):
        owed[due.kind] += due.outstanding
        if due.status == Due.Status.OVERDUE:
            overdue += due.outstanding
            if due.plan is not None and due.plan.target == ContributionPlan.Target.WELFARE:
                welfare_behind += due.outstanding
    best = ZERO
    for product in LoanProduct.objects.filter(chama=chama, is_active=True):
        best = max(best, eligibility(membership, product, member=member).max_amount)
    claims = Claim.objects.filter(membership=membership).aggregate(
        open=Count("id", filter=Q(status__in=Claim.OPEN_STATUSES)), paid=Count("id", filter=Q(status=Claim.Status.PAID))
    )
    return {
        "membership": membership.pk,
        "member_number": membership.member_number,
        "name": membership.user.get_full_name(),
        "savings": -balances[A.MEMBER_SAVINGS],
        "shares": _shares(chama, shares_value),
        "shares_value": shares_value,
        "advance": -balances[A.MEMBER_ADVANCE],
        "fines_owed": balances[A.FINES_RECEIVABLE],
        "contributions_owed": owed[Due.Kind.CONTRIBUTION] + owed[Due.Kind.LEVY],
        "overdue": overdue,
        "loans": loans,
        "may_borrow_now": best,
        "attendance_percentage": membership.attendance_percentage,
        "welfare": {"behind": welfare_behind, "claims_open": claims["open"], "claims_paid": claims["paid"]},
    }


def _shares(chama: Chama, value: Decimal) -> int:
    """How many shares `value` buys at the current price (asked only of a member who holds some)."""
    price = terms(chama).share_price if value else ZERO
    return int(value // price) if price > 0 else 0


def group_summary(*, chama: Chama) -> dict[str, object]:
    """The totals every member may see: members, savings, shares, loans out, the welfare fund."""
    totals = {
        purpose: to_money(total or ZERO)  # to the cent: SQLite adds decimals in floating point
        for purpose, total in Account.objects.filter(chama=chama, membership__isnull=False)
        .values("purpose")
        .annotate(total=Sum("balance"))
        .values_list("purpose", "total")
    }
    return {
        "members": active_members(chama=chama).count(),
        "savings": -(totals.get(A.MEMBER_SAVINGS) or ZERO),
        "shares_value": -(totals.get(A.MEMBER_SHARES) or ZERO),
        "loans_outstanding": totals.get(A.LOAN_RECEIVABLE) or ZERO,
        "welfare_fund": fund_balance(chama=chama),
    }
