"""Login lockout: one answer for every refusal, wrong current passwords count, officers unlock.

Real HTTP requests against the real database: the API with JWTs, the admin with its login form.
"""

import pytest
from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from chama import login_security
from chama.roles import MembershipStatus, Role
from groups import services
from tests.factories import PASSWORD, MembershipFactory, member

User = get_user_model()

TOKEN_URL = "/api/v1/auth/token/"
PASSWORD_URL = "/api/v1/me/password/"
ADMIN_LOGIN_URL = "/admin/login/"
USER_CHANGELIST = "/admin/chama/user/"
NEW_PASSWORD = "Mvua-ya-Masika-2024"
WRONG_PASSWORD = "not-the-password"
UNKNOWN_LOGIN = "0799999999"


def api_login(login, password=PASSWORD):
    return APIClient().post(TOKEN_URL, {"login": str(login), "password": password}, format="json")


def admin_login(client, login, password=PASSWORD):
    return client.post(ADMIN_LOGIN_URL, {"username": str(login), "password": password, "next": "/admin/"})


def admin_answer(response):
    """What the admin login page tells the visitor: the status and the form's errors."""
    form = response.context["form"]
    return response.status_code, {field: list(errors) for field, errors in form.errors.items()}


def lock(user):
    """Lock `user` the way an attacker would: wrong passwords up to the limit."""
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        assert api_login(user.phone_number, WRONG_PASSWORD).status_code == 401
    user.refresh_from_db()
    assert user.is_locked
    return user


def unlock_url(chama, membership):
    return f"/api/v1/chamas/{chama.pk}/members/{membership.pk}/unlock/"


def change_password(client, current):
    return client.post(PASSWORD_URL, {"current_password": current, "new_password": NEW_PASSWORD}, format="json")


# ---------------------------------------------------------------- one answer for every refusal


def test_api_login_answers_the_same_for_unknown_wrong_and_locked(chama):
    open_person, locked_person = member(chama), lock(member(chama))

    answers = {
        "unknown login": api_login(UNKNOWN_LOGIN),
        "unknown email": api_login("nobody@example.co.ke"),
        "wrong password": api_login(open_person.phone_number, WRONG_PASSWORD),
        "locked, wrong password": api_login(locked_person.phone_number, WRONG_PASSWORD),
        "locked, right password": api_login(locked_person.phone_number, PASSWORD),
        "locked, by email": api_login(locked_person.email, PASSWORD),
    }

    expected = (401, {"detail": login_security.refused_message()})
    assert {case: (r.status_code, r.json()) for case, r in answers.items()} == dict.fromkeys(answers, expected)
    # the message tells the locked-out person what to do, without saying whether they are
    assert "an officer of your chama can unlock it" in login_security.refused_message()


def test_the_locking_attempt_answers_like_the_ones_before(chama):
    person = member(chama)
    answers = [api_login(person.phone_number, WRONG_PASSWORD) for _ in range(settings.LOGIN_FAILURE_LIMIT)]

    person.refresh_from_db()
    assert person.is_locked
    assert len({(r.status_code, r.content) for r in answers}) == 1


def test_admin_login_answers_the_same_for_unknown_wrong_locked_and_no_back_office(client, chama, secretary):
    locked_officer = lock(member(chama, Role.TREASURER))
    plain = member(chama)  # right password, but no back-office access

    answers = {
        "unknown login": admin_answer(admin_login(client, UNKNOWN_LOGIN)),
        "wrong password": admin_answer(admin_login(client, secretary.phone_number, WRONG_PASSWORD)),
        "locked, wrong password": admin_answer(admin_login(client, locked_officer.phone_number, WRONG_PASSWORD)),
        "locked, right password": admin_answer(admin_login(client, locked_officer.phone_number, PASSWORD)),
        "locked, by email": admin_answer(admin_login(client, locked_officer.email, PASSWORD)),
        "not an officer": admin_answer(admin_login(client, plain.phone_number, PASSWORD)),
    }

    expected = (200, {"__all__": [login_security.refused_message()]})
    assert answers == dict.fromkeys(answers, expected)
    assert "_auth_user_id" not in client.session


def test_admin_and_api_give_the_same_message(client, chama):
    person = lock(member(chama, Role.SECRETARY))

    api_detail = api_login(person.phone_number).json()["detail"]
    _, errors = admin_answer(admin_login(client, person.phone_number))

    assert errors == {"__all__": [api_detail]}


# ---------------------------------------------------------------- me/password/


