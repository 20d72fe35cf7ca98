"""A whole merry-go-round end to end, as the chama would run it: the treasurer sets the cycle up in
the back office, members pay each round through the API, rounds are paid out from the back office
and through the API by a money officer who is not the recipient, and the last round completes the
cycle. The books end with zero drift, equal trial-balance totals, an empty pot, and every member's
statement (`my/journals/`) carrying the payout that explains what they received.

Four members (chairperson, treasurer, secretary, Wanjiku) pay KES 1,500 a month from January 2027:
a pot of 6,000 a round, four rounds; in all 24,000 paid in and 24,000 paid out."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.urls import reverse

from chama.roles import Role
from finance.models import RoscaCycle, RoscaPayout
from finance.services import dues, reconcile
from tests.factories import ChamaFactory, joined
from tests.helpers import results, today_is

pytestmark = [pytest.mark.usefixtures("clock"), pytest.mark.django_db]


def test_a_merry_go_round_from_set_up_to_its_last_round(api_as, client):
    chama = ChamaFactory(kind="rosca", policy={"second_approval_threshold": D("100000")})
    chair, treasurer, secretary = (joined(chama, role) for role in (Role.CHAIRPERSON, Role.TREASURER, Role.SECRETARY))
    wanjiku = joined(chama)
    order = [wanjiku, treasurer, secretary, chair]
    api = f"/api/v1/chamas/{chama.pk}"

    today_is(date(2027, 1, 1))
    client.force_login(treasurer.user)
    added = client.post(
        reverse("admin:finance_roscacycle_add"),
        {
            "chama": chama.pk,
            "name": "2027",
            "contribution": "1500",
            "frequency": "monthly",
            "start_date": "2027-01-15",
            "roster_method": "agreement",
            "payout_rule": "full",
            "discount_to": "members",
        },
    )
    assert added.status_code == 302, added.content.decode()[-1500:]
    cycle = RoscaCycle.objects.get(chama=chama)
    books = api_as(treasurer.user)
    assert (
        books.post(
            f"{api}/rosca-cycles/{cycle.pk}/set-roster/", {"membership_ids": [m.pk for m in order]}, format="json"
        ).json()["rounds"]
        == 4
    )
    assert books.post(f"{api}/rosca-cycles/{cycle.pk}/start/").json()["status"] == "active"

    for month, recipient in enumerate(order, start=1):
        today_is(date(2027, month, 15))
        dues.generate_dues(period=(2027, month), chama=chama)
        for member in order:
            paid = books.post(
                f"{api}/payments/", {"membership": member.pk, "amount": "1500", "method": "cash"}, format="json"
            )
            assert paid.status_code == 201, paid.content
        payer = chair if recipient == treasurer else treasurer
        if month % 2:  # odd rounds from the back office, even ones through the API
            client.force_login(payer.user)
            client.post(
                reverse("admin:finance_roscacycle_changelist"),
                {"action": "pay_next_cash", "_selected_action": [cycle.pk]},
            )
        else:
            answer = api_as(payer.user).post(
                f"{api}/rosca-cycles/{cycle.pk}/pay-round/", {"position": month, "method": "cash"}, format="json"
            )
            assert answer.status_code == 201, answer.content
        payout = RoscaPayout.objects.get(cycle=cycle, slot__position=month)
        assert (payout.status, payout.membership, payout.amount) == ("paid", recipient, D("6000.00"))

    cycle.refresh_from_db()
    assert cycle.status == "completed"
    trial = books.get(f"{api}/trial-balance/").json()
    assert trial["total_debit"] == trial["total_credit"]
    balances = {row["code"]: (row["debit"], row["credit"]) for row in trial["rows"]}
    assert balances.get("2300", ("0.00", "0.00")) == ("0.00", "0.00")  # the pot is empty
    assert balances.get("1000", ("0.00", "0.00")) == ("0.00", "0.00")  # 24,000 in, 24,000 out
    assert reconcile.all_drift(chama) == [] and reconcile.unbalanced_journal_ids(chama) == []
    for position, member in enumerate(order, start=1):
        statement = results(api_as(member.user).get(f"{api}/my/journals/"))
        received = [j for j in statement if j["kind"] == "rosca_payout"]
        assert [j["amount"] for j in received] == ["6000.00"], member
        assert received[0]["memo"].startswith(f"2027: round {position} pot to {member.member_number}")
        assert sum(D(j["amount"]) for j in statement if j["kind"] == "payment") == D("6000.00")
