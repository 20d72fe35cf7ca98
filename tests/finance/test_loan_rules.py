"""The lending rules, one at a time: eligibility, applications, guarantees, approvals, disbursement
with a deducted or an added fee, the allocation order, payoff, arrears and penalties, default,
recovery from guarantors, write-off and recoveries, rescheduling, reversals, and the pledge that
keeps a guarantor's savings in the chama. Every amount is worked out by hand in the comments.

The chama of every test (unless a test says otherwise): loans need 2 approvals, 90 days of
membership, at most 3 × savings, 1 loan at a time, default after 90 days. Savings: Wanjiku 10,000,
Otieno 5,000, Achieng 2,000 (17,000 cash on hand). The product "Flat": 1% a month flat, monthly,
1 to 12 installments, 1,000 to 50,000, a 2% fee deducted at disbursement, a 5% late penalty after
3 grace days, installments rounded to whole shillings, no guarantors.

3,000 over 3 months on "Flat": interest 3,000 × 1% = 30.00 a month; installment 3,000 / 3 + 30 =
1,030; each installment is principal 1,000.00 + interest 30.00.
"""

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from chama import authority
from finance.models import (
    Account,
    Guarantee,
    Installment,
    Journal,
    Loan,
    LoanApproval,
    RepaymentLine,
    SavingsType,
)
from finance.selectors import loans as loan_reads
from finance.services import loans, reversals, savings
from groups.models import Membership
from tests.factories import (
    ChamaFactory,
    MembershipFactory,
    UserFactory,
    joined,
    loan_applied,
    loan_product,
    loan_running,
    loan_shop,
)
from tests.helpers import today_is

# Money here is recorded on the day it is dated: each step moves the chama's clock to its day.
pytestmark = pytest.mark.usefixtures("clock")

A = Account.Purpose
DISBURSED = date(2026, 6, 1)  # installments due 1 Jul, 1 Aug, 1 Sep


def build_shop(product=None, **policy):
    s = loan_shop(**policy)
    s.product = loan_product(s.chama, "Flat", **(product or {}))
    return s


@pytest.fixture
def shop(db):
    return build_shop()


def fresh(membership):
    """The membership as the services load it (its chama's policy read from the database)."""
    return Membership.objects.select_related("chama__policy", "user").get(pk=membership.pk)


def approve_twice(s, loan):
    loans.loan_approve(loan=loan, by=s.chair.user)
    loans.loan_approve(loan=loan, by=s.treasurer.user)


def reload(loan):
    return Loan.objects.get(pk=loan.pk)


def rows(loan):
    return list(loan_reads.current_installments(loan=reload(loan)))


def row(loan, n):
    return loan_reads.current_installments(loan=reload(loan)).get(n=n)


def chama_balance(chama, purpose):
    account = Account.objects.filter(chama=chama, purpose=purpose, membership__isnull=True).first()
    return account.normal_balance if account else D("0.00")


def savings_of(membership):
    return loan_reads.savings_total(membership=membership)


def entries(journal):
    """{account purpose (or 'savings M00x'): signed amount} of a journal, debit positive."""
    found = {}
    for entry in journal.entries.select_related("account__membership"):
        account = entry.account
        key = f"savings {account.membership.member_number}" if account.purpose == A.MEMBER_SAVINGS else account.purpose
        found[key] = entry.amount
    return found


def rules_of(check):
    return {rule.name: (rule.passed, rule.reason) for rule in check.rules}


def failed(check):
    return {rule.name: rule.reason for rule in check.rules if not rule.passed}


def arrears(s, on):
    today_is(on)
    return loans.update_arrears(as_of=on, chama=s.chama)


# --- eligibility ---------------------------------------------------------------------------------


def test_an_eligible_member_passes_every_rule_and_may_borrow_three_times_savings(shop):
    check = loans.eligibility(fresh(shop.wanjiku), shop.product, as_of=date(2026, 6, 1))

    assert check.eligible and failed(check) == {}
    assert list(rules_of(check)) == ["membership_age", "savings", "attendance", "no_arrears", "concurrent_loans"]
    # 10 Jan → 1 Jun: 21 + 28 + 31 + 30 + 31 + 1 = 142 days.
    assert rules_of(check)["membership_age"] == (True, "Member for 142 days; the chama asks for 90.")
    # 10,000 × 3 = 30,000, under the product's 50,000.
    assert check.max_amount == D("30000.00")


def test_membership_age_fails_on_its_own(shop):
    # 10 Jan → 9 Apr: 21 + 28 + 31 + 9 = 89 days, one short of 90.
    check = loans.eligibility(fresh(shop.wanjiku), shop.product, as_of=date(2026, 4, 9))
    assert failed(check) == {"membership_age": "Member for 89 days; the chama asks for 90."}
    assert not check.eligible and check.max_amount == D("0.00")

    on_the_day = loans.eligibility(fresh(shop.wanjiku), shop.product, as_of=date(2026, 4, 10))  # 90 days
    assert on_the_day.eligible and on_the_day.max_amount == D("30000.00")


def test_a_member_who_joined_today_is_refused_with_the_reason(shop):
    newcomer = MembershipFactory(chama=shop.chama, user=UserFactory())  # joined today
    savings.savings_deposit(membership=newcomer, amount="4000", method="cash", by=shop.treasurer.user)

    with pytest.raises(ValidationError, match=r"Not eligible: Member for 0 days; the chama asks for 90\."):
        loan_applied(shop, who=fresh(newcomer))
    assert not Loan.objects.filter(membership=newcomer).exists()


def test_savings_times_the_multiple_below_the_product_minimum_fails_on_its_own(shop):
    small = joined(shop.chama)
    savings.savings_deposit(membership=small, amount="300", method="cash", by=shop.treasurer.user)

    check = loans.eligibility(fresh(small), shop.product, as_of=date(2026, 6, 1))
    # 300 × 3 = 900 < the product's minimum 1,000.
    assert list(failed(check)) == ["savings"]
    assert failed(check)["savings"].startswith("Savings 300.00 × 3")
    assert failed(check)["savings"].endswith("= 900.00; the product starts at 1,000.00.")
    assert check.max_amount == D("0.00")

    # 34 more: 334 × 3 = 1,002 ≥ 1,000.
    savings.savings_deposit(membership=small, amount="34", method="cash", by=shop.treasurer.user)
    check = loans.eligibility(fresh(small), shop.product, as_of=date(2026, 6, 1))
    assert check.eligible and check.max_amount == D("1002.00")


@pytest.mark.parametrize(
    ("multiple", "max_amount"),
    [
        (None, D("30000.00")),  # the policy's 3: 10,000 × 3
        (D("1.5"), D("15000.00")),  # 10,000 × 1.5
        (D("6"), D("50000.00")),  # 10,000 × 6 = 60,000, capped at the product's 50,000
    ],
)
def test_the_products_savings_multiple_overrides_the_policy(shop, multiple, max_amount):
    shop.product.savings_multiple = multiple
    shop.product.save()

    check = loans.eligibility(fresh(shop.wanjiku), shop.product, as_of=date(2026, 6, 1))
    assert check.eligible and check.max_amount == max_amount


def test_a_product_multiple_of_zero_fails_the_savings_rule(shop):
    shop.product.savings_multiple = D("0")
    shop.product.save()

    check = loans.eligibility(fresh(shop.wanjiku), shop.product, as_of=date(2026, 6, 1))
    # 10,000 × 0 = 0 < 1,000: the product's 0 wins over the policy's 3.
    assert list(failed(check)) == ["savings"] and check.max_amount == D("0.00")


def test_shares_count_as_savings_for_lending(db):
    s = build_shop(share_price=D("100"))
    savings.share_purchase(membership=s.achieng, shares=5, method="cash", by=s.treasurer.user)

    # Savings 2,000 + 5 shares × 100 = 2,500; × 3 = 7,500.
    check = loans.eligibility(fresh(s.achieng), s.product, as_of=date(2026, 6, 1))
    assert check.max_amount == D("7500.00")


