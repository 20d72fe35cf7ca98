"""Loans: products, applications with guarantors and approvals, schedules, repayments, collateral."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from chama.models import TimeStampedModel
from chama.money import MoneyField, non_negative, shown
from chama.uploads import IMAGES, PDF, DocumentField
from finance.models.ledger import AppendOnlyModel, Journal
from groups.models import Chama, Membership, Policy

ALLOCATION_COMPONENTS = ("penalty", "fee", "interest", "principal")


def validate_allocation_order(value):
    parts = [part.strip() for part in value.split(",")]
    if sorted(parts) != sorted(ALLOCATION_COMPONENTS):
        raise ValidationError(
            "List penalty, fee, interest and principal once each, e.g. penalty,fee,interest,principal."
        )


class LoanProduct(TimeStampedModel):
    class Method(models.TextChoices):
        FLAT = "flat", "Flat rate"
        DECLINING = "declining_balance", "Declining balance (equal installments)"
        EQUAL_PRINCIPAL = "equal_principal", "Equal principal"

    class Rounding(models.TextChoices):
        HALF_UP = "half_up", "Half up"
        HALF_EVEN = "half_even", "Half even (banker's)"

    class ChargeKind(models.TextChoices):
        FLAT = "flat", "Flat amount"
        PERCENT = "percent", "Percentage"

    class FeeMode(models.TextChoices):
        DEDUCTED = "deducted", "Deducted from the disbursement"
        ADDED = "added", "Added to the loan (due with the first installment)"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="loan_products")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    interest_method = models.CharField(max_length=20, choices=Method.choices, default=Method.DECLINING)
    interest_rate = models.DecimalField(
        max_digits=7, decimal_places=3, validators=[MinValueValidator(0)], help_text="Percent per rate period."
    )
    rate_period = models.CharField(max_length=10, choices=Policy.RatePeriod.choices, default=Policy.RatePeriod.MONTH)
    repayment_frequency = models.CharField(
        max_length=20, choices=Policy.Frequency.choices, default=Policy.Frequency.MONTHLY
    )
    min_installments = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])
    max_installments = models.PositiveSmallIntegerField(default=12, validators=[MinValueValidator(1)])
    min_amount = MoneyField(default=0, validators=non_negative())
    max_amount = MoneyField(validators=non_negative())
    savings_multiple = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Largest loan as a multiple of the member's savings (empty: the chama policy's).",
    )
    fee_kind = models.CharField(max_length=10, choices=ChargeKind.choices, default=ChargeKind.FLAT)
    fee_value = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0)],
        help_text="Processing fee: an amount, or a percentage of the principal.",
    )
    fee_mode = models.CharField(max_length=10, choices=FeeMode.choices, default=FeeMode.DEDUCTED)
    penalty_kind = models.CharField(max_length=10, choices=ChargeKind.choices, default=ChargeKind.PERCENT)
    penalty_value = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0)],
        help_text="Late penalty per installment: an amount, or % of what is overdue on it.",
    )
    penalty_grace_days = models.PositiveSmallIntegerField(default=3)
    rounding = models.CharField(max_length=10, choices=Rounding.choices, default=Rounding.HALF_UP)
    installment_multiple = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        default=1,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="Installments are rounded to this (0.01, 1, 5, 10 shillings).",
    )
    guarantors_required = models.PositiveSmallIntegerField(default=0)
    guarantee_coverage = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Guarantees must cover this % of the principal.",
    )
    allocation_order = models.CharField(
        max_length=40,
        default="penalty,fee,interest,principal",
        validators=[validate_allocation_order],
        help_text="The order in which a repayment settles each installment.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["chama", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_installments__lte=models.F("max_installments")),
                name="loan_product_terms_ordered",
                violation_error_message="The minimum term cannot exceed the maximum.",
            ),
            models.CheckConstraint(
                condition=Q(min_amount__lte=models.F("max_amount")),
                name="loan_product_amounts_ordered",
                violation_error_message="The minimum amount cannot exceed the maximum.",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.chama})"

    @property
    def order(self):
        return [part.strip() for part in self.allocation_order.split(",")]


class Loan(TimeStampedModel):
    class Status(models.TextChoices):
        APPLIED = "applied", "Applied: awaiting guarantors and approvals"
        APPROVED = "approved", "Approved: awaiting disbursement"
        ACTIVE = "active", "Disbursed, being repaid"
        CLOSED = "closed", "Repaid and closed"
        REJECTED = "rejected", "Rejected"
        DEFAULTED = "defaulted", "In default"
        WRITTEN_OFF = "written_off", "Written off"

    class Classification(models.TextChoices):
        CURRENT = "current", "Current"
        DAYS_1_30 = "1-30", "1–30 days"
        DAYS_31_60 = "31-60", "31–60 days"
        DAYS_61_90 = "61-90", "61–90 days"
        DAYS_91_180 = "91-180", "91–180 days"
        OVER_180 = "180+", "Over 180 days"

    OUTSTANDING_STATUSES = (Status.ACTIVE, Status.DEFAULTED)

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="loans")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="loans")
    product = models.ForeignKey(LoanProduct, on_delete=models.PROTECT, related_name="loans")
    principal = MoneyField()
    purpose = models.CharField(max_length=255, blank=True)
    # The product's terms, frozen when the loan is applied for.
    interest_method = models.CharField(max_length=20, choices=LoanProduct.Method.choices)
    interest_rate = models.DecimalField(max_digits=7, decimal_places=3)
    rate_period = models.CharField(max_length=10, choices=Policy.RatePeriod.choices)
    repayment_frequency = models.CharField(max_length=20, choices=Policy.Frequency.choices)
    installments_count = models.PositiveSmallIntegerField()
    rounding = models.CharField(max_length=10, choices=LoanProduct.Rounding.choices)
    installment_multiple = models.DecimalField(max_digits=8, decimal_places=2)
    fee = MoneyField(default=0)
    fee_mode = models.CharField(max_length=10, choices=LoanProduct.FeeMode.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.APPLIED)
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    disbursed_date = models.DateField(null=True, blank=True)
    disbursement_journal = models.ForeignKey(Journal, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    schedule_version = models.PositiveSmallIntegerField(default=1)
    classification = models.CharField(max_length=10, choices=Classification.choices, default=Classification.CURRENT)
    days_in_arrears = models.PositiveIntegerField(default=0)
    closed_date = models.DateField(null=True, blank=True)
    write_off_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    write_off_reason = models.CharField(max_length=255, blank=True)
    # A reschedule waits for a second officer: the terms asked for are kept here until then.
    reschedule_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reschedule_installments = models.PositiveSmallIntegerField(null=True, blank=True)
    reschedule_interest_rate = models.DecimalField(max_digits=7, decimal_places=3, null=True, blank=True)
    reschedule_start = models.DateField(null=True, blank=True)
    reschedule_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_date"]
        constraints = [
            models.CheckConstraint(condition=Q(principal__gt=0), name="loan_principal_positive"),
            models.UniqueConstraint(fields=["disbursement_journal", "chama"], name="loan_disbursement_journal_once"),
        ]
        indexes = [models.Index(fields=["chama", "status"]), models.Index(fields=["membership", "status"])]

    def __str__(self):
        return f"Loan #{self.pk} {shown(self.principal)} to {self.membership.user.get_full_name()}"

    @property
    def receivable_account(self):
        """The loan's receivable account (None before it is disbursed). Lists read it with
        prefetch_related("receivable_accounts")."""
        return next(iter(self.receivable_accounts.all()), None)


class Installment(TimeStampedModel):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PARTIAL = "partial", "Partly paid"
        OVERDUE = "overdue", "Overdue"
        PAID = "paid", "Paid"
        RESCHEDULED = "rescheduled", "Replaced by a new schedule"
        CANCELLED = "cancelled", "Cancelled (disbursement reversed)"
        WRITTEN_OFF = "written_off", "Written off"

    OPEN_STATUSES = (Status.PENDING, Status.PARTIAL, Status.OVERDUE)

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="+")
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="installments")
    version = models.PositiveSmallIntegerField(default=1)
    n = models.PositiveSmallIntegerField()
    due_date = models.DateField()
    principal = MoneyField()
    interest = MoneyField()
    fee = MoneyField(default=0)
    penalty = MoneyField(default=0)
    # Caches of the repayment lines, kept with them in one transaction; reconcile_balances checks them.
    principal_paid = MoneyField(default=0)
    interest_paid = MoneyField(default=0)
    fee_paid = MoneyField(default=0)
    penalty_paid = MoneyField(default=0)
    interest_forgiven = MoneyField(default=0, help_text="Interest not yet due when the loan was paid off early.")
    carried_interest = MoneyField(
        default=0, help_text="Part of the interest carried, already due, from a replaced schedule."
    )
    penalty_charged_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)

    class Meta:
        ordering = ["loan", "version", "n"]
        constraints = [models.UniqueConstraint(fields=["loan", "version", "n", "chama"], name="installment_unique")]
        indexes = [models.Index(fields=["chama", "status", "due_date"])]

    def __str__(self):
        return f"Installment {self.n} of loan #{self.loan_id}"

    def owed(self, component):
        charged = getattr(self, component) - (self.interest_forgiven if component == "interest" else 0)
        return charged - getattr(self, f"{component}_paid")

    @property
    def total(self):
        return self.principal + self.interest + self.fee + self.penalty

    @property
    def outstanding(self):
        return sum(self.owed(component) for component in ALLOCATION_COMPONENTS)


class RepaymentLine(AppendOnlyModel):
    """Part of a journal settling one component of one installment (a reversal adds the negative)."""

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="+")
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="repayment_lines")
    installment = models.ForeignKey(Installment, on_delete=models.PROTECT, related_name="repayment_lines")
    journal = models.ForeignKey(Journal, on_delete=models.PROTECT, related_name="repayment_lines")
    component = models.CharField(max_length=10, choices=[(c, c) for c in ALLOCATION_COMPONENTS])
    amount = MoneyField()

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="repayment_line_not_zero")]


class Guarantee(TimeStampedModel):
    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        ACCEPTED = "accepted", "Accepted (savings pledged)"
        DECLINED = "declined", "Declined"
        RELEASED = "released", "Released"
        CALLED = "called", "Called: recovered from savings"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="+")
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="guarantees")
    guarantor = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="guarantees_given")
    amount = MoneyField(help_text="Savings pledged.")
    recovered_amount = MoneyField(default=0)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.REQUESTED)
    decided_date = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["loan", "id"]
        constraints = [
            models.UniqueConstraint(fields=["loan", "guarantor", "chama"], name="guarantee_once_per_guarantor"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="guarantee_amount_positive"),
        ]

    def __str__(self):
        return f"{self.guarantor.user.get_full_name()} guarantees {shown(self.amount)} of loan #{self.loan_id}"


class LoanApproval(TimeStampedModel):
    class Decision(models.TextChoices):
        APPROVE = "approve", "Approve"
        REJECT = "reject", "Reject"
        WRITE_OFF = "write_off", "Approve the write-off"
        RESCHEDULE = "reschedule", "Approve the reschedule"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="+")
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="approvals")
    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    comment = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["loan", "id"]
        # An officer approves, rejects or writes off a loan once; a loan may be rescheduled more than once.
        constraints = [
            models.UniqueConstraint(
                fields=["loan", "officer", "decision", "chama"],
                name="loan_decision_once",
                condition=~Q(decision="reschedule"),
            )
        ]


class Collateral(TimeStampedModel):
    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="+")
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="collateral")
    description = models.CharField(max_length=255)
    value = MoneyField(validators=non_negative())
    document = DocumentField(folder="collateral", types=[*PDF, *IMAGES], blank=True)

    class Meta:
        verbose_name_plural = "collateral"

    def __str__(self):
        return f"{self.description} ({shown(self.value)})"
