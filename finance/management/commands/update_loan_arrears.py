from collections import Counter

from django.core.management.base import BaseCommand

from finance.management.commands._options import chama_or_error, parse_day, run_or_refuse
from finance.services.loans import update_arrears


class Command(BaseCommand):
    help = ("Mark overdue installments, charge each product's late penalty once per installment, classify loans "
            "by days in arrears and put them in default after the chama's policy days.")

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="The day to judge arrears on (default: each chama's today), e.g. 2026-11-30; "
                                             "never a day still to come.")
        parser.add_argument("--chama", type=int, help="Only this chama (id).")
        parser.add_argument("--dry-run", action="store_true", help="Show the result; write nothing.")

    def handle(self, *args, as_of=None, chama=None, dry_run=False, **options):
        day = parse_day(as_of, "--as-of") if as_of else None
        report = run_or_refuse(update_arrears, as_of=day, chama=chama_or_error(chama), dry_run=dry_run)
        buckets = Counter(bucket for _, _, bucket, _ in report)
        penalties = [amount for *_, charged in report for amount in charged]
        defaulted = sum(1 for loan, *_ in report if loan.status == "defaulted")
        prefix = "Dry run: " if dry_run else ""
        self.stdout.write(f"{prefix}{len(report)} outstanding loan(s) as of {day or 'today'}: "
                          + ", ".join(f"{bucket} {count}" for bucket, count in sorted(buckets.items())))
        self.stdout.write(self.style.SUCCESS(
            f"{prefix}{len(penalties)} penalty(ies) charged, {sum(penalties, 0):,.2f} in all; {defaulted} loan(s) in default."))