def test_a_loan_in_arrears_or_default_fails_on_its_own(db):
    s = build_shop(loan_max_concurrent=2)
    loan = loan_running(s)
    # 10 Jul: installment 1 (due 1 Jul) is 9 days late.
    arrears(s, date(2026, 7, 10))
    assert reload(loan).days_in_arrears == 9

    check = loans.eligibility(fresh(s.wanjiku), s.product, as_of=date(2026, 7, 10))
    assert failed(check) == {"no_arrears": "A loan is in arrears, in default or written off."}
    assert rules_of(check)["concurrent_loans"] == (
        True,
        "1 loan(s) running or applied for; the chama allows 2 at once.",
    )
    assert check.max_amount == D("0.00")
    with pytest.raises(ValidationError, match="Not eligible: A loan is in arrears"):
        loan_applied(s, principal="1000", installments=1)

    # 29 Sep: 90 days late, the policy's default → still refused.
    arrears(s, date(2026, 9, 29))
    assert reload(loan).status == Loan.Status.DEFAULTED
    assert list(failed(loans.eligibility(fresh(s.wanjiku), s.product, as_of=date(2026, 9, 29)))) == ["no_arrears"]


def test_a_loan_brought_up_to_date_no_longer_blocks(db):
    s = build_shop(loan_max_concurrent=2)
    loan = loan_running(s)
    arrears(s, date(2026, 7, 10))  # 9 days late: penalty 5% × 1,030 = 51.50
    # Installment 1 in full: 1,000 + 30 + 51.50 = 1,081.50.
    loans.loan_repay(loan=loan, amount="1081.50", method="cash", by=s.treasurer.user, value_date=date(2026, 7, 10))
    arrears(s, date(2026, 7, 10))

    assert reload(loan).days_in_arrears == 0
    check = loans.eligibility(fresh(s.wanjiku), s.product, as_of=date(2026, 7, 10))
    assert check.eligible and check.max_amount == D("30000.00")


def test_the_concurrent_loan_limit_fails_on_its_own(shop):
    loan = loan_applied(shop)  # applied, not yet approved: it counts

    check = loans.eligibility(fresh(shop.wanjiku), shop.product, as_of=date(2026, 6, 1))
    assert failed(check) == {"concurrent_loans": "1 loan(s) running or applied for; the chama allows 1 at once."}
    assert check.max_amount == D("0.00")
    with pytest.raises(ValidationError, match="the chama allows 1 at once"):
        loan_applied(shop, principal="1000", installments=1)

    loans.loan_reject(loan=loan, by=shop.chair.user)  # a rejected loan does not count
    assert loans.eligibility(fresh(shop.wanjiku), shop.product, as_of=date(2026, 6, 1)).eligible


# --- applications ------------------------------------------------------------------------------


def test_apply_above_the_members_max_amount_is_refused(shop):
    # The most Wanjiku may borrow: 10,000 × 3 = 30,000.
    with pytest.raises(ValidationError, match=r"may borrow now is 30,000\.00") as refused:
        loan_applied(shop, principal="30000.01")
    assert list(refused.value.message_dict) == ["principal"]
    assert not Loan.objects.exists()

    loan = loan_applied(shop, principal="30000")
    assert (loan.principal, loan.fee, loan.status) == (
        D("30000.00"),
        D("600.00"),
        Loan.Status.APPLIED,
    )  # fee 2% of 30,000


@pytest.mark.parametrize(
    ("principal", "installments", "field", "message"),
    [
        ("999.99", 3, "principal", "Flat lends 1,000.00 to 50,000.00."),
        ("50000.01", 3, "principal", "Flat lends 1,000.00 to 50,000.00."),
        ("3000", 0, "installments", "Flat runs 1 to 12 installments."),
        ("3000", 13, "installments", "Flat runs 1 to 12 installments."),
    ],
)
def test_apply_outside_the_product_limits_is_refused(db, principal, installments, field, message):
    s = build_shop()
    savings.savings_deposit(
        membership=s.wanjiku, amount="10000", method="cash", by=s.treasurer.user
    )  # 20,000 × 3 = 60,000
    with pytest.raises(ValidationError) as refused:
        loan_applied(s, principal=principal, installments=installments)
    assert refused.value.message_dict == {field: [message]}
    assert not Loan.objects.exists()


def test_apply_for_an_inactive_product_or_one_of_another_chama_is_refused(shop):
    shop.product.is_active = False
    shop.product.save()
    with pytest.raises(ValidationError) as refused:
        loan_applied(shop)
    assert refused.value.message_dict == {"product": ["Pick an active loan product of this chama."]}

    elsewhere = loan_product(ChamaFactory(name="Tujenge"), "Their product")
    with pytest.raises(ValidationError) as refused:
        loan_applied(shop, product=elsewhere)
    assert refused.value.message_dict == {"product": ["Pick an active loan product of this chama."]}
    assert not Loan.objects.exists()


def test_only_an_officer_applies_on_a_members_behalf(shop):
    with pytest.raises(authority.Refused, match="may apply or ask on a member's behalf"):
        loan_applied(shop, by=shop.otieno.user)
    loan = loan_applied(shop, by=shop.treasurer.user)
    assert (loan.membership, loan.applied_by) == (shop.wanjiku, shop.treasurer.user)


# --- guarantees --------------------------------------------------------------------------------


def guaranteed_product(s, count=1, coverage="50"):
    return loan_product(s.chama, "Guaranteed", guarantors_required=count, guarantee_coverage=D(coverage))


def test_a_pledge_above_free_savings_is_refused(shop):
    product = guaranteed_product(shop)
    first = loan_applied(shop, "4000", 2, product=product, guarantors=[(shop.otieno, "3000")])
    loans.guarantee_accept(guarantee=first.guarantees.get(), by=shop.otieno.user)
    # Otieno: savings 5,000, pledged 3,000 → 2,000 free.
    assert (loan_reads.pledged_savings(membership=shop.otieno), loan_reads.free_savings(membership=shop.otieno)) == (
        D("3000.00"),
        D("2000.00"),
    )

    second = loan_applied(
        shop,
        "1000",
        1,
        who=shop.achieng,
        product=loan_product(shop.chama, "Small"),
        guarantors=[(shop.otieno, "2000.01")],
    )
    with pytest.raises(ValidationError, match=r"Your free savings are 2,000\.00; you cannot pledge 2,000\.01\."):
        loans.guarantee_accept(guarantee=second.guarantees.get(), by=shop.otieno.user)
    assert second.guarantees.get().status == Guarantee.Status.REQUESTED


def test_a_pledge_of_exactly_the_free_savings_is_accepted(shop):
    loan = loan_applied(shop, "4000", 2, product=guaranteed_product(shop), guarantors=[(shop.otieno, "5000")])
    guarantee = loans.guarantee_accept(guarantee=loan.guarantees.get(), by=shop.otieno.user)
    assert guarantee.status == Guarantee.Status.ACCEPTED and guarantee.decided_date is not None
    assert loan_reads.free_savings(membership=shop.otieno) == D("0.00")  # 5,000 − 5,000


def test_only_the_guarantor_accepts_or_declines(shop):
    loan = loan_applied(shop, "4000", 2, product=guaranteed_product(shop), guarantors=[(shop.otieno, "2000")])
    guarantee = loan.guarantees.get()

    for someone in (shop.wanjiku.user, shop.chair.user):
        with pytest.raises(ValidationError, match="Only the guarantor can accept"):
            loans.guarantee_accept(guarantee=guarantee, by=someone)
        with pytest.raises(ValidationError, match="Only the guarantor can decline"):
            loans.guarantee_decline(guarantee=guarantee, by=someone)
    assert Guarantee.objects.get(pk=guarantee.pk).status == Guarantee.Status.REQUESTED

    declined = loans.guarantee_decline(guarantee=guarantee, by=shop.otieno.user)
    assert declined.status == Guarantee.Status.DECLINED
    with pytest.raises(ValidationError, match="no longer open"):
        loans.guarantee_accept(guarantee=guarantee, by=shop.otieno.user)


def test_a_guarantor_must_be_another_member_of_the_chama(shop):
    product = guaranteed_product(shop)
    with pytest.raises(ValidationError, match="another member of the chama"):
        loan_applied(shop, "4000", 2, product=product, guarantors=[(shop.wanjiku, "2000")])
    outsider = joined(ChamaFactory(name="Tujenge"))
    with pytest.raises(ValidationError, match="another member of the chama"):
        loan_applied(shop, "4000", 2, product=product, guarantors=[(outsider, "2000")])
    assert not Loan.objects.exists()  # the application is rolled back with its guarantees


