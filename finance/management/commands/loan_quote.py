import json
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from chama.money import shown
from finance import loan_schedule
from groups.commands import parse_day


def _decimal(value, option):
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError):
        raise CommandError(f"{option} {value!r}: give a number such as 5000 or 12.5.") from None
    if not number.is_finite():
        raise CommandError(f"{option} {value!r}: give a number such as 5000 or 12.5.")
    return number


class Command(BaseCommand):
    help = "Print a loan repayment schedule without saving anything (for quoting a member)."

    def add_arguments(self, parser):
        parser.add_argument("--principal", required=True, help="Amount lent, e.g. 5000.")
        parser.add_argument("--rate", required=True, help="Interest rate in percent, e.g. 12.")
        parser.add_argument("--rate-period", choices=["month", "year"], default="year")
        parser.add_argument("--installments", type=int, required=True)
        parser.add_argument("--frequency", choices=sorted(loan_schedule.PERIODS_PER_YEAR), default="monthly")
        parser.add_argument("--method", choices=loan_schedule.METHODS, default="declining_balance")
        parser.add_argument("--rounding", choices=sorted(loan_schedule.ROUNDING), default="half_up")
        parser.add_argument(
            "--installment-multiple", default="0.01", help="Round installments to this (0.01, 1, 5, 10)."
        )
        parser.add_argument("--start", help="Disbursement day, e.g. 2024-01-01 (default today).")
        parser.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args, **options):
        terms = loan_schedule.Terms(
            principal=_decimal(options["principal"], "--principal"),
            rate=_decimal(options["rate"], "--rate"),
            rate_period=options["rate_period"],
            installments=options["installments"],
            frequency=options["frequency"],
            method=options["method"],
            rounding=options["rounding"],
            installment_multiple=_decimal(options["installment_multiple"], "--installment-multiple"),
            start=parse_day(options["start"], "--start") if options["start"] else timezone.localdate(),
        )
        errors = loan_schedule.validate(terms)
        if errors:
            raise CommandError(" ".join(f"--{name.replace('_', '-')}: {message}" for name, message in errors.items()))
        rows = loan_schedule.schedule(terms)
        if options["format"] == "json":
            self.stdout.write(json.dumps([row.as_dict() for row in rows], indent=2))
            return
        self.stdout.write(
            f"{'n':>3}  {'due date':<10}  {'principal':>12}  {'interest':>10}  {'total':>12}  {'balance':>12}"
        )
        for row in rows:
            self.stdout.write(
                f"{row.n:>3}  {row.due_date:%Y-%m-%d}  {row.principal:>12,.2f}  {row.interest:>10,.2f}  "
                f"{row.total:>12,.2f}  {row.balance:>12,.2f}"
            )
        interest = sum(row.interest for row in rows)
        self.stdout.write(
            f"Total repaid {shown(terms.principal + interest)}: principal {shown(terms.principal)}, interest {shown(interest)}."
        )
