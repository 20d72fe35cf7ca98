"""Savings cycles (ASCA / VSLA): members buy shares for a fixed period, the fund lends, and at the
end the whole fund is shared out in proportion to shares (`finance.shareout`).

A cycle's share price and per-meeting limits are what share purchases use while it runs. Which
money belongs to the cycle is read from the ledger: the members' share accounts, the income and
expense accounts (closed to retained earnings at every share-out) and the retained earnings
carried from the last one.
"""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from chama.models import TimeStampedModel
from chama.money import MoneyField, non_negative
from finance.models.ledger import Journal
from finance.shareout import ROUNDING_UNITS
from groups.models import Chama, Membership


class SavingsCycle(TimeStampedModel):
    class Status(models.TextChoices):
        ACTIVE = "active", "Running"
        SHARING_OUT = "sharing_out", "Sharing out (waiting for a second officer)"
        CLOSED = "closed", "Closed (shared out)"

    class Remainder(models.TextChoices):
        NEXT_CYCLE = "next_cycle", "Carried to the next cycle"
        SOCIAL_FUND = "social_fund", "Given to the social fund"

    OPEN_STATUSES = (Status.ACTIVE, Status.SHARING_OUT)

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="savings_cycles")
    name = models.CharField(max_length=100)
    share_price = MoneyField(help_text="Price of one share while the cycle runs.")
    shares_min_per_meeting = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])
    shares_max_per_meeting = models.PositiveSmallIntegerField(default=5, validators=[MinValueValidator(1)])
    start_date = models.DateField()
    planned_end_date = models.DateField(help_text="The share-out meeting planned (usually 9 to 12 months on).")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    rounding_unit = models.DecimalField(
        max_digits=4,
        decimal_places=2,
        default=1,
        choices=[(unit, f"{unit:g}") for unit in ROUNDING_UNITS],
        help_text="Payouts are rounded down to this; what rounding leaves is the remainder.",
    )
    remainder_to = models.CharField(max_length=20, choices=Remainder.choices, default=Remainder.NEXT_CYCLE)
    # A foreign key with a unique (chama, previous) rather than a one-to-one: every unique index of
    # a tenant table leads with its chama.
    previous = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="following",
        help_text="The cycle this one follows: members who rolled over start with their payout in shares.",
    )
    closed_date = models.DateField(null=True, blank=True, help_text="The share-out's date.")
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["chama", "-start_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["chama"],
                condition=Q(status__in=["active", "sharing_out"]),
                name="savings_cycle_one_open",
                violation_error_message="This chama already has a savings cycle running; share it out first.",
            ),
            models.UniqueConstraint(
                fields=["chama", "previous"], condition=Q(previous__isnull=False), name="savings_cycle_follows_once"
            ),
            models.UniqueConstraint(
                fields=["chama", "name"],
                name="savings_cycle_name_once",
                violation_error_message="This chama already has a cycle of that name.",
            ),
            models.CheckConstraint(
                condition=Q(share_price__gt=0),
                name="savings_cycle_price_positive",
                violation_error_message="The share price must be more than zero.",
            ),
            models.CheckConstraint(
                condition=Q(shares_min_per_meeting__lte=models.F("shares_max_per_meeting")),
                name="savings_cycle_min_le_max",
                violation_error_message="The minimum shares per meeting cannot exceed the maximum.",
            ),
            models.CheckConstraint(
                condition=Q(planned_end_date__gt=models.F("start_date")),
                name="savings_cycle_ends_after_start",
                violation_error_message="The planned end must come after the start.",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.get_status_display().lower()})"

    @property
    def is_open(self):
        return self.status in self.OPEN_STATUSES


class ShareOutChoice(TimeStampedModel):
    """What a member wants done with their payout: paid in cash, or rolled over into the next
    cycle's shares (whole shares at its price; what is less than a share is paid)."""

    class Choice(models.TextChoices):
        CASH = "cash", "Pay it to me"
        ROLLOVER = "rollover", "Roll it over into shares of the next cycle"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="+")
    cycle = models.ForeignKey(SavingsCycle, on_delete=models.CASCADE, related_name="choices")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="share_out_choices")
    choice = models.CharField(max_length=10, choices=Choice.choices, default=Choice.CASH)

    class Meta:
        ordering = ["cycle", "membership"]
        constraints = [models.UniqueConstraint(fields=["chama", "cycle", "membership"], name="share_out_choice_once")]

    def __str__(self):
        return f"{self.membership}: {self.get_choice_display().lower()}"


class ShareOut(TimeStampedModel):
    """A share-out asked for by one officer and posted when a second officer approves: the whole
    cycle's (no member), or one member's who leaves mid-cycle, for their shares at that day's value."""

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting a second officer"
        POSTED = "posted", "Posted"
        REJECTED = "rejected", "Rejected"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="+")
    cycle = models.ForeignKey(SavingsCycle, on_delete=models.PROTECT, related_name="share_outs")
    membership = models.ForeignKey(
        Membership,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="share_outs",
        help_text="A member leaving mid-cycle; empty for the whole cycle's share-out.",
    )
    method = models.CharField(max_length=10, help_text="How payouts are paid: cash, mpesa, bank or cheque.")
    value_date = models.DateField(help_text="The share-out's date.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    next_cycle_name = models.CharField(
        max_length=100, blank=True, help_text="The cycle opened by the share-out (rolled-over shares go there)."
    )
    next_planned_end_date = models.DateField(null=True, blank=True)
    fund = MoneyField(null=True, blank=True, help_text="The distributable fund when posted.")
    value_per_share = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    total_shares = models.PositiveIntegerField(null=True, blank=True)
    remainder = MoneyField(null=True, blank=True, help_text="What rounding left, and where it went (the cycle's rule).")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["chama", "cycle"],
                condition=Q(membership__isnull=True) & ~Q(status="rejected"),
                name="share_out_cycle_once",
                violation_error_message="This cycle's share-out is already posted or waiting for a second officer.",
            ),
            models.UniqueConstraint(
                fields=["chama", "cycle", "membership"],
                condition=Q(membership__isnull=False) & ~Q(status="rejected"),
                name="share_out_member_once",
                violation_error_message="This member's share-out is already posted or waiting for a second officer.",
            ),
        ]

    def __str__(self):
        who = self.membership.member_number if self.membership_id else "all members"
        return f"{self.cycle.name}: share-out to {who} ({self.get_status_display().lower()})"


class ShareOutLine(TimeStampedModel):
    """One member's part of a posted share-out, as the preview showed it."""

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="+")
    share_out = models.ForeignKey(ShareOut, on_delete=models.PROTECT, related_name="lines")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="share_out_lines")
    shares = models.PositiveIntegerField()
    savings = MoneyField(help_text="Shares × the share price.")
    profit_share = MoneyField(help_text="Gross payout − savings (negative when the cycle lost money).")
    deductions = MoneyField(validators=non_negative(), help_text="Taken towards loans and fines owed.")
    net_payout = MoneyField(validators=non_negative())
    rolled_over = MoneyField(default=0, help_text="Of the net payout, what bought shares of the next cycle.")
    still_owed = MoneyField(default=0, help_text="What the member still owes after the deductions.")
    journal = models.ForeignKey(Journal, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["share_out", "membership"]
        constraints = [models.UniqueConstraint(fields=["chama", "share_out", "membership"], name="share_out_line_once")]

    def __str__(self):
        return f"{self.membership}: {self.net_payout}"

    @property
    def paid(self):
        return self.net_payout - self.rolled_over
