from collections import Counter

from chama.money import shown
from finance.services.loans import update_arrears
from groups.commands import ChamaCommand, parse_day


class Command(ChamaCommand):
    help = (
        "Mark overdue installments, charge each product's late penalty once per installment, classify loans "
        "by days in arrears and put them in default after the chama's policy days."
    )
    dry_run_help = "Show the result; write nothing."

    def add_options(self, parser):
        parser.add_argument(
            "--as-of",
            help="The day to judge arrears on (default: each chama's today), e.g. 2026-11-30; "
            "never a day still to come.",
        )

    def work(self, *, chama, dry_run, as_of=None, **options):
        self.day = parse_day(as_of, "--as-of") if as_of else None
        return update_arrears(as_of=self.day, chama=chama, dry_run=dry_run)

    def report_lines(self, report):
        buckets = Counter(bucket for _, _, bucket, _ in report)
        yield (
            f"{'Dry run: ' if self.dry_run else ''}{len(report)} outstanding loan(s) as of {self.day or 'today'}: "
            + ", ".join(f"{bucket} {count}" for bucket, count in sorted(buckets.items()))
        )

    def summary(self, report):
        penalties = [amount for *_, charged in report for amount in charged]
        defaulted = sum(1 for loan, *_ in report if loan.status == "defaulted")
        return (
            f"{len(penalties)} penalty(ies) charged, {shown(sum(penalties, 0))} in all; {defaulted} loan(s) in default."
        )
