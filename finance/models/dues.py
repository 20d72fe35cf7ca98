"""What members owe: regular contributions, special levies and fines, and how payments settle them."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round

from chama.models import TimeStampedModel
from chama.money import MoneyField, non_negative
from finance.models.ledger import AppendOnlyModel, Journal
from groups.models import Chama, Membership, Policy


class ContributionPlan(TimeStampedModel):
    """A regular contribution (raised every period by `generate_dues`) or a one-off special levy."""

    class Kind(models.TextChoices):
        REGULAR = "regular", "Regular contribution"
        LEVY = "levy", "Special levy"

    class Target(models.TextChoices):
        SAVINGS = "savings", "Member savings"
        WELFARE = "welfare", "Welfare fund"
        ROSCA_POT = "rosca_pot", "Merry-go-round pot"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="contribution_plans")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.REGULAR)
    amount = MoneyField(validators=non_negative())
    frequency = models.CharField(max_length=20, choices=Policy.Frequency.choices, default=Policy.Frequency.MONTHLY)
    due_day = models.PositiveSmallIntegerField(
        default=5,
        help_text="Monthly: day of the month (clamped to its end). Weekly/fortnightly: 1 = Monday … 7 = Sunday.",
    )
    grace_days = models.PositiveSmallIntegerField(default=3)
    target = models.CharField(max_length=20, choices=Target.choices, default=Target.SAVINGS)
    savings_type = models.ForeignKey(
        "finance.SavingsType",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text="Where savings contributions go (the chama's default savings type when empty).",
    )
    start_date = models.DateField(help_text="First period raised; fortnights count from this date.")
    end_date = models.DateField(null=True, blank=True)
    levy_due_date = models.DateField(null=True, blank=True, help_text="Special levies: when it is due.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["chama", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="plan_amount_positive",
                violation_error_message="The amount must be more than zero.",
            ),
            models.CheckConstraint(
                condition=~Q(kind="levy") | Q(levy_due_date__isnull=False),
                name="levy_has_due_date",
                violation_error_message="A special levy needs a due date.",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.chama})"


class Due(TimeStampedModel):
    class Kind(models.TextChoices):
        CONTRIBUTION = "contribution", "Contribution"
        LEVY = "levy", "Special levy"
        FINE = "fine", "Fine"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PARTIAL = "partial", "Partly paid"
        PAID = "paid", "Paid"
        OVERDUE = "overdue", "Overdue"
        WAIVED = "waived", "Waived"
        CANCELLED = "cancelled", "Cancelled"

    OPEN_STATUSES = (Status.PENDING, Status.PARTIAL, Status.OVERDUE)

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="dues")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="dues")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    plan = models.ForeignKey(ContributionPlan, on_delete=models.PROTECT, null=True, blank=True, related_name="dues")
    period_start = models.DateField(null=True, blank=True)
    period_label = models.CharField(max_length=20, blank=True, help_text="e.g. 2026-11, 2026-W47.")
    description = models.CharField(max_length=200)
    due_date = models.DateField()
    late_after = models.DateField(help_text="The due is late from the day after this date (due date + grace days).")
    amount = MoneyField()
    # Caches of the due's allocations, kept with them in one transaction; reconcile_balances checks them.
    paid_amount = MoneyField(default=0, editable=False)
    waived_amount = MoneyField(default=0, editable=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    fine_for = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="fines")
    fine_period = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Which late period this fine is for."
    )
    charge_journal = models.ForeignKey(
        Journal,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="fines_charged",
        help_text="Fines: the journal that charged it (one journal may charge a month's late fines).",
    )

    class Meta:
        ordering = ["due_date", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="due_amount_positive"),
            models.CheckConstraint(
                condition=Q(paid_amount__gte=0)
                & Q(waived_amount__gte=0)
                # Rounded to cents: SQLite adds decimals in floating point.
                & Q(amount__gte=Round(F("paid_amount") + F("waived_amount"), 2)),
                name="due_not_overpaid",
            ),
            models.UniqueConstraint(
                fields=["plan", "membership", "period_start", "chama"],
                condition=Q(plan__isnull=False),
                name="due_once_per_plan_period",
            ),
            models.UniqueConstraint(
                fields=["fine_for", "fine_period", "chama"],
                condition=Q(fine_for__isnull=False),
                name="fine_once_per_late_period",
            ),
        ]
        indexes = [models.Index(fields=["membership", "status", "due_date"]), models.Index(fields=["chama", "status"])]

    def __str__(self):
        return f"{self.description} — {self.membership.user.get_full_name()}"

    @property
    def outstanding(self):
        return self.amount - self.paid_amount - self.waived_amount

    def derive_status(self, today):
        if self.status == self.Status.CANCELLED:
            return self.Status.CANCELLED
        if self.outstanding <= 0:
            return self.Status.PAID if self.paid_amount > 0 else self.Status.WAIVED
        if today > self.late_after:
            return self.Status.OVERDUE
        if self.paid_amount > 0:
            return self.Status.PARTIAL
        return self.Status.PENDING


class DueAllocation(AppendOnlyModel):
    """A part of a payment (or a waiver) settling a due; a reversal adds the negative line."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", "Payment"
        WAIVER = "waiver", "Waiver"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="+")
    # Found through the `(due) INCLUDE (kind, amount)` index below, which also lets reconcile add up
    # every due's allocations from the index alone.
    due = models.ForeignKey(Due, on_delete=models.PROTECT, related_name="allocations", db_index=False)
    journal = models.ForeignKey(Journal, on_delete=models.PROTECT, null=True, blank=True, related_name="allocations")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = MoneyField()

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="allocation_amount_not_zero")]
        indexes = [models.Index(fields=["due"], include=["kind", "amount"], name="allocation_due_amount")]


class Waiver(TimeStampedModel):
    """Officers forgive (part of) a due or fine; above the chama's threshold a second officer approves."""

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting a second officer"
        APPLIED = "applied", "Applied"
        REJECTED = "rejected", "Rejected"
        REVERSED = "reversed", "Reversed"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="waivers")
    due = models.ForeignKey(Due, on_delete=models.PROTECT, related_name="waivers")
    amount = MoneyField()
    reason = models.CharField(max_length=255)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_date = models.DateTimeField(null=True, blank=True)
    journal = models.ForeignKey(Journal, on_delete=models.PROTECT, null=True, blank=True, related_name="waiver")

    class Meta:
        ordering = ["-created_date"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="waiver_amount_positive"),
            models.UniqueConstraint(fields=["journal", "chama"], name="waiver_journal_once"),
        ]

    def __str__(self):
        return f"Waiver of {self.amount} on {self.due}"
