"""Finding a person by phone number or email, and locking them out after repeated failures.

The counters live on the user (the seeds' `failed_login_attempts`, `account_locked_until`), so the
lockout holds across every web worker, for the admin and the API alike.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from phonenumber_field.phonenumber import to_python

from chama.models import normalize_email


def find_user_by_login(login):
    """The user whose phone number (any common format) or email is `login`, or None."""
    login = (login or "").strip()
    User = get_user_model()
    if not login or len(login) > 254:
        return None
    if "@" in login:
        return User.objects.filter(email=normalize_email(login)).first()
    phone = to_python(login)
    if phone is None or not phone.is_valid():
        return None
    return User.objects.filter(phone_number=phone.as_e164).first()


def register_failure(user):
    """Count a wrong password; lock the account when the limit is reached."""
    User = get_user_model()
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.is_locked:
            return
        locked.failed_login_attempts += 1
        if locked.failed_login_attempts >= settings.LOGIN_FAILURE_LIMIT:
            locked.account_locked_until = timezone.now() + timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
            locked.failed_login_attempts = 0
        locked.save(update_fields=["failed_login_attempts", "account_locked_until"])


def register_success(user):
    if user.failed_login_attempts or user.account_locked_until:
        get_user_model().objects.filter(pk=user.pk).update(failed_login_attempts=0, account_locked_until=None)


def unlock(user):
    user.failed_login_attempts = 0
    user.account_locked_until = None
    user.save(update_fields=["failed_login_attempts", "account_locked_until"])


def lockout_message(user):
    until = timezone.localtime(user.account_locked_until)
    return (
        f"This account is locked after {settings.LOGIN_FAILURE_LIMIT} wrong passwords. "
        f"Try again after {date_format(until, 'DATETIME_FORMAT')}, or ask an officer to unlock it."
    )
