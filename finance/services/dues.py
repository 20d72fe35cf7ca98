"""Dues: raising them, settling them with payments and advances, fining late ones, waiving them."""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, ExtractDay, ExtractMonth, ExtractYear, Least
from django.db.models.lookups import LessThan
from django.utils import timezone

from chama import authority
from chama.money import ZERO, positive_money, shown, to_money
from chama.progress import Progress
from chama.roles import MembershipStatus
from chama.transitions import locked_in_status, move
from finance import periods
from finance.locking import lock_due, lock_open_dues
from finance.models import (
    Account,
    ContributionPlan,
    Due,
    DueAllocation,
    Journal,
    RoscaCycle,
    RosterSlot,
    SavingsType,
    Waiver,
)
from finance.services import ledger, shares, value_dates
from finance.services.ledger_writes import case_by_id, chama_rows
from groups import selectors as register
from groups import signatures
from groups.locking import lock_membership
from groups.models import Chama, Membership, Policy

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler

    from chama.models import User
    from finance.periods import Period

    SQL = tuple[str, list[Any]]

A = Account.Purpose

# Which dues a payment may settle: everything, contributions and levies only, or fines only.
DUE_KINDS = {"all": None, "contributions": [Due.Kind.CONTRIBUTION, Due.Kind.LEVY], "fines": [Due.Kind.FINE]}


def default_savings_type(chama: Chama) -> SavingsType:
    def read() -> SavingsType:
        savings_type = SavingsType.objects.filter(chama=chama, is_default=True).first()
        if savings_type is None:
            savings_type, _ = SavingsType.objects.get_or_create(
                chama=chama, code="REG", defaults={"name": "Regular", "is_default": True}
            )
        return savings_type

    return ledger.cached(("default savings type", chama.pk), read)


def contribution_plan_from_policy(chama: Chama, start_date: date | None = None) -> ContributionPlan:
    """The chama's regular contribution plan, made from its policy if it has none."""
    plan = ContributionPlan.objects.filter(chama=chama, kind=ContributionPlan.Kind.REGULAR, is_active=True).first()
    if plan is not None:
        return plan
    policy = chama.policy
    if policy.contribution_amount <= 0:
        raise ValidationError("Set the contribution amount in the chama's policy first.")
    target = ContributionPlan.Target.ROSCA_POT if chama.kind == Chama.Kind.ROSCA else ContributionPlan.Target.SAVINGS
    return ContributionPlan.objects.create(
        chama=chama,
        name="Regular contribution",
        kind=ContributionPlan.Kind.REGULAR,
        amount=policy.contribution_amount,
        frequency=policy.contribution_frequency,
        due_day=policy.contribution_due_day,
        grace_days=policy.grace_days,
        target=target,
        start_date=start_date or chama.today(),
    )


def credit_account(due: Due) -> Account:
    """Where money settling `due` goes."""
    if due.kind == Due.Kind.FINE:
        return ledger.member_account(due.membership, A.FINES_RECEIVABLE)
    plan = due.plan
    if plan.target == ContributionPlan.Target.WELFARE:
        return ledger.chama_account(due.chama, A.WELFARE_FUND)
    if plan.target == ContributionPlan.Target.ROSCA_POT:
        return ledger.chama_account(due.chama, A.ROSCA_POT)
    return ledger.member_account(due.membership, A.MEMBER_SAVINGS, plan.savings_type or default_savings_type(due.chama))


# --- settling dues ---------------------------------------------------------------------------


@dataclass
class Settlement:
    lines: list = field(default_factory=list)
    allocations: list = field(default_factory=list)  # (due, amount)
    remaining: object = ZERO


def settle_oldest_first(membership: Membership, amount: Decimal, kinds: Sequence[str] | None = None) -> Settlement:
    """Spread `amount` over the member's open dues, oldest first: one statement reads and locks
    them, whatever their number. The caller holds the member's lock."""
    settlement = Settlement(remaining=amount)
    for due in sorted(lock_open_dues(membership, kinds), key=lambda due: (due.due_date, due.id)):
        if settlement.remaining <= 0:
            break
        due.membership, due.chama = membership, membership.chama  # known already: no query per due
        take = min(settlement.remaining, due.outstanding)
        if take > 0:
            settlement.lines.append((credit_account(due), -take))
            settlement.allocations.append((due, take))
            settlement.remaining -= take
    return settlement


