"""The schedule (`chama.jobs`, settings.SCHEDULE): which jobs are due when, the crontab it prints,
a bad schedule refused, and `run_job`/`run_scheduler --once` doing each job's work once."""

from datetime import date, datetime
from decimal import Decimal as D
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from chama import jobs
from finance.models import Due
from finance.services import dues as dues_service
from tests.factories import ChamaFactory, joined

NAIROBI = ZoneInfo("Africa/Nairobi")


@pytest.fixture
def schedule(settings):
    settings.SCHEDULE = {
        "generate_dues": {"minute": 5, "hour": 0},
        "send_meeting_reminders": {"minute": 0},
        "close_proposals": {"minute": [0, 15, 30, 45]},
        "schedule_meetings": {"minute": 50, "hour": 0, "weekday": 1},
    }
    return settings.SCHEDULE


def at(*args):
    return datetime(*args, tzinfo=NAIROBI)


def test_the_jobs_due_in_a_minute(schedule):
    assert jobs.due_jobs(at(2026, 11, 30, 0, 0)) == ["send_meeting_reminders", "close_proposals"]
    assert jobs.due_jobs(at(2026, 11, 30, 0, 5)) == ["generate_dues"]
    assert jobs.due_jobs(at(2026, 11, 30, 0, 50)) == ["schedule_meetings"]  # a Monday
    assert jobs.due_jobs(at(2026, 12, 1, 0, 50)) == []  # a Tuesday
    assert jobs.due_jobs(at(2026, 12, 1, 13, 15)) == ["close_proposals"]


def test_the_crontab_says_the_same(schedule):
    out = StringIO()
    call_command("run_scheduler", "--crontab", "--manage", "/srv/chama/manage.py", stdout=out)

    assert out.getvalue().splitlines() == [
        "CRON_TZ=Africa/Nairobi",
        "5 0 * * * /srv/chama/manage.py run_job generate_dues",
        "0 * * * * /srv/chama/manage.py run_job send_meeting_reminders",
        "0,15,30,45 * * * * /srv/chama/manage.py run_job close_proposals",
        "50 0 * * 1 /srv/chama/manage.py run_job schedule_meetings",
    ]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"nightly_report": {"hour": 1}}, "No job 'nightly_report'"),
        ({"generate_dues": {"hour": 24}}, "hour 24: give 0 to 23"),
        ({"generate_dues": {"minutes": 5}}, "unknown field(s) ['minutes']"),
    ],
)
def test_a_bad_schedule_is_refused_with_its_reason(settings, entry, message):
    settings.SCHEDULE = entry
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        call_command("run_scheduler", "--once", stdout=StringIO())


def test_an_unknown_job_is_a_command_error(db):
    with pytest.raises(CommandError, match="No job 'payroll': one of generate_dues, apply_penalties"):
        call_command("run_job", "payroll")


@pytest.fixture
def monthly(db, clock):
    """A monthly chama with three members, KES 1,000 due on the 5th, planned from the start of this month."""
    chama = ChamaFactory(
        policy={"contribution_amount": D("1000"), "contribution_frequency": "monthly", "contribution_due_day": 5}
    )
    for _ in range(3):
        joined(chama)
    dues_service.contribution_plan_from_policy(chama, start_date=date.today().replace(day=1))
    return chama


def test_run_job_does_the_work_once_per_chama(monthly):
    other = ChamaFactory()
    out = StringIO()

    call_command("run_job", "generate_dues", stdout=out)
    call_command("run_job", "generate_dues", "--chama", str(monthly.pk), stdout=out)

    assert Due.objects.filter(chama=monthly).count() == 3
    lines = out.getvalue().splitlines()
    assert f"generate_dues, chama {monthly.pk}: 3 due(s) raised" in lines
    assert f"generate_dues, chama {other.pk}: 0 due(s) raised" in lines
    assert lines[-1] == "generate_dues: 1 run(s), 0 skipped (held by another run)."
    assert lines[-2] == f"generate_dues, chama {monthly.pk}: 0 due(s) raised"


def test_the_scheduler_enqueues_what_is_due_and_the_worker_runs_it(monthly, settings, monkeypatch):
    settings.SCHEDULE = {"generate_dues": {}}  # every minute
    out = StringIO()

    call_command("run_scheduler", "--once", stdout=out)

    assert out.getvalue().strip().endswith("enqueued generate_dues")
    assert Due.objects.filter(chama=monthly).count() == 3


def test_jobs_that_are_not_per_chama_run_once(db):
    report = jobs.run_job("close_proposals")

    assert report.lines() == ["close_proposals, all chamas: 0 opened, 0 closed"]


def test_a_chama_whose_run_fails_is_retried_then_dead_lettered_and_the_others_still_run(db, settings, monkeypatch):
    from chama.models import DeadLetter
    from chama.tasks import run_scheduled_job

    settings.TASK_RETRY_DELAYS = [60]
    good, bad = ChamaFactory(), ChamaFactory()
    ran = []

    def work(chama):
        ran.append(chama.pk)
        if chama == bad:
            raise RuntimeError("the policy is broken")
        return "done"

    monkeypatch.setitem(jobs.JOBS, "generate_dues", jobs.Job("generate_dues", work))

    result = run_scheduled_job.enqueue("generate_dues")

    assert result.return_value == [
        f"generate_dues, chama {good.pk}: done",
        f"generate_dues, chama {bad.pk}: failed: RuntimeError: the policy is broken",
    ]
    assert ran == [good.pk, bad.pk, bad.pk]  # the retry ran the failing chama only
    letter = DeadLetter.objects.get()
    assert (letter.task_path, letter.args, letter.kwargs, letter.attempts) == (
        "chama.tasks.run_scheduled_job",
        ["generate_dues"],
        {"chama_id": bad.pk},
        2,
    )
    with pytest.raises(CommandError, match="generate_dues: 1 run\\(s\\) failed, 0 done."):
        call_command("run_job", "generate_dues", "--chama", str(bad.pk), stdout=StringIO())
