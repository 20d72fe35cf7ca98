"""The loans API as the mobile app and the officers' tools use it: products and quotes,
eligibility, applications with guarantors, the guarantor's inbox, decisions, disbursement,
repayments with an Idempotency-Key, write-off, rescheduling, recovery, statements and the
portfolio. Amounts are worked out by hand in the comments.

The chama: 2 approvals, 90 days of membership, 3 × savings, one loan at a time, default after 90
days. Savings: Wanjiku 10,000, Otieno 5,000, Achieng 2,000. Products, both 1% a month flat,
monthly, 1 to 12 installments, 1,000 to 50,000, a 2% fee deducted at disbursement:
- "Biashara": 1 guarantor covering 50%, 5% late penalty after 3 days;
- "Dharura": no guarantors, no penalty.
3,000 over 3 months: interest 3,000 × 1% = 30.00 a month; installment 1,000 + 30 = 1,030.
"""

from datetime import date
from decimal import Decimal as D

import pytest

from finance.models import Account, Installment, Journal, Loan, LoanProduct
from finance.periods import add_months
from finance.selectors import loans as loan_reads
from finance.services import loans
from groups.models import Membership, Policy
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
from tests.helpers import results, today_is

# Money here is recorded on the day it is dated: each step moves the chama's clock to its day.
pytestmark = pytest.mark.usefixtures("clock")

A = Account.Purpose


@pytest.fixture
def shop(db):
    s = loan_shop()
    s.base = f"/api/v1/chamas/{s.chama.pk}"
    s.biashara = loan_product(s.chama, "Biashara", guarantors_required=1, guarantee_coverage=D("50"))
    s.dharura = loan_product(s.chama, "Dharura", penalty_value=D("0"))
    s.product = s.dharura  # what loans are taken on unless a test names a product
    loan_product(s.chama, "Old", is_active=False)
    return s


def chama_balance(chama, purpose):
    account = Account.objects.filter(chama=chama, purpose=purpose, membership__isnull=True).first()
    return account.normal_balance if account else D("0.00")


def schedule_of(body):
    return [(row["n"], row["due_date"], row["principal"], row["interest"], row["status"]) for row in body["schedule"]]


# --- products, quotes, eligibility ---------------------------------------------------------------


def test_members_list_the_active_products_and_get_a_quote(shop, api_as):
    client = api_as(shop.wanjiku.user)

    listed = results(client.get(f"{shop.base}/loan-products/"))
    assert [(p["name"], p["interest_method"], p["min_amount"], p["max_amount"]) for p in listed] == [
        ("Biashara", "flat", "1000.00", "50000.00"),
        ("Dharura", "flat", "1000.00", "50000.00"),
    ]  # "Old" is inactive

    quote = client.post(
        f"{shop.base}/loan-products/{shop.dharura.pk}/quote/",
        {"principal": "3000.00", "installments": 3, "start": "2026-06-01"},
        format="json",
    )
    assert quote.status_code == 200, quote.content
    assert quote.json() == [
        {
            "n": 1,
            "due_date": "2026-07-01",
            "principal": "1000.00",
            "interest": "30.00",
            "total": "1030.00",
            "balance": "2000.00",
        },
        {
            "n": 2,
            "due_date": "2026-08-01",
            "principal": "1000.00",
            "interest": "30.00",
            "total": "1030.00",
            "balance": "1000.00",
        },
        {
            "n": 3,
            "due_date": "2026-09-01",
            "principal": "1000.00",
            "interest": "30.00",
            "total": "1030.00",
            "balance": "0.00",
        },
    ]
    assert not Loan.objects.exists()  # a quote saves nothing


