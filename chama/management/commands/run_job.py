from django.core.management.base import BaseCommand, CommandError

from chama import jobs


class Command(BaseCommand):
    help = (
        "Run one scheduled job now, one chama at a time under its advisory lock: a chama another run "
        "holds is skipped and said so. Jobs: " + ", ".join(jobs.JOBS) + "."
    )

    def add_arguments(self, parser):
        parser.add_argument("job", help="The job's name.")
        parser.add_argument("--chama", type=int, help="Only this chama (id); jobs not per chama ignore it.")

    def handle(self, *args, job, chama=None, **options):
        try:
            report = jobs.run_job(job, chama_id=chama)
        except KeyError as exc:
            raise CommandError(exc.args[0]) from None
        for line in report.lines():
            self.stdout.write(line)
        if report.failed:
            raise CommandError(f"{job}: {len(report.failed)} run(s) failed, {len(report.done)} done.")
        self.stdout.write(
            self.style.SUCCESS(
                f"{job}: {len(report.done)} run(s), {len(report.skipped)} skipped (held by another run)."
            )
        )
