"""Meetings, the register, RSVPs, fines for absence and lateness, reminders, proposals and votes."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Model, Q, QuerySet
from django.utils import timezone

from chama import authority
from chama.locking import lock_first, lock_row
from chama.models import Notification, User
from chama.notify import notify
from chama.progress import Progress, told
from chama.roles import MembershipStatus
from finance import periods
from finance.models import Due
from finance.services import collections
from finance.services.dues import fine_charge
from groups import selectors as register
from groups.models import Chama, Membership, Policy
from meetings.models import (
    ActionItem,
    AgendaItem,
    Attendance,
    EligibleVoter,
    Meeting,
    MinutesAttachment,
    Proposal,
    Resolution,
    Rsvp,
    Vote,
)


def _zone(chama: Chama) -> ZoneInfo:
    return ZoneInfo(chama.timezone)


def meeting_day(meeting: Meeting) -> date:
    """The meeting's date in its chama's time zone: the value date of what is posted at it."""
    return meeting.starts_at.astimezone(_zone(meeting.chama)).date()


# --- meetings ----------------------------------------------------------------------------------


def check_link(format: str, link: str) -> None:
    if format != Meeting.Format.PHYSICAL and not link:
        raise ValidationError({"link": "An online or hybrid meeting needs its link."})


def check_status(meeting: Meeting, status: str) -> None:
    """The status `meeting` (as it would be saved) may have."""
    if status == Meeting.Status.HELD and meeting.starts_at > timezone.now():
        raise ValidationError("A meeting cannot be held before it starts.")


def meeting_create(
    *,
    chama: Chama,
    by: User,
    title: str,
    starts_at: datetime,
    kind: str = Meeting.Kind.REGULAR,
    format: str = Meeting.Format.PHYSICAL,
    ends_at: datetime | None = None,
    location: str = "",
    link: str = "",
    agenda: Iterable[str] = (),
    status: str = Meeting.Status.SCHEDULED,
    minutes: str = "",
) -> Meeting:
    """A meeting, scheduled; or, recorded afterwards, already held with its minutes."""
    authority.require(by, "run_meeting", chama=chama)
    check_link(format, link)
    with transaction.atomic():
        meeting = Meeting(
            chama=chama,
            title=title,
            kind=kind,
            format=format,
            starts_at=starts_at,
            ends_at=ends_at,
            location=location,
            link=link,
            status=status,
            minutes=minutes,
            minutes_recorded_by=by if minutes else None,
        )
        try:
            check_status(meeting, status)
        except ValidationError as exc:
            raise ValidationError({"status": exc.messages}) from exc
        meeting.full_clean()
        meeting.save()
        AgendaItem.objects.bulk_create(
            [AgendaItem(chama=chama, meeting=meeting, position=n, title=item) for n, item in enumerate(agenda, start=1)]
        )
    return meeting


# What an officer may change on a meeting (it stays in its chama).
MEETING_DETAILS = frozenset(
    {"title", "kind", "format", "location", "link", "starts_at", "ends_at", "status", "minutes"}
)


def meeting_update(*, meeting: Meeting, by: User, **fields: Any) -> Meeting:
    """Change a meeting's details, status or minutes; whoever changes the minutes is recorded as
    having taken them."""
    unknown = sorted(set(fields) - MEETING_DETAILS)
    if unknown:
        raise ValidationError(f"{', '.join(unknown)}: not a detail of the meeting that can be changed.")
    with transaction.atomic():
        meeting = lock_row(Meeting.objects.select_related("chama"), pk=meeting.pk)
        authority.require(by, "run_meeting", meeting)
        if "minutes" in fields and fields["minutes"] != meeting.minutes:
            fields = {**fields, "minutes_recorded_by": by}
        for name, value in fields.items():
            setattr(meeting, name, value)
        check_link(meeting.format, meeting.link)
        try:
            check_status(meeting, meeting.status)
        except ValidationError as exc:
            raise ValidationError({"status": exc.messages}) from exc
        meeting.full_clean()
        if fields:
            meeting.save(update_fields=[*fields, "updated_date"])
    return meeting


# The rows of a meeting's minutes an officer keeps on its page.
MEETING_RECORDS = (AgendaItem, Resolution, ActionItem, MinutesAttachment)


def meeting_records_save(
    *, meeting: Meeting, by: User, saved: Iterable[Model] = (), deleted: Iterable[Model] = ()
) -> list[Model]:
    """Save the agenda items, resolutions, action items and minutes attachments of `meeting` as an
    officer edited them: `saved` new or changed rows, `deleted` rows taken out. Every row is the
    meeting's and in its chama, and an action item falls to a member of that chama."""
    with transaction.atomic():
        meeting = lock_row(Meeting.objects.select_related("chama"), pk=meeting.pk)
        authority.require(by, "run_meeting", meeting)
        for row in [*saved, *deleted]:
            if not isinstance(row, MEETING_RECORDS):
                raise ValidationError(f"{row} is not part of a meeting's minutes.")
            if row.pk is not None and not type(row).objects.filter(pk=row.pk, meeting=meeting).exists():
                raise ValidationError(f"{row} belongs to another meeting.")
        for row in saved:
            row.meeting, row.chama = meeting, meeting.chama
            owner = getattr(row, "owner", None)
            if owner is not None and owner.chama_id != meeting.chama_id:
                raise ValidationError({"owner": f"{owner} belongs to another chama: pick one of this meeting's."})
            row.full_clean()
            row.save()
        for row in deleted:
            row.delete()
    return list(saved)