def test_accepting_after_the_loan_left_applied_is_refused(shop):
    # Needs 1 guarantor covering 50% of 4,000 = 2,000: Otieno's 2,000 is enough, Achieng's is extra.
    loan = loan_applied(
        shop, "4000", 2, product=guaranteed_product(shop), guarantors=[(shop.otieno, "2000"), (shop.achieng, "1000")]
    )
    loans.guarantee_accept(guarantee=loan.guarantees.get(guarantor=shop.otieno), by=shop.otieno.user)
    approve_twice(shop, loan)
    assert reload(loan).status == Loan.Status.APPROVED

    late = loan.guarantees.get(guarantor=shop.achieng)
    with pytest.raises(ValidationError, match="This guarantee request is no longer open."):
        loans.guarantee_accept(guarantee=late, by=shop.achieng.user)
    assert Guarantee.objects.get(pk=late.pk).status == Guarantee.Status.REQUESTED
    assert loan_reads.pledged_savings(membership=shop.achieng) == D("0.00")


def test_too_few_guarantors_or_too_little_cover_blocks_approval(shop):
    # 2 guarantors covering 60% of 5,000 = 3,000.
    product = guaranteed_product(shop, count=2, coverage="60")
    loan = loan_applied(shop, "5000", 5, product=product, guarantors=[(shop.otieno, "2000"), (shop.achieng, "500")])

    with pytest.raises(ValidationError) as refused:
        loans.loan_approve(loan=loan, by=shop.chair.user)
    assert refused.value.messages == [
        "Guarantees are not complete: 0 of 2 guarantors have accepted. Guarantees cover 0.00 of the 3,000.00 required."
    ]

    loans.guarantee_accept(guarantee=loan.guarantees.get(guarantor=shop.otieno), by=shop.otieno.user)
    with pytest.raises(ValidationError) as refused:
        loans.loan_approve(loan=loan, by=shop.chair.user)
    assert refused.value.messages == [
        "Guarantees are not complete: 1 of 2 guarantors have accepted. Guarantees cover 2,000.00 of the 3,000.00 required."
    ]

    loans.guarantee_accept(guarantee=loan.guarantees.get(guarantor=shop.achieng), by=shop.achieng.user)
    # Two guarantors now, but 2,000 + 500 = 2,500 < 3,000: only the cover is short.
    with pytest.raises(ValidationError) as refused:
        loans.loan_approve(loan=loan, by=shop.chair.user)
    assert refused.value.messages == [
        "Guarantees are not complete: Guarantees cover 2,500.00 of the 3,000.00 required."
    ]
    assert not LoanApproval.objects.exists()

    # A third guarantor adds 500: 3,000 covered.
    third = loans.guarantee_request(loan=loan, guarantor=shop.secretary, amount="500")
    savings.savings_deposit(membership=shop.secretary, amount="500", method="cash", by=shop.treasurer.user)
    loans.guarantee_accept(guarantee=third, by=shop.secretary.user)
    loans.loan_approve(loan=loan, by=shop.chair.user)
    assert LoanApproval.objects.filter(loan=loan).count() == 1


def test_enough_cover_from_one_guarantor_still_needs_the_count(shop):
    product = guaranteed_product(shop, count=2, coverage="60")
    loan = loan_applied(shop, "5000", 5, product=product, guarantors=[(shop.otieno, "3000"), (shop.achieng, "100")])
    loans.guarantee_accept(guarantee=loan.guarantees.get(guarantor=shop.otieno), by=shop.otieno.user)
    with pytest.raises(ValidationError) as refused:
        loans.loan_approve(loan=loan, by=shop.chair.user)
    assert refused.value.messages == ["Guarantees are not complete: 1 of 2 guarantors have accepted."]


# --- approvals ---------------------------------------------------------------------------------


def test_the_applicant_cannot_approve_their_own_loan(shop):
    savings.savings_deposit(membership=shop.secretary, amount="2000", method="cash", by=shop.treasurer.user)
    loan = loan_applied(shop, "3000", 3, who=shop.secretary)  # the secretary borrows for herself
    with pytest.raises(
        authority.Refused, match="Nobody may approve or reject loans for themselves: another officer must."
    ):
        loans.loan_approve(loan=loan, by=shop.secretary.user)
    assert not loan.approvals.exists()


def test_the_officer_who_entered_the_application_cannot_approve_it(shop):
    loan = loan_applied(shop, by=shop.treasurer.user)
    with pytest.raises(authority.Refused, match="You have already signed this loan: a second officer must"):
        loans.loan_approve(loan=loan, by=shop.treasurer.user)
    loans.loan_approve(loan=loan, by=shop.chair.user)
    loans.loan_approve(loan=loan, by=shop.secretary.user)
    assert reload(loan).status == Loan.Status.APPROVED


def test_a_plain_member_cannot_approve(shop):
    loan = loan_applied(shop)
    with pytest.raises(authority.Refused, match="may approve or reject loans"):
        loans.loan_approve(loan=loan, by=shop.otieno.user)


def test_the_same_officer_cannot_approve_twice(shop):
    loan = loan_applied(shop)
    loans.loan_approve(loan=loan, by=shop.chair.user)
    with pytest.raises(
        authority.Refused, match="You have already signed this loan: a second officer must, through their own login."
    ):
        loans.loan_approve(loan=loan, by=shop.chair.user)
    assert reload(loan).status == Loan.Status.APPLIED
    assert loan.approvals.count() == 1


@pytest.mark.parametrize("required", [1, 2, 3])
def test_the_policys_number_of_approvals_is_respected(db, required):
    s = build_shop(loan_approvals_required=required)
    loan = loan_applied(s)
    officers = [s.chair, s.treasurer, s.secretary]
    for k, officer in enumerate(officers[:required], start=1):
        assert reload(loan).status == Loan.Status.APPLIED
        loans.loan_approve(loan=loan, by=officer.user, comment=f"ok {k}")
    assert reload(loan).status == Loan.Status.APPROVED
    assert loan.approvals.filter(decision=LoanApproval.Decision.APPROVE).count() == required
    if required < 3:
        with pytest.raises(ValidationError, match="it cannot be approved now"):
            loans.loan_approve(loan=loan, by=officers[required].user)


def test_reject_releases_the_guarantees(shop):
    loan = loan_applied(
        shop, "4000", 2, product=guaranteed_product(shop), guarantors=[(shop.otieno, "3000"), (shop.achieng, "1000")]
    )
    loans.guarantee_accept(guarantee=loan.guarantees.get(guarantor=shop.otieno), by=shop.otieno.user)
    assert loan_reads.pledged_savings(membership=shop.otieno) == D("3000.00")

    loans.loan_reject(loan=loan, by=shop.chair.user, comment="Too much")

    assert reload(loan).status == Loan.Status.REJECTED
    assert set(loan.guarantees.values_list("status", flat=True)) == {Guarantee.Status.RELEASED}
    assert loan_reads.pledged_savings(membership=shop.otieno) == D("0.00") and loan_reads.free_savings(
        membership=shop.otieno
    ) == D("5000.00")
    assert list(loan.approvals.values_list("decision", "comment")) == [("reject", "Too much")]
    with pytest.raises(ValidationError, match="it cannot be approved now"):
        loans.loan_approve(loan=loan, by=shop.treasurer.user)


# --- disbursement --------------------------------------------------------------------------------


def test_a_deducted_fee_is_income_at_disbursement(shop):
    loan = loan_running(shop)

    # Fee 2% of 3,000 = 60: Dr loan 3,000; Cr cash 2,940; Cr fee income 60.
    assert entries(loan.disbursement_journal) == {
        A.LOAN_RECEIVABLE: D("3000.00"),
        A.CASH: D("-2940.00"),
        A.FEE_INCOME: D("-60.00"),
    }
    assert chama_balance(shop.chama, A.CASH) == D("14060.00")  # 17,000 − 2,940
    assert chama_balance(shop.chama, A.FEE_INCOME) == D("60.00")
    assert loan_reads.outstanding_principal(loan=loan) == D("3000.00")
    assert [(r.n, str(r.due_date), r.principal, r.interest, r.fee) for r in rows(loan)] == [
        (1, "2026-07-01", D("1000.00"), D("30.00"), D("0.00")),
        (2, "2026-08-01", D("1000.00"), D("30.00"), D("0.00")),
        (3, "2026-09-01", D("1000.00"), D("30.00"), D("0.00")),
    ]
    assert (reload(loan).status, reload(loan).disbursed_date) == (Loan.Status.ACTIVE, DISBURSED)
    assert loan_reads.payoff_amount(loan=loan, as_of=DISBURSED) == D("3000.00")  # nothing due yet: the principal


