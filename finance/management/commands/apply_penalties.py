from django.core.management.base import BaseCommand

from finance.management.commands._options import chama_or_error, parse_day, run_or_refuse
from finance.services.dues import apply_penalties


class Command(BaseCommand):
    help = "Mark late dues overdue and charge late fines per each chama's policy, never twice for the same due and period."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="The day to judge lateness on and date the fines (default: each chama's today), "
                                             "e.g. 2026-11-22; never a day still to come.")
        parser.add_argument("--chama", type=int, help="Only this chama (id).")
        parser.add_argument("--dry-run", action="store_true", help="Show the fines; write nothing.")

    def handle(self, *args, as_of=None, chama=None, dry_run=False, verbosity=1, **options):
        day = parse_day(as_of, "--as-of") if as_of else None
        report = run_or_refuse(apply_penalties, as_of=day, chama=chama_or_error(chama), dry_run=dry_run)
        verb = "would charge" if dry_run else "charged"
        total = 0
        for each, fines in report:
            amount = sum((fine.amount for fine in fines), 0)
            total += len(fines)
            self.stdout.write(f"{each}: {verb} {len(fines)} fine(s), {each.currency} {amount:,.2f}")
            if verbosity > 1:
                for fine in fines:
                    self.stdout.write(f"  {fine.due.membership.member_number} {fine.due.description} period {fine.period}: {fine.amount}")
        self.stdout.write(self.style.SUCCESS(f"{'Dry run: ' if dry_run else ''}{total} fine(s) {verb} as of {day or 'today'}."))
