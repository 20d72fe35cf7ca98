"""A member leaving a running merry-go-round, settled so that nobody gains or loses by it.

- **Had received the pot** (their round is paid out): they owe every round still to come. Their
  dues for those rounds are raised at once and they pay them like any due (late ones are fined);
  each later recipient still receives the whole pot.
- **Had not received it**: they are owed what they paid into the cycle. Their place is taken off
  the roster (the rounds after it move up one, and the cycle has one round fewer), their dues still
  open are cancelled, and every member who received a round they paid into pays back what they
  received from them: a levy into the pot, due by the next round. What they paid into a round not
  paid out yet, and each levy as it is paid, is refunded to them (`exit_refund`).

Either way the exit is recorded by a treasurer or chairperson and approved by a second officer
(never the member), and nothing moves until it is approved.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction

from chama import authority
from chama.money import ZERO, shown
from chama.notify import notify
from chama.transitions import locked_in_status, move
from finance import periods
from finance.locking import lock_dues
from finance.models import Account, ContributionPlan, Due, Journal, RoscaCycle, RoscaExit, RoscaPayout, RosterSlot
from finance.services import dues, ledger, value_dates
from groups import signatures

if TYPE_CHECKING:
    from chama.models import User
    from groups.models import Membership

S = RoscaCycle.Status


def exit_request(*, cycle: RoscaCycle, membership: Membership, by: User, reason: str) -> RoscaExit:
    """Record that `membership` leaves the running `cycle`; a second officer approves it."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the member leaves (it goes on their statement)."})
    with transaction.atomic():
        cycle = locked_in_status(
            RoscaCycle.objects.select_related("chama__policy"),
            pk=cycle.pk,
            allowed=S.ACTIVE,
            refusal="Only a running cycle is left mid-way: this one is {status}.",
        )
        slot = cycle.slots.filter(membership=membership).first()
        if slot is None:
            raise ValidationError({"membership": f"This member is not on {cycle.name}'s roster."})
        payout = RoscaPayout.objects.filter(slot=slot, top_up_of__isnull=True).exclude(
            status=RoscaPayout.Status.REJECTED
        )
        payout = payout.first()
        if payout is not None and payout.status == RoscaPayout.Status.PENDING:
            raise ValidationError("Their round's payout waits for a second officer: decide it first.")
        row = RoscaExit(
            chama=cycle.chama,
            cycle=cycle,
            membership=membership,
            kind=RoscaExit.Kind.RECEIVED if payout is not None else RoscaExit.Kind.WAITING,
            position=slot.position,
            reason=reason[:255],
            recorded_by=by,
        )
        authority.require(by, "settle_rosca_exit", row)
        if RoscaExit.objects.filter(cycle=cycle, membership=membership).exclude(status="rejected").exists():
            raise ValidationError({"membership": "This member's exit from the cycle is already recorded."})
        row.save()
        signatures.ask(
            row,
            "approve_rosca_payout",
            asked_by=by,
            key=f"rosca-exit-{row.pk}",
            what=f"{membership.member_number} leaving {cycle.name}",
        )
    return row


def _locked_pending(row: RoscaExit, by: User) -> RoscaExit:
    return locked_in_status(
        RoscaExit.objects.select_related("chama__policy", "membership__user"),
        pk=row.pk,
        allowed=RoscaExit.Status.PENDING,
        by=by,
        action="approve_rosca_payout",
    )


def exit_approve(*, exit: RoscaExit, by: User) -> RoscaExit:
    """The second officer approves: the member's dues, the roster and the levies change as the
    module says, and the member and those levied are told."""
    with transaction.atomic():
        row = _locked_pending(exit, by)
        authority.require_distinct(by, [row.recorded_by_id], "exit")
        cycle = locked_in_status(
            RoscaCycle.objects.select_related("chama__policy", "plan"),
            pk=row.cycle_id,
            allowed=S.ACTIVE,
            refusal="This cycle is {status}: the exit cannot be settled.",
        )
        row.cycle = cycle
        if row.kind == RoscaExit.Kind.RECEIVED:
            owed = _raise_remaining_dues(row)
        else:
            owed = _leave_roster(row)
        move(row, RoscaExit.Status.APPROVED, approved_by=by, amount=owed)
    currency = row.chama.currency
    if row.kind == RoscaExit.Kind.RECEIVED:
        body = (
            f"You left {cycle.name} after receiving the pot: you owe {shown(owed, currency)} for the rounds still "
            "to come. Pay it like any contribution; your dues show what and by when."
        )
    else:
        body = (
            f"You left {cycle.name} before your round: you are owed the {shown(owed, currency)} you paid in. "
            "It is paid back to you as the members who received your contributions pay them back."
        )
    notify(
        row.membership.user, dedupe_key=f"rosca-exit-{row.pk}", title=f"{row.chama}: leaving {cycle.name}", body=body
    )
    return row


