"""Loan repayment schedules, computed exactly (documented in the README, "Loan schedules").

- period rate r = annual rate / 12 (monthly), / 52 (weekly), / 26 (fortnightly); a rate quoted per
  month is first multiplied by 12.
- declining_balance: installment = P·r / (1 − (1 + r)^−n), rounded to the installment multiple;
  each period's interest = outstanding balance × r, rounded to cents; principal = installment − interest.
- equal_principal: principal = P / n rounded to cents (the multiple does not apply); interest on
  the outstanding balance, rounded to cents.
- flat: interest per period = P × r rounded to cents; installment = P / n + that interest,
  rounded to the installment multiple; principal = installment − interest.
- Every rounding uses the product's rounding mode (half_up or half_even). The last installment pays
  all remaining principal plus its interest, so the balance ends at exactly 0.00. Due dates fall one
  period after disbursement and every period after that; monthly ones keep the disbursement's day
  of the month, clamped to the month's end. A zero rate gives interest-free schedules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext

from chama.money import ZERO, to_money
from finance.periods import add_months

ROUNDING = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN}
PERIODS_PER_YEAR = {"monthly": 12, "weekly": 52, "fortnightly": 26}
METHODS = ("flat", "declining_balance", "equal_principal")


@dataclass(frozen=True)
class Terms:
    principal: Decimal
    rate: Decimal  # percent
    rate_period: str  # "month" or "year"
    installments: int
    frequency: str  # monthly, weekly, fortnightly
    method: str
    rounding: str = "half_up"
    installment_multiple: Decimal = Decimal("0.01")
    start: date | None = None  # disbursement date


@dataclass(frozen=True)
class Row:
    n: int
    due_date: date
    principal: Decimal
    interest: Decimal
    balance: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest

    def as_dict(self) -> dict[str, int | str]:
        return {
            "n": self.n,
            "due_date": self.due_date.isoformat(),
            "principal": f"{self.principal:.2f}",
            "interest": f"{self.interest:.2f}",
            "total": f"{self.total:.2f}",
            "balance": f"{self.balance:.2f}",
        }


def rate_fraction(rate: Decimal | int | str, rate_period: str, frequency: str) -> tuple[Decimal, Decimal]:
    """The period rate as (numerator, denominator): r = numerator / denominator. Interest is
    amount × numerator / denominator, one division last, so a tie at half a cent is seen exactly
    even when r itself has no finite decimal (13% a year monthly, say)."""
    annual = Decimal(rate) * (12 if rate_period == "month" else 1)
    return annual, Decimal(100 * PERIODS_PER_YEAR[frequency])


def due_dates(start: date, frequency: str, count: int) -> list[date]:
    if frequency == "monthly":
        return [add_months(start, k) for k in range(1, count + 1)]
    step = 7 if frequency == "weekly" else 14
    return [start + timedelta(days=step * k) for k in range(1, count + 1)]


def to_multiple(amount: Decimal, multiple: Decimal | int | str, rounding: str) -> Decimal:
    """`amount` rounded to a whole number of `multiple`s (e.g. 1, 5 or 10 shillings; 0.01 = cents)."""
    multiple = Decimal(multiple)
    return to_money((amount / multiple).quantize(Decimal(1), rounding=rounding) * multiple, rounding)


def validate(terms: Terms) -> dict[str, str]:
    errors = {}
    if terms.principal <= 0:
        errors["principal"] = "The principal must be more than zero."
    if terms.rate < 0:
        errors["rate"] = "The rate cannot be negative."
    if terms.installments < 1:
        errors["installments"] = "At least one installment."
    if terms.frequency not in PERIODS_PER_YEAR:
        errors["frequency"] = "Use monthly, weekly or fortnightly."
    if terms.method not in METHODS:
        errors["method"] = f"Use one of {', '.join(METHODS)}."
    if terms.rounding not in ROUNDING:
        errors["rounding"] = "Use half_up or half_even."
    if terms.rate_period not in ("month", "year"):
        errors["rate_period"] = "Use month or year."
    if Decimal(terms.installment_multiple) <= 0:
        errors["installment_multiple"] = "The installment multiple must be more than zero."
    return errors


def schedule(terms: Terms) -> list[Row]:
    """The rows of the schedule for `terms` (validate them first)."""
    mode = ROUNDING[terms.rounding]
    cents = lambda value: to_money(value, mode)  # noqa: E731
    principal = to_money(terms.principal)
    n = terms.installments
    start = terms.start or date.today()
    with localcontext() as context:
        context.prec = 40
        numerator, denominator = rate_fraction(terms.rate, terms.rate_period, terms.frequency)
        r = numerator / denominator
        interest_on = lambda amount: cents(amount * numerator / denominator)  # noqa: E731
        if terms.method == "declining_balance":
            level = principal / n if r == 0 else principal * r / (1 - (1 + r) ** -n)
            installment = to_multiple(level, terms.installment_multiple, mode)
        elif terms.method == "flat":
            flat_interest = interest_on(principal)
            installment = to_multiple(principal / n + flat_interest, terms.installment_multiple, mode)
        else:
            equal_principal = cents(principal / n)
        rows, balance = [], principal
        for k, due in enumerate(due_dates(start, terms.frequency, n), start=1):
            if terms.method == "flat":
                interest = flat_interest
                part = installment - interest
            else:
                interest = interest_on(balance)
                part = installment - interest if terms.method == "declining_balance" else equal_principal
            part = balance if k == n else min(max(part, ZERO), balance)
            balance -= part
            rows.append(Row(k, due, part, interest, balance))
    return rows
