from django.core.management.base import CommandError

from groups.commands import ChamaCommand
from meetings.services import schedule_meetings


class Command(ChamaCommand):
    help = "Create each active chama's regular meetings for the coming months from its policy (idempotent)."
    dry_run_help = "Show the meetings; create nothing."

    def add_options(self, parser):
        parser.add_argument("--months", type=int, default=3, help="How many months ahead (default 3).")

    def work(self, *, chama, dry_run, months, **options):
        if not 1 <= months <= 24:
            raise CommandError("--months: give 1 to 24.")
        return schedule_meetings(months=months, chama=chama, dry_run=dry_run, progress=self.progress)

    def report_lines(self, report):
        for each, meetings in report:
            yield (
                f"{each}: {self.verb('created', 'would create')} {len(meetings)} meeting(s)"
                + (f", {meetings[0].starts_at:%d %b} to {meetings[-1].starts_at:%d %b %Y}" if meetings else "")
            )

    def summary(self, report):
        return f"{sum(len(m) for _, m in report)} meeting(s) {self.verb('created', 'would create')}."
