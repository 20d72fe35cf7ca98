"""Welfare: a chama's schemes (what each event pays, who may claim and how the fund is fed), the
claims members make on them, the officers' decisions, and the documents that support a claim.

The fund itself is the ledger's welfare fund account (`finance`): contributions credit it through
the dues of a welfare contribution plan, levies through dues of a levy plan, and a claim's payout
debits it (DOMAIN.md). Nothing here holds a balance.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from chama.models import TimeStampedModel
from chama.money import MoneyField, non_negative
from chama.uploads import IMAGES, PDF, DocumentField
from groups.models import Chama, Membership


class Event(models.TextChoices):
    DEATH_MEMBER = "death_member", "Death of the member"
    DEATH_SPOUSE = "death_spouse", "Death of a spouse"
    DEATH_CHILD = "death_child", "Death of a child"
    DEATH_PARENT = "death_parent", "Death of a parent"
    HOSPITALISATION = "hospitalisation", "Hospitalisation"
    WEDDING = "wedding", "Wedding"
    BIRTH = "birth", "Birth"
    OTHER = "other", "Other"


class WelfareScheme(TimeStampedModel):
    """A chama's welfare rules: who may claim, for what, how much, and how the fund is fed."""

    class Shortfall(models.TextChoices):
        REFUSE = "refuse", "Refuse a payout larger than the fund"
        PART_AND_LEVY = "part_and_levy", "Pay what the fund holds; a levy raises the rest"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="welfare_schemes")
    name = models.CharField(max_length=100)
    waiting_days = models.PositiveIntegerField(default=90, help_text="Days after joining before a member may claim.")
    max_claims_per_year = models.PositiveSmallIntegerField(
        default=2, help_text="Claims one member may have approved in a calendar year (0: no limit)."
    )
    dependants = models.CharField(
        max_length=255,
        blank=True,
        help_text="Who counts as a dependant, as the constitution says (e.g. spouse, children under 25, parents).",
    )
    levy_per_event = MoneyField(
        default=0,
        validators=non_negative(),
        help_text="Raised on every active member when a claim is approved (0: no levy).",
    )
    shortfall = models.CharField(max_length=20, choices=Shortfall.choices, default=Shortfall.REFUSE)
    approvals_required = models.PositiveSmallIntegerField(
        default=2, help_text="Officers who must approve a claim (never the claimant, nor one who declared a conflict)."
    )
    members_see_paid_claims = models.BooleanField(
        default=True, help_text="Members see the chama's paid claims and are told of each payout."
    )
    announcement = models.CharField(
        max_length=255,
        blank=True,
        default="The chama has paid {amount} to {name} for {event}.",
        help_text="What every member is told when a claim is paid ({amount}, {name}, {event}); blank: nobody is told.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["chama", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["chama", "name"],
                name="welfare_scheme_name_once",
                violation_error_message="This chama already has a scheme of that name.",
            ),
            models.CheckConstraint(
                condition=Q(approvals_required__gte=1),
                name="welfare_scheme_one_approval_at_least",
                violation_error_message="A claim needs at least one officer's approval.",
            ),
        ]

    def __str__(self):
        return self.name


class Benefit(TimeStampedModel):
    """What one event pays under a scheme: a fixed amount, or what was asked up to a cap."""

    class Kind(models.TextChoices):
        FIXED = "fixed", "A fixed amount"
        CAP = "cap", "What is asked, up to a cap"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="+")
    scheme = models.ForeignKey(WelfareScheme, on_delete=models.CASCADE, related_name="benefits")
    event = models.CharField(max_length=20, choices=Event.choices)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.FIXED)
    amount = MoneyField(help_text="The amount paid, or the cap.")

    class Meta:
        ordering = ["scheme", "event"]
        constraints = [
            models.UniqueConstraint(
                fields=["chama", "scheme", "event"],
                name="welfare_benefit_once",
                violation_error_message="This scheme already has a benefit for that event.",
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="welfare_benefit_positive",
                violation_error_message="The amount must be more than zero.",
            ),
        ]

    def __str__(self):
        return f"{self.get_event_display()}: {self.get_kind_display().lower()} {self.amount}"


class Claim(TimeStampedModel):
    class Status(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        UNDER_REVIEW = "under_review", "Under review"
        APPROVED = "approved", "Approved (to be paid)"
        REJECTED = "rejected", "Rejected"
        PAID = "paid", "Paid"

    OPEN_STATUSES = (Status.SUBMITTED, Status.UNDER_REVIEW)

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="welfare_claims")
    scheme = models.ForeignKey(WelfareScheme, on_delete=models.PROTECT, related_name="claims")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="welfare_claims")
    event = models.CharField(max_length=20, choices=Event.choices)
    event_date = models.DateField()
    beneficiary = models.CharField(
        max_length=150, help_text="Who the event concerns and how they are related (e.g. “Mary Atieno, mother”)."
    )
    amount_requested = MoneyField()
    amount_approved = MoneyField(null=True, blank=True, help_text="What the scheme pays for it.")
    amount_paid = MoneyField(default=0, validators=non_negative(), help_text="Paid so far out of the fund.")
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SUBMITTED)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_reason = models.CharField(max_length=255, blank=True)
    levy_plan = models.ForeignKey(
        "finance.ContributionPlan",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="welfare_claims",
        help_text="The levy raised for this claim, if the scheme raises one.",
    )

    class Meta:
        ordering = ["-created_date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_requested__gt=0),
                name="welfare_claim_amount_positive",
                violation_error_message="Ask for an amount above zero.",
            ),
            models.UniqueConstraint(
                fields=["chama", "levy_plan"], condition=Q(levy_plan__isnull=False), name="welfare_claim_levy_once"
            ),
        ]
        indexes = [models.Index(fields=["chama", "membership", "-id"]), models.Index(fields=["chama", "status"])]

    def __str__(self):
        return f"Claim #{self.pk}: {self.get_event_display()} ({self.membership})"

    @property
    def still_to_pay(self):
        return (self.amount_approved or 0) - self.amount_paid


class Decision(TimeStampedModel):
    """An officer's decision on a claim, through their own login: an approval, or a declared
    conflict of interest (they may not approve it)."""

    class Kind(models.TextChoices):
        APPROVE = "approve", "Approved"
        CONFLICT = "conflict", "Declared a conflict of interest"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="+")
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="decisions")
    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    comment = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["claim", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["chama", "claim", "officer"],
                name="welfare_decision_once",
                violation_error_message="You have already decided on this claim.",
            )
        ]

    def __str__(self):
        return f"{self.officer}: {self.get_kind_display().lower()}"


class ClaimDocument(TimeStampedModel):
    """A document supporting a claim (a burial permit, a hospital bill): stored privately, served
    only through the access-checked download view to the claimant and the officers."""

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="+")
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(max_length=150)
    document = DocumentField(folder="welfare", types=[*PDF, *IMAGES])
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["claim", "id"]

    def __str__(self):
        return self.title


class ClaimPayment(TimeStampedModel):
    """A payout of a claim out of the welfare fund: its journal, and how it was paid."""

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="+")
    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="payments")
    amount = MoneyField()
    method = models.CharField(max_length=10)
    journal = models.ForeignKey("finance.Journal", on_delete=models.PROTECT, related_name="+")
    paid_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["claim", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="welfare_payment_positive")]

    def __str__(self):
        return f"{self.claim}: {self.amount}"
