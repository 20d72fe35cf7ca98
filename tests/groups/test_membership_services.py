"""groups.services against the real database: admitting, adding, status and role changes, join
requests, invitations and the chama's own status. Dates are pinned by patching `timezone.now`."""

import datetime as dt
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from chama import authority
from chama.roles import MembershipStatus, Role
from groups import services
from groups.models import Chama, Invitation, JoinRequest, Membership
from tests.factories import ChamaFactory, InvitationFactory, JoinRequestFactory, UserFactory, member

User = get_user_model()

ACTIVE = MembershipStatus.ACTIVE
PENDING = MembershipStatus.PENDING
SUSPENDED = MembershipStatus.SUSPENDED
EXITED = MembershipStatus.EXITED


def utc(year, month, day, hour=0, minute=0):
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


def frozen(moment):
    """Pin `django.utils.timezone.now` (which localdate, auto_now and the services all read)."""
    return mock.patch("django.utils.timezone.now", return_value=moment)


def messages_of(exc_info):
    return " ".join(exc_info.value.messages)


def stored(membership):
    return Membership.objects.get(pk=membership.pk)


def members_count(chama):
    return Chama.objects.get(pk=chama.pk).members_count


# --------------------------------------------------------------------------- admit_member


@pytest.mark.django_db
def test_admit_member_numbers_members_in_order():
    chama = ChamaFactory()
    people = [UserFactory() for _ in range(3)]

    memberships = [services.admit_member(chama=chama, user=person) for person in people]

    assert [m.member_number for m in memberships] == ["M001", "M002", "M003"]
    assert all(m.status == ACTIVE and m.role == Role.MEMBER for m in memberships)
    assert list(Membership.objects.filter(chama=chama).values_list("member_number", flat=True)) == [
        "M001",
        "M002",
        "M003",
    ]
    assert members_count(chama) == 3


@pytest.mark.django_db
def test_admit_member_continues_after_the_highest_number_and_ignores_other_formats():
    chama = ChamaFactory()
    services.admit_member(chama=chama, user=UserFactory(), member_number="M007")
    services.admit_member(chama=chama, user=UserFactory(), member_number="FOUNDER-1")

    nxt = services.admit_member(chama=chama, user=UserFactory())

    assert nxt.member_number == "M008"


@pytest.mark.django_db
def test_numbers_are_per_chama():
    first, second = ChamaFactory(), ChamaFactory()
    services.admit_member(chama=first, user=UserFactory())
    services.admit_member(chama=first, user=UserFactory())

    assert services.admit_member(chama=second, user=UserFactory()).member_number == "M001"


@pytest.mark.django_db
def test_admit_member_refuses_a_taken_member_number():
    chama = ChamaFactory()
    services.admit_member(chama=chama, user=UserFactory(), member_number="M005")

    with pytest.raises(ValidationError) as exc_info:
        services.admit_member(chama=chama, user=UserFactory(), member_number="M005")

    assert "member_number" in exc_info.value.message_dict
    assert Membership.objects.filter(chama=chama).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "tz, moment, expected",
    [
        # 11:00 UTC on 31 March is already 1 April 01:00 at UTC+14 (server zone Nairobi: still 31 March).
        ("Pacific/Kiritimati", utc(2025, 3, 31, 11), dt.date(2025, 4, 1)),
        # 22:00 UTC on 31 March is 1 April in Nairobi but still 31 March 11:00 at UTC-11.
        ("Pacific/Pago_Pago", utc(2025, 3, 31, 22), dt.date(2025, 3, 31)),
        ("Africa/Nairobi", utc(2025, 3, 31, 22), dt.date(2025, 4, 1)),
    ],
)
def test_joined_date_is_today_in_the_chamas_time_zone(tz, moment, expected):
    chama = ChamaFactory(timezone=tz)
    person = UserFactory()

    with frozen(moment):
        membership = services.admit_member(chama=chama, user=person)

    assert stored(membership).joined_date == expected


@pytest.mark.django_db
def test_admit_member_keeps_a_given_joined_date():
    chama = ChamaFactory()

    membership = services.admit_member(chama=chama, user=UserFactory(), joined_date=dt.date(2020, 6, 1))

    assert stored(membership).joined_date == dt.date(2020, 6, 1)


