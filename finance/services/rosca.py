"""Merry-go-rounds (ROSCA): setting up a cycle, its roster (by draw or by agreement) and starting it.

A draw is a seed and a rule anyone can re-check by hand or with a few lines of any language: each
member's ticket is the SHA-256 of "<seed>:<member number>", written in hex, and the members receive
the pot in the order of their tickets (`draw_order`). The seed is recorded on the cycle, so the
order can be checked long after the meeting.

Starting a cycle publishes the roster and makes the contribution plan that raises each round's
dues into the merry-go-round pot (`generate_dues`, paid like any due).

A round's pot is paid to its recipient in the roster's order, on or after the round's date: the
whole pot once every member has paid the round, or, when the cycle's rule says so, what was
collected (the members behind still owe the round, and their dues go on being fined like any
due). The payout is a journal (pot → cash, M-Pesa or bank) posted at once up to the chama's
threshold, or once a second officer approves above it; the recipient is never one of the two.
The cycle completes with its last round's payout. A round paid out short is topped up
(`round_top_up`) with what the members behind on it pay later, even after the cycle completed.

In a bidding cycle each round goes to the member still waiting who bid the highest discount on
the pot (`bid_place`); the discount is the chama's income or is shared towards the other members'
next contributions. A recipient late with later rounds can have it recovered from their savings
(`recover_round_arrears`). Members leaving mid-cycle are settled in `rosca_exits`.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from chama import authority
from chama.money import ZERO, positive_money, shown, to_money
from chama.notify import notify
from chama.transitions import locked_in_status, move
from finance import periods
from finance.locking import lock_dues
from finance.models import (
    Account,
    ContributionPlan,
    Due,
    DueAllocation,
    Journal,
    RoscaBid,
    RoscaCycle,
    RoscaPayout,
    RosterChange,
    RosterSlot,
)
from finance.services import dues, ledger, value_dates
from groups import selectors as register
from groups import signatures
from groups.locking import lock_chama, lock_membership
from groups.models import Chama, Policy

if TYPE_CHECKING:
    from chama.models import User
    from groups.models import Membership

S = RoscaCycle.Status
ROSCA_KINDS = (Chama.Kind.ROSCA, Chama.Kind.HYBRID)


def draw_order(seed: str, member_numbers: Sequence[str]) -> list[str]:
    """The member numbers in the order a draw with `seed` gives them: by SHA-256 of "seed:number"."""
    return sorted(member_numbers, key=lambda number: hashlib.sha256(f"{seed}:{number}".encode()).hexdigest())


def cycle_create(
    *,
    chama: Chama,
    name: str,
    contribution: Decimal,
    start_date: date,
    by: User,
    frequency: str = Policy.Frequency.MONTHLY,
    roster_method: str = RoscaCycle.RosterMethod.DRAW,
    payout_rule: str = RoscaCycle.PayoutRule.FULL,
    bidding: bool = False,
    discount_to: str = RoscaCycle.DiscountTo.MEMBERS,
) -> RoscaCycle:
    """A new cycle, in draft until its roster is set and it is started."""
    authority.require(by, "manage_rosca", chama=chama)
    if chama.kind not in ROSCA_KINDS:
        raise ValidationError(
            f"{chama} is a {chama.get_kind_display()}: only a merry-go-round or hybrid chama runs cycles."
        )
    if frequency not in Policy.Frequency.values:
        raise ValidationError({"frequency": "Pick weekly, fortnightly or monthly."})
    if roster_method not in RoscaCycle.RosterMethod.values:
        raise ValidationError({"roster_method": "Pick draw or agreement."})
    if payout_rule not in RoscaCycle.PayoutRule.values:
        raise ValidationError({"payout_rule": "Pick full (every member paid the round) or collected."})
    if discount_to not in RoscaCycle.DiscountTo.values:
        raise ValidationError({"discount_to": "Pick members (shared among the others) or income."})
    if not (name or "").strip():
        raise ValidationError({"name": "Give the cycle a name, e.g. “2027 merry-go-round”."})
    if RoscaCycle.objects.filter(chama=chama, name=name.strip()).exists():
        raise ValidationError({"name": "This chama already has a cycle of that name."})
    return RoscaCycle.objects.create(
        chama=chama,
        name=name.strip(),
        contribution=positive_money(contribution, what="The contribution"),
        start_date=start_date,
        frequency=frequency,
        roster_method=roster_method,
        payout_rule=payout_rule,
        bidding=bool(bidding),
        discount_to=discount_to,
        created_by=by,
    )


def _locked_draft(cycle: RoscaCycle, by: User) -> RoscaCycle:
    return locked_in_status(
        RoscaCycle.objects.select_related("chama"),
        pk=cycle.pk,
        allowed=S.DRAFT,
        by=by,
        action="manage_rosca",
        on_chama=True,
        refusal="The roster can only change while the cycle is a draft: it is {status}.",
    )


def _replace_roster(cycle: RoscaCycle, members: Sequence[Membership]) -> list[RosterSlot]:
    cycle.slots.all().delete()
    return RosterSlot.objects.bulk_create(
        [
            RosterSlot(chama_id=cycle.chama_id, cycle=cycle, membership=member, position=position)
            for position, member in enumerate(members, start=1)
        ]
    )


def roster_draw(*, cycle: RoscaCycle, by: User, seed: str = "") -> list[RosterSlot]:
    """Draw the order of the chama's active members (a new random seed unless one is given, e.g. one
    read out at the meeting) and record the seed with the cycle."""
    seed = (seed or "").strip() or secrets.token_hex(16)
    if len(seed) > 64:
        raise ValidationError({"seed": "A seed is at most 64 characters."})
    with transaction.atomic():
        cycle = _locked_draft(cycle, by)
        members = {m.member_number: m for m in register.active_members(chama=cycle.chama)}
        if len(members) < 2:
            raise ValidationError("A merry-go-round needs at least two active members.")
        slots = _replace_roster(cycle, [members[number] for number in draw_order(seed, list(members))])
        move(cycle, cycle.status, roster_method=RoscaCycle.RosterMethod.DRAW, draw_seed=seed)
    return slots


def roster_set(*, cycle: RoscaCycle, membership_ids: Sequence[int], by: User) -> list[RosterSlot]:
    """The order the members agreed (officers enter it): every active member once, first to last."""
    with transaction.atomic():
        cycle = _locked_draft(cycle, by)
        members = {m.pk: m for m in register.active_members(chama=cycle.chama)}
        ids = list(membership_ids)
        if len(set(ids)) != len(ids):
            raise ValidationError({"membership_ids": "A member appears twice in the order."})
        strangers = [pk for pk in ids if pk not in members]
        if strangers:
            raise ValidationError({"membership_ids": f"Not active members of {cycle.chama}: {strangers}."})
        left_out = sorted(members[pk].member_number for pk in set(members) - set(ids))
        if left_out:
            raise ValidationError(
                {"membership_ids": f"Every active member needs a place; missing: {', '.join(left_out)}."}
            )
        if len(ids) < 2:
            raise ValidationError("A merry-go-round needs at least two active members.")
        slots = _replace_roster(cycle, [members[pk] for pk in ids])
        move(cycle, cycle.status, roster_method=RoscaCycle.RosterMethod.AGREEMENT, draw_seed="")
    return slots


def _due_day(cycle: RoscaCycle) -> int:
    """The plan's due day that makes each round's due fall on the round's date."""
    return cycle.start_date.day if cycle.frequency == Policy.Frequency.MONTHLY else cycle.start_date.isoweekday()