def exit_reject(*, exit: RoscaExit, by: User, reason: str) -> RoscaExit:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the exit is rejected."})
    with transaction.atomic():
        row = _locked_pending(exit, by)
        move(row, RoscaExit.Status.REJECTED, approved_by=by, decided_reason=reason[:255])
    return row


def _round_periods(cycle: RoscaCycle) -> dict[int, periods.Period]:
    plan = cycle.plan
    return {
        slot.position: periods.period_containing(
            cycle.round_date(slot.position), plan.frequency, plan.due_day, plan.start_date
        )
        for slot in cycle.slots.all()
    }


def _member_dues(row: RoscaExit) -> list[Due]:
    """The member's dues of the cycle's rounds (not levies), locked."""
    return lock_dues(
        Due.objects.filter(chama=row.chama, plan=row.cycle.plan, membership=row.membership, period_start__isnull=False)
        .exclude(status=Due.Status.CANCELLED)
        .order_by("period_start")
    )


def _raise_remaining_dues(row: RoscaExit) -> Decimal:
    """The member who received raises their dues for every round not raised yet; returns all they
    owe the cycle."""
    cycle, plan = row.cycle, row.cycle.plan
    raised = {due.period_start for due in _member_dues(row)}
    Due.objects.bulk_create(
        [
            Due(
                chama=row.chama,
                membership=row.membership,
                kind=Due.Kind.CONTRIBUTION,
                plan=plan,
                period_start=period.start,
                period_label=period.label,
                description=f"{plan.name} {period.label}",
                due_date=period.due_date,
                late_after=period.late_after(plan.grace_days),
                amount=plan.amount,
            )
            for _, period in sorted(_round_periods(cycle).items())
            if period.start not in raised
        ]
    )
    dues.apply_advance(row.membership)
    return sum((due.outstanding for due in _member_dues(row)), ZERO)


def _leave_roster(row: RoscaExit) -> Decimal:
    """The member who had not received leaves the roster; each earlier recipient is levied what
    they received from them; returns what the member paid in (what they are owed)."""
    cycle, plan = row.cycle, row.cycle.plan
    round_of = {period.start: position for position, period in _round_periods(cycle).items()}
    paid_out = {
        payout.slot.position: payout
        for payout in RoscaPayout.objects.filter(
            cycle=cycle, top_up_of__isnull=True, status=RoscaPayout.Status.PAID
        ).select_related("slot", "membership__user")
    }
    owed, levies = ZERO, []
    today = row.chama.today()
    due_by = _next_round_date(cycle, paid_out, today)
    for due in _member_dues(row):
        owed += due.paid_amount
        position = round_of.get(due.period_start)
        payout = paid_out.get(position)
        if payout is not None:
            if due.paid_amount > 0:
                levies.append(
                    (
                        position,
                        Due(
                            chama=row.chama,
                            membership=payout.membership,
                            kind=Due.Kind.LEVY,
                            plan=plan,
                            period_label=row.levy_label,
                            description=f"{cycle.name}: paying back {row.membership.member_number}'s round {position} "
                            "contribution",
                            due_date=due_by,
                            late_after=due_by + timedelta(days=plan.grace_days),
                            amount=due.paid_amount,
                        ),
                    )
                )
        else:
            # A round not paid out yet: what they paid into it waits in the pot for their refund.
            move(due, Due.Status.CANCELLED)
    Due.objects.bulk_create([levy for _, levy in levies])
    for position, levy in levies:
        dues.apply_advance(levy.membership)
        notify(
            levy.membership.user,
            dedupe_key=f"rosca-exit-{row.pk}-levy",
            title=f"{row.chama}: {shown(levy.amount, row.chama.currency)} to pay back",
            body=f"{row.membership.member_number} left {cycle.name} before their round. Please pay back the "
            f"{shown(levy.amount, row.chama.currency)} of theirs you received in round {position} "
            f"by {due_by:%d %b %Y}.",
        )
    _close_the_gap(cycle, row.membership)
    return owed


