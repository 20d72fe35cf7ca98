"""Dues: raising them, settling them with payments and advances, fining late ones, waiving them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, Exists, F, OuterRef, Q, Sum, Value, When
from django.db.models.functions import Round
from django.db.models.lookups import GreaterThan, LessThanOrEqual
from django.utils import timezone

from chama import authority
from chama.money import ZERO, MoneyField, positive_money, shown, to_money
from chama.progress import Progress, told
from chama.transitions import locked_in_status, move
from finance import periods
from finance.locking import lock_due, lock_dues
from finance.models import Account, ContributionPlan, Due, DueAllocation, Journal, SavingsType, Waiver
from finance.selectors import dues as dues_reads
from finance.services import ledger, shares, value_dates
from groups import selectors as register
from groups import signatures
from groups.locking import lock_membership
from groups.models import Chama, Membership, Policy

if TYPE_CHECKING:
    from chama.models import User
    from finance.periods import Period

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
    # Lock only the dues themselves: a due's plan is nullable (an outer join PostgreSQL will not lock).
    dues = dues_reads.open_dues(membership=membership)
    if kinds:
        dues = dues.filter(kind__in=kinds)
    settlement = Settlement(remaining=amount)
    open_dues = lock_dues(dues.select_related("plan__savings_type"))
    for due in sorted(open_dues, key=lambda due: (due.due_date, due.id)):
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
    delta = Case(*[When(pk=pk, then=Value(amount)) for pk, amount in moved.items()], output_field=MoneyField())
    paid, waived = F("paid_amount"), F("waived_amount")
    if field_name == "paid_amount":
        paid = Round(paid + delta, 2)
    else:
        waived = Round(waived + delta, 2)
    S = Due.Status
    # Due.derive_status, on the amounts after this update.
    status = Case(
        When(status=S.CANCELLED, then=Value(S.CANCELLED)),
        When(
            LessThanOrEqual(F("amount") - paid - waived, 0),
            then=Case(When(GreaterThan(paid, 0), then=Value(S.PAID)), default=Value(S.WAIVED)),
        ),
        When(late_after__lt=today, then=Value(S.OVERDUE)),
        When(GreaterThan(paid, 0), then=Value(S.PARTIAL)),
        default=Value(S.PENDING),
    )
    Due.objects.filter(pk__in=moved).update(
        **{field_name: paid if field_name == "paid_amount" else waived},
        status=status,
        updated_date=timezone.now(),
    )
    for due, amount in allocations:  # the caller's copies follow
        setattr(due, field_name, to_money(getattr(due, field_name) + amount))
        due.status = due.derive_status(today)


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
        bought = 0
        if remainder == Policy.PaybillRemainder.SHARES:
            bought = shares.shares_affordable(membership, settlement.remaining, value_date)
        cost = shares.shares_cost(chama, bought)
        if bought:
            lines.append((ledger.member_account(membership, A.MEMBER_SHARES), -cost))
        left = settlement.remaining - cost
        if left > 0:
            lines.append((ledger.member_account(membership, A.MEMBER_ADVANCE), -left))
        text = memo or f"Payment by {membership.member_number} ({method})"
        if remainder == Policy.PaybillRemainder.SHARES:
            text = f"{text}: {_routed(chama, amount - settlement.remaining, bought, cost, left)}"
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
            shares.purchase_record(journal=journal, membership=membership, shares=bought, value_date=value_date)
        return journal

    return ledger.post_once(membership, reference=reference, idempotency_key=idempotency_key, post=post, amount=amount)


def _routed(chama: Chama, to_dues: Decimal, bought: int, cost: Decimal, left: Decimal) -> str:
    """What a payment routed by the policy did, for its memo (and so for the member's receipt)."""
    parts = [f"{shown(to_dues)} to dues"] if to_dues > 0 else []
    if bought:
        parts.append(f"{bought} share{'s' if bought != 1 else ''} at {shown(chama.policy.share_price)} ({shown(cost)})")
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


def _plan_periods(plan: ContributionPlan, period: date | tuple[int, int]) -> list[Period]:
    """The periods of `plan` selected by `period`: a date (its period) or (year, month) (due in it)."""
    if isinstance(period, date):
        found = [periods.period_containing(period, plan.frequency, plan.due_day, plan.start_date)]
    else:
        found = periods.periods_due_in_month(*period, plan.frequency, plan.due_day, plan.start_date)
    return [p for p in found if p.end >= plan.start_date and (plan.end_date is None or p.start <= plan.end_date)]


def generate_dues(
    *,
    period: date | tuple[int, int],
    chama: Chama | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> list[tuple[Chama, ContributionPlan, str, int]]:
    """Raise each active member's regular contribution dues for `period`, once; returns
    [(chama, plan, period label, number raised)]. A few queries per plan, whatever the size.
    `progress(done, total)` is told after each plan."""
    plans = ContributionPlan.objects.filter(
        kind=ContributionPlan.Kind.REGULAR, is_active=True, chama__status=Chama.Status.ACTIVE
    ).select_related("chama")
    if chama is not None:
        plans = plans.filter(chama=chama)
    report = []
    for plan in told(plans.order_by("chama_id", "id"), progress):
        for plan_period in _plan_periods(plan, period):
            already = Due.objects.filter(membership=OuterRef("pk"), plan=plan, period_start=plan_period.start)
            members = list(
                register.active_members(chama=plan.chama)
                .filter(Q(joined_date__isnull=True) | Q(joined_date__lte=plan_period.end))
                .filter(~Exists(already))
                .order_by("id")
            )
            report.append((plan.chama, plan, plan_period.label, len(members)))
            if dry_run or not members:
                continue
            Due.objects.bulk_create(
                [
                    Due(
                        chama=plan.chama,
                        membership=membership,
                        kind=Due.Kind.CONTRIBUTION,
                        plan=plan,
                        period_start=plan_period.start,
                        period_label=plan_period.label,
                        description=f"{plan.name} {plan_period.label}",
                        due_date=plan_period.due_date,
                        late_after=plan_period.late_after(plan.grace_days),
                        amount=plan.amount,
                    )
                    for membership in members
                ],
                ignore_conflicts=True,
            )
    if not dry_run:
        for chama_with_dues in {row[0] for row in report if row[3]}:
            apply_advances(chama_with_dues)
    return report


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


def fines_due(chama: Chama, as_of: date) -> list[FineToCharge]:
    """The late fines the chama's policy charges on `as_of` that were not charged before."""
    policy = chama.policy
    flat = policy.late_fine_kind == Policy.FineKind.FLAT
    if (flat and policy.late_fine_amount <= 0) or (not flat and policy.late_fine_rate <= 0):
        return []
    late = list(
        Due.objects.filter(
            chama=chama,
            kind__in=[Due.Kind.CONTRIBUTION, Due.Kind.LEVY],
            status__in=Due.OPEN_STATUSES,
            late_after__lt=as_of,
        ).select_related("plan", "membership__user", "chama")
    )
    charged = set(Due.objects.filter(fine_for__in=late).values_list("fine_for_id", "fine_period"))
    fines = []
    for due in late:
        count = periods.periods_late(
            due.late_after, as_of, due.plan.frequency if due.plan else Policy.Frequency.MONTHLY
        )
        wanted = [1] if policy.late_fine_recurrence == Policy.FineRecurrence.ONCE else range(1, count + 1)
        amount = policy.late_fine_amount if flat else to_money(due.outstanding * policy.late_fine_rate / 100)
        if amount <= 0:
            continue
        fines.extend(FineToCharge(due, n, amount) for n in wanted if (due.pk, n) not in charged)
    return fines


def apply_penalties(
    *, as_of: date | None = None, chama: Chama | None = None, dry_run: bool = False, progress: Progress | None = None
) -> list[tuple[Chama, list[FineToCharge]]]:
    """Mark late dues overdue and charge the policy's late fines, each at most once per due and
    late period, as of `as_of` (default: each chama's today). Returns [(chama, fines)]. One
    journal per chama per run, dated `as_of`: a day still to come is refused, and fines dated
    further back than the backdating window need an approval, like any posting (`value_dates`).
    `progress(done, total)` is told after each chama."""
    chamas = Chama.objects.filter(status=Chama.Status.ACTIVE).select_related("policy")
    if chama is not None:
        chamas = chamas.filter(pk=chama.pk)
    report = []
    for each in told(chamas.order_by("id"), progress):
        day = value_dates.check_not_future(each, as_of) if as_of else each.today()
        fines = fines_due(each, day)
        if fines:
            value_dates.check(each, day, field="as_of")  # before anything is written, on a dry run too
        report.append((each, fines))
        if dry_run:
            continue
        with transaction.atomic():
            Due.objects.filter(
                chama=each, status__in=[Due.Status.PENDING, Due.Status.PARTIAL], late_after__lt=day
            ).update(status=Due.Status.OVERDUE)
            if fines:
                _charge_fines(each, fines, day)
        if fines:
            apply_advances(each, day)
    return report


def _charge_fines(chama: Chama, fines: Sequence[FineToCharge], as_of: date) -> None:
    income = ledger.chama_account(chama, A.FINE_INCOME)
    total = sum((fine.amount for fine in fines), ZERO)
    receivable = ledger.member_accounts(chama, [fine.due.membership for fine in fines], A.FINES_RECEIVABLE)
    lines = [(receivable[fine.due.membership_id], fine.amount) for fine in fines]
    journal = ledger.post_journal(
        chama=chama,
        kind=Journal.Kind.FINE_CHARGE,
        lines=[*lines, (income, -total)],
        value_date=as_of,
        memo=f"Late fines charged on {as_of:%Y-%m-%d}",
    )
    Due.objects.bulk_create(
        [
            Due(
                chama=chama,
                membership=fine.due.membership,
                kind=Due.Kind.FINE,
                description=_fine_description(fine),
                due_date=as_of,
                late_after=as_of,
                amount=fine.amount,
                fine_for=fine.due,
                fine_period=fine.period,
                charge_journal=journal,
            )
            for fine in fines
        ]
    )


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
