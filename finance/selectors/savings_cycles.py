"""The share-out preview of a savings cycle, read from the ledger alone.

- A member's shares are their shares account's balance ÷ the cycle's share price (every share of a
  cycle is bought at its price; rolled-over shares at the next cycle's).
- The fund's income and expenses are the balances of the chama's income and expense accounts:
  every share-out closes them to retained earnings, so between two share-outs they hold the
  cycle's. Retained earnings hold what the last share-out carried forward, less the profit already
  paid to members who left during the cycle.
- What a member owes is each outstanding loan's payoff on the day (principal, and the interest,
  fees and penalties due by then) and their unpaid fines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Q

from chama.money import ZERO, shown
from finance.models import Account, Loan, SavingsCycle, ShareOut, ShareOutChoice, ShareOutLine
from finance.selectors.loans import payoff_amount
from finance.shareout import Fund, Holder, Payout, Quote, quote
from groups.models import Chama, Membership

A = Account.Purpose
# Which line of the fund each income and expense account feeds.
FUND_FIELDS = {
    A.INTEREST_INCOME: "interest",
    A.FINE_INCOME: "fines",
    A.PENALTY_INCOME: "fines",
    A.FEE_INCOME: "fees",
    A.OTHER_INCOME: "other_income",
    A.INVESTMENT_INCOME: "other_income",
    A.UNREALISED_GAIN: "other_income",
    A.RECOVERIES_INCOME: "other_income",
    A.EXPENSE: "expenses",
    A.LOAN_LOSS: "losses",
}


def open_cycle(*, chama: Chama) -> SavingsCycle | None:
    return SavingsCycle.objects.filter(chama=chama, status__in=SavingsCycle.OPEN_STATUSES).first()


@dataclass
class Standing:
    """One member at the share-out: their shares, what they owe and what they chose."""

    membership: Membership
    shares: int
    unpaid_fines: Decimal = ZERO
    loans: list[tuple[Loan, Decimal]] = field(default_factory=list)  # (loan, payoff on the day)
    choice: str = ShareOutChoice.Choice.CASH

    @property
    def outstanding_loan(self) -> Decimal:
        return sum((payoff for _, payoff in self.loans), ZERO)

    def holder(self) -> Holder:
        return Holder(
            member=self.membership.member_number,
            shares=self.shares,
            outstanding_loan=self.outstanding_loan,
            unpaid_fines=self.unpaid_fines,
        )


@dataclass
class Preview:
    cycle: SavingsCycle
    as_of: date
    fund: Fund
    quote: Quote
    standings: list[Standing]

    def lines(self) -> list[tuple[Standing, Payout]]:
        """(standing, payout) per member, in member-number order."""
        return list(zip(self.standings, self.quote.payouts, strict=True))

    def line_of(self, membership_id: int) -> tuple[Standing, Payout] | None:
        return next(((s, p) for s, p in self.lines() if s.membership.pk == membership_id), None)


def fund_of(*, chama: Chama) -> Fund:
    """The cycle's income, expenses and brought-forward figure, from the chart's balances."""
    amounts = dict.fromkeys(Fund.__dataclass_fields__, ZERO)
    for account in Account.objects.filter(chama=chama, membership__isnull=True).filter(
        Q(type__in=[Account.Type.INCOME, Account.Type.EXPENSE]) | Q(purpose=A.RETAINED_EARNINGS)
    ):
        if account.purpose == A.RETAINED_EARNINGS:
            amounts["brought_forward"] += account.normal_balance
            continue
        name = FUND_FIELDS.get(account.purpose)
        if name is None:
            continue
        amount = account.normal_balance
        if amount < 0:  # an income account in debit (more waived than charged): a loss of the cycle
            name, amount = ("losses", -amount) if account.type == Account.Type.INCOME else ("other_income", -amount)
        amounts[name] += amount
    return Fund(**amounts)


def standings(*, cycle: SavingsCycle, as_of: date) -> list[Standing]:
    """Every member who holds shares or owes the chama, with their shares counted from the ledger
    (a ValidationError naming the member whose balance is not a whole number of shares)."""
    chama = cycle.chama
    accounts = Account.objects.filter(
        chama=chama, purpose__in=[A.MEMBER_SHARES, A.FINES_RECEIVABLE], membership__isnull=False
    ).exclude(balance=0)
    rows: dict[int, Standing] = {}
    members = {}
    for account in accounts.select_related("membership__user"):
        members[account.membership_id] = account.membership
        standing = rows.setdefault(account.membership_id, Standing(account.membership, 0))
        if account.purpose == A.MEMBER_SHARES:
            shares, left = divmod(account.normal_balance, cycle.share_price)
            if left:
                raise ValidationError(
                    f"{account.membership.member_number}'s shares account holds "
                    f"{shown(account.normal_balance, chama.currency)}, not a whole number of shares at "
                    f"{shown(cycle.share_price, chama.currency)}: correct it before the share-out."
                )
            standing.shares = int(shares)
        else:
            standing.unpaid_fines = account.normal_balance
    for loan in Loan.objects.filter(chama=chama, status__in=Loan.OUTSTANDING_STATUSES).select_related(
        "membership__user", "product"
    ):
        payoff = payoff_amount(loan=loan, as_of=as_of)
        if payoff > 0:
            rows.setdefault(loan.membership_id, Standing(loan.membership, 0)).loans.append((loan, payoff))
    for choice in ShareOutChoice.objects.filter(cycle=cycle, membership_id__in=rows):
        rows[choice.membership_id].choice = choice.choice
    return sorted(rows.values(), key=lambda standing: standing.membership.member_number)


def preview(*, cycle: SavingsCycle, as_of: date | None = None) -> Preview:
    """The share-out as it would be on `as_of` (today by default); a ValidationError with a
    sentence when it cannot be worked out (no shares, a loss larger than the savings …)."""
    as_of = as_of or cycle.chama.today()
    fund = fund_of(chama=cycle.chama)
    rows = standings(cycle=cycle, as_of=as_of)
    result = quote(
        share_price=cycle.share_price,
        rounding_unit=cycle.rounding_unit,
        fund=fund,
        holders=[row.holder() for row in rows],
    )
    return Preview(cycle=cycle, as_of=as_of, fund=fund, quote=result, standings=rows)


def share_out_figures(*, cycle: SavingsCycle, membership_id: int | None = None) -> dict[str, object]:
    """The preview as the API shows it: live for a running cycle, as posted for a closed one; with
    `membership_id`, only that member's line (a member's view)."""
    if cycle.status == SavingsCycle.Status.CLOSED:
        figures = _posted_figures(cycle)
    else:
        figures = _live_figures(preview(cycle=cycle))
    if membership_id is not None:
        figures["members"] = [row for row in figures["members"] if row["membership"] == membership_id]
    return figures


def _live_figures(result: Preview) -> dict[str, object]:
    quote = result.quote
    return {
        "cycle": result.cycle.pk,
        "as_of": result.as_of,
        "posted": False,
        "fund_breakdown": result.fund,
        "fund": quote.fund,
        "total_shares": quote.total_shares,
        "value_per_share": quote.value_per_share,
        "remainder": quote.remainder,
        "members": [
            {
                "membership": standing.membership.pk,
                "member_number": standing.membership.member_number,
                "name": standing.membership.user.get_full_name(),
                "shares": payout.shares,
                "savings": payout.savings,
                "profit_share": payout.profit_share,
                "deductions": payout.deductions,
                "net_payout": payout.net_payout,
                "rolled_over": None,
                "still_owed": payout.still_owed,
                "choice": standing.choice,
            }
            for standing, payout in result.lines()
        ],
    }


def _posted_figures(cycle: SavingsCycle) -> dict[str, object]:
    share_out = cycle.share_outs.get(membership__isnull=True, status=ShareOut.Status.POSTED)
    lines = ShareOutLine.objects.filter(share_out=share_out).select_related("membership__user")
    return {
        "cycle": cycle.pk,
        "as_of": share_out.value_date,
        "posted": True,
        "fund_breakdown": None,
        "fund": share_out.fund,
        "total_shares": share_out.total_shares,
        "value_per_share": share_out.value_per_share,
        "remainder": share_out.remainder,
        "members": [
            {
                "membership": line.membership_id,
                "member_number": line.membership.member_number,
                "name": line.membership.user.get_full_name(),
                "shares": line.shares,
                "savings": line.savings,
                "profit_share": line.profit_share,
                "deductions": line.deductions,
                "net_payout": line.net_payout,
                "rolled_over": line.rolled_over,
                "still_owed": line.still_owed,
                "choice": None,
            }
            for line in lines
        ],
    }
