"""What reporting keeps: each chama's month-end figures (`MonthlySnapshot`). The back office's
"Financial statements" list hangs on a proxy of the chamas' policies (one per chama), a row per
chama with its statements to download."""

from django.db import models

from chama.models import TimeStampedModel
from chama.money import MoneyField
from groups.models import Chama, Policy


class FinancialStatement(Policy):
    class Meta:
        proxy = True
        verbose_name = "chama's financial statements"
        verbose_name_plural = "financial statements"


class MonthlySnapshot(TimeStampedModel):
    """A chama's figures at a month's end, kept so that dashboards and year-on-year comparisons
    never rescan the ledger's history (`take_snapshots`)."""

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="snapshots")
    month = models.DateField(help_text="The month's first day.")
    members = models.PositiveIntegerField(help_text="Active members when the snapshot was taken.")
    savings = MoneyField(help_text="Members' savings at the month's end.")
    shares = MoneyField(help_text="Members' shares at the month's end.")
    loans_outstanding = MoneyField(help_text="Loans' outstanding principal at the month's end.")
    cash = MoneyField(help_text="Cash, bank and M-Pesa at the month's end.")
    income = MoneyField(help_text="The month's income.")
    expenses = MoneyField(help_text="The month's expenses and losses.")
    attendance_percentage = models.DecimalField(
        max_digits=5, decimal_places=2, help_text="The active members' average attendance when taken."
    )

    class Meta:
        ordering = ["chama", "-month"]
        constraints = [models.UniqueConstraint(fields=["chama", "month"], name="snapshot_once_a_month")]

    def __str__(self):
        return f"{self.chama}, {self.month:%b %Y}"
