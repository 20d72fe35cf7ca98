"""The share-out arithmetic of a savings cycle (ASCA / VSLA), with no database: the `shareout_quote`
command, and the cycle's preview and close, work it out here.

The rule (README, "Savings cycles and the share-out"):

- each member's savings are their shares × the share price;
- the distributable fund = the members' savings + the cycle's interest, fines, fees and other
  income − its expenses and losses + what the last share-out carried forward (the social fund and
  what is owed to outsiders are not in it);
- value per share = fund ÷ total shares; a member's gross payout = shares × value per share,
  worked out exactly (shares × fund ÷ total shares) and never from the rounded value per share;
- what the member owes the chama (outstanding loans, with the interest due to date, and unpaid
  fines) is deducted from their own payout, never taking it below zero: the rest stays owed;
- the net payout is rounded down to the rounding unit (0.01, 1, 5, 10 or 50);
- the remainder (what rounding left, to the cent) is carried to the next cycle or to the social
  fund, per the policy.

So the net payouts + the deductions + the remainder are the fund, to the cent, always.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from django.core.exceptions import ValidationError

from chama.money import CENT, ZERO, parse_money

ROUNDING_UNITS = (Decimal("0.01"), Decimal("1"), Decimal("5"), Decimal("10"), Decimal("50"))
VALUE_PER_SHARE_PLACES = Decimal("0.0001")
UNIT_MESSAGE = f"Round payouts to one of {', '.join(str(unit) for unit in ROUNDING_UNITS)}."


@dataclass(frozen=True)
class Fund:
    """What the cycle earned and spent, besides the members' savings in shares."""

    interest: Decimal = ZERO
    fines: Decimal = ZERO
    fees: Decimal = ZERO
    other_income: Decimal = ZERO
    expenses: Decimal = ZERO
    losses: Decimal = ZERO
    # The remainder the last share-out carried to this cycle, less the profit already paid to
    # members who left during it: the one figure that may be negative.
    brought_forward: Decimal = ZERO

    @property
    def net_income(self) -> Decimal:
        return (
            self.interest
            + self.fines
            + self.fees
            + self.other_income
            - self.expenses
            - self.losses
            + self.brought_forward
        )


@dataclass(frozen=True)
class Holder:
    """A member at the share-out: their shares and what they still owe the chama."""

    member: str
    shares: int
    outstanding_loan: Decimal = ZERO
    unpaid_fines: Decimal = ZERO

    @property
    def owed(self) -> Decimal:
        return self.outstanding_loan + self.unpaid_fines


@dataclass(frozen=True)
class Payout:
    member: str
    shares: int
    savings: Decimal
    profit_share: Decimal  # gross payout (to the cent) − savings: negative when the cycle lost money
    deductions: Decimal  # what was taken from the payout towards what the member owes
    net_payout: Decimal
    still_owed: Decimal  # what the payout could not cover

    def as_dict(self) -> dict[str, object]:
        return {
            "member": self.member,
            "shares": self.shares,
            "savings": str(self.savings),
            "profit_share": str(self.profit_share),
            "deductions": str(self.deductions),
            "net_payout": str(self.net_payout),
        }


@dataclass(frozen=True)
class Quote:
    fund: Decimal
    total_shares: int
    value_per_share: Decimal  # shown to four decimals; payouts are worked out exactly
    remainder: Decimal
    payouts: list[Payout]

    def as_dict(self) -> dict[str, object]:
        return {
            "fund": str(self.fund),
            "total_shares": self.total_shares,
            "value_per_share": str(self.value_per_share),
            "remainder": str(self.remainder),
            "members": [payout.as_dict() for payout in self.payouts],
        }


def _down(amount: Fraction, unit: Decimal) -> Decimal:
    """`amount` rounded down to a whole number of `unit`s (never below zero)."""
    return (unit * max(math.floor(amount / Fraction(unit)), 0)).quantize(CENT)


