"""The attendance register and Membership.attendance_percentage: the share of held meetings a
member attended, under each of the policy's rules for excused absences, followed through every
kind of edit (a register saved or re-saved, a row's status changed or the row deleted, a meeting
held, cancelled, held again or deleted); the quorum on a meeting; absence and lateness fines
charged once per member per meeting. Every percentage is worked out by hand in the test.
"""

from datetime import time, timedelta
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from chama import authority
from chama.roles import MembershipStatus, Role
from finance.models import Account, Due, Journal
from finance.services import dues as dues_service
from finance.services import ledger
from groups import services as group_services
from groups.models import Membership
from meetings import attendance, services
from meetings.models import Attendance, Meeting
from tests.factories import ChamaFactory, MembershipFactory, UserFactory, backdating_approved


@pytest.fixture
def club(db):
    """A chama with a secretary and three members; excused absences are left out by default."""
    chama = ChamaFactory(name="Umoja", policy={"absence_fine_amount": D("200"), "lateness_fine_amount": D("50")})
    backdating_approved(chama, chama.today() - timedelta(days=60))  # registers of meetings up to 50 days back are fined
    secretary = MembershipFactory(chama=chama, role=Role.SECRETARY, user=UserFactory())
    amina, baraka, chebet = (MembershipFactory(chama=chama, user=UserFactory()) for _ in range(3))
    return chama, secretary.user, amina, baraka, chebet


def past_meeting(chama, by, days_ago):
    return services.meeting_create(
        chama=chama, by=by, title=f"Meeting {days_ago} days ago", starts_at=timezone.now() - timedelta(days=days_ago)
    )


def hold(chama, by, days_ago, statuses, held=True):
    """A past meeting with its register: `statuses` maps a membership to a status."""
    meeting = past_meeting(chama, by, days_ago)
    services.register_save(
        meeting=meeting, by=by, entries={m.pk: {"status": s} for m, s in statuses.items()}, held=held
    )
    return meeting


def percentage(membership):
    return Membership.objects.get(pk=membership.pk).attendance_percentage


def set_rule(chama, rule):
    chama.policy.excused_absences = rule
    chama.policy.save()


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        # Amina: present, late, excused, apology, absent at five held meetings.
        ("excluded", D("66.67")),  # 2 attended of the 3 that count
        ("attended", D("80.00")),  # 4 of 5
        ("absent", D("40.00")),  # 2 of 5
    ],
)
def test_percentage_follows_the_policy_rule_for_excused_absences(club, rule, expected):
    chama, secretary, amina, baraka, _ = club
    set_rule(chama, rule)
    for days_ago, status in zip((50, 40, 30, 20, 10), ("present", "late", "excused", "apology", "absent"), strict=True):
        hold(chama, secretary, days_ago, {amina: status, baraka: "present"})

    assert percentage(amina) == expected
    assert percentage(baraka) == D("100.00")
    assert attendance.percentages([amina.pk])[amina.pk] == expected


def test_no_percentage_before_a_held_meeting_or_when_only_excused_rows_count(club):
    chama, secretary, amina, baraka, chebet = club
    assert percentage(amina) is None
    hold(chama, secretary, 10, {amina: "apology", baraka: "present"})

    assert percentage(amina) is None  # excluded rule: nothing counts yet
    assert percentage(baraka) == D("100.00")
    assert percentage(chebet) is None  # not on any register