def test_an_added_fee_is_due_with_the_first_installment(db):
    s = build_shop(product={"fee_kind": "flat", "fee_value": D("150"), "fee_mode": "added"})
    loan = loan_running(s)

    # Dr loan 3,000; Cr cash 3,000: the whole principal goes out, no fee income yet.
    assert entries(loan.disbursement_journal) == {A.LOAN_RECEIVABLE: D("3000.00"), A.CASH: D("-3000.00")}
    assert chama_balance(s.chama, A.FEE_INCOME) == D("0.00")
    assert [r.fee for r in rows(loan)] == [D("150.00"), D("0.00"), D("0.00")]
    # The payoff includes the fee, due or not: 3,000 + 150.
    assert loan_reads.payoff_amount(loan=loan, as_of=date(2026, 6, 15)) == D("3150.00")

    # Installment 1 on its day: 1,000 + 30 + 150 = 1,180.
    today_is(date(2026, 7, 1))
    journal = loans.loan_repay(
        loan=loan, amount="1180", method="cash", by=s.treasurer.user, value_date=date(2026, 7, 1)
    )
    assert entries(journal) == {
        A.CASH: D("1180.00"),
        A.FEE_INCOME: D("-150.00"),
        A.INTEREST_INCOME: D("-30.00"),
        A.LOAN_RECEIVABLE: D("-1000.00"),
    }
    assert chama_balance(s.chama, A.FEE_INCOME) == D("150.00")
    assert row(loan, 1).status == Installment.Status.PAID
    assert loan_reads.payoff_amount(loan=loan, as_of=date(2026, 7, 1)) == D("2000.00")


def test_only_an_approved_loan_is_disbursed(shop):
    loan = loan_applied(shop)
    with pytest.raises(ValidationError, match="Only an approved loan can be disbursed."):
        loans.loan_disburse(loan=loan, by=shop.treasurer.user, method="cash")
    assert not Journal.objects.filter(loan=loan).exists()


# --- allocation order ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "paid"),
    [
        # 100 over installment 1 (penalty 52.50, fee 20, interest 30, principal 1,000):
        (None, {"penalty": D("52.50"), "fee": D("20.00"), "interest": D("27.50"), "principal": D("0")}),  # the default
        (
            "interest,principal,penalty,fee",
            {"penalty": D("0"), "fee": D("0"), "interest": D("30.00"), "principal": D("70.00")},
        ),
        (
            "fee,penalty,principal,interest",
            {"penalty": D("52.50"), "fee": D("20.00"), "interest": D("0"), "principal": D("27.50")},
        ),
        (
            "principal,interest,penalty,fee",
            {"penalty": D("0"), "fee": D("0"), "interest": D("0"), "principal": D("100.00")},
        ),
    ],
)
def test_a_partial_payment_of_an_overdue_installment_follows_the_allocation_order(db, order, paid):
    product = {"fee_kind": "flat", "fee_value": D("20"), "fee_mode": "added"}
    if order:
        product["allocation_order"] = order
    s = build_shop(product=product)
    assert s.product.allocation_order == (order or "penalty,fee,interest,principal")
    loan = loan_running(s)
    # 10 Jul: installment 1 is 9 days late (> 3): penalty 5% × (1,000 + 30 + 20) = 52.50.
    arrears(s, date(2026, 7, 10))
    assert row(loan, 1).penalty == D("52.50")

    journal = loans.loan_repay(
        loan=loan, amount="100", method="cash", by=s.treasurer.user, value_date=date(2026, 7, 10)
    )

    first = row(loan, 1)
    assert {c: getattr(first, f"{c}_paid") for c in paid} == paid
    assert first.status == Installment.Status.OVERDUE  # still owed
    assert row(loan, 2).principal_paid == D("0.00")  # nothing spills over
    assert {line.component: line.amount for line in RepaymentLine.objects.filter(journal=journal)} == {
        c: amount for c, amount in paid.items() if amount
    }
    assert chama_balance(s.chama, A.PENALTY_INCOME) == paid["penalty"]
    assert chama_balance(s.chama, A.FEE_INCOME) == paid["fee"]
    assert chama_balance(s.chama, A.INTEREST_INCOME) == paid["interest"]
    assert loan_reads.outstanding_principal(loan=loan) == D("3000.00") - paid["principal"]
    assert journal.amount == D("100.00")


# --- payoff --------------------------------------------------------------------------------------


def test_payoff_is_principal_plus_what_is_due(shop):
    loan = loan_running(shop)
    assert loan_reads.payoff_amount(loan=loan, as_of=date(2026, 6, 1)) == D("3000.00")  # nothing due: principal only
    assert loan_reads.payoff_amount(loan=loan, as_of=date(2026, 6, 30)) == D("3000.00")  # the day before installment 1
    arrears(shop, date(2026, 7, 10))  # installment 1: penalty 5% × 1,030 = 51.50

    # 10 Jul: installment 1 in full (1,000 + 30 + 51.50) + the principal of 2 and 3 (2,000).
    assert loan_reads.payoff_amount(loan=loan, as_of=date(2026, 7, 10)) == D("3081.50")
    # 1 Aug: installment 2 falls due that day, so its interest counts: 1,081.50 + 1,030 + 1,000.
    assert loan_reads.payoff_amount(loan=loan, as_of=date(2026, 8, 1)) == D("3111.50")
    # 1 Sep: everything is due: 1,081.50 + 1,030 + 1,030.
    assert loan_reads.payoff_amount(loan=loan, as_of=date(2026, 9, 1)) == D("3141.50")


def test_more_than_the_payoff_is_refused_with_the_payoff_in_the_message(shop):
    loan = loan_running(shop)
    arrears(shop, date(2026, 7, 10))
    journals = Journal.objects.count()

    with pytest.raises(ValidationError) as refused:
        loans.loan_repay(
            loan=loan, amount="3081.51", method="cash", by=shop.treasurer.user, value_date=date(2026, 7, 10)
        )
    assert refused.value.message_dict == {"amount": ["The payoff on 10 Jul 2026 is 3,081.50; pay at most that."]}
    assert Journal.objects.count() == journals
    assert reload(loan).status == Loan.Status.ACTIVE


def test_the_exact_payoff_closes_the_loan_forgives_interest_not_yet_due_and_releases_guarantees(shop):
    product = loan_product(shop.chama, "Guaranteed", guarantors_required=1, guarantee_coverage=D("50"))
    loan = loan_running(shop, product=product, guarantors=[(shop.otieno, "1500")])
    assert loan_reads.pledged_savings(membership=shop.otieno) == D("1500.00")
    arrears(shop, date(2026, 7, 10))  # penalty 51.50 on installment 1

    journal = loans.loan_repay(
        loan=loan, amount="3081.50", method="mpesa", by=shop.treasurer.user, value_date=date(2026, 7, 10)
    )

    # Dr M-Pesa 3,081.50; Cr penalty 51.50, interest 30 (installment 1 only), loan 3,000.
    assert entries(journal) == {
        A.MOBILE_MONEY: D("3081.50"),
        A.PENALTY_INCOME: D("-51.50"),
        A.INTEREST_INCOME: D("-30.00"),
        A.LOAN_RECEIVABLE: D("-3000.00"),
    }
    loan = reload(loan)
    assert (loan.status, loan.closed_date, loan.days_in_arrears) == (Loan.Status.CLOSED, date(2026, 7, 10), 0)
    assert loan_reads.outstanding_principal(loan=loan) == D("0.00")
    assert [(r.status, r.interest_paid, r.interest_forgiven) for r in rows(loan)] == [
        ("paid", D("30.00"), D("0.00")),
        ("paid", D("0.00"), D("30.00")),  # due 1 Aug: forgiven
        ("paid", D("0.00"), D("30.00")),  # due 1 Sep: forgiven
    ]
    assert all(r.outstanding == 0 for r in rows(loan))
    assert loan.guarantees.get().status == Guarantee.Status.RELEASED
    assert loan_reads.pledged_savings(membership=shop.otieno) == D("0.00")
    with pytest.raises(ValidationError, match="it takes no repayments"):
        loans.loan_repay(loan=loan, amount="1", method="cash", by=shop.treasurer.user)


