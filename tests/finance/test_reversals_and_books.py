"""Reversals (payments, fines, waivers, shares), expenses and other income, investments, and
reconciling cached balances, against amounts worked out by hand. After every test here the
cached balances equal the ledger (`all_drift()` is empty)."""

import re
from datetime import date
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from chama import authority
from chama.roles import Role
from finance.models import (
    Account,
    Due,
    DueAllocation,
    Entry,
    Expense,
    Income,
    Investment,
    InvestmentMovement,
    Journal,
    LedgerChain,
    SharePurchase,
    Waiver,
)
from finance.selectors import savings as savings_reads
from finance.selectors.ledger import trial_balance
from finance.services import books as books_service
from finance.services import dues as dues_service
from finance.services import ledger, reconcile
from finance.services import savings as savings_service
from finance.services.books import (
    book_value,
    expense_record,
    income_record,
    investment_add_funds,
    investment_return,
    investment_revalue,
)
from finance.services.reconcile import all_drift
from finance.services.reversals import journal_reverse
from groups.models import Chama
from tests.factories import ChamaFactory, joined
from tests.helpers import today_is

A = Account.Purpose


def balance(membership, purpose):
    account = Account.objects.filter(membership=membership, purpose=purpose).first()
    return account.normal_balance if account else D("0.00")


def cash(chama, purpose=A.CASH):
    account = Account.objects.filter(chama=chama, purpose=purpose, membership=None).first()
    return account.normal_balance if account else D("0.00")


def counts():
    return Journal.objects.count(), Entry.objects.count(), DueAllocation.objects.count(), SharePurchase.objects.count()


def fresh(due):
    due.refresh_from_db()
    return due


@pytest.fixture
def today(clock):
    """Pin the chama's "today" (`Chama.today`, the one clock every service reads); call it to move it."""
    today_is(date(2026, 9, 2))
    return today_is


@pytest.fixture(autouse=True)
def books_stay_reconciled(db):
    yield
    assert all_drift() == []


@pytest.fixture
def setup(db, today):
    """A monthly VSLA: KES 1,000 due on the 5th, 3 grace days, flat KES 100 late fine once, a
    second officer above KES 5,000, shares at KES 250 (1 to 5 per meeting)."""
    chama = ChamaFactory(
        name="Umoja",
        kind=Chama.Kind.VSLA,
        policy={
            "contribution_amount": D("1000"),
            "contribution_frequency": "monthly",
            "contribution_due_day": 5,
            "grace_days": 3,
            "late_fine_amount": D("100"),
            "second_approval_threshold": D("5000"),
            "share_price": D("250"),
            "shares_min_per_meeting": 1,
            "shares_max_per_meeting": 5,
        },
    )
    treasurer = joined(chama, Role.TREASURER).user
    chair = joined(chama, Role.CHAIRPERSON).user
    wanjiku = joined(chama, Role.MEMBER)
    dues_service.contribution_plan_from_policy(chama, start_date=date(2026, 8, 1))
    return chama, treasurer, chair, wanjiku


def dues_of(membership, kind=Due.Kind.CONTRIBUTION):
    return list(Due.objects.filter(membership=membership, kind=kind).order_by("due_date", "id"))


# --- reversing payments ------------------------------------------------------------------------


def test_reversing_a_payment_restores_dues_cash_and_savings(setup, today):
    chama, treasurer, _, wanjiku = setup
    dues_service.generate_dues(period=(2026, 9))  # due 5 Sep, late after 8 Sep
    payment = dues_service.payment_record(membership=wanjiku, amount="1500", method="cash", by=treasurer)
    september = dues_of(wanjiku)[0]
    # 1,000 settles September, 500 is held as an advance.
    assert (september.paid_amount, september.status) == (D("1000.00"), Due.Status.PAID)
    assert (cash(chama), balance(wanjiku, A.MEMBER_SAVINGS), balance(wanjiku, A.MEMBER_ADVANCE)) == (
        D("1500.00"),
        D("1000.00"),
        D("500.00"),
    )

    today(date(2026, 9, 3))
    reversal = journal_reverse(journal=payment, reason="Cheque bounced", by=treasurer)

    assert (reversal.kind, reversal.reversal_of, reversal.amount, reversal.value_date) == (
        Journal.Kind.REVERSAL,
        payment,
        D("1500.00"),
        date(2026, 9, 3),
    )
    assert reversal.memo == f"Reversal of #{payment.pk}: Cheque bounced"
    mirror = {e.account_id: e.amount for e in reversal.entries.all()}
    assert mirror == {e.account_id: -e.amount for e in payment.entries.all()}
    # Back to before the payment: nothing paid, not late yet on 3 Sep, every balance 0.
    september = fresh(september)
    assert (september.paid_amount, september.outstanding, september.status) == (
        D("0.00"),
        D("1000.00"),
        Due.Status.PENDING,
    )
    assert sum(a.amount for a in september.allocations.all()) == D("0.00")  # +1,000 then −1,000
    assert (cash(chama), balance(wanjiku, A.MEMBER_SAVINGS), balance(wanjiku, A.MEMBER_ADVANCE)) == (
        D("0.00"),
        D("0.00"),
        D("0.00"),
    )
    assert trial_balance(chama=chama)[1:] == (D("0.00"), D("0.00"))