@pytest.mark.django_db
def test_admit_member_refuses_an_active_member(chama, plain_member):
    with pytest.raises(ValidationError) as exc_info:
        services.admit_member(chama=chama, user=plain_member)

    assert "already a member" in messages_of(exc_info)
    assert Membership.objects.filter(chama=chama, user=plain_member).count() == 1


@pytest.mark.django_db
def test_admit_officer_gives_back_office_access():
    chama = ChamaFactory()
    person = UserFactory()
    assert not person.is_staff

    services.admit_member(chama=chama, user=person, role=Role.TREASURER)

    person.refresh_from_db()
    assert person.is_staff


def test_rejoin_after_exit_keeps_the_member_number_and_clears_the_exit(chama, secretary):
    person = UserFactory()
    with frozen(utc(2025, 1, 10, 9)):
        membership = services.admit_member(chama=chama, user=person)
    assert membership.member_number == "M002"  # the secretary is M001
    with frozen(utc(2025, 2, 1, 9)):
        services.membership_change_status(membership=membership, status=EXITED, by=secretary, reason="Moved to Mombasa")
    exited = stored(membership)
    assert (exited.status, exited.exited_date, exited.exit_reason) == (EXITED, dt.date(2025, 2, 1), "Moved to Mombasa")
    services.admit_member(chama=chama, user=UserFactory())  # M003 is issued meanwhile

    with frozen(utc(2025, 3, 3, 9)):
        again = services.admit_member(chama=chama, user=person)

    again = stored(again)
    assert again.pk == membership.pk
    assert again.member_number == "M002"
    assert again.status == ACTIVE
    assert again.joined_date == dt.date(2025, 3, 3)
    assert again.exited_date is None
    assert again.exit_reason == ""
    assert Membership.objects.filter(chama=chama, user=person).count() == 1


def test_suspended_person_cannot_be_admitted(chama, secretary):
    person = member(chama)
    membership = Membership.objects.get(chama=chama, user=person)
    services.membership_change_status(membership=membership, status=SUSPENDED, by=secretary)

    with pytest.raises(ValidationError) as exc_info:
        services.admit_member(chama=chama, user=person)

    assert "suspended" in messages_of(exc_info)
    assert stored(membership).status == SUSPENDED


@pytest.mark.django_db
def test_dissolved_chama_takes_no_new_members():
    chama = ChamaFactory(status=Chama.Status.DISSOLVED)

    with pytest.raises(ValidationError) as exc_info:
        services.admit_member(chama=chama, user=UserFactory())

    assert "dissolved" in messages_of(exc_info)
    assert not Membership.objects.filter(chama=chama).exists()


# --------------------------------------------------------------------------- member_add


def test_member_add_by_secretary_creates_a_person_without_a_usable_password(chama, secretary):
    users_before = User.objects.count()

    membership = services.member_add(
        chama=chama,
        by=secretary,
        phone_number="0712 345 678",
        first_name="Wanjiru",
        last_name="Kamau",
        email="Wanjiru.Kamau@Example.CO.KE",
        id_number="30111222",
    )

    assert User.objects.count() == users_before + 1
    person = User.objects.get(pk=membership.user_id)
    assert str(person.phone_number) == "+254712345678"
    assert (person.first_name, person.last_name, person.email, person.id_number) == (
        "Wanjiru",
        "Kamau",
        "wanjiru.kamau@example.co.ke",
        "30111222",
    )
    assert not person.has_usable_password()
    assert not person.is_staff
    membership = stored(membership)
    assert (membership.chama_id, membership.role, membership.status, membership.member_number) == (
        chama.pk,
        Role.MEMBER,
        ACTIVE,
        "M002",
    )
    assert members_count(chama) == 2


def test_member_add_reuses_a_person_known_by_phone_who_never_registered(chama, secretary, other_chama):
    known = services.member_add(
        chama=other_chama,
        by=member(other_chama, Role.SECRETARY),
        phone_number="+254700111222",
        first_name="Akinyi",
        last_name="Odhiambo",
    ).user
    users_before = User.objects.count()

    membership = services.member_add(
        chama=chama,
        by=secretary,
        phone_number="0700111222",
        first_name="Someone",
        last_name="Else",
    )

    assert membership.user_id == known.pk
    assert User.objects.count() == users_before
    known.refresh_from_db()
    assert (known.first_name, known.last_name) == ("Akinyi", "Odhiambo")
    assert set(known.memberships.values_list("chama_id", flat=True)) == {chama.pk, other_chama.pk}


