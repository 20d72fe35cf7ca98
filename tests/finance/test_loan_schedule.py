"""Loan repayment schedules (finance/loan_schedule.py), the `loan_quote` command and the API quote.

Every expected number here is worked out independently of the code under test: either a literal
table computed by hand (the arithmetic is in the comments), or `reference_schedule` below, a small
re-implementation of the module docstring's formulas in exact rationals (`fractions.Fraction`) with
explicit rounding. No finance.loan_schedule helper is used to produce an expectation.

The conventions (module docstring / README "Loan schedules"):
- period rate r = annual rate / 12 (monthly), / 52 (weekly), / 26 (fortnightly); a rate per month
  is first multiplied by 12;
- declining_balance: installment = P·r / (1 − (1 + r)^−n) rounded to the installment multiple;
  interest = balance × r rounded to cents; principal = installment − interest;
- equal_principal: principal = P / n rounded to cents (no multiple); interest on the balance;
- flat: interest = P × r rounded to cents; installment = P / n + interest rounded to the multiple;
- every rounding uses the product's mode; the last installment pays all the remaining principal
  plus its interest; monthly due dates keep the disbursement's day, clamped to the month's end.
"""

import json
from datetime import date
from decimal import Decimal as D
from fractions import Fraction
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from finance import loan_schedule
from finance.models import Installment, Journal, Loan, LoanProduct
from finance.periods import add_months
from tests.factories import ChamaFactory, member

METHODS = ("declining_balance", "equal_principal", "flat")
ROUNDINGS = ("half_up", "half_even")
MULTIPLES = ("0.01", "1", "5", "10")


# --- an independent reference, in exact rationals ------------------------------------------------

CENT = Fraction(1, 100)
PERIODS_PER_YEAR = {"monthly": 12, "weekly": 52, "fortnightly": 26}


def round_to(value, quantum, mode):
    """`value` (a Fraction) rounded to a whole number of `quantum`s; ties go up (away from zero)
    for half_up and to the even multiple for half_even."""
    sign = -1 if value < 0 else 1
    units = abs(value) / quantum
    whole = units.numerator // units.denominator
    rest = units - whole
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and (mode == "half_up" or whole % 2 == 1)):
        whole += 1
    return sign * whole * quantum


def money(value):
    """A Fraction that is a whole number of cents, as the two-decimal string the code must print."""
    cents = value * 100
    assert cents.denominator == 1, f"{value} is not a whole number of cents"
    sign = "-" if cents < 0 else ""
    cents = abs(cents.numerator)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def reference_schedule(principal, rate, rate_period, n, frequency, method, rounding="half_up", multiple="0.01"):
    """[(principal, interest, balance)] as two-decimal strings, straight from the docstring's formulas."""
    r = Fraction(rate) * (12 if rate_period == "month" else 1) / 100 / PERIODS_PER_YEAR[frequency]
    p, multiple = Fraction(principal), Fraction(multiple)
    if method == "declining_balance":
        level = p / n if r == 0 else p * r / (1 - (1 + r) ** -n)
        installment = round_to(level, multiple, rounding)
    elif method == "flat":
        flat_interest = round_to(p * r, CENT, rounding)
        installment = round_to(p / n + flat_interest, multiple, rounding)
    else:
        equal_part = round_to(p / n, CENT, rounding)
    rows, balance = [], p
    for k in range(1, n + 1):
        if method == "flat":
            interest = flat_interest
            part = installment - interest
        else:
            interest = round_to(balance * r, CENT, rounding)
            part = installment - interest if method == "declining_balance" else equal_part
        # The last installment takes all that is left; before it a part is never negative nor more than the balance.
        part = balance if k == n else min(max(part, Fraction(0)), balance)
        balance -= part
        rows.append((money(part), money(interest), money(balance)))
    return rows


def schedule(
    principal, rate, rate_period, n, frequency, method, rounding="half_up", multiple="0.01", start=date(2024, 1, 1)
):
    """The code under test."""
    terms = loan_schedule.Terms(
        principal=D(principal),
        rate=D(rate),
        rate_period=rate_period,
        installments=n,
        frequency=frequency,
        method=method,
        rounding=rounding,
        installment_multiple=D(multiple),
        start=start,
    )
    assert loan_schedule.validate(terms) == {}
    return loan_schedule.schedule(terms)


def triples(rows):
    """(principal, interest, balance) of each row, as str(Decimal): this also checks there are exactly 2 decimals."""
    return [(str(row.principal), str(row.interest), str(row.balance)) for row in rows]


def test_the_reference_itself_on_hand_worked_numbers():
    # round_to: ties and non-ties, both modes.
    assert round_to(Fraction("10.005"), CENT, "half_up") == Fraction("10.01")
    assert round_to(Fraction("10.005"), CENT, "half_even") == Fraction("10.00")
    assert round_to(Fraction("10.015"), CENT, "half_even") == Fraction("10.02")
    assert round_to(Fraction("10.0051"), CENT, "half_even") == Fraction("10.01")
    assert round_to(Fraction("262.5"), Fraction(5), "half_up") == 265  # 52.5 fives → 53
    assert round_to(Fraction("262.5"), Fraction(5), "half_even") == 260  # 52.5 fives → 52
    assert round_to(Fraction(1000, 3), CENT, "half_up") == Fraction("333.33")
    # 6000 at 1%/month over 3, multiple 1 (the worked example in test_loans_lifecycle):
    # 6000 × 0.01 / (1 − 1.01^−3) = 2040.13 → 2040; interest 60, 40.20, 20.20.
    assert reference_schedule("6000", "12", "year", 3, "monthly", "declining_balance", multiple="1") == [
        ("1980.00", "60.00", "4020.00"),
        ("1999.80", "40.20", "2020.20"),
        ("2020.20", "20.20", "0.00"),
    ]


