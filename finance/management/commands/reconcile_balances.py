from django.core.management.base import CommandError
from django.db import transaction

from finance.services import chain
from finance.services.reconcile import fix_drift, run_checks
from groups.commands import ChamaCommand


class Command(ChamaCommand):
    help = (
        "Re-derive every cached balance from the ledger, print the drift; exit 1 on drift unless --fix, or when a "
        "journal does not balance or the chain of journals posted since its last check is broken."
    )
    dry_run_help = None  # it writes only with --fix

    def add_options(self, parser):
        parser.add_argument("--fix", action="store_true", help="Write the re-derived values.")

    def work(self, *, chama, dry_run, fix=False, **options):
        self.where = f"chama {chama.pk}" if chama else "every chama"
        unbalanced, found = run_checks(chama)
        if unbalanced:
            raise CommandError(f"Journals that do not sum to zero (the ledger itself is wrong): {unbalanced}")
        # The journals posted since the last clean walk of each chain (`verify_chain` walks them whole).
        broken = chain.verify_all(chama=chama, since_checkpoint=True)
        if broken:
            raise CommandError(
                "The chain of journals is broken (the ledger was changed outside the application): "
                + " ".join(str(link) for link in broken)
            )
        drift = [item for items in found.values() for item in items]
        if fix and drift:
            with transaction.atomic():
                # Only the kinds found drifting are written (each repair computes its check again).
                fix_drift(chama, kinds=[name for name, items in found.items() if items])
        if drift and not fix:
            for line in self.report_lines(drift):
                self.stdout.write(line)
            raise CommandError(
                f"{len(drift)} cached value(s) differ from the ledger in {self.where}; run with --fix to repair."
            )
        return drift

    def report_lines(self, drift):
        for item in drift:
            yield f"chama {item.chama_id}: {item.what}: cached {item.cached}, ledger {item.actual}"

    def summary(self, drift):
        if drift:
            return f"Repaired {len(drift)} cached value(s) in {self.where}."
        return f"No drift in {self.where}: every cached balance equals the ledger."
