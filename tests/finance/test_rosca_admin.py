"""Merry-go-rounds in the back office: the treasurer adds a cycle, draws its roster, starts it and
pays the next round with the list's actions; above the threshold the chairperson signs. Five
members × KES 2,000 = a pot of KES 10,000."""

import re
from datetime import date
from decimal import Decimal as D

import pytest
from django.urls import reverse

from chama.roles import Role
from finance.models import RoscaCycle, RoscaPayout
from finance.services import dues as dues_service
from finance.services import rosca
from tests.factories import ChamaFactory, joined
from tests.helpers import today_is

pytestmark = pytest.mark.usefixtures("clock")


def action(client, model_name, name, *rows):
    return client.post(
        reverse(f"admin:finance_{model_name}_changelist"),
        {"action": name, "_selected_action": [row.pk for row in rows]},
        follow=True,
    )


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def tujenge(db):
    chama = ChamaFactory(kind="rosca", policy={"grace_days": 2, "second_approval_threshold": D("5000")})
    chama.chair = joined(chama, Role.CHAIRPERSON)
    chama.treasurer = joined(chama, Role.TREASURER)
    chama.secretary = joined(chama, Role.SECRETARY)
    chama.members = [joined(chama) for _ in range(2)]
    return chama


def test_a_cycle_is_set_up_started_and_paid_out_from_the_back_office(client, tujenge):
    client.force_login(tujenge.treasurer.user)
    added = client.post(
        reverse("admin:finance_roscacycle_add"),
        {
            "chama": tujenge.pk,
            "name": "2027",
            "contribution": "2000",
            "frequency": "monthly",
            "start_date": "2027-01-15",
            "roster_method": "draw",
            "payout_rule": "full",
            "discount_to": "members",
        },
    )
    assert added.status_code == 302, added.content.decode()[-2000:]
    cycle = RoscaCycle.objects.get(chama=tujenge)

    assert "1 roster(s) drawn." in messages_of(action(client, "roscacycle", "draw_roster", cycle))
    assert "1 cycle(s) started." in messages_of(action(client, "roscacycle", "start_cycles", cycle))
    cycle.refresh_from_db()
    assert cycle.status == "active" and len(cycle.draw_seed) == 32
    page = client.get(reverse("admin:finance_roscacycle_change", args=[cycle.pk]))
    first = cycle.slots.get(position=1).membership
    assert first.member_number in page.content.decode() and "Jan. 15, 2027" in page.content.decode()

    today_is(date(2027, 1, 15))
    dues_service.generate_dues(period=(2027, 1), chama=tujenge)
    for each in [tujenge.chair, tujenge.treasurer, tujenge.secretary, *tujenge.members]:
        dues_service.payment_record(membership=each, amount=D("2000"), method="cash", by=tujenge.treasurer.user)
    # The draw is random: the round is paid by a money officer who is not its recipient, and
    # signed by a third person who is neither.
    payer = next(m for m in (tujenge.treasurer, tujenge.chair) if m != first)
    signer = next(m for m in (tujenge.secretary, tujenge.chair, tujenge.treasurer) if m not in (first, payer))
    client.force_login(payer.user)
    paid = messages_of(action(client, "roscacycle", "pay_next_cash", cycle))
    assert any("10,000.00 is above the threshold and waits for a second officer" in m for m in paid), paid

    payout = RoscaPayout.objects.get()
    client.force_login(signer.user)
    pending = client.get(reverse("admin:finance_roscapayout_change", args=[payout.pk])).content.decode()
    assert signer.user.get_full_name() in pending  # who may still sign
    assert "1 payout(s) approved and paid." in messages_of(action(client, "roscapayout", "approve", payout))
    payout.refresh_from_db()
    assert payout.status == "paid" and payout.journal.amount == D("10000.00")


def test_a_plain_member_never_reaches_the_cycles(client, tujenge):
    client.force_login(tujenge.members[0].user)
    assert client.get(reverse("admin:finance_roscacycle_changelist")).status_code == 302  # not staff: to the login


def test_the_board_shows_rounds_by_members_in_a_fixed_number_of_queries(client, tujenge, django_assert_max_num_queries):
    treasurer = tujenge.treasurer.user
    cycle = rosca.cycle_create(
        chama=tujenge, name="2027", contribution=D("2000"), start_date=date(2027, 1, 15), by=treasurer
    )
    everyone = [tujenge.chair, tujenge.treasurer, tujenge.secretary, *tujenge.members]
    rosca.roster_set(cycle=cycle, membership_ids=[m.pk for m in reversed(everyone)], by=treasurer)
    rosca.cycle_start(cycle=cycle, by=treasurer)
    today_is(date(2027, 1, 15))
    dues_service.generate_dues(period=(2027, 1), chama=tujenge)
    dues_service.payment_record(membership=tujenge.members[0], amount=D("2000"), method="cash", by=treasurer)
    dues_service.payment_record(membership=tujenge.members[1], amount=D("500"), method="cash", by=treasurer)

    client.force_login(treasurer)
    with django_assert_max_num_queries(20):
        page = client.get(reverse("admin:finance_roscacycle_board", args=[cycle.pk]))
    body = page.content.decode()
    assert page.status_code == 200
    assert "Round 5<br>15 May 2027" in body
    paid = re.findall(r"\b(\d+) / 2000\b", body)
    assert sorted(paid) == ["0", "0", "0", "2000", "500"]  # one paid, one in part, three owing
    assert body.count("not paid out") == 5
    first = tujenge.members[1]  # the roster is the reverse of the order above: the last member first
    assert f"<th>{first.member_number}<br>" in body

    client.force_login(tujenge.members[0].user)
    assert client.get(reverse("admin:finance_roscacycle_board", args=[cycle.pk])).status_code == 302
