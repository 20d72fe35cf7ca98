"""Membership.attendance_percentage: the share of held meetings a member attended, by the policy's
rule for excused absences, re-derived from the register whenever it or a meeting's status changes."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Q

from chama.money import to_money
from finance.services import reconcile
from finance.services.reconcile import Drift
from groups.locking import lock_memberships
from groups.models import Chama, Membership, Policy
from meetings.models import Attendance, Meeting


def percentage(attended: int, excused: int, recorded: int, rule: str) -> Decimal | None:
    """The share of `recorded` meetings attended, excused absences and apologies counted as the
    policy's `rule` says; None when no meeting counts."""
    if rule == Policy.ExcusedCount.ATTENDED:
        attended += excused
    elif rule == Policy.ExcusedCount.EXCLUDED:
        recorded -= excused
    return to_money(Decimal(attended) * 100 / recorded) if recorded else None


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
        result[row["membership_id"]] = percentage(
            row["attended"], row["excused"], row["total"], row["membership__chama__policy__excused_absences"]
        )
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


def _drift_sql(chama: Chama | None) -> tuple[str, list[object]]:
    """Members whose cached percentage differs from the register, with the percentage the register
    gives (NULL when no held meeting counts): the rule of `percentages`, in one query."""
    inner, inner_params = reconcile.scope(chama, "a.chama_id")
    outer, outer_params = reconcile.scope(chama, "m.chama_id")
    attended = ", ".join(["%s"] * len(Attendance.ATTENDED))
    excused = ", ".join(["%s"] * len(Attendance.EXCUSED_STATUSES))
    actual = """
        CASE WHEN s.total - CASE WHEN p.excused_absences = %s THEN s.excused ELSE 0 END > 0
        THEN ROUND((s.attended + CASE WHEN p.excused_absences = %s THEN s.excused ELSE 0 END) * 100.0
                   / (s.total - CASE WHEN p.excused_absences = %s THEN s.excused ELSE 0 END), 2)
        END
    """
    sql = f"""
        SELECT m.id, m.chama_id, m.attendance_percentage, {actual} AS actual
        FROM {Membership._meta.db_table} m
        JOIN {Policy._meta.db_table} p ON p.chama_id = m.chama_id
        LEFT JOIN (
            SELECT a.membership_id, COUNT(*) AS total,
                   SUM(CASE WHEN a.status IN ({attended}) THEN 1 ELSE 0 END) AS attended,
                   SUM(CASE WHEN a.status IN ({excused}) THEN 1 ELSE 0 END) AS excused
            FROM {Attendance._meta.db_table} a JOIN {Meeting._meta.db_table} mt ON mt.id = a.meeting_id
            WHERE mt.status = %s{inner} GROUP BY a.membership_id
        ) s ON s.membership_id = m.id
        WHERE COALESCE(m.attendance_percentage, -1) <> COALESCE({actual}, -1){outer}
    """
    rule = [Policy.ExcusedCount.EXCLUDED, Policy.ExcusedCount.ATTENDED, Policy.ExcusedCount.EXCLUDED]
    params = [
        *rule,
        *Attendance.ATTENDED,
        *Attendance.EXCUSED_STATUSES,
        Meeting.Status.HELD,
        *inner_params,
        *rule,
        *outer_params,
    ]
    return sql, [value if isinstance(value, int) else str(value) for value in params]


def drift(chama: Chama | None = None) -> list[tuple[Membership, Decimal | None, Decimal | None]]:
    """[(membership, cached, actual)] where the cached percentage differs from the register (one query)."""
    sql, params = _drift_sql(chama)
    found = reconcile.rows(f"{sql} ORDER BY m.id", params)
    return [
        (
            Membership(pk=pk, chama_id=chama_id),
            None if cached is None else reconcile.money(cached),
            None if actual is None else reconcile.money(actual),
        )
        for pk, chama_id, cached, actual in found
    ]


def drift_fix(chama: Chama | None = None) -> int:
    """Write every member's percentage that differs from the register: one UPDATE."""
    sql, params = _drift_sql(chama)
    return reconcile.execute(
        reconcile.repair_update(Membership._meta.db_table, "attendance_percentage = d.actual", sql), params
    )


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


DRIFT_KIND = reconcile.DriftKind("attendance percentages", reconcile_drift, drift_fix)