# --- literal tables worked by hand ---------------------------------------------------------------

# 5,000 at 12%/year, 18 monthly, declining balance, multiple 0.01, disbursed 2024-01-01.
# r = 12% / 12 = 0.01. Installment = 5000 × 0.01 / (1 − 1.01^−18); 1.01^18 = 1.1961474757,
# 1.01^−18 = 0.8360173142, so 50 / 0.1639826858 = 304.9102… → 304.91 (both rounding modes).
# Each row: interest = previous balance × 0.01 rounded to the cent; principal = 304.91 − interest.
P5000_TABLE = [
    # n, due date,   principal, interest, total,   balance
    (1, "2024-02-01", "254.91", "50.00", "304.91", "4745.09"),  # 5000.00 × 1% = 50.00
    (2, "2024-03-01", "257.46", "47.45", "304.91", "4487.63"),  # 4745.09 × 1% = 47.4509 → 47.45
    (3, "2024-04-01", "260.03", "44.88", "304.91", "4227.60"),  # 4487.63 × 1% = 44.8763 → 44.88
    (4, "2024-05-01", "262.63", "42.28", "304.91", "3964.97"),  # 4227.60 × 1% = 42.276 → 42.28
    (5, "2024-06-01", "265.26", "39.65", "304.91", "3699.71"),  # 3964.97 × 1% = 39.6497 → 39.65
    (6, "2024-07-01", "267.91", "37.00", "304.91", "3431.80"),  # 3699.71 × 1% = 36.9971 → 37.00
    (7, "2024-08-01", "270.59", "34.32", "304.91", "3161.21"),  # 3431.80 × 1% = 34.318 → 34.32
    (8, "2024-09-01", "273.30", "31.61", "304.91", "2887.91"),  # 3161.21 × 1% = 31.6121 → 31.61
    (9, "2024-10-01", "276.03", "28.88", "304.91", "2611.88"),  # 2887.91 × 1% = 28.8791 → 28.88
    (10, "2024-11-01", "278.79", "26.12", "304.91", "2333.09"),  # 2611.88 × 1% = 26.1188 → 26.12
    (11, "2024-12-01", "281.58", "23.33", "304.91", "2051.51"),  # 2333.09 × 1% = 23.3309 → 23.33
    (12, "2025-01-01", "284.39", "20.52", "304.91", "1767.12"),  # 2051.51 × 1% = 20.5151 → 20.52
    (13, "2025-02-01", "287.24", "17.67", "304.91", "1479.88"),  # 1767.12 × 1% = 17.6712 → 17.67
    (14, "2025-03-01", "290.11", "14.80", "304.91", "1189.77"),  # 1479.88 × 1% = 14.7988 → 14.80
    (15, "2025-04-01", "293.01", "11.90", "304.91", "896.76"),  # 1189.77 × 1% = 11.8977 → 11.90
    (16, "2025-05-01", "295.94", "8.97", "304.91", "600.82"),  # 896.76 × 1% = 8.9676 → 8.97
    (17, "2025-06-01", "298.90", "6.01", "304.91", "301.92"),  # 600.82 × 1% = 6.0082 → 6.01
    (18, "2025-07-01", "301.92", "3.02", "304.94", "0.00"),  # last: all 301.92 left + 3.0192 → 3.02
]
# Interest: 50.00 + 47.45 + 44.88 + 42.28 + 39.65 + 37.00 + 34.32 + 31.61 + 28.88 + 26.12 + 23.33
# + 20.52 + 17.67 + 14.80 + 11.90 + 8.97 + 6.01 + 3.02 = 488.41; repaid 17 × 304.91 + 304.94 = 5,488.41.
P5000_INTEREST, P5000_REPAID = "488.41", "5488.41"


def as_json_rows(table):
    return [
        {"n": n, "due_date": due, "principal": p, "interest": i, "total": t, "balance": b}
        for n, due, p, i, t, b in table
    ]


def test_declining_balance_5000_at_12_percent_a_year_over_18_months_matches_the_hand_table():
    rows = schedule("5000", "12", "year", 18, "monthly", "declining_balance")
    assert [
        (row.n, row.due_date.isoformat(), str(row.principal), str(row.interest), str(row.total), str(row.balance))
        for row in rows
    ] == P5000_TABLE
    assert [row.as_dict() for row in rows] == as_json_rows(P5000_TABLE)
    assert str(sum(row.interest for row in rows)) == P5000_INTEREST
    # No tie anywhere, so half_even gives the very same table.
    assert triples(schedule("5000", "12", "year", 18, "monthly", "declining_balance", "half_even")) == [
        (p, i, b) for _, _, p, i, _, b in P5000_TABLE
    ]


