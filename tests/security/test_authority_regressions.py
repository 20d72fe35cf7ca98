"""Each way an official could move money that the authority module now closes, through the API
and the admin: the role matrix, self-dealing, second signatures that cannot be split or named in
someone else's request, and picks from another chama in the admin forms."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils.html import escape

from chama.models import Notification
from chama.roles import Role
from finance.models import ContributionPlan, Due, InvestmentMovement, Journal, Loan, SavingsType, Waiver
from finance.services import dues, loans, savings
from tests.factories import ChamaFactory, joined, loan_product

POLICY = {
    "contribution_amount": D("1000"),
    "second_approval_threshold": D("20000"),
    "loan_min_membership_days": 0,
    "loan_approvals_required": 1,
}


@pytest.fixture
def umoja(db):
    chama = ChamaFactory(name="Umoja", policy=dict(POLICY))
    officers = {role: joined(chama, role) for role in (Role.CHAIRPERSON, Role.TREASURER, Role.SECRETARY)}
    return chama, officers, joined(chama)


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_the_secretary_moves_no_money_through_the_api(umoja, api_as):
    chama, officers, john = umoja
    client = api_as(officers[Role.SECRETARY].user)
    base = f"/api/v1/chamas/{chama.pk}"
    due = Due.objects.create(
        chama=chama,
        membership=officers[Role.SECRETARY],
        kind=Due.Kind.FINE,
        description="Late",
        due_date=date(2026, 11, 1),
        late_after=date(2026, 11, 1),
        amount=D("200"),
    )

    answers = [
        client.post(f"{base}/payments/", {"membership": john.pk, "amount": "500", "method": "cash"}, format="json"),
        client.post(f"{base}/deposits/", {"membership": john.pk, "amount": "500", "method": "cash"}, format="json"),
        client.post(f"{base}/expenses/", {"category": "other", "amount": "50", "description": "Tea"}, format="json"),
        client.post(f"{base}/income/", {"category": "other", "amount": "50", "description": "Tea"}, format="json"),
        client.post(f"{base}/dues/{due.pk}/waive/", {"reason": "Mine"}, format="json"),
    ]

    assert [answer.status_code for answer in answers] == [403] * 5
    assert answers[0].json()["detail"].startswith("Only the chairperson or treasurer of Umoja may record payments")
    assert not Journal.objects.filter(chama=chama).exists() and not Waiver.objects.exists()


def test_an_officer_cannot_disburse_reschedule_or_write_off_his_own_loan(umoja, api_as):
    chama, officers, _ = umoja
    treasurer, chair, secretary = officers[Role.TREASURER], officers[Role.CHAIRPERSON], officers[Role.SECRETARY]
    savings.savings_deposit(membership=treasurer, amount="20000", method="cash", by=chair.user)
    product = loan_product(chama, "Development", max_installments=24)
    loan = loans.loan_apply(
        membership=treasurer, product=product, principal="10000", installments=10, by=treasurer.user
    )
    loans.loan_approve(loan=loan, by=secretary.user)
    client = api_as(treasurer.user)
    base = f"/api/v1/chamas/{chama.pk}/loans/{loan.pk}"

    disburse = client.post(f"{base}/disburse/", {"method": "cash"}, format="json")
    assert disburse.status_code == 403
    assert disburse.json()["detail"] == "Nobody may disburse loans for themselves: another officer must."
    loans.loan_disburse(loan=loan, by=chair.user, method="cash")

    reschedule = client.post(f"{base}/reschedule/", {"installments": 600, "interest_rate": "0"}, format="json")
    write_off = client.post(f"{base}/write-off/", {"reason": "Hard times"}, format="json")
    assert (reschedule.status_code, write_off.status_code) == (403, 403)

    # Another officer may ask, but the same officer never signs twice and the borrower never signs.
    asked = api_as(chair.user).post(f"{base}/reschedule/", {"installments": 12}, format="json")
    assert asked.status_code == 200, asked.content
    # The borrower is not offered as a signer, nor is the officer who asked.
    assert asked.json()["pending_requests"] == [
        {
            "what": "reschedule",
            "asked_by": chair.user.get_full_name(),
            "installments": 12,
            "reason": "",
            "interest_rate": None,
            "awaiting_signature_from": [secretary.user.get_full_name()],
        }
    ]
    assert api_as(chair.user).post(f"{base}/approve-reschedule/").status_code == 403
    assert client.post(f"{base}/approve-reschedule/").status_code == 403
    assert Notification.objects.filter(user=secretary.user, kind=Notification.Kind.SIGNATURE).exists()
    approved = api_as(secretary.user).post(f"{base}/approve-reschedule/")
    assert approved.status_code == 200, approved.content
    loan.refresh_from_db()
    assert (loan.installments_count, loan.schedule_version, loan.reschedule_requested_by_id) == (12, 2, None)
    assert loan.approvals.filter(decision="reschedule", officer=secretary.user).exists()


def test_a_waiver_of_ones_own_fine_is_never_applied_or_approved_by_oneself(umoja, api_as):
    chama, officers, _ = umoja
    treasurer, chair = officers[Role.TREASURER], officers[Role.CHAIRPERSON]
    fine = Due.objects.create(
        chama=chama,
        membership=treasurer,
        kind=Due.Kind.FINE,
        description="Absent",
        due_date=date(2026, 11, 1),
        late_after=date(2026, 11, 1),
        amount=D("25000"),
    )

    own = api_as(treasurer.user).post(
        f"/api/v1/chamas/{chama.pk}/dues/{fine.pk}/waive/", {"reason": "Mine"}, format="json"
    )
    assert own.status_code == 403
    waiver = dues.waiver_request(due=fine, reason="Bereavement", by=chair.user)  # 25,000 > 20,000: pending
    approve = api_as(treasurer.user).post(f"/api/v1/chamas/{chama.pk}/waivers/{waiver.pk}/approve/")
    assert approve.status_code == 403 and "for themselves" in approve.json()["detail"]
    assert Waiver.objects.get(pk=waiver.pk).status == Waiver.Status.PENDING


def test_a_waiver_split_in_halves_still_needs_a_second_officer(umoja, api_as, client):
    chama, officers, john = umoja
    treasurer = officers[Role.TREASURER]
    due = Due.objects.create(
        chama=chama,
        membership=john,
        kind=Due.Kind.LEVY,
        description="Building levy",
        due_date=date(2026, 11, 1),
        late_after=date(2026, 11, 1),
        amount=D("25000"),
    )
    url = f"/api/v1/chamas/{chama.pk}/dues/{due.pk}/waive/"

    first = api_as(treasurer.user).post(url, {"reason": "Hardship", "amount": "12500"}, format="json")
    second = api_as(treasurer.user).post(url, {"reason": "Hardship", "amount": "12500"}, format="json")

    # 12,500 is under the 20,000 threshold; 12,500 + 12,500 = 25,000 for John in the window is not.
    assert (first.json()["status"], second.json()["status"]) == ("applied", "pending")
    assert second.json()["awaiting_signature_from"] == [
        officers[Role.CHAIRPERSON].user.get_full_name(),
        officers[Role.SECRETARY].user.get_full_name(),
    ]
    due.refresh_from_db()
    assert (due.waived_amount, due.outstanding) == (D("12500.00"), D("12500.00"))

    # The waiver's page in the back office says who may still sign it.
    client.force_login(treasurer.user)
    page = client.get(reverse("admin:finance_waiver_change", args=[second.json()["id"]])).content.decode()
    assert "Waiting for a signature from" in page
    assert (
        escape(f"{officers[Role.CHAIRPERSON].user.get_full_name()}, {officers[Role.SECRETARY].user.get_full_name()}")
        in page
    )


def test_an_officer_of_two_chamas_cannot_file_one_chamas_rows_under_the_other(umoja, client):
    chama, officers, _ = umoja
    other = ChamaFactory(name="Tujenge")
    treasurer = officers[Role.TREASURER].user
    from groups.services import admit_member

    admit_member(chama=other, user=treasurer, role=Role.TREASURER)
    theirs = SavingsType.objects.create(chama=other, code="LAND", name="Land fund")
    client.force_login(treasurer)

    response = client.post(
        reverse("admin:finance_contributionplan_add"),
        {
            "chama": chama.pk,
            "name": "Land",
            "kind": "regular",
            "amount": "500",
            "frequency": "monthly",
            "due_day": 5,
            "grace_days": 3,
            "target": "savings",
            "savings_type": theirs.pk,
            "start_date": "2026-12-01",
            "is_active": "on",
        },
    )

    assert response.status_code == 200
    assert "belongs to another chama" in str(response.context["adminform"].form.errors["savings_type"])
    assert not ContributionPlan.objects.filter(name="Land").exists()


def test_an_investment_of_a_chama_where_one_is_only_secretary_takes_no_money(umoja, client):
    chama, officers, _ = umoja
    from finance.models import Investment
    from groups.services import admit_member

    other = ChamaFactory(name="Tujenge")
    treasurer = officers[Role.TREASURER].user
    admit_member(chama=other, user=treasurer, role=Role.SECRETARY)
    plot = Investment.objects.create(chama=other, name="Plot in Juja", type="land", acquired_date=date(2026, 3, 1))
    client.force_login(treasurer)

    client.post(
        reverse("admin:finance_investmentmovement_add"),
        {
            "investment": plot.pk,
            "kind": "purchase",
            "amount": "1000",
            "through": "bank",
            "value_date": "",
            "note": "",
        },
    )

    assert not InvestmentMovement.objects.filter(investment=plot).exists()
    assert not Journal.objects.filter(chama=other).exists()


def test_a_loan_applied_for_by_an_officer_is_approved_by_someone_else(umoja):
    chama, officers, john = umoja
    treasurer, chair = officers[Role.TREASURER], officers[Role.CHAIRPERSON]
    savings.savings_deposit(membership=john, amount="5000", method="cash", by=chair.user)
    loan = loans.loan_apply(
        membership=john, product=loan_product(chama, "Emergency"), principal="2000", installments=2, by=treasurer.user
    )

    from chama import authority

    with pytest.raises(authority.Refused, match="already signed this loan"):
        loans.loan_approve(loan=loan, by=treasurer.user)
    assert loans.loan_approve(loan=loan, by=chair.user).status == Loan.Status.APPROVED
