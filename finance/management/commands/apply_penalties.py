from chama.money import shown
from finance.services.dues import apply_penalties
from groups.commands import ChamaCommand, parse_day


class Command(ChamaCommand):
    help = (
        "Mark late dues overdue and charge late fines per each chama's policy, never twice for the same due and period."
    )
    dry_run_help = "Show the fines; write nothing."

    def add_options(self, parser):
        parser.add_argument(
            "--as-of",
            help="The day to judge lateness on and date the fines (default: each chama's today), "
            "e.g. 2026-11-22; never a day still to come.",
        )

    def work(self, *, chama, dry_run, as_of=None, **options):
        self.day = parse_day(as_of, "--as-of") if as_of else None
        return apply_penalties(as_of=self.day, chama=chama, dry_run=dry_run, progress=self.progress)

    def report_lines(self, report):
        for each, fines in report:
            amount = sum((fine.amount for fine in fines), 0)
            yield f"{each}: {self.verb('charged', 'would charge')} {len(fines)} fine(s), {shown(amount, each.currency)}"
            if self.verbosity > 1:
                for fine in fines:
                    yield f"  {fine.due.membership.member_number} {fine.due.description} period {fine.period}: {fine.amount}"

    def summary(self, report):
        total = sum(len(fines) for _, fines in report)
        return f"{total} fine(s) {self.verb('charged', 'would charge')} as of {self.day or 'today'}."
