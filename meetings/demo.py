"""The demo chamas' meetings: past ones held with their register and minutes, a decided proposal,
an open one, and the coming regular meetings."""

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from finance.demo import HISTORY_START
from meetings import services
from meetings.models import Meeting, Resolution

MINUTES = (
    "Opened with prayer at {time}. Contributions and shares were collected; the treasurer read the balances. "
    "Members discussed arrears and agreed to follow up with those who were absent. Closed at {end}."
)


def add_meetings(chama, today):
    """Post the chama's meeting history once; a chama that already has meetings is left as it is."""
    if Meeting.objects.filter(chama=chama).exists():
        return False
    rng = random.Random(f"meetings-{chama.registration_number}")
    members = list(chama.memberships.select_related("user").order_by("member_number"))
    secretary = next(m.user for m in members if m.role == "secretary")
    zone = ZoneInfo(chama.timezone)
    policy = chama.policy
    for day in services.regular_meeting_days(policy, HISTORY_START, 6):
        if day >= today:
            break
        starts = datetime.combine(day, policy.meeting_time, tzinfo=zone)
        meeting = services.meeting_create(
            chama=chama,
            by=secretary,
            title=f"Regular meeting {day:%d %b %Y}",
            starts_at=starts,
            ends_at=starts + timedelta(minutes=policy.meeting_duration_minutes),
            location="Community hall",
            agenda=["Opening and prayer", "Contributions and shares", "Loans", "Any other business"],
        )
        entries = {}
        for membership in members:
            roll = rng.random()
            status = "present" if roll < 0.8 else "late" if roll < 0.88 else "apology" if roll < 0.95 else "absent"
            entries[membership.pk] = {
                "status": status,
                "arrived_at": (starts + timedelta(minutes=25)).time() if status == "late" else None,
            }
        services.register_save(meeting=meeting, by=secretary, entries=entries)
        meeting.minutes = MINUTES.format(time=f"{starts:%H:%M}", end=f"{starts + timedelta(hours=2):%H:%M}")
        meeting.minutes_recorded_by = secretary
        meeting.save(update_fields=["minutes", "minutes_recorded_by", "updated_date"])
    last = Meeting.objects.filter(chama=chama).order_by("-starts_at").first()
    if last is not None:
        Resolution.objects.create(
            chama=chama, meeting=last, text="Members who miss two meetings in a row are called by the secretary."
        )
    now = timezone.now()
    decided = services.proposal_create(
        chama=chama,
        by=secretary,
        title="Buy a tent and 30 chairs for meetings (KES 45,000)",
        kind="expense",
        opens_at=now - timedelta(days=20),
        closes_at=now + timedelta(hours=1),
        description="Hiring the hall costs KES 1,500 a meeting; a tent pays for itself within a year.",
    )
    for n, membership in enumerate(members):
        if n < len(members) - 2:
            services.vote_cast(proposal=decided, membership=membership, choice="yes" if n % 5 else "no")
    services.proposal_close(proposal=decided)  # everyone who meant to vote has: the secretary closed it early
    services.proposal_create(
        chama=chama,
        by=secretary,
        title="Raise the monthly contribution by 10% from January",
        kind="general",
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=6),
    )
    services.schedule_meetings(months=2, chama=chama, today=today)
    return True
