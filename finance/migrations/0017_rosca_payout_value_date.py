from django.db import migrations, models


def date_earlier_payouts(apps, schema_editor):
    """A payout made before the field existed is dated as its journal is (or, still pending, the
    day it was asked for)."""
    RoscaPayout = apps.get_model("finance", "RoscaPayout")
    for payout in RoscaPayout.objects.filter(value_date__isnull=True).select_related("journal"):
        payout.value_date = payout.journal.value_date if payout.journal_id else payout.created_date.date()
        payout.save(update_fields=["value_date"])


class Migration(migrations.Migration):
    dependencies = [
        ("finance", "0016_rosca_cycles"),
    ]

    operations = [
        migrations.AddField(
            model_name="roscapayout",
            name="value_date",
            field=models.DateField(null=True, help_text="When the pot was (or is to be) paid."),
        ),
        migrations.RunPython(date_earlier_payouts, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="roscapayout",
            name="value_date",
            field=models.DateField(help_text="When the pot was (or is to be) paid."),
        ),
    ]