def test_member_add_invites_a_registered_person_instead_of_enrolling_them(chama, secretary, other_chama):
    existing = UserFactory(phone_number="+254700111222", first_name="Akinyi", last_name="Odhiambo")
    services.admit_member(chama=other_chama, user=existing)
    users_before = User.objects.count()

    invitation = services.member_add(
        chama=chama,
        by=secretary,
        phone_number="0700111222",
        first_name="Someone",
        last_name="Else",
    )

    assert isinstance(invitation, Invitation)
    assert (str(invitation.phone_number), invitation.first_name, invitation.email) == ("+254700111222", "Akinyi", "")
    assert User.objects.count() == users_before
    existing.refresh_from_db()
    assert existing.has_usable_password()  # their own password is not touched
    assert set(existing.memberships.values_list("chama_id", flat=True)) == {other_chama.pk}


def add_ann(*, chama, by, **fields):
    """Ann Wairimu (+254712000999), added to `chama` by `by` through member_add."""
    return services.member_add(
        chama=chama, by=by, phone_number="+254712000999", first_name="Ann", last_name="Wairimu", **fields
    )


@pytest.mark.parametrize("role", [Role.CHAIRPERSON, Role.TREASURER, Role.SECRETARY])
def test_secretary_cannot_appoint_officers_through_member_add(chama, secretary, role):
    users_before = User.objects.count()

    with pytest.raises(authority.Refused):
        add_ann(chama=chama, by=secretary, role=role)

    assert User.objects.count() == users_before
    assert Membership.objects.filter(chama=chama).count() == 1


def test_chairperson_can_appoint_an_officer_who_gets_back_office_access(chama, chairperson):
    membership = add_ann(chama=chama, by=chairperson, role=Role.TREASURER)

    membership = stored(membership)
    assert membership.role == Role.TREASURER
    assert membership.status == ACTIVE
    assert User.objects.get(pk=membership.user_id).is_staff


@pytest.mark.parametrize("who", ["treasurer", "plain_member"])
def test_only_the_chairperson_or_secretary_may_add_members(chama, who, request):
    by = request.getfixturevalue(who)

    with pytest.raises(authority.Refused):
        add_ann(chama=chama, by=by)

    assert not User.objects.filter(phone_number="+254712000999").exists()


def test_secretary_of_one_chama_cannot_add_members_to_another(chama, secretary, other_chama):
    with pytest.raises(authority.Refused):
        add_ann(chama=other_chama, by=secretary)

    assert not Membership.objects.filter(chama=other_chama).exists()


# --------------------------------------------------------------------------- membership_change_status


def _membership_in(chama, status):
    """A membership of a new person stored directly in `status` (the service only makes active ones)."""
    return Membership.objects.create(
        chama=chama,
        user=UserFactory(),
        member_number="M050",
        status=status,
        joined_date=dt.date(2024, 1, 1),
        exited_date=dt.date(2024, 6, 1) if status == EXITED else None,
    )


@pytest.mark.parametrize(
    "start, target, allowed",
    [
        (PENDING, ACTIVE, True),
        (PENDING, SUSPENDED, False),
        (PENDING, EXITED, True),
        (ACTIVE, PENDING, False),
        (ACTIVE, SUSPENDED, True),
        (ACTIVE, EXITED, True),
        (SUSPENDED, PENDING, False),
        (SUSPENDED, ACTIVE, True),
        (SUSPENDED, EXITED, True),
        (EXITED, PENDING, False),
        (EXITED, ACTIVE, True),
        (EXITED, SUSPENDED, False),
    ],
)
def test_membership_change_status_follows_the_status_flow(chama, secretary, start, target, allowed):
    membership = _membership_in(chama, start)

    if allowed:
        services.membership_change_status(membership=membership, status=target, by=secretary)
        assert stored(membership).status == target
    else:
        with pytest.raises(ValidationError) as exc_info:
            services.membership_change_status(membership=membership, status=target, by=secretary)
        message = messages_of(exc_info).lower()
        assert f"membership is {start.value}: it cannot become {target.value}" in message
        assert stored(membership).status == start


