"""Refresh tokens end with the credentials and the standing they were issued for; production
settings refuse to start unsafe and pass `check --deploy`.

Real HTTP requests, real tokens and the real database; the settings run in subprocesses with the
environment a deployment would give them.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from chama.roles import MembershipStatus, Role
from config.settings import DEVELOPMENT_KEY_PREFIX
from groups import services
from tests.factories import PASSWORD, MembershipFactory, member

User = get_user_model()

TOKEN_URL = "/api/v1/auth/token/"
REFRESH_URL = "/api/v1/auth/token/refresh/"
PASSWORD_URL = "/api/v1/me/password/"
NEW_PASSWORD = "Mvua-ya-Masika-2024"
WRONG_PASSWORD = "not-the-password"
BASE_DIR = Path(settings.BASE_DIR)
PRODUCTION_KEY = "p7Vq2-" + "xK9mR4tW8zL3nB6cF1hJ5sD0gY" * 3  # long and varied, as `check --deploy` wants


def log_in(user, password=PASSWORD):
    """A fresh device's token pair."""
    response = APIClient().post(TOKEN_URL, {"login": str(user.phone_number), "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def refresh(token):
    return APIClient().post(REFRESH_URL, {"refresh": token}, format="json")


def sessions_of(user):
    """Two devices' refresh tokens: one as issued at login, one already rotated once."""
    issued = log_in(user)["refresh"]
    rotated = refresh(log_in(user)["refresh"])
    assert rotated.status_code == 200
    return [issued, rotated.json()["refresh"]]


def assert_refused(tokens):
    for token in tokens:
        response = refresh(token)
        assert response.status_code == 401, response.content


def assert_working(tokens):
    for token in tokens:
        assert refresh(token).status_code == 200


# ---------------------------------------------------------------- a new password


def test_password_change_through_the_api_revokes_every_refresh_token(plain_member):
    tokens = sessions_of(plain_member)
    device = APIClient()
    device.credentials(HTTP_AUTHORIZATION=f"Bearer {log_in(plain_member)['access']}")

    response = device.post(PASSWORD_URL, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json")

    assert response.status_code == 204, response.content
    assert_refused(tokens)
    assert_working([log_in(plain_member, NEW_PASSWORD)["refresh"]])


def test_a_refused_password_change_revokes_nothing(plain_member):
    tokens = sessions_of(plain_member)
    device = APIClient()
    device.credentials(HTTP_AUTHORIZATION=f"Bearer {log_in(plain_member)['access']}")

    response = device.post(
        PASSWORD_URL, {"current_password": WRONG_PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )

    assert response.status_code == 400
    assert_working(tokens)


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("+254733000111", PASSWORD, first_name="Platform", last_name="Admin")


def test_own_password_change_in_the_back_office_revokes_the_api_tokens(client, superuser):
    tokens = sessions_of(superuser)
    client.force_login(superuser)

    response = client.post(
        "/admin/password_change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302, response.content[:2000]
    assert_refused(tokens)


def test_a_password_set_by_an_administrator_revokes_the_persons_tokens(client, superuser, plain_member):
    tokens = sessions_of(plain_member)
    client.force_login(superuser)

    response = client.post(
        f"/admin/chama/user/{plain_member.pk}/password/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )

    assert response.status_code == 302, response.content[:2000]
    assert_refused(tokens)


# ---------------------------------------------------------------- a lockout


def test_lockout_by_wrong_passwords_revokes_every_refresh_token(plain_member):
    tokens = sessions_of(plain_member)

    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        response = APIClient().post(
            TOKEN_URL, {"login": str(plain_member.phone_number), "password": WRONG_PASSWORD}, format="json"
        )
        assert response.status_code == 401
    plain_member.refresh_from_db()

    assert plain_member.is_locked
    assert_refused(tokens)


def test_wrong_passwords_short_of_the_limit_revoke_nothing(plain_member):
    tokens = sessions_of(plain_member)

    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        APIClient().post(
            TOKEN_URL, {"login": str(plain_member.phone_number), "password": WRONG_PASSWORD}, format="json"
        )

    assert_working(tokens)


# ---------------------------------------------------------------- leaving the chamas


@pytest.mark.parametrize(
    ("officer_role", "status"),
    [
        (Role.CHAIRPERSON, MembershipStatus.EXITED),
        (Role.SECRETARY, MembershipStatus.EXITED),
        (Role.SECRETARY, MembershipStatus.SUSPENDED),
    ],
)
def test_removal_from_the_only_chama_revokes_every_refresh_token(chama, plain_member, officer_role, status):
    officer = member(chama, officer_role)
    tokens = sessions_of(plain_member)

    services.membership_change_status(
        membership=plain_member.memberships.get(chama=chama), status=status, by=officer, reason="Moved to Mombasa"
    )

    assert_refused(tokens)


def test_a_member_of_two_chamas_who_leaves_one_keeps_working_tokens(chama, other_chama, chairperson, plain_member):
    MembershipFactory(chama=other_chama, user=plain_member)
    tokens = sessions_of(plain_member)

    services.membership_change_status(
        membership=plain_member.memberships.get(chama=chama),
        status=MembershipStatus.EXITED,
        by=chairperson,
        reason="Moved",
    )

    assert_working(tokens)


# ---------------------------------------------------------------- settings


def run_with(settings_module, *args, **environment):
    """`manage.py` in a fresh process whose whole environment is `environment` (no .env values
    of the test run leak in: only PATH is kept)."""
    env = {"PATH": os.environ.get("PATH", ""), "DJANGO_SETTINGS_MODULE": settings_module, **environment}
    return subprocess.run(
        [sys.executable, "manage.py", *args], env=env, cwd=BASE_DIR, capture_output=True, text=True, timeout=120
    )


def test_production_settings_pass_check_deploy():
    result = run_with(
        "config.settings.production",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY=PRODUCTION_KEY,
        ALLOWED_HOSTS="chama.example.co.ke",
    )

    assert result.returncode == 0, result.stderr + result.stdout
    assert "WARNINGS" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("environment", "complaint"),
    [
        ({"ALLOWED_HOSTS": "chama.example.co.ke"}, "SECRET_KEY"),
        ({"ALLOWED_HOSTS": "chama.example.co.ke", "SECRET_KEY": ""}, "SECRET_KEY"),
        (
            {"ALLOWED_HOSTS": "chama.example.co.ke", "SECRET_KEY": DEVELOPMENT_KEY_PREFIX + PRODUCTION_KEY},
            "development key",
        ),
        ({"SECRET_KEY": PRODUCTION_KEY}, "ALLOWED_HOSTS"),
        ({"ALLOWED_HOSTS": "chama.example.co.ke", "SECRET_KEY": PRODUCTION_KEY, "DEBUG": "true"}, "DEBUG"),
    ],
    ids=["no key", "empty key", "development key", "no hosts", "debug on"],
)
def test_production_settings_refuse_to_load_unsafe(environment, complaint):
    result = run_with("config.settings.production", "check", **environment)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and complaint in result.stderr, result.stderr[-2000:]


def test_development_settings_make_no_key_with_debug_off():
    result = run_with("config.settings.local", "check", DEBUG="false")

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_the_development_key_is_random_marked_and_kept(tmp_path):
    from config.settings.local import development_secret_key

    first = development_secret_key(tmp_path / "one")

    assert first == development_secret_key(tmp_path / "one")  # logins survive a restart
    assert first != development_secret_key(tmp_path / "two")  # no key shared by every checkout
    assert first.startswith(DEVELOPMENT_KEY_PREFIX) and len(first) >= 50


def test_jwts_are_signed_with_the_secret_key():
    assert settings.SIMPLE_JWT["SIGNING_KEY"] == settings.SECRET_KEY
