"""Logging in (API and admin), lockout, JWT lifecycle, the caller's own profile, and the audit trail.

Everything goes through real HTTP requests and the real database; nothing of ours is mocked.
"""

import json
from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import F
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import RefreshToken

from chama import login_security
from chama.roles import Role
from tests.factories import PASSWORD, ChamaFactory, MembershipFactory, UserFactory, member

User = get_user_model()

TOKEN_URL = "/api/v1/auth/token/"
REFRESH_URL = "/api/v1/auth/token/refresh/"
VERIFY_URL = "/api/v1/auth/token/verify/"
LOGOUT_URL = "/api/v1/auth/logout/"
ME_URL = "/api/v1/me/"
PASSWORD_URL = "/api/v1/me/password/"
ADMIN_LOGIN_URL = "/admin/login/"

NEW_PASSWORD = "Mvua-ya-Masika-2024"
WRONG_PASSWORD = "not-the-password"


def api_login(login, password=PASSWORD):
    return APIClient().post(TOKEN_URL, {"login": login, "password": password}, format="json")


def admin_login(client, login, password=PASSWORD):
    return client.post(ADMIN_LOGIN_URL, {"username": login, "password": password, "next": "/admin/"})


def admin_form_errors(response):
    return " ".join(str(error) for errors in response.context["form"].errors.values() for error in errors)


def end_cool_off(user):
    """Move the lock into the past with time arithmetic in the database."""
    User.objects.filter(pk=user.pk).update(
        account_locked_until=F("account_locked_until") - timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES, seconds=1)
    )


def bearer(client, access):
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


@pytest.fixture
def person(db):
    return User.objects.create_user(
        "+254712345678", PASSWORD, first_name="Wanjiku", last_name="Kamau", email="Wanjiku.Kamau@Example.CO.KE"
    )


# ---------------------------------------------------------------- API login


@pytest.mark.parametrize("login", ["+254712345678", "0712345678", "0712 345 678", " 0712345678 ", "+254 712 345 678"])
def test_api_login_by_phone_number_in_any_common_format(person, login):
    response = api_login(login)

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert RefreshToken(body["refresh"])["user_id"] in (person.pk, str(person.pk))


@pytest.mark.parametrize(
    "login", ["wanjiku.kamau@example.co.ke", "WANJIKU.KAMAU@EXAMPLE.CO.KE", "Wanjiku.Kamau@example.co.ke"]
)
def test_api_login_by_email_ignores_case(person, login):
    # the manager stored the email normalised
    assert person.email == "wanjiku.kamau@example.co.ke"

    response = api_login(login)

    assert response.status_code == 200, response.content
    assert "access" in response.json()


def test_api_login_records_last_login(person):
    assert person.last_login is None

    assert api_login("0712345678").status_code == 200

    person.refresh_from_db()
    assert person.last_login is not None


@pytest.mark.parametrize(
    "login, password",
    [
        ("0712345678", WRONG_PASSWORD),
        ("wanjiku.kamau@example.co.ke", WRONG_PASSWORD),
        ("0799999999", PASSWORD),  # nobody has this number
        ("nobody@example.co.ke", PASSWORD),
        ("not a phone number", PASSWORD),
    ],
)
def test_api_login_wrong_credentials_is_401_with_json_detail(person, login, password):
    response = api_login(login, password)

    assert response.status_code == 401, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": login_security.refused_message()}


def test_api_login_inactive_account_is_refused(person):
    User.objects.filter(pk=person.pk).update(is_active=False)

    response = api_login("0712345678")

    assert response.status_code == 401
    assert "detail" in response.json()


def test_api_login_missing_fields_is_400_per_field(db):
    response = APIClient().post(TOKEN_URL, {}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"login", "password"}


# ---------------------------------------------------------------- lockout