def test_reversing_a_partial_payment_after_the_grace_period_leaves_the_due_overdue(setup, today):
    chama, treasurer, _, wanjiku = setup
    dues_service.generate_dues(period=(2026, 9))
    payment = dues_service.payment_record(membership=wanjiku, amount="400", method="mpesa", by=treasurer)
    assert fresh(dues_of(wanjiku)[0]).status == Due.Status.PARTIAL  # 400 of 1,000 on 2 Sep

    today(date(2026, 9, 10))  # late after 8 Sep
    journal_reverse(journal=payment, reason="Sent to the wrong paybill", by=treasurer)

    september = fresh(dues_of(wanjiku)[0])
    assert (september.paid_amount, september.status) == (D("0.00"), Due.Status.OVERDUE)
    assert (cash(chama, A.MOBILE_MONEY), balance(wanjiku, A.MEMBER_SAVINGS)) == (D("0.00"), D("0.00"))


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_reversal_needs_a_reason(setup, reason):
    chama, treasurer, _, wanjiku = setup
    deposit = savings_service.savings_deposit(membership=wanjiku, amount="600", method="cash", by=treasurer)
    before = counts()

    with pytest.raises(ValidationError, match="Say why the journal is reversed"):
        journal_reverse(journal=deposit, reason=reason, by=treasurer)

    assert counts() == before
    assert cash(chama) == D("600.00")


def test_only_an_officer_reverses(setup):
    chama, treasurer, _, wanjiku = setup
    deposit = savings_service.savings_deposit(membership=wanjiku, amount="600", method="cash", by=treasurer)

    with pytest.raises(authority.Refused, match="may reverse journals"):
        journal_reverse(journal=deposit, reason="Mine", by=wanjiku.user)
    assert not Journal.objects.filter(reversal_of=deposit).exists()


def test_a_journal_is_reversed_once_and_a_reversal_is_never_reversed(setup):
    chama, treasurer, chair, wanjiku = setup
    deposit = savings_service.savings_deposit(membership=wanjiku, amount="600", method="cash", by=treasurer)
    reversal = journal_reverse(journal=deposit, reason="Duplicate entry", by=treasurer)
    before = counts()

    with pytest.raises(ValidationError, match=f"Journal #{deposit.pk} has already been reversed"):
        journal_reverse(journal=deposit, reason="Again", by=chair)
    with pytest.raises(ValidationError, match="A reversal cannot itself be reversed"):
        journal_reverse(journal=reversal, reason="Undo the undo", by=chair)

    assert counts() == before
    # 600 in, 600 back out.
    assert (cash(chama), balance(wanjiku, A.MEMBER_SAVINGS)) == (D("0.00"), D("0.00"))


def test_reversing_a_payment_whose_advance_was_applied_later_is_refused(setup, today):
    chama, treasurer, _, wanjiku = setup
    dues_service.generate_dues(period=(2026, 9))
    payment = dues_service.payment_record(membership=wanjiku, amount="1500", method="cash", by=treasurer)
    today(date(2026, 10, 2))
    dues_service.generate_dues(period=(2026, 10))  # the 500 advance settles half of October at once
    september, october = dues_of(wanjiku)
    assert (september.paid_amount, october.paid_amount, balance(wanjiku, A.MEMBER_ADVANCE)) == (
        D("1000.00"),
        D("500.00"),
        D("0.00"),
    )
    before = counts()

    # Undoing the payment would take the 500 advance back out of an advance account that holds 0.
    with pytest.raises(
        ValidationError, match=r"Not enough in Advance payments.*holds KES 0\.00, KES 500\.00 would be needed"
    ):
        journal_reverse(journal=payment, reason="Cheque bounced", by=treasurer)

    assert counts() == before
    assert not Journal.objects.filter(reversal_of=payment).exists()
    assert (fresh(september).paid_amount, fresh(october).paid_amount) == (D("1000.00"), D("500.00"))
    # Cash 1,500; savings 1,000 (September) + 500 (October) = 1,500.
    assert (cash(chama), balance(wanjiku, A.MEMBER_SAVINGS)) == (D("1500.00"), D("1500.00"))