@pytest.mark.parametrize(
    "multiple, installment",
    [
        # 304.9102 → 305 (multiple 1); 304.9102 / 5 = 60.98 → 61 fives = 305; / 10 = 30.49 → 30 tens = 300.
        ("1", "305.00"),
        ("5", "305.00"),
        ("10", "300.00"),
    ],
)
def test_declining_balance_installment_is_rounded_to_the_multiple(multiple, installment):
    rows = schedule("5000", "12", "year", 18, "monthly", "declining_balance", multiple=multiple)
    assert all(str(row.total) == installment for row in rows[:-1])
    # First row by hand: interest 5000 × 1% = 50.00, so principal = installment − 50.
    assert str(rows[0].interest) == "50.00"
    assert rows[0].principal == D(installment) - D("50.00")
    assert triples(rows) == reference_schedule(
        "5000", "12", "year", 18, "monthly", "declining_balance", multiple=multiple
    )


# 10,000 at 10% a month, flat, 6 monthly, disbursed 2024-01-15.
# r = 10% × 12 / 12 = 10% a month; flat interest = 10000 × 0.10 = 1000.00 every row.
# installment = 10000 / 6 + 1000 = 2666.666…
FLAT_10000 = {
    # 0.01: 2666.67; principal 2666.67 − 1000 = 1666.67 × 5 = 8333.35; last 10000 − 8333.35 = 1666.65.
    "0.01": ("2666.67", ["8333.33", "6666.66", "4999.99", "3333.32", "1666.65", "0.00"], "1666.65"),
    # 1: 2667; principal 1667 × 5 = 8335; last 1665.
    "1": ("2667.00", ["8333.00", "6666.00", "4999.00", "3332.00", "1665.00", "0.00"], "1665.00"),
    # 5: 2666.67 / 5 = 533.33 → 533 fives = 2665; principal 1665 × 5 = 8325; last 1675.
    "5": ("2665.00", ["8335.00", "6670.00", "5005.00", "3340.00", "1675.00", "0.00"], "1675.00"),
    # 10: 266.667 → 267 tens = 2670; principal 1670 × 5 = 8350; last 1650.
    "10": ("2670.00", ["8330.00", "6660.00", "4990.00", "3320.00", "1650.00", "0.00"], "1650.00"),
}


@pytest.mark.parametrize("rounding", ROUNDINGS)
@pytest.mark.parametrize("multiple", MULTIPLES)
def test_flat_10000_at_10_percent_a_month_over_6_matches_the_hand_table(multiple, rounding):
    installment, balances, last_principal = FLAT_10000[multiple]
    rows = schedule("10000", "10", "month", 6, "monthly", "flat", rounding, multiple, start=date(2024, 1, 15))
    assert [row.due_date.isoformat() for row in rows] == [
        "2024-02-15",
        "2024-03-15",
        "2024-04-15",
        "2024-05-15",
        "2024-06-15",
        "2024-07-15",
    ]
    assert all(str(row.interest) == "1000.00" for row in rows)
    assert [str(row.total) for row in rows[:-1]] == [installment] * 5
    assert [str(row.balance) for row in rows] == balances
    assert str(rows[-1].principal) == last_principal
    assert str(rows[-1].total) == str(D(last_principal) + D("1000.00"))


def test_equal_principal_ignores_the_installment_multiple():
    # 5000 / 18 = 277.777… → 277.78 whatever the multiple; the last takes 5000 − 17 × 277.78 = 277.74.
    for multiple in MULTIPLES:
        rows = schedule("5000", "12", "year", 18, "monthly", "equal_principal", multiple=multiple)
        assert [str(row.principal) for row in rows] == ["277.78"] * 17 + ["277.74"]
        # Interest by hand: 5000 × 1% = 50.00; 4722.22 × 1% = 47.2222 → 47.22; last 277.74 × 1% = 2.7774 → 2.78.
        assert [str(row.interest) for row in rows[:2]] == ["50.00", "47.22"]
        assert str(rows[-1].interest) == "2.78"
        assert triples(rows) == reference_schedule(
            "5000", "12", "year", 18, "monthly", "equal_principal", multiple=multiple
        )


def test_seven_thousand_weekly_and_fortnightly_first_rows_by_hand():
    # Weekly r = 0.18 / 52 = 9/2600: 7777.77 × 9 / 2600 = 69999.93 / 2600 = 26.92305… → 26.92.
    weekly = schedule("7777.77", "18", "year", 13, "weekly", "equal_principal")
    # 7777.77 / 13 = 598.2900 → 598.29 (and the last 7777.77 − 12 × 598.29 = 598.29 too).
    assert (str(weekly[0].principal), str(weekly[0].interest)) == ("598.29", "26.92")
    assert str(weekly[-1].principal) == "598.29"
    # Fortnightly r = 0.18 / 26 = 9/1300: 7777.77 × 9 / 1300 = 53.8461… → 53.85; flat keeps it each row;
    # installment = 7777.77 / 8 + 53.85 = 972.22125 + 53.85 = 1026.07125 → 1026.07 (→ 1026 with multiple 1).
    fortnightly = schedule("7777.77", "18", "year", 8, "fortnightly", "flat")
    assert all(str(row.interest) == "53.85" for row in fortnightly)
    assert [str(row.total) for row in fortnightly[:-1]] == ["1026.07"] * 7
    # principal 972.22 × 7 = 6805.54; last 7777.77 − 6805.54 = 972.23.
    assert str(fortnightly[-1].principal) == "972.23"
    assert str(schedule("7777.77", "18", "year", 8, "fortnightly", "flat", multiple="1")[0].total) == "1026.00"