def test_api_lockout_after_failure_limit_then_cool_off(person):
    limit = settings.LOGIN_FAILURE_LIMIT

    refused = {"detail": login_security.refused_message()}

    # given: one short of the limit, the account is still open
    for attempt in range(1, limit):
        response = api_login("0712345678", WRONG_PASSWORD)
        assert response.status_code == 401
        assert response.json() == refused
        person.refresh_from_db()
        assert person.failed_login_attempts == attempt
        assert person.account_locked_until is None

    # when: the limit-th wrong password
    before = timezone.now()
    response = api_login("0712345678", WRONG_PASSWORD)

    # then: locked, yet the answer is the same as for any wrong password (nothing to enumerate)
    assert response.status_code == 401
    assert response.json() == refused
    person.refresh_from_db()
    assert person.account_locked_until is not None
    assert person.is_locked
    expected = before + timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    assert abs((person.account_locked_until - expected).total_seconds()) < 60

    # even the right password is refused while locked, with the same answer
    for login in ("0712345678", "wanjiku.kamau@example.co.ke"):
        response = api_login(login, PASSWORD)
        assert response.status_code == 401
        assert response.json() == refused

    # after the cool-off, a wrong password counts from scratch and the right one works
    end_cool_off(person)
    assert api_login("0712345678", WRONG_PASSWORD).status_code == 401
    person.refresh_from_db()
    assert not person.is_locked
    assert person.failed_login_attempts == 1

    response = api_login("0712345678", PASSWORD)

    assert response.status_code == 200, response.content
    person.refresh_from_db()
    assert person.failed_login_attempts == 0
    assert person.account_locked_until is None


def test_api_lock_is_not_lifted_early_by_more_attempts(person):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        api_login("0712345678", WRONG_PASSWORD)
    person.refresh_from_db()
    locked_until = person.account_locked_until
    assert locked_until is not None

    for password in (WRONG_PASSWORD, PASSWORD, WRONG_PASSWORD):
        assert api_login("0712345678", password).status_code == 401

    person.refresh_from_db()
    assert person.account_locked_until == locked_until


def test_api_success_before_the_limit_resets_the_counter(person):
    limit = settings.LOGIN_FAILURE_LIMIT
    for _ in range(limit - 1):
        assert api_login("0712345678", WRONG_PASSWORD).status_code == 401
    person.refresh_from_db()
    assert person.failed_login_attempts == limit - 1

    assert api_login("0712345678", PASSWORD).status_code == 200

    person.refresh_from_db()
    assert person.failed_login_attempts == 0
    # so another limit - 1 failures still do not lock
    for _ in range(limit - 1):
        assert api_login("0712345678", WRONG_PASSWORD).status_code == 401
    person.refresh_from_db()
    assert person.account_locked_until is None
    assert api_login("0712345678", PASSWORD).status_code == 200


def test_failures_of_other_people_and_unknown_logins_do_not_lock(person):
    other = UserFactory()
    for _ in range(settings.LOGIN_FAILURE_LIMIT + 1):
        api_login(str(other.phone_number), WRONG_PASSWORD)
        api_login("0799999999", WRONG_PASSWORD)

    person.refresh_from_db()
    assert person.failed_login_attempts == 0
    assert not person.is_locked
    assert api_login("0712345678").status_code == 200


@pytest.fixture
def officer(chama):
    return member(chama, Role.CHAIRPERSON)


def test_admin_login_by_phone_or_email(client, officer):
    officer.refresh_from_db()
    assert officer.is_staff

    response = admin_login(client, str(officer.phone_number).replace("+254", "0"))

    assert response.status_code == 302, admin_form_errors(response)
    assert client.session["_auth_user_id"] == str(officer.pk)

    client.logout()
    response = admin_login(client, officer.email.upper())
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(officer.pk)