def test_wrong_current_passwords_lock_the_account(plain_member, api_as):
    client = api_as(plain_member)
    refused = {"current_password": [login_security.refused_message()]}

    for attempt in range(1, settings.LOGIN_FAILURE_LIMIT + 1):
        response = change_password(client, WRONG_PASSWORD)
        assert response.status_code == 400
        assert response.json() == refused
        plain_member.refresh_from_db()
        assert plain_member.is_locked == (attempt == settings.LOGIN_FAILURE_LIMIT)

    # once locked, even the right current password is refused, with the same answer
    response = change_password(client, PASSWORD)
    assert response.status_code == 400
    assert response.json() == refused
    plain_member.refresh_from_db()
    assert plain_member.check_password(PASSWORD)
    # and the lock holds for logins too
    assert api_login(plain_member.phone_number).status_code == 401


def test_wrong_current_passwords_and_wrong_logins_count_together(plain_member, api_as):
    client = api_as(plain_member)
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert api_login(plain_member.phone_number, WRONG_PASSWORD).status_code == 401

    assert change_password(client, WRONG_PASSWORD).status_code == 400

    plain_member.refresh_from_db()
    assert plain_member.is_locked


def test_right_current_password_resets_the_count(plain_member, api_as):
    client = api_as(plain_member)
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert change_password(client, WRONG_PASSWORD).status_code == 400
    plain_member.refresh_from_db()
    assert plain_member.failed_login_attempts == settings.LOGIN_FAILURE_LIMIT - 1

    assert change_password(client, PASSWORD).status_code == 204

    plain_member.refresh_from_db()
    assert plain_member.failed_login_attempts == 0
    assert not plain_member.is_locked
    assert api_login(plain_member.phone_number, NEW_PASSWORD).status_code == 200


# ---------------------------------------------------------------- unlocking through the API


@pytest.mark.parametrize("role", [Role.SECRETARY, Role.CHAIRPERSON])
def test_officer_unlocks_a_member_who_can_then_log_in(chama, api_as, role):
    officer = member(chama, role)
    client = api_as(officer)
    person = lock(member(chama))
    membership = person.memberships.get(chama=chama)

    response = client.post(unlock_url(chama, membership), REMOTE_ADDR="10.1.2.3")

    assert response.status_code == 204, response.content
    person.refresh_from_db()
    assert not person.is_locked
    assert (person.failed_login_attempts, person.account_locked_until) == (0, None)
    assert api_login(person.phone_number).status_code == 200
    # who did it, from where, for which chama
    entry = LogEntry.objects.get_for_object(person).filter(action=LogEntry.Action.UPDATE).latest()
    assert entry.changes["account_locked_until"][1] == "None"
    assert entry.actor_id == officer.pk
    assert entry.remote_addr == "10.1.2.3"
    assert entry.additional_data == {"chama_id": chama.pk, "unlocked_by": officer.pk}


def test_unlock_also_clears_a_count_short_of_the_limit(chama, secretary, plain_member, api_as):
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        api_login(plain_member.phone_number, WRONG_PASSWORD)
    membership = plain_member.memberships.get(chama=chama)

    assert api_as(secretary).post(unlock_url(chama, membership)).status_code == 204

    plain_member.refresh_from_db()
    assert plain_member.failed_login_attempts == 0


@pytest.mark.parametrize("role", [Role.TREASURER, Role.MEMBER])
def test_treasurer_and_member_may_not_unlock(chama, api_as, role):
    client = api_as(member(chama, role))
    person = lock(member(chama))

    response = client.post(unlock_url(chama, person.memberships.get(chama=chama)))

    assert response.status_code == 403
    assert (
        response.json()["detail"]
        == f"Only the chairperson or secretary of {chama} may unlock a member's login after too many wrong passwords."
    )
    person.refresh_from_db()
    assert person.is_locked


def test_officer_of_another_chama_gets_404(chama, other_chama, api_as):
    outsider = api_as(member(other_chama, Role.SECRETARY))
    person = lock(member(chama))
    membership = person.memberships.get(chama=chama)

    # the member's chama is not the outsider's, and their own chama does not hold the membership
    assert outsider.post(unlock_url(chama, membership)).status_code == 404
    assert outsider.post(unlock_url(other_chama, membership)).status_code == 404

    person.refresh_from_db()
    assert person.is_locked