def record_allocations(
    chama: Chama,
    allocations: Sequence[tuple[Due, Decimal]],
    kind: str,
    journal: Journal | None = None,
    today: date | None = None,
) -> None:
    """Write allocation rows (one insert) and move the dues' cached amounts and status with them
    (one update, whatever the number of dues). The status is worked out in the database from the
    row's own amounts, so a due not locked by the caller (a reversal) is still moved right."""
    if not allocations:
        return
    DueAllocation.objects.append(
        [DueAllocation(chama=chama, due=due, journal=journal, kind=kind, amount=amount) for due, amount in allocations]
    )
    field_name = "paid_amount" if kind == DueAllocation.Kind.PAYMENT else "waived_amount"
    today = today or chama.today()
    moved: dict[int, Decimal] = {}
    for due, amount in allocations:
        moved[due.pk] = moved.get(due.pk, ZERO) + amount
    _move_dues(chama, moved, field_name, today)
    for due, amount in allocations:  # the caller's copies follow
        setattr(due, field_name, to_money(getattr(due, field_name) + amount))
        due.status = due.derive_status(today)


def _move_dues(chama: Chama, moved: dict[int, Decimal], field_name: str, today: date) -> None:
    """Add `moved` ({due id: amount}) to each due's `field_name` (paid or waived) and set its
    status from its amounts after the update, as `Due.derive_status` would: one statement, in SQL
    written here because the ORM's compiling of this expression cost more than running it. ROUND
    keeps SQLite, which adds decimals in floating point, on whole cents (the sum and what is left
    owed alike: 2,000 less 1,999.99 less 0.01 is not zero in floating point)."""
    quote = connection.ops.quote_name
    S = Due.Status
    delta, delta_params = case_by_id(moved, Due._meta.get_field(field_name))
    new = f"ROUND({quote(field_name)} + {delta}, 2)"
    # The amounts after the update, as the status must read them (SET sees the row before it).
    paid, paid_params = (new, delta_params) if field_name == "paid_amount" else (quote("paid_amount"), [])
    waived, waived_params = (new, delta_params) if field_name == "waived_amount" else (quote("waived_amount"), [])
    status = (
        f"CASE WHEN {quote('status')} = %s THEN %s "
        f"WHEN ROUND({quote('amount')} - {paid} - {waived}, 2) <= 0 THEN CASE WHEN {paid} > 0 THEN %s ELSE %s END "
        f"WHEN {quote('late_after')} < %s THEN %s WHEN {paid} > 0 THEN %s ELSE %s END"
    )
    status_params = [
        S.CANCELLED,
        S.CANCELLED,
        *paid_params,
        *waived_params,
        *paid_params,
        S.PAID,
        S.WAIVED,
        Due._meta.get_field("late_after").get_db_prep_save(today, connection),
        S.OVERDUE,
        *paid_params,
        S.PARTIAL,
        S.PENDING,
    ]
    where, where_params = chama_rows(Due, chama.pk, list(moved))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(Due._meta.db_table)} SET {quote(field_name)} = {new}, {quote('status')} = {status}, "
            f"{quote('updated_date')} = %s WHERE {where}",
            [
                *delta_params,
                *status_params,
                Due._meta.get_field("updated_date").get_db_prep_save(timezone.now(), connection),
                *where_params,
            ],
        )


def _debit_account(chama: Chama, method: str, source_account: Account | None) -> Account:
    if source_account is not None:
        return source_account
    return ledger.method_account(chama, method)


def payment_record(
    *,
    membership: Membership,
    amount: Decimal,
    method: str,
    by: User,
    value_date: date | None = None,
    reference: str = "",
    idempotency_key: str = "",
    memo: str = "",
    kinds: Sequence[str] | None = None,
    source_account: Account | None = None,
    remainder: str = Policy.PaybillRemainder.ADVANCE,
) -> Journal:
    """A member pays: the oldest unpaid dues (of `kinds`, or all) are settled first; what is left
    is held as an advance. With `remainder` "shares" what is left first buys whole shares at the
    share price, within the shares per meeting of the value date (`shares.shares_affordable`), in
    the same journal, and only the rest is held as an advance. A replay of the same reference or
    idempotency key returns the first journal."""
    chama = membership.chama
    authority.require(by, "record_payment", membership)
    amount = positive_money(amount, what="A payment")
    value_date = value_date or chama.today()

    def post():
        ledger.preload_accounts(chama, membership)
        settlement = settle_oldest_first(membership, amount, kinds)
        lines = [(_debit_account(chama, method, source_account), amount), *settlement.lines]
        bought, price = 0, ZERO
        if remainder == Policy.PaybillRemainder.SHARES:
            selling = shares.terms(chama)
            price = selling.share_price
            bought = shares.shares_affordable(membership, settlement.remaining, value_date, selling)
        cost = to_money(price * bought)
        if bought:
            lines.append((ledger.member_account(membership, A.MEMBER_SHARES), -cost))
        left = settlement.remaining - cost
        if left > 0:
            lines.append((ledger.member_account(membership, A.MEMBER_ADVANCE), -left))
        text = memo or f"Payment by {membership.member_number} ({method})"
        if remainder == Policy.PaybillRemainder.SHARES:
            text = f"{text}: {_routed(amount - settlement.remaining, bought, price, left)}"
        journal = ledger.post_journal(
            chama=chama,
            kind=Journal.Kind.PAYMENT,
            lines=lines,
            value_date=value_date,
            memo=text,
            membership=membership,
            external_reference=reference,
            idempotency_key=idempotency_key,
            created_by=authority.person(by),
        )
        record_allocations(chama, settlement.allocations, DueAllocation.Kind.PAYMENT, journal)
        if bought:
            shares.purchase_record(
                journal=journal, membership=membership, shares=bought, share_price=price, value_date=value_date
            )
        return journal

    return ledger.post_once(membership, reference=reference, idempotency_key=idempotency_key, post=post, amount=amount)


