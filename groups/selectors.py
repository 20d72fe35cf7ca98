"""Read queries about chamas and their register that the admin, the API and other apps need."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.utils import timezone

from chama import authority
from chama.roles import MembershipStatus
from groups.models import Chama, Membership, MembershipChangeRequest

if TYPE_CHECKING:
    from chama.models import User

# How long a changed member number stays ambiguous: members keep paying with the number they
# remember, so a payment naming it may be meant for either member.
RENUMBERED_DAYS = 90


def member_number_recently_changed(*, chama: Chama, number: str | None, days: int = RENUMBERED_DAYS) -> bool:
    """Whether `number` was a member's old or new number in a change approved in the last `days` days."""
    number = (number or "").strip()
    if not number:
        return False
    return MembershipChangeRequest.objects.filter(
        Q(previous_value__iexact=number) | Q(requested_value__iexact=number),
        chama=chama,
        kind=MembershipChangeRequest.Kind.MEMBER_NUMBER,
        status=MembershipChangeRequest.Status.APPROVED,
        decided_date__gte=timezone.now() - timedelta(days=days),
    ).exists()


def active_members(*, chama: Chama) -> QuerySet[Membership]:
    """The chama's active members in member-number order."""
    return Membership.objects.filter(chama=chama, status=MembershipStatus.ACTIVE).order_by("member_number")


def officers_for(*, chama: Chama, action: str) -> QuerySet[Membership]:
    """The active members whose role in `chama` may take `action` (before any per-row rule)."""
    return active_members(chama=chama).filter(role__in=authority.roles_for(action, chama)).select_related("user")


def chamas_where(*, user: User, action: str) -> QuerySet[Chama]:
    """The chamas in which the authority lets `user` take `action` (every chama for superusers)."""
    chama_ids = authority.chama_ids_for(user, action)
    return Chama.objects.all() if chama_ids is None else Chama.objects.filter(pk__in=chama_ids)


def members_where(*, user: User, action: str) -> QuerySet[Membership]:
    """The members of every chama in which `user` may take `action`, for a back-office picker."""
    return (
        Membership.objects.filter(chama__in=chamas_where(user=user, action=action))
        .select_related("user", "chama")
        .order_by("chama", "member_number")
    )