def test_exited_to_suspended_is_refused_with_a_clear_message(chama, secretary):
    person = member(chama)
    membership = Membership.objects.get(chama=chama, user=person)
    services.membership_change_status(membership=membership, status=EXITED, by=secretary)

    with pytest.raises(ValidationError) as exc_info:
        services.membership_change_status(membership=membership, status=SUSPENDED, by=secretary)

    assert "membership is exited: it cannot become suspended" in messages_of(exc_info)
    assert stored(membership).status == EXITED


def test_exit_records_the_date_in_the_chamas_zone_and_the_reason(chama, secretary):
    Chama.objects.filter(pk=chama.pk).update(timezone="Pacific/Kiritimati")
    membership = Membership.objects.get(chama=chama, user=member(chama))

    with frozen(utc(2025, 5, 31, 12)):  # 1 June 02:00 at UTC+14
        services.membership_change_status(
            membership=membership,
            status=EXITED,
            by=secretary,
            reason="Relocated to Eldoret",
        )

    membership = stored(membership)
    assert membership.status == EXITED
    assert membership.exited_date == dt.date(2025, 6, 1)
    assert membership.exit_reason == "Relocated to Eldoret"


def test_exited_member_reactivated_by_an_officer_keeps_number(chama, secretary):
    person = member(chama)
    membership = Membership.objects.get(chama=chama, user=person)
    services.membership_change_status(membership=membership, status=EXITED, by=secretary, reason="Left")

    result = services.membership_change_status(membership=membership, status=ACTIVE, by=secretary)

    result = stored(result)
    assert result.pk == membership.pk
    assert result.member_number == membership.member_number
    assert (result.status, result.exited_date, result.exit_reason) == (ACTIVE, None, "")


def test_same_status_is_a_no_op(chama, secretary, plain_member):
    membership = Membership.objects.get(chama=chama, user=plain_member)

    services.membership_change_status(membership=membership, status=ACTIVE, by=secretary)

    assert stored(membership).status == ACTIVE
    assert members_count(chama) == 2


@pytest.mark.parametrize("who", ["treasurer", "plain_member"])
def test_only_member_managers_change_status(chama, who, request):
    by = request.getfixturevalue(who)
    membership = Membership.objects.get(chama=chama, user=member(chama))

    with pytest.raises(authority.Refused):
        services.membership_change_status(membership=membership, status=SUSPENDED, by=by)

    assert stored(membership).status == ACTIVE


# --------------------------------------------------------------------------- membership_change_role


def test_chairperson_changes_a_role_and_the_new_officer_gets_staff(chama, chairperson):
    person = member(chama)
    membership = Membership.objects.get(chama=chama, user=person)

    services.membership_change_role(membership=membership, role=Role.SECRETARY, by=chairperson)

    assert stored(membership).role == Role.SECRETARY
    person.refresh_from_db()
    assert person.is_staff


@pytest.mark.parametrize("who", ["secretary", "treasurer", "plain_member"])
def test_only_the_chairperson_changes_roles(chama, who, request):
    by = request.getfixturevalue(who)
    membership = Membership.objects.get(chama=chama, user=member(chama))

    with pytest.raises(authority.Refused):
        services.membership_change_role(membership=membership, role=Role.TREASURER, by=by)

    assert stored(membership).role == Role.MEMBER


def test_an_inactive_member_cannot_hold_an_office(chama, chairperson, secretary):
    membership = Membership.objects.get(chama=chama, user=member(chama))
    services.membership_change_status(membership=membership, status=SUSPENDED, by=secretary)

    with pytest.raises(ValidationError) as exc_info:
        services.membership_change_role(membership=membership, role=Role.TREASURER, by=chairperson)

    assert "active member" in messages_of(exc_info)
    assert stored(membership).role == Role.MEMBER


# --------------------------------------------------------------------------- join requests


@pytest.mark.django_db
def test_join_request_create():
    chama = ChamaFactory()
    person = UserFactory()

    join_request = services.join_request_create(chama=chama, user=person, message="I sell at Gikomba.")

    join_request = JoinRequest.objects.get(pk=join_request.pk)
    assert (join_request.chama_id, join_request.user_id, join_request.status, join_request.message) == (
        chama.pk,
        person.pk,
        JoinRequest.Status.PENDING,
        "I sell at Gikomba.",
    )


def test_join_request_refused_for_an_active_member(chama, plain_member):
    with pytest.raises(ValidationError) as exc_info:
        services.join_request_create(chama=chama, user=plain_member)

    assert "already a member" in " ".join(exc_info.value.message_dict["chama"])
    assert not JoinRequest.objects.exists()