# --- reversing fines and waivers ---------------------------------------------------------------


def late_fines(chama, today):
    """September dues raised, then charged a KES 100 late fine each on 9 Sep (one journal)."""
    dues_service.generate_dues(period=(2026, 9))
    today(date(2026, 9, 9))
    dues_service.apply_penalties(as_of=date(2026, 9, 9), chama=chama)
    fines = list(Due.objects.filter(chama=chama, kind=Due.Kind.FINE).order_by("id"))
    assert len({fine.charge_journal_id for fine in fines}) == 1
    return fines, fines[0].charge_journal


def test_reversing_a_fine_charge_cancels_its_fines(setup, today):
    chama, treasurer, _, wanjiku = setup
    fines, charge = late_fines(chama, today)
    # 3 members × 100 = 300 of fine income, 100 owed by each.
    assert (len(fines), charge.amount, cash(chama, A.FINE_INCOME), balance(wanjiku, A.FINES_RECEIVABLE)) == (
        3,
        D("300.00"),
        D("300.00"),
        D("100.00"),
    )

    journal_reverse(journal=charge, reason="Meeting was postponed", by=treasurer)

    assert {fresh(fine).status for fine in fines} == {Due.Status.CANCELLED}
    assert Due.objects.filter(chama=chama, kind=Due.Kind.FINE, status__in=Due.OPEN_STATUSES).count() == 0
    assert (cash(chama, A.FINE_INCOME), balance(wanjiku, A.FINES_RECEIVABLE)) == (D("0.00"), D("0.00"))
    # The contributions themselves are still owed.
    assert fresh(dues_of(wanjiku)[0]).status == Due.Status.OVERDUE


@pytest.mark.parametrize("settled_by", ["payment", "waiver"])
def test_reversing_a_fine_charge_is_refused_once_one_fine_was_settled(setup, today, settled_by):
    chama, treasurer, chair, wanjiku = setup
    fines, charge = late_fines(chama, today)
    fine = Due.objects.get(membership=wanjiku, kind=Due.Kind.FINE)
    if settled_by == "payment":
        dues_service.payment_record(
            membership=wanjiku, amount="1100", method="cash", by=treasurer
        )  # contribution + fine
    else:
        dues_service.waiver_request(due=fine, reason="Hospitalised", by=chair)
    before = counts()

    with pytest.raises(ValidationError, match="Some of these fines were paid or waived"):
        journal_reverse(journal=charge, reason="Meeting was postponed", by=treasurer)

    assert counts() == before
    assert fresh(fine).status in (Due.Status.PAID, Due.Status.WAIVED)
    # The other two fines are untouched: still owed (charged and due on 9 Sep, so not late yet).
    assert {fresh(other).status for other in fines if other.pk != fine.pk} == {Due.Status.PENDING}
    # 300 charged, less the 100 waived (if it was): the income is untouched by the refused reversal.
    expected_income = D("300.00") if settled_by == "payment" else D("200.00")
    assert cash(chama, A.FINE_INCOME) == expected_income


