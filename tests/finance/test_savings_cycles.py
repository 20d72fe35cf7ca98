"""Savings cycles and the share-out from the ledger: the preview, the close by two officers with its
journals, rollover into the next cycle, the remainder's two homes and a member leaving mid-cycle.

The cycle worked by hand (share price KES 100, payouts rounded down to KES 10):
- shares: chairperson 10, treasurer 10, secretary 5, Wanjiku 10, Otieno 15, Akinyi 0 = 50 shares,
  savings KES 5,000;
- Wanjiku borrows 2,000 over two months at 10% a month flat (installments of 1,000 + 200 interest),
  repays the first and not the second: she owes 1,200 at the share-out;
- Akinyi is fined 100 and does not pay it; a stationery expense of 150; a donation of 300.
- Fund = 5,000 + interest 200 + fines 100 + other income 300 − expenses 150 = 5,450;
  value per share 109: chairperson and treasurer 1,090, secretary 545 → 540, Wanjiku 1,090 all
  deducted towards her 1,200 (110 still owed), Otieno 1,635 → 1,630, Akinyi 0 (still owes 100).
- Paid 1,090 + 1,090 + 540 + 1,630 = 4,350; deducted 1,090; remainder 5 + 5 = 10: 5,450 in all.
- Cash: 5,000 − 2,000 lent + 1,200 repaid − 150 + 300 = 4,350, which the payouts take to zero.
"""

from datetime import date
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from chama import authority
from chama.models import Notification
from chama.roles import Role
from finance.models import Account, Journal, Loan, SavingsCycle, ShareOut, ShareOutLine
from finance.selectors import savings_cycles as reads
from finance.services import books, dues, ledger, loans, reconcile, savings, savings_cycles
from tests.factories import LOAN_POLICY, ChamaFactory, joined, loan_product
from tests.helpers import today_is

pytestmark = [pytest.mark.usefixtures("clock"), pytest.mark.django_db]
A = Account.Purpose
MEETINGS = [date(2027, 1, 9), date(2027, 1, 16), date(2027, 1, 23)]
SHARE_OUT_DAY = date(2027, 12, 18)


def vsla(**cycle):
    chama = ChamaFactory(kind="vsla", policy={**LOAN_POLICY, "share_price": D("100"), "shares_max_per_meeting": 5})
    chama.chair = joined(chama, Role.CHAIRPERSON)
    chama.treasurer = joined(chama, Role.TREASURER)
    chama.secretary = joined(chama, Role.SECRETARY)
    chama.wanjiku, chama.otieno, chama.akinyi = joined(chama), joined(chama), joined(chama)
    today_is(date(2027, 1, 4))
    chama.cycle = savings_cycles.cycle_open(
        chama=chama,
        name="2027",
        start_date=date(2027, 1, 4),
        planned_end_date=SHARE_OUT_DAY,
        by=chama.treasurer.user,
        rounding_unit=D("10"),
        **cycle,
    )
    return chama


def buy(chama, membership, *per_meeting):
    for day, shares in zip(MEETINGS, per_meeting, strict=False):
        today_is(day)
        savings.share_purchase(membership=membership, shares=shares, method="cash", by=chama.treasurer.user)


def worked_cycle(**cycle):
    """The cycle of the module's docstring, on the eve of its share-out."""
    chama = vsla(**cycle)
    buy(chama, chama.chair, 5, 5)
    buy(chama, chama.treasurer, 5, 5)
    buy(chama, chama.secretary, 5)
    buy(chama, chama.wanjiku, 5, 5)
    buy(chama, chama.otieno, 5, 5, 5)
    treasurer = chama.treasurer.user
    books.expense_record(chama=chama, category="stationery", amount=D("150"), description="Passbooks", by=treasurer)
    books.income_record(chama=chama, category="donation", amount=D("300"), description="Ward grant", by=treasurer)
    dues.fine_charge(membership=chama.akinyi, amount=D("100"), reason="Absent without apology", by=treasurer)
    product = loan_product(chama, "Emergency", interest_rate=D("10"), fee_value=D("0"), penalty_value=D("0"))
    loan = loans.loan_apply(
        membership=chama.wanjiku, product=product, principal="2000", installments=2, by=chama.wanjiku.user
    )
    loans.loan_approve(loan=loan, by=chama.chair.user)
    loans.loan_approve(loan=loan, by=chama.secretary.user)
    today_is(date(2027, 2, 1))
    loans.loan_disburse(loan=loan, by=treasurer, method="cash")
    today_is(date(2027, 3, 1))
    loans.loan_repay(loan=loan, amount=D("1200"), method="cash", by=treasurer)
    chama.loan = loan
    today_is(SHARE_OUT_DAY)
    return chama