def test_a_quote_outside_the_products_limits_is_refused(shop, api_as):
    client = api_as(shop.wanjiku.user)
    url = f"{shop.base}/loan-products/{shop.dharura.pk}/quote/"

    too_long = client.post(url, {"principal": "3000.00", "installments": 13}, format="json")
    too_small = client.post(url, {"principal": "999.99", "installments": 3}, format="json")
    number = client.post(url, {"principal": 3000, "installments": 3}, format="json")
    inactive = client.post(
        f"{shop.base}/loan-products/{LoanProduct.objects.get(name='Old').pk}/quote/",
        {"principal": "3000.00", "installments": 3},
        format="json",
    )

    assert too_long.status_code == 400 and too_long.json() == {"installments": ["Dharura runs 1 to 12 installments."]}
    assert too_small.status_code == 400 and too_small.json() == {"principal": ["Dharura lends 1,000.00 to 50,000.00."]}
    assert number.status_code == 400 and "principal" in number.json()
    assert inactive.status_code == 404


def test_eligibility_shows_each_rule_and_the_most_the_member_may_borrow(shop, api_as):
    body = api_as(shop.wanjiku.user).get(f"{shop.base}/loan-products/{shop.biashara.pk}/eligibility/").json()

    # Savings 10,000 × 3 = 30,000, under Biashara's 50,000.
    assert (body["eligible"], body["max_amount"]) == (True, "30000.00")
    assert [(rule["name"], rule["passed"]) for rule in body["rules"]] == [
        ("membership_age", True),
        ("savings", True),
        ("attendance", True),
        ("no_arrears", True),
        ("concurrent_loans", True),
        ("guarantors", True),
    ]
    assert body["rules"][-1]["reason"].startswith("Needs 1 guarantor(s) pledging 50")

    newcomer = MembershipFactory(chama=shop.chama, user=UserFactory())  # joined today, no savings
    body = api_as(newcomer.user).get(f"{shop.base}/loan-products/{shop.dharura.pk}/eligibility/").json()
    assert (body["eligible"], body["max_amount"]) == (False, "0.00")
    assert {rule["name"]: rule["reason"] for rule in body["rules"] if not rule["passed"]} == {
        "membership_age": "Member for 0 days; the chama asks for 90.",
        "savings": "Savings 0.00 × 3.0 = 0.00; the product starts at 1,000.00.",
    }


# --- applications ----------------------------------------------------------------------------------