def test_percentage_follows_every_edit_of_the_register(club):
    chama, secretary, amina, baraka, chebet = club
    first = hold(chama, secretary, 30, {amina: "present", baraka: "absent"})
    second = hold(chama, secretary, 20, {amina: "absent", baraka: "present"})
    third = hold(chama, secretary, 10, {amina: "present", baraka: "present"})
    assert (percentage(amina), percentage(baraka)) == (D("66.67"), D("66.67"))

    # The register saved again with a corrected status.
    services.register_save(meeting=second, by=secretary, entries={amina.pk: {"status": "late"}})
    assert percentage(amina) == D("100.00")

    # One row's status changed and saved directly.
    row = Attendance.objects.get(meeting=third, membership=amina)
    row.status = Attendance.Status.ABSENT
    row.save()
    assert percentage(amina) == D("66.67")

    # A row deleted: 2 of the remaining 2 meetings for Amina (present, late).
    row.delete()
    assert percentage(amina) == D("100.00")

    # Rows deleted through a queryset: Baraka keeps only the first meeting, where he was absent.
    Attendance.objects.filter(membership=baraka, meeting__in=[second, third]).delete()
    assert percentage(baraka) == D("0.00")

    # A member added to a held meeting's register later.
    services.register_save(meeting=first, by=secretary, entries={chebet.pk: {"status": "late"}})
    assert percentage(chebet) == D("100.00")

    # Every row gone: no percentage.
    Attendance.objects.filter(membership=baraka).delete()
    assert percentage(baraka) is None


def test_percentage_follows_the_meeting_held_cancelled_and_held_again(club):
    chama, secretary, amina, baraka, _ = club
    hold(chama, secretary, 30, {amina: "present", baraka: "present"})
    second = hold(chama, secretary, 20, {amina: "absent", baraka: "present"})
    assert percentage(amina) == D("50.00")

    services.meeting_set_status(meeting=second, status=Meeting.Status.CANCELLED, by=secretary)
    assert percentage(amina) == D("100.00")

    services.meeting_set_status(meeting=second, status=Meeting.Status.HELD, by=secretary)
    assert percentage(amina) == D("50.00")

    # The status changed on the model itself, as the admin's change form does.
    second.refresh_from_db()
    second.status = Meeting.Status.POSTPONED
    second.save()
    assert percentage(amina) == D("100.00")
    assert percentage(baraka) == D("100.00")

    # Other edits of a meeting leave the percentages alone.
    second.title = "Postponed meeting"
    second.save()
    assert percentage(amina) == D("100.00")


def test_a_register_kept_before_the_meeting_is_marked_held_counts_once_it_is(club):
    chama, secretary, amina, _, _ = club
    hold(chama, secretary, 30, {amina: "present"})
    draft = hold(chama, secretary, 20, {amina: "absent"}, held=False)
    assert draft.status == Meeting.Status.SCHEDULED
    assert percentage(amina) == D("100.00")
    assert not Due.objects.filter(membership=amina, kind=Due.Kind.FINE).exists()  # no fines until held

    services.register_save(meeting=draft, by=secretary, entries={amina.pk: {"status": "absent"}})
    assert percentage(amina) == D("50.00")
    assert Due.objects.get(membership=amina, kind=Due.Kind.FINE).amount == D("200.00")


def test_deleting_a_meeting_takes_its_register_out_of_the_percentages(club):
    chama, secretary, amina, _, _ = club
    hold(chama, secretary, 30, {amina: "present"})
    extra = hold(chama, secretary, 20, {amina: "excused"}, held=False)  # no fines: never held
    services.meeting_set_status(meeting=extra, status=Meeting.Status.HELD, by=secretary)
    set_rule(chama, "absent")
    attendance.refresh([amina.pk])  # a policy change is applied by refreshing (reconcile does it too)
    assert percentage(amina) == D("50.00")

    extra.delete()
    assert percentage(amina) == D("100.00")


def test_a_policy_change_shows_as_drift_until_refreshed(club):
    chama, secretary, amina, _, _ = club
    hold(chama, secretary, 30, {amina: "present"})
    hold(chama, secretary, 20, {amina: "excused"})
    assert percentage(amina) == D("100.00")

    set_rule(chama, "absent")
    assert [(m.pk, cached, actual) for m, cached, actual in attendance.drift(chama)] == [
        (amina.pk, D("100.00"), D("50.00"))
    ]
    for item in attendance.reconcile_drift(chama):
        item.repair()
    assert percentage(amina) == D("50.00")
    assert attendance.drift(chama) == []


