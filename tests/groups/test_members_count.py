"""Chama.members_count (the active memberships) is kept by signals: it must stay right through every
way a membership row changes, bulk writes that would skip the signals are refused, and the drift
check finds and repairs a tampered cache."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from chama.roles import MembershipStatus, Role
from groups import services
from groups.models import Chama, Membership
from tests.factories import ChamaFactory, MembershipFactory, UserFactory, member

ACTIVE = MembershipStatus.ACTIVE
PENDING = MembershipStatus.PENDING
SUSPENDED = MembershipStatus.SUSPENDED
EXITED = MembershipStatus.EXITED


def assert_count(chama, expected):
    """The cached count, and the real number of active rows, are both `expected` (worked out by hand)."""
    cached = Chama.objects.get(pk=chama.pk).members_count
    actual = Membership.objects.filter(chama=chama, status=ACTIVE).count()
    assert (cached, actual) == (expected, expected)


def membership_of(chama, user):
    return Membership.objects.get(chama=chama, user=user)


@pytest.mark.django_db
def test_new_chama_counts_nobody_and_a_chairperson_counts_one():
    empty = ChamaFactory()
    assert_count(empty, 0)

    chama = services.chama_create(
        name="Umoja", kind=Chama.Kind.VSLA, category=Chama.Category.SAVINGS, chairperson=UserFactory()
    )
    assert_count(chama, 1)


def test_count_through_admit_exit_rejoin_suspend_and_reinstate(chama, secretary):
    assert_count(chama, 1)  # the secretary
    people = [UserFactory() for _ in range(3)]
    for person in people:
        services.admit_member(chama=chama, user=person)
    assert_count(chama, 4)

    first = membership_of(chama, people[0])
    services.membership_change_status(membership=first, status=EXITED, by=secretary, reason="Moved")
    assert_count(chama, 3)

    services.admit_member(chama=chama, user=people[0])  # re-join
    assert_count(chama, 4)

    second = membership_of(chama, people[1])
    services.membership_change_status(membership=second, status=SUSPENDED, by=secretary)
    assert_count(chama, 3)

    services.membership_change_status(membership=second, status=EXITED, by=secretary)  # suspended → exited
    assert_count(chama, 3)

    third = membership_of(chama, people[2])
    services.membership_change_status(membership=third, status=SUSPENDED, by=secretary)
    assert_count(chama, 2)

    services.membership_change_status(membership=third, status=ACTIVE, by=secretary)  # reinstate
    assert_count(chama, 3)

    services.membership_change_status(membership=second, status=ACTIVE, by=secretary)  # exited → active
    assert_count(chama, 4)


def test_role_change_and_no_op_status_change_leave_the_count(chama, chairperson, secretary):
    person = member(chama)
    assert_count(chama, 3)
    membership = membership_of(chama, person)

    services.membership_change_role(membership=membership, role=Role.TREASURER, by=chairperson)
    services.membership_change_status(membership=membership, status=ACTIVE, by=secretary)

    assert_count(chama, 3)


def test_failed_admit_does_not_move_the_count(chama, plain_member, secretary):
    assert_count(chama, 2)

    with pytest.raises(ValidationError):
        services.admit_member(chama=chama, user=plain_member)
    with pytest.raises(ValidationError):
        services.admit_member(chama=chama, user=UserFactory(), member_number="M001")

    assert_count(chama, 2)


def test_pending_membership_counts_once_active(chama, secretary):
    first = Membership.objects.create(chama=chama, user=UserFactory(), member_number="M010", status=PENDING)
    second = Membership.objects.create(chama=chama, user=UserFactory(), member_number="M011", status=PENDING)
    assert_count(chama, 1)

    services.membership_change_status(membership=first, status=ACTIVE, by=secretary)
    assert_count(chama, 2)

    services.admit_member(chama=chama, user=second.user)  # admitting a pending membership activates it
    assert_count(chama, 3)
    assert membership_of(chama, second.user).member_number == "M011"


def test_pending_to_exited_does_not_count(chama, secretary):
    pending = Membership.objects.create(chama=chama, user=UserFactory(), member_number="M010", status=PENDING)

    services.membership_change_status(membership=pending, status=EXITED, by=secretary)

    assert_count(chama, 1)


def test_join_request_and_invitation_admissions_count(chama, secretary):
    join_request = services.join_request_create(chama=chama, user=UserFactory())
    services.join_request_approve(join_request=join_request, by=secretary)
    assert_count(chama, 2)

    invitation = services.invitation_create(chama=chama, by=secretary, phone_number="+254733123456")
    services.invitation_accept(
        token=invitation.token, first_name="Ann", last_name="Wairimu", password="Mavuno-Shamba-2025"
    )
    assert_count(chama, 3)


def test_delete_through_a_queryset(chama, secretary):
    people = [member(chama) for _ in range(3)]
    assert_count(chama, 4)

    Membership.objects.filter(pk=membership_of(chama, people[0]).pk).delete()
    assert_count(chama, 3)

    exited = membership_of(chama, people[1])
    services.membership_change_status(membership=exited, status=EXITED, by=secretary)
    assert_count(chama, 2)
    Membership.objects.filter(pk=exited.pk).delete()  # an exited row was not counted
    assert_count(chama, 2)

    Membership.objects.filter(chama=chama, user=people[2]).delete()
    assert_count(chama, 1)


def test_delete_an_instance(chama, secretary):
    people = [member(chama) for _ in range(3)]
    assert_count(chama, 4)

    membership_of(chama, people[0]).delete()
    assert_count(chama, 3)

    suspended = services.membership_change_status(
        membership=membership_of(chama, people[1]), status=SUSPENDED, by=secretary
    )
    assert_count(chama, 2)
    suspended.delete()
    assert_count(chama, 2)

    # An instance changed in memory but not saved: the stored (active) row is what goes.
    third = membership_of(chama, people[2])
    third.status = EXITED
    third.delete()
    assert_count(chama, 1)


def test_delete_the_instance_a_service_returned(chama):
    membership = MembershipFactory(chama=chama)
    assert_count(chama, 1)

    membership.delete()

    assert_count(chama, 0)


def test_delete_an_instance_refreshed_after_a_status_change(chama, secretary):
    membership = MembershipFactory(chama=chama)  # active when this instance was made
    assert_count(chama, 2)
    services.membership_change_status(membership=membership, status=EXITED, by=secretary)
    assert_count(chama, 1)
    membership.refresh_from_db()
    assert membership.status == EXITED

    membership.delete()  # an exited row was not counted

    assert_count(chama, 1)


def test_save_an_instance_refreshed_after_a_status_change(chama, secretary):
    membership = MembershipFactory(chama=chama)
    services.membership_change_status(membership=membership, status=EXITED, by=secretary)
    assert_count(chama, 1)
    membership.refresh_from_db()

    membership.exit_reason = "Moved to Kisumu"
    membership.save()

    assert_count(chama, 1)


def test_delete_a_stale_instance_counts_the_stored_row(chama, secretary):
    membership = MembershipFactory(chama=chama)  # this instance still says "active"
    services.membership_change_status(membership=membership, status=EXITED, by=secretary)
    assert_count(chama, 1)

    membership.delete()  # the row deleted is the stored, exited one

    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert_count(chama, 1)


def test_save_with_update_fields_that_leave_out_the_status(chama):
    membership = MembershipFactory(chama=chama)
    assert_count(chama, 1)

    membership.status = EXITED  # changed in memory only: not among the fields written
    membership.exit_reason = "typo fixed"
    membership.save(update_fields=["exit_reason", "updated_date"])

    assert Membership.objects.get(pk=membership.pk).status == ACTIVE
    assert_count(chama, 1)


def test_save_an_instance_loaded_with_deferred_fields(chama):
    membership = MembershipFactory(chama=chama)
    assert_count(chama, 1)

    partial = Membership.objects.only("pk", "exit_reason").get(pk=membership.pk)
    partial.exit_reason = "note"
    partial.save()

    assert_count(chama, 1)


def test_a_row_saved_from_an_instance_not_loaded_from_the_database(chama):
    original = MembershipFactory(chama=chama)
    assert_count(chama, 1)

    def unloaded(status, **extra):
        return Membership(
            pk=original.pk,
            chama=chama,
            user=original.user,
            member_number=original.member_number,
            role=Role.MEMBER,
            status=status,
            joined_date=dt.date(2024, 1, 1),
            created_date=original.created_date,  # an UPDATE does not fill auto_now_add fields
            **extra,
        )

    unloaded(EXITED, exited_date=dt.date(2024, 6, 1), exit_reason="Left").save()
    assert Membership.objects.get(pk=original.pk).status == EXITED
    assert Membership.objects.filter(chama=chama).count() == 1  # the row was updated, not duplicated
    assert_count(chama, 0)

    unloaded(EXITED).save()  # exited over exited
    assert_count(chama, 0)

    unloaded(ACTIVE).save()
    assert_count(chama, 1)

    unloaded(ACTIVE).save()  # active over active
    assert_count(chama, 1)

    unloaded(SUSPENDED).save()
    assert_count(chama, 0)


def test_an_unloaded_instance_can_also_be_deleted(chama):
    original = MembershipFactory(chama=chama)
    assert_count(chama, 1)

    Membership(pk=original.pk, chama=chama, user=original.user, status=ACTIVE).delete()

    assert not Membership.objects.filter(pk=original.pk).exists()
    assert_count(chama, 0)


def test_moving_a_membership_to_another_chama(chama, other_chama):
    membership = MembershipFactory(chama=chama)
    MembershipFactory(chama=other_chama)
    assert_count(chama, 1)
    assert_count(other_chama, 1)

    membership = Membership.objects.get(pk=membership.pk)
    membership.chama = other_chama
    membership.member_number = "M900"
    membership.save()

    assert_count(chama, 0)
    assert_count(other_chama, 2)


def test_counts_of_two_chamas_are_independent(chama, other_chama, secretary):
    shared = member(chama)
    services.admit_member(chama=other_chama, user=shared)
    assert_count(chama, 2)
    assert_count(other_chama, 1)

    services.membership_change_status(membership=membership_of(chama, shared), status=EXITED, by=secretary)

    assert_count(chama, 1)
    assert_count(other_chama, 1)


# --------------------------------------------------------------------------- bulk writes are refused


def test_bulk_writes_are_refused(chama):
    membership = MembershipFactory(chama=chama)
    assert_count(chama, 1)

    with pytest.raises(TypeError):
        Membership.objects.update(status=EXITED)
    with pytest.raises(TypeError):
        Membership.objects.filter(pk=membership.pk).update(status=EXITED)
    with pytest.raises(TypeError):
        chama.memberships.update(status=EXITED)
    with pytest.raises(TypeError):
        Membership.objects.bulk_create([Membership(chama=chama, user=UserFactory(), member_number="M002")])
    membership.status = SUSPENDED
    with pytest.raises(TypeError):
        Membership.objects.bulk_update([membership], ["status"])

    assert Membership.objects.filter(chama=chama).count() == 1
    assert Membership.objects.get(pk=membership.pk).status == ACTIVE
    assert_count(chama, 1)


# --------------------------------------------------------------------------- drift check and repair


def test_members_count_drift_reports_and_fix_repairs_a_tampered_cache(chama, other_chama):
    MembershipFactory(chama=chama)
    MembershipFactory(chama=chama)
    MembershipFactory(chama=other_chama)
    assert services.members_count_drift() == []

    Chama.objects.filter(pk=chama.pk).update(members_count=99)

    drift = services.members_count_drift()
    assert [(c.pk, cached, actual) for c, cached, actual in drift] == [(chama.pk, 99, 2)]
    assert [(c.pk, cached, actual) for c, cached, actual in services.members_count_drift(chama)] == [(chama.pk, 99, 2)]
    assert services.members_count_drift(other_chama) == []

    fixed = services.members_count_fix()

    assert [(c.pk, cached, actual) for c, cached, actual in fixed] == [(chama.pk, 99, 2)]
    assert Chama.objects.get(pk=chama.pk).members_count == 2
    assert Chama.objects.get(pk=other_chama.pk).members_count == 1
    assert services.members_count_drift() == []
    assert services.members_count_fix() == []


def test_drift_counts_only_active_memberships(chama, secretary):
    people = [member(chama) for _ in range(3)]
    services.membership_change_status(membership=membership_of(chama, people[0]), status=EXITED, by=secretary)
    services.membership_change_status(membership=membership_of(chama, people[1]), status=SUSPENDED, by=secretary)
    Chama.objects.filter(pk=chama.pk).update(members_count=0)

    drift = services.members_count_drift(chama)

    assert [(c.pk, cached, actual) for c, cached, actual in drift] == [(chama.pk, 0, 2)]  # secretary + people[2]
    services.members_count_fix(chama)
    assert_count(chama, 2)