# --- every method, rounding and multiple against the reference ----------------------------------

CASES = [
    ("5000", "12", "year", 18, "monthly"),
    ("10000", "10", "month", 6, "monthly"),
    ("7777.77", "18", "year", 13, "weekly"),
    ("7777.77", "18", "year", 8, "fortnightly"),
    ("25000", "1.5", "month", 24, "monthly"),
    ("1234.56", "0", "year", 7, "weekly"),
]


@pytest.mark.parametrize("multiple", MULTIPLES)
@pytest.mark.parametrize("rounding", ROUNDINGS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("case", CASES, ids=lambda case: "-".join(map(str, case)))
def test_schedule_matches_the_exact_reference(case, method, rounding, multiple):
    principal, rate, rate_period, n, frequency = case
    rows = schedule(principal, rate, rate_period, n, frequency, method, rounding, multiple)
    assert triples(rows) == reference_schedule(principal, rate, rate_period, n, frequency, method, rounding, multiple)

    # Invariants, whatever the terms:
    assert [row.n for row in rows] == list(range(1, n + 1))
    assert str(rows[-1].balance) == "0.00"
    assert sum(row.principal for row in rows) == D(principal)
    for row in rows:
        for amount in (row.principal, row.interest, row.total, row.balance):
            assert amount.as_tuple().exponent == -2 and amount >= 0
    balance = D(principal)
    for row in rows:
        balance -= row.principal
        assert row.balance == balance
    # The last row pays the whole remaining principal plus its interest.
    assert rows[-1].principal == (rows[-2].balance if n > 1 else D(principal))
    assert rows[-1].total == rows[-1].principal + rows[-1].interest
    if method != "equal_principal":
        # Every installment but the last is the same whole number of multiples.
        totals = {row.total for row in rows[:-1]}
        assert len(totals) <= 1
        assert all(total % D(multiple) == 0 for total in totals)


# --- half_up against half_even: ties ------------------------------------------------------------


def test_interest_tie_at_the_cent_declining_balance():
    # 1,000.50 at 1% a month over 2. Installment = 1000.50 × 0.01 × 1.0201 / 0.0201 = 507.766… → 507.77.
    # Interest 1: 1000.50 × 1% = 10.005 exactly: half_up 10.01, half_even 10.00 (0 is even).
    up = schedule("1000.50", "12", "year", 2, "monthly", "declining_balance", "half_up")
    even = schedule("1000.50", "12", "year", 2, "monthly", "declining_balance", "half_even")
    # half_up: principal 507.77 − 10.01 = 497.76, balance 502.74; interest 5.0274 → 5.03; last 502.74 + 5.03.
    assert triples(up) == [("497.76", "10.01", "502.74"), ("502.74", "5.03", "0.00")]
    # half_even: principal 507.77 − 10.00 = 497.77, balance 502.73; interest 5.0273 → 5.03.
    assert triples(even) == [("497.77", "10.00", "502.73"), ("502.73", "5.03", "0.00")]
    assert up[0].interest - even[0].interest == D("0.01")


def test_interest_tie_at_the_cent_equal_principal():
    # 1,000.50 at 1% a month over 2: principal 500.25 (exact); interest 10.005 → 10.01 / 10.00;
    # then 500.25 × 1% = 5.0025 → 5.00 in both modes.
    up = schedule("1000.50", "12", "year", 2, "monthly", "equal_principal", "half_up")
    even = schedule("1000.50", "12", "year", 2, "monthly", "equal_principal", "half_even")
    assert triples(up) == [("500.25", "10.01", "500.25"), ("500.25", "5.00", "0.00")]
    assert triples(even) == [("500.25", "10.00", "500.25"), ("500.25", "5.00", "0.00")]


def test_principal_tie_at_the_cent_equal_principal():
    # 1,000.10 / 4 = 250.025: half_up 250.03, half_even 250.02 (2 is even). 1% a month.
    # half_up: 1000.10 × 1% = 10.001 → 10.00; 750.07 → 7.5007 → 7.50; 500.04 → 5.0004 → 5.00;
    #          last 1000.10 − 3 × 250.03 = 250.01, interest 2.5001 → 2.50.
    assert triples(schedule("1000.10", "12", "year", 4, "monthly", "equal_principal", "half_up")) == [
        ("250.03", "10.00", "750.07"),
        ("250.03", "7.50", "500.04"),
        ("250.03", "5.00", "250.01"),
        ("250.01", "2.50", "0.00"),
    ]
    # half_even: 750.08 → 7.5008 → 7.50; 500.06 → 5.0006 → 5.00; last 250.04 → 2.5004 → 2.50.
    assert triples(schedule("1000.10", "12", "year", 4, "monthly", "equal_principal", "half_even")) == [
        ("250.02", "10.00", "750.08"),
        ("250.02", "7.50", "500.06"),
        ("250.02", "5.00", "250.04"),
        ("250.04", "2.50", "0.00"),
    ]


def test_interest_tie_at_the_cent_flat():
    # 1,000.50 at 1% a month over 3: flat interest 10.005 → 10.01 (half_up) / 10.00 (half_even);
    # installment 1000.50 / 3 + interest = 333.50 + 10.01 = 343.51, or 333.50 + 10.00 = 343.50.
    up = schedule("1000.50", "12", "year", 3, "monthly", "flat", "half_up")
    even = schedule("1000.50", "12", "year", 3, "monthly", "flat", "half_even")
    assert [str(row.total) for row in up] == ["343.51"] * 3
    assert [str(row.total) for row in even] == ["343.50"] * 3
    assert triples(up) == [("333.50", "10.01", "667.00"), ("333.50", "10.01", "333.50"), ("333.50", "10.01", "0.00")]
    assert triples(even) == [("333.50", "10.00", "667.00"), ("333.50", "10.00", "333.50"), ("333.50", "10.00", "0.00")]


def test_zero_rate_declining_balance_tie_at_the_cent():
    # 1,000.10 / 4 = 250.025: installment 250.03 (half_up) or 250.02 (half_even); no interest.
    # Last: 1000.10 − 3 × 250.03 = 250.01, or 1000.10 − 3 × 250.02 = 250.04.
    up = schedule("1000.10", "0", "year", 4, "monthly", "declining_balance", "half_up")
    even = schedule("1000.10", "0", "year", 4, "monthly", "declining_balance", "half_even")
    assert [str(row.principal) for row in up] == ["250.03", "250.03", "250.03", "250.01"]
    assert [str(row.principal) for row in even] == ["250.02", "250.02", "250.02", "250.04"]


@pytest.mark.parametrize(
    "multiple, up, even",
    [
        # 1,050 / 4 = 262.50: multiple 1 → 262.5 ones: 263 (half_up) / 262 (half_even);
        ("1", ["263.00", "263.00", "263.00", "261.00"], ["262.00", "262.00", "262.00", "264.00"]),
        # multiple 5 → 52.5 fives: 53 → 265 / 52 → 260; last 1050 − 795 = 255 / 1050 − 780 = 270.
        ("5", ["265.00", "265.00", "265.00", "255.00"], ["260.00", "260.00", "260.00", "270.00"]),
    ],
)
def test_zero_rate_declining_balance_tie_at_the_multiple(multiple, up, even):
    for rounding, expected in (("half_up", up), ("half_even", even)):
        rows = schedule("1050", "0", "year", 4, "monthly", "declining_balance", rounding, multiple)
        assert [str(row.total) for row in rows] == expected


def test_flat_tie_at_the_multiple_of_ten():
    # 500 at 5% a month flat over 5, multiple 10: interest 500 × 5% = 25.00;
    # installment 500 / 5 + 25 = 125.00 = 12.5 tens → 13 tens = 130 (half_up) / 12 tens = 120 (half_even).
    # half_up: principal 130 − 25 = 105 × 4 = 420, last 80; half_even: 95 × 4 = 380, last 120.
    up = schedule("500", "5", "month", 5, "monthly", "flat", "half_up", "10")
    even = schedule("500", "5", "month", 5, "monthly", "flat", "half_even", "10")
    assert [str(row.total) for row in up] == ["130.00"] * 4 + ["105.00"]
    assert [str(row.principal) for row in up] == ["105.00"] * 4 + ["80.00"]
    assert [str(row.total) for row in even] == ["120.00"] * 4 + ["145.00"]
    assert [str(row.principal) for row in even] == ["95.00"] * 4 + ["120.00"]
    assert all(
        str(row.balance) == expected
        for row, expected in zip(up, ["395.00", "290.00", "185.00", "80.00", "0.00"], strict=True)
    )
    assert all(
        str(row.balance) == expected
        for row, expected in zip(even, ["405.00", "310.00", "215.00", "120.00", "0.00"], strict=True)
    )


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "principal, rate, frequency, rounding, interest",
    [
        # r = 10% / 12 = 1/120: 1001.40 / 120 = 8.345 exactly → 8.35 (half_up) / 8.34 (half_even).
        ("1001.40", "10", "monthly", "half_up", "8.35"),
        ("1001.40", "10", "monthly", "half_even", "8.34"),
        # r = 13% / 12 = 13/1200: 1506 × 13 / 1200 = 19578 / 1200 = 16.315 exactly → 16.32 in both modes (2 is even).
        ("1506.00", "13", "monthly", "half_up", "16.32"),
        ("1506.00", "13", "monthly", "half_even", "16.32"),
        # r = 18% / 52 = 9/2600: 1313 × 9 / 2600 = 11817 / 2600 = 4.545 exactly → 4.55 (half_up) / 4.54 (half_even).
        ("1313.00", "18", "weekly", "half_up", "4.55"),
        ("1313.00", "18", "weekly", "half_even", "4.54"),
    ],
)
def test_ties_are_decided_on_the_exact_interest_when_the_period_rate_does_not_terminate(
    method, principal, rate, frequency, rounding, interest
):
    # The docstring says schedules are "computed exactly": balance × r is a rational number, and an
    # exact x.xx5 must be rounded as a tie even though r = rate / 12 or / 52 has no finite decimal.
    # One installment, so the interest is that of the whole principal in every method.
    rows = schedule(principal, rate, "year", 1, frequency, method, rounding)
    assert str(rows[0].interest) == interest
    assert triples(rows) == reference_schedule(principal, rate, "year", 1, frequency, method, rounding)


