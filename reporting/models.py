"""What reporting keeps: each chama's month-end figures (`MonthlySnapshot`) and the reports built
off the request for download (`GeneratedReport`). The back office's
"Financial statements" list hangs on a proxy of the chamas' policies (one per chama), a row per
chama with its statements to download."""

from django.conf import settings
from django.db import models

from chama.models import TimeStampedModel
from chama.money import MoneyField
from chama.uploads import DocumentField
from groups.models import Chama, Membership, Policy


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


class GeneratedReport(TimeStampedModel):
    """A report built off the request and kept for a while (`reporting.generation`): what was asked,
    by whom, how far its building has gone, and the file, served only through the access-checked
    download view until it expires."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Being built"
        READY = "ready", "Ready to download"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired (its file is deleted)"

    class Format(models.TextChoices):
        PDF = "pdf", "PDF"
        XLSX = "xlsx", "Excel"
        CSV = "csv", "CSV"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="generated_reports")
    report = models.CharField(max_length=40, help_text="Which report (`reporting.catalogue.REPORTS`).")
    format = models.CharField(max_length=4, choices=Format.choices, default=Format.PDF)
    parameters = models.JSONField(default=dict, blank=True, help_text="The period, day, channel, member or cycle.")
    membership = models.ForeignKey(
        Membership,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The member whose statement this is (who may download it whatever their role).",
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="How much is built, in percent.")
    file = DocumentField(folder="reports", types=["pdf", "xlsx", "csv"], blank=True)
    size = models.PositiveIntegerField(null=True, blank=True, help_text="The file's size in bytes.")
    error = models.TextField(blank=True, help_text="Why building it failed.")
    finished_date = models.DateTimeField(null=True, blank=True)
    expires_date = models.DateTimeField(help_text="When its file is deleted (a new one may be asked for).")
    download_count = models.PositiveIntegerField(default=0)
    last_downloaded_date = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_date", "-id"]
        indexes = [
            models.Index(fields=["chama", "-created_date"], name="report_chama_newest"),
            models.Index(fields=["status", "expires_date"], name="report_expiry"),
        ]

    def __str__(self):
        return f"{self.report} ({self.get_format_display()}), {self.chama}"
