"""The share-out arithmetic (`finance.shareout`) against cases worked by hand, a property over any
cycle (the payouts, the deductions and the remainder are the fund, to the cent), and the
`shareout_quote` calculator command."""

import json
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from finance.shareout import ROUNDING_UNITS, Fund, Holder, from_input, quote


def by_member(result):
    return {payout.member: payout for payout in result.payouts}


def test_a_cycle_with_interest_shares_it_in_proportion_to_shares():
    # Savings 45 + 30 + 25 = 100 shares × 5 = 500; fund 500 + 900 interest = 1,400; 14 a share.
    result = quote(
        share_price=D("5"),
        rounding_unit=D("1"),
        fund=Fund(interest=D("900")),
        holders=[Holder("Ama", 45), Holder("Kofi", 30), Holder("Esi", 25)],
    )
    assert (result.fund, result.total_shares, result.value_per_share, result.remainder) == (
        D("1400.00"),
        100,
        D("14.0000"),
        D("0.00"),
    )
    ama = by_member(result)["Ama"]
    assert (ama.savings, ama.profit_share, ama.deductions, ama.net_payout) == (
        D("225.00"),
        D("405.00"),
        D("0.00"),
        D("630.00"),
    )


def test_a_loan_larger_than_the_payout_takes_it_all_and_the_rest_stays_owed():
    # Fund 1,400 as above. Kofi: gross 30 × 14 = 420, owes 500 → 420 deducted, 0 paid, 80 still owed.
    # Esi: gross 350, fines 20 → 330.
    result = quote(
        share_price=D("5"),
        rounding_unit=D("1"),
        fund=Fund(interest=D("900")),
        holders=[
            Holder("Ama", 45),
            Holder("Kofi", 30, outstanding_loan=D("500")),
            Holder("Esi", 25, unpaid_fines=D("20")),
        ],
    )
    kofi, esi = by_member(result)["Kofi"], by_member(result)["Esi"]
    assert (kofi.deductions, kofi.net_payout, kofi.still_owed) == (D("420.00"), D("0.00"), D("80.00"))
    assert (esi.deductions, esi.net_payout, esi.still_owed) == (D("20.00"), D("330.00"), D("0.00"))
    assert result.remainder == D("0.00")


def test_rounding_down_leaves_a_remainder_to_the_cent():
    # 3 members × 1 share at 10 = 30 saved, + 10 fines − 3.50 expenses = 36.50; 12.1666… a share.
    # Rounded down to 5 shillings each: 10, 10, 10 → remainder 6.50.
    result = quote(
        share_price=D("10"),
        rounding_unit=D("5"),
        fund=Fund(fines=D("10"), expenses=D("3.50")),
        holders=[Holder("A", 1), Holder("B", 1), Holder("C", 1)],
    )
    assert result.fund == D("36.50") and result.value_per_share == D("12.1667")
    assert [payout.net_payout for payout in result.payouts] == [D("10.00")] * 3
    assert [payout.profit_share for payout in result.payouts] == [D("2.17")] * 3  # 12.17 gross − 10 saved
    assert result.remainder == D("6.50")


def test_a_member_with_no_shares_gets_nothing_and_keeps_what_they_owe():
    result = quote(
        share_price=D("100"),
        rounding_unit=D("0.01"),
        fund=Fund(interest=D("50")),
        holders=[Holder("Saver", 4), Holder("Borrower", 0, outstanding_loan=D("300"))],
    )
    borrower = by_member(result)["Borrower"]
    assert (borrower.savings, borrower.deductions, borrower.net_payout, borrower.still_owed) == (
        D("0.00"),
        D("0.00"),
        D("0.00"),
        D("300.00"),
    )
    assert by_member(result)["Saver"].net_payout == D("450.00")  # 400 saved + all 50 of interest


def test_a_cycle_that_lost_money_pays_back_less_than_was_saved():
    # 10 shares × 50 = 500 saved, 120 written off as a loss: 380 to share, 38 a share.
    result = quote(
        share_price=D("50"), rounding_unit=D("1"), fund=Fund(losses=D("120")), holders=[Holder("A", 6), Holder("B", 4)]
    )
    assert [(p.net_payout, p.profit_share) for p in result.payouts] == [
        (D("228.00"), D("-72.00")),
        (D("152.00"), D("-48.00")),
    ]


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"share_price": D("0")}, "share_price"),
        ({"rounding_unit": D("2")}, "rounding_unit"),
        ({"holders": [Holder("A", 0)]}, "members"),
        ({"fund": Fund(expenses=D("1000"))}, "fund"),
        ({"fund": Fund(interest=D("-1"))}, "interest"),
    ],
)
def test_figures_that_cannot_be_shared_out_are_refused_with_a_reason(change, where):
    arguments = {"share_price": D("5"), "rounding_unit": D("1"), "fund": Fund(), "holders": [Holder("A", 10)]}
    with pytest.raises(ValidationError) as refused:
        quote(**{**arguments, **change})
    assert where in refused.value.message_dict


