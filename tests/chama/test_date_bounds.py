"""Every date the API takes lies between 1900 and 2200: outside, a 400 on the field, never a
server error from a schedule or a time zone running off the calendar."""

from datetime import date
from decimal import Decimal as D

import pytest

from chama.roles import Role
from finance.models import Journal, LoanProduct
from meetings.models import Meeting, Proposal
from tests.factories import ChamaFactory, joined, loan_product
from tests.helpers import today_is

FAR = ["9999-12-31", "0001-01-01", "1899-12-31", "2201-01-01"]


@pytest.fixture(autouse=True)
def late_november(clock):
    """These books are kept as of 30 Nov 2026: the story's dates are weeks before it, within the
    backdating window, whatever the date the suite runs on."""
    today_is(date(2026, 11, 30))


@pytest.fixture
def umoja(db):
    chama = ChamaFactory(name="Umoja")
    return chama, joined(chama, Role.TREASURER), joined(chama, Role.SECRETARY), joined(chama)


@pytest.mark.parametrize("day", FAR)
def test_a_payment_dated_off_the_calendar_is_a_400(umoja, api_as, day):
    chama, treasurer, _, member = umoja

    response = api_as(treasurer.user).post(
        f"/api/v1/chamas/{chama.pk}/payments/",
        {"membership": member.pk, "amount": "500", "method": "cash", "value_date": day},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["value_date"] == ["Give a date between 1900-01-01 and 2200-12-31."]
    assert not Journal.objects.exists()


@pytest.mark.parametrize("day", FAR)
def test_a_loan_quote_starting_off_the_calendar_is_a_400(umoja, api_as, day):
    chama, _, _, member = umoja
    product = loan_product(chama, "Emergency")

    response = api_as(member.user).post(
        f"/api/v1/chamas/{chama.pk}/loan-products/{product.pk}/quote/",
        {"principal": "5000", "installments": 6, "start": day},
        format="json",
    )

    assert response.status_code == 400 and "start" in response.json()
    assert LoanProduct.objects.count() == 1


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00", "9999-12-31T23:59:59", "0001-01-01T00:00:00+03:00"])
def test_meetings_and_proposals_off_the_calendar_are_400s(umoja, api_as, moment):
    chama, _, secretary, _ = umoja
    client = api_as(secretary.user)

    meeting = client.post(f"/api/v1/chamas/{chama.pk}/meetings/", {"title": "AGM", "starts_at": moment}, format="json")
    proposal = client.post(
        f"/api/v1/chamas/{chama.pk}/proposals/",
        {"title": "Buy a tent", "opens_at": moment, "closes_at": "2026-12-31T12:00:00+03:00"},
        format="json",
    )

    assert (meeting.status_code, proposal.status_code) == (400, 400)
    assert (
        meeting.json()["starts_at"] == proposal.json()["opens_at"] == ["Give a date between 1900-01-01 and 2200-12-31."]
    )
    assert not Meeting.objects.exists() and not Proposal.objects.exists()


def test_a_date_inside_the_range_still_posts(umoja, api_as):
    chama, treasurer, _, member = umoja

    response = api_as(treasurer.user).post(
        f"/api/v1/chamas/{chama.pk}/payments/",
        {"membership": member.pk, "amount": "500", "method": "cash", "value_date": "2026-11-01"},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert Journal.objects.get().amount == D("500.00")