def test_percentages_of_two_chamas_do_not_mix(club):
    chama, secretary, amina, _, _ = club
    other = ChamaFactory(name="Tujenge", policy={"excused_absences": "attended"})
    other_secretary = MembershipFactory(chama=other, role=Role.SECRETARY, user=UserFactory()).user
    amina_there = MembershipFactory(chama=other, user=amina.user)
    hold(chama, secretary, 20, {amina: "excused"})
    hold(chama, secretary, 10, {amina: "absent"})
    hold(other, other_secretary, 10, {amina_there: "excused"})

    assert percentage(amina) == D("0.00")  # Umoja leaves excused absences out: 0 of 1
    assert percentage(amina_there) == D("100.00")  # Tujenge counts them as attended


def test_the_register_refuses_members_of_another_chama_and_unknown_statuses(club):
    chama, secretary, amina, _, _ = club
    stranger = MembershipFactory(chama=ChamaFactory(name="Tujenge"), user=UserFactory())
    meeting = past_meeting(chama, secretary, 5)

    with pytest.raises(ValidationError, match="Not members of Umoja"):
        services.register_save(
            meeting=meeting, by=secretary, entries={amina.pk: {"status": "present"}, stranger.pk: {"status": "present"}}
        )
    with pytest.raises(ValidationError, match="Give a status"):
        services.register_save(meeting=meeting, by=secretary, entries={amina.pk: {"status": "asleep"}})
    meeting.refresh_from_db()
    assert not meeting.attendance.exists()
    assert meeting.status == Meeting.Status.SCHEDULED
    assert percentage(amina) is None


def test_only_the_chairperson_and_secretary_keep_the_register(club):
    chama, _, amina, _, _ = club
    treasurer = MembershipFactory(chama=chama, role=Role.TREASURER, user=UserFactory()).user
    meeting = past_meeting(chama, MembershipFactory(chama=chama, role=Role.CHAIRPERSON, user=UserFactory()).user, 5)

    with pytest.raises(authority.Refused, match="Only the chairperson or secretary of Umoja may"):
        services.register_save(meeting=meeting, by=treasurer, entries={amina.pk: {"status": "present"}})
    with pytest.raises(authority.Refused, match="Only the chairperson or secretary of Umoja may"):
        services.register_save(meeting=meeting, by=amina.user, entries={amina.pk: {"status": "present"}})
    assert not Attendance.objects.exists()


def test_a_future_meeting_cannot_be_marked_held(club):
    chama, secretary, amina, _, _ = club
    meeting = services.meeting_create(
        chama=chama, by=secretary, title="Next", starts_at=timezone.now() + timedelta(days=2)
    )

    with pytest.raises(ValidationError, match="before it starts"):
        services.register_save(meeting=meeting, by=secretary, entries={amina.pk: {"status": "absent"}})
    assert not Attendance.objects.filter(meeting=meeting).exists()  # nothing half-saved
    assert not Due.objects.exists()


def test_quorum_is_the_policys_share_of_active_members_rounded_up(club):
    chama, secretary, amina, baraka, chebet = club
    exited = MembershipFactory(chama=chama, user=UserFactory())
    group_services.membership_change_status(
        membership=exited, status=MembershipStatus.EXITED, by=secretary, reason="Moved"
    )
    meeting = past_meeting(chama, secretary, 3)
    # Four active members (the secretary and three others); 50% of 4 is 2.
    assert services.quorum(meeting) == (0, 2, False)

    services.register_save(
        meeting=meeting, by=secretary, entries={amina.pk: {"status": "present"}, baraka.pk: {"status": "excused"}}
    )
    assert services.quorum(meeting) == (1, 2, False)
    services.register_save(
        meeting=meeting, by=secretary, entries={chebet.pk: {"status": "late", "arrived_at": time(14, 25)}}
    )
    assert services.quorum(meeting) == (2, 2, True)

    chama.policy.quorum_percentage = D("60")  # 60% of 4 = 2.4, so 3 are needed
    chama.policy.save()
    meeting.chama.policy.refresh_from_db()
    assert services.quorum(meeting) == (2, 3, False)

    chama.policy.quorum_percentage = D("25.01")  # 25.01% of 4 = 1.0004: a hair over one member, so 2
    chama.policy.save()
    assert services.quorum_required(chama) == 2
    chama.policy.quorum_percentage = D("25")
    chama.policy.save()
    assert services.quorum_required(chama) == 1