def test_nobody_unlocks_their_own_login(chama, secretary, api_as):
    client = api_as(secretary)  # a token obtained before the lock keeps working
    lock(secretary)

    response = client.post(unlock_url(chama, secretary.memberships.get(chama=chama)))

    assert response.status_code == 403
    assert "another officer must" in response.json()["detail"]
    secretary.refresh_from_db()
    assert secretary.is_locked


def test_a_member_who_left_is_not_unlocked(chama, chairperson, secretary, api_as):
    person = lock(member(chama))
    membership = services.membership_change_status(
        membership=person.memberships.get(chama=chama),
        status=MembershipStatus.EXITED,
        by=chairperson,
        reason="Moved away",
    )
    assert membership.status == MembershipStatus.EXITED

    response = api_as(secretary).post(unlock_url(chama, membership))

    assert response.status_code == 403
    assert "has left" in response.json()["detail"]


def test_a_chama_officer_does_not_unlock_a_platform_administrator(chama, secretary, api_as):
    admin_person = lock(member(chama))
    User.objects.filter(pk=admin_person.pk).update(is_superuser=True)

    response = api_as(secretary).post(unlock_url(chama, admin_person.memberships.get(chama=chama)))

    assert response.status_code == 403
    assert "platform administrator" in response.json()["detail"]
    admin_person.refresh_from_db()
    assert admin_person.is_locked


def test_member_routes_beside_the_unlock_route_are_unchanged(chama, secretary, plain_member, api_as):
    membership = plain_member.memberships.get(chama=chama)
    client = api_as(secretary)

    assert client.get(f"/api/v1/chamas/{chama.pk}/members/").status_code == 200
    assert client.get(f"/api/v1/chamas/{chama.pk}/members/{membership.pk}/").status_code == 200
    assert client.get(unlock_url(chama, membership)).status_code == 405


# ---------------------------------------------------------------- unlocking in the admin


def offered_actions(client):
    action_form = client.get(USER_CHANGELIST).context["action_form"]
    return dict(action_form.fields["action"].choices) if action_form else {}


def admin_unlock(client, *users):
    return client.post(USER_CHANGELIST, {"action": "unlock_login", "_selected_action": [str(u.pk) for u in users]})


@pytest.mark.parametrize("role", [Role.SECRETARY, Role.CHAIRPERSON])
def test_officer_unlocks_in_the_admin(client, chama, role):
    officer = member(chama, role)
    person = lock(member(chama))
    assert admin_login(client, officer.phone_number).status_code == 302
    assert "unlock_login" in offered_actions(client)

    response = admin_unlock(client, person)

    assert response.status_code == 302
    person.refresh_from_db()
    assert not person.is_locked
    messages = [str(m) for m in client.get(USER_CHANGELIST).context["messages"]]
    assert "1 login(s) unlocked." in messages
    entry = LogEntry.objects.get_for_object(person).filter(action=LogEntry.Action.UPDATE).latest()
    assert entry.actor_id == officer.pk
    assert entry.additional_data["chama_id"] == chama.pk
    assert api_login(person.phone_number).status_code == 200


def test_admin_action_is_not_offered_to_a_treasurer_and_does_nothing(client, chama, treasurer):
    person = lock(member(chama))
    assert admin_login(client, treasurer.phone_number).status_code == 302

    assert "unlock_login" not in offered_actions(client)
    admin_unlock(client, person)

    person.refresh_from_db()
    assert person.is_locked


def test_admin_officer_of_two_chamas_unlocks_only_where_granted(client, chama, other_chama):
    officer = member(chama, Role.SECRETARY)
    MembershipFactory(chama=other_chama, user=officer, role=Role.TREASURER)
    mine, theirs = lock(member(chama)), lock(member(other_chama))
    assert admin_login(client, officer.phone_number).status_code == 302

    admin_unlock(client, mine, theirs)

    mine.refresh_from_db(), theirs.refresh_from_db()
    assert not mine.is_locked
    # a treasurer of Tujenge sees its people but may not unlock them
    assert theirs.is_locked
    messages = [str(m) for m in client.get(USER_CHANGELIST).context["messages"]]
    assert any("not a member of a chama where you may unlock logins" in m for m in messages), messages


def test_admin_officer_does_not_unlock_another_chamas_people(client, chama, other_chama):
    officer = member(chama, Role.SECRETARY)
    stranger = lock(member(other_chama))
    assert admin_login(client, officer.phone_number).status_code == 302

    admin_unlock(client, stranger)

    stranger.refresh_from_db()
    assert stranger.is_locked