def test_join_request_refused_for_a_second_pending_request(chama):
    person = UserFactory()
    services.join_request_create(chama=chama, user=person)

    with pytest.raises(ValidationError) as exc_info:
        services.join_request_create(chama=chama, user=person)

    assert "pending request" in " ".join(exc_info.value.message_dict["chama"])
    assert JoinRequest.objects.filter(chama=chama, user=person).count() == 1


def test_join_request_allowed_again_after_a_decline(chama, secretary):
    person = UserFactory()
    first = services.join_request_create(chama=chama, user=person)
    services.join_request_decline(join_request=first, by=secretary, reason="Full")

    second = services.join_request_create(chama=chama, user=person)

    assert second.pk != first.pk
    assert second.status == JoinRequest.Status.PENDING


@pytest.mark.django_db
def test_join_request_refused_for_a_dissolved_chama():
    chama = ChamaFactory(status=Chama.Status.DISSOLVED)

    with pytest.raises(ValidationError) as exc_info:
        services.join_request_create(chama=chama, user=UserFactory())

    assert "not taking new members" in " ".join(exc_info.value.message_dict["chama"])
    assert not JoinRequest.objects.exists()


def test_join_request_approve_admits_and_records_the_decision(chama, secretary):
    join_request = JoinRequestFactory(chama=chama)
    moment = utc(2025, 4, 2, 7, 30)

    with frozen(moment):
        membership = services.join_request_approve(join_request=join_request, by=secretary)

    membership = stored(membership)
    assert (membership.user_id, membership.status, membership.role, membership.member_number) == (
        join_request.user_id,
        ACTIVE,
        Role.MEMBER,
        "M002",
    )
    assert membership.joined_date == dt.date(2025, 4, 2)
    join_request.refresh_from_db()
    assert join_request.status == JoinRequest.Status.APPROVED
    assert join_request.decided_by_id == secretary.pk
    assert join_request.decided_date == moment
    assert members_count(chama) == 2


def test_join_request_cannot_be_approved_twice(chama, secretary, chairperson):
    join_request = JoinRequestFactory(chama=chama)
    services.join_request_approve(join_request=join_request, by=secretary)

    with pytest.raises(ValidationError) as exc_info:
        services.join_request_approve(join_request=join_request, by=chairperson)

    assert "already approved" in messages_of(exc_info)
    join_request.refresh_from_db()
    assert join_request.decided_by_id == secretary.pk
    assert Membership.objects.filter(chama=chama, user=join_request.user).count() == 1


def test_join_request_approve_needs_a_member_manager(chama, treasurer):
    join_request = JoinRequestFactory(chama=chama)

    with pytest.raises(authority.Refused):
        services.join_request_approve(join_request=join_request, by=treasurer)

    join_request.refresh_from_db()
    assert join_request.status == JoinRequest.Status.PENDING
    assert not Membership.objects.filter(chama=chama, user=join_request.user).exists()


def test_join_request_decline_with_a_reason(chama, chairperson):
    join_request = JoinRequestFactory(chama=chama)
    moment = utc(2025, 4, 3, 8)

    with frozen(moment):
        services.join_request_decline(join_request=join_request, by=chairperson, reason="We are full this year.")

    join_request.refresh_from_db()
    assert join_request.status == JoinRequest.Status.DECLINED
    assert join_request.decline_reason == "We are full this year."
    assert join_request.decided_by_id == chairperson.pk
    assert join_request.decided_date == moment
    assert not Membership.objects.filter(chama=chama, user=join_request.user).exists()
    with pytest.raises(ValidationError):
        services.join_request_approve(join_request=join_request, by=chairperson)


def test_join_request_withdraw_only_by_the_requester(chama, secretary):
    join_request = JoinRequestFactory(chama=chama)

    for someone_else in (secretary, UserFactory()):
        with pytest.raises(ValidationError) as exc_info:
            services.join_request_withdraw(join_request=join_request, user=someone_else)
        assert "Only the person who asked" in messages_of(exc_info)
        join_request.refresh_from_db()
        assert join_request.status == JoinRequest.Status.PENDING

    services.join_request_withdraw(join_request=join_request, user=join_request.user)

    join_request.refresh_from_db()
    assert join_request.status == JoinRequest.Status.WITHDRAWN
    with pytest.raises(ValidationError):
        services.join_request_approve(join_request=join_request, by=secretary)


