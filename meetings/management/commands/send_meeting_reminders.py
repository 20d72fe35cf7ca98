from django.core.management.base import BaseCommand, CommandError

from meetings.services import send_meeting_reminders


class Command(BaseCommand):
    help = "Remind every active member of meetings starting soon, once per meeting (run it hourly)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--hours", type=int, default=48, help="Remind of meetings starting within this many hours (default 48)."
        )

    def handle(self, *args, hours, **options):
        if hours < 1:
            raise CommandError("--hours: give at least 1.")
        sent = send_meeting_reminders(within_hours=hours)
        for meeting in sent:
            self.stdout.write(f"{meeting.chama}: reminded the members of {meeting}")
        self.stdout.write(self.style.SUCCESS(f"{len(sent)} meeting(s) reminded."))
