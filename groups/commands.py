"""The skeleton every chama command shares, and the parsing of its options.

A `ChamaCommand` works over every active chama or the one given with `--chama`, offers `--dry-run`
when it writes, prints a line per chama (more with `-v 2`) and a closing summary, and ends with
exit status 1 and the service's own sentence when a service refuses (a day still to come, say).
A subclass says what it does in `work` and how to tell it in `report_lines` and `summary`; it
passes `self.progress` to a service that takes a `progress` callback, which draws a progress bar
on standard error when that is a terminal (or with `--progress`), never into a log.
"""

import re
from datetime import date

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from groups.models import Chama

PROGRESS_WIDTH = 40


class ChamaCommand(BaseCommand):
    #: The help of `--dry-run`; None for a command that writes nothing (or has its own switch).
    dry_run_help = "Show what would be done; write nothing."

    def add_arguments(self, parser):
        parser.add_argument("--chama", type=int, help="Only this chama (id).")
        if self.dry_run_help:
            parser.add_argument("--dry-run", action="store_true", help=self.dry_run_help)
        parser.add_argument(
            "--progress", action="store_true", help="Draw a progress bar even when standard error is not a terminal."
        )
        self.add_options(parser)

    def add_options(self, parser):
        """The command's own options."""

    def handle(self, *args, chama=None, dry_run=False, verbosity=1, progress=False, **options):
        self.dry_run, self.verbosity = dry_run, verbosity
        self.draws_progress = verbosity > 0 and (progress or self.stderr.isatty())
        try:
            report = self.work(chama=chama_or_error(chama), dry_run=dry_run, **options)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        for line in self.report_lines(report):
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"{'Dry run: ' if dry_run else ''}{self.summary(report)}"))

    def work(self, *, chama, dry_run, **options):
        """Do the work (in `chama`, or every chama when None) and return its report."""
        raise NotImplementedError

    def report_lines(self, report):
        """The lines to print before the summary (`self.verbosity` > 1 for the details)."""
        return []

    def summary(self, report):
        raise NotImplementedError

    def progress(self, done, total):
        """Redraw the bar: `done` of `total` (chamas, plans…) finished."""
        if not self.draws_progress or not total:
            return
        filled = PROGRESS_WIDTH * done // total
        bar = "#" * filled + "." * (PROGRESS_WIDTH - filled)
        self.stderr.write(f"\r[{bar}] {done}/{total}", ending="\n" if done == total else "")
        self.stderr.flush()

    def verb(self, done, would):
        return would if self.dry_run else done


def chama_or_error(chama_id):
    """The chama with this id (None: every chama), or a command error that says there is none."""
    if chama_id is None:
        return None
    chama = Chama.objects.filter(pk=chama_id).first()
    if chama is None:
        raise CommandError(f"There is no chama with id {chama_id}.")
    return chama


def parse_period(value):
    """YYYY-MM (every period due in that month) or YYYY-MM-DD (the period holding that day)."""
    if re.fullmatch(r"\d{4}-\d{2}", value or ""):
        year, month = map(int, value.split("-"))
        if 1 <= month <= 12:
            return (year, month)
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise CommandError(f"--period {value!r}: give a month as 2026-11 or a day as 2026-11-22.") from None


def parse_day(value, option):
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise CommandError(f"{option} {value!r}: give a day as 2026-11-22.") from None
