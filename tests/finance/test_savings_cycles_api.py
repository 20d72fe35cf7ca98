"""A savings cycle through the API: a money officer opens it, members buy shares and see the
share-out preview (their own line; officers everyone's), choose cash or rollover, and the
share-out is asked for by one officer and approved by another. The figures are
test_savings_cycles.py's hand-worked cycle (fund 5,450, 50 shares, KES 109 a share)."""

from datetime import date

import pytest

from finance.models import Journal
from tests.factories import ChamaFactory, joined
from tests.finance.test_savings_cycles import SHARE_OUT_DAY, worked_cycle
from tests.helpers import results, today_is

pytestmark = [pytest.mark.usefixtures("clock"), pytest.mark.django_db]


def url(chama, rest=""):
    return f"/api/v1/chamas/{chama.pk}/savings-cycles/{rest}"


def test_a_treasurer_opens_a_cycle_and_a_plain_member_cannot(api_as):
    chama = ChamaFactory(kind="vsla", policy={"share_price": "200"})
    treasurer, member = joined(chama, "treasurer"), joined(chama)
    today_is(date(2027, 1, 4))
    body = {"name": "2027", "start_date": "2027-01-04", "planned_end_date": "2027-12-18", "rounding_unit": "5"}

    assert api_as(member.user).post(url(chama), body, format="json").status_code == 403
    bad = api_as(treasurer.user).post(url(chama), {**body, "planned_end_date": "2026-12-01"}, format="json")
    assert bad.status_code == 400 and "planned end must come after the start" in str(bad.json())
    created = api_as(treasurer.user).post(url(chama), body, format="json")
    assert created.status_code == 201, created.content
    cycle = created.json()
    assert (cycle["share_price"], cycle["rounding_unit"], cycle["status"]) == ("200.00", "5.00", "active")
    again = api_as(treasurer.user).post(url(chama), {**body, "name": "Twice"}, format="json")
    assert again.status_code == 400 and "already has a savings cycle running" in str(again.json())
    assert [c["name"] for c in results(api_as(member.user).get(url(chama)))] == ["2027"]


def test_members_see_their_own_line_officers_everyone_and_two_officers_share_out(api_as):
    chama = worked_cycle()
    otieno, treasurer, chair = api_as(chama.otieno.user), api_as(chama.treasurer.user), api_as(chama.chair.user)
    preview_url = url(chama, f"{chama.cycle.pk}/preview/")

    mine = otieno.get(preview_url).json()
    assert (mine["fund"], mine["total_shares"], mine["value_per_share"], mine["posted"]) == (
        "5450.00",
        50,
        "109.0000",
        False,
    )
    assert mine["fund_breakdown"]["interest"] == "200.00"
    assert [(m["member_number"], m["net_payout"], m["choice"]) for m in mine["members"]] == [
        (chama.otieno.member_number, "1630.00", "cash")
    ]
    assert len(treasurer.get(preview_url).json()["members"]) == 6

    chosen = otieno.post(url(chama, f"{chama.cycle.pk}/choice/"), {"choice": "rollover"}, format="json")
    assert chosen.status_code == 200 and chosen.json()["members"][0]["choice"] == "rollover"
    someone_else = otieno.post(
        url(chama, f"{chama.cycle.pk}/choice/"), {"choice": "cash", "membership": chama.wanjiku.pk}, format="json"
    )
    assert someone_else.status_code == 403

    assert otieno.post(url(chama, f"{chama.cycle.pk}/share-out/"), {"method": "cash"}).status_code == 403
    asked = treasurer.post(
        url(chama, f"{chama.cycle.pk}/share-out/"),
        {"method": "cash", "next_cycle_name": "2028", "next_planned_end_date": "2028-12-16"},
        format="json",
    )
    assert asked.status_code == 201, asked.content
    share_out = asked.json()
    assert (
        share_out["status"] == "pending"
        and chama.secretary.user.get_full_name() in share_out["awaiting_signature_from"]
    )
    share_outs = f"/api/v1/chamas/{chama.pk}/share-outs/"
    assert treasurer.post(f"{share_outs}{share_out['id']}/approve/").status_code == 403  # not twice
    assert otieno.get(share_outs).status_code == 403
    approved = chair.post(f"{share_outs}{share_out['id']}/approve/")
    assert approved.status_code == 200, approved.content
    assert (approved.json()["status"], approved.json()["fund"]) == ("posted", "5450.00")

    posted = otieno.get(preview_url).json()
    assert posted["posted"] and posted["as_of"] == SHARE_OUT_DAY.isoformat()
    assert [(m["net_payout"], m["rolled_over"]) for m in posted["members"]] == [("1630.00", "1600.00")]
    names = [c["name"] for c in results(otieno.get(url(chama)))]
    assert names == ["2028", "2027"]
    journals = Journal.objects.filter(chama=chama, kind=Journal.Kind.SHARE_OUT)
    assert journals.count() == 1 + 5  # the income closed, and a journal per member with shares


def test_a_leaving_member_is_shared_out_through_the_api_and_bad_input_is_a_400(api_as):
    chama = worked_cycle()
    treasurer, chair = api_as(chama.treasurer.user), api_as(chama.chair.user)
    exit_url = url(chama, f"{chama.cycle.pk}/member-exit/")
    other = ChamaFactory(kind="vsla")
    stranger = joined(other)

    assert treasurer.post(exit_url, {"membership": stranger.pk, "method": "cash"}).status_code == 400
    assert treasurer.post(exit_url, {"membership": chama.akinyi.pk, "method": "cash"}).status_code == 400  # no shares
    assert treasurer.post(exit_url, {"membership": chama.otieno.pk, "method": "gold"}).status_code == 400
    asked = treasurer.post(exit_url, {"membership": chama.otieno.pk, "method": "cash"}, format="json")
    assert asked.status_code == 201, asked.content
    share_outs = f"/api/v1/chamas/{chama.pk}/share-outs/"
    rejected = chair.post(f"{share_outs}{asked.json()['id']}/reject/", {"reason": ""}, format="json")
    assert rejected.status_code == 400
    approved = chair.post(f"{share_outs}{asked.json()['id']}/approve/")
    assert approved.json()["status"] == "posted" and approved.json()["member_number"] == chama.otieno.member_number
    assert api_as(chama.otieno.user).get(url(chama, f"{chama.cycle.pk}/preview/")).json()["members"] == []