def cycle_start(*, cycle: RoscaCycle, by: User) -> RoscaCycle:
    """Publish the roster and begin the rounds: a contribution plan raises each round's dues into
    the pot, from the start date to the last round; every member is told their round and its date."""
    with transaction.atomic():
        cycle = _locked_draft(cycle, by)
        lock_chama(cycle.chama_id)
        slots = list(cycle.slots.select_related("membership__user"))
        if len(slots) < 2:
            raise ValidationError("Set the roster first (by draw or by agreement).")
        running = RoscaCycle.objects.filter(chama=cycle.chama, status=S.ACTIVE).first()
        if running is not None:
            raise ValidationError(f"{running.name} is still running: finish or cancel it first.")
        plan = ContributionPlan.objects.create(
            chama=cycle.chama,
            name=f"Merry-go-round: {cycle.name}",
            kind=ContributionPlan.Kind.REGULAR,
            amount=cycle.contribution,
            frequency=cycle.frequency,
            due_day=_due_day(cycle),
            grace_days=cycle.chama.policy.grace_days,
            target=ContributionPlan.Target.ROSCA_POT,
            start_date=cycle.start_date,
            end_date=cycle.round_date(len(slots)),
        )
        move(cycle, S.ACTIVE, plan=plan, started_at=timezone.now())
    pot = shown(cycle.contribution * len(slots), cycle.chama.currency)
    for slot in slots:
        notify(
            slot.membership.user,
            dedupe_key=f"rosca-{cycle.pk}-roster",
            title=f"{cycle.chama}: you receive the pot in round {slot.position}",
            body=(
                f"{cycle.name}: {len(slots)} rounds of {shown(cycle.contribution, cycle.chama.currency)} each. "
                f"You receive the pot of {pot} in round {slot.position}, on "
                f"{cycle.round_date(slot.position):%d %b %Y}."
            ),
        )
    return cycle


