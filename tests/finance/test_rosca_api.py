"""A merry-go-round through the API: officers set a cycle up, draw its roster and start it; members
see their place, the roster and the next round; rounds are paid out, with a second officer above
the threshold. Five members × KES 2,000 = a pot of KES 10,000."""

import hashlib
from datetime import date
from decimal import Decimal as D

import pytest

from chama.roles import Role
from finance.services import dues as dues_service
from tests.factories import ChamaFactory, joined
from tests.helpers import results, today_is

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def tujenge(db):
    chama = ChamaFactory(kind="rosca", policy={"grace_days": 2, "second_approval_threshold": D("5000")})
    chama.chair = joined(chama, Role.CHAIRPERSON)
    chama.treasurer = joined(chama, Role.TREASURER)
    chama.members = [joined(chama) for _ in range(3)]
    chama.everyone = [chama.chair, chama.treasurer, *chama.members]
    return chama


def url(chama, rest=""):
    return f"/api/v1/chamas/{chama.pk}/rosca-cycles/{rest}"


def test_a_cycle_from_draft_to_its_first_payout_through_the_api(tujenge, api_as):
    treasurer, chair = api_as(tujenge.treasurer.user), api_as(tujenge.chair.user)
    member = tujenge.members[0]
    wanjiku = api_as(member.user)

    created = treasurer.post(
        url(tujenge),
        {"name": "2027", "contribution": "2000.00", "frequency": "monthly", "start_date": "2027-01-15"},
        format="json",
    )
    assert created.status_code == 201, created.content
    cycle = created.json()
    assert (cycle["status"], cycle["rounds"], cycle["my_position"]) == ("draft", 0, None)
    assert results(wanjiku.get(url(tujenge))) == []  # a draft is the officers' until it starts
    assert wanjiku.post(url(tujenge, f"{cycle['id']}/draw/"), {}, format="json").status_code == 403

    drawn = treasurer.post(url(tujenge, f"{cycle['id']}/draw/"), {"seed": "meeting 5 Jan"}, format="json").json()
    numbers = sorted(m.member_number for m in tujenge.everyone)
    order = sorted(numbers, key=lambda n: hashlib.sha256(f"meeting 5 Jan:{n}".encode()).hexdigest())
    assert (drawn["draw_seed"], drawn["rounds"], drawn["pot"]) == ("meeting 5 Jan", 5, "10000.00")
    assert treasurer.post(url(tujenge, f"{cycle['id']}/start/")).json()["status"] == "active"

    mine = results(wanjiku.get(url(tujenge)))[0]
    position = order.index(member.member_number) + 1
    assert mine["my_position"] == position
    assert mine["my_round_date"] == date(2027, position, 15).isoformat()
    first = next(m for m in tujenge.everyone if m.member_number == order[0])
    assert mine["next_round"] == {
        "position": 1,
        "date": "2027-01-15",
        "member_number": order[0],
        "name": first.user.get_full_name(),
    }
    roster = wanjiku.get(url(tujenge, f"{cycle['id']}/roster/")).json()
    assert [row["member_number"] for row in roster] == order
    assert roster[2]["round_date"] == "2027-03-15" and roster[0]["payout_status"] is None

    # Round 1: everyone pays; the pot is above the threshold (5,000), so a second officer signs.
    today_is(date(2027, 1, 15))
    dues_service.generate_dues(period=(2027, 1), chama=tujenge)
    for each in tujenge.everyone:
        dues_service.payment_record(membership=each, amount=D("2000"), method="cash", by=tujenge.treasurer.user)
    recipient = first
    payer, signer = (chair, treasurer) if recipient == tujenge.treasurer else (treasurer, chair)
    asked = payer.post(url(tujenge, f"{cycle['id']}/pay-round/"), {"position": 1, "method": "cash"}, format="json")
    assert asked.status_code == 201, asked.content
    payout = asked.json()
    assert (payout["status"], payout["amount"], payout["member_number"]) == ("pending", "10000.00", order[0])
    if recipient not in (tujenge.chair, tujenge.treasurer):
        mine_as_recipient = api_as(recipient.user).get(f"/api/v1/chamas/{tujenge.pk}/rosca-payouts/")
        assert [row["id"] for row in results(mine_as_recipient)] == [payout["id"]]
    approved = signer.post(f"/api/v1/chamas/{tujenge.pk}/rosca-payouts/{payout['id']}/approve/")
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "paid"
    assert wanjiku.get(url(tujenge, f"{cycle['id']}/roster/")).json()[0]["payout_status"] == "paid"
    assert results(wanjiku.get(url(tujenge)))[0]["next_round"]["position"] == 2