# --- fines for absence and lateness ------------------------------------------------------------


def fines_receivable(membership):
    return ledger.member_account(membership, Account.Purpose.FINES_RECEIVABLE).normal_balance


def test_absence_and_lateness_fines_are_charged_once_per_member_per_meeting(club):
    chama, secretary, amina, baraka, chebet = club
    treasurer = MembershipFactory(chama=chama, role=Role.TREASURER, user=UserFactory())
    meeting = hold(chama, secretary, 7, {amina: "absent", baraka: "late", chebet: "apology"})

    assert fines_receivable(amina) == D("200.00")
    assert fines_receivable(baraka) == D("50.00")
    assert fines_receivable(chebet) == D("0.00")  # an apology is not fined
    fine = Due.objects.get(membership=amina, kind=Due.Kind.FINE)
    assert (fine.amount, fine.description) == (D("200.00"), f"Fine: Absent from {meeting}")
    assert fine.due_date == meeting.starts_at.astimezone(timezone.get_fixed_timezone(180)).date()  # Nairobi is UTC+3

    # The register saved again and the fines run again: nothing more.
    services.register_save(
        meeting=meeting, by=secretary, entries={amina.pk: {"status": "absent"}, baraka.pk: {"status": "late"}}
    )
    assert services.charge_meeting_fines(meeting=meeting, by=secretary) == []
    assert services.fines_to_review(meeting) == []

    # Statuses corrected after the fines: still one fine each, never a second one; the fines that
    # no longer fit are listed for the treasurer to waive.
    services.register_save(
        meeting=meeting,
        by=secretary,
        entries={amina.pk: {"status": "late"}, baraka.pk: {"status": "present"}, chebet.pk: {"status": "absent"}},
    )
    assert Journal.objects.filter(kind=Journal.Kind.FINE_CHARGE).count() == 3
    assert (fines_receivable(amina), fines_receivable(baraka), fines_receivable(chebet)) == (
        D("200.00"),
        D("50.00"),
        D("200.00"),
    )
    assert [due.membership for due in services.fines_to_review(meeting)] == [amina, baraka]

    dues_service.waiver_request(
        due=Due.objects.get(membership=baraka, kind=Due.Kind.FINE), reason="Was on time", by=treasurer.user
    )
    assert [due.membership for due in services.fines_to_review(meeting)] == [amina]
    assert fines_receivable(baraka) == D("0.00")


def test_no_fines_when_the_policy_sets_none(db):
    chama = ChamaFactory(name="Upendo")
    secretary = MembershipFactory(chama=chama, role=Role.SECRETARY, user=UserFactory()).user
    amina = MembershipFactory(chama=chama, user=UserFactory())
    hold(chama, secretary, 7, {amina: "absent"})

    assert not Due.objects.filter(kind=Due.Kind.FINE).exists()
    assert percentage(amina) == D("0.00")


def test_fines_of_two_meetings_are_separate(club):
    chama, secretary, amina, _, _ = club
    hold(chama, secretary, 14, {amina: "absent"})
    hold(chama, secretary, 7, {amina: "late"})

    assert sorted(Due.objects.filter(membership=amina, kind=Due.Kind.FINE).values_list("amount", flat=True)) == [
        D("50.00"),
        D("200.00"),
    ]
    assert fines_receivable(amina) == D("250.00")