# --- paying out a round ---------------------------------------------------------------------------


def round_dues(cycle: RoscaCycle, position: int) -> list[Due]:
    """The dues raised for round `position` of a started cycle (the plan's period holding its date)."""
    plan = cycle.plan
    period = periods.period_containing(cycle.round_date(position), plan.frequency, plan.due_day, plan.start_date)
    return list(
        Due.objects.filter(chama_id=cycle.chama_id, plan=plan, period_start=period.start)
        .exclude(status=Due.Status.CANCELLED)
        .select_related("membership")
        .order_by("membership__member_number")
    )


def next_position(cycle: RoscaCycle) -> int | None:
    """The first round neither paid out nor waiting for a second officer (None when none is left)."""
    taken = set(
        RoscaPayout.objects.filter(cycle=cycle)
        .exclude(status=RoscaPayout.Status.REJECTED)
        .values_list("slot__position", flat=True)
    )
    return next(
        (n for n in cycle.slots.order_by("position").values_list("position", flat=True) if n not in taken), None
    )


def round_payout(
    *, cycle: RoscaCycle, position: int, method: str, by: User, reference: str = "", value_date: date | None = None
) -> RoscaPayout:
    """Pay round `position`'s pot to its recipient (see the module's rules) on `value_date` (today
    by default; an earlier day follows the posting-date rule, e.g. entering paper books); above the
    chama's threshold it waits for a second officer."""
    with transaction.atomic():
        cycle = locked_in_status(
            RoscaCycle.objects.select_related("chama__policy", "plan"),
            pk=cycle.pk,
            allowed=S.ACTIVE,
            by=by,
            action="pay_rosca",
            on_chama=True,
            refusal="Only a running cycle pays out: this one is {status}.",
        )
        chama = cycle.chama
        slot = cycle.slots.select_related("membership__user").filter(position=position).first()
        if slot is None:
            raise ValidationError({"position": f"{cycle.name} has rounds 1 to {cycle.slots.count()}."})
        winner = _bid_winner(cycle, position) if cycle.bidding else None
        if winner is not None and winner.membership_id != slot.membership_id:
            slot = _give_round(cycle, slot, winner.membership_id)
        payout = RoscaPayout(
            chama=chama,
            cycle=cycle,
            slot=slot,
            membership=slot.membership,
            method=method,
            reference=(reference or "").strip(),
            value_date=value_date or chama.today(),
            recorded_by=by,
        )
        authority.require(by, "pay_rosca", payout)
        ledger.method_account(chama, method)  # an unknown method is refused before anything is saved
        value_dates.check(chama, payout.value_date)
        _check_round(cycle, slot, payout.value_date)
        raised = round_dues(cycle, position)
        if not raised:
            raise ValidationError(f"Round {position}'s dues are not raised yet (generate_dues raises them).")
        collected = sum((due.paid_amount for due in raised), ZERO)
        behind = [due for due in raised if due.outstanding > 0]
        if behind and cycle.payout_rule == RoscaCycle.PayoutRule.FULL:
            names = ", ".join(
                f"{due.membership.member_number} ({shown(due.outstanding, chama.currency)})" for due in behind
            )
            raise ValidationError(f"Round {position} is not fully paid: still owed by {names}.")
        if collected <= 0:
            raise ValidationError(f"Nothing has been paid into round {position} yet.")
        payout.amount = collected
        payout.shortfall = sum((due.outstanding for due in behind), ZERO)
        payout.discount = winner.discount if winner is not None else ZERO
        if payout.discount >= collected:
            raise ValidationError(
                f"The winning bid's discount ({shown(payout.discount, chama.currency)}) is not less than what round "
                f"{position} collected ({shown(collected, chama.currency)})."
            )
        _post_or_ask(payout, by, what="pot", earlier=ZERO)
    return payout


