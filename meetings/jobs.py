"""The meetings' periodic jobs, registered with the schedule (`chama.jobs`) from MeetingsConfig.ready()."""

from __future__ import annotations

from chama import jobs
from groups.models import Chama
from meetings.services import close_proposals, schedule_meetings, send_meeting_reminders


def plan_meetings(chama: Chama) -> str:
    return f"{sum(len(made) for _, made in schedule_meetings(months=3, chama=chama))} meeting(s) created"


def remind_members(chama: None) -> str:
    return f"{len(send_meeting_reminders(within_hours=48))} meeting(s) reminded"


def open_and_close_votes(chama: None) -> str:
    opened, closed = close_proposals()
    return f"{len(opened)} opened, {len(closed)} closed"


def register() -> None:
    jobs.register("schedule_meetings", plan_meetings)
    jobs.register("send_meeting_reminders", remind_members, per_chama=False)
    jobs.register("close_proposals", open_and_close_votes, per_chama=False)
