"""Load the demo chamas (a VSLA-style savings-and-loans group and a merry-go-round) with their
officers, members, six months of money history, meetings and welfare. Safe to run again: nothing is
duplicated."""

import json
import time

from django.core.management.base import BaseCommand
from django.db import transaction

from finance import demo as money_demo
from groups import demo
from meetings import demo as meetings_demo
from welfare import demo as welfare_demo


class Command(BaseCommand):
    help = "Load the demo chamas, people, six months of history and meetings (idempotent) and print the logins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            default=demo.DEFAULT_PASSWORD,
            help=f"Password for every demo login (default {demo.DEFAULT_PASSWORD}).",
        )
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print the logins as JSON.")

    def handle(self, *args, password, as_json, **options):
        summary = []
        with transaction.atomic():
            for chama, logins in demo.load(password):
                started = time.monotonic()
                today = chama.today()
                posted = money_demo.add_history(chama, today)
                posted = meetings_demo.add_meetings(chama, today) or posted
                posted = welfare_demo.add_welfare(chama, today) or posted
                if posted and not as_json:
                    self.stdout.write(f"{chama}: history posted in {time.monotonic() - started:.1f}s")
                summary.append({"id": chama.pk, "name": chama.name, "kind": chama.kind, "logins": logins})
        if as_json:
            self.stdout.write(json.dumps({"chamas": summary}, indent=2))
        else:
            self._print_table(summary)

    def _print_table(self, summary):
        for chama in summary:
            self.stdout.write(self.style.MIGRATE_HEADING(f"\n{chama['name']} (id {chama['id']}, {chama['kind']})"))
            self.stdout.write(f"  {'role':<12} {'name':<20} {'username':<15} password")
            for login in chama["logins"]:
                self.stdout.write(
                    f"  {login['role']:<12} {login['name']:<20} {login['username']:<15} {login['password']}"
                )
        self.stdout.write("\nOfficers log in to the back office; every login works with the API (/api/docs/).")