def _post_or_ask(payout: RoscaPayout, by: User, *, what: str, earlier: Decimal) -> None:
    """Post the payout now, or, above the chama's threshold (with `earlier` paid to the same
    member for the round), save it pending and ask the officers who may give the second signature."""
    chama = payout.chama
    if not signatures.needs_second(chama, payout.amount, earlier=earlier):
        _post(payout, by)
        return
    payout.save()
    signatures.ask(
        payout,
        "approve_rosca_payout",
        asked_by=by,
        key=f"rosca-payout-{payout.pk}",
        what=f"the {payout.cycle.name} round {payout.slot.position} {what} of "
        f"{shown(payout.amount, chama.currency)} to {payout.membership.member_number}",
    )


def _standing_payout(slot: RosterSlot) -> RoscaPayout | None:
    """The slot's payout, paid or waiting for a second officer (a rejected one, or a top-up, does not count)."""
    return (
        RoscaPayout.objects.filter(slot=slot, top_up_of__isnull=True)
        .exclude(status=RoscaPayout.Status.REJECTED)
        .first()
    )


def _check_round(cycle: RoscaCycle, slot: RosterSlot, today: date) -> None:
    """The round is due and comes next: its date has come and every earlier round is paid."""
    when = cycle.round_date(slot.position)
    if today < when:
        raise ValidationError(f"Round {slot.position} is on {when:%d %b %Y}: it cannot be paid before.")
    taken = _standing_payout(slot)
    if taken is not None:
        raise ValidationError(f"Round {slot.position} is already {taken.get_status_display().lower()}.")
    paid = set(
        RoscaPayout.objects.filter(cycle=cycle, status=RoscaPayout.Status.PAID).values_list("slot__position", flat=True)
    )
    unpaid = [n for n in range(1, slot.position) if n not in paid]
    if unpaid:
        raise ValidationError(f"Pay round {unpaid[0]} first: rounds are paid in the roster's order.")


def _bid_winner(cycle: RoscaCycle, position: int) -> RoscaBid | None:
    """The round's highest bid (the earliest of equal bids) by a member still waiting for their round."""
    waiting = cycle.slots.filter(position__gte=position).values("membership_id")
    return (
        RoscaBid.objects.filter(cycle=cycle, position=position, membership_id__in=waiting)
        .order_by("-discount", "updated_date", "id")
        .first()
    )


def _give_round(cycle: RoscaCycle, slot: RosterSlot, membership_id: int) -> RosterSlot:
    """The winner of a bid takes round `slot.position`; the member the roster named takes theirs."""
    won = cycle.slots.select_related("membership__user").get(membership_id=membership_id)
    position, theirs = slot.position, won.position
    _place(won, cycle.slots.count() + 1)  # out of the way of the unique (cycle, position)
    _place(slot, theirs)
    _place(won, position)
    won.position = position
    return won


def _others(payout: RoscaPayout) -> list[Membership]:
    """The cycle's other members, in roster order: those who share a winning discount."""
    return [
        slot.membership
        for slot in payout.cycle.slots.select_related("membership__user", "membership__chama").order_by("position")
        if slot.membership_id != payout.membership_id
    ]


def _discount_lines(payout: RoscaPayout) -> list[tuple[Account, Decimal]]:
    """Where a winning discount goes: the chama's other income, or the other members' advances in
    equal parts (the odd cents to the first on the roster), towards their next contributions."""
    if not payout.discount:
        return []
    chama = payout.chama
    if payout.cycle.discount_to == RoscaCycle.DiscountTo.INCOME:
        return [(ledger.chama_account(chama, Account.Purpose.OTHER_INCOME), -payout.discount)]
    others = _others(payout)
    cents = int(payout.discount * 100)
    share, odd = divmod(cents, len(others))
    return [
        (
            ledger.member_account(membership, Account.Purpose.MEMBER_ADVANCE),
            -(Decimal(share + (1 if index < odd else 0)) / 100),
        )
        for index, membership in enumerate(others)
    ]


