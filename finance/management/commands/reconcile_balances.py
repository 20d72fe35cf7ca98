from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from finance.selectors.ledger import unbalanced_journals
from finance.services.reconcile import all_drift
from groups.models import Chama


class Command(BaseCommand):
    help = "Re-derive every cached balance from the ledger, print the drift; exit 1 on drift unless --fix."

    def add_arguments(self, parser):
        parser.add_argument("--chama", type=int, help="Only this chama (id).")
        parser.add_argument("--fix", action="store_true", help="Write the re-derived values.")

    def handle(self, *args, chama=None, fix=False, **options):
        scope = None
        if chama is not None:
            scope = Chama.objects.filter(pk=chama).first()
            if scope is None:
                raise CommandError(f"There is no chama with id {chama}.")
        unbalanced = list(unbalanced_journals(scope).values_list("pk", flat=True))
        if unbalanced:
            raise CommandError(f"Journals that do not sum to zero (the ledger itself is wrong): {unbalanced}")
        with transaction.atomic():
            drift = all_drift(scope)
            for item in drift:
                self.stdout.write(f"chama {item.chama_id}: {item.what}: cached {item.cached}, ledger {item.actual}")
                if fix:
                    item.repair()
        where = f"chama {chama}" if chama else "every chama"
        if not drift:
            self.stdout.write(self.style.SUCCESS(f"No drift in {where}: every cached balance equals the ledger."))
        elif fix:
            self.stdout.write(self.style.WARNING(f"Repaired {len(drift)} cached value(s) in {where}."))
        else:
            raise CommandError(f"{len(drift)} cached value(s) differ from the ledger in {where}; run with --fix to repair.")
