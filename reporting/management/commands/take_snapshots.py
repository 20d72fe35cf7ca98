import re
from datetime import date

from django.core.management.base import CommandError

from chama.money import shown
from groups.commands import ChamaCommand
from reporting.snapshots import last_complete_month, take_snapshots


class Command(ChamaCommand):
    help = (
        "Store each chama's month-end figures (members, savings, shares, loans, cash, income, expenses, "
        "attendance); running it again for the same month rewrites the same figures."
    )

    def add_options(self, parser):
        parser.add_argument("--month", help="The month, e.g. 2026-11 (default: the last month that has ended).")

    def work(self, *, chama, dry_run, month=None, **options):
        if month is None:
            self.month = last_complete_month(date.today())
        elif re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
            self.month = date(int(month[:4]), int(month[5:]), 1)
        else:
            raise CommandError(f"--month {month!r}: give a month as 2026-11.")
        return take_snapshots(month=self.month, chama=chama, dry_run=dry_run, progress=self.progress)

    def report_lines(self, report):
        if self.verbosity > 1:
            for row in report:
                yield (
                    f"chama {row.chama_id}: {row.members} members, savings {shown(row.savings)}, "
                    f"loans {shown(row.loans_outstanding)}, cash {shown(row.cash)}"
                )

    def summary(self, report):
        return f"{len(report)} chama(s) {self.verb('snapshotted', 'would be snapshotted')} for {self.month:%B %Y}."
