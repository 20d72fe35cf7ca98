"""A backdated repayment never forgives what had fallen due by the day it is recorded.

The loan of every test: 12,000 on "Pesa" (6.25% a month flat, 4 monthly installments, a flat fee
of 700 added to the first installment), disbursed on 20 Sep 2026. Interest 12,000 × 6.25% =
750.00 a month; installment 12,000 / 4 + 750 = 3,750 (principal 3,000 + interest 750), the first
also carrying the fee: due 20 Oct, 20 Nov, 20 Dec and 20 Jan.

Today is 30 Nov 2026: two installments have fallen due. The payoff today is the principal 12,000
+ the fee 700 + two months' interest 1,500 = 14,200. On 15 Oct, before the first installment fell
due, it was 12,000 + 700 = 12,700: a repayment of 12,700 backdated to 15 Oct used to close the
loan and forgive the 1,500 of interest overdue today.
"""

from datetime import date
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from chama.roles import Role
from finance.models import Account, Due, Installment, Journal, Loan
from finance.selectors import loans as loan_reads
from finance.services import dues, loans, savings
from tests.factories import ChamaFactory, backdating_approved, joined, loan_product
from tests.helpers import today_is

A = Account.Purpose
DISBURSED, TODAY, BACK_DATE = date(2026, 9, 20), date(2026, 11, 30), date(2026, 10, 15)

pytestmark = pytest.mark.usefixtures("clock")


def disbursed_loan(penalty=None):
    """The loan of the module, disbursed on 20 Sep (the chama's clock is left on that day)."""
    chama = ChamaFactory(name="Umoja", policy={"loan_approvals_required": 2})
    chair, treasurer, borrower = joined(chama, Role.CHAIRPERSON), joined(chama, Role.TREASURER), joined(chama)
    product = loan_product(
        chama,
        "Pesa",
        interest_rate=D("6.25"),
        min_installments=4,
        max_installments=4,
        fee_kind="flat",
        fee_value=D("700"),
        fee_mode="added",
        **(penalty or {"penalty_kind": "flat", "penalty_value": D("0")}),
    )
    today_is(DISBURSED)
    savings.savings_deposit(membership=borrower, amount="5000", method="cash", by=treasurer.user)
    savings.savings_deposit(membership=joined(chama), amount="10000", method="cash", by=treasurer.user)
    loan = loans.loan_apply(membership=borrower, product=product, principal="12000", installments=4, by=borrower.user)
    loans.loan_approve(loan=loan, by=chair.user)
    loans.loan_approve(loan=loan, by=treasurer.user)
    loans.loan_disburse(loan=loan, by=treasurer.user, method="cash")
    return Loan.objects.get(pk=loan.pk), treasurer.user


def owed(loan):
    return [
        (row.n, row.owed("fee"), row.owed("interest"), row.owed("principal"), row.owed("penalty"))
        for row in loan_reads.current_installments(loan=loan)
    ]


def test_the_schedule_is_as_worked_out_by_hand(db):
    loan, _ = disbursed_loan()

    assert [
        (str(row.due_date), row.fee, row.interest, row.principal) for row in loan_reads.current_installments(loan=loan)
    ] == [
        ("2026-10-20", D("700.00"), D("750.00"), D("3000.00")),
        ("2026-11-20", D("0.00"), D("750.00"), D("3000.00")),
        ("2026-12-20", D("0.00"), D("750.00"), D("3000.00")),
        ("2027-01-20", D("0.00"), D("750.00"), D("3000.00")),
    ]
    assert loan_reads.payoff_amount(loan=loan, as_of=BACK_DATE) == D("12700.00")
    assert loan_reads.payoff_amount(loan=loan, as_of=TODAY) == D("14200.00")


def test_the_payoff_of_the_back_date_leaves_the_interest_due_today_owing(db):
    loan, treasurer = disbursed_loan()
    today_is(TODAY)
    backdating_approved(loan.chama, BACK_DATE)  # dated 46 days back: the chairperson and a second officer agreed

    journal = loans.loan_repay(loan=loan, amount="12700", method="cash", by=treasurer, value_date=BACK_DATE)

    loan.refresh_from_db()
    # Installments 1 and 2 are due today: fee 700 + interest 750 + principal 3,000, then 750 + 3,000 = 8,200;
    # the other 4,500 pays principal not yet due, oldest first: 3,000 of installment 3 and 1,500 of installment 4.
    assert {entry.account.purpose: entry.amount for entry in journal.entries.select_related("account")} == {
        A.CASH: D("12700.00"),
        A.FEE_INCOME: D("-700.00"),
        A.INTEREST_INCOME: D("-1500.00"),
        A.LOAN_RECEIVABLE: D("-10500.00"),
    }
    assert journal.value_date == BACK_DATE
    assert loan.status == Loan.Status.ACTIVE
    # 14,200 − 12,700 = 1,500 still owed today: installment 4's last 1,500 of principal.
    assert loan_reads.payoff_amount(loan=loan) == D("1500.00")
    assert loan_reads.outstanding_principal(loan=loan) == D("1500.00")
    assert owed(loan) == [
        (1, 0, 0, 0, 0),
        (2, 0, 0, 0, 0),
        (3, 0, D("750.00"), 0, 0),
        (4, 0, D("750.00"), D("1500.00"), 0),
    ]
    assert [row.interest_forgiven for row in loan_reads.current_installments(loan=loan)] == [0, 0, 0, 0]


