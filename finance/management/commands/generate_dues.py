from finance.services.dues import generate_dues
from groups.commands import ChamaCommand, parse_period


class Command(ChamaCommand):
    help = "Raise every active member's regular contribution dues for a period (idempotent)."
    dry_run_help = "Show what would be raised; write nothing."

    def add_options(self, parser):
        parser.add_argument(
            "--period",
            help="2026-11 (every period due that month) or 2026-11-22 (its period). Default: the period holding each chama's today.",
        )

    def work(self, *, chama, dry_run, period=None, **options):
        selected = parse_period(period) if period else None
        return generate_dues(period=selected, chama=chama, dry_run=dry_run, progress=self.progress)

    def report_lines(self, report):
        for each, plan, label, count in report:
            yield f"{each} — {plan.name} {label}: {self.verb('raised', 'would raise')} {count} due(s)"

    def summary(self, report):
        total = sum(row[3] for row in report)
        return f"{total} due(s) {self.verb('raised', 'would raise')} across {len(report)} plan period(s)."