def _routed(to_dues: Decimal, bought: int, price: Decimal, left: Decimal) -> str:
    """What a payment routed by the policy did, for its memo (and so for the member's receipt)."""
    parts = [f"{shown(to_dues)} to dues"] if to_dues > 0 else []
    if bought:
        cost = to_money(price * bought)
        parts.append(f"{bought} share{'s' if bought != 1 else ''} at {shown(price)} ({shown(cost)})")
    if left > 0:
        parts.append(f"{shown(left)} held as advance")
    return ", ".join(parts)


def apply_advance(membership: Membership, value_date: date | None = None, by: User | None = None) -> Journal | None:
    """Settle open dues from the member's advance payments; returns the journal or None."""
    chama = membership.chama
    with transaction.atomic():
        lock_membership(membership.pk)
        advance = Account.objects.filter(chama=chama, membership=membership, purpose=A.MEMBER_ADVANCE).first()
        if advance is None or advance.normal_balance <= 0:
            return None
        settlement = settle_oldest_first(membership, advance.normal_balance)
        used = advance.normal_balance - settlement.remaining
        if used <= 0:
            return None
        journal = ledger.post_journal(
            chama=chama,
            kind=Journal.Kind.ADVANCE_APPLIED,
            lines=[(advance, used), *settlement.lines],
            value_date=value_date or chama.today(),
            memo=f"Advance applied to dues of {membership.member_number}",
            membership=membership,
            created_by=by,
        )
        record_allocations(chama, settlement.allocations, DueAllocation.Kind.PAYMENT, journal)
    return journal


def apply_advances(chama: Chama, value_date: date | None = None) -> list[Journal]:
    """Apply every member's advance in the chama to their open dues (members with an advance only)."""
    holders = Account.objects.filter(chama=chama, purpose=A.MEMBER_ADVANCE, balance__lt=0).select_related(
        "membership__chama", "membership__user"
    )
    journals = [apply_advance(account.membership, value_date) for account in holders]
    return [journal for journal in journals if journal is not None]


# --- raising dues ----------------------------------------------------------------------------

# Month-end work runs over the chamas in batches: one statement per batch raises (or counts) every
# plan period's dues of the batch's chamas, and the progress bar moves once a batch.
CHAMAS_PER_BATCH = 200


def _plan_periods(plan: ContributionPlan, period: date | tuple[int, int] | None) -> list[Period]:
    """The periods of `plan` selected by `period`: a date (its period), (year, month) (due in it) or
    None (the period holding the chama's today)."""
    if period is None:
        period = plan.chama.today()
    if isinstance(period, date):
        found = [periods.period_containing(period, plan.frequency, plan.due_day, plan.start_date)]
    else:
        found = periods.periods_due_in_month(*period, plan.frequency, plan.due_day, plan.start_date)
    return [p for p in found if p.end >= plan.start_date and (plan.end_date is None or p.start <= plan.end_date)]