# --------------------------------------------------------------------------- invitations


def test_invitation_create_by_phone(chama, secretary):
    moment = utc(2025, 4, 1, 10)

    with frozen(moment):
        invitation = services.invitation_create(
            chama=chama,
            by=secretary,
            phone_number="0733 000 111",
            first_name="Rose",
            last_name="Akinyi",
        )

    invitation = Invitation.objects.get(pk=invitation.pk)
    assert str(invitation.phone_number) == "+254733000111"
    assert invitation.email == ""
    assert (invitation.status, invitation.role, invitation.invited_by_id) == (
        Invitation.Status.PENDING,
        Role.MEMBER,
        secretary.pk,
    )
    assert invitation.expires_date == utc(2025, 4, 8, 10)  # INVITATION_VALID_DAYS = 7
    assert len(invitation.token) >= 32


def test_invitation_create_by_email(chama, secretary):
    invitation = services.invitation_create(chama=chama, by=secretary, email="  Rose.Akinyi@Example.CO.KE ")

    invitation = Invitation.objects.get(pk=invitation.pk)
    assert invitation.email == "rose.akinyi@example.co.ke"
    assert not invitation.phone_number


def test_invitation_needs_a_phone_number_or_an_email(chama, secretary):
    with pytest.raises(ValidationError) as exc_info:
        services.invitation_create(chama=chama, by=secretary, first_name="Rose")

    assert "phone number or the email" in messages_of(exc_info)
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("by_field", ["phone", "local_phone", "email"])
def test_invitation_refused_for_an_active_member(chama, secretary, by_field):
    person = member(chama, phone_number="+254733000222", email="kibet@example.co.ke")
    recipient = {
        "phone": {"phone_number": str(person.phone_number)},
        "local_phone": {"phone_number": "0733000222"},
        "email": {"email": "Kibet@Example.co.ke"},
    }[by_field]

    with pytest.raises(ValidationError) as exc_info:
        services.invitation_create(chama=chama, by=secretary, **recipient)

    assert "already an active member" in messages_of(exc_info)
    assert not Invitation.objects.exists()


def test_invitation_allowed_for_a_former_member(chama, secretary):
    person = member(chama, phone_number="+254733000222")
    services.membership_change_status(
        membership=Membership.objects.get(chama=chama, user=person),
        status=EXITED,
        by=secretary,
    )

    invitation = services.invitation_create(chama=chama, by=secretary, phone_number="+254733000222")

    assert invitation.status == Invitation.Status.PENDING


def test_secretary_cannot_invite_officers_but_chairperson_can(chama, secretary, chairperson):
    with pytest.raises(authority.Refused):
        services.invitation_create(chama=chama, by=secretary, phone_number="+254733000333", role=Role.TREASURER)

    invitation = services.invitation_create(
        chama=chama, by=chairperson, phone_number="+254733000333", role=Role.TREASURER
    )
    assert invitation.role == Role.TREASURER


def test_treasurer_cannot_invite(chama, treasurer):
    with pytest.raises(authority.Refused):
        services.invitation_create(chama=chama, by=treasurer, phone_number="+254733000333")


def test_invitation_accept_by_a_logged_in_person_with_the_invited_phone(chama, secretary):
    invitation = InvitationFactory(chama=chama, invited_by=secretary, phone_number="+254733000444")
    person = UserFactory(phone_number="+254733000444")
    moment = utc(2025, 4, 4, 6)

    with frozen(moment):
        membership = services.invitation_accept(token=invitation.token, user=person)

    membership = stored(membership)
    assert (membership.user_id, membership.chama_id, membership.status, membership.role) == (
        person.pk,
        chama.pk,
        ACTIVE,
        Role.MEMBER,
    )
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ACCEPTED
    assert invitation.accepted_by_id == person.pk
    assert invitation.accepted_date == moment
    assert members_count(chama) == 2


def test_invitation_accept_by_a_logged_in_person_with_the_invited_email(chama, secretary):
    invitation = InvitationFactory(chama=chama, invited_by=secretary, phone_number="", email="moraa@example.co.ke")
    person = UserFactory(email="moraa@example.co.ke")

    membership = services.invitation_accept(token=invitation.token, user=person)

    assert stored(membership).user_id == person.pk
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ACCEPTED