def test_a_realistic_schedule_meets_such_a_tie_midway():
    # 7,241.42 at 13%/year over 25 months, declining balance, multiple 5, half_up: r = 13/1200.
    # Installment 7241.42 × r / (1 − (1 + r)^−25) = 332.206… → 66.44 fives → 66 fives = 330.
    # After 13 rows the balance is exactly 3750.00 (reference), and row 14's interest is
    # 3750 × 13 / 1200 = 48750 / 1200 = 40.625 exactly:
    # half_up makes it 40.63 (principal 289.37, balance 3460.63), not 40.62.
    expected = reference_schedule("7241.42", "13", "year", 25, "monthly", "declining_balance", "half_up", "5")
    assert expected[12][2] == "3750.00" and expected[13] == ("289.37", "40.63", "3460.63")
    rows = schedule("7241.42", "13", "year", 25, "monthly", "declining_balance", "half_up", "5")
    assert str(rows[13].interest) == "40.63"
    assert triples(rows) == expected


# --- rate per month, zero rates ------------------------------------------------------------------


@pytest.mark.parametrize("frequency", ["monthly", "weekly", "fortnightly"])
@pytest.mark.parametrize("method", METHODS)
def test_a_rate_per_month_is_multiplied_by_12(method, frequency):
    per_month = schedule("5000", "1", "month", 18, frequency, method)
    per_year = schedule("5000", "12", "year", 18, frequency, method)
    assert triples(per_month) == triples(per_year)
    assert triples(per_month) == reference_schedule("5000", "12", "year", 18, frequency, method)
    if frequency == "monthly":
        assert str(per_month[0].interest) == "50.00"  # 5000 × 12% / 12, not 5000 × 1% / 12
    # and 1%/month is not 1%/year:
    assert triples(schedule("5000", "1", "year", 18, frequency, method)) != triples(per_month)


