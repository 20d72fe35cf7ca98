"""The periodic jobs and their schedule, in one place.

`JOBS` names every job the schedule may run (each app registers its own, `register`);
`settings.SCHEDULE` says when (`{"job": {"minute": 15,
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

from django.apps import apps
from django.conf import settings
from django.utils import timezone

from chama.locking import advisory_lock

logger = logging.getLogger("chama.jobs")

CRON_FIELDS = ("minute", "hour", "day", "month", "weekday")
CRON_RANGES = {"minute": (0, 59), "hour": (0, 23), "day": (1, 31), "month": (1, 12), "weekday": (0, 6)}


@dataclass(frozen=True)
class Job:
    name: str
    work: Callable  # work(chama) -> a line saying what was done; chama is None for a job not per chama
    per_chama: bool = True


# Filled by the apps from their AppConfig.ready() (`register`): the core imports no app above it.
JOBS: dict[str, Job] = {}


def register(name: str, work: Callable, *, per_chama: bool = True) -> None:
    """Add a periodic job: `work(chama)` returns a line saying what it did (chama is None for a job
    that is not per chama). Its schedule is `settings.SCHEDULE[name]`."""
    JOBS[name] = Job(name, work, per_chama)


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
    job = job_or_error(name)
    report = JobReport(name)
    if not job.per_chama:
        chamas = [None]
    else:
        chamas = apps.get_model("groups", "Chama").objects.order_by("pk")  # the tenant model, by name
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
