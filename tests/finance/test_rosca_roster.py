"""Merry-go-round cycles: the roster by a draw anyone can re-check or by agreement, and starting a
cycle (its roster published, its rounds' dues raised into the pot)."""

import hashlib
from datetime import date
from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from chama.models import Notification
from chama.roles import Role
from finance.models import Account, Due, RoscaCycle
from finance.services import dues as dues_service
from finance.services import ledger, rosca
from tests.factories import ChamaFactory, joined
from tests.helpers import today_is

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def tujenge(db):
    """A merry-go-round of five: the treasurer, the secretary and three members."""
    chama = ChamaFactory(kind="rosca", policy={"grace_days": 2})
    chama.treasurer = joined(chama, Role.TREASURER)
    chama.secretary = joined(chama, Role.SECRETARY)
    chama.members = [joined(chama) for _ in range(3)]
    return chama


def new_cycle(chama, **options):
    return rosca.cycle_create(
        chama=chama,
        name=options.pop("name", "2027"),
        contribution=D("2000"),
        start_date=date(2027, 1, 15),
        by=chama.treasurer.user,
        **options,
    )


def test_a_draw_orders_members_by_the_hash_of_seed_and_member_number(tujenge):
    cycle = new_cycle(tujenge)
    slots = rosca.roster_draw(cycle=cycle, by=tujenge.secretary.user, seed="meeting of 5 January")

    # Re-checked by hand: sort the member numbers by SHA-256("<seed>:<number>").
    numbers = [m.member_number for m in [tujenge.treasurer, tujenge.secretary, *tujenge.members]]
    expected = sorted(numbers, key=lambda n: hashlib.sha256(f"meeting of 5 January:{n}".encode()).hexdigest())
    assert [slot.membership.member_number for slot in slots] == expected
    assert [slot.position for slot in slots] == [1, 2, 3, 4, 5]
    cycle.refresh_from_db()
    assert (cycle.draw_seed, cycle.roster_method) == ("meeting of 5 January", "draw")


def test_a_draw_without_a_seed_records_a_random_one_that_gives_the_same_order(tujenge):
    cycle = new_cycle(tujenge)
    slots = rosca.roster_draw(cycle=cycle, by=tujenge.treasurer.user)
    cycle.refresh_from_db()
    assert len(cycle.draw_seed) == 32
    numbers = [slot.membership.member_number for slot in slots]
    assert rosca.draw_order(cycle.draw_seed, sorted(numbers)) == numbers


def test_an_agreed_order_names_every_active_member_once(tujenge):
    cycle = new_cycle(tujenge, roster_method="agreement")
    everyone = [tujenge.treasurer, tujenge.secretary, *tujenge.members]
    order = [m.pk for m in reversed(everyone)]

    with pytest.raises(ValidationError, match="missing"):
        rosca.roster_set(cycle=cycle, membership_ids=order[:-1], by=tujenge.treasurer.user)
    with pytest.raises(ValidationError, match="twice"):
        rosca.roster_set(cycle=cycle, membership_ids=[*order, order[0]], by=tujenge.treasurer.user)
    stranger = joined(ChamaFactory(kind="rosca"))
    with pytest.raises(ValidationError, match="Not active members"):
        rosca.roster_set(cycle=cycle, membership_ids=[*order, stranger.pk], by=tujenge.treasurer.user)

    slots = rosca.roster_set(cycle=cycle, membership_ids=order, by=tujenge.treasurer.user)
    assert [slot.membership_id for slot in slots] == order


def test_only_officers_set_up_a_cycle_and_only_in_a_merry_go_round(tujenge):
    with pytest.raises(PermissionDenied):
        rosca.cycle_create(
            chama=tujenge, name="x", contribution=D("100"), start_date=date(2027, 1, 1), by=tujenge.members[0].user
        )
    savings_group = ChamaFactory(kind="vsla")
    treasurer = joined(savings_group, Role.TREASURER)
    with pytest.raises(ValidationError, match="only a merry-go-round or hybrid chama"):
        rosca.cycle_create(
            chama=savings_group, name="x", contribution=D("100"), start_date=date(2027, 1, 1), by=treasurer.user
        )
    cycle = new_cycle(tujenge)
    with pytest.raises(PermissionDenied):
        rosca.roster_draw(cycle=cycle, by=tujenge.members[0].user)
    with pytest.raises(ValidationError, match="already has a cycle of that name"):
        new_cycle(tujenge)


def test_starting_publishes_the_roster_and_raises_each_rounds_dues_into_the_pot(tujenge):
    cycle = new_cycle(tujenge)
    slots = rosca.roster_draw(cycle=cycle, by=tujenge.treasurer.user, seed="s")
    rosca.cycle_start(cycle=cycle, by=tujenge.secretary.user)
    cycle.refresh_from_db()

    assert cycle.status == RoscaCycle.Status.ACTIVE and cycle.started_at is not None
    plan = cycle.plan
    # Five rounds, monthly from 15 January: the last on 15 May; each due on the 15th.
    assert (plan.amount, plan.frequency, plan.due_day, plan.start_date, plan.end_date, plan.target) == (
        D("2000.00"),
        "monthly",
        15,
        date(2027, 1, 15),
        date(2027, 5, 15),
        "rosca_pot",
    )
    third = slots[2].membership
    told = Notification.objects.get(user=third.user)
    assert told.title == f"{tujenge}: you receive the pot in round 3"
    assert "the pot of KES 10,000.00 in round 3, on 15 Mar 2027" in told.body

    # The rounds are dues like any other, paid into the pot.
    today_is(date(2027, 1, 15))
    dues_service.generate_dues(period=(2027, 1), chama=tujenge)
    assert Due.objects.filter(plan=plan).count() == 5
    dues_service.payment_record(membership=third, amount=D("2000"), method="cash", by=tujenge.treasurer.user)
    assert ledger.chama_account(tujenge, Account.Purpose.ROSCA_POT).normal_balance == D("2000.00")

    with pytest.raises(ValidationError, match="only change while the cycle is a draft"):
        rosca.roster_draw(cycle=cycle, by=tujenge.treasurer.user)