@pytest.mark.parametrize("method", METHODS)
def test_zero_interest_in_every_method(method):
    # 1000 / 3 = 333.333… → 333.33, last 1000 − 666.66 = 333.34; interest 0.00 throughout.
    rows = schedule("1000", "0", "month", 3, "monthly", method)
    assert triples(rows) == [("333.33", "0.00", "666.67"), ("333.33", "0.00", "333.34"), ("333.34", "0.00", "0.00")]
    # With a multiple of 5 the installment is 333.33 → 66.67 fives → 335 (not for equal_principal).
    rows = schedule("1000", "0", "year", 3, "weekly", method, multiple="5")
    expected = ["333.33", "333.33", "333.34"] if method == "equal_principal" else ["335.00", "335.00", "330.00"]
    assert [str(row.principal) for row in rows] == expected
    assert all(str(row.interest) == "0.00" for row in rows)
    assert str(rows[-1].balance) == "0.00"


def test_single_installment_pays_everything_at_once():
    # 1000 at 1% a month over 1: principal 1000.00 + interest 10.00, whatever the method or multiple.
    for method in METHODS:
        for multiple in MULTIPLES:
            rows = schedule("1000", "12", "year", 1, "monthly", method, multiple=multiple)
            assert triples(rows) == [("1000.00", "10.00", "0.00")]
            assert str(rows[0].total) == "1010.00"


# --- due dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start, expected",
    [
        (date(2024, 1, 31), ["2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31"]),  # leap February
        (date(2023, 1, 31), ["2023-02-28", "2023-03-31", "2023-04-30", "2023-05-31"]),
        (date(2024, 1, 30), ["2024-02-29", "2024-03-30", "2024-04-30", "2024-05-30"]),
        (date(2024, 11, 15), ["2024-12-15", "2025-01-15", "2025-02-15", "2025-03-15"]),  # over the year end
        (date(2024, 12, 31), ["2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30"]),
    ],
)
def test_monthly_due_dates_keep_the_day_clamped_to_month_end(start, expected):
    rows = schedule("1000", "12", "year", 4, "monthly", "declining_balance", start=start)
    assert [row.due_date.isoformat() for row in rows] == expected
    # add_months (finance/periods.py) on its own, with the same literal expectations:
    assert [add_months(start, k).isoformat() for k in range(1, 5)] == expected


def test_weekly_due_dates_are_seven_days_apart():
    rows = schedule("1000", "18", "year", 4, "weekly", "flat", start=date(2024, 2, 19))
    assert [row.due_date.isoformat() for row in rows] == ["2024-02-26", "2024-03-04", "2024-03-11", "2024-03-18"]


def test_fortnightly_due_dates_are_fourteen_days_apart():
    rows = schedule("1000", "18", "year", 4, "fortnightly", "equal_principal", start=date(2024, 12, 20))
    assert [row.due_date.isoformat() for row in rows] == ["2025-01-03", "2025-01-17", "2025-01-31", "2025-02-14"]