# --- arrears and penalties -----------------------------------------------------------------------


def test_a_percent_penalty_is_charged_once_per_installment(shop):
    loan = loan_running(shop)
    # 4 Jul: 3 days late, within the 3 grace days: overdue, no penalty.
    report = arrears(shop, date(2026, 7, 4))
    assert [(days, penalties) for _, days, _, penalties in report] == [(3, [])]
    assert (row(loan, 1).status, row(loan, 1).penalty) == (Installment.Status.OVERDUE, D("0.00"))
    # 530 the same day: interest 30 + principal 500 → 500 still owed on installment 1.
    loans.loan_repay(loan=loan, amount="530", method="cash", by=shop.treasurer.user, value_date=date(2026, 7, 4))

    # 5 Jul: 4 days late: 5% of what is overdue, 500 → 25.00.
    assert [penalties for *_, penalties in arrears(shop, date(2026, 7, 5))] == [[D("25.00")]]
    assert [penalties for *_, penalties in arrears(shop, date(2026, 7, 5))] == [[]]  # run twice: once
    assert [penalties for *_, penalties in arrears(shop, date(2026, 7, 20))] == [[]]  # later: still once
    assert (row(loan, 1).penalty, row(loan, 1).penalty_charged_date) == (D("25.00"), date(2026, 7, 5))

    # 10 Aug: installment 2 (due 1 Aug) is 9 days late: 5% × 1,030 = 51.50; installment 1 keeps its 25.00.
    assert [penalties for *_, penalties in arrears(shop, date(2026, 8, 10))] == [[D("51.50")]]
    assert [r.penalty for r in rows(loan)] == [D("25.00"), D("51.50"), D("0.00")]
    loan = reload(loan)
    assert (loan.days_in_arrears, loan.classification) == (40, Loan.Classification.DAYS_31_60)  # since 1 Jul


def test_a_flat_penalty_is_charged_once_per_installment(db):
    s = build_shop(product={"penalty_kind": "flat", "penalty_value": D("200")})
    loan = loan_running(s)

    arrears(s, date(2026, 7, 10))
    arrears(s, date(2026, 7, 10))
    arrears(s, date(2026, 7, 25))
    assert [r.penalty for r in rows(loan)] == [D("200.00"), D("0.00"), D("0.00")]
    arrears(s, date(2026, 8, 10))
    arrears(s, date(2026, 8, 20))
    assert [r.penalty for r in rows(loan)] == [D("200.00"), D("200.00"), D("0.00")]
    # Payoff on 20 Aug: (1,000 + 30 + 200) × 2 + 1,000 = 3,460.
    assert loan_reads.payoff_amount(loan=loan, as_of=date(2026, 8, 20)) == D("3460.00")


@pytest.mark.parametrize("grace", [0, 3, 5])
def test_no_penalty_within_the_grace_days(db, grace):
    s = build_shop(product={"penalty_grace_days": grace})
    loan = loan_running(s)
    due = date(2026, 7, 1)

    arrears(s, due + timedelta(days=grace))
    assert row(loan, 1).penalty == D("0.00")
    assert reload(loan).days_in_arrears == grace

    arrears(s, due + timedelta(days=grace + 1))
    assert row(loan, 1).penalty == D("51.50")  # 5% × 1,030


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (0, "current"),
        (1, "1-30"),
        (30, "1-30"),
        (31, "31-60"),
        (60, "31-60"),
        (61, "61-90"),
        (90, "61-90"),
        (91, "91-180"),
        (180, "91-180"),
        (181, "180+"),
    ],
)
def test_classification_by_days_since_the_oldest_unpaid_installment(db, days, bucket):
    s = build_shop(loan_default_days=1000)
    loan = loan_running(s, "3000", 1)  # one installment, due 1 Jul

    report = arrears(s, date(2026, 7, 1) + timedelta(days=days))

    assert [(r[1], r[2]) for r in report] == [(days, bucket)]
    loan = reload(loan)
    assert (loan.days_in_arrears, loan.classification, loan.status) == (days, bucket, Loan.Status.ACTIVE)


def test_default_at_the_policys_days(db):
    s = build_shop(loan_default_days=60)
    loan = loan_running(s, "3000", 1)  # due 1 Jul

    arrears(s, date(2026, 8, 29))  # 30 + 29 = 59 days
    assert (reload(loan).days_in_arrears, reload(loan).status) == (59, Loan.Status.ACTIVE)
    arrears(s, date(2026, 8, 30))  # 60 days
    assert (reload(loan).days_in_arrears, reload(loan).status) == (60, Loan.Status.DEFAULTED)


# --- recovery from guarantors --------------------------------------------------------------------


def defaulted_loan(s, principal="4000", guarantors=()):
    """One installment on a guaranteed product without penalties, disbursed 1 Mar, due 1 Apr; on
    1 Jul it is 30 + 31 + 30 = 91 days late, past the 90 of default."""
    product = loan_product(
        s.chama, "Guaranteed", guarantors_required=1, guarantee_coverage=D("50"), penalty_value=D("0")
    )
    loan = loan_running(s, principal, 1, on=date(2026, 3, 1), product=product, guarantors=guarantors)
    arrears(s, date(2026, 7, 1))
    assert reload(loan).status == Loan.Status.DEFAULTED
    return reload(loan)


def test_only_a_defaulted_loan_is_recovered_from_guarantors(shop):
    product = loan_product(shop.chama, "Guaranteed", guarantors_required=1, guarantee_coverage=D("50"))
    loan = loan_running(shop, "4000", 1, on=date(2026, 3, 1), product=product, guarantors=[(shop.otieno, "2000")])
    arrears(shop, date(2026, 6, 29))  # 89 days: in arrears, not in default
    with pytest.raises(ValidationError, match="Only a loan in default is recovered from its guarantors."):
        loans.recover_from_guarantors(loan=loan, by=shop.treasurer.user)
    assert savings_of(shop.otieno) == D("5000.00")


def test_recovery_takes_the_pledge_when_it_is_the_smallest(shop):
    loan = defaulted_loan(shop, guarantors=[(shop.otieno, "2000")])

    [journal] = loans.recover_from_guarantors(loan=loan, by=shop.treasurer.user)

    # min(pledge 2,000, savings 5,000, outstanding 4,000) = 2,000: Dr Otieno's savings, Cr the loan.
    assert entries(journal) == {f"savings {shop.otieno.member_number}": D("2000.00"), A.LOAN_RECEIVABLE: D("-2000.00")}
    assert savings_of(shop.otieno) == D("3000.00")
    assert loan_reads.outstanding_principal(loan=loan) == D("2000.00")
    guarantee = loan.guarantees.get()
    assert (guarantee.status, guarantee.recovered_amount) == (Guarantee.Status.CALLED, D("2000.00"))
    assert row(loan, 1).principal_paid == D("2000.00")
    assert reload(loan).status == Loan.Status.DEFAULTED  # 2,000 still owed


def test_recovery_takes_the_guarantors_savings_when_they_are_the_smallest(shop):
    loan = defaulted_loan(shop, guarantors=[(shop.otieno, "3000")])
    # Otieno deposits 1,000 more (6,000); then his first 5,000 turns out to be keyed to him by mistake
    # and is reversed: savings 1,000 under a pledge of 3,000.
    savings.savings_deposit(membership=shop.otieno, amount="1000", method="cash", by=shop.treasurer.user)
    mistaken = Journal.objects.get(membership=shop.otieno, kind=Journal.Kind.SAVINGS_DEPOSIT, amount=D("5000"))
    reversals.journal_reverse(journal=mistaken, reason="Keyed to the wrong member", by=shop.treasurer.user)
    assert savings_of(shop.otieno) == D("1000.00")

    loans.recover_from_guarantors(loan=loan, by=shop.treasurer.user)

    # min(pledge 3,000, savings 1,000, outstanding 4,000) = 1,000.
    assert savings_of(shop.otieno) == D("0.00")
    assert loan_reads.outstanding_principal(loan=loan) == D("3000.00")
    assert loan.guarantees.get().recovered_amount == D("1000.00")


