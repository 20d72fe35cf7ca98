"""Approving money dated further back than the policy's backdating window: the chairperson asks,
a second officer approves or rejects through their own login. An approval is in force for
`VALID_DAYS` days from its approval; meanwhile money may be dated back to its earliest date."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from chama import authority
from chama.transitions import locked_in_status, move
from finance.models import BackdatingApproval
from finance.services import value_dates
from groups import signatures

if TYPE_CHECKING:
    from chama.models import User
    from groups.models import Chama

VALID_DAYS = 7


def request_problem(chama: Chama, earliest_date: date) -> str | None:
    """Why backdating to `earliest_date` cannot be asked for (it could never be a value date, or
    needs no approval), or None."""
    problem = value_dates.calendar_problem(chama, earliest_date)
    if problem:
        return problem
    window = value_dates.window_days(chama)
    if (chama.today() - earliest_date).days <= window:
        return (
            f"{earliest_date} is within the policy's {window} days: money may be dated that far back without approval."
        )
    return None


def backdating_request(*, chama: Chama, earliest_date: date, reason: str, by: User) -> BackdatingApproval:
    """The chairperson asks that money may be dated as far back as `earliest_date`."""
    authority.require(by, "request_backdating", chama=chama)
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why older money must be recorded."})
    problem = request_problem(chama, earliest_date)
    if problem:
        raise ValidationError({"earliest_date": problem})
    with transaction.atomic():
        approval = BackdatingApproval.objects.create(
            chama=chama, earliest_date=earliest_date, reason=reason.strip(), requested_by=by
        )
        signatures.ask(
            approval,
            "approve_backdating",
            asked_by=by,
            key=f"backdating-{approval.pk}",
            what=f"money dated as far back as {earliest_date:%d %b %Y} ({approval.reason})",
        )
    return approval


def _locked_pending(approval: BackdatingApproval, by: User) -> BackdatingApproval:
    return locked_in_status(
        BackdatingApproval.objects.select_related("chama__policy"),
        pk=approval.pk,
        allowed=BackdatingApproval.Status.PENDING,
        by=by,
        action="approve_backdating",
    )


def backdating_approve(*, approval: BackdatingApproval, by: User) -> BackdatingApproval:
    """The second officer approves: for `VALID_DAYS` days money may be dated back to its earliest date."""
    with transaction.atomic():
        approval = _locked_pending(approval, by)
        authority.require_distinct(by, [approval.requested_by_id], "backdating approval")
        now = timezone.now()
        move(
            approval,
            BackdatingApproval.Status.APPROVED,
            decided_by=by,
            decided_date=now,
            expires_date=now + timedelta(days=VALID_DAYS),
        )
    return approval


def backdating_reject(*, approval: BackdatingApproval, by: User, reason: str = "") -> BackdatingApproval:
    """Any officer who may approve rejects it (the chairperson who asked, to withdraw it)."""
    with transaction.atomic():
        approval = _locked_pending(approval, by)
        move(
            approval,
            BackdatingApproval.Status.REJECTED,
            decided_by=by,
            decided_date=timezone.now(),
            rejection_reason=reason or "",
        )
    return approval