def bid_place(*, cycle: RoscaCycle, membership: Membership, discount: Decimal, by: User) -> RoscaBid:
    """A member still waiting bids for the next round of a bidding cycle (a new bid replaces their
    last one); an officer may enter it for them."""
    if authority.person(by) is None or by.pk != membership.user_id:
        authority.require(by, "act_for_member", membership)
    discount = to_money(discount)
    if discount < 0:
        raise ValidationError({"discount": "A bid is a discount of zero or more."})
    with transaction.atomic():
        cycle = locked_in_status(
            RoscaCycle.objects.select_related("chama"),
            pk=cycle.pk,
            allowed=S.ACTIVE,
            refusal="Only a running cycle takes bids: this one is {status}.",
        )
        if not cycle.bidding:
            raise ValidationError(f"{cycle.name} follows its roster: its rounds are not bid for.")
        position = next_position(cycle)
        slot = cycle.slots.filter(membership=membership).first()
        if position is None or slot is None or slot.position < position:
            raise ValidationError("Only a member on the roster still waiting for their round bids.")
        pot = cycle.contribution * cycle.slots.count()
        if discount >= pot:
            raise ValidationError({"discount": f"Bid less than the pot ({shown(pot, cycle.chama.currency)})."})
        bid, _ = RoscaBid.objects.update_or_create(
            chama=cycle.chama, cycle=cycle, position=position, membership=membership, defaults={"discount": discount}
        )
    return bid


def round_top_up(
    *, cycle: RoscaCycle, position: int, method: str, by: User, reference: str = "", value_date: date | None = None
) -> RoscaPayout:
    """Pay on to round `position`'s recipient what members behind on the round paid after it was
    paid out short (the `collected` rule), as for a payout: a second officer above the threshold,
    never the recipient. A cycle that has completed is still topped up."""
    with transaction.atomic():
        cycle = locked_in_status(
            RoscaCycle.objects.select_related("chama__policy", "plan"),
            pk=cycle.pk,
            allowed=(S.ACTIVE, S.COMPLETED),
            by=by,
            action="pay_rosca",
            on_chama=True,
            refusal="Only a running or completed cycle is topped up: this one is {status}.",
        )
        chama = cycle.chama
        slot = cycle.slots.select_related("membership__user").filter(position=position).first()
        first = _standing_payout(slot) if slot is not None else None
        if first is None or first.status != RoscaPayout.Status.PAID:
            raise ValidationError({"position": f"Round {position} has not been paid out: pay it before topping it up."})
        raised = round_dues(cycle, position)
        collected = sum((due.paid_amount for due in raised), ZERO)
        already = sum(
            (p.amount for p in RoscaPayout.objects.filter(slot=slot).exclude(status=RoscaPayout.Status.REJECTED)),
            ZERO,
        )
        if collected <= already:
            raise ValidationError(
                f"Nothing more has been paid into round {position} since it was paid out "
                f"({shown(already, chama.currency)} paid to {slot.membership.member_number})."
            )
        payout = RoscaPayout(
            chama=chama,
            cycle=cycle,
            slot=slot,
            membership=slot.membership,
            method=method,
            reference=(reference or "").strip(),
            value_date=value_date or chama.today(),
            recorded_by=by,
            top_up_of=first,
            amount=collected - already,
            shortfall=sum((due.outstanding for due in raised), ZERO),
        )
        authority.require(by, "pay_rosca", payout)
        ledger.method_account(chama, method)
        value_dates.check(chama, payout.value_date)
        # With what the round paid them already: topping up in parts does not escape the threshold.
        _post_or_ask(payout, by, what="top-up", earlier=already)
    return payout


def rounds_to_top_up(cycle: RoscaCycle) -> list[int]:
    """The rounds paid out short into which members behind have paid since."""
    positions = []
    for payout in RoscaPayout.objects.filter(
        cycle=cycle, top_up_of__isnull=True, status=RoscaPayout.Status.PAID, shortfall__gt=0
    ).select_related("slot"):
        position = payout.slot.position
        paid_out = sum(
            (p.amount for p in payout.slot.payouts.exclude(status=RoscaPayout.Status.REJECTED)),
            ZERO,
        )
        if sum((due.paid_amount for due in round_dues(cycle, position)), ZERO) > paid_out:
            positions.append(position)
    return sorted(positions)