def test_bad_requests_get_a_field_message(tujenge, api_as):
    treasurer = api_as(tujenge.treasurer.user)
    bad = treasurer.post(
        url(tujenge), {"name": "x", "contribution": "-5", "frequency": "daily", "start_date": "soon"}, format="json"
    )
    assert bad.status_code == 400 and {"contribution", "frequency", "start_date"} <= set(bad.json())
    cycle = treasurer.post(
        url(tujenge), {"name": "2027", "contribution": "100", "start_date": "2027-01-15"}, format="json"
    ).json()
    wrong_order = treasurer.post(
        url(tujenge, f"{cycle['id']}/set-roster/"), {"membership_ids": [tujenge.chair.pk]}, format="json"
    )
    assert wrong_order.status_code == 400 and "missing" in str(wrong_order.json())
    early = treasurer.post(url(tujenge, f"{cycle['id']}/pay-round/"), {"position": 1, "method": "cash"}, format="json")
    assert early.status_code == 400 and "Only a running cycle pays out" in str(early.json())
    not_started = treasurer.post(url(tujenge, f"{cycle['id']}/start/"))
    assert not_started.status_code == 400 and "Set the roster first" in str(not_started.json())
    not_paid = treasurer.post(url(tujenge, f"{cycle['id']}/top-up/"), {"position": 1, "method": "cash"}, format="json")
    assert not_paid.status_code == 400 and "Only a running or completed cycle is topped up" in str(not_paid.json())
    member = api_as(tujenge.members[0].user)
    refused = member.post(url(tujenge, f"{cycle['id']}/top-up/"), {"position": 1, "method": "cash"}, format="json")
    assert refused.status_code == 403


def test_a_swap_asked_agreed_and_approved_through_the_api(tujenge, api_as):
    treasurer = api_as(tujenge.treasurer.user)
    cycle = treasurer.post(
        url(tujenge), {"name": "2027", "contribution": "2000", "start_date": "2027-01-15"}, format="json"
    ).json()
    order = [tujenge.chair, tujenge.treasurer, *tujenge.members]
    treasurer.post(url(tujenge, f"{cycle['id']}/set-roster/"), {"membership_ids": [m.pk for m in order]}, format="json")
    treasurer.post(url(tujenge, f"{cycle['id']}/start/"))
    wanjiku, otieno, akinyi = tujenge.members  # rounds 3, 4 and 5
    changes = f"/api/v1/chamas/{tujenge.pk}/rosca-changes/"

    no_partner = api_as(wanjiku.user).post(changes, {"cycle": cycle["id"], "kind": "swap"}, format="json")
    assert no_partner.status_code == 400 and "other" in no_partner.json()
    asked = api_as(wanjiku.user).post(
        changes, {"cycle": cycle["id"], "kind": "swap", "other": otieno.pk}, format="json"
    )
    assert asked.status_code == 201, asked.content
    change = asked.json()
    assert (change["status"], change["other_member_number"]) == ("waiting_partner", otieno.member_number)
    assert results(api_as(akinyi.user).get(changes)) == []  # not hers
    assert (
        api_as(akinyi.user).post(f"{changes}{change['id']}/consent/", {"agree": True}, format="json").status_code == 404
    )

    agreed = api_as(otieno.user).post(f"{changes}{change['id']}/consent/", {"agree": True}, format="json")
    assert agreed.json()["status"] == "waiting_officer"
    assert api_as(otieno.user).post(f"{changes}{change['id']}/approve/").status_code == 403
    approved = api_as(tujenge.chair.user).post(f"{changes}{change['id']}/approve/")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    roster = api_as(wanjiku.user).get(url(tujenge, f"{cycle['id']}/roster/")).json()
    assert [row["member_number"] for row in roster][2:4] == [otieno.member_number, wanjiku.member_number]