def test_invitation_accept_refused_for_someone_else(chama, secretary):
    invitation = InvitationFactory(
        chama=chama, invited_by=secretary, phone_number="+254733000444", email="a@example.co.ke"
    )
    stranger = UserFactory(phone_number="+254733000555", email="b@example.co.ke")

    with pytest.raises(ValidationError) as exc_info:
        services.invitation_accept(token=invitation.token, user=stranger)

    assert "another phone number or email" in " ".join(exc_info.value.message_dict["token"])
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING
    assert not Membership.objects.filter(chama=chama, user=stranger).exists()


def test_invitation_accept_by_a_new_person_registers_them(chama, secretary):
    invitation = InvitationFactory(
        chama=chama,
        invited_by=secretary,
        phone_number="+254733000666",
        first_name="Esther",
        role=Role.MEMBER,
    )
    users_before = User.objects.count()

    membership = services.invitation_accept(
        token=invitation.token,
        last_name="Chebet",
        password="Mavuno-Shamba-2025",
        phone_number="+254799999999",
    )

    assert User.objects.count() == users_before + 1
    person = User.objects.get(pk=stored(membership).user_id)
    assert str(person.phone_number) == "+254733000666"  # the invitation's number, not the one typed
    assert (person.first_name, person.last_name) == ("Esther", "Chebet")
    assert person.has_usable_password()
    assert person.check_password("Mavuno-Shamba-2025")
    assert not person.is_staff
    invitation.refresh_from_db()
    assert (invitation.status, invitation.accepted_by_id) == (Invitation.Status.ACCEPTED, person.pk)
    assert stored(membership).status == ACTIVE


def test_invitation_for_an_officer_gives_staff_on_accept(chama, chairperson):
    invitation = services.invitation_create(
        chama=chama, by=chairperson, phone_number="+254733000777", role=Role.SECRETARY
    )

    membership = services.invitation_accept(
        token=invitation.token,
        first_name="Jane",
        last_name="Muthoni",
        password="Mavuno-Shamba-2025",
    )

    membership = stored(membership)
    assert membership.role == Role.SECRETARY
    assert membership.user.is_staff


@pytest.mark.parametrize("password", ["12345678", "password", "abc"])
def test_invitation_accept_refuses_a_weak_password(chama, secretary, password):
    invitation = InvitationFactory(chama=chama, invited_by=secretary, phone_number="+254733000666")
    users_before = User.objects.count()

    with pytest.raises(ValidationError) as exc_info:
        services.invitation_accept(token=invitation.token, first_name="Esther", last_name="Chebet", password=password)

    assert "password" in exc_info.value.message_dict
    assert User.objects.count() == users_before
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING


def test_invitation_accept_by_a_new_person_needs_names_and_password(chama, secretary):
    invitation = InvitationFactory(chama=chama, invited_by=secretary, phone_number="+254733000666")

    with pytest.raises(ValidationError) as exc_info:
        services.invitation_accept(token=invitation.token)

    assert set(exc_info.value.message_dict) == {"first_name", "last_name", "password"}


def test_expired_invitation_is_refused(chama, secretary):
    with frozen(utc(2025, 4, 1, 10)):
        invitation = services.invitation_create(chama=chama, by=secretary, phone_number="+254733000444")
    person = UserFactory(phone_number="+254733000444")

    with frozen(utc(2025, 4, 8, 10, 1)), pytest.raises(ValidationError) as exc_info:  # valid until 8 April 10:00
        services.invitation_accept(token=invitation.token, user=person)

    assert "expired" in " ".join(exc_info.value.message_dict["token"])
    assert not Membership.objects.filter(chama=chama, user=person).exists()


def test_invitation_still_valid_just_before_expiry(chama, secretary):
    with frozen(utc(2025, 4, 1, 10)):
        invitation = services.invitation_create(chama=chama, by=secretary, phone_number="+254733000444")
    person = UserFactory(phone_number="+254733000444")

    with frozen(utc(2025, 4, 8, 9, 59)):
        services.invitation_accept(token=invitation.token, user=person)

    assert Membership.objects.get(chama=chama, user=person).status == ACTIVE


def test_revoked_invitation_is_refused(chama, secretary):
    invitation = InvitationFactory(chama=chama, invited_by=secretary, phone_number="+254733000444")
    person = UserFactory(phone_number="+254733000444")
    services.invitation_revoke(invitation=invitation, by=secretary)

    with pytest.raises(ValidationError) as exc_info:
        services.invitation_accept(token=invitation.token, user=person)

    assert "not valid" in " ".join(exc_info.value.message_dict["token"])
    assert not Membership.objects.filter(chama=chama, user=person).exists()