def recover_round_arrears(*, cycle: RoscaCycle, membership: Membership, by: User) -> Journal:
    """Take what a member who has received the pot owes the cycle and is late with from their
    savings (Dr their savings, the largest account first; Cr the pot), oldest due first."""
    with transaction.atomic():
        cycle = locked_in_status(
            RoscaCycle.objects.select_related("chama__policy", "plan"),
            pk=cycle.pk,
            allowed=(S.ACTIVE, S.COMPLETED),
            refusal="Only a running or completed cycle's arrears are recovered: this one is {status}.",
        )
        chama = cycle.chama
        slot = cycle.slots.filter(membership=membership).first()
        received = slot is not None and (
            (payout := _standing_payout(slot)) is not None and payout.status == RoscaPayout.Status.PAID
        )
        if not received:
            raise ValidationError(
                {"membership": "Only a member who has received the pot has their arrears recovered from savings."}
            )
        lock_membership(membership.pk)
        overdue = lock_dues(
            Due.objects.filter(chama=chama, plan=cycle.plan, membership=membership, status=Due.Status.OVERDUE).order_by(
                "due_date", "id"
            )
        )
        if not overdue:
            raise ValidationError({"membership": f"{membership.member_number} is not late with {cycle.name}."})
        authority.require(by, "recover_rosca_arrears", overdue[0])
        owed = sum((due.outstanding for due in overdue), ZERO)
        lines = []
        for account in Account.objects.filter(
            membership=membership, purpose=Account.Purpose.MEMBER_SAVINGS, balance__lt=0
        ).order_by("balance"):  # savings are credit balances: the largest first
            part = min(owed - sum((amount for _, amount in lines), ZERO), account.normal_balance)
            if part > 0:
                lines.append((account, part))
        taken = sum((amount for _, amount in lines), ZERO)
        if taken <= 0:
            raise ValidationError({"membership": f"{membership.member_number} has no savings to recover from."})
        journal = ledger.post_journal(
            chama=chama,
            kind=Journal.Kind.PAYMENT,
            value_date=chama.today(),
            membership=membership,
            created_by=authority.person(by),
            memo=f"{cycle.name}: arrears of {membership.member_number} recovered from their savings",
            lines=[*lines, (ledger.chama_account(chama, Account.Purpose.ROSCA_POT), -taken)],
        )
        allocations, left = [], taken
        for due in overdue:
            part = min(left, due.outstanding)
            if part > 0:
                allocations.append((due, part))
                left -= part
        dues.record_allocations(chama, allocations, DueAllocation.Kind.PAYMENT, journal)
    notify(
        membership.user,
        dedupe_key=f"rosca-recovery-{journal.pk}",
        title=f"{chama}: {shown(taken, chama.currency)} taken from your savings",
        body=f"You received the {cycle.name} pot and were late with {shown(owed, chama.currency)} of your "
        f"contributions: {shown(taken, chama.currency)} was taken from your savings towards it. "
        f"Receipt no. {journal.pk}.",
    )
    return journal


def _post(payout: RoscaPayout, by: User) -> None:
    """The payout's journal (Dr the pot, Cr where it was paid from), the recipient's receipt and,
    with the last round, the cycle's end."""
    cycle, chama = payout.cycle, payout.chama
    position = payout.slot.position
    what = "late contributions" if payout.top_up_of_id else "pot"
    payout.journal = ledger.post_journal(
        chama=chama,
        kind=Journal.Kind.ROSCA_PAYOUT,
        value_date=payout.value_date,
        # The backdating window counts from the day the payout was asked for, not its approval.
        recorded_on=value_dates.recorded_day(chama, payout.created_date) if payout.created_date else None,
        membership=payout.membership,
        memo=f"{cycle.name}: round {position} {what} to {payout.membership.member_number} ({payout.method})",
        created_by=by,
        external_reference=payout.reference,
        lines=[
            (ledger.chama_account(chama, Account.Purpose.ROSCA_POT), payout.amount),
            (ledger.method_account(chama, payout.method), -(payout.amount - payout.discount)),
            *_discount_lines(payout),
        ],
    )
    payout.status = RoscaPayout.Status.PAID
    payout.approved_by = by
    payout.save()
    notify(
        payout.membership.user,
        dedupe_key=f"rosca-payout-{payout.pk}",
        title=f"{chama}: {shown(payout.amount - payout.discount, chama.currency)} paid to you",
        body=f"{cycle.name}, round {position}: the {what} of {shown(payout.amount, chama.currency)} "
        f"{'were' if payout.top_up_of_id else 'was'} paid to you ({payout.method})"
        + (f", less your winning bid of {shown(payout.discount, chama.currency)}" if payout.discount else "")
        + f". Receipt no. {payout.journal.pk}.",
    )
    if payout.discount and cycle.discount_to == RoscaCycle.DiscountTo.MEMBERS:
        for membership in _others(payout):
            dues.apply_advance(membership)
    if not payout.top_up_of_id and position == cycle.slots.count():
        move(cycle, S.COMPLETED)
        ContributionPlan.objects.filter(pk=cycle.plan_id).update(is_active=False)