def balance(chama, purpose):
    return ledger.chama_account(chama, purpose).normal_balance


def member_balance(membership, purpose):
    return ledger.member_account(membership, purpose).normal_balance


def test_the_preview_works_the_fund_out_from_the_ledger():
    chama = worked_cycle()

    preview = reads.preview(cycle=chama.cycle)

    fund = preview.fund
    assert (fund.interest, fund.fines, fund.other_income, fund.expenses) == (D("200"), D("100"), D("300"), D("150"))
    quote = preview.quote
    assert (quote.fund, quote.total_shares, quote.value_per_share, quote.remainder) == (
        D("5450.00"),
        50,
        D("109.0000"),
        D("10.00"),
    )
    rows = {standing.membership: payout for standing, payout in preview.lines()}
    assert [(p.shares, p.savings, p.deductions, p.net_payout, p.still_owed) for p in rows.values()] == [
        (10, D("1000.00"), 0, D("1090.00"), 0),  # chairperson
        (10, D("1000.00"), 0, D("1090.00"), 0),  # treasurer
        (5, D("500.00"), 0, D("540.00"), 0),  # secretary
        (10, D("1000.00"), D("1090.00"), D("0.00"), D("110.00")),  # Wanjiku: her 1,200 loan
        (15, D("1500.00"), 0, D("1630.00"), 0),  # Otieno
        (0, D("0.00"), D("0.00"), D("0.00"), D("100.00")),  # Akinyi: her fine
    ]
    assert balance(chama, A.CASH) == D("4350.00")


def test_two_officers_close_the_cycle_and_every_shilling_lands_where_the_preview_said():
    chama = worked_cycle()
    share_out = savings_cycles.share_out_request(cycle=chama.cycle, by=chama.treasurer.user, method="cash")
    chama.cycle.refresh_from_db()
    assert (share_out.status, chama.cycle.status) == ("pending", "sharing_out")
    assert not Journal.objects.filter(chama=chama, kind=Journal.Kind.SHARE_OUT).exists()
    asked = Notification.objects.filter(dedupe_key=f"sign-share-out-{share_out.pk}")
    assert {n.user for n in asked} == {chama.chair.user, chama.secretary.user}

    with pytest.raises(authority.Refused):  # the same officer cannot sign twice
        savings_cycles.share_out_approve(share_out=share_out, by=chama.treasurer.user)
    savings_cycles.share_out_approve(share_out=share_out, by=chama.secretary.user)

    share_out.refresh_from_db()
    chama.cycle.refresh_from_db()
    assert (share_out.status, share_out.fund, share_out.remainder) == ("posted", D("5450.00"), D("10.00"))
    assert (chama.cycle.status, chama.cycle.closed_date) == ("closed", SHARE_OUT_DAY)
    assert balance(chama, A.CASH) == 0  # 4,350 paid out
    for income in (A.INTEREST_INCOME, A.FINE_INCOME, A.OTHER_INCOME):
        assert balance(chama, income) == (D("200.00") if income == A.INTEREST_INCOME else 0)
    # The interest Wanjiku's payout settled is the next cycle's income; the remainder waits in
    # retained earnings for the next cycle.
    assert balance(chama, A.RETAINED_EARNINGS) == D("10.00")
    for member in (chama.chair, chama.treasurer, chama.secretary, chama.wanjiku, chama.otieno):
        assert member_balance(member, A.MEMBER_SHARES) == 0
    loan = Loan.objects.get(pk=chama.loan.pk)
    assert ledger.loan_account(loan).normal_balance == D("110.00")  # 1,090 paid 200 interest, 890 principal
    assert loan.status == Loan.Status.ACTIVE
    assert member_balance(chama.akinyi, A.FINES_RECEIVABLE) == D("100.00")

    lines = {line.membership: line for line in ShareOutLine.objects.filter(share_out=share_out)}
    assert lines[chama.otieno].net_payout == D("1630.00") and lines[chama.otieno].paid == D("1630.00")
    assert lines[chama.wanjiku].deductions == D("1090.00") and lines[chama.wanjiku].still_owed == D("110.00")
    otieno = lines[chama.otieno].journal
    assert (otieno.kind, otieno.membership, otieno.amount) == (Journal.Kind.SHARE_OUT, chama.otieno, D("1630.00"))
    told = Notification.objects.get(user=chama.wanjiku.user, dedupe_key=f"share-out-{share_out.pk}-{chama.wanjiku.pk}")
    assert "Taken towards your loans and fines: KES 1,090.00" in told.body
    assert "Still owed by you after the share-out: KES 110.00" in told.body
    assert reconcile.all_drift(chama) == [] and reconcile.unbalanced_journal_ids(chama) == []


