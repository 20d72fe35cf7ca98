"""Savings types, withdrawal requests and share purchases."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from chama.models import TimeStampedModel
from chama.money import MoneyField, non_negative
from finance.models.ledger import AppendOnlyModel, Journal
from groups.models import Chama, Membership


class SavingsType(TimeStampedModel):
    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="savings_types")
    name = models.CharField(max_length=60)
    code = models.CharField(max_length=10, help_text="Short code used in account numbers, e.g. REG.")
    minimum_balance = MoneyField(default=0, validators=non_negative(), help_text="A withdrawal may not go below this.")
    withdrawal_notice_days = models.PositiveSmallIntegerField(
        default=0, help_text="Days between asking and being paid."
    )
    locked_until = models.DateField(null=True, blank=True, help_text="Fixed savings: no withdrawal before this date.")
    is_default = models.BooleanField(default=False, help_text="Where regular contributions go.")

    class Meta:
        ordering = ["chama", "name"]
        constraints = [
            models.UniqueConstraint(fields=["chama", "code"], name="savings_type_code_unique"),
            models.UniqueConstraint(fields=["chama"], condition=Q(is_default=True), name="savings_type_one_default"),
        ]

    def __str__(self):
        return f"{self.name} savings"


class Withdrawal(TimeStampedModel):
    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        APPROVED = "approved", "Approved, awaiting payment"
        PAID = "paid", "Paid"
        REJECTED = "rejected", "Rejected"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="withdrawals")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="withdrawals")
    savings_type = models.ForeignKey(SavingsType, on_delete=models.PROTECT)
    amount = MoneyField()
    reason = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.REQUESTED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approvals = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    payable_from = models.DateField(help_text="The notice period ends on this date.")
    decided_reason = models.CharField(max_length=255, blank=True)
    journal = models.ForeignKey(Journal, on_delete=models.PROTECT, null=True, blank=True, related_name="withdrawal")

    class Meta:
        ordering = ["-created_date"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="withdrawal_amount_positive"),
            models.UniqueConstraint(fields=["journal", "chama"], name="withdrawal_journal_once"),
        ]

    def __str__(self):
        return f"Withdrawal of {self.amount} by {self.membership.user.get_full_name()}"


class SharePurchase(AppendOnlyModel):
    """Shares bought at a meeting (a reversal adds the negative count)."""

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="+")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="share_purchases")
    journal = models.ForeignKey(Journal, on_delete=models.PROTECT, related_name="share_purchases")
    shares = models.IntegerField()
    share_price = MoneyField()
    value_date = models.DateField()

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=~Q(shares=0), name="share_purchase_not_zero")]