def _locked_pending(payout: RoscaPayout, by: User) -> RoscaPayout:
    return locked_in_status(
        RoscaPayout.objects.select_related("chama__policy", "cycle", "slot", "membership__user"),
        pk=payout.pk,
        allowed=RoscaPayout.Status.PENDING,
        by=by,
        action="approve_rosca_payout",
    )


def payout_approve(*, payout: RoscaPayout, by: User) -> RoscaPayout:
    """The second officer (not the one who asked, never the recipient) approves: the pot is paid."""
    with transaction.atomic():
        payout = _locked_pending(payout, by)
        authority.require_distinct(by, [payout.recorded_by_id], "merry-go-round payout")
        _post(payout, by)
    return payout


def payout_reject(*, payout: RoscaPayout, by: User, reason: str) -> RoscaPayout:
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why it is rejected."})
    with transaction.atomic():
        payout = _locked_pending(payout, by)
        move(payout, RoscaPayout.Status.REJECTED, approved_by=by, decided_reason=reason.strip())
    return payout


# --- reminders --------------------------------------------------------------------------------------

REMIND_DAYS_BEFORE = 2


def send_round_reminders(*, chama: Chama, days_before: int = REMIND_DAYS_BEFORE) -> int:
    """In the `days_before` days up to each running cycle's next round: tell its recipient the pot is
    coming, and every member who still owes the round what they owe and by when. Each person is told
    once per round (the scheduler runs it daily). Returns how many were told now."""
    today = chama.today()
    told = 0
    for cycle in RoscaCycle.objects.filter(chama=chama, status=S.ACTIVE).select_related("chama", "plan"):
        position = next_position(cycle)
        if position is None:
            continue
        when = cycle.round_date(position)
        if not 0 <= (when - today).days <= days_before:
            continue
        slot = cycle.slots.select_related("membership__user").get(position=position)
        pot = shown(cycle.pot_per_round, chama.currency)
        told += (
            notify(
                slot.membership.user,
                dedupe_key=f"rosca-{cycle.pk}-round-{position}-recipient",
                title=f"{chama}: you receive the pot on {when:%d %b}",
                body=f"{cycle.name}, round {position}: the pot of {pot} is yours on {when:%d %b %Y}, once the round is paid in.",
            )
            is not None
        )
        for due in round_dues(cycle, position):
            if due.outstanding <= 0:
                continue
            told += (
                notify(
                    due.membership.user,
                    dedupe_key=f"rosca-{cycle.pk}-round-{position}-owe-{due.membership_id}",
                    title=f"{chama}: {shown(due.outstanding, chama.currency)} due by {when:%d %b}",
                    body=(
                        f"{cycle.name}, round {position} closes on {when:%d %b %Y}: you still owe "
                        f"{shown(due.outstanding, chama.currency)} towards {slot.membership.user.get_full_name()}'s pot."
                    ),
                )
                is not None
            )
    return told


# --- swaps and deferrals ----------------------------------------------------------------------------

C = RosterChange.Status


def _unpaid_slot(cycle: RoscaCycle, membership: Membership) -> RosterSlot:
    """The member's place on a running cycle, while their round is neither paid nor waiting."""
    slot = cycle.slots.filter(membership=membership).first()
    if slot is None:
        raise ValidationError(f"{membership.member_number} is not on the roster of {cycle.name}.")
    if _standing_payout(slot) is not None:
        raise ValidationError(f"{membership.member_number}'s round {slot.position} is already paid out.")
    return slot


def _ask(cycle: RoscaCycle, membership: Membership, by: User) -> None:
    if by.pk != membership.user_id:
        authority.require(by, "act_for_member", chama=cycle.chama)
    if cycle.status != S.ACTIVE:
        raise ValidationError("Only a running cycle's rounds can be swapped or deferred.")
    if RosterChange.objects.filter(cycle=cycle, membership=membership, status__in=RosterChange.OPEN_STATUSES).exists():
        raise ValidationError(f"{membership.member_number} already has a request waiting on {cycle.name}.")