def quote(*, share_price: Decimal, rounding_unit: Decimal, fund: Fund, holders: list[Holder]) -> Quote:
    """The share-out of a cycle: each member's payout and the remainder (ValidationError with a
    sentence when the figures cannot be shared out)."""
    if share_price <= 0:
        raise ValidationError({"share_price": "The share price must be more than zero."})
    if rounding_unit not in ROUNDING_UNITS:
        raise ValidationError({"rounding_unit": UNIT_MESSAGE})
    for field in ("interest", "fines", "fees", "other_income", "expenses", "losses"):
        if getattr(fund, field) < 0:
            raise ValidationError({field: "Must not be negative."})
    for holder in holders:
        if holder.shares < 0 or holder.outstanding_loan < 0 or holder.unpaid_fines < 0:
            raise ValidationError({"members": f"{holder.member}: shares and amounts owed must not be negative."})
    total_shares = sum(holder.shares for holder in holders)
    if total_shares == 0:
        raise ValidationError({"members": "No member holds a share: there is nothing to share out."})
    savings = [(holder.shares * share_price).quantize(CENT) for holder in holders]
    total = sum(savings, ZERO) + fund.net_income
    if total < 0:
        raise ValidationError(
            {
                "fund": f"The cycle's expenses and losses exceed its savings and income by {-total:,.2f}: nothing to share."
            }
        )
    payouts = []
    for holder, saved in zip(holders, savings, strict=True):
        gross = Fraction(holder.shares) * Fraction(total) / total_shares
        deductions = min(holder.owed, _down(gross, CENT))
        net = _down(gross - Fraction(deductions), rounding_unit)
        payouts.append(
            Payout(
                member=holder.member,
                shares=holder.shares,
                savings=saved,
                profit_share=_to_cent(gross) - saved,
                deductions=deductions,
                net_payout=net,
                still_owed=holder.owed - deductions,
            )
        )
    paid_out = sum((payout.net_payout + payout.deductions for payout in payouts), ZERO)
    return Quote(
        fund=total.quantize(CENT),
        total_shares=total_shares,
        value_per_share=(total / total_shares).quantize(VALUE_PER_SHARE_PLACES, rounding=ROUND_HALF_UP),
        remainder=(total - paid_out).quantize(CENT),
        payouts=payouts,
    )


def _to_cent(amount: Fraction) -> Decimal:
    return (Decimal(amount.numerator) / Decimal(amount.denominator)).quantize(CENT, rounding=ROUND_HALF_UP)


def _money(value: object, where: str) -> Decimal:
    """An amount of the input: a string of digits ("900", "12.50") or a whole number."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    try:
        return parse_money(value)
    except ValidationError as error:
        raise ValidationError({where: error.messages}) from None


def _rounding_unit(value: object) -> Decimal:
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        try:
            unit = Decimal(str(value).strip())
            if unit in ROUNDING_UNITS:
                return unit
        except ArithmeticError:  # not a number at all ("five", "sNaN")
            pass
    raise ValidationError({"rounding_unit": UNIT_MESSAGE})


def from_input(data: object) -> dict[str, object]:
    """`quote`'s arguments from the calculator's input (`shareout_quote`, README):
    {"share_price", "rounding_unit", "fund": {"interest", "fines", "fees", "other_income",
    "expenses", "losses"}, "members": [{"member", "shares", "outstanding_loan", "unpaid_fines"}]},
    amounts as strings; what is left out of the fund and of a member counts as zero. A mistake is a
    ValidationError naming where it is (e.g. `members[2].shares`)."""
    if not isinstance(data, dict):
        raise ValidationError({"input": "Give a JSON object with share_price, fund and members."})
    unknown = set(data) - {"share_price", "rounding_unit", "fund", "members"}
    if unknown:
        raise ValidationError({"input": f"Unknown keys: {', '.join(sorted(unknown))}."})
    if "share_price" not in data:
        raise ValidationError({"share_price": 'Give the share price, e.g. "5".'})
    fund = data.get("fund") or {}
    if not isinstance(fund, dict) or set(fund) - set(Fund.__dataclass_fields__):
        names = ", ".join(Fund.__dataclass_fields__)
        raise ValidationError({"fund": f"Give the fund as an object of {names}."})
    members = data.get("members")
    if not isinstance(members, list) or not members:
        raise ValidationError({"members": "Give the members as a list of {member, shares, …}."})
    holders = []
    for index, row in enumerate(members):
        where = f"members[{index}]"
        if not isinstance(row, dict) or not isinstance(row.get("member"), str) or not row["member"].strip():
            raise ValidationError({where: 'Each member needs a name ("member") and a number of shares.'})
        shares = row.get("shares", 0)
        if not isinstance(shares, int) or isinstance(shares, bool) or shares < 0:
            raise ValidationError({f"{where}.shares": "Shares must be a whole number, 0 or more."})
        holders.append(
            Holder(
                member=row["member"].strip(),
                shares=shares,
                outstanding_loan=_money(row.get("outstanding_loan", "0"), f"{where}.outstanding_loan"),
                unpaid_fines=_money(row.get("unpaid_fines", "0"), f"{where}.unpaid_fines"),
            )
        )
    return {
        "share_price": _money(data["share_price"], "share_price"),
        "rounding_unit": _rounding_unit(data.get("rounding_unit", "1")),
        "fund": Fund(**{name: _money(value, f"fund.{name}") for name, value in fund.items()}),
        "holders": holders,
    }
