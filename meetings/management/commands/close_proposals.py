from django.core.management.base import BaseCommand

from meetings.services import close_proposals


class Command(BaseCommand):
    help = "Open proposals whose voting has started and close those whose voting has ended, with their result."

    def handle(self, *args, **options):
        opened, closed = close_proposals()
        for proposal in opened:
            self.stdout.write(f"{proposal.chama}: voting opened on {proposal} ({proposal.eligible_count} eligible)")
        for proposal in closed:
            self.stdout.write(
                f"{proposal.chama}: {proposal} — {proposal.get_result_display()} "
                f"(yes {proposal.yes_count}, no {proposal.no_count}, abstain {proposal.abstain_count})"
            )
        self.stdout.write(self.style.SUCCESS(f"{len(opened)} opened, {len(closed)} closed."))
