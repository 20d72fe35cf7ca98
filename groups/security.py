"""Security events (`SecurityEvent`): failed and locked logins, from Django's `user_login_failed`
(the back office's login form and the API's alike), and what the core announces on
`chama.signals.security_event` (money actions refused, spent refresh tokens used again), each with
the client's address (read as the throttles read it: X-Forwarded-For only behind `NUM_PROXIES`
proxies) and user agent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
from rest_framework.throttling import BaseThrottle

from chama import signals
from chama.login_security import find_user_by_login
from chama.roles import MembershipStatus
from groups.models import Membership, SecurityEvent

K = SecurityEvent.Kind


def _client(request) -> dict[str, str | None]:
    if request is None:
        return {"ip_address": None, "user_agent": ""}
    address = BaseThrottle().get_ident(request) or None
    return {"ip_address": address, "user_agent": request.META.get("HTTP_USER_AGENT", "")[:255]}


def record(kind: str, *, request=None, user=None, chama_ids=(None,), login: str = "", detail: str = "") -> None:
    """One event of `kind` in each of `chama_ids` (None: the platform's, seen by staff only)."""
    known = user if getattr(user, "pk", None) else None
    SecurityEvent.objects.bulk_create(
        [
            SecurityEvent(
                chama_id=chama_id, kind=kind, user=known, login=login[:254], detail=detail[:500], **_client(request)
            )
            for chama_id in chama_ids
        ]
    )


def _chamas_of(user) -> list[int | None]:
    """The chamas whose chairperson should see an event about `user`: those they belong to."""
    if user is None:
        return [None]
    ids = list(
        Membership.objects.filter(user=user)
        .exclude(status=MembershipStatus.EXITED)
        .values_list("chama_id", flat=True)
        .order_by("chama_id")
    )
    return ids or [None]


@receiver(user_login_failed)
def login_failed(sender, credentials: dict[str, Any], request=None, **kwargs) -> None:
    login = str(credentials.get("username") or credentials.get("login") or "")
    user = find_user_by_login(login)
    chamas = _chamas_of(user)
    # What was typed is kept whole only when it is someone's login: otherwise it may be a password
    # typed in the wrong box, and only its start and length are kept.
    shown = login if user is not None else f"{login[:4]}… ({len(login)} characters)"
    record(K.LOGIN_FAILED, request=request, user=user, chama_ids=chamas, login=shown)
    if user is None:
        return
    user.refresh_from_db(fields=["account_locked_until"])
    if user.is_locked:  # said once a lock, not again for each attempt while it lasts
        since = user.account_locked_until - timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
        if not SecurityEvent.objects.filter(user=user, kind=K.LOGIN_LOCKED, created_date__gte=since).exists():
            record(K.LOGIN_LOCKED, request=request, user=user, chama_ids=chamas, login=shown)


@receiver(signals.security_event)
def announced(sender, kind: str, request=None, user=None, chama_id=None, detail: str = "", **kwargs) -> None:
    chamas = [chama_id] if chama_id is not None else _chamas_of(user if getattr(user, "pk", None) else None)
    record(kind, request=request, user=user, chama_ids=chamas, detail=detail)
