import time
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from chama import jobs
from chama.tasks import run_scheduled_job


class Command(BaseCommand):
    help = (
        "Enqueue each job of settings.SCHEDULE when it is due (the worker runs it); --crontab prints the "
        "schedule as crontab lines instead, --once enqueues what is due this minute and stops."
    )

    def add_arguments(self, parser):
        parser.add_argument("--crontab", action="store_true", help="Print the schedule as crontab lines and stop.")
        parser.add_argument(
            "--manage",
            default="cd /srv/chama && .venv/bin/python manage.py",
            help="The command the crontab lines run (default: %(default)s).",
        )
        parser.add_argument("--once", action="store_true", help="Enqueue the jobs due this minute, then stop.")

    def handle(self, *args, crontab=False, manage="", once=False, **options):
        try:
            if crontab:
                for line in jobs.crontab_lines(manage=manage):
                    self.stdout.write(line)
                return
            jobs.schedule()
        except (KeyError, ValueError) as exc:
            raise CommandError(f"SCHEDULE: {exc.args[0]}") from None
        if once:
            self.enqueue_due(timezone.now())
            return
        self.stdout.write(f"Scheduler started: {', '.join(jobs.schedule())}. Stop it with Ctrl+C.")
        try:
            while True:
                now = timezone.now()
                self.enqueue_due(now)
                next_minute = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
                time.sleep(max(0.0, (next_minute - timezone.now()).total_seconds()))
        except KeyboardInterrupt:
            self.stdout.write("Scheduler stopped.")

    def enqueue_due(self, now):
        for name in jobs.due_jobs(now):
            run_scheduled_job.enqueue(name)
            self.stdout.write(f"{timezone.localtime(now):%Y-%m-%d %H:%M}: enqueued {name}")