def test_invitation_cannot_be_accepted_twice(chama, secretary):
    invitation = InvitationFactory(chama=chama, invited_by=secretary, phone_number="+254733000444")
    person = UserFactory(phone_number="+254733000444")
    services.invitation_accept(token=invitation.token, user=person)

    with pytest.raises(ValidationError) as exc_info:
        services.invitation_accept(token=invitation.token, user=person)
    assert "already been accepted" in " ".join(exc_info.value.message_dict["token"])

    with pytest.raises(ValidationError):
        services.invitation_accept(token=invitation.token, first_name="X", last_name="Y", password="Mavuno-Shamba-2025")
    assert Membership.objects.filter(chama=chama, user=person).count() == 1
    assert members_count(chama) == 2


@pytest.mark.django_db
def test_unknown_token_is_refused():
    with pytest.raises(ValidationError) as exc_info:
        services.invitation_accept(token="no-such-token", user=UserFactory())

    assert "token" in exc_info.value.message_dict


# --------------------------------------------------------------------------- chama_change_status


@pytest.mark.django_db
def test_chama_change_status_flow():
    chairperson = UserFactory()
    chama = services.chama_create(
        name="Tujenge",
        kind=Chama.Kind.ROSCA,
        category=Chama.Category.SAVINGS,
        chairperson=chairperson,
    )
    assert chama.status == Chama.Status.FORMING

    for status in [Chama.Status.ACTIVE, Chama.Status.SUSPENDED, Chama.Status.ACTIVE, Chama.Status.DISSOLVED]:
        services.chama_change_status(chama=chama, status=status, by=chairperson)
        assert Chama.objects.get(pk=chama.pk).status == status

    for status in [Chama.Status.ACTIVE, Chama.Status.FORMING, Chama.Status.SUSPENDED]:
        with pytest.raises(ValidationError) as exc_info:
            services.chama_change_status(chama=chama, status=status, by=chairperson)
        assert f"chama is dissolved: it cannot become {status.value}" in messages_of(exc_info)
    assert Chama.objects.get(pk=chama.pk).status == Chama.Status.DISSOLVED


@pytest.mark.django_db
@pytest.mark.parametrize(
    "start, target, allowed",
    [
        (Chama.Status.FORMING, Chama.Status.ACTIVE, True),
        (Chama.Status.FORMING, Chama.Status.SUSPENDED, False),
        (Chama.Status.FORMING, Chama.Status.DISSOLVED, True),
        (Chama.Status.ACTIVE, Chama.Status.FORMING, False),
        (Chama.Status.ACTIVE, Chama.Status.SUSPENDED, True),
        (Chama.Status.SUSPENDED, Chama.Status.FORMING, False),
        (Chama.Status.SUSPENDED, Chama.Status.DISSOLVED, True),
        (Chama.Status.DISSOLVED, Chama.Status.ACTIVE, False),
    ],
)
def test_chama_status_table(start, target, allowed):
    chama = ChamaFactory(status=Chama.Status.ACTIVE)
    chairperson = member(chama, Role.CHAIRPERSON)
    Chama.objects.filter(pk=chama.pk).update(status=start)

    if allowed:
        services.chama_change_status(chama=chama, status=target, by=chairperson)
        assert Chama.objects.get(pk=chama.pk).status == target
    else:
        with pytest.raises(ValidationError):
            services.chama_change_status(chama=chama, status=target, by=chairperson)
        assert Chama.objects.get(pk=chama.pk).status == start


@pytest.mark.parametrize("who", ["secretary", "treasurer"])
def test_only_the_chairperson_changes_the_chamas_status(chama, who, request):
    by = request.getfixturevalue(who)

    with pytest.raises(authority.Refused):
        services.chama_change_status(chama=chama, status=Chama.Status.SUSPENDED, by=by)

    assert Chama.objects.get(pk=chama.pk).status == Chama.Status.ACTIVE


def test_officer_of_another_chama_cannot_change_its_status(chama, chairperson, other_chama):
    with pytest.raises(authority.Refused):
        services.chama_change_status(chama=other_chama, status=Chama.Status.DISSOLVED, by=chairperson)
