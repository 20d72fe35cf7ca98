"""Print who may do what by default (the README's role table is this output)."""

from django.core.management.base import BaseCommand

from chama import authority


class Command(BaseCommand):
    help = "Print the authority matrix: every action, what it allows, and the roles granted it by default."

    def handle(self, *args, **options):
        self.stdout.write(authority.matrix_markdown())
