"""Read queries about the register that other apps need."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from groups.models import Chama, MembershipChangeRequest

# How long a changed member number stays ambiguous: members keep paying with the number they
# remember, so a payment naming it may be meant for either member.
RENUMBERED_DAYS = 90


def member_number_recently_changed(chama: Chama, number: str | None, days: int = RENUMBERED_DAYS) -> bool:
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