money = st.decimals(min_value=D("0"), max_value=D("100000"), places=2, allow_nan=False, allow_infinity=False)
holders = st.lists(
    st.builds(
        Holder,
        member=st.text(min_size=1, max_size=5),
        shares=st.integers(0, 300),
        outstanding_loan=money,
        unpaid_fines=money,
    ),
    min_size=1,
    max_size=30,
).filter(lambda found: sum(holder.shares for holder in found) > 0)


@settings(max_examples=300, deadline=None)
@given(
    share_price=st.decimals(min_value=D("0.01"), max_value=D("1000"), places=2),
    unit=st.sampled_from(ROUNDING_UNITS),
    income=money,
    expenses=money,
    holders=holders,
)
def test_the_payouts_deductions_and_remainder_are_the_fund_to_the_cent(share_price, unit, income, expenses, holders):
    saved = sum((holder.shares * share_price for holder in holders), D(0))
    if saved + income - expenses < 0:
        return  # refused, as tested above
    result = quote(
        share_price=share_price, rounding_unit=unit, fund=Fund(interest=income, expenses=expenses), holders=holders
    )
    assert sum(p.net_payout + p.deductions for p in result.payouts) + result.remainder == result.fund
    assert result.fund == saved + income - expenses
    for holder, payout in zip(holders, result.payouts, strict=True):
        assert payout.net_payout >= 0 and payout.net_payout % unit == 0
        assert payout.deductions + payout.still_owed == holder.owed
        gross = holder.shares * result.fund / result.total_shares
        assert payout.net_payout + payout.deductions <= gross  # nobody is paid more than their shares are worth
        assert gross - payout.net_payout - payout.deductions < unit + D("0.01")  # rounding takes less than a unit
    assert result.remainder >= 0


def run_command(tmp_path, data, *options):
    path = tmp_path / "cycle.json"
    path.write_text(json.dumps(data))
    out = StringIO()
    call_command("shareout_quote", "--input", str(path), *options, stdout=out)
    return out.getvalue()


ISSUE_EXAMPLE = {
    "share_price": "5",
    "rounding_unit": "1",
    "fund": {"interest": "900", "fines": "0", "other_income": "0", "expenses": "0"},
    "members": [
        {"member": "Ama", "shares": 45, "outstanding_loan": "0", "unpaid_fines": "0"},
        {"member": "Kofi", "shares": 30, "outstanding_loan": "500", "unpaid_fines": "0"},
        {"member": "Esi", "shares": 25, "outstanding_loan": "0", "unpaid_fines": "20"},
    ],
}


def test_the_calculator_prints_the_share_out_as_json(tmp_path):
    out = json.loads(run_command(tmp_path, ISSUE_EXAMPLE, "--format", "json"))
    assert {key: out[key] for key in ("fund", "total_shares", "value_per_share", "remainder")} == {
        "fund": "1400.00",
        "total_shares": 100,
        "value_per_share": "14.0000",
        "remainder": "0.00",
    }
    assert out["members"][1] == {
        "member": "Kofi",
        "shares": 30,
        "savings": "150.00",
        "profit_share": "270.00",
        "deductions": "420.00",
        "net_payout": "0.00",
    }


def test_the_calculator_prints_a_table_naming_what_stays_owed(tmp_path):
    out = run_command(tmp_path, ISSUE_EXAMPLE)
    assert "still owes 80.00 after the deduction" in out
    assert "Fund 1,400.00 over 100 shares: 14.0000 a share; remainder 0.00." in out


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({**ISSUE_EXAMPLE, "share_price": "five"}, "share_price: 'five' is not an amount"),
        ({**ISSUE_EXAMPLE, "share_price": 5.5}, "share_price: Enter the amount as digits"),
        ({**ISSUE_EXAMPLE, "rounding_unit": "3"}, "rounding_unit: Round payouts to one of 0.01, 1, 5, 10, 50."),
        ({**ISSUE_EXAMPLE, "members": [{"member": "Ama", "shares": -1}]}, "members[0].shares: Shares must be"),
        ({**ISSUE_EXAMPLE, "fund": {"bonus": "1"}}, "fund: Give the fund as an object of"),
        ({**ISSUE_EXAMPLE, "colour": "red"}, "input: Unknown keys: colour."),
        ([1, 2], "input: Give a JSON object"),
    ],
)
def test_the_calculator_refuses_bad_input_with_a_sentence(tmp_path, data, message):
    with pytest.raises(CommandError) as refused:
        run_command(tmp_path, data)
    assert message in str(refused.value)


def test_the_calculator_refuses_a_file_that_is_not_json(tmp_path):
    path = tmp_path / "cycle.json"
    path.write_text("{not json")
    with pytest.raises(CommandError, match="is not JSON"):
        call_command("shareout_quote", "--input", str(path))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("shareout_quote", "--input", str(tmp_path / "missing.json"))


def test_input_left_out_counts_as_zero():
    arguments = from_input({"share_price": "5", "members": [{"member": "Ama", "shares": 2}]})
    assert arguments["rounding_unit"] == D("1") and arguments["fund"] == Fund()
    assert arguments["holders"] == [Holder("Ama", 2)]