def _batches(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def _date_param() -> str:
    """A date parameter in a SELECT list: PostgreSQL must be told its type, SQLite keeps the ISO text."""
    return "CAST(%s AS date)" if connection.vendor == "postgresql" else "%s"


def _plan_periods_table(rows: Sequence[tuple[ContributionPlan, Period]]) -> tuple[str, list[Any]]:
    """The plan periods as an inline table (`SELECT … UNION ALL SELECT …`) with named columns."""
    day = _date_param()
    columns = ["plan_id", "chama_id", "period_start", "period_end", "period_label", "description", "due_date"]
    columns += ["late_after", "amount"]
    types = ["%s", "%s", day, day, "%s", "%s", day, day, "%s"]
    first = ", ".join(f"{kind} AS {name}" for kind, name in zip(types, columns, strict=True))
    other = ", ".join(types)
    sql = " UNION ALL ".join([f"SELECT {first}", *[f"SELECT {other}"] * (len(rows) - 1)])
    params = []
    for plan, period in rows:
        params += [plan.pk, plan.chama_id, period.start, period.end, period.label, f"{plan.name} {period.label}"]
        params += [period.due_date, period.late_after(plan.grace_days), plan.amount]
    return sql, params


def _dues_to_raise(rows: Sequence[tuple[ContributionPlan, Period]]) -> tuple[str, list[Any]]:
    """SELECT of the dues the plan periods owe: one per active member who had joined by the period's
    end and owes nothing yet for that plan and period (the chama is in the match, as in the key); a
    merry-go-round's plan raises dues only for the members on its roster."""
    table, params = _plan_periods_table(rows)
    sql = f"""
        SELECT v.chama_id, m.id AS membership_id, v.plan_id, v.period_start, v.period_label, v.description,
               v.due_date, v.late_after, v.amount
        FROM ({table}) v
        JOIN {Membership._meta.db_table} m ON m.chama_id = v.chama_id
        WHERE m.status = %s AND (m.joined_date IS NULL OR m.joined_date <= v.period_end)
          AND NOT EXISTS (
              SELECT 1 FROM {Due._meta.db_table} d
              WHERE d.plan_id = v.plan_id AND d.membership_id = m.id AND d.period_start = v.period_start
                AND d.chama_id = v.chama_id
          )
          AND NOT EXISTS (
              SELECT 1 FROM {RoscaCycle._meta.db_table} c
              WHERE c.plan_id = v.plan_id AND c.chama_id = v.chama_id
                AND NOT EXISTS (
                    SELECT 1 FROM {RosterSlot._meta.db_table} s
                    WHERE s.cycle_id = c.id AND s.membership_id = m.id AND s.chama_id = v.chama_id
                )
          )
    """
    return sql, [*params, MembershipStatus.ACTIVE.value]


def _raise_dues(rows: Sequence[tuple[ContributionPlan, Period]], dry_run: bool) -> Counter:
    """Raise (or, on a dry run, count) the plan periods' dues in one statement: INSERT … SELECT, a due
    raised at the same moment by another run skipped by ON CONFLICT DO NOTHING on the natural key.
    Returns {(plan id, period start ISO): number raised}."""
    select, params = _dues_to_raise(rows)
    with connection.cursor() as cursor:
        if dry_run:
            cursor.execute(
                f"SELECT plan_id, period_start, COUNT(*) FROM ({select}) t GROUP BY plan_id, period_start", params
            )
            return Counter({(plan_id, str(start)[:10]): count for plan_id, start, count in cursor.fetchall()})
        now = timezone.now()
        cursor.execute(
            f"""
            INSERT INTO {Due._meta.db_table} (created_date, updated_date, chama_id, membership_id, kind, plan_id,
                period_start, period_label, description, due_date, late_after, amount, paid_amount, waived_amount,
                status)
            SELECT %s, %s, t.chama_id, t.membership_id, %s, t.plan_id, t.period_start, t.period_label, t.description,
                t.due_date, t.late_after, t.amount, 0, 0, %s
            FROM ({select}) t WHERE 1 = 1
            ON CONFLICT DO NOTHING
            RETURNING plan_id, period_start
            """,
            [now, now, Due.Kind.CONTRIBUTION.value, Due.Status.PENDING.value, *params],
        )
        return Counter((plan_id, str(start)[:10]) for plan_id, start in cursor.fetchall())


def generate_dues(
    *,
    period: date | tuple[int, int] | None = None,
    chama: Chama | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> list[tuple[Chama, ContributionPlan, str, int]]:
    """Raise each active member's regular contribution dues for `period` (a day: its period; (year,
    month): every period due that month; None: the period holding each chama's today), once;
    returns [(chama, plan, period label, number raised)]. Set-based: one statement per batch of
    chamas, whatever the number of members, then the advances of members who now owe.
    `progress(done, total)` is told the chamas done after each batch."""
    plans = ContributionPlan.objects.filter(
        kind=ContributionPlan.Kind.REGULAR, is_active=True, chama__status=Chama.Status.ACTIVE
    ).select_related("chama")
    if chama is not None:
        plans = plans.filter(chama=chama)
    by_chama: dict[int, list[ContributionPlan]] = {}
    for plan in plans.order_by("chama_id", "id"):
        by_chama.setdefault(plan.chama_id, []).append(plan)
    report, raised_in = [], set()
    done, total = 0, len(by_chama)
    if progress:
        progress(done, total)
    for batch in _batches(list(by_chama.values()), CHAMAS_PER_BATCH):
        rows = [
            (plan, plan_period)
            for chama_plans in batch
            for plan in chama_plans
            for plan_period in _plan_periods(plan, period)
        ]
        counts = _raise_dues(rows, dry_run) if rows else Counter()
        for plan, plan_period in rows:
            count = counts[(plan.pk, plan_period.start.isoformat())]
            report.append((plan.chama, plan, plan_period.label, count))
            if count:
                raised_in.add(plan.chama_id)
        done += len(batch)
        if progress:
            progress(done, total)
    if not dry_run and raised_in:
        _apply_advances_in(raised_in)
    return report


def _apply_advances_in(chama_ids: Iterable[int], value_dates_by_chama: dict[int, date] | None = None) -> list[Journal]:
    """Apply the advances of the members of these chamas who hold one and owe an open due (one
    query finds them; each is then settled like `apply_advance`)."""
    owes = Due.objects.filter(membership=OuterRef("membership"), status__in=Due.OPEN_STATUSES)
    holders = (
        Account.objects.filter(chama_id__in=list(chama_ids), purpose=A.MEMBER_ADVANCE, balance__lt=0)
        .filter(Exists(owes))
        .select_related("membership__chama", "membership__user")
        .order_by("chama_id", "membership_id")
    )
    days = value_dates_by_chama or {}
    journals = [apply_advance(account.membership, days.get(account.chama_id)) for account in holders]
    return [journal for journal in journals if journal is not None]


def levy_create(
    *,
    chama: Chama,
    name: str,
    amount: Decimal,
    due_date: date,
    by: User,
    grace_days: int = 0,
    target: str = ContributionPlan.Target.SAVINGS,
) -> ContributionPlan:
    """A one-off special levy: a due for every active member."""
    authority.require(by, "manage_dues", chama=chama)
    return levy_raise(chama=chama, name=name, amount=amount, due_date=due_date, grace_days=grace_days, target=target)


def levy_raise(
    *,
    chama: Chama,
    name: str,
    amount: Decimal,
    due_date: date,
    grace_days: int = 0,
    target: str = ContributionPlan.Target.SAVINGS,
) -> ContributionPlan:
    """The levy's plan and a due for every active member, for a caller that has checked who may
    raise it (`levy_create`, or a welfare claim approved by its officers)."""
    amount = to_money(amount)
    with transaction.atomic():
        plan = ContributionPlan(
            chama=chama,
            name=name,
            kind=ContributionPlan.Kind.LEVY,
            amount=amount,
            target=target,
            start_date=due_date,
            levy_due_date=due_date,
            grace_days=grace_days,
        )
        plan.full_clean()
        plan.save()
        members = register.active_members(chama=chama)
        Due.objects.bulk_create(
            [
                Due(
                    chama=chama,
                    membership=membership,
                    kind=Due.Kind.LEVY,
                    plan=plan,
                    period_start=due_date,
                    period_label=f"{due_date:%Y-%m-%d}",
                    description=name,
                    due_date=due_date,
                    late_after=due_date + timedelta(days=grace_days),
                    amount=amount,
                )
                for membership in members
            ]
        )
        apply_advances(chama)
    return plan


# --- late fines ------------------------------------------------------------------------------


@dataclass
class FineToCharge:
    due: Due
    period: int
    amount: object


EPOCH = date(1970, 1, 1)


class DayNumber(Func):
    """Days since 1970-01-01 of a date column, as an integer (PostgreSQL and SQLite)."""

    output_field = IntegerField()

    def as_postgresql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any) -> SQL:
        return self.as_sql(compiler, connection, template="(%(expressions)s - DATE '1970-01-01')", **extra_context)

    def as_sqlite(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any) -> SQL:
        return self.as_sql(
            compiler, connection, template="CAST(julianday(%(expressions)s) - 2440587.5 AS INTEGER)", **extra_context
        )


def _periods_late_sql(as_of: date) -> Case:
    """`periods.periods_late(late_after, as_of, frequency)` of a late due, in SQL (a plan's frequency,
    monthly for a due without a plan)."""
    after = (as_of - EPOCH).days

    def in_days(length):
        return Value(1) + (Value(after) - DayNumber("late_after") - Value(1)) / Value(length)

    # A month late each time the late day comes round again (a day past the month's end on its last day).
    month_end = calendar.monthrange(as_of.year, as_of.month)[1]
    months = (
        (Value(as_of.year) - ExtractYear("late_after")) * Value(12) + Value(as_of.month) - ExtractMonth("late_after")
    )
    monthly = months + Case(
        When(LessThan(Least(ExtractDay("late_after"), Value(month_end)), Value(as_of.day)), then=Value(1)),
        default=Value(0),
    )
    F_ = Policy.Frequency
    return Case(
        When(plan__frequency=F_.WEEKLY, then=in_days(7)),
        When(plan__frequency=F_.FORTNIGHTLY, then=in_days(14)),
        default=monthly,
        output_field=IntegerField(),
    )


def _late_dues_to_fine(chama_ids: Sequence[int], as_of: date) -> list[Due]:
    """The chamas' open contributions and levies late on `as_of` that miss a fine the policy charges
    (the first late period, or each one): fines already charged are counted in the database, so a
    run with nothing to charge reads no due."""
    charged = (
        Due.objects.filter(fine_for=OuterRef("pk"), fine_period__lte=OuterRef("fines_wanted"))
        .order_by()
        .values("fine_for")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return list(
        Due.objects.filter(
            chama_id__in=chama_ids,
            kind__in=[Due.Kind.CONTRIBUTION, Due.Kind.LEVY],
            status__in=Due.OPEN_STATUSES,
            late_after__lt=as_of,
        )
        .annotate(
            fines_wanted=Case(
                When(chama__policy__late_fine_recurrence=Policy.FineRecurrence.ONCE, then=Value(1)),
                default=_periods_late_sql(as_of),
                output_field=IntegerField(),
            ),
        )
        .annotate(fines_charged=Coalesce(Subquery(charged, output_field=IntegerField()), Value(0)))
        .filter(fines_charged__lt=F("fines_wanted"))
        .select_related("plan", "membership__user")
        .order_by("chama_id", "due_date", "id")
    )


def _charges_fines(policy: Policy) -> bool:
    if policy.late_fine_kind == Policy.FineKind.FLAT:
        return policy.late_fine_amount > 0
    return policy.late_fine_rate > 0


def fines_due_in(chamas: Sequence[Chama], as_of: date) -> dict[int, list[FineToCharge]]:
    """{chama id: the late fines its policy charges on `as_of` that were not charged before}: one
    query for the late dues missing a fine, one more for the fines of those dues when a policy
    charges every late period."""
    policies = {each.pk: each.policy for each in chamas if _charges_fines(each.policy)}
    if not policies:
        return {}
    late = _late_dues_to_fine(list(policies), as_of)
    every_period = [due.pk for due in late if policies[due.chama_id].late_fine_recurrence != Policy.FineRecurrence.ONCE]
    charged = (
        set(Due.objects.filter(fine_for__in=every_period).values_list("fine_for_id", "fine_period"))
        if every_period
        else set()
    )
    fines: dict[int, list[FineToCharge]] = {}
    for due in late:
        policy = policies[due.chama_id]
        if policy.late_fine_recurrence == Policy.FineRecurrence.ONCE:
            wanted = [1]
        else:
            frequency = due.plan.frequency if due.plan else Policy.Frequency.MONTHLY
            wanted = range(1, periods.periods_late(due.late_after, as_of, frequency) + 1)
        flat = policy.late_fine_kind == Policy.FineKind.FLAT
        amount = policy.late_fine_amount if flat else to_money(due.outstanding * policy.late_fine_rate / 100)
        if amount <= 0:
            continue
        missing = [FineToCharge(due, n, amount) for n in wanted if (due.pk, n) not in charged]
        if missing:
            fines.setdefault(due.chama_id, []).extend(missing)
    return fines


def fines_due(chama: Chama, as_of: date) -> list[FineToCharge]:
    """The late fines the chama's policy charges on `as_of` that were not charged before."""
    return fines_due_in([chama], as_of).get(chama.pk, [])


def apply_penalties(
    *, as_of: date | None = None, chama: Chama | None = None, dry_run: bool = False, progress: Progress | None = None
) -> list[tuple[Chama, list[FineToCharge]]]:
    """Mark late dues overdue and charge the policy's late fines, each at most once per due and
    late period, as of `as_of` (default: each chama's today). Returns [(chama, fines)]. One
    journal per chama per run, dated `as_of`: a day still to come is refused, and fines dated
    further back than the backdating window need an approval, like any posting (`value_dates`).
    Set-based: per batch of chamas and day judged, one statement marks the late dues overdue and
    one finds the fines to charge; a chama with fines to charge then posts its one journal.
    `progress(done, total)` is told the chamas done after each batch."""
    chamas = Chama.objects.filter(status=Chama.Status.ACTIVE).select_related("policy")
    if chama is not None:
        chamas = chamas.filter(pk=chama.pk)
    chamas = list(chamas.order_by("id"))
    # Every chama's day first: a day still to come for any of them is refused before anything is written.
    days = {each.pk: value_dates.check_not_future(each, as_of) if as_of else each.today() for each in chamas}
    report = []
    done = 0
    if progress:
        progress(done, len(chamas))
    for batch in _batches(chamas, CHAMAS_PER_BATCH):
        by_day: dict[date, list[Chama]] = {}
        for each in batch:
            by_day.setdefault(days[each.pk], []).append(each)
        fines = {}
        for day, same_day in by_day.items():
            fines.update(fines_due_in(same_day, day))
        for each in batch:
            if fines.get(each.pk):
                value_dates.check(each, days[each.pk], field="as_of")  # before anything is written, on a dry run too
        report += [(each, fines.get(each.pk, [])) for each in batch]
        if not dry_run:
            # One transaction a batch: the late dues marked overdue, every fined chama's journal, the fine dues.
            fined = {each.pk: fines[each.pk] for each in batch if fines.get(each.pk)}
            with transaction.atomic():
                for day, same_day in by_day.items():
                    Due.objects.filter(
                        chama_id__in=[each.pk for each in same_day],
                        status__in=[Due.Status.PENDING, Due.Status.PARTIAL],
                        late_after__lt=day,
                    ).update(status=Due.Status.OVERDUE)
                if fined:
                    _charge_fines(fined, {each.pk: each for each in batch}, days)
            if fined:
                _apply_advances_in(list(fined), days)
        done += len(batch)
        if progress:
            progress(done, len(chamas))
    return report


def _fine_accounts(
    fines: dict[int, list[FineToCharge]], chamas: dict[int, Chama]
) -> tuple[dict[int, Account], dict[int, Account]]:
    """({chama id: fine income}, {membership id: fines receivable}) for the fines of many chamas: one
    query each for the accounts that exist; a chama missing some makes them (`ledger.member_accounts`)."""
    income = {
        account.chama_id: account
        for account in Account.objects.filter(chama_id__in=list(fines), code=ledger.CHAMA_CODES[A.FINE_INCOME])
    }
    members = {fine.due.membership_id for chama_fines in fines.values() for fine in chama_fines}
    receivable = {
        account.membership_id: account
        for account in Account.objects.filter(
            chama_id__in=list(fines), purpose=A.FINES_RECEIVABLE, membership_id__in=list(members)
        )
    }
    for chama_id, chama_fines in fines.items():
        if chama_id not in income:
            income[chama_id] = ledger.chama_account(chamas[chama_id], A.FINE_INCOME)
        missing = {
            fine.due.membership_id: fine.due.membership
            for fine in chama_fines
            if fine.due.membership_id not in receivable
        }
        if missing:
            receivable.update(ledger.member_accounts(chamas[chama_id], missing.values(), A.FINES_RECEIVABLE))
    return income, receivable


def _charge_fines(fines: dict[int, list[FineToCharge]], chamas: dict[int, Chama], days: dict[int, date]) -> None:
    """Post each chama's late fines as one journal (through `post_journal`, dated its day judged) and
    raise the fine dues of all of them in one insert. The caller holds the transaction."""
    income, receivable = _fine_accounts(fines, chamas)
    rows = []
    for chama_id, chama_fines in fines.items():
        as_of = days[chama_id]
        total = sum((fine.amount for fine in chama_fines), ZERO)
        lines = [(receivable[fine.due.membership_id], fine.amount) for fine in chama_fines]
        journal = ledger.post_journal(
            chama=chamas[chama_id],
            kind=Journal.Kind.FINE_CHARGE,
            lines=[*lines, (income[chama_id], -total)],
            value_date=as_of,
            memo=f"Late fines charged on {as_of:%Y-%m-%d}",
        )
        rows += [
            Due(
                chama_id=chama_id,
                membership_id=fine.due.membership_id,
                kind=Due.Kind.FINE,
                description=_fine_description(fine),
                due_date=as_of,
                late_after=as_of,
                amount=fine.amount,
                fine_for=fine.due,
                fine_period=fine.period,
                charge_journal=journal,
            )
            for fine in chama_fines
        ]
    Due.objects.bulk_create(rows, batch_size=2000)


def _fine_description(fine: FineToCharge) -> str:
    suffix = f" (late period {fine.period})" if fine.period > 1 else ""
    return f"Late fine: {fine.due.description}{suffix}"


def fine_charge(
    *,
    membership: Membership,
    amount: Decimal,
    reason: str,
    by: User,
    value_date: date | None = None,
    idempotency_key: str = "",
) -> Due:
    """An officer fines a member (e.g. for absence from a meeting); with an idempotency key the
    same fine is charged once however often this runs."""
    chama = membership.chama
    authority.require(by, "charge_fine", membership)
    amount = positive_money(amount, what="A fine")
    value_date = value_date or chama.today()

    def post():
        journal = ledger.post_journal(
            chama=chama,
            kind=Journal.Kind.FINE_CHARGE,
            value_date=value_date,
            memo=f"Fine: {reason}",
            membership=membership,
            created_by=by,
            idempotency_key=idempotency_key,
            lines=[
                (ledger.member_account(membership, A.FINES_RECEIVABLE), amount),
                (ledger.chama_account(chama, A.FINE_INCOME), -amount),
            ],
        )
        Due.objects.create(
            chama=chama,
            membership=membership,
            kind=Due.Kind.FINE,
            description=f"Fine: {reason}"[:200],
            due_date=value_date,
            late_after=value_date,
            amount=amount,
            charge_journal=journal,
        )
        apply_advance(membership, value_date, by)
        return journal

    journal = ledger.post_once(membership, reference="", idempotency_key=idempotency_key, post=post, amount=amount)
    return Due.objects.get(charge_journal=journal, membership=membership)


# --- waivers ---------------------------------------------------------------------------------


def waiver_request(*, due: Due, reason: str, by: User, amount: Decimal | None = None) -> Waiver:
    """An officer waives (part of) a due. Up to the chama's threshold it applies at once; above it,
    it waits for a second officer (maker–checker)."""
    chama = due.chama
    authority.require(by, "waive", due)
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the due is waived."})
    with transaction.atomic():
        lock_membership(due.membership_id)  # one member's waivers are added up one at a time
        due = lock_due(due.pk)
        amount = due.outstanding if amount is None else to_money(amount)
        _check_waivable(due, amount)
        earlier = waived_in_window(due.membership)
        waiver = Waiver.objects.create(chama=chama, due=due, amount=amount, reason=reason, requested_by=by)
        if signatures.needs_second(chama, amount, earlier):
            signatures.ask(
                waiver,
                "approve_waiver",
                asked_by=by,
                key=f"waiver-{waiver.pk}",
                what=f"a waiver of {shown(amount, chama.currency)} for {due.membership.member_number}",
            )
        else:
            _apply_waiver(waiver, approved_by=by)
    return waiver


def waived_in_window(membership: Membership) -> Decimal:
    """What was waived or asked to be waived for the member in the approval window."""
    return (
        Waiver.objects.filter(
            due__membership=membership,
            status__in=[Waiver.Status.PENDING, Waiver.Status.APPLIED],
            created_date__date__gte=signatures.window_start(membership.chama),
        ).aggregate(total=Sum("amount"))["total"]
        or ZERO
    )


def _locked_pending_waiver(waiver: Waiver, by: User) -> Waiver:
    return locked_in_status(
        Waiver.objects.select_related("chama", "due__membership"),
        pk=waiver.pk,
        allowed=Waiver.Status.PENDING,
        by=by,
        action="approve_waiver",
    )


def waiver_approve(*, waiver: Waiver, by: User) -> Waiver:
    with transaction.atomic():
        waiver = _locked_pending_waiver(waiver, by)
        authority.require_distinct(by, [waiver.requested_by_id], "waiver")
        due = lock_due(waiver.due_id)
        _check_waivable(due, waiver.amount)
        _apply_waiver(waiver, approved_by=by)
    return waiver


def waiver_reject(*, waiver: Waiver, by: User) -> Waiver:
    with transaction.atomic():
        waiver = _locked_pending_waiver(waiver, by)
        move(waiver, Waiver.Status.REJECTED, approved_by=by, decided_date=timezone.now())
    return waiver


def _check_waivable(due: Due, amount: Decimal) -> None:
    if due.status not in Due.OPEN_STATUSES:
        raise ValidationError(f"This due is {due.get_status_display().lower()}; there is nothing to waive.")
    if amount <= 0 or amount > due.outstanding:
        raise ValidationError({"amount": f"Waive between 0.01 and the {due.outstanding} still owed."})


def _apply_waiver(waiver: Waiver, approved_by: User) -> None:
    due, chama = waiver.due, waiver.chama
    journal = None
    if due.kind == Due.Kind.FINE:
        # A fine was booked as income when charged: waiving it takes that income back.
        journal = ledger.post_journal(
            chama=chama,
            kind=Journal.Kind.FINE_WAIVER,
            value_date=chama.today(),
            membership=due.membership,
            memo=f"Fine waived: {waiver.reason}",
            created_by=approved_by,
            lines=[
                (ledger.chama_account(chama, A.FINE_INCOME), waiver.amount),
                (ledger.member_account(due.membership, A.FINES_RECEIVABLE), -waiver.amount),
            ],
        )
    record_allocations(chama, [(due, waiver.amount)], DueAllocation.Kind.WAIVER, journal)
    waiver.status = Waiver.Status.APPLIED
    waiver.approved_by = approved_by
    waiver.decided_date = timezone.now()
    waiver.journal = journal
    waiver.save()