def meeting_set_status(*, meeting: Meeting, status: str, by: User) -> Meeting:
    with transaction.atomic():
        meeting = lock_row(Meeting.objects.select_related("chama"), pk=meeting.pk)
        authority.require(by, "run_meeting", meeting)
        check_status(meeting, status)
        meeting.status = status
        meeting.save(update_fields=["status", "updated_date"])
    return meeting


def regular_meeting_days(policy: Policy, start: date, months: int) -> list[date]:
    """The policy's regular meeting days from `start` for `months` months."""
    end = periods.add_months(start, months)
    days, day = [], start
    while day < end:
        period = periods.period_containing(day, policy.meeting_frequency, policy.meeting_day, start)
        if period.due_date >= start and period.due_date < end and (not days or days[-1] != period.due_date):
            days.append(period.due_date)
        day = period.end + timedelta(days=1)
    return days


def schedule_meetings(
    *,
    months: int,
    chama: Chama | None = None,
    today: date | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> list[tuple[Chama, list[Meeting]]]:
    """Create the regular meetings of the coming months from each active chama's policy, once:
    a day that already has a regular meeting is skipped. Returns [(chama, meetings created)].
    `progress(done, total)` is told after each chama."""
    chamas = Chama.objects.filter(status=Chama.Status.ACTIVE).select_related("policy")
    if chama is not None:
        chamas = chamas.filter(pk=chama.pk)
    report = []
    for each in told(chamas.order_by("id"), progress):
        zone = _zone(each)
        start = today or each.today()
        policy = each.policy
        taken = {
            m.starts_at.astimezone(zone).date()
            for m in Meeting.objects.filter(
                chama=each, kind=Meeting.Kind.REGULAR, starts_at__date__gte=start - timedelta(days=1)
            )
        }
        new = []
        for day in regular_meeting_days(policy, start, months):
            if day in taken:
                continue
            starts = datetime.combine(day, policy.meeting_time, tzinfo=zone)
            new.append(
                Meeting(
                    chama=each,
                    title=f"Regular meeting {day:%d %b %Y}",
                    kind=Meeting.Kind.REGULAR,
                    starts_at=starts,
                    ends_at=starts + timedelta(minutes=policy.meeting_duration_minutes),
                )
            )
        if not dry_run:
            Meeting.objects.bulk_create(new)
        report.append((each, new))
    return report


def quorum_required(chama: Chama) -> int:
    """How many members make a quorum: the policy's share of the active members, rounded up."""
    active = register.active_members(chama=chama).count()
    return math.ceil(active * chama.policy.quorum_percentage / 100)


def quorum_of(present: int, required: int) -> tuple[int, int, bool]:
    return present, required, present >= required and present > 0


def quorum(meeting: Meeting) -> tuple[int, int, bool]:
    """(present, required, met): members present or late against the policy's share of active members."""
    return quorum_of(meeting.attendance.filter(status__in=Attendance.ATTENDED).count(), quorum_required(meeting.chama))


# --- the register, RSVPs, fines ----------------------------------------------------------------


def rsvp(*, meeting: Meeting, membership: Membership, response: str, reason: str = "") -> Rsvp:
    if membership.chama_id != meeting.chama_id or membership.status != MembershipStatus.ACTIVE:
        raise ValidationError("Only active members of the chama can answer.")
    if (
        meeting.status not in (Meeting.Status.SCHEDULED, Meeting.Status.POSTPONED)
        or meeting.starts_at <= timezone.now()
    ):
        raise ValidationError("This meeting is no longer taking answers.")
    if response == Rsvp.Response.APOLOGY and not reason.strip():
        raise ValidationError({"reason": "Give a reason with your apology."})
    answer, _ = Rsvp.objects.update_or_create(
        meeting=meeting,
        membership=membership,
        defaults={"chama": meeting.chama, "response": response, "reason": reason},
    )
    return answer


def register_entries(*, chama: Chama, rows: Iterable[Mapping[str, Any]]) -> dict:
    """The register's rows (dicts with a `membership` id) as `register_save` takes them, keyed by
    member. A member on two rows is refused, naming them: keeping either row would silently drop
    the other."""
    entries, seen = {}, {}
    for index, row in enumerate(rows):
        entry = dict(row)
        membership_id = entry.pop("membership")
        if membership_id in seen:
            member = Membership.objects.filter(chama=chama, pk=membership_id).select_related("user", "chama").first()
            raise ValidationError(
                {
                    "entries": (
                        f"{member or membership_id} is listed twice (rows {seen[membership_id] + 1} and {index + 1}); "
                        "keep one row per member."
                    )
                }
            )
        seen[membership_id] = index
        entries[membership_id] = entry
    return entries


def register_save(*, meeting: Meeting, by: User, entries: Mapping[int, Mapping[str, Any]], held: bool = True) -> list:
    """Fill the whole register at once: `entries` maps a membership id to a dict of status and,
    optionally, arrived_at, left_at and note. With `held`, the meeting is marked held and the
    policy's absence and lateness fines are charged (once per member per meeting)."""
    chama = meeting.chama
    authority.require(by, "run_meeting", chama=chama)
    members = {
        m.pk: m for m in Membership.objects.filter(chama=chama, pk__in=list(entries)).select_related("user", "chama")
    }
    unknown = set(entries) - set(members)
    if unknown:
        raise ValidationError({"entries": f"Not members of {chama}: {sorted(unknown)}."})
    with transaction.atomic():
        # The meeting first, then the members in id order (each saved row re-derives its member's
        # percentage under that member's lock): two registers saved at once queue, never deadlock.
        meeting = lock_row(Meeting.objects.select_related("chama__policy"), pk=meeting.pk)
        rows = []
        for membership_id, entry in sorted(entries.items()):
            if entry.get("status") not in Attendance.Status.values:
                raise ValidationError(
                    {
                        "entries": f"Give a status (present, late, absent, excused, apology) for {members[membership_id]}."
                    }
                )
            row, _ = Attendance.objects.update_or_create(
                meeting=meeting,
                membership_id=membership_id,
                defaults={
                    "chama": chama,
                    "status": entry["status"],
                    "arrived_at": entry.get("arrived_at"),
                    "left_at": entry.get("left_at"),
                    "note": entry.get("note", ""),
                },
            )
            rows.append(row)
        if held and meeting.status != Meeting.Status.HELD:
            meeting_set_status(meeting=meeting, status=Meeting.Status.HELD, by=by)
        if held:
            charge_meeting_fines(meeting=meeting, by=by)
    return rows


def meeting_collections(
    *, meeting: Meeting, rows: Sequence[Mapping[str, Any]], method: str, by: User, client_key: str = ""
) -> collections.SheetResult:
    """The meeting's collection sheet (see `collection_sheet_post`), dated the meeting's day."""
    if meeting.status in (Meeting.Status.CANCELLED, Meeting.Status.POSTPONED):
        raise collections.SheetRefused(
            general={
                "meeting": [f"{meeting} was {meeting.get_status_display().lower()}: nothing can be collected at it."]
            }
        )
    return collections.collection_sheet_post(
        chama=meeting.chama, day=meeting_day(meeting), rows=rows, method=method, by=by, client_key=client_key
    )


def _meeting_fines(meeting: Meeting) -> dict[str, tuple[Decimal, str]]:
    """{status: (amount, wording)} of the fines the policy sets for this meeting."""
    policy = meeting.chama.policy
    return {
        Attendance.Status.ABSENT: (policy.absence_fine_amount, "Absent from"),
        Attendance.Status.LATE: (policy.lateness_fine_amount, "Late to"),
    }


def _fine_key(meeting: Meeting, membership_id: int | str) -> str:
    return f"meeting-{meeting.pk}-fine-{membership_id}"


def _fines_charged(meeting: Meeting) -> QuerySet[Due]:
    """The fines already charged at this meeting (one per member at most)."""
    return Due.objects.filter(
        chama_id=meeting.chama_id,
        kind=Due.Kind.FINE,
        charge_journal__idempotency_key__startswith=_fine_key(meeting, ""),
    )


def charge_meeting_fines(*, meeting: Meeting, by: User) -> list[Due]:
    """Absence and lateness fines per the policy, through the money core, once per member per
    meeting: a member fined at this meeting is never fined at it again, whatever the register says
    later (a fine that no longer fits is waived, see fines_to_review)."""
    fines = _meeting_fines(meeting)
    fined = set(_fines_charged(meeting).values_list("membership_id", flat=True))
    charged = []
    rows = meeting.attendance.filter(status__in=list(fines)).exclude(membership_id__in=fined)
    for row in rows.select_related("membership__user", "membership__chama"):
        amount, wording = fines[row.status]
        if amount > 0:
            charged.append(
                fine_charge(
                    membership=row.membership,
                    amount=amount,
                    by=by,
                    value_date=meeting_day(meeting),
                    reason=f"{wording} {meeting}",
                    idempotency_key=_fine_key(meeting, row.membership_id),
                )
            )
    return charged


def fines_to_review(meeting: Meeting) -> list[Due]:
    """The unwaived fines of this meeting that the register no longer bears out (a member marked
    absent, fined, then corrected to present or late): the treasurer waives them."""
    fines = _meeting_fines(meeting)
    statuses = dict(meeting.attendance.values_list("membership_id", "status"))
    unwaived = _fines_charged(meeting).exclude(status=Due.Status.WAIVED).select_related("membership__user")
    return [
        due
        for due in unwaived.order_by("membership__member_number")
        if fines.get(statuses.get(due.membership_id), (0,))[0] != due.amount
    ]


def send_meeting_reminders(*, within_hours: int = 48, now: datetime | None = None) -> list[Meeting]:
    """Notify every active member of each meeting starting within the window, once per meeting."""
    now = now or timezone.now()
    due = Meeting.objects.filter(
        status=Meeting.Status.SCHEDULED,
        reminder_sent_date__isnull=True,
        starts_at__gt=now,
        starts_at__lte=now + timedelta(hours=within_hours),
    ).select_related("chama")
    sent = []
    for meeting in due:
        with transaction.atomic():
            locked = lock_first(Meeting.objects.filter(pk=meeting.pk, reminder_sent_date__isnull=True))
            if locked is None:
                continue  # another worker sent it
            when = meeting.starts_at.astimezone(_zone(meeting.chama))
            place = meeting.location or meeting.link or "the usual place"
            for membership in register.active_members(chama=meeting.chama).select_related("user"):
                notify(
                    membership.user,
                    kind=Notification.Kind.MEETING_REMINDER,
                    dedupe_key=f"meeting-reminder-{meeting.pk}",
                    title=f"{meeting.chama}: meeting on {when:%a %d %b, %H:%M}",
                    body=f"{meeting.title}, {when:%A %d %B %Y at %H:%M}, {place}. Reply in the app if you cannot come.",
                )
            locked.reminder_sent_date = now
            locked.save(update_fields=["reminder_sent_date", "updated_date"])
            sent.append(meeting)
    return sent


# --- proposals and votes -----------------------------------------------------------------------


def proposal_create(
    *,
    chama: Chama,
    by: User,
    title: str,
    opens_at: datetime,
    closes_at: datetime,
    description: str = "",
    kind: str = Proposal.Kind.GENERAL,
) -> Proposal:
    authority.require(by, "run_meeting", chama=chama)
    policy = chama.policy
    with transaction.atomic():
        proposal = Proposal(
            chama=chama,
            title=title,
            description=description,
            kind=kind,
            opens_at=opens_at,
            closes_at=closes_at,
            pass_threshold=policy.vote_pass_threshold,
            quorum_percentage=policy.quorum_percentage,
            created_by=by,
        )
        proposal.full_clean()
        proposal.save()
        if opens_at <= timezone.now():
            proposal = proposal_open(proposal=proposal)
    return proposal


def proposal_open(*, proposal: Proposal) -> Proposal:
    """Open the vote: the members active at this moment are the ones who may vote."""
    with transaction.atomic():
        proposal = lock_row(Proposal.objects.all(), pk=proposal.pk)
        if proposal.status != Proposal.Status.SCHEDULED:
            return proposal
        # One read of the members: the count is the rows written, even if someone joins meanwhile.
        voters = EligibleVoter.objects.bulk_create(
            [
                EligibleVoter(chama_id=proposal.chama_id, proposal=proposal, membership_id=pk)
                for pk in register.active_members(chama=proposal.chama).values_list("pk", flat=True)
            ]
        )
        proposal.eligible_count = len(voters)
        proposal.status = Proposal.Status.OPEN
        proposal.save(update_fields=["eligible_count", "status", "updated_date"])
    return proposal


def vote_cast(*, proposal: Proposal, membership: Membership, choice: str) -> Vote:
    """One vote per eligible member; a second vote replaces the first until voting closes."""
    if choice not in Vote.Choice.values:
        raise ValidationError({"choice": "Vote yes, no or abstain."})
    with transaction.atomic():
        proposal = lock_row(Proposal.objects.all(), pk=proposal.pk)
        if proposal.status != Proposal.Status.OPEN or timezone.now() >= proposal.closes_at:
            raise ValidationError(
                "Voting on this proposal is closed."
                if proposal.status != Proposal.Status.SCHEDULED
                else "Voting on this proposal has not opened yet."
            )
        if not proposal.eligible_voters.filter(membership=membership).exists():
            raise ValidationError("Only members who were active when the vote opened may vote.")
        vote, _ = Vote.objects.update_or_create(
            proposal=proposal, membership=membership, defaults={"chama_id": proposal.chama_id, "choice": choice}
        )
    return vote


def tally(proposal: Proposal) -> tuple[int, int, int]:
    counts = proposal.votes.aggregate(
        yes=Count("pk", filter=Q(choice=Vote.Choice.YES)),
        no=Count("pk", filter=Q(choice=Vote.Choice.NO)),
        abstain=Count("pk", filter=Q(choice=Vote.Choice.ABSTAIN)),
    )
    return counts["yes"], counts["no"], counts["abstain"]


def decide(yes: int, no: int, abstain: int, eligible: int, quorum_percentage: Decimal | int, threshold: str) -> str:
    """The result: quorum counts every vote cast (abstentions too) against the eligible voters;
    a simple majority needs more yes than no, two thirds needs yes ≥ 2/3 of yes and no."""
    if eligible == 0 or Decimal(yes + no + abstain) * 100 < Decimal(quorum_percentage) * eligible:
        return Proposal.Result.NO_QUORUM
    if threshold == Policy.PassThreshold.TWO_THIRDS:
        passed = yes > 0 and 3 * yes >= 2 * (yes + no)
    else:
        passed = yes > no
    return Proposal.Result.PASSED if passed else Proposal.Result.REJECTED


def proposal_close(*, proposal: Proposal) -> Proposal:
    with transaction.atomic():
        proposal = lock_row(Proposal.objects.all(), pk=proposal.pk)
        if proposal.status != Proposal.Status.OPEN:
            return proposal
        yes, no, abstain = tally(proposal)
        proposal.yes_count, proposal.no_count, proposal.abstain_count = yes, no, abstain
        proposal.result = decide(
            yes, no, abstain, proposal.eligible_count, proposal.quorum_percentage, proposal.pass_threshold
        )
        proposal.status = Proposal.Status.CLOSED
        proposal.save()
    return proposal


def close_proposals(*, now: datetime | None = None) -> tuple[list[Proposal], list[Proposal]]:
    """Open the proposals whose voting has started and close those whose voting has ended."""
    now = now or timezone.now()
    opened = [
        proposal_open(proposal=p) for p in Proposal.objects.filter(status=Proposal.Status.SCHEDULED, opens_at__lte=now)
    ]
    closed = [
        proposal_close(proposal=p) for p in Proposal.objects.filter(status=Proposal.Status.OPEN, closes_at__lte=now)
    ]
    return opened, closed
