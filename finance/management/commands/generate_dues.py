from django.core.management.base import BaseCommand
from django.utils import timezone

from finance.management.commands._options import chama_or_error, parse_period
from finance.services.dues import generate_dues


class Command(BaseCommand):
    help = "Raise every active member's regular contribution dues for a period (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--period", help="2026-11 (every period due that month) or 2026-11-22 (its period). Default: today.")
        parser.add_argument("--chama", type=int, help="Only this chama (id).")
        parser.add_argument("--dry-run", action="store_true", help="Show what would be raised; write nothing.")

    def handle(self, *args, period=None, chama=None, dry_run=False, **options):
        selected = parse_period(period) if period else timezone.localdate()
        report = generate_dues(period=selected, chama=chama_or_error(chama), dry_run=dry_run)
        verb = "would raise" if dry_run else "raised"
        for each, plan, label, count in report:
            self.stdout.write(f"{each} — {plan.name} {label}: {verb} {count} due(s)")
        total = sum(row[3] for row in report)
        self.stdout.write(self.style.SUCCESS(f"{'Dry run: ' if dry_run else ''}{total} due(s) {verb} across {len(report)} plan period(s)."))