def test_reversing_a_fine_waiver_makes_the_fine_owed_again(setup, today):
    chama, treasurer, chair, wanjiku = setup
    today(date(2026, 9, 9))
    fine = dues_service.fine_charge(membership=wanjiku, amount="250", reason="Late to the meeting", by=treasurer)
    waiver = dues_service.waiver_request(due=fine, reason="First offence", by=chair)  # 250 ≤ 5,000: applied at once
    assert (fresh(fine).status, waiver.status) == (Due.Status.WAIVED, Waiver.Status.APPLIED)
    # 250 charged then waived: nothing owed, no fine income.
    assert (balance(wanjiku, A.FINES_RECEIVABLE), cash(chama, A.FINE_INCOME)) == (D("0.00"), D("0.00"))

    reversal = journal_reverse(journal=waiver.journal, reason="Waived by mistake", by=treasurer)

    waiver.refresh_from_db()
    fine = fresh(fine)
    assert waiver.status == Waiver.Status.REVERSED
    assert (fine.waived_amount, fine.outstanding, fine.status) == (D("0.00"), D("250.00"), Due.Status.PENDING)
    assert reversal.amount == D("250.00")
    # Owed again: 250 receivable, 250 fine income.
    assert (balance(wanjiku, A.FINES_RECEIVABLE), cash(chama, A.FINE_INCOME)) == (D("250.00"), D("250.00"))
    assert [d.pk for d in Due.objects.filter(membership=wanjiku, status__in=Due.OPEN_STATUSES)] == [fine.pk]


# --- reversing share purchases -----------------------------------------------------------------


def test_reversing_a_share_purchase_takes_the_shares_back(setup, today):
    chama, treasurer, _, wanjiku = setup
    today(date(2026, 11, 1))
    kept = savings_service.share_purchase(membership=wanjiku, shares=2, method="cash", by=treasurer)
    mistaken = savings_service.share_purchase(membership=wanjiku, shares=3, method="cash", by=treasurer)
    # (2 + 3) × 250 = 1,250.
    assert (savings_reads.shares_held(membership=wanjiku), balance(wanjiku, A.MEMBER_SHARES)) == (5, D("1250.00"))

    reversal = journal_reverse(journal=mistaken, reason="Recorded twice", by=treasurer)

    assert list(reversal.share_purchases.values_list("shares", "share_price")) == [(-3, D("250.00"))]
    # 5 − 3 = 2 shares; 2 × 250 = 500 in shares and in cash.
    assert savings_reads.shares_held(membership=wanjiku) == 2
    assert (balance(wanjiku, A.MEMBER_SHARES), cash(chama)) == (D("500.00"), D("500.00"))
    assert kept.share_purchases.get().shares == 2


def test_reversing_an_earlier_meetings_purchase_gives_no_extra_room_at_todays_meeting(setup, today):
    chama, treasurer, _, wanjiku = setup
    today(date(2026, 11, 1))
    first_meeting = savings_service.share_purchase(membership=wanjiku, shares=5, method="cash", by=treasurer)
    today(date(2026, 11, 8))
    journal_reverse(journal=first_meeting, reason="Recorded for the wrong member", by=treasurer)
    assert savings_reads.shares_held(membership=wanjiku) == 0

    savings_service.share_purchase(membership=wanjiku, shares=5, method="cash", by=treasurer)  # 5 on 8 Nov: the maximum
    # The 1 Nov reversal is not a purchase at the 8 Nov meeting: a sixth share that day is over the limit.
    with pytest.raises(ValidationError, match="1 to 5 shares per meeting"):
        savings_service.share_purchase(membership=wanjiku, shares=1, method="cash", by=treasurer)

    # 5 shares held, 5 × 250 = 1,250.
    assert savings_reads.shares_held(membership=wanjiku) == 5
    assert balance(wanjiku, A.MEMBER_SHARES) == D("1250.00")


# --- expenses and other income -----------------------------------------------------------------


@pytest.fixture
def funded(setup):
    """15,000 in the cash box and 3,000 in the bank (Wanjiku's savings)."""
    chama, treasurer, chair, wanjiku = setup
    savings_service.savings_deposit(membership=wanjiku, amount="15000", method="cash", by=treasurer)
    savings_service.savings_deposit(membership=wanjiku, amount="3000", method="bank", by=treasurer)
    return setup


def test_an_expense_is_debited_to_its_category_and_credited_to_cash(funded):
    chama, treasurer, _, _ = funded

    hall = expense_record(chama=chama, category="meeting", amount="1200", description="Hall hire", by=treasurer)
    charges = expense_record(
        chama=chama,
        category="bank_charges",
        amount="150.40",
        description="Ledger fee",
        by=treasurer,
        paid_through="bank",
    )

    assert (hall.recorded_by, hall.approved_by, hall.value_date) == (treasurer, treasurer, date(2026, 9, 2))
    assert {e.account.code: e.amount for e in hall.journal.entries.select_related("account")} == {
        "5000": D("1200.00"),
        "1000": D("-1200.00"),
    }
    assert {e.account.code: e.amount for e in charges.journal.entries.select_related("account")} == {
        "5010": D("150.40"),
        "1010": D("-150.40"),
    }
    # Cash 15,000 − 1,200 = 13,800; bank 3,000 − 150.40 = 2,849.60.
    assert (cash(chama), cash(chama, A.BANK)) == (D("13800.00"), D("2849.60"))
    assert ledger.expense_account(chama, "meeting").normal_balance == D("1200.00")
    assert ledger.expense_account(chama, "bank_charges").normal_balance == D("150.40")


