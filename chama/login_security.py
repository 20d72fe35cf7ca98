"""Finding a person by phone number or email, and locking them out after repeated failures.

The counters live on the user (the seeds' `failed_login_attempts`, `account_locked_until`), so the
lockout holds across every web worker, for the admin and the API alike. Every refusal (unknown
login, wrong password, locked account) answers the one `refused_message()`, so nobody can learn
from a login form who is registered or whose account is locked.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from phonenumber_field.phonenumber import to_python

from chama import authority, tokens
from chama.locking import lock_row
from chama.models import normalize_email
from chama.roles import MembershipStatus


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
    """Count a wrong password; lock the account when the limit is reached.

    A lock also ends every API session: repeated wrong passwords, on the login or on
    `me/password/` with a stolen token, say the account may be in someone else's hands.
    """
    User = get_user_model()
    with transaction.atomic():
        locked = lock_row(User.objects.all(), pk=user.pk)
        if locked.is_locked:
            return
        locked.failed_login_attempts += 1
        if locked.failed_login_attempts >= settings.LOGIN_FAILURE_LIMIT:
            locked.account_locked_until = timezone.now() + timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
            locked.failed_login_attempts = 0
            tokens.revoke_refresh_tokens(locked)
        locked.save(update_fields=["failed_login_attempts", "account_locked_until"])


def register_success(user):
    if user.failed_login_attempts or user.account_locked_until:
        get_user_model().objects.filter(pk=user.pk).update(failed_login_attempts=0, account_locked_until=None)


def refused_message():
    """The one answer to every refused login or current password, whatever the reason."""
    return (
        f"Wrong login or password, or the account is locked. After {settings.LOGIN_FAILURE_LIMIT} wrong "
        f"passwords in a row an account is locked for {settings.LOGIN_LOCKOUT_MINUTES} minutes; an officer "
        "of your chama can unlock it sooner."
    )


def spend_hashing_time(password):
    """Hash `password` for nothing, so a refusal that needs no check takes as long as one that does."""
    get_user_model()().set_password(password)


def check_current_password(user, password):
    """Whether `password` is `user`'s own, counted like a login: a wrong one is a failure and a
    locked account refuses even the right one (else a stolen token could guess passwords freely)."""
    if user.is_locked:
        spend_hashing_time(password)
        return False
    if not user.check_password(password):
        register_failure(user)
        return False
    register_success(user)
    return True


def login_unlock(*, membership, by):
    """An officer of the member's chama lets them log in again before the lock runs out.

    The audit trail's entry for the user has the request's user as actor; its additional data
    names the chama (so that chama's officers see it in their history) and who unlocked (so the
    record holds outside a request too).
    """
    authority.require(by, "unlock_login", membership)
    if membership.status == MembershipStatus.EXITED:
        raise authority.Refused(
            f"{membership.user} has left {membership.chama}: their login is no longer its officers' to unlock."
        )
    user = membership.user
    _refuse_unless_someone_else(user, by)
    if user.is_superuser and not by.is_superuser:
        # A chama officer must not be able to reopen password guessing on a platform administrator.
        raise authority.Refused("A platform administrator's login is unlocked only by another platform administrator.")
    _reset(user, {"chama_id": membership.chama_id, "unlocked_by": by.pk})


def login_unlock_platform(*, user, by):
    """A platform superuser unlocks any login, one that belongs to no chama included."""
    if not (by.is_active and by.is_superuser):
        raise authority.Refused("Only a platform administrator unlocks a login outside a chama.")
    _refuse_unless_someone_else(user, by)
    _reset(user, {"unlocked_by": by.pk})


def _refuse_unless_someone_else(user, by):
    # Whoever holds a token of a locked account could otherwise unlock it and go on guessing its
    # password on `me/password/`.
    if user.pk == by.pk:
        raise authority.Refused("Nobody may unlock their own login: another officer must.")


def _reset(user, audit_note):
    User = get_user_model()
    with transaction.atomic():
        locked = lock_row(User.objects.all(), pk=user.pk)
        locked.failed_login_attempts = 0
        locked.account_locked_until = None
        locked.audit_note = audit_note
        locked.save(update_fields=["failed_login_attempts", "account_locked_until", "updated_date"])
    user.failed_login_attempts, user.account_locked_until = 0, None
