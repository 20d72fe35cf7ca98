from django.core.management.base import CommandError

from finance.services import chain
from groups.commands import ChamaCommand


class Command(ChamaCommand):
    help = (
        "Walk each chama's chain of journals, recomputing every hash from the journal and its entries, and "
        "name the first broken link (row, expected, found); exit 1 if any. --since-checkpoint walks only what "
        "was posted after the last clean walk."
    )
    dry_run_help = None  # it writes nothing but its checkpoint

    def add_options(self, parser):
        parser.add_argument(
            "--since-checkpoint", action="store_true", help="Only the journals posted since the last clean walk."
        )

    def work(self, *, chama, dry_run, since_checkpoint=False, **options):
        self.where = f"chama {chama.pk}" if chama else "every chama"
        broken = chain.verify_all(chama=chama, since_checkpoint=since_checkpoint, progress=self.progress)
        if broken:
            for link in broken:
                self.stderr.write(str(link))
            raise CommandError(
                f"{len(broken)} chain(s) broken in {self.where}: the ledger was changed outside the application."
            )
        return broken

    def summary(self, broken):
        return f"Every chain verifies in {self.where}."