def test_other_income_is_debited_to_cash_and_credited_to_income(funded):
    chama, treasurer, _, _ = funded

    interest = income_record(
        chama=chama,
        category="bank_interest",
        amount="320.75",
        description="Q3 interest",
        by=treasurer,
        received_through="bank",
    )
    donation = income_record(chama=chama, category="donation", amount="2000", description="Harambee", by=treasurer)

    assert {e.account.code: e.amount for e in interest.journal.entries.select_related("account")} == {
        "1010": D("320.75"),
        "4100": D("-320.75"),
    }
    assert {e.account.code: e.amount for e in donation.journal.entries.select_related("account")} == {
        "1000": D("2000.00"),
        "4300": D("-2000.00"),
    }
    # Bank 3,000 + 320.75 = 3,320.75; cash 15,000 + 2,000 = 17,000.
    assert (cash(chama, A.BANK), cash(chama)) == (D("3320.75"), D("17000.00"))
    assert (cash(chama, A.INTEREST_INCOME), cash(chama, A.OTHER_INCOME)) == (D("320.75"), D("2000.00"))


@pytest.mark.parametrize("record", ["expense", "income"])
def test_above_the_threshold_a_second_officer_approves(funded, record):
    chama, treasurer, chair, wanjiku = funded

    def write(amount, **approval):
        if record == "expense":
            return expense_record(
                chama=chama, category="professional", amount=amount, description="Audit", by=treasurer, **approval
            )
        return income_record(
            chama=chama, category="event", amount=amount, description="Fundraiser", by=treasurer, **approval
        )

    before = counts()
    pending = write("5000.01")  # above 5,000: nothing is posted until a second officer signs
    assert (pending.status, pending.journal, pending.approved_by) == ("pending", None, None)
    with pytest.raises(authority.Refused, match="already signed"):
        books_service.cashbook_approve(record=pending, by=treasurer)
    with pytest.raises(authority.Refused, match="may approve or reject expenses"):
        books_service.cashbook_approve(record=pending, by=wanjiku.user)
    assert counts()[:2] == before[:2]

    approved = books_service.cashbook_approve(record=pending, by=chair)
    with pytest.raises(ValidationError, match="already posted"):
        books_service.cashbook_approve(record=pending, by=chair)
    rejected = books_service.cashbook_reject(record=write("100"), by=chair, reason="Not ours")  # 5,100.01 in the window

    assert (approved.recorded_by, approved.approved_by, approved.amount, approved.status) == (
        treasurer,
        chair,
        D("5000.01"),
        "posted",
    )
    assert (rejected.status, rejected.journal) == ("rejected", None)
    # 5,000.01 posted: cash 15,000 − 5,000.01 = 9,999.99 (expenses) or 15,000 + 5,000.01 = 20,000.01 (income).
    assert cash(chama) == (D("9999.99") if record == "expense" else D("20000.01"))


def test_only_an_officer_records_expenses_and_income(funded):
    chama, _, _, wanjiku = funded

    with pytest.raises(authority.Refused, match="may record expenses"):
        expense_record(chama=chama, category="meeting", amount="100", description="Tea", by=wanjiku.user)
    with pytest.raises(authority.Refused, match="may record expenses, income"):
        income_record(chama=chama, category="other", amount="100", description="Found", by=wanjiku.user)
    assert (Expense.objects.count(), Income.objects.count()) == (0, 0)


# --- investments -----------------------------------------------------------------------------


