"""Merry-go-rounds (ROSCA): setting up a cycle, its roster (by draw or by agreement) and starting it.

A draw is a seed and a rule anyone can re-check by hand or with a few lines of any language: each
member's ticket is the SHA-256 of "<seed>:<member number>", written in hex, and the members receive
the pot in the order of their tickets (`draw_order`). The seed is recorded on the cycle, so the
order can be checked long after the meeting.

Starting a cycle publishes the roster and makes the contribution plan that raises each round's
dues into the merry-go-round pot (`generate_dues`, paid like any due).
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
from chama.money import positive_money, shown
from chama.notify import notify
from chama.transitions import locked_in_status, move
from finance.models import ContributionPlan, RoscaCycle, RosterSlot
from groups import selectors as register
from groups.locking import lock_chama
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