def test_more_than_todays_payoff_is_refused_with_it_and_todays_payoff_closes_the_loan(db):
    loan, treasurer = disbursed_loan()
    today_is(TODAY)
    backdating_approved(loan.chama, BACK_DATE)

    with pytest.raises(ValidationError) as refused:
        loans.loan_repay(loan=loan, amount="14200.01", method="cash", by=treasurer, value_date=BACK_DATE)
    assert refused.value.message_dict == {"amount": ["The payoff on 30 Nov 2026 is 14,200.00; pay at most that."]}

    loans.loan_repay(loan=loan, amount="14200", method="cash", by=treasurer, value_date=BACK_DATE)

    loan.refresh_from_db()
    assert (loan.status, loan.closed_date) == (Loan.Status.CLOSED, BACK_DATE)
    # Only the interest of installments 3 and 4, not due today, is forgiven.
    assert [row.interest_forgiven for row in loan_reads.current_installments(loan=loan)] == [
        0,
        0,
        D("750.00"),
        D("750.00"),
    ]


def test_a_penalty_charged_before_a_backdated_repayment_stays_owed(db):
    loan, treasurer = disbursed_loan(
        penalty={"penalty_kind": "flat", "penalty_value": D("100"), "penalty_grace_days": 3}
    )
    today_is(TODAY)
    backdating_approved(loan.chama, BACK_DATE)
    # The arrears job today: installment 1 is 41 days late and installment 2 ten days, both past the
    # 3 days' grace: 100 each.
    loans.update_arrears(chama=loan.chama)
    assert loan_reads.payoff_amount(loan=loan) == D("14400.00")

    loans.loan_repay(loan=loan, amount="14200", method="cash", by=treasurer, value_date=BACK_DATE)

    loan.refresh_from_db()
    assert loan.status == Loan.Status.ACTIVE
    assert loan_reads.payoff_amount(loan=loan) == D(
        "200.00"
    )  # the two penalties were paid first; 200 of principal is left


def test_a_repayment_before_the_disbursement_is_refused(db):
    loan, treasurer = disbursed_loan()
    today_is(TODAY)
    backdating_approved(loan.chama, date(2026, 9, 1))

    with pytest.raises(ValidationError) as refused:
        loans.loan_repay(loan=loan, amount="1000", method="cash", by=treasurer, value_date=date(2026, 9, 19))

    assert refused.value.message_dict == {
        "value_date": [f"The value date 2026-09-19 is before loan #{loan.pk} was disbursed (2026-09-20)."]
    }
    assert not Journal.objects.filter(loan=loan, kind=Journal.Kind.LOAN_REPAYMENT).exists()


def test_a_repayment_dated_in_2027_is_refused_and_marks_nothing_overdue(db, api_as):
    loan, treasurer = disbursed_loan()
    today_is(TODAY)

    response = api_as(treasurer).post(
        f"/api/v1/chamas/{loan.chama_id}/loans/{loan.pk}/repay/",
        {"amount": "100.00", "method": "cash", "value_date": "2027-02-01"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "value_date": [
            "The value date 2027-02-01 is in the future: today is 2026-11-30 in Umoja's time zone (Africa/Nairobi)."
        ]
    }
    assert (
        list(loan_reads.current_installments(loan=loan).values_list("status", flat=True))
        == [Installment.Status.PENDING] * 4
    )


def test_update_loan_arrears_on_a_day_still_to_come_is_refused(db):
    loan, _ = disbursed_loan()
    today_is(TODAY)

    with pytest.raises(ValidationError) as refused:
        loans.update_arrears(as_of=date(2026, 12, 21), chama=loan.chama)

    assert refused.value.message_dict == {
        "as_of": ["2026-12-21 is in the future: today is 2026-11-30 in Umoja's time zone (Africa/Nairobi)."]
    }
    assert not Installment.objects.filter(loan=loan, status=Installment.Status.OVERDUE).exists()


def test_a_late_fine_is_not_undone_by_a_payment_backdated_to_before_the_due_was_late(db):
    chama = ChamaFactory(
        name="Umoja",
        policy={
            "contribution_amount": D("1000"),
            "contribution_due_day": 5,
            "grace_days": 3,
            "late_fine_amount": D("100"),
        },
    )
    treasurer, wanjiku = joined(chama, Role.TREASURER), joined(chama)
    dues.contribution_plan_from_policy(chama, start_date=date(2026, 10, 1))
    dues.generate_dues(period=(2026, 10), chama=chama)  # due 5 Oct, late after 8 Oct
    today_is(date(2026, 10, 9))
    dues.apply_penalties(chama=chama)  # 100 for each of the two members

    # On 20 Oct the treasurer records 1,000 that Wanjiku says she paid on 4 Oct.
    today_is(date(2026, 10, 20))
    dues.payment_record(
        membership=wanjiku, amount="1000", method="cash", by=treasurer.user, value_date=date(2026, 10, 4)
    )

    contribution, fine = Due.objects.filter(membership=wanjiku).order_by("due_date")
    assert (contribution.kind, contribution.status, contribution.paid_amount) == (
        Due.Kind.CONTRIBUTION,
        Due.Status.PAID,
        D("1000.00"),
    )
    assert (fine.kind, fine.status in Due.OPEN_STATUSES, fine.outstanding) == (Due.Kind.FINE, True, D("100.00"))
    assert Account.objects.get(chama=chama, purpose=A.FINE_INCOME).normal_balance == D("200.00")
    # Only a waiver forgives it.
    dues.waiver_request(due=fine, reason="She paid on time", by=treasurer.user)
    fine.refresh_from_db()
    assert fine.status == Due.Status.WAIVED
