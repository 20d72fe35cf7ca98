"""Expenses, other income and the investments register."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from chama.models import TimeStampedModel
from chama.money import MoneyField
from chama.uploads import RECEIPT_TYPES, DocumentField
from finance.models.ledger import Journal
from groups.models import Chama, Membership


class PaidThrough(models.TextChoices):
    CASH = "cash", "Cash"
    MPESA = "mpesa", "M-Pesa"
    BANK = "bank", "Bank"
    CHEQUE = "cheque", "Cheque"


class CashbookRecord(TimeStampedModel):
    """What expenses and other income share: an amount with its evidence and the officers behind it.
    Above the chama's threshold a record waits for a second officer, who approves it through their
    own login; only then is its journal posted."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a second officer"
        POSTED = "posted", "Posted"
        REJECTED = "rejected", "Rejected"

    amount = MoneyField()
    description = models.CharField(max_length=255)
    value_date = models.DateField()
    receipt = DocumentField(folder="receipts", types=RECEIPT_TYPES, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.POSTED)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The officer who approved it (the recorder, up to the threshold).",
    )
    decided_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        abstract = True
        ordering = ["-value_date", "-id"]

    def __str__(self):
        return f"{self.get_category_display()}: {self.description} ({self.amount})"


class Expense(CashbookRecord):
    class Category(models.TextChoices):
        MEETING = "meeting", "Meeting costs"
        BANK_CHARGES = "bank_charges", "Bank and M-Pesa charges"
        TRANSPORT = "transport", "Transport"
        STATIONERY = "stationery", "Stationery and printing"
        REGISTRATION = "registration", "Registration and licences"
        PROFESSIONAL = "professional", "Professional fees"
        OTHER = "other", "Other"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="expenses")
    category = models.CharField(max_length=20, choices=Category.choices)
    paid_through = models.CharField(max_length=10, choices=PaidThrough.choices, default=PaidThrough.CASH)
    payee = models.ForeignKey(
        Membership,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The member paid, if the money went to a member (e.g. a refund of costs).",
    )
    journal = models.ForeignKey(Journal, on_delete=models.PROTECT, null=True, blank=True, related_name="expense")

    class Meta(CashbookRecord.Meta):
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="expense_amount_positive"),
            models.UniqueConstraint(fields=["journal", "chama"], name="expense_journal_once"),
        ]


class Income(CashbookRecord):
    class Category(models.TextChoices):
        BANK_INTEREST = "bank_interest", "Bank interest"
        DONATION = "donation", "Donation or grant"
        EVENT = "event", "Fundraising event"
        OTHER = "other", "Other"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="incomes")
    category = models.CharField(max_length=20, choices=Category.choices)
    received_through = models.CharField(max_length=10, choices=PaidThrough.choices, default=PaidThrough.CASH)
    journal = models.ForeignKey(Journal, on_delete=models.PROTECT, null=True, blank=True, related_name="income")

    class Meta(CashbookRecord.Meta):
        verbose_name_plural = "other income"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="income_amount_positive"),
            models.UniqueConstraint(fields=["journal", "chama"], name="income_journal_once"),
        ]


class Investment(TimeStampedModel):
    class Type(models.TextChoices):
        LAND = "land", "Land and property"
        SECURITIES = "securities", "Shares and bonds"
        TREASURY = "treasury", "Treasury bills"
        FIXED_DEPOSIT = "fixed_deposit", "Fixed deposit"
        BUSINESS = "business", "Business (income-generating activity)"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DISPOSED = "disposed", "Disposed"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="investments")
    name = models.CharField(max_length=150)
    type = models.CharField(max_length=20, choices=Type.choices)
    description = models.TextField(blank=True)
    acquired_date = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)

    class Meta:
        ordering = ["chama", "name"]

    def __str__(self):
        return self.name


class InvestmentMovement(TimeStampedModel):
    """Money into an investment, a change in its value, or a return received from it."""

    class Kind(models.TextChoices):
        PURCHASE = "purchase", "Money invested"
        VALUATION = "valuation", "Revaluation"
        RETURN = "return", "Return received"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="+")
    investment = models.ForeignKey(Investment, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = MoneyField(help_text="Invested, change in book value (negative for a fall) or return received.")
    valuation = MoneyField(null=True, blank=True, help_text="Revaluations: the new value.")
    value_date = models.DateField()
    note = models.CharField(max_length=255, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    journal = models.ForeignKey(
        Journal, on_delete=models.PROTECT, null=True, blank=True, related_name="investment_movement"
    )

    class Meta:
        ordering = ["value_date", "id"]
        constraints = [models.UniqueConstraint(fields=["journal", "chama"], name="investment_movement_journal_once")]