# --- the loan_quote command ----------------------------------------------------------------------

QUOTE_ARGS = [
    "--principal",
    "5000",
    "--rate",
    "12",
    "--rate-period",
    "year",
    "--installments",
    "18",
    "--frequency",
    "monthly",
    "--method",
    "declining_balance",
    "--start",
    "2024-01-01",
]


def quote_command(*args):
    out = StringIO()
    call_command("loan_quote", *args, stdout=out)
    return out.getvalue()


def test_loan_quote_json_matches_the_hand_table():
    body = json.loads(quote_command(*QUOTE_ARGS, "--format", "json"))
    assert body == as_json_rows(P5000_TABLE)
    assert all(isinstance(row[key], str) for row in body for key in ("principal", "interest", "total", "balance"))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("rounding", ROUNDINGS)
@pytest.mark.parametrize("multiple", ["1", "10"])
def test_loan_quote_json_honours_method_rounding_and_multiple(method, rounding, multiple):
    args = [
        "--principal",
        "7777.77",
        "--rate",
        "1.5",
        "--rate-period",
        "month",
        "--installments",
        "8",
        "--frequency",
        "fortnightly",
        "--method",
        method,
        "--rounding",
        rounding,
        "--installment-multiple",
        multiple,
        "--start",
        "2024-01-31",
        "--format",
        "json",
    ]
    body = json.loads(quote_command(*args))
    expected = reference_schedule("7777.77", "1.5", "month", 8, "fortnightly", method, rounding, multiple)
    assert [(row["principal"], row["interest"], row["balance"]) for row in body] == expected
    assert [row["total"] for row in body] == [money(Fraction(p) + Fraction(i)) for p, i, _ in expected]
    # fortnightly from 2024-01-31: +14 days each.
    assert [row["due_date"] for row in body] == [
        "2024-02-14",
        "2024-02-28",
        "2024-03-13",
        "2024-03-27",
        "2024-04-10",
        "2024-04-24",
        "2024-05-08",
        "2024-05-22",
    ]


def test_loan_quote_table_prints_every_row_and_a_total_line():
    lines = [line for line in quote_command(*QUOTE_ARGS, "--format", "table").splitlines() if line.strip()]
    assert lines[0].split() == ["n", "due", "date", "principal", "interest", "total", "balance"]
    assert len(lines) == 1 + 18 + 1
    for line, (n, due, principal, interest, total, balance) in zip(lines[1:19], P5000_TABLE, strict=True):
        assert line.split() == [str(n), due] + [f"{D(amount):,.2f}" for amount in (principal, interest, total, balance)]
    assert lines[1].split()[-1] == "4,745.09"  # thousands separated
    assert lines[-1] == f"Total repaid 5,488.41: principal 5,000.00, interest {P5000_INTEREST}."


def test_loan_quote_table_is_the_default_format():
    assert quote_command(*QUOTE_ARGS).splitlines()[-1].startswith("Total repaid 5,488.41")


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--principal", "abc", r"^--principal 'abc': give a number such as 5000 or 12\.5\.$"),
        ("--principal", "0", r"^--principal: The principal must be more than zero\.$"),
        ("--installments", "0", r"^--installments: At least one installment\.$"),
        ("--rate", "-1", r"^--rate: The rate cannot be negative\.$"),
        ("--rate", "NaN", r"^--rate 'NaN': give a number"),
        ("--start", "2024-13-01", r"^--start '2024-13-01': give a day as 2026-11-22\.$"),
        ("--installment-multiple", "0", r"^--installment-multiple: The installment multiple must be more than zero\.$"),
    ],
)
def test_loan_quote_refuses_bad_input_with_a_sentence(option, value, message):
    args = list(QUOTE_ARGS)
    if option in args:
        args[args.index(option) + 1] = value
    else:
        args += [option, value]
    with pytest.raises(CommandError, match=message):
        quote_command(*args)


def test_loan_quote_writes_nothing_to_the_database(db):
    ChamaFactory()
    before = (Journal.objects.count(), Loan.objects.count(), Installment.objects.count(), LoanProduct.objects.count())
    quote_command(*QUOTE_ARGS, "--format", "json")
    quote_command(*QUOTE_ARGS, "--format", "table", "--method", "flat")
    with pytest.raises(CommandError):
        quote_command(*QUOTE_ARGS[:-2], "--start", "2024-13-01")
    assert (
        Journal.objects.count(),
        Loan.objects.count(),
        Installment.objects.count(),
        LoanProduct.objects.count(),
    ) == before


# --- the API quote -------------------------------------------------------------------------------


@pytest.fixture
def product(chama):
    return LoanProduct.objects.create(
        chama=chama,
        name="Biashara",
        interest_method="declining_balance",
        interest_rate=D("12"),
        rate_period="year",
        repayment_frequency="monthly",
        min_installments=3,
        max_installments=24,
        min_amount=D("1000"),
        max_amount=D("50000"),
        rounding="half_up",
        installment_multiple=D("0.01"),
    )


def quote_url(product):
    return f"/api/v1/chamas/{product.chama_id}/loan-products/{product.pk}/quote/"


