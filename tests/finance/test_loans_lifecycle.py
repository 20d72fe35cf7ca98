"""A loan from application to closure, with every amount worked out by hand in the comments."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from chama import authority
from chama.roles import Role
from finance.models import Account, Guarantee, Installment, Journal, Loan
from finance.selectors import loans as loan_reads
from finance.selectors import savings as savings_reads
from finance.services import loans, savings
from tests.factories import ChamaFactory, biashara_product, joined
from tests.helpers import sheet_data, today_is

# Money here is recorded on the day it is dated: each step moves the chama's clock to its day.
pytestmark = pytest.mark.usefixtures("clock")

A = Account.Purpose


@pytest.fixture
def shop(db):
    chama = ChamaFactory(
        policy={"loan_approvals_required": 2, "loan_min_membership_days": 90, "loan_max_savings_multiple": D("3")}
    )
    chair, treasurer = joined(chama, Role.CHAIRPERSON), joined(chama, Role.TREASURER)
    wanjiku, otieno = joined(chama), joined(chama)
    savings.savings_deposit(membership=wanjiku, amount="10000", method="cash", by=treasurer.user)
    savings.savings_deposit(membership=otieno, amount="5000", method="cash", by=treasurer.user)
    product = biashara_product(chama)
    return chama, chair, treasurer, wanjiku, otieno, product


def balance(chama, purpose):
    return Account.objects.get(chama=chama, purpose=purpose).normal_balance


def unguaranteed_loan(shop):
    """3,000 over 3 months on the product without its guarantor: Wanjiku applies, the chairperson and
    the treasurer approve, the treasurer disburses in cash on 1 Jun."""
    chama, chair, treasurer, wanjiku, otieno, product = shop
    product.guarantors_required, product.guarantee_coverage = 0, D("0")
    product.save()
    loan = loans.loan_apply(membership=wanjiku, product=product, principal="3000", installments=3, by=wanjiku.user)
    loans.loan_approve(loan=loan, by=chair.user)
    loans.loan_approve(loan=loan, by=treasurer.user)
    today_is(date(2026, 6, 1))
    loans.loan_disburse(loan=loan, by=treasurer.user, method="cash", value_date=date(2026, 6, 1))
    return loan


def test_a_loan_from_application_to_early_payoff(shop):
    chama, chair, treasurer, wanjiku, otieno, product = shop

    # Savings 10,000 × 3 = 30,000 may be borrowed; the product caps at 50,000.
    check = loans.eligibility(wanjiku, product, as_of=date(2026, 6, 1))
    assert check.eligible and check.max_amount == D("30000.00")

    loan = loans.loan_apply(
        membership=wanjiku,
        product=product,
        principal="6000",
        installments=3,
        by=wanjiku.user,
        guarantors=[(otieno, "3000")],
    )
    assert loan.fee == D("120.00")  # 2% of 6,000
    with pytest.raises(ValidationError, match="Guarantees are not complete"):
        loans.loan_approve(loan=loan, by=chair.user)

    loans.guarantee_accept(guarantee=loan.guarantees.get(), by=otieno.user)
    # Otieno's 5,000 savings: 3,000 pledged, so at most 2,000 may leave.
    with pytest.raises(ValidationError, match="guarantee other members"):
        savings.withdrawal_request(membership=otieno, amount="2500", by=otieno.user)
    with pytest.raises(authority.Refused, match="may approve or reject loans"):
        loans.loan_approve(loan=loan, by=wanjiku.user)
    loans.loan_approve(loan=loan, by=chair.user)
    assert Loan.objects.get(pk=loan.pk).status == Loan.Status.APPLIED  # one of two approvals
    loans.loan_approve(loan=loan, by=treasurer.user)

    cash_before = balance(chama, A.CASH)
    today_is(date(2026, 6, 15))
    loan = loans.loan_disburse(loan=loan, by=treasurer.user, method="cash", value_date=date(2026, 6, 15))
    # Dr loan 6,000; Cr cash 5,880; Cr fee income 120.
    assert cash_before - balance(chama, A.CASH) == D("5880.00")
    assert balance(chama, A.FEE_INCOME) == D("120.00")
    assert loan_reads.outstanding_principal(loan=loan) == D("6000.00")

    # r = 1% a month; installment = 6000 × 0.01 / (1 − 1.01^−3) = 2040.13 → 2040 (multiple 1).
    rows = [(i.n, str(i.due_date), i.principal, i.interest) for i in loan_reads.current_installments(loan=loan)]
    assert rows == [
        (1, "2026-07-15", D("1980.00"), D("60.00")),  # 6000 × 1% = 60
        (2, "2026-08-15", D("1999.80"), D("40.20")),  # 4020 × 1% = 40.20
        (3, "2026-09-15", D("2020.20"), D("20.20")),  # 2020.20 × 1% = 20.202 → 20.20; last takes the rest
    ]

    today_is(date(2026, 7, 15))
    loans.loan_repay(loan=loan, amount="2040", method="cash", by=treasurer.user, value_date=date(2026, 7, 15))
    first = loan_reads.current_installments(loan=loan).get(n=1)
    assert (first.status, first.interest_paid, first.principal_paid) == ("paid", D("60.00"), D("1980.00"))

    # 20 Aug: installment 2 is 5 days late (> 3 grace): 5% of its 2,040.00 = 102.00, charged once.
    today_is(date(2026, 8, 20))
    loans.update_arrears(as_of=date(2026, 8, 20))
    today_is(date(2026, 8, 25))
    loans.update_arrears(as_of=date(2026, 8, 25))
    second = loan_reads.current_installments(loan=loan).get(n=2)
    assert (second.penalty, second.status) == (D("102.00"), Installment.Status.OVERDUE)
    loan.refresh_from_db()
    assert (loan.days_in_arrears, loan.classification) == (10, Loan.Classification.DAYS_1_30)

    # Payoff on 25 Aug: installment 2 (1999.80 + 40.20 + 102.00) + installment 3's principal 2020.20.
    assert loan_reads.payoff_amount(loan=loan, as_of=date(2026, 8, 25)) == D("4162.20")
    with pytest.raises(ValidationError, match="payoff on 25 Aug 2026 is 4,162.20"):
        loans.loan_repay(loan=loan, amount="4162.21", method="cash", by=treasurer.user, value_date=date(2026, 8, 25))
    loans.loan_repay(loan=loan, amount="4162.20", method="mpesa", by=treasurer.user, value_date=date(2026, 8, 25))

    loan.refresh_from_db()
    assert loan.status == Loan.Status.CLOSED
    assert loan_reads.outstanding_principal(loan=loan) == D("0.00")
    assert loan_reads.current_installments(loan=loan).get(n=3).interest_forgiven == D("20.20")
    assert balance(chama, A.INTEREST_INCOME) == D("100.20")  # 60 + 40.20
    assert balance(chama, A.PENALTY_INCOME) == D("102.00")
    assert Guarantee.objects.get(loan=loan).status == Guarantee.Status.RELEASED
    assert loan_reads.pledged_savings(membership=otieno) == D("0.00")


def test_partial_repayment_follows_the_allocation_order(shop):
    chama, chair, treasurer, wanjiku, otieno, product = shop
    product.guarantors_required, product.guarantee_coverage = 0, D("0")
    product.allocation_order = "principal,interest,penalty,fee"
    product.save()
    loan = loans.loan_apply(membership=wanjiku, product=product, principal="3000", installments=3, by=treasurer.user)
    with pytest.raises(authority.Refused, match="You have already signed this loan"):
        loans.loan_approve(loan=loan, by=treasurer.user)  # the treasurer entered it
    loans.loan_approve(loan=loan, by=chair.user)
    loans.loan_approve(loan=loan, by=joined(chama, Role.SECRETARY).user)
    today_is(date(2026, 6, 1))
    loans.loan_disburse(loan=loan, by=treasurer.user, method="cash", value_date=date(2026, 6, 1))

    # 3,000 at 1% a month over 3: installment = 3000 × 0.01 / (1 − 1.01^−3) = 1020.07 → 1020;
    # installment 1: interest 30.00, principal 990.00; installment 2: interest 20.10, principal 999.90.
    # 20 Jun, nothing due yet: 500 goes to principal only, oldest installment first.
    today_is(date(2026, 6, 20))
    loans.loan_repay(loan=loan, amount="500", method="cash", by=treasurer.user, value_date=date(2026, 6, 20))
    first = loan_reads.current_installments(loan=loan).get(n=1)
    assert (first.principal, first.principal_paid, first.interest_paid) == (D("990.00"), D("500.00"), D("0.00"))

    # 5 Jul, installment 1 due: 600 settles it in the product's order — principal 490, then interest 30 —
    # and the remaining 80 goes to installment 2's principal (not yet due, so not its interest).
    today_is(date(2026, 7, 5))
    loans.loan_repay(loan=loan, amount="600", method="cash", by=treasurer.user, value_date=date(2026, 7, 5))
    first, second = loan_reads.current_installments(loan=loan).filter(n__in=[1, 2])
    assert (first.status, first.principal_paid, first.interest_paid) == ("paid", D("990.00"), D("30.00"))
    assert (second.principal_paid, second.interest_paid) == (D("80.00"), D("0.00"))
    assert loan_reads.outstanding_principal(loan=loan) == D("1930.00")  # 3000 − 500 − 490 − 80


def test_default_recovery_from_the_guarantor_and_write_off(shop):
    chama, chair, treasurer, wanjiku, otieno, product = shop
    loan = loans.loan_apply(
        membership=wanjiku,
        product=product,
        principal="4000",
        installments=2,
        by=wanjiku.user,
        guarantors=[(otieno, "2000")],
    )
    loans.guarantee_accept(guarantee=loan.guarantees.get(), by=otieno.user)
    loans.loan_approve(loan=loan, by=chair.user)
    loans.loan_approve(loan=loan, by=treasurer.user)
    today_is(date(2026, 3, 1))
    loans.loan_disburse(loan=loan, by=treasurer.user, method="cash", value_date=date(2026, 3, 1))

    # Due 1 Apr; default after the policy's 90 days: on 1 Jul it is 91 days late.
    today_is(date(2026, 7, 1))
    loans.update_arrears(as_of=date(2026, 7, 1))
    loan.refresh_from_db()
    assert (loan.status, loan.classification) == (Loan.Status.DEFAULTED, Loan.Classification.DAYS_91_180)

    loans.recover_from_guarantors(loan=loan, by=treasurer.user)
    # Otieno's 2,000 pledge is taken from his savings: 5,000 → 3,000; the loan's principal 4,000 → 2,000.
    assert savings_reads.savings_balance(membership=otieno, savings_type=otieno.chama.savings_types.get()) == D(
        "3000.00"
    )
    assert loan_reads.outstanding_principal(loan=loan) == D("2000.00")

    loans.write_off_request(loan=loan, by=treasurer.user, reason="Moved away")
    with pytest.raises(authority.Refused, match="second officer"):
        loans.write_off_approve(loan=loan, by=treasurer.user)
    loans.write_off_approve(loan=loan, by=chair.user)
    assert balance(chama, A.LOAN_LOSS) == D("2000.00")
    assert Loan.objects.get(pk=loan.pk).status == Loan.Status.WRITTEN_OFF

    loans.recovery_record(loan=loan, amount="500", method="cash", by=treasurer.user)
    assert balance(chama, A.RECOVERIES_INCOME) == D("500.00")
    with pytest.raises(ValidationError, match="At most 1,500.00"):
        loans.recovery_record(loan=loan, amount="1600", method="cash", by=treasurer.user)
    assert Journal.objects.filter(loan=loan).count() == 4  # disbursement, recovery, write-off, recovery


def test_reschedule_keeps_the_old_schedule_and_carries_what_was_due(shop):
    chama, chair, treasurer, wanjiku, otieno, product = shop
    loan = unguaranteed_loan(shop)
    # Installment 1 (due 1 Jul) unpaid: its interest 30.00 is carried.
    loans.loan_reschedule(loan=loan, by=chair.user, installments=6, start=date(2026, 7, 10))
    loan.refresh_from_db()
    assert loan.schedule_version == 1  # only asked for: a second officer must approve
    loans.reschedule_approve(loan=loan, by=treasurer.user)

    loan.refresh_from_db()
    assert loan.schedule_version == 2
    assert loan.installments.filter(version=1, status=Installment.Status.RESCHEDULED).count() == 3
    new = list(loan_reads.current_installments(loan=loan))
    assert len(new) == 6 and sum(row.principal for row in new) == D("3000.00")
    # The new first installment: 3000 × 1% = 30.00 of its own interest, plus the 30.00 carried.
    assert new[0].interest == D("60.00") and str(new[0].due_date) == "2026-08-10"


def test_collection_sheet_takes_loan_repayments_all_or_nothing(shop, client):
    chama, chair, treasurer, wanjiku, otieno, product = shop
    loan = unguaranteed_loan(shop)
    client.force_login(treasurer.user)
    today_is(date(2026, 7, 1))  # the meeting
    url = f"/admin/finance/journal/collection-sheet/?chama={chama.pk}&date=2026-07-01"
    sheet = client.get(url).context["sheet"]

    refused = client.post(url, sheet_data(sheet, {wanjiku: {"repayment": "1020"}, otieno: {"repayment": "100"}}))
    assert refused.status_code == 200 and "no loan to repay" in refused.content.decode()
    assert loan_reads.outstanding_principal(loan=loan) == D("3000.00")

    saved = client.post(url, sheet_data(sheet, {wanjiku: {"repayment": "1020"}}))
    assert saved.status_code == 302
    # Installment 1 (due 1 Jul): 1,020 = interest 30.00 + principal 990.00.
    assert loan_reads.outstanding_principal(loan=loan) == D("2010.00")
    assert loan_reads.current_installments(loan=loan).get(n=1).status == "paid"
