import json
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from finance import shareout


def _sentence(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(f"{where}: {' '.join(messages)}" for where, messages in error.message_dict.items())
    return " ".join(error.messages)


class Command(BaseCommand):
    help = (
        "Work out a savings cycle's share-out from a JSON file, saving nothing: the fund, the value "
        "per share and each member's savings, profit share, deductions and net payout."
    )

    def add_arguments(self, parser):
        parser.add_argument("--input", required=True, help="The JSON file (README, the share-out), or - for stdin.")
        parser.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args, **options):
        data = self.read(options["input"])
        try:
            result = shareout.quote(**shareout.from_input(data))
        except ValidationError as error:
            raise CommandError(_sentence(error)) from None
        if options["format"] == "json":
            self.stdout.write(json.dumps(result.as_dict(), indent=2))
            return
        self.stdout.write(
            f"{'member':<24}  {'shares':>6}  {'savings':>12}  {'profit share':>12}  {'deductions':>12}  {'net payout':>12}"
        )
        for payout in result.payouts:
            self.stdout.write(
                f"{payout.member[:24]:<24}  {payout.shares:>6}  {payout.savings:>12,.2f}  {payout.profit_share:>12,.2f}"
                f"  {payout.deductions:>12,.2f}  {payout.net_payout:>12,.2f}"
            )
            if payout.still_owed:
                self.stdout.write(f"{'':<24}  still owes {payout.still_owed:,.2f} after the deduction")
        self.stdout.write(
            f"Fund {result.fund:,.2f} over {result.total_shares:,} shares: {result.value_per_share} a share; "
            f"remainder {result.remainder:,.2f}."
        )

    def read(self, path):
        try:
            text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()  # noqa: SIM115 - read whole
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}.") from None
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise CommandError(
                f"{path} is not JSON: {error.msg} (line {error.lineno}, column {error.colno})."
            ) from None