def test_an_investment_is_funded_revalued_and_pays_a_return(funded):
    chama, treasurer, _, _ = funded
    bill = Investment.objects.create(
        chama=chama, name="91-day T-bill", type=Investment.Type.TREASURY, acquired_date=date(2026, 9, 1)
    )

    investment_add_funds(investment=bill, amount="8000", by=treasurer)
    # Cash 15,000 − 8,000 = 7,000; investments 8,000.
    assert (cash(chama), cash(chama, A.INVESTMENTS), book_value(bill)) == (D("7000.00"), D("8000.00"), D("8000.00"))

    up = investment_revalue(investment=bill, value="9500", by=treasurer)
    # 9,500 − 8,000 = +1,500: Dr investments, Cr unrealised gains.
    assert (up.amount, up.valuation) == (D("1500.00"), D("9500.00"))
    assert {e.account.code: e.amount for e in up.journal.entries.select_related("account")} == {
        "1500": D("1500.00"),
        "4500": D("-1500.00"),
    }
    assert (book_value(bill), cash(chama, A.UNREALISED_GAIN)) == (D("9500.00"), D("1500.00"))

    down = investment_revalue(investment=bill, value="7250.50", by=treasurer)
    # 7,250.50 − 9,500 = −2,249.50; unrealised gains 1,500 − 2,249.50 = −749.50 (a net loss).
    assert down.amount == D("-2249.50")
    assert {e.account.code: e.amount for e in down.journal.entries.select_related("account")} == {
        "1500": D("-2249.50"),
        "4500": D("2249.50"),
    }
    assert (book_value(bill), cash(chama, A.INVESTMENTS), cash(chama, A.UNREALISED_GAIN)) == (
        D("7250.50"),
        D("7250.50"),
        D("-749.50"),
    )

    unchanged = investment_revalue(investment=bill, value="7250.50", by=treasurer)
    assert (unchanged.amount, unchanged.journal) == (D("0.00"), None)

    ret = investment_return(investment=bill, amount="640", by=treasurer)
    # Dr bank 640, Cr investment income 640; the book value does not move.
    assert {e.account.code: e.amount for e in ret.journal.entries.select_related("account")} == {
        "1010": D("640.00"),
        "4400": D("-640.00"),
    }
    assert (cash(chama, A.BANK), cash(chama, A.INVESTMENT_INCOME), book_value(bill)) == (
        D("3640.00"),
        D("640.00"),
        D("7250.50"),
    )
    assert InvestmentMovement.objects.filter(investment=bill).count() == 5

    # Debits: cash 7,000 + bank 3,640 + investments 7,250.50 + unrealised loss 749.50 = 18,640.
    # Credits: savings 15,000 + 3,000 + investment income 640 = 18,640.
    assert trial_balance(chama=chama)[1:] == (D("18640.00"), D("18640.00"))


def test_a_reversed_revaluation_leaves_the_book_value(funded):
    chama, treasurer, _, _ = funded
    plot = Investment.objects.create(
        chama=chama, name="Plot in Juja", type=Investment.Type.LAND, acquired_date=date(2026, 9, 1)
    )
    investment_add_funds(investment=plot, amount="5000", by=treasurer)
    wrong = investment_revalue(investment=plot, value="50000", by=treasurer)  # a zero too many

    journal_reverse(journal=wrong.journal, reason="Typo in the valuation", by=treasurer)

    # 5,000 invested; the 45,000 revaluation is taken back.
    assert (book_value(plot), cash(chama, A.INVESTMENTS), cash(chama, A.UNREALISED_GAIN)) == (
        D("5000.00"),
        D("5000.00"),
        D("0.00"),
    )
    right = investment_revalue(investment=plot, value="5500", by=treasurer)
    assert (right.amount, book_value(plot)) == (D("500.00"), D("5500.00"))


def test_a_valuation_cannot_be_negative(funded):
    chama, treasurer, _, _ = funded
    plot = Investment.objects.create(
        chama=chama, name="Plot", type=Investment.Type.LAND, acquired_date=date(2026, 9, 1)
    )

    with pytest.raises(ValidationError, match="cannot be negative"):
        investment_revalue(investment=plot, value="-1", by=treasurer)


# --- reconcile_balances --------------------------------------------------------------------------


def run_reconcile(*args):
    out = StringIO()
    call_command("reconcile_balances", *args, stdout=out)
    return out.getvalue()


def test_reconcile_prints_no_drift_and_succeeds(funded):
    chama, treasurer, _, _ = funded
    expense_record(chama=chama, category="transport", amount="450", description="Fare to the bank", by=treasurer)

    assert "No drift in every chama: every cached balance equals the ledger." in run_reconcile()
    assert f"No drift in chama {chama.pk}" in run_reconcile("--chama", str(chama.pk))
    with pytest.raises(CommandError, match="There is no chama with id 9999"):
        run_reconcile("--chama", "9999")


