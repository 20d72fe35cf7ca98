"""What a person changes about their own account: profile, password, notifications read."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from chama import tokens
from chama.models import Notification, User

PROFILE_FIELDS = {"first_name", "last_name", "email"}


def profile_update(*, user: User, **fields: Any) -> User:
    """Change one's own name or email (the phone number and ID number are kept by the chama's
    officers, who verify them)."""
    unknown = set(fields) - PROFILE_FIELDS
    if unknown:
        raise ValueError(f"Not a profile field: {', '.join(sorted(unknown))}.")
    for name, value in fields.items():
        setattr(user, name, value)
    user.full_clean()
    user.save(update_fields=[*fields, "updated_date"])
    return user


def password_change(*, user: User, new_password: str) -> User:
    """Set a new password and end every API session of the account: whoever held a copy of the old
    password or of a refresh token is out once their access token runs out."""
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password", "updated_date"])
        tokens.revoke_refresh_tokens(user)
    return user


def notifications_of(user: User, *, unread_only: bool = False) -> QuerySet[Notification]:
    """The person's notifications that have not expired, newest first."""
    mine = Notification.objects.filter(user=user).filter(
        Q(expires_date__isnull=True) | Q(expires_date__gt=timezone.now())
    )
    return mine.filter(read_date__isnull=True) if unread_only else mine


def notification_read(*, notification: Notification) -> Notification:
    if notification.read_date is None:
        notification.read_date = timezone.now()
        notification.save(update_fields=["read_date", "updated_date"])
    return notification


def notifications_read_all(*, user: User) -> int:
    """Mark every unread notification read; returns how many."""
    return notifications_of(user, unread_only=True).update(read_date=timezone.now())