def test_api_quote_gives_a_member_the_hand_table(api_as, plain_member, product):
    loans_before, journals_before = Loan.objects.count(), Journal.objects.count()
    response = api_as(plain_member).post(
        quote_url(product), {"principal": "5000.00", "installments": 18, "start": "2024-01-01"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json() == as_json_rows(P5000_TABLE)
    assert (Loan.objects.count(), Journal.objects.count()) == (loans_before, journals_before)


def test_api_quote_and_command_agree(api_as, plain_member, product):
    response = api_as(plain_member).post(
        quote_url(product), {"principal": "5000.00", "installments": 18, "start": "2024-01-01"}, format="json"
    )
    assert response.json() == json.loads(quote_command(*QUOTE_ARGS, "--format", "json"))


def test_api_quote_uses_the_products_method_rounding_and_multiple(api_as, chama, plain_member):
    product = LoanProduct.objects.create(
        chama=chama,
        name="Haraka",
        interest_method="flat",
        interest_rate=D("1.5"),
        rate_period="month",
        repayment_frequency="weekly",
        min_installments=1,
        max_installments=52,
        min_amount=D("100"),
        max_amount=D("100000"),
        rounding="half_even",
        installment_multiple=D("5"),
    )
    response = api_as(plain_member).post(
        quote_url(product), {"principal": "7777.77", "installments": 13, "start": "2024-01-31"}, format="json"
    )
    assert response.status_code == 200, response.content
    expected = reference_schedule("7777.77", "1.5", "month", 13, "weekly", "flat", "half_even", "5")
    assert [(row["principal"], row["interest"], row["balance"]) for row in response.json()] == expected
    # Flat: 7777.77 × 18% / 52 = 26.9230… → 26.92; 7777.77 / 13 + 26.92 = 598.29 + 26.92 = 625.21 → 125.04 fives → 625.
    assert response.json()[0]["interest"] == "26.92" and response.json()[0]["total"] == "625.00"
    assert [row["due_date"] for row in response.json()[:3]] == ["2024-02-07", "2024-02-14", "2024-02-21"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"principal": "999.99", "installments": 12}, "principal"),  # under the 1,000 minimum
        ({"principal": "50000.01", "installments": 12}, "principal"),  # over the 50,000 maximum
        ({"principal": "5000.00", "installments": 2}, "installments"),  # under 3
        ({"principal": "5000.00", "installments": 25}, "installments"),  # over 24
        ({"principal": "5000.00", "installments": 0}, "installments"),
        ({"principal": 5000, "installments": 12}, "principal"),  # a JSON number, not a string
        ({"principal": 5000.5, "installments": 12}, "principal"),
        ({"principal": "abc", "installments": 12}, "principal"),
    ],
)
def test_api_quote_refuses_terms_outside_the_product(api_as, plain_member, product, body, field):
    response = api_as(plain_member).post(quote_url(product), body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()


def test_api_quote_limits_are_inclusive(api_as, plain_member, product):
    client = api_as(plain_member)
    for principal, installments in (("1000.00", 3), ("50000.00", 24)):
        response = client.post(
            quote_url(product), {"principal": principal, "installments": installments}, format="json"
        )
        assert response.status_code == 200, response.content
        assert len(response.json()) == installments
        assert response.json()[-1]["balance"] == "0.00"


def test_api_quote_names_the_product_limits(api_as, plain_member, product):
    response = api_as(plain_member).post(
        quote_url(product), {"principal": "60000.00", "installments": 30}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["principal"] == ["Biashara lends 1,000.00 to 50,000.00."]
    assert response.json()["installments"] == ["Biashara runs 3 to 24 installments."]


def test_api_quote_is_for_members_of_the_chama_only(api_as, other_chama, product):
    outsider = member(other_chama)
    response = api_as(outsider).post(quote_url(product), {"principal": "5000.00", "installments": 18}, format="json")
    assert response.status_code == 404


def test_validate_names_every_bad_term_with_a_sentence():
    terms = loan_schedule.Terms(
        principal=D("0"),
        rate=D("-0.01"),
        rate_period="week",
        installments=0,
        frequency="daily",
        method="balloon",
        rounding="down",
        installment_multiple=D("0"),
    )
    assert loan_schedule.validate(terms) == {
        "principal": "The principal must be more than zero.",
        "rate": "The rate cannot be negative.",
        "installments": "At least one installment.",
        "frequency": "Use monthly, weekly or fortnightly.",
        "method": "Use one of flat, declining_balance, equal_principal.",
        "rounding": "Use half_up or half_even.",
        "rate_period": "Use month or year.",
        "installment_multiple": "The installment multiple must be more than zero.",
    }


def test_validate_takes_the_smallest_good_terms():
    # One cent over one installment at 0%: each bound is the first value accepted.
    terms = loan_schedule.Terms(
        principal=D("0.01"),
        rate=D("0"),
        rate_period="month",
        installments=1,
        frequency="weekly",
        method="flat",
        rounding="half_even",
        installment_multiple=D("0.01"),
    )
    assert loan_schedule.validate(terms) == {}
    assert [(row.principal, row.interest, row.balance) for row in loan_schedule.schedule(terms)] == [
        (D("0.01"), D("0.00"), D("0.00"))
    ]
