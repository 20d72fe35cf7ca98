from django.core.management.base import BaseCommand, CommandError

from finance.management.commands._options import chama_or_error
from meetings.services import schedule_meetings


class Command(BaseCommand):
    help = "Create each active chama's regular meetings for the coming months from its policy (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--months", type=int, default=3, help="How many months ahead (default 3).")
        parser.add_argument("--chama", type=int, help="Only this chama (id).")
        parser.add_argument("--dry-run", action="store_true", help="Show the meetings; create nothing.")

    def handle(self, *args, months, chama=None, dry_run=False, **options):
        if not 1 <= months <= 24:
            raise CommandError("--months: give 1 to 24.")
        report = schedule_meetings(months=months, chama=chama_or_error(chama), dry_run=dry_run)
        verb = "would create" if dry_run else "created"
        for each, meetings in report:
            self.stdout.write(f"{each}: {verb} {len(meetings)} meeting(s)"
                              + (f", {meetings[0].starts_at:%d %b} to {meetings[-1].starts_at:%d %b %Y}" if meetings else ""))
        self.stdout.write(self.style.SUCCESS(f"{'Dry run: ' if dry_run else ''}{sum(len(m) for _, m in report)} meeting(s) {verb}."))
