"""Bidding merry-go-rounds, worked by hand: five members pay KES 2,000 a month (a pot of 10,000);
the roster names Wanjiku, Otieno, Akinyi, the secretary, the treasurer, but each round goes to the
member still waiting who bids the highest discount on the pot."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from chama.models import Notification
from chama.roles import Role
from finance.models import Account, Due
from finance.services import dues as dues_service
from finance.services import ledger, reconcile, rosca
from tests.factories import ChamaFactory, joined
from tests.finance.test_rosca_payouts import cash, pot
from tests.helpers import today_is

pytestmark = [pytest.mark.usefixtures("clock"), pytest.mark.django_db]
A = Account.Purpose


def bidding(discount_to="members"):
    chama = ChamaFactory(kind="rosca", policy={"grace_days": 2, "second_approval_threshold": D("50000")})
    chama.treasurer = joined(chama, Role.TREASURER)
    chama.secretary = joined(chama, Role.SECRETARY)
    chama.members = [joined(chama) for _ in range(3)]
    chama.cycle = rosca.cycle_create(
        chama=chama,
        name="2027",
        contribution=D("2000"),
        start_date=date(2027, 1, 15),
        by=chama.treasurer.user,
        roster_method="agreement",
        bidding=True,
        discount_to=discount_to,
    )
    chama.order = [*chama.members, chama.secretary, chama.treasurer]
    rosca.roster_set(cycle=chama.cycle, membership_ids=[m.pk for m in chama.order], by=chama.treasurer.user)
    rosca.cycle_start(cycle=chama.cycle, by=chama.treasurer.user)
    chama.cycle.refresh_from_db()
    return chama


def everyone_pays(chama, month, amounts=None):
    today_is(date(2027, month, 15))
    dues_service.generate_dues(period=(2027, month), chama=chama)
    for member in chama.order:
        amount = (amounts or {}).get(member, D("2000"))
        dues_service.payment_record(membership=member, amount=amount, method="cash", by=chama.treasurer.user)


def bid(chama, member, discount):
    return rosca.bid_place(cycle=chama.cycle, membership=member, discount=D(discount), by=member.user)


def advance(member):
    return ledger.member_account(member, A.MEMBER_ADVANCE).normal_balance


def test_the_highest_bid_takes_the_round_and_the_discount_goes_towards_the_others_next_contributions():
    chama = bidding()
    wanjiku, otieno, akinyi = chama.members
    everyone_pays(chama, 1)
    bid(chama, otieno, "1000")
    bid(chama, akinyi, "800")
    bid(chama, akinyi, "1500")  # a new bid replaces her last one

    payout = rosca.round_payout(cycle=chama.cycle, position=1, method="cash", by=chama.treasurer.user)

    assert (payout.membership, payout.amount, payout.discount) == (akinyi, D("10000.00"), D("1500.00"))
    assert (pot(chama), cash(chama)) == (D("0.00"), D("1500.00"))  # 8,500 paid out of the 10,000
    # 1,500 ÷ 4 = 375 to each of the others, towards their next contribution.
    assert [advance(m) for m in (wanjiku, otieno, chama.secretary, chama.treasurer)] == [D("375.00")] * 4
    assert advance(akinyi) == 0
    chama.cycle.refresh_from_db()
    assert [s.membership for s in chama.cycle.slots.order_by("position")][:3] == [akinyi, otieno, wanjiku]
    told = Notification.objects.get(user=akinyi.user, dedupe_key=f"rosca-payout-{payout.pk}")
    assert told.title.endswith("KES 8,500.00 paid to you") and "less your winning bid of KES 1,500.00" in told.body

    with pytest.raises(ValidationError, match="still waiting for their round bids"):
        bid(chama, akinyi, "100")  # she has received
    # February: the advances meet the dues; nobody bids, so the roster's Otieno receives it whole.
    everyone_pays(chama, 2, amounts={m: D("1625") for m in (wanjiku, otieno, chama.secretary, chama.treasurer)})
    assert not Due.objects.filter(plan=chama.cycle.plan, period_label="2027-02").exclude(status="paid").exists()
    second = rosca.round_payout(cycle=chama.cycle, position=2, method="cash", by=chama.treasurer.user)
    assert (second.membership, second.amount, second.discount) == (otieno, D("10000.00"), D("0.00"))
    assert reconcile.all_drift(chama) == [] and reconcile.unbalanced_journal_ids(chama) == []


def test_a_discount_kept_as_income_and_equal_bids_go_to_the_first():
    chama = bidding(discount_to="income")
    wanjiku, otieno, akinyi = chama.members
    everyone_pays(chama, 1)
    bid(chama, akinyi, "999.99")
    bid(chama, otieno, "999.99")
    payout = rosca.round_payout(cycle=chama.cycle, position=1, method="cash", by=chama.treasurer.user)
    assert (payout.membership, payout.discount) == (akinyi, D("999.99"))
    assert ledger.chama_account(chama, A.OTHER_INCOME).normal_balance == D("999.99")
    assert advance(wanjiku) == 0


def test_bids_are_refused_with_a_sentence():
    chama = bidding()
    wanjiku = chama.members[0]
    with pytest.raises(ValidationError, match="Bid less than the pot"):
        bid(chama, wanjiku, "10000")
    with pytest.raises(ValidationError, match="zero or more"):
        bid(chama, wanjiku, "-1")
    plain = ChamaFactory(kind="rosca")
    treasurer, member = joined(plain, Role.TREASURER), joined(plain)
    cycle = rosca.cycle_create(
        chama=plain, name="Plain", contribution=D("100"), start_date=date(2027, 1, 1), by=treasurer.user
    )
    rosca.roster_draw(cycle=cycle, by=treasurer.user)
    rosca.cycle_start(cycle=cycle, by=treasurer.user)
    with pytest.raises(ValidationError, match="follows its roster"):
        rosca.bid_place(cycle=cycle, membership=member, discount=D("10"), by=member.user)


def test_members_bid_through_the_api_and_bids_stay_sealed(api_as):
    chama = bidding()
    wanjiku, otieno, _ = chama.members
    today_is(date(2027, 1, 10))
    url = f"/api/v1/chamas/{chama.pk}/rosca-cycles/{chama.cycle.pk}/"

    made = api_as(otieno.user).post(f"{url}bid/", {"discount": "700"}, format="json")
    assert made.status_code == 201, made.content
    assert (made.json()["position"], made.json()["discount"]) == (1, "700.00")
    bad = api_as(wanjiku.user).post(f"{url}bid/", {"discount": "abc"}, format="json")
    assert bad.status_code == 400 and "discount" in bad.json()
    too_much = api_as(wanjiku.user).post(f"{url}bid/", {"discount": "10000"}, format="json")
    assert too_much.status_code == 400 and "Bid less than the pot" in str(too_much.json())
    api_as(wanjiku.user).post(f"{url}bid/", {"discount": "500"}, format="json")

    seen = api_as(chama.treasurer.user).get(f"{url}bids/").json()
    assert [(row["member_number"], row["discount"]) for row in seen] == [
        (otieno.member_number, "700.00"),
        (wanjiku.member_number, "500.00"),
    ]
    assert [row["member_number"] for row in api_as(wanjiku.user).get(f"{url}bids/").json()] == [wanjiku.member_number]
    cycle = api_as(wanjiku.user).get(url).json()
    assert (cycle["bidding"], cycle["discount_to"]) == (True, "members")