def test_recovery_stops_at_the_outstanding_principal_and_closes_the_loan(shop):
    loan = defaulted_loan(shop, guarantors=[(shop.otieno, "3000"), (shop.achieng, "2000")])

    first, second = loans.recover_from_guarantors(loan=loan, by=shop.treasurer.user)

    # Otieno: min(3,000, 5,000, 4,000) = 3,000; Achieng: min(2,000, 2,000, 4,000 − 3,000) = 1,000.
    assert (first.amount, first.membership, second.amount, second.membership) == (
        D("3000.00"),
        shop.otieno,
        D("1000.00"),
        shop.achieng,
    )
    assert (savings_of(shop.otieno), savings_of(shop.achieng)) == (D("2000.00"), D("1000.00"))
    assert loan_reads.outstanding_principal(loan=loan) == D("0.00")
    assert reload(loan).status == Loan.Status.CLOSED
    assert sorted(loan.guarantees.values_list("recovered_amount", flat=True)) == [D("1000.00"), D("3000.00")]


def test_recovery_draws_on_all_of_the_guarantors_savings(shop):
    holiday = SavingsType.objects.create(chama=shop.chama, name="Holiday", code="HOL")
    savings.savings_deposit(
        membership=shop.otieno, amount="500", method="cash", by=shop.treasurer.user, savings_type=holiday
    )
    # Otieno: Regular 5,000 + Holiday 500 = 5,500.
    loan = defaulted_loan(shop, guarantors=[(shop.otieno, "2000")])

    loans.recover_from_guarantors(loan=loan, by=shop.treasurer.user)

    # min(pledge 2,000, savings 5,500, outstanding 4,000) = 2,000, even though one account holds only 500.
    assert loan_reads.outstanding_principal(loan=loan) == D("2000.00")
    assert savings_of(shop.otieno) == D("3500.00")
    assert loan.guarantees.get().recovered_amount == D("2000.00")


# --- write-off and recoveries --------------------------------------------------------------------


def test_a_write_off_needs_a_second_officer_and_recoveries_are_capped(shop):
    loan = loan_running(shop)
    # Installment 1 on its day: 1,030 = interest 30 + principal 1,000; 2,000 left.
    today_is(date(2026, 7, 1))
    loans.loan_repay(loan=loan, amount="1030", method="cash", by=shop.treasurer.user, value_date=date(2026, 7, 1))

    with pytest.raises(ValidationError, match="No write-off has been asked for"):
        loans.write_off_approve(loan=loan, by=shop.chair.user)
    with pytest.raises(ValidationError, match="Say why"):
        loans.write_off_request(loan=loan, by=shop.treasurer.user, reason="  ")
    with pytest.raises(ValidationError, match="Recoveries are recorded on written-off loans"):
        loans.recovery_record(loan=loan, amount="100", method="cash", by=shop.treasurer.user)
    loans.write_off_request(loan=loan, by=shop.treasurer.user, reason="Moved to Mombasa")
    with pytest.raises(authority.Refused, match="You have already signed this write-off: a second officer must"):
        loans.write_off_approve(loan=loan, by=shop.treasurer.user)
    assert reload(loan).status == Loan.Status.ACTIVE

    loans.write_off_approve(loan=loan, by=shop.chair.user)

    write_off = Journal.objects.get(loan=loan, kind=Journal.Kind.LOAN_WRITE_OFF)
    assert entries(write_off) == {A.LOAN_LOSS: D("2000.00"), A.LOAN_RECEIVABLE: D("-2000.00")}  # Dr losses, Cr loan
    loan = reload(loan)
    assert (loan.status, loan_reads.outstanding_principal(loan=loan)) == (Loan.Status.WRITTEN_OFF, D("0.00"))
    assert [r.status for r in rows(loan)] == ["paid", "written_off", "written_off"]
    assert loan.approvals.get(decision=LoanApproval.Decision.WRITE_OFF).officer == shop.chair.user

    cash = chama_balance(shop.chama, A.CASH)
    recovery = loans.recovery_record(loan=loan, amount="500", method="cash", by=shop.treasurer.user)
    assert entries(recovery) == {A.CASH: D("500.00"), A.RECOVERIES_INCOME: D("-500.00")}
    assert chama_balance(shop.chama, A.CASH) - cash == D("500.00")
    with pytest.raises(ValidationError, match=r"At most 1,500\.00 of this loan is still to recover\."):
        loans.recovery_record(loan=loan, amount="1500.01", method="cash", by=shop.treasurer.user)
    loans.recovery_record(loan=loan, amount="1500", method="cash", by=shop.treasurer.user)
    with pytest.raises(ValidationError, match=r"At most 0\.00"):
        loans.recovery_record(loan=loan, amount="0.01", method="cash", by=shop.treasurer.user)
    assert chama_balance(shop.chama, A.RECOVERIES_INCOME) == D("2000.00")  # 500 + 1,500, all that was written off
    assert chama_balance(shop.chama, A.LOAN_LOSS) == D("2000.00")


def test_a_write_off_releases_the_guarantees(shop):
    product = loan_product(shop.chama, "Guaranteed", guarantors_required=1, guarantee_coverage=D("50"))
    loan = loan_running(shop, product=product, guarantors=[(shop.otieno, "1500")])
    loans.write_off_request(loan=loan, by=shop.treasurer.user, reason="Deceased")
    loans.write_off_approve(loan=loan, by=shop.secretary.user)
    assert loan.guarantees.get().status == Guarantee.Status.RELEASED
    assert loan_reads.pledged_savings(membership=shop.otieno) == D("0.00")
    assert chama_balance(shop.chama, A.LOAN_LOSS) == D("3000.00")


# --- rescheduling --------------------------------------------------------------------------------


def overdue_with_fee_and_penalty(s):
    """3,000 over 3 with a flat 20 fee added, disbursed 1 Jun; installment 1 (1,000 + 30 + 20, due
    1 Jul) unpaid, penalised on 10 Jul: 5% × 1,050 = 52.50."""
    product = loan_product(s.chama, "With fee", fee_kind="flat", fee_value=D("20"), fee_mode="added")
    loan = loan_running(s, product=product)
    arrears(s, date(2026, 7, 10))
    assert row(loan, 1).penalty == D("52.50")
    return loan


@pytest.mark.parametrize(
    ("new_rate", "rate", "interest"),
    [
        # 3,000 over 4 at 2% flat: 60.00 a period; installment 750 + 60 = 810.
        (D("2"), D("2.000"), D("60.00")),
        # no new rate: 1% as before, 30.00 a period; installment 750 + 30 = 780.
        (None, D("1.000"), D("30.00")),
    ],
)
def test_reschedule_keeps_the_old_schedule_and_carries_what_was_due(shop, new_rate, rate, interest):
    loan = overdue_with_fee_and_penalty(shop)

    loans.loan_reschedule(
        loan=loan, by=shop.chair.user, installments=4, interest_rate=new_rate, start=date(2026, 7, 15)
    )
    # Only asked for: the loan runs on its old schedule until a second officer approves.
    asked = reload(loan)
    assert (asked.schedule_version, asked.installments_count, asked.reschedule_installments) == (1, 3, 4)
    assert asked.reschedule_requested_by == shop.chair.user
    loans.reschedule_approve(loan=loan, by=shop.treasurer.user)

    loan = reload(loan)
    assert loan.reschedule_requested_by is None
    assert (loan.schedule_version, loan.interest_rate, loan.installments_count) == (2, rate, 4)
    assert (loan.status, loan.classification, loan.days_in_arrears) == (Loan.Status.ACTIVE, "current", 0)
    old = list(loan.installments.filter(version=1).order_by("n"))
    assert [(r.status, r.interest, r.fee, r.penalty) for r in old] == [
        ("rescheduled", D("30.00"), D("20.00"), D("52.50")),
        ("rescheduled", D("30.00"), D("0.00"), D("0.00")),
        ("rescheduled", D("30.00"), D("0.00"), D("0.00")),
    ]
    # The new first installment also carries installment 1's interest 30, fee 20 and penalty 52.50
    # (installments 2 and 3 were not due on 15 Jul: their interest is not carried).
    assert [(r.n, str(r.due_date), r.principal, r.interest, r.fee, r.penalty) for r in rows(loan)] == [
        (1, "2026-08-15", D("750.00"), interest + D("30.00"), D("20.00"), D("52.50")),
        (2, "2026-09-15", D("750.00"), interest, D("0.00"), D("0.00")),
        (3, "2026-10-15", D("750.00"), interest, D("0.00"), D("0.00")),
        (4, "2026-11-15", D("750.00"), interest, D("0.00"), D("0.00")),
    ]
    assert loan_reads.outstanding_principal(loan=loan) == D("3000.00")

    # The first new installment on its day: 750 + interest + 30 + 20 + 52.50.
    amount = D("852.50") + interest
    today_is(date(2026, 8, 15))
    journal = loans.loan_repay(
        loan=loan, amount=amount, method="cash", by=shop.treasurer.user, value_date=date(2026, 8, 15)
    )
    assert entries(journal) == {
        A.CASH: amount,
        A.PENALTY_INCOME: D("-52.50"),
        A.FEE_INCOME: D("-20.00"),
        A.INTEREST_INCOME: -(interest + D("30.00")),
        A.LOAN_RECEIVABLE: D("-750.00"),
    }
    assert loan_reads.outstanding_principal(loan=loan) == D("2250.00")