def test_a_tampered_balance_is_reported_then_repaired_with_fix(funded):
    chama, treasurer, chair, wanjiku = funded
    cash_account = ledger.chama_account(chama, A.CASH)
    Account.objects.filter(pk=cash_account.pk).update(balance=D("999.99"))  # the ledger says 15,000
    dues_service.generate_dues(period=(2026, 9))
    contribution = dues_of(wanjiku)[0]
    dues_service.waiver_request(due=contribution, amount="300", reason="Bereavement", by=chair)
    Due.objects.filter(pk=contribution.pk).update(waived_amount=D("0"))  # its allocations say 300

    out = StringIO()
    with pytest.raises(
        CommandError, match=r"2 cached value\(s\) differ from the ledger in every chama; run with --fix"
    ) as refused:
        call_command("reconcile_balances", stdout=out)
    assert refused.value.returncode == 1
    assert re.search(
        rf"chama {chama.pk}: account 1000 Cash on hand: cached 999\.99, ledger 15000(\.00)?\n", out.getvalue()
    )
    assert f"due #{contribution.pk}" in out.getvalue()

    assert "Repaired 2 cached value(s) in every chama." in run_reconcile("--fix")

    cash_account.refresh_from_db()
    assert cash_account.balance == D("15000.00")
    assert fresh(contribution).waived_amount == D("300.00")
    assert "No drift" in run_reconcile()


def test_fix_writes_only_the_kinds_found_drifting(funded):
    chama, _, _, _ = funded
    Account.objects.filter(pk=ledger.chama_account(chama, A.CASH).pk).update(balance=D("1.00"))

    with CaptureQueriesContext(connection) as queries:
        assert "Repaired 1 cached value(s) in every chama." in run_reconcile("--fix")

    updates = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("UPDATE")]
    repairs = [sql for sql in updates if not sql.startswith(f'UPDATE "{LedgerChain._meta.db_table}"')]  # checkpoint
    assert len(repairs) == 1 and repairs[0].startswith(f"UPDATE {Account._meta.db_table} SET balance")
    assert "No drift" in run_reconcile()


def test_reconcile_costs_one_statement_per_kind_however_many_rows_drifted(funded, django_assert_num_queries):
    chama, treasurer, _, _ = funded
    dues_service.generate_dues(period=(2026, 9))
    kinds = len(reconcile.KINDS) + len(reconcile.EXTRA_KINDS)
    accounts = list(Account.objects.filter(chama=chama).order_by("pk").values_list("pk", flat=True))

    with django_assert_num_queries(kinds):
        assert all_drift() == []
    Account.objects.filter(pk=accounts[0]).update(balance=F("balance") + 1)
    Due.objects.filter(chama=chama).update(paid_amount=D("1.00"))
    with django_assert_num_queries(kinds):
        drift = all_drift()
    with django_assert_num_queries(kinds):
        few = reconcile.fix_drift()
    Account.objects.filter(pk__in=accounts).update(balance=F("balance") + 1)
    with django_assert_num_queries(kinds):
        many = reconcile.fix_drift()

    assert len(drift) == few == 1 + Due.objects.filter(chama=chama).count()
    assert many == len(accounts)
    assert all_drift() == []


def test_a_journal_that_does_not_sum_to_zero_stops_reconcile_before_anything_is_repaired(funded):
    chama, *_ = funded
    journal = Journal.objects.filter(chama=chama).first()
    cash = ledger.chama_account(chama, A.CASH)
    stray = dict(chama=chama, journal=journal, account=cash, balance_after=0)
    Entry.objects.append([Entry(amount=D("1.00"), **stray)])

    with pytest.raises(CommandError, match=rf"Journals that do not sum to zero .*: \[{journal.pk}\]"):
        run_reconcile("--fix")
    assert ledger.chama_account(chama, A.CASH).balance == cash.balance  # nothing repaired

    Entry.objects.append([Entry(amount=D("-1.00"), **stray)])  # balanced again, but not as it was posted
    assert reconcile.unbalanced_journal_ids(chama) == []
    with pytest.raises(CommandError, match=rf"journal #{journal.pk} .*its content or entries changed"):
        run_reconcile()
