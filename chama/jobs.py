"""The periodic jobs and their schedule, in one place.

`JOBS` names every job the schedule may run; `settings.SCHEDULE` says when (`{"job": {"minute": 15,
"hour": 0}}`: cron's fields, each a number, a list of numbers or "*", in the TIME_ZONE). Each job is
idempotent (a second run finds nothing left to do) and runs one chama at a time under the advisory
lock of (job, chama) (`chama.locking.advisory_lock`), so two runs at once do the work once: the
second skips the chama the first holds and says so. Jobs that are not per chama take the job's own
lock.

`manage.py run_scheduler` enqueues each job when it is due (the worker runs it); `--crontab` prints
the same schedule as crontab lines for hosts that prefer cron; `run_job NAME` runs one now.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from chama.locking import advisory_lock

logger = logging.getLogger("chama.jobs")

CRON_FIELDS = ("minute", "hour", "day", "month", "weekday")
CRON_RANGES = {"minute": (0, 59), "hour": (0, 23), "day": (1, 31), "month": (1, 12), "weekday": (0, 6)}


def _generate_dues(chama):
    from finance.services.dues import generate_dues

    report = generate_dues(period=timezone.localdate(), chama=chama)
    return f"{sum(row[3] for row in report)} due(s) raised"


def _apply_penalties(chama):
    from finance.services.dues import apply_penalties

    report = apply_penalties(chama=chama)
    return f"{sum(len(fines) for _, fines in report)} fine(s) charged"


def _update_loan_arrears(chama):
    from finance.services.loans import update_arrears

    return f"{len(update_arrears(chama=chama))} outstanding loan(s) classified"


def _schedule_meetings(chama):
    from meetings.services import schedule_meetings

    return f"{sum(len(made) for _, made in schedule_meetings(months=3, chama=chama))} meeting(s) created"


def _send_meeting_reminders(chama):
    from meetings.services import send_meeting_reminders

    return f"{len(send_meeting_reminders(within_hours=48))} meeting(s) reminded"


def _close_proposals(chama):
    from meetings.services import close_proposals

    opened, closed = close_proposals()
    return f"{len(opened)} opened, {len(closed)} closed"


@dataclass(frozen=True)
class Job:
    name: str
    work: Callable  # work(chama) -> a line saying what was done; chama is None for a job not per chama
    per_chama: bool = True


JOBS = {
    job.name: job
    for job in [
        Job("generate_dues", _generate_dues),
        Job("apply_penalties", _apply_penalties),
        Job("update_loan_arrears", _update_loan_arrears),
        Job("schedule_meetings", _schedule_meetings),
        Job("send_meeting_reminders", _send_meeting_reminders, per_chama=False),
        Job("close_proposals", _close_proposals, per_chama=False),
    ]
}


@dataclass
class JobReport:
    name: str
    done: list[tuple[int | None, str]] = field(default_factory=list)  # (chama id, what was done)
    skipped: list[int | None] = field(default_factory=list)  # chama ids another run held
    failed: list[tuple[int | None, str]] = field(default_factory=list)  # (chama id, the error)

    def lines(self) -> list[str]:
        where = lambda chama_id: f"chama {chama_id}" if chama_id else "all chamas"  # noqa: E731
        lines = [f"{self.name}, {where(chama_id)}: {what}" for chama_id, what in self.done]
        lines += [f"{self.name}, {where(chama_id)}: skipped, another run holds its lock" for chama_id in self.skipped]
        lines += [f"{self.name}, {where(chama_id)}: failed: {error}" for chama_id, error in self.failed]
        return lines


def job_or_error(name: str) -> Job:
    if name not in JOBS:
        raise KeyError(f"No job {name!r}: one of {', '.join(JOBS)}.")
    return JOBS[name]


def run_job(name: str, *, chama_id: int | None = None) -> JobReport:
    """Run job `name` for one chama (`chama_id`) or every chama, each under its advisory lock; a
    chama whose lock another run holds is skipped and reported, one whose run fails is reported
    with its error and does not stop the others."""
    from groups.models import Chama

    job = job_or_error(name)
    report = JobReport(name)
    if not job.per_chama:
        chamas = [None]
    else:
        chamas = Chama.objects.order_by("pk")
        if chama_id is not None:
            chamas = chamas.filter(pk=chama_id)
    for chama in chamas:
        key = chama.pk if chama is not None else None
        with advisory_lock(name, chama_id=key) as acquired:
            if not acquired:
                report.skipped.append(key)
                continue
            try:
                report.done.append((key, job.work(chama)))
            except Exception as exc:  # one chama's failure (bad data, a lost connection) is reported, not fatal
                logger.exception("%s failed for chama %s", name, key)
                report.failed.append((key, f"{type(exc).__name__}: {exc}"))
    return report


def _field_values(spec, field_name):
    low, high = CRON_RANGES[field_name]
    if spec in (None, "*"):
        return None  # every value
    values = spec if isinstance(spec, (list, tuple)) else [spec]
    for value in values:
        if not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{field_name} {value!r}: give {low} to {high}, a list of them, or '*'.")
    return sorted(values)


def schedule() -> dict[str, dict[str, list[int] | None]]:
    """settings.SCHEDULE checked: {job: {cron field: values or None for every value}}."""
    checked = {}
    for name, when in settings.SCHEDULE.items():
        job_or_error(name)
        unknown = set(when) - set(CRON_FIELDS)
        if unknown:
            raise ValueError(f"SCHEDULE[{name!r}]: unknown field(s) {sorted(unknown)}; use {', '.join(CRON_FIELDS)}.")
        checked[name] = {field_name: _field_values(when.get(field_name), field_name) for field_name in CRON_FIELDS}
    return checked


def due_jobs(at: datetime) -> list[str]:
    """The jobs due in the minute of `at` (in the current time zone)."""
    local = timezone.localtime(at)
    now = {
        "minute": local.minute,
        "hour": local.hour,
        "day": local.day,
        "month": local.month,
        "weekday": (local.weekday() + 1) % 7,  # cron's: Sunday is 0
    }
    return [
        name
        for name, when in schedule().items()
        if all(values is None or now[field_name] in values for field_name, values in when.items())
    ]


def crontab_lines(*, manage: str) -> list[str]:
    """The schedule as crontab lines running `manage` run_job NAME (cron in the TIME_ZONE: CRON_TZ)."""
    lines = [f"CRON_TZ={settings.TIME_ZONE}"]
    for name, when in schedule().items():
        fields = " ".join(
            "*" if values is None else ",".join(str(value) for value in values) for values in when.values()
        )
        lines.append(f"{fields} {manage} run_job {name}")
    return lines
