"""Ending a person's API sessions when their credentials or their standing change.

A refresh token lives for days and every refresh hands out a successor, so a token copied from a
lost phone would outlive a password change. Every refresh token SimpleJWT issues, rotated ones
included, is recorded as outstanding; blacklisting them all makes the next refresh a 401, and the
access tokens already out run out within `JWT_ACCESS_MINUTES`.
"""

from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from chama.roles import MembershipStatus


def revoke_refresh_tokens(user):
    """Blacklist every unexpired refresh token of `user`; returns how many were still usable.

    Called on a password change or reset, a lockout, and the person's removal from their last
    chama. Safe to run twice or alongside a logout: an already blacklisted token is skipped.
    """
    usable = OutstandingToken.objects.filter(
        user_id=user.pk, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    )
    revoked = [BlacklistedToken(token_id=pk) for pk in usable.values_list("pk", flat=True)]
    BlacklistedToken.objects.bulk_create(revoked, ignore_conflicts=True)
    return len(revoked)


def revoke_if_in_no_chama(user):
    """After a suspension or an exit: a person left without an active membership has no chama to
    act in, so their sessions end; a member of another chama keeps theirs."""
    if not user.memberships.filter(status=MembershipStatus.ACTIVE).exists():
        revoke_refresh_tokens(user)