def _next_round_date(cycle: RoscaCycle, paid_out: dict[int, RoscaPayout], today: date) -> date:
    upcoming = [cycle.round_date(n) for n in range(1, cycle.slots.count() + 1) if n not in paid_out]
    return max(min(upcoming), today) if upcoming else today + timedelta(days=30)


def _close_the_gap(cycle: RoscaCycle, membership: Membership) -> None:
    """Take the member's place off the roster and move the rounds after it up one."""
    slot = cycle.slots.get(membership=membership)
    slot.delete()
    for later in RosterSlot.objects.filter(cycle=cycle, position__gt=slot.position).order_by("position"):
        later.position -= 1
        later.save(update_fields=["position", "updated_date"])
    rounds = cycle.slots.count()
    ContributionPlan.objects.filter(pk=cycle.plan_id).update(end_date=cycle.round_date(rounds))
    paid = set(
        RoscaPayout.objects.filter(cycle=cycle, top_up_of__isnull=True, status=RoscaPayout.Status.PAID).values_list(
            "slot_id", flat=True
        )
    )
    if all(slot.pk in paid for slot in cycle.slots.all()):  # everyone left on the roster has received
        move(cycle, S.COMPLETED)
        ContributionPlan.objects.filter(pk=cycle.plan_id).update(is_active=False)


def refund_available(row: RoscaExit) -> Decimal:
    """What has come into the pot for a waiting member and is not refunded yet: what they paid
    into rounds not paid out, and the levies paid so far."""
    stranded = Due.objects.filter(
        chama=row.chama,
        plan=row.cycle.plan,
        membership=row.membership,
        period_start__isnull=False,
        status=Due.Status.CANCELLED,
    )
    levies = Due.objects.filter(chama=row.chama, plan=row.cycle.plan, period_label=row.levy_label)
    came_in = sum((due.paid_amount for due in [*stranded, *levies]), ZERO)
    return min(came_in, row.amount) - row.refunded


def exit_refund(
    *, exit: RoscaExit, method: str, by: User, reference: str = "", value_date: date | None = None
) -> Journal:
    """Pay a member who left before their round what has come in for them (Dr the pot, Cr cash,
    M-Pesa or bank); the exit's two officers approved the amount."""
    with transaction.atomic():
        row = locked_in_status(
            RoscaExit.objects.select_related("chama__policy", "cycle__plan", "membership__user"),
            pk=exit.pk,
            allowed=RoscaExit.Status.APPROVED,
            refusal="Only an approved exit is paid back: this one is {status}.",
        )
        authority.require(by, "settle_rosca_exit", row)
        if row.kind != RoscaExit.Kind.WAITING:
            raise ValidationError("This member had received the pot: they owe the cycle, it owes them nothing.")
        chama = row.chama
        amount = refund_available(row)
        if amount <= 0:
            left = row.amount - row.refunded
            raise ValidationError(
                f"Nothing has come in for {row.membership.member_number} yet "
                f"({shown(left, chama.currency)} still to pay back, as the levies are paid)."
                if left > 0
                else f"{row.membership.member_number} has been paid back in full."
            )
        day = value_date or chama.today()
        value_dates.check(chama, day)
        journal = ledger.post_journal(
            chama=chama,
            kind=Journal.Kind.ROSCA_PAYOUT,
            value_date=day,
            membership=row.membership,
            created_by=authority.person(by),
            external_reference=(reference or "").strip(),
            memo=f"{row.cycle.name}: paying back {row.membership.member_number}, who left before their round "
            f"({method})",
            lines=[
                (ledger.chama_account(chama, Account.Purpose.ROSCA_POT), amount),
                (ledger.method_account(chama, method), -amount),
            ],
        )
        row.refunded += amount
        row.save(update_fields=["refunded", "updated_date"])
    notify(
        row.membership.user,
        dedupe_key=f"rosca-exit-refund-{journal.pk}",
        title=f"{chama}: {shown(amount, chama.currency)} paid back to you",
        body=f"{row.cycle.name}: {shown(amount, chama.currency)} of what you paid in was paid back to you ({method}); "
        f"{shown(row.amount - row.refunded, chama.currency)} is still to come. Receipt no. {journal.pk}.",
    )
    return journal