def test_a_member_who_rolls_over_starts_the_next_cycle_with_whole_shares_and_is_paid_the_rest():
    chama = worked_cycle()
    savings_cycles.choice_set(cycle=chama.cycle, membership=chama.otieno, choice="rollover", by=chama.otieno.user)
    share_out = savings_cycles.share_out_request(
        cycle=chama.cycle,
        by=chama.treasurer.user,
        method="cash",
        next_cycle_name="2028",
        next_planned_end_date=date(2028, 12, 16),
    )
    savings_cycles.share_out_approve(share_out=share_out, by=chama.chair.user)

    line = ShareOutLine.objects.get(share_out=share_out, membership=chama.otieno)
    assert (line.net_payout, line.rolled_over, line.paid) == (D("1630.00"), D("1600.00"), D("30.00"))
    assert member_balance(chama.otieno, A.MEMBER_SHARES) == D("1600.00")  # 16 shares of 2028
    assert balance(chama, A.CASH) == D("1600.00")  # 4,350 − 2,750 paid
    following = SavingsCycle.objects.get(chama=chama, name="2028")
    assert (following.status, following.previous, following.share_price) == ("active", chama.cycle, D("100.00"))
    assert reads.open_cycle(chama=chama) == following
    opening = {s.membership: s.shares for s in reads.standings(cycle=following, as_of=SHARE_OUT_DAY)}
    assert opening[chama.otieno] == 16


def test_without_a_next_cycle_a_rollover_choice_is_paid_in_cash():
    chama = worked_cycle()
    savings_cycles.choice_set(cycle=chama.cycle, membership=chama.otieno, choice="rollover", by=chama.otieno.user)
    share_out = savings_cycles.share_out_request(cycle=chama.cycle, by=chama.treasurer.user, method="cash")
    savings_cycles.share_out_approve(share_out=share_out, by=chama.chair.user)
    assert ShareOutLine.objects.get(share_out=share_out, membership=chama.otieno).paid == D("1630.00")


def test_the_remainder_goes_to_the_social_fund_when_the_cycle_says_so():
    chama = worked_cycle(remainder_to="social_fund")
    share_out = savings_cycles.share_out_request(cycle=chama.cycle, by=chama.treasurer.user, method="cash")
    savings_cycles.share_out_approve(share_out=share_out, by=chama.chair.user)
    assert balance(chama, A.WELFARE_FUND) == D("10.00")
    assert balance(chama, A.RETAINED_EARNINGS) == 0


def test_a_rejected_share_out_leaves_the_cycle_running():
    chama = worked_cycle()
    share_out = savings_cycles.share_out_request(cycle=chama.cycle, by=chama.treasurer.user, method="cash")
    with pytest.raises(ValidationError):
        savings_cycles.share_out_reject(share_out=share_out, by=chama.chair.user, reason="")
    savings_cycles.share_out_reject(share_out=share_out, by=chama.chair.user, reason="Count the cash box first")
    chama.cycle.refresh_from_db()
    assert chama.cycle.status == "active"
    assert balance(chama, A.CASH) == D("4350.00")
    again = savings_cycles.share_out_request(cycle=chama.cycle, by=chama.treasurer.user, method="cash")
    assert again.status == "pending"


