"""Membership.attendance_percentage: the share of held meetings a member attended, by the policy's
rule for excused absences, re-derived from the register whenever it or a meeting's status changes."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Q

from chama.money import to_money
from finance.services.reconcile import Drift
from groups.locking import lock_memberships
from groups.models import Chama, Membership, Policy
from meetings.models import Attendance, Meeting


def percentages(membership_ids: Collection[int]) -> dict[int, Decimal | None]:
    """{membership id: percentage or None} from the register of held meetings (one query)."""
    rows = (
        Attendance.objects.filter(membership_id__in=membership_ids, meeting__status=Meeting.Status.HELD)
        .values("membership_id", "membership__chama__policy__excused_absences")
        .annotate(
            attended=Count("pk", filter=Q(status__in=Attendance.ATTENDED)),
            excused=Count("pk", filter=Q(status__in=Attendance.EXCUSED_STATUSES)),
            total=Count("pk"),
        )
    )
    result = dict.fromkeys(membership_ids)
    for row in rows:
        rule, attended, counted = row["membership__chama__policy__excused_absences"], row["attended"], row["total"]
        if rule == Policy.ExcusedCount.ATTENDED:
            attended += row["excused"]
        elif rule == Policy.ExcusedCount.EXCLUDED:
            counted -= row["excused"]
        result[row["membership_id"]] = to_money(Decimal(attended) * 100 / counted) if counted else None
    return result


def refresh(membership_ids: Iterable[int]) -> None:
    """Re-derive the members' percentages. Their rows are locked first (no-key, in id order), so two
    registers edited at once cannot overwrite each other with a stale count."""
    membership_ids = sorted(set(membership_ids))
    if not membership_ids:
        return
    with transaction.atomic():
        lock_memberships(membership_ids)
        for membership_id, percentage in percentages(membership_ids).items():
            Membership.objects.filter(pk=membership_id).update(attendance_percentage=percentage)


def drift(chama: Chama | None = None) -> list[tuple[Membership, Decimal | None, Decimal | None]]:
    """[(membership, cached, actual)] where the cached percentage differs from the register."""
    members = Membership.objects.all() if chama is None else Membership.objects.filter(chama=chama)
    members = list(members.only("pk", "chama_id", "attendance_percentage"))
    actual = percentages([m.pk for m in members])
    return [(m, m.attendance_percentage, actual[m.pk]) for m in members if m.attendance_percentage != actual[m.pk]]


def reconcile_drift(chama: Chama | None = None) -> list[Drift]:
    """The register's side of reconcile_balances."""
    return [
        Drift(
            f"attendance percentage of membership #{m.pk}",
            m.chama_id,
            cached,
            actual,
            lambda pk=m.pk, value=actual: Membership.objects.filter(pk=pk).update(attendance_percentage=value),
        )
        for m, cached, actual in drift(chama)
    ]