def test_admin_lockout_does_not_log_in_and_answers_like_a_wrong_password(client, officer):
    limit = settings.LOGIN_FAILURE_LIMIT
    login = str(officer.phone_number)
    refused = login_security.refused_message()

    for _ in range(limit - 1):
        response = admin_login(client, login, WRONG_PASSWORD)
        assert response.status_code == 200
        assert admin_form_errors(response) == refused

    # when: the attempt that reaches the limit
    response = admin_login(client, login, WRONG_PASSWORD)

    # then: locked, with the same answer
    assert response.status_code == 200
    assert admin_form_errors(response) == refused
    officer.refresh_from_db()
    assert officer.is_locked

    # the right password is refused too, and nobody is logged in
    response = admin_login(client, login, PASSWORD)
    assert response.status_code == 200
    assert admin_form_errors(response) == refused
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302  # still sent to the login page

    # by email as well
    response = admin_login(client, officer.email, PASSWORD)
    assert admin_form_errors(response) == refused
    assert "_auth_user_id" not in client.session

    # after the cool-off the right password logs in and clears the lock
    end_cool_off(officer)
    response = admin_login(client, login, PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(officer.pk)
    officer.refresh_from_db()
    assert officer.account_locked_until is None
    assert officer.failed_login_attempts == 0


def test_lockout_counts_admin_and_api_failures_together(client, officer):
    login = str(officer.phone_number)
    limit = settings.LOGIN_FAILURE_LIMIT
    for _ in range(limit - 1):
        api_login(login, WRONG_PASSWORD)

    admin_login(client, login, WRONG_PASSWORD)

    officer.refresh_from_db()
    assert officer.is_locked
    response = api_login(login, PASSWORD)
    assert response.status_code == 401
    assert response.json() == {"detail": login_security.refused_message()}


def test_admin_success_before_the_limit_resets_the_counter(client, officer):
    login = str(officer.phone_number)
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        admin_login(client, login, WRONG_PASSWORD)
    officer.refresh_from_db()
    assert officer.failed_login_attempts == settings.LOGIN_FAILURE_LIMIT - 1

    assert admin_login(client, login, PASSWORD).status_code == 302

    officer.refresh_from_db()
    assert officer.failed_login_attempts == 0


# ---------------------------------------------------------------- JWT lifecycle


@pytest.fixture
def tokens(person):
    response = api_login("0712345678")
    assert response.status_code == 200
    return response.json()


def test_refresh_rotates_and_blacklists_the_old_refresh(tokens):
    client = APIClient()

    response = client.post(REFRESH_URL, {"refresh": tokens["refresh"]}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["access"] and body["refresh"]
    assert body["refresh"] != tokens["refresh"]
    old_jti = RefreshToken(tokens["refresh"], verify=False)["jti"]
    assert BlacklistedToken.objects.filter(token__jti=old_jti).exists()

    # the old refresh is refused from now on
    response = client.post(REFRESH_URL, {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 401
    assert "blacklisted" in response.json()["detail"].lower()

    # the new one works (and rotates again)
    response = client.post(REFRESH_URL, {"refresh": body["refresh"]}, format="json")
    assert response.status_code == 200
    assert response.json()["refresh"] != body["refresh"]


def test_new_access_token_from_refresh_authenticates(tokens):
    access = APIClient().post(REFRESH_URL, {"refresh": tokens["refresh"]}, format="json").json()["access"]

    response = bearer(APIClient(), access).get(ME_URL)

    assert response.status_code == 200
    assert response.json()["phone_number"] == "+254712345678"


@pytest.mark.parametrize("bad", ["garbage", "", "a.b.c"])
def test_refresh_with_a_bad_token_is_refused(db, bad):
    response = APIClient().post(REFRESH_URL, {"refresh": bad}, format="json")

    assert response.status_code in (400, 401)
    assert response.json()


def test_verify_accepts_valid_tokens_and_refuses_bad_ones(tokens):
    client = APIClient()

    for token in (tokens["access"], tokens["refresh"]):
        response = client.post(VERIFY_URL, {"token": token}, format="json")
        assert response.status_code == 200, response.content

    response = client.post(VERIFY_URL, {"token": tokens["access"][:-4] + "AAAA"}, format="json")
    assert response.status_code == 401
    assert "detail" in response.json()

    response = client.post(VERIFY_URL, {"token": "garbage"}, format="json")
    assert response.status_code == 401


def test_verify_refuses_a_blacklisted_refresh(tokens):
    client = APIClient()
    assert client.post(LOGOUT_URL, {"refresh": tokens["refresh"]}, format="json").status_code == 200

    response = client.post(VERIFY_URL, {"token": tokens["refresh"]}, format="json")

    assert response.status_code in (400, 401)


def test_logout_blacklists_the_refresh(tokens):
    client = APIClient()

    response = client.post(LOGOUT_URL, {"refresh": tokens["refresh"]}, format="json")

    assert response.status_code == 200, response.content
    jti = RefreshToken(tokens["refresh"], verify=False)["jti"]
    assert BlacklistedToken.objects.filter(token__jti=jti).exists()
    response = client.post(REFRESH_URL, {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 401
    assert "detail" in response.json()
    # logging out twice is refused, not an error page
    response = client.post(LOGOUT_URL, {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 401


def test_logout_with_an_access_token_is_refused(tokens):
    response = APIClient().post(LOGOUT_URL, {"refresh": tokens["access"]}, format="json")

    assert response.status_code == 401


# ---------------------------------------------------------------- /me/


def test_me_shows_own_profile_and_memberships_only(chama, other_chama, api_as):
    caller = member(chama, Role.TREASURER)
    MembershipFactory(chama=other_chama, user=caller)
    bystander = member(chama, Role.SECRETARY)
    ChamaFactory(name="Not mine")  # a chama the caller is not in

    response = api_as(caller).get(ME_URL)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == caller.pk
    assert body["phone_number"] == str(caller.phone_number)
    assert body["email"] == caller.email
    assert body["first_name"] == caller.first_name
    assert body["kyc_status"] == "pending"
    assert "password" not in body
    assert bystander.email not in json.dumps(body)
    memberships = {(row["chama_id"], row["chama_name"], row["role"], row["status"]) for row in body["memberships"]}
    assert memberships == {
        (chama.pk, "Umoja", "treasurer", "active"),
        (other_chama.pk, "Tujenge", "member", "active"),
    }
    for row in body["memberships"]:
        assert row["member_number"].startswith("M")
        assert row["joined_date"]


def test_me_patch_first_name(plain_member, api_as):
    response = api_as(plain_member).patch(ME_URL, {"first_name": "Achieng"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["first_name"] == "Achieng"
    plain_member.refresh_from_db()
    assert plain_member.first_name == "Achieng"


def test_me_patch_read_only_fields_are_ignored(plain_member, api_as):
    phone = str(plain_member.phone_number)

    response = api_as(plain_member).patch(
        ME_URL,
        {"phone_number": "+254722000111", "kyc_status": "verified", "id_number": "12345678", "id": 1},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["phone_number"] == phone
    plain_member.refresh_from_db()
    assert str(plain_member.phone_number) == phone
    assert plain_member.kyc_status == "pending"
    assert plain_member.id_number == ""


def test_me_patch_email_is_normalised(plain_member, api_as):
    response = api_as(plain_member).patch(ME_URL, {"email": "  New.Address@Example.CO.KE "}, format="json")

    assert response.status_code == 200, response.content
    plain_member.refresh_from_db()
    assert plain_member.email == "new.address@example.co.ke"


def test_me_patch_blank_email_is_stored_as_null_for_everyone(chama, api_as):
    first, second = member(chama), member(chama)

    for person in (first, second):
        response = api_as(person).patch(ME_URL, {"email": ""}, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["email"] is None

    assert User.objects.filter(pk__in=[first.pk, second.pk], email__isnull=True).count() == 2


def test_me_patch_email_of_another_person_in_other_case_is_400(plain_member, api_as):
    other = UserFactory(email="taken.address@example.co.ke")
    own_email = plain_member.email

    response = api_as(plain_member).patch(ME_URL, {"email": "Taken.Address@EXAMPLE.co.ke"}, format="json")

    assert response.status_code == 400, response.content
    assert "already registered" in json.dumps(response.json())
    plain_member.refresh_from_db()
    assert plain_member.email == own_email
    other.refresh_from_db()
    assert other.email == "taken.address@example.co.ke"


def test_me_patch_invalid_email_is_400(plain_member, api_as):
    response = api_as(plain_member).patch(ME_URL, {"email": "not-an-email"}, format="json")

    assert response.status_code == 400
    assert "email" in response.json()


def test_me_put_and_delete_are_not_allowed(plain_member, api_as):
    client = api_as(plain_member)

    assert client.put(ME_URL, {"first_name": "X"}, format="json").status_code == 405
    assert client.delete(ME_URL).status_code == 405


@pytest.mark.parametrize("authorization", [None, "Bearer garbage", "Bearer ", "Basic Zm9vOmJhcg=="])
def test_me_unauthenticated_is_401(db, authorization):
    client = APIClient()
    if authorization:
        client.credentials(HTTP_AUTHORIZATION=authorization)

    response = client.get(ME_URL)

    assert response.status_code == 401
    assert "detail" in response.json()
    assert client.patch(ME_URL, {"first_name": "X"}, format="json").status_code == 401


# ---------------------------------------------------------------- /me/password/


def test_password_change_wrong_current_password_is_400(plain_member, api_as):
    response = api_as(plain_member).post(
        PASSWORD_URL, {"current_password": WRONG_PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["current_password"] == [login_security.refused_message()]
    plain_member.refresh_from_db()
    assert plain_member.check_password(PASSWORD)


def test_password_change_weak_new_password_is_400(plain_member, api_as):
    response = api_as(plain_member).post(
        PASSWORD_URL, {"current_password": PASSWORD, "new_password": "12345678"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["new_password"]


def test_password_change_missing_fields_is_400(plain_member, api_as):
    response = api_as(plain_member).post(PASSWORD_URL, {}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"current_password", "new_password"}


def test_password_change_unauthenticated_is_401(db):
    response = APIClient().post(
        PASSWORD_URL, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )

    assert response.status_code == 401


def test_password_change_then_new_password_logs_in(plain_member, api_as):
    login = str(plain_member.phone_number)

    response = api_as(plain_member).post(
        PASSWORD_URL, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )

    assert response.status_code == 204, response.content
    assert response.content == b""
    assert api_login(login, NEW_PASSWORD).status_code == 200
    assert api_login(login, PASSWORD).status_code == 401


# ---------------------------------------------------------------- audit trail


def updates_of(obj):
    return LogEntry.objects.get_for_object(obj).filter(action=LogEntry.Action.UPDATE)


def test_api_change_is_audited_with_the_api_user_and_address(plain_member, api_as):
    client = api_as(plain_member)
    assert not updates_of(plain_member).filter(changes__has_key="first_name").exists()

    response = client.patch(ME_URL, {"first_name": "Achieng"}, format="json", REMOTE_ADDR="10.20.30.40")

    assert response.status_code == 200
    entry = updates_of(plain_member).latest()
    assert entry.changes["first_name"][1] == "Achieng"
    assert entry.actor_id == plain_member.pk
    assert entry.remote_addr == "10.20.30.40"


def test_api_change_behind_a_proxy_records_the_forwarded_address(plain_member, api_as):
    client = api_as(plain_member)

    client.patch(ME_URL, {"last_name": "Otieno"}, format="json", HTTP_X_FORWARDED_FOR="41.90.1.2, 10.0.0.1")

    entry = updates_of(plain_member).latest()
    assert entry.changes["last_name"][1] == "Otieno"
    assert entry.actor_id == plain_member.pk
    assert entry.remote_addr == "41.90.1.2"


def test_api_membership_change_is_audited_with_the_api_user(chama, chairperson, plain_member, api_as):
    membership = plain_member.memberships.get(chama=chama)

    response = api_as(chairperson).patch(
        f"/api/v1/chamas/{chama.pk}/members/{membership.pk}/", {"status": "suspended"}, format="json"
    )

    assert response.status_code == 200, response.content
    entry = updates_of(membership).latest()
    assert entry.changes["status"] == ["active", "suspended"]
    assert entry.actor_id == chairperson.pk
    assert entry.remote_addr == "127.0.0.1"
    assert entry.additional_data == {"chama_id": chama.pk}


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser(
        "+254733000111", PASSWORD, first_name="Platform", last_name="Admin", email="root@example.co.ke"
    )


def test_admin_change_is_audited_with_the_logged_in_superuser(client, superuser):
    # given: a locked account, and a superuser logged in through the admin login form
    target = UserFactory()
    User.objects.filter(pk=target.pk).update(
        failed_login_attempts=0, account_locked_until=timezone.now() + timedelta(minutes=10)
    )
    assert admin_login(client, "root@example.co.ke").status_code == 302

    # when: the superuser unlocks it from the admin
    response = client.post(
        "/admin/chama/user/", {"action": "unlock_login", "_selected_action": [str(target.pk)]}, REMOTE_ADDR="10.9.8.7"
    )

    # then
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.account_locked_until is None
    entry = updates_of(target).latest()
    assert "account_locked_until" in entry.changes
    assert entry.actor_id == superuser.pk
    assert entry.remote_addr == "10.9.8.7"


def test_admin_change_form_is_audited_with_the_logged_in_superuser(client, superuser, chama, plain_member):
    membership = plain_member.memberships.get(chama=chama)
    assert admin_login(client, "0733000111").status_code == 302

    response = client.post(
        f"/admin/groups/membership/{membership.pk}/change/",
        {
            "member_number": "M900",
            "role": membership.role,
            "status": membership.status,
            "joined_date": membership.joined_date.isoformat(),
            "exit_reason": "",
            # the read-only balances inline's management form, as the browser sends it
            "accounts-TOTAL_FORMS": "0",
            "accounts-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.content[:2000]
    entry = updates_of(membership).latest()
    assert entry.changes["member_number"][1] == "M900"
    assert entry.actor_id == superuser.pk
    assert entry.remote_addr == "127.0.0.1"


def test_password_values_never_appear_unmasked_in_the_audit_trail(client, superuser, plain_member, api_as):
    hashes = {plain_member.password}
    # a change of password through the API ...
    response = api_as(plain_member).post(
        PASSWORD_URL, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )
    assert response.status_code == 204
    plain_member.refresh_from_db()
    hashes.add(plain_member.password)
    api_entry = updates_of(plain_member).filter(changes__has_key="password").latest()
    assert api_entry.actor_id == plain_member.pk

    # ... and one through the admin
    assert admin_login(client, str(superuser.phone_number)).status_code == 302
    admin_password = "Jua-Kali-Mchana-77"
    response = client.post(
        f"/admin/chama/user/{plain_member.pk}/password/", {"password1": admin_password, "password2": admin_password}
    )
    assert response.status_code == 302, response.content[:2000]
    plain_member.refresh_from_db()
    assert plain_member.check_password(admin_password)
    hashes.add(plain_member.password)
    admin_entry = updates_of(plain_member).filter(changes__has_key="password").latest()
    assert admin_entry.pk != api_entry.pk
    assert admin_entry.actor_id == superuser.pk

    for entry in (api_entry, admin_entry):
        old, new = entry.changes["password"]
        assert old.startswith("*") and new.startswith("*")

    secrets = hashes | {superuser.password, PASSWORD, NEW_PASSWORD, admin_password}
    entries = LogEntry.objects.all()
    assert entries.count() > 3
    for entry in entries:
        recorded = json.dumps(entry.changes) + entry.changes_text + json.dumps(entry.serialized_data)
        for secret in secrets:
            assert secret not in recorded, (entry.pk, entry.changes)