def test_a_member_leaving_mid_cycle_is_paid_their_shares_at_that_days_value_and_the_rest_share_what_is_left():
    chama = worked_cycle()
    today_is(date(2027, 6, 1))
    leaving = savings_cycles.share_out_request(
        cycle=chama.cycle, by=chama.treasurer.user, method="cash", membership=chama.otieno
    )
    with pytest.raises(authority.Refused):  # never the leaving member for themselves
        savings_cycles.share_out_approve(share_out=leaving, by=chama.otieno.user)
    savings_cycles.share_out_approve(share_out=leaving, by=chama.chair.user)
    chama.cycle.refresh_from_db()
    assert chama.cycle.status == "active"
    # 15 shares × 109 = 1,635 → 1,630: Dr shares 1,500, Dr retained earnings 130, Cr cash 1,630.
    assert member_balance(chama.otieno, A.MEMBER_SHARES) == 0
    assert balance(chama, A.RETAINED_EARNINGS) == D("-130.00")
    assert balance(chama, A.CASH) == D("2720.00")

    today_is(SHARE_OUT_DAY)
    quote = reads.preview(cycle=chama.cycle).quote
    # 5,450 − 1,630 = 3,820 for the 35 shares left: 109.142857… a share, so the same 109 and a bit.
    assert (quote.fund, quote.total_shares, quote.value_per_share) == (D("3820.00"), 35, D("109.1429"))
    assert [p.net_payout for p in quote.payouts] == [D("1090"), D("1090"), D("540"), D("0"), D("0")]
    # Wanjiku's 10 shares are worth 1,091.428…: 1,091.42 is deducted towards her 1,200.
    assert quote.payouts[3].deductions == D("1091.42")
    assert quote.remainder == D("8.58")  # 3,820 − (1,090 + 1,090 + 540 + 1,091.42)


def test_a_share_out_is_refused_with_a_sentence_when_it_cannot_be_worked_out():
    chama = vsla()
    today_is(date(2027, 6, 1))
    with pytest.raises(ValidationError, match="No member holds a share"):
        savings_cycles.share_out_request(cycle=chama.cycle, by=chama.treasurer.user, method="cash")
    assert ShareOut.objects.count() == 0
    chama.cycle.refresh_from_db()
    assert chama.cycle.status == "active"


def test_purchases_during_a_cycle_use_its_price_and_a_second_open_cycle_is_refused():
    chama = vsla(share_price=D("50"), shares_max_per_meeting=3)
    today_is(MEETINGS[0])
    journal = savings.share_purchase(membership=chama.otieno, shares=3, method="cash", by=chama.treasurer.user)
    assert journal.amount == D("150.00")
    with pytest.raises(ValidationError, match="3 shares per meeting"):
        savings.share_purchase(membership=chama.otieno, shares=1, method="cash", by=chama.treasurer.user)
    with pytest.raises(ValidationError, match="already has a savings cycle running"):
        savings_cycles.cycle_open(
            chama=chama,
            name="Another",
            start_date=MEETINGS[0],
            planned_end_date=SHARE_OUT_DAY,
            by=chama.treasurer.user,
        )


def test_only_money_officers_ask_for_a_share_out_and_a_member_chooses_only_for_themselves():
    chama = worked_cycle()
    with pytest.raises(authority.Refused):
        savings_cycles.share_out_request(cycle=chama.cycle, by=chama.secretary.user, method="cash")
    with pytest.raises(authority.Refused):
        savings_cycles.choice_set(cycle=chama.cycle, membership=chama.otieno, choice="rollover", by=chama.wanjiku.user)
    with pytest.raises(ValidationError, match="Pick cash"):
        savings_cycles.choice_set(cycle=chama.cycle, membership=chama.otieno, choice="half", by=chama.otieno.user)
