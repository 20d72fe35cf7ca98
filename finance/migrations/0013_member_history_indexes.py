import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """A member's own journals, newest first, read from an index whatever the chama's history; an
    account's entries found only through `(account, id)`, so that a statement's page is read in order."""

    dependencies = [
        ("finance", "0012_one_unique_per_chama_for_loan_accounts_and_reversals"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="journal",
            index=models.Index(fields=["chama", "membership", "-id"], name="finance_jou_chama_i_ba66e3_idx"),
        ),
        migrations.AlterField(
            model_name="entry",
            name="account",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="entries",
                to="finance.account",
            ),
        ),
    ]