def test_payoff_after_a_reschedule_still_charges_the_interest_that_was_due(shop):
    loan = overdue_with_fee_and_penalty(shop)
    loans.loan_reschedule(loan=loan, by=shop.chair.user, installments=4, start=date(2026, 7, 15))
    loans.reschedule_approve(loan=loan, by=shop.secretary.user)
    assert reload(loan).schedule_version == 2

    # On 15 Jul the member owes the principal 3,000 and what fell due on 1 Jul and was carried:
    # interest 30, fee 20, penalty 52.50 = 3,102.50. Only interest of periods not yet run is forgiven.
    assert loan_reads.payoff_amount(loan=reload(loan), as_of=date(2026, 7, 15)) == D("3102.50")


def test_only_an_outstanding_loan_is_rescheduled(shop):
    loan = loan_applied(shop)
    with pytest.raises(ValidationError, match="Only an outstanding loan can be rescheduled."):
        loans.loan_reschedule(loan=loan, by=shop.chair.user, installments=4)
    theirs = loan_running(shop, who=shop.achieng)
    with pytest.raises(authority.Refused, match="may ask for a loan to be rescheduled"):
        loans.loan_reschedule(loan=theirs, by=shop.wanjiku.user, installments=4)


def test_a_reschedule_needs_a_second_officer_who_may_also_reject_it(shop):
    loan = loan_running(shop)
    with pytest.raises(ValidationError, match="No reschedule has been asked for"):
        loans.reschedule_approve(loan=loan, by=shop.chair.user)
    loans.loan_reschedule(loan=loan, by=shop.treasurer.user, installments=6, reason="Lost her job")
    with pytest.raises(authority.Refused, match="You have already signed this reschedule: a second officer must"):
        loans.reschedule_approve(loan=loan, by=shop.treasurer.user)
    with pytest.raises(authority.Refused, match="may approve or reject reschedules"):
        loans.reschedule_approve(loan=loan, by=shop.otieno.user)  # a plain member
    assert reload(loan).schedule_version == 1

    loans.reschedule_reject(loan=loan, by=shop.secretary.user)
    loan = reload(loan)
    assert (loan.schedule_version, loan.installments_count, loan.reschedule_requested_by) == (1, 3, None)
    with pytest.raises(ValidationError, match="No reschedule has been asked for"):
        loans.reschedule_approve(loan=loan, by=shop.chair.user)


def test_a_loan_may_be_rescheduled_twice_with_the_same_two_officers(shop):
    loan = loan_running(shop)
    loans.loan_reschedule(loan=loan, by=shop.chair.user, installments=4, start=date(2026, 6, 15))
    loans.reschedule_approve(loan=loan, by=shop.treasurer.user)
    # Months later the member asks again; the same two officers sign.
    loans.loan_reschedule(loan=loan, by=shop.chair.user, installments=6, start=date(2026, 7, 15))
    loans.reschedule_approve(loan=loan, by=shop.treasurer.user)

    loan = reload(loan)
    assert (loan.schedule_version, loan.installments_count) == (3, 6)
    assert loan.approvals.filter(decision=LoanApproval.Decision.RESCHEDULE).count() == 2


def test_an_officer_cannot_act_on_their_own_loan(shop):
    savings.savings_deposit(membership=shop.treasurer, amount="2000", method="cash", by=shop.chair.user)
    loan = loan_applied(shop, "3000", 3, who=shop.treasurer)  # the treasurer borrows for herself
    with pytest.raises(authority.Refused, match="Nobody may approve or reject loans for themselves"):
        loans.loan_approve(loan=loan, by=shop.treasurer.user)
    loans.loan_approve(loan=loan, by=shop.chair.user)
    loans.loan_approve(loan=loan, by=shop.secretary.user)
    today_is(DISBURSED)
    with pytest.raises(authority.Refused, match="Nobody may disburse loans for themselves"):
        loans.loan_disburse(loan=loan, by=shop.treasurer.user, method="cash", value_date=DISBURSED)
    loans.loan_disburse(loan=loan, by=shop.chair.user, method="cash", value_date=DISBURSED)
    with pytest.raises(authority.Refused, match="for themselves"):
        loans.loan_reschedule(loan=loan, by=shop.treasurer.user, installments=6)
    with pytest.raises(authority.Refused, match="for themselves"):
        loans.write_off_request(loan=loan, by=shop.treasurer.user, reason="Mine")
    loans.write_off_request(loan=loan, by=shop.chair.user, reason="Moved away")
    with pytest.raises(authority.Refused, match="for themselves"):
        loans.write_off_approve(loan=loan, by=shop.treasurer.user)
    assert reload(loan).status == Loan.Status.ACTIVE


# --- reversals -----------------------------------------------------------------------------------


def test_reversing_a_repayment_restores_the_installments(shop):
    loan = loan_running(shop)
    arrears(shop, date(2026, 7, 10))  # penalty 51.50
    # 100 on 10 Jul, penalty first: penalty 51.50 + interest 30 + principal 18.50.
    repayment = loans.loan_repay(
        loan=loan, amount="100", method="cash", by=shop.treasurer.user, value_date=date(2026, 7, 10)
    )
    first = row(loan, 1)
    assert (first.penalty_paid, first.interest_paid, first.principal_paid) == (D("51.50"), D("30.00"), D("18.50"))
    cash = chama_balance(shop.chama, A.CASH)

    reversal = reversals.journal_reverse(journal=repayment, reason="Bounced cheque", by=shop.chair.user)

    assert entries(reversal) == {
        A.CASH: D("-100.00"),
        A.PENALTY_INCOME: D("51.50"),
        A.INTEREST_INCOME: D("30.00"),
        A.LOAN_RECEIVABLE: D("18.50"),
    }
    first = row(loan, 1)
    assert (first.penalty_paid, first.interest_paid, first.principal_paid) == (D("0.00"), D("0.00"), D("0.00"))
    assert (first.penalty, first.status) == (D("51.50"), Installment.Status.OVERDUE)  # the penalty is still owed
    assert sorted(line.amount for line in RepaymentLine.objects.filter(journal=reversal)) == [
        D("-51.50"),
        D("-30.00"),
        D("-18.50"),
    ]
    assert loan_reads.outstanding_principal(loan=loan) == D("3000.00")
    assert cash - chama_balance(shop.chama, A.CASH) == D("100.00")
    assert (chama_balance(shop.chama, A.PENALTY_INCOME), chama_balance(shop.chama, A.INTEREST_INCOME)) == (
        D("0.00"),
        D("0.00"),
    )
    assert loan_reads.payoff_amount(loan=loan, as_of=date(2026, 7, 10)) == D("3081.50")  # as before the repayment


