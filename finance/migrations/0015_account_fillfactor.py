"""Room in each page of finance_account for its rows' next versions (PostgreSQL only).

Every posting rewrites the balances of the accounts it moves. `balance` is in no index, so when
the row's page has room PostgreSQL writes the new version beside the old one (a "HOT" update)
and touches none of the table's nine indexes; in a full page it must add an entry to every one.
A fill factor of 70 keeps that room in every page written from now on. Pages already written keep
their fill until the table is rewritten (`VACUUM FULL finance_account`, in a quiet hour: it locks
the table), which the README's Deployment section describes.
"""

from django.db import migrations

FILL_FACTOR = 70


def set_fill_factor(apps, schema_editor, value=FILL_FACTOR):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE finance_account SET (fillfactor = {int(value)})")


def reset_fill_factor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE finance_account RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("finance", "0014_entry_journal_covering_index")]

    operations = [migrations.RunPython(set_fill_factor, reset_fill_factor)]