def test_a_member_applies_with_a_guarantor(shop, api_as):
    response = api_as(shop.wanjiku.user).post(
        f"{shop.base}/loans/",
        {
            "product": shop.biashara.pk,
            "principal": "4000.00",
            "installments": 4,
            "purpose": "Stock for the kiosk",
            "guarantors": [{"membership": shop.otieno.pk, "amount": "2000.00"}],
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["membership"], body["product_name"], body["principal"], body["fee"], body["status"]) == (
        shop.wanjiku.pk,
        "Biashara",
        "4000.00",
        "80.00",
        "applied",
    )  # fee 2% of 4,000
    assert (body["purpose"], body["outstanding_principal"], body["schedule"]) == ("Stock for the kiosk", "0.00", [])
    assert [(g["guarantor"], g["amount"], g["status"]) for g in body["guarantees"]] == [
        (shop.otieno.pk, "2000.00", "requested")
    ]
    assert Loan.objects.get(pk=body["id"]).applied_by == shop.wanjiku.user


def test_an_officer_applies_for_a_member(shop, api_as):
    response = api_as(shop.treasurer.user).post(
        f"{shop.base}/loans/",
        {
            "membership": shop.achieng.pk,
            "product": shop.dharura.pk,
            "principal": "1500.00",
            "installments": 3,
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    assert (response.json()["membership"], response.json()["principal"]) == (shop.achieng.pk, "1500.00")
    assert Loan.objects.get(pk=response.json()["id"]).applied_by == shop.treasurer.user


def test_applications_that_break_the_rules_are_refused(shop, api_as):
    client = api_as(shop.wanjiku.user)
    url = f"{shop.base}/loans/"
    outsider = joined(ChamaFactory(name="Tujenge"))
    inactive = LoanProduct.objects.get(name="Old")

    for_someone_else = client.post(
        url,
        {"membership": shop.otieno.pk, "product": shop.dharura.pk, "principal": "1000.00", "installments": 1},
        format="json",
    )
    too_much = client.post(url, {"product": shop.dharura.pk, "principal": "30000.01", "installments": 3}, format="json")
    inactive_product = client.post(
        url, {"product": inactive.pk, "principal": "3000.00", "installments": 3}, format="json"
    )
    outside_guarantor = client.post(
        url,
        {
            "product": shop.biashara.pk,
            "principal": "3000.00",
            "installments": 3,
            "guarantors": [{"membership": outsider.pk, "amount": "1500.00"}],
        },
        format="json",
    )

    assert for_someone_else.status_code == 403
    assert too_much.status_code == 400 and "may borrow now is 30,000.00" in too_much.json()["principal"][0]
    assert inactive_product.status_code == 400 and "product" in inactive_product.json()
    assert outside_guarantor.status_code == 400 and "guarantors" in outside_guarantor.json()
    assert not Loan.objects.exists()


def test_a_member_sees_only_their_own_loans(shop, api_as):
    mine = loan_running(shop)
    theirs = loan_running(shop, who=shop.otieno, principal="1000", installments=1)
    client = api_as(shop.wanjiku.user)

    assert [loan["id"] for loan in results(client.get(f"{shop.base}/loans/"))] == [mine.pk]
    assert client.get(f"{shop.base}/loans/{mine.pk}/").status_code == 200
    assert client.get(f"{shop.base}/loans/{theirs.pk}/").status_code == 404
    assert client.get(f"{shop.base}/loans/{theirs.pk}/statement/").status_code == 404
    officer_view = results(api_as(shop.treasurer.user).get(f"{shop.base}/loans/"))
    assert sorted(loan["id"] for loan in officer_view) == sorted([mine.pk, theirs.pk])


# --- guarantees ------------------------------------------------------------------------------------


def test_guarantors_see_their_requests_and_accept_or_decline(shop, api_as):
    loan = loan_applied(
        shop,
        principal="4000",
        installments=4,
        product=shop.biashara,
        guarantors=[(shop.otieno, "2000"), (shop.achieng, "1000")],
    )
    otieno_asked, achieng_asked = (
        loan.guarantees.get(guarantor=shop.otieno),
        loan.guarantees.get(guarantor=shop.achieng),
    )
    otieno, achieng = api_as(shop.otieno.user), api_as(shop.achieng.user)

    inbox = results(otieno.get(f"{shop.base}/guarantees/"))
    assert [(g["id"], g["borrower_name"], g["principal"], g["amount"], g["status"]) for g in inbox] == [
        (otieno_asked.pk, shop.wanjiku.user.get_full_name(), "4000.00", "2000.00", "requested")
    ]
    assert results(api_as(shop.wanjiku.user).get(f"{shop.base}/guarantees/")) == []
    assert achieng.post(f"{shop.base}/guarantees/{otieno_asked.pk}/accept/").status_code == 404  # not hers

    accepted = otieno.post(f"{shop.base}/guarantees/{otieno_asked.pk}/accept/")
    declined = achieng.post(f"{shop.base}/guarantees/{achieng_asked.pk}/decline/")
    again = otieno.post(f"{shop.base}/guarantees/{otieno_asked.pk}/accept/")

    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    assert again.status_code == 400 and "no longer open" in str(again.json())
    assert loan_reads.pledged_savings(membership=shop.otieno) == D("2000.00")
    assert [g["id"] for g in results(otieno.get(f"{shop.base}/guarantees/?status=accepted"))] == [otieno_asked.pk]


def test_a_guarantor_cannot_pledge_more_than_their_free_savings(shop, api_as):
    loan = loan_applied(
        shop, principal="12000", installments=4, product=shop.biashara, guarantors=[(shop.otieno, "6000")]
    )
    response = api_as(shop.otieno.user).post(f"{shop.base}/guarantees/{loan.guarantees.get().pk}/accept/")
    assert response.status_code == 400
    assert response.json() == {"amount": ["Your free savings are 5,000.00; you cannot pledge 6,000.00."]}


# --- decisions, disbursement, repayment ------------------------------------------------------------


def test_officers_approve_disburse_and_take_a_repayment_once_per_idempotency_key(shop, api_as):
    loan = loan_applied(shop)
    url = f"{shop.base}/loans/{loan.pk}"
    chair, treasurer = api_as(shop.chair.user), api_as(shop.treasurer.user)

    first = chair.post(f"{url}/approve/", {"comment": "Good record"}, format="json")
    assert first.status_code == 200, first.content
    assert first.json()["status"] == "applied"  # one of two
    assert [(a["officer"], a["decision"], a["comment"]) for a in first.json()["approvals"]] == [
        (shop.chair.user.get_full_name(), "approve", "Good record")
    ]
    twice = chair.post(f"{url}/approve/", {}, format="json")
    assert twice.status_code == 403 and "already signed" in str(twice.json())  # not twice
    assert treasurer.post(f"{url}/approve/", {}, format="json").json()["status"] == "approved"

    today_is(date(2026, 6, 1))
    disbursed = treasurer.post(f"{url}/disburse/", {"method": "cash", "value_date": "2026-06-01"}, format="json")
    assert disbursed.status_code == 200, disbursed.content
    body = disbursed.json()
    assert (body["status"], body["disbursed_date"], body["outstanding_principal"]) == (
        "active",
        "2026-06-01",
        "3000.00",
    )
    assert schedule_of(body) == [
        (1, "2026-07-01", "1000.00", "30.00", "pending"),
        (2, "2026-08-01", "1000.00", "30.00", "pending"),
        (3, "2026-09-01", "1000.00", "30.00", "pending"),
    ]
    # Fee 2% of 3,000 = 60 deducted: 17,000 − 2,940 in cash.
    assert chama_balance(shop.chama, A.CASH) == D("14060.00")

    def repay(amount, key):
        today_is(date(2026, 7, 1))
        return treasurer.post(
            f"{url}/repay/",
            {"amount": amount, "method": "cash", "value_date": "2026-07-01"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=key,
        )

    paid = repay("1030.00", "receipt-0001")
    retry = repay("1030.00", "receipt-0001")
    other_amount = repay("500.00", "receipt-0001")

    assert paid.status_code == 201, paid.content
    assert (paid.json()["kind"], paid.json()["amount"]) == ("loan_repayment", "1030.00")
    assert retry.status_code == 200 and retry.json() == paid.json()
    assert other_amount.status_code == 400 and "already used" in str(other_amount.json())
    assert Journal.objects.filter(loan=loan, kind=Journal.Kind.LOAN_REPAYMENT).count() == 1
    body = treasurer.get(url + "/").json()
    # Installment 1 on its day: interest 30 + principal 1,000; 2,000 left.
    assert body["outstanding_principal"] == "2000.00"
    assert (body["schedule"][0]["status"], body["schedule"][0]["paid"], body["schedule"][0]["outstanding"]) == (
        "paid",
        "1030.00",
        "0.00",
    )
    # On 1 Jul installments 2 and 3 are not due yet: the payoff is their principal, 2,000.
    assert body["payoff_today"] == "2000.00"
    assert chama_balance(shop.chama, A.CASH) == D("15090.00")  # 14,060 + 1,030
    assert chama_balance(shop.chama, A.INTEREST_INCOME) == D("30.00")

    second = repay("500.00", "receipt-0002")
    assert second.status_code == 201
    assert treasurer.get(url + "/").json()["outstanding_principal"] == "1500.00"  # to installment 2's principal
    assert Journal.objects.filter(loan=loan, kind=Journal.Kind.LOAN_REPAYMENT).count() == 2


def test_an_idempotency_key_is_not_replayed_onto_another_loan(shop, api_as):
    Policy.objects.filter(chama=shop.chama).update(loan_max_concurrent=2)
    wanjiku = Membership.objects.get(pk=shop.wanjiku.pk)  # with the policy as it is now
    first = loan_running(shop, who=wanjiku)
    second = loan_running(shop, who=wanjiku, principal="1000", installments=1)
    treasurer = api_as(shop.treasurer.user)

    def repay(loan, key):
        today_is(date(2026, 6, 10))
        return treasurer.post(
            f"{shop.base}/loans/{loan.pk}/repay/",
            {"amount": "500.00", "method": "cash", "value_date": "2026-06-10"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=key,
        )

    assert repay(first, "sheet-3-row-7").status_code == 201
    assert loan_reads.outstanding_principal(loan=first) == D("2500.00")  # 500 to principal
    # The same key sent for her other loan is another posting, not a retry of the first one:
    # answering it with the first loan's journal would report a repayment that never reached this loan.
    reused = repay(second, "sheet-3-row-7")

    assert reused.status_code == 400, reused.json()
    assert loan_reads.outstanding_principal(loan=second) == D("1000.00")
    assert Journal.objects.filter(kind=Journal.Kind.LOAN_REPAYMENT).count() == 1


def test_a_repayment_above_the_payoff_is_refused_with_the_payoff(shop, api_as):
    loan = loan_running(shop)
    today_is(date(2026, 6, 15))
    response = api_as(shop.treasurer.user).post(
        f"{shop.base}/loans/{loan.pk}/repay/",
        {"amount": "3000.01", "method": "cash", "value_date": "2026-06-15"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"amount": ["The payoff on 15 Jun 2026 is 3,000.00; pay at most that."]}


def test_reject_through_the_api_releases_the_guarantees(shop, api_as):
    loan = loan_applied(
        shop, principal="4000", installments=4, product=shop.biashara, guarantors=[(shop.otieno, "2000")]
    )
    loans.guarantee_accept(guarantee=loan.guarantees.get(), by=shop.otieno.user)

    response = api_as(shop.chair.user).post(f"{shop.base}/loans/{loan.pk}/reject/", {"comment": "No"}, format="json")

    assert response.status_code == 200 and response.json()["status"] == "rejected"
    assert [g["status"] for g in response.json()["guarantees"]] == ["released"]


@pytest.mark.parametrize(
    "action",
    [
        "approve",
        "reject",
        "disburse",
        "repay",
        "write-off",
        "approve-write-off",
        "reject-write-off",
        "reschedule",
        "approve-reschedule",
        "reject-reschedule",
        "recover-from-guarantors",
        "record-recovery",
    ],
)
def test_members_get_403_on_officer_actions(shop, api_as, action):
    loan = loan_running(shop)
    body = {"amount": "100.00", "method": "cash", "reason": "x", "installments": 2}

    response = api_as(shop.wanjiku.user).post(f"{shop.base}/loans/{loan.pk}/{action}/", body, format="json")

    assert response.status_code == 403
    assert Journal.objects.filter(loan=loan).count() == 1  # the disbursement only


# --- write-off, recovery, reschedule -------------------------------------------------------------


def test_write_off_by_two_officers_and_recoveries_through_the_api(shop, api_as):
    loan = loan_running(shop)
    url = f"{shop.base}/loans/{loan.pk}"
    chair, treasurer = api_as(shop.chair.user), api_as(shop.treasurer.user)

    asked = treasurer.post(f"{url}/write-off/", {"reason": "Moved away, unreachable"}, format="json")
    assert asked.status_code == 200 and asked.json()["status"] == "active"
    same_officer = treasurer.post(f"{url}/approve-write-off/")
    assert same_officer.status_code == 403 and "second officer" in str(same_officer.json())

    written_off = chair.post(f"{url}/approve-write-off/")
    assert written_off.status_code == 200, written_off.content
    assert (written_off.json()["status"], written_off.json()["outstanding_principal"]) == ("written_off", "0.00")
    assert chama_balance(shop.chama, A.LOAN_LOSS) == D("3000.00")  # Dr loan losses 3,000, Cr the loan 3,000

    recovered = treasurer.post(f"{url}/record-recovery/", {"amount": "1000.00", "method": "cash"}, format="json")
    too_much = treasurer.post(f"{url}/record-recovery/", {"amount": "2000.01", "method": "cash"}, format="json")
    assert recovered.status_code == 200
    assert too_much.status_code == 400
    assert too_much.json() == {"amount": ["At most 2,000.00 of this loan is still to recover."]}  # 3,000 − 1,000
    assert chama_balance(shop.chama, A.RECOVERIES_INCOME) == D("1000.00")


def test_reschedule_through_the_api(shop, api_as):
    today = shop.chama.today()
    loan = loan_running(shop, on=today)  # nothing due yet: nothing to carry

    url = f"{shop.base}/loans/{loan.pk}"
    chair, treasurer = api_as(shop.chair.user), api_as(shop.treasurer.user)

    asked = chair.post(f"{url}/reschedule/", {"installments": 6, "interest_rate": "2.000"}, format="json")
    assert asked.status_code == 200, asked.content
    # Only asked for: the loan keeps its schedule until a second officer approves.
    assert (asked.json()["interest_rate"], asked.json()["installments_count"]) == ("1.000", 3)
    same_officer = chair.post(f"{url}/approve-reschedule/")
    assert same_officer.status_code == 403 and "second officer" in str(same_officer.json())

    response = treasurer.post(f"{url}/approve-reschedule/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["interest_rate"], body["installments_count"], body["status"]) == ("2.000", 6, "active")
    # 3,000 over 6 at 2% flat: interest 60.00 a month, installment 500 + 60 = 560.
    assert schedule_of(body) == [
        (n, add_months(today, n).isoformat(), "500.00", "60.00", "pending") for n in range(1, 7)
    ]
    assert set(loan.installments.filter(version=1).values_list("status", flat=True)) == {Installment.Status.RESCHEDULED}
    assert treasurer.post(f"{url}/approve-reschedule/").status_code == 400  # nothing is asked for any more


def test_a_reschedule_rejected_through_the_api_leaves_the_loan_as_it_was(shop, api_as):
    loan = loan_running(shop, on=shop.chama.today())
    url = f"{shop.base}/loans/{loan.pk}"
    treasurer, secretary = api_as(shop.treasurer.user), api_as(shop.secretary.user)

    assert treasurer.post(f"{url}/reschedule/", {"installments": 6}, format="json").status_code == 200
    rejected = secretary.post(f"{url}/reject-reschedule/")

    assert rejected.status_code == 200, rejected.content
    assert (rejected.json()["installments_count"], len(rejected.json()["schedule"])) == (3, 3)
    assert secretary.post(f"{url}/approve-reschedule/").status_code == 400  # the request is gone
    assert Loan.objects.get(pk=loan.pk).schedule_version == 1


def test_recover_from_guarantors_through_the_api(shop, api_as):
    loan = loan_running(
        shop,
        principal="4000",
        installments=1,
        on=date(2026, 3, 1),
        product=shop.biashara,
        guarantors=[(shop.otieno, "2000")],
    )
    url = f"{shop.base}/loans/{loan.pk}/recover-from-guarantors/"
    treasurer = api_as(shop.treasurer.user)

    not_yet = treasurer.post(url)
    assert not_yet.status_code == 400 and "Only a loan in default" in str(not_yet.json())
    today_is(date(2026, 7, 1))
    loans.update_arrears(as_of=date(2026, 7, 1), chama=shop.chama)  # due 1 Apr: 91 days late, in default

    response = treasurer.post(url)

    assert response.status_code == 200, response.content
    # min(pledge 2,000, savings 5,000, outstanding 4,000) = 2,000.
    assert (response.json()["status"], response.json()["outstanding_principal"]) == ("defaulted", "2000.00")
    assert [(g["status"]) for g in response.json()["guarantees"]] == ["called"]
    assert loan_reads.savings_total(membership=shop.otieno) == D("3000.00")


# --- statement and portfolio -----------------------------------------------------------------------


def test_the_loan_statement_lists_its_journals(shop, api_as):
    loan = loan_running(shop)
    other = loan_running(shop, who=shop.otieno, principal="1000", installments=1)
    treasurer = api_as(shop.treasurer.user)
    today_is(date(2026, 7, 1))
    repaid = treasurer.post(
        f"{shop.base}/loans/{loan.pk}/repay/",
        {"amount": "1030.00", "method": "cash", "value_date": "2026-07-01"},
        format="json",
    )
    assert repaid.status_code == 201
    repayment = Journal.objects.get(loan=loan, kind=Journal.Kind.LOAN_REPAYMENT)
    reversal = treasurer.post(f"{shop.base}/journals/{repayment.pk}/reverse/", {"reason": "Wrong loan"}, format="json")
    assert reversal.status_code == 201, reversal.content

    statement = api_as(shop.wanjiku.user).get(f"{shop.base}/loans/{loan.pk}/statement/")

    assert statement.status_code == 200
    body = statement.json()
    assert [(j["kind"], j["amount"]) for j in body] == [
        ("loan_disbursement", "3000.00"),
        ("loan_repayment", "1030.00"),
        ("reversal", "1030.00"),
    ]
    assert body[1]["reversed_by"] == body[2]["id"] and body[2]["reversal_of"] == body[1]["id"]
    # The loan's own account as the member reads it: +3,000 lent, −1,000 repaid, +1,000 back by the reversal.
    assert [[line["amount"] for line in j["lines"]] for j in body] == [["3000.00"], ["-1000.00"], ["1000.00"]]
    assert other.disbursement_journal_id not in [j["id"] for j in body]


def portfolio_of_three(s):
    """On 1 Oct 2026:
    - Wanjiku: 3,000 over 3 disbursed 27 Jul, 500 paid on 1 Aug (principal, nothing due yet) →
      2,500 outstanding; installment 1 due 27 Aug → 4 + 30 + 1 = 35 days late (31–60);
    - Otieno: 2,000 over 2 disbursed 18 Jun; installment 1 due 18 Jul → 13 + 31 + 30 + 1 = 75 days (61–90);
    - Achieng: 1,000 over 1 disbursed 23 May; due 23 Jun → 7 + 31 + 31 + 30 + 1 = 100 days (91–180, in default).
    Outstanding 2,500 + 2,000 + 1,000 = 5,500.
    PAR30 (> 30 days): all three, 5,500 = 100.00%; PAR60: 2,000 + 1,000 = 3,000 = 54.5454…% → 54.55%;
    PAR90: 1,000 = 18.1818…% → 18.18%."""
    wanjiku = loan_running(s, principal="3000", installments=3, on=date(2026, 7, 27))
    today_is(date(2026, 8, 1))
    loans.loan_repay(loan=wanjiku, amount="500", method="cash", by=s.treasurer.user, value_date=date(2026, 8, 1))
    otieno = loan_running(s, who=s.otieno, principal="2000", installments=2, on=date(2026, 6, 18))
    achieng = loan_running(s, who=s.achieng, principal="1000", installments=1, on=date(2026, 5, 23))
    today_is(date(2026, 10, 1))
    loans.update_arrears(as_of=date(2026, 10, 1), chama=s.chama)
    return wanjiku, otieno, achieng


def test_the_portfolio_shows_buckets_and_par(shop, api_as):
    wanjiku, otieno, achieng = portfolio_of_three(shop)
    assert [Loan.objects.get(pk=loan.pk).days_in_arrears for loan in (wanjiku, otieno, achieng)] == [35, 75, 100]

    response = api_as(shop.treasurer.user).get(f"{shop.base}/loan-portfolio/")

    assert response.status_code == 200
    assert response.json() == {
        "loans": 3,
        "outstanding_principal": "5500.00",
        "buckets": {
            "current": "0.00",
            "1-30": "0.00",
            "31-60": "2500.00",
            "61-90": "2000.00",
            "91-180": "1000.00",
            "180+": "0.00",
        },
        "par30": "5500.00",
        "par30_percent": "100.00",
        "par60": "3000.00",
        "par60_percent": "54.55",
        "par90": "1000.00",
        "par90_percent": "18.18",
    }
    assert api_as(shop.wanjiku.user).get(f"{shop.base}/loan-portfolio/").status_code == 403


def test_a_reschedule_may_ask_for_any_rate_a_loan_can_hold(shop, api_as):
    loan = loan_running(shop, on=shop.chama.today())

    asked = api_as(shop.chair.user).post(
        f"{shop.base}/loans/{loan.pk}/reschedule/", {"installments": 6, "interest_rate": "1010.000"}, format="json"
    )

    assert asked.status_code == 200, asked.content
    loan.refresh_from_db()
    assert loan.reschedule_interest_rate == D("1010.000")