def test_a_second_cycle_waits_for_the_first_to_finish(tujenge):
    first = new_cycle(tujenge)
    rosca.roster_draw(cycle=first, by=tujenge.treasurer.user)
    rosca.cycle_start(cycle=first, by=tujenge.treasurer.user)
    second = new_cycle(tujenge, name="2028")
    rosca.roster_draw(cycle=second, by=tujenge.treasurer.user)
    with pytest.raises(ValidationError, match="2027 is still running"):
        rosca.cycle_start(cycle=second, by=tujenge.treasurer.user)


@pytest.mark.parametrize(
    ("frequency", "rounds"),
    [
        ("weekly", [date(2027, 1, 15), date(2027, 1, 22), date(2027, 1, 29)]),
        ("fortnightly", [date(2027, 1, 15), date(2027, 1, 29), date(2027, 2, 12)]),
        ("monthly", [date(2027, 1, 15), date(2027, 2, 15), date(2027, 3, 15)]),
    ],
)
def test_round_dates_follow_the_frequency(tujenge, frequency, rounds):
    cycle = new_cycle(tujenge, frequency=frequency)
    assert [cycle.round_date(n) for n in (1, 2, 3)] == rounds


# --- swaps and deferrals ----------------------------------------------------------------------------


def started(chama):
    """The cycle started with the roster in join order: treasurer, secretary, then the three members."""
    cycle = new_cycle(chama, roster_method="agreement")
    order = [chama.treasurer, chama.secretary, *chama.members]
    rosca.roster_set(cycle=cycle, membership_ids=[m.pk for m in order], by=chama.treasurer.user)
    rosca.cycle_start(cycle=cycle, by=chama.treasurer.user)
    cycle.refresh_from_db()
    return cycle


def positions(cycle):
    return {slot.membership_id: slot.position for slot in cycle.slots.all()}


def test_a_swap_needs_the_other_members_consent_then_an_officer_who_is_neither(tujenge):
    cycle = started(tujenge)
    wanjiku, otieno, _ = tujenge.members  # rounds 3 and 4
    change = rosca.swap_request(cycle=cycle, membership=wanjiku, other=otieno, by=wanjiku.user)
    assert Notification.objects.filter(user=otieno.user, title__contains="asks to swap rounds").exists()
    with pytest.raises(PermissionDenied):
        rosca.swap_consent(change=change, by=wanjiku.user, agree=True)  # only Otieno answers
    with pytest.raises(ValidationError, match="already has a request waiting"):
        rosca.defer_request(cycle=cycle, membership=wanjiku, by=wanjiku.user)
    rosca.swap_consent(change=change, by=otieno.user, agree=True)
    with pytest.raises(PermissionDenied):
        rosca.change_approve(change=change, by=otieno.user)  # a plain member, and one of the two
    rosca.change_approve(change=change, by=tujenge.secretary.user)

    assert (positions(cycle)[wanjiku.pk], positions(cycle)[otieno.pk]) == (4, 3)
    told = Notification.objects.get(user=wanjiku.user, title__contains="you now receive the pot in round 4")
    assert "15 Apr 2027" in told.body


def test_a_declined_swap_changes_nothing(tujenge):
    cycle = started(tujenge)
    wanjiku, otieno, _ = tujenge.members
    change = rosca.swap_request(cycle=cycle, membership=wanjiku, other=otieno, by=wanjiku.user)
    assert rosca.swap_consent(change=change, by=otieno.user, agree=False).status == "declined"
    assert (positions(cycle)[wanjiku.pk], positions(cycle)[otieno.pk]) == (3, 4)


def test_deferring_takes_the_member_to_the_end_and_moves_the_others_up(tujenge):
    cycle = started(tujenge)
    secretary = tujenge.secretary  # round 2
    change = rosca.defer_request(cycle=cycle, membership=secretary, by=secretary.user)
    with pytest.raises(PermissionDenied, match="A member whose round moves cannot approve it"):
        rosca.change_approve(change=change, by=secretary.user)  # their own request
    rosca.change_approve(change=change, by=tujenge.treasurer.user)
    order = [tujenge.treasurer, *tujenge.members, secretary]
    assert [positions(cycle)[m.pk] for m in order] == [1, 2, 3, 4, 5]


def test_a_round_already_paid_cannot_move_and_a_rejection_needs_a_reason(tujenge):
    cycle = started(tujenge)
    treasurer = tujenge.treasurer  # round 1
    today_is(date(2027, 1, 15))
    dues_service.generate_dues(period=(2027, 1), chama=tujenge)
    for member in [treasurer, tujenge.secretary, *tujenge.members]:
        dues_service.payment_record(membership=member, amount=D("2000"), method="cash", by=treasurer.user)
    chair = joined(tujenge, Role.CHAIRPERSON)
    rosca.round_payout(cycle=cycle, position=1, method="cash", by=chair.user)
    with pytest.raises(ValidationError, match="round 1 is already paid out"):
        rosca.swap_request(cycle=cycle, membership=tujenge.members[0], other=treasurer, by=tujenge.members[0].user)
    change = rosca.defer_request(cycle=cycle, membership=tujenge.members[0], by=tujenge.members[0].user)
    with pytest.raises(ValidationError, match="Say why"):
        rosca.change_reject(change=change, by=chair.user, reason="")
    assert rosca.change_reject(change=change, by=chair.user, reason="Agreed at the AGM").status == "rejected"