def test_reversing_the_closing_repayment_reopens_the_loan_and_takes_back_the_forgiven_interest(shop):
    loan = loan_running(shop)
    today_is(date(2026, 7, 1))
    loans.loan_repay(loan=loan, amount="1030", method="cash", by=shop.treasurer.user, value_date=date(2026, 7, 1))
    # 15 Jul: installments 2 and 3 not due, payoff = their principal 2,000.
    today_is(date(2026, 7, 15))
    closing = loans.loan_repay(
        loan=loan, amount="2000", method="cash", by=shop.treasurer.user, value_date=date(2026, 7, 15)
    )
    assert reload(loan).status == Loan.Status.CLOSED
    assert [r.interest_forgiven for r in rows(loan)] == [D("0.00"), D("30.00"), D("30.00")]

    reversals.journal_reverse(journal=closing, reason="Entered twice", by=shop.chair.user)

    loan = reload(loan)
    assert (loan.status, loan.closed_date) == (Loan.Status.ACTIVE, None)
    assert [(r.principal_paid, r.interest_forgiven) for r in rows(loan)] == [
        (D("1000.00"), D("0.00")),
        (D("0.00"), D("0.00")),
        (D("0.00"), D("0.00")),
    ]
    assert row(loan, 1).status == Installment.Status.PAID
    assert loan_reads.outstanding_principal(loan=loan) == D("2000.00")
    # The interest of installments 2 and 3 is owed again once they fall due.
    assert loan_reads.payoff_amount(loan=loan, as_of=date(2026, 7, 15)) == D("2000.00")
    assert loan_reads.payoff_amount(loan=loan, as_of=date(2026, 9, 1)) == D("2060.00")  # 1,030 + 1,030
    assert chama_balance(shop.chama, A.INTEREST_INCOME) == D("30.00")  # installment 1's, still paid


def test_reversing_a_disbursement_without_repayments_returns_the_loan_to_approved(shop):
    loan = loan_running(shop)
    assert chama_balance(shop.chama, A.CASH) == D("14060.00")  # 17,000 − 2,940

    reversal = reversals.journal_reverse(journal=loan.disbursement_journal, reason="Wrong amount", by=shop.chair.user)

    assert entries(reversal) == {A.LOAN_RECEIVABLE: D("-3000.00"), A.CASH: D("2940.00"), A.FEE_INCOME: D("60.00")}
    loan = reload(loan)
    assert (loan.status, loan.disbursed_date, loan.disbursement_journal) == (Loan.Status.APPROVED, None, None)
    assert set(loan.installments.filter(version=1).values_list("status", flat=True)) == {Installment.Status.CANCELLED}
    assert (chama_balance(shop.chama, A.CASH), chama_balance(shop.chama, A.FEE_INCOME)) == (D("17000.00"), D("0.00"))
    assert loan_reads.outstanding_principal(loan=loan) == D("0.00")

    today_is(date(2026, 6, 5))
    loans.loan_disburse(loan=loan, by=shop.treasurer.user, method="cash", value_date=date(2026, 6, 5))

    loan = reload(loan)
    assert (loan.status, loan.disbursed_date) == (Loan.Status.ACTIVE, date(2026, 6, 5))
    assert [(str(r.due_date), r.principal, r.interest) for r in rows(loan)] == [
        ("2026-07-05", D("1000.00"), D("30.00")),
        ("2026-08-05", D("1000.00"), D("30.00")),
        ("2026-09-05", D("1000.00"), D("30.00")),
    ]
    assert (chama_balance(shop.chama, A.CASH), chama_balance(shop.chama, A.FEE_INCOME)) == (D("14060.00"), D("60.00"))
    assert loan_reads.outstanding_principal(loan=loan) == D("3000.00")
    today_is(date(2026, 7, 5))
    loans.loan_repay(loan=loan, amount="1030", method="cash", by=shop.treasurer.user, value_date=date(2026, 7, 5))
    assert loan_reads.outstanding_principal(loan=loan) == D("2000.00")


@pytest.mark.parametrize(
    ("on", "amount"),
    [
        (date(2026, 6, 10), "500"),  # before anything is due: principal 500
        (date(2026, 7, 1), "30"),  # installment 1's interest only
    ],
)
def test_reversing_a_disbursement_after_a_repayment_is_refused(shop, on, amount):
    loan = loan_running(shop)
    today_is(on)
    loans.loan_repay(loan=loan, amount=amount, method="cash", by=shop.treasurer.user, value_date=on)
    journals = Journal.objects.count()

    with pytest.raises(ValidationError):
        reversals.journal_reverse(journal=loan.disbursement_journal, reason="Wrong amount", by=shop.chair.user)

    assert Journal.objects.count() == journals
    assert not Journal.objects.filter(reversal_of=loan.disbursement_journal).exists()
    loan = reload(loan)
    assert (loan.status, loan.disbursed_date) == (Loan.Status.ACTIVE, DISBURSED)
    assert loan_reads.outstanding_principal(loan=loan) == D("3000.00") - (D("500.00") if amount == "500" else D("0.00"))


@pytest.mark.parametrize(("on", "amount"), [(date(2026, 6, 10), "500"), (date(2026, 7, 1), "30")])
def test_the_refused_disbursement_reversal_says_to_reverse_the_repayments_first(shop, on, amount):
    loan = loan_running(shop)
    today_is(on)
    loans.loan_repay(loan=loan, amount=amount, method="cash", by=shop.treasurer.user, value_date=on)

    with pytest.raises(ValidationError) as refused:
        reversals.journal_reverse(journal=loan.disbursement_journal, reason="Wrong amount", by=shop.chair.user)
    assert refused.value.messages == ["Repayments were made on this loan: reverse them before the disbursement."]


def test_a_disbursement_can_be_reversed_once_its_repayments_are(shop):
    loan = loan_running(shop)
    today_is(date(2026, 6, 10))
    repayment = loans.loan_repay(
        loan=loan, amount="500", method="cash", by=shop.treasurer.user, value_date=date(2026, 6, 10)
    )
    reversals.journal_reverse(journal=repayment, reason="Wrong loan", by=shop.chair.user)
    assert loan_reads.outstanding_principal(loan=loan) == D("3000.00")

    # "Reverse them before the disbursement": done, so the disbursement may now be reversed.
    reversals.journal_reverse(journal=loan.disbursement_journal, reason="Wrong amount", by=shop.chair.user)

    assert reload(loan).status == Loan.Status.APPROVED
    assert chama_balance(shop.chama, A.CASH) == D("17000.00")


# --- guarantors' savings ---------------------------------------------------------------------------


def test_a_guarantors_withdrawal_is_limited_by_the_pledge_until_the_loan_closes(shop):
    product = loan_product(shop.chama, "Guaranteed", guarantors_required=1, guarantee_coverage=D("50"))
    loan = loan_applied(shop, "4000", 2, product=product, guarantors=[(shop.otieno, "2000")])
    loans.guarantee_accept(guarantee=loan.guarantees.get(), by=shop.otieno.user)

    # Savings 5,000, pledged 2,000 (already while the loan is only applied for): 3,000 free.
    with pytest.raises(
        ValidationError, match=r"2,000\.00 of these savings guarantee other members' loans .* at most 3,000\.00 is free"
    ):
        savings.withdrawal_request(membership=shop.otieno, amount="3000.01", by=shop.otieno.user)
    withdrawal = savings.withdrawal_request(membership=shop.otieno, amount="3000", by=shop.otieno.user)
    savings.withdrawal_approve(withdrawal=withdrawal, by=shop.chair.user)
    savings.withdrawal_pay(withdrawal=withdrawal, method="cash", by=shop.treasurer.user)
    assert savings_of(shop.otieno) == D("2000.00")

    approve_twice(shop, loan)
    today_is(DISBURSED)
    loans.loan_disburse(loan=loan, by=shop.treasurer.user, method="cash", value_date=DISBURSED)
    with pytest.raises(ValidationError, match=r"at most 0\.00 is free"):
        savings.withdrawal_request(membership=shop.otieno, amount="0.01", by=shop.otieno.user)

    # Paid off on 15 Jun (nothing due yet): the principal 4,000; the pledge is released.
    today_is(date(2026, 6, 15))
    loans.loan_repay(loan=loan, amount="4000", method="cash", by=shop.treasurer.user, value_date=date(2026, 6, 15))
    assert reload(loan).status == Loan.Status.CLOSED
    withdrawal = savings.withdrawal_request(membership=shop.otieno, amount="2000", by=shop.otieno.user)
    savings.withdrawal_approve(withdrawal=withdrawal, by=shop.chair.user)
    savings.withdrawal_pay(withdrawal=withdrawal, method="cash", by=shop.treasurer.user)
    assert savings_of(shop.otieno) == D("0.00")