def swap_request(*, cycle: RoscaCycle, membership: Membership, other: Membership, by: User) -> RosterChange:
    """`membership` asks to swap rounds with `other`, who must agree before an officer approves."""
    _ask(cycle, membership, by)
    if other.pk == membership.pk:
        raise ValidationError({"other": "Pick another member to swap with."})
    _unpaid_slot(cycle, membership)
    _unpaid_slot(cycle, other)
    change = RosterChange.objects.create(
        chama=cycle.chama,
        cycle=cycle,
        kind=RosterChange.Kind.SWAP,
        membership=membership,
        other=other,
        status=C.WAITING_PARTNER,
    )
    notify(
        other.user,
        dedupe_key=f"roster-change-{change.pk}-partner",
        title=f"{cycle.chama}: {membership.user.get_full_name()} asks to swap rounds with you",
        body=f"{cycle.name}: agree or decline in the app; an officer then approves the swap.",
    )
    return change


def defer_request(*, cycle: RoscaCycle, membership: Membership, by: User) -> RosterChange:
    """`membership` asks to take their turn at the end of the cycle; an officer approves."""
    _ask(cycle, membership, by)
    _unpaid_slot(cycle, membership)
    change = RosterChange.objects.create(
        chama=cycle.chama, cycle=cycle, kind=RosterChange.Kind.DEFER, membership=membership, status=C.WAITING_OFFICER
    )
    _ask_officers(change, by)
    return change


def _ask_officers(change: RosterChange, by: User) -> None:
    signatures.ask(change, "manage_rosca", asked_by=by, key=f"roster-change-{change.pk}", what=str(change))


def _locked_change(change: RosterChange, allowed: str) -> RosterChange:
    return locked_in_status(
        RosterChange.objects.select_related("chama", "cycle", "membership__user", "other__user"),
        pk=change.pk,
        allowed=allowed,
        refusal="This request is {status}.",
    )


def swap_consent(*, change: RosterChange, by: User, agree: bool) -> RosterChange:
    """The other member agrees (an officer then approves) or declines, through their own login."""
    with transaction.atomic():
        change = _locked_change(change, C.WAITING_PARTNER)
        if by.pk != change.other.user_id:
            raise authority.Refused(f"Only {change.other.user.get_full_name()} may answer this request.")
        if not agree:
            return move(change, C.DECLINED, decided_by=by)
        move(change, C.WAITING_OFFICER)
        _ask_officers(change, by)
    return change


def change_approve(*, change: RosterChange, by: User) -> RosterChange:
    """An officer who is neither member concerned approves: the roster changes at once."""
    with transaction.atomic():
        change = _locked_change(change, C.WAITING_OFFICER)
        authority.require(by, "manage_rosca", chama=change.chama)
        if by.pk in {change.membership.user_id, getattr(change.other, "user_id", None)}:
            raise authority.Refused("A member whose round moves cannot approve it: another officer must.")
        cycle = locked_in_status(RoscaCycle.objects.all(), pk=change.cycle_id, allowed=S.ACTIVE)
        mine = _unpaid_slot(cycle, change.membership)
        last = cycle.slots.count()
        parked = last + 1  # out of the way while the others move: (cycle, position) is unique
        if change.kind == RosterChange.Kind.SWAP:
            theirs = _unpaid_slot(cycle, change.other)
            _place(mine, parked)
            _place(theirs, mine.position)
            _place(mine, theirs.position)
            moved = [(change.membership, theirs.position), (change.other, mine.position)]
        else:
            after = list(cycle.slots.filter(position__gt=mine.position).order_by("position"))
            _place(mine, parked)
            for slot in after:
                _place(slot, slot.position - 1)
            _place(mine, last)
            moved = [(change.membership, last), *((slot.membership, slot.position - 1) for slot in after)]
        move(change, C.APPROVED, decided_by=by)
    for membership, position in moved:
        notify(
            membership.user,
            dedupe_key=f"roster-change-{change.pk}-{membership.pk}",
            title=f"{cycle.chama}: you now receive the pot in round {position}",
            body=f"{cycle.name}: the roster changed ({change}); your round is {position}, on "
            f"{cycle.round_date(position):%d %b %Y}.",
        )
    return change


def _place(slot: RosterSlot, position: int) -> None:
    """Move a slot to `position`."""
    RosterSlot.objects.filter(pk=slot.pk).update(position=position)


def change_reject(*, change: RosterChange, by: User, reason: str) -> RosterChange:
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why it is rejected."})
    with transaction.atomic():
        change = _locked_change(change, C.WAITING_OFFICER)
        authority.require(by, "manage_rosca", chama=change.chama)
        return move(change, C.REJECTED, decided_by=by, decided_reason=reason.strip())
