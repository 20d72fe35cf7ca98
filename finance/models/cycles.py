"""Merry-go-round cycles (ROSCA): who receives the pot in which round, and when each round falls."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q

from chama.models import TimeStampedModel
from chama.money import MoneyField, non_negative
from finance.models.ledger import Journal
from finance.periods import add_months
from groups.models import Chama, Membership, Policy


class RoscaCycle(TimeStampedModel):
    """One turn of a merry-go-round: every member contributes each round and one member, in the
    roster's order, receives the pot; there are as many rounds as members on the roster."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft (the roster is being set)"
        ACTIVE = "active", "Running"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    class RosterMethod(models.TextChoices):
        DRAW = "draw", "By draw (a recorded seed anyone can re-check)"
        AGREEMENT = "agreement", "By agreement (officers enter the order)"

    class PayoutRule(models.TextChoices):
        FULL = "full", "The pot is paid once every member has paid the round"
        COLLECTED = "collected", "What was collected is paid; the members behind still owe it"

    class DiscountTo(models.TextChoices):
        MEMBERS = "members", "Shared among the round's other members (towards their next contributions)"
        INCOME = "income", "Kept by the chama as income"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="rosca_cycles")
    name = models.CharField(max_length=100)
    contribution = MoneyField(help_text="What every member pays into the pot each round.")
    frequency = models.CharField(max_length=20, choices=Policy.Frequency.choices, default=Policy.Frequency.MONTHLY)
    start_date = models.DateField(help_text="The first round's date; each later round is one period after it.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    roster_method = models.CharField(max_length=20, choices=RosterMethod.choices, default=RosterMethod.DRAW)
    payout_rule = models.CharField(max_length=20, choices=PayoutRule.choices, default=PayoutRule.FULL)
    draw_seed = models.CharField(
        max_length=64, blank=True, help_text="The draw's seed: with the member numbers it gives the order (README)."
    )
    bidding = models.BooleanField(
        default=False,
        help_text="Each round goes to the member still waiting who bids the highest discount on the pot; "
        "without a bid, to the member the roster names.",
    )
    discount_to = models.CharField(
        max_length=10,
        choices=DiscountTo.choices,
        default=DiscountTo.MEMBERS,
        help_text="Bidding: where the winning discount goes.",
    )
    started_at = models.DateTimeField(null=True, blank=True, help_text="When the roster was published and dues began.")
    plan = models.ForeignKey(
        "finance.ContributionPlan",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rosca_cycles",
        help_text="The plan raising each round's contributions into the pot (made when the cycle starts).",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["chama", "-start_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(contribution__gt=0),
                name="rosca_contribution_positive",
                violation_error_message="The contribution must be more than zero.",
            ),
            models.UniqueConstraint(
                fields=["chama", "name"],
                name="rosca_cycle_name_once",
                violation_error_message="This chama already has a cycle of that name.",
            ),
            models.UniqueConstraint(
                fields=["chama", "plan"], condition=Q(plan__isnull=False), name="rosca_cycle_plan_once"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.get_status_display().lower()})"

    @property
    def pot_per_round(self):
        """What each round's recipient receives when everyone has paid (read from `slots`)."""
        return self.contribution * len(self.slots.all())

    def round_date(self, number: int):
        """The date of round `number` (1 is the start date)."""
        if self.frequency == Policy.Frequency.MONTHLY:
            return add_months(self.start_date, number - 1)
        days = 7 if self.frequency == Policy.Frequency.WEEKLY else 14
        return self.start_date + timedelta(days=days * (number - 1))


class RosterSlot(TimeStampedModel):
    """A member's place on a cycle's roster: they receive the pot in round `position`."""

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="+")
    cycle = models.ForeignKey(RoscaCycle, on_delete=models.CASCADE, related_name="slots")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="rosca_slots")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["cycle", "position"]
        constraints = [
            models.UniqueConstraint(fields=["chama", "cycle", "position"], name="roster_position_once"),
            models.UniqueConstraint(fields=["chama", "cycle", "membership"], name="roster_member_once"),
            models.CheckConstraint(condition=Q(position__gte=1), name="roster_position_from_one"),
        ]

    def __str__(self):
        return f"Round {self.position}: {self.membership}"


class RoscaPayout(TimeStampedModel):
    """A round's pot paid to the member whose round it is: posted at once up to the chama's
    threshold, above it once a second officer approves (never the recipient). A round paid out
    short (the `collected` rule) is topped up later with what the members behind paid since."""

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting a second officer"
        PAID = "paid", "Paid"
        REJECTED = "rejected", "Rejected"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="+")
    cycle = models.ForeignKey(RoscaCycle, on_delete=models.PROTECT, related_name="payouts")
    slot = models.ForeignKey(RosterSlot, on_delete=models.PROTECT, related_name="payouts")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="rosca_payouts")
    amount = MoneyField()
    shortfall = MoneyField(
        default=0, validators=non_negative(), help_text="What members behind on the round still owe it when paid."
    )
    discount = MoneyField(
        default=0,
        validators=non_negative(),
        help_text="Bidding: the winning bid, taken off what the recipient receives.",
    )
    method = models.CharField(max_length=10, help_text="How the pot was paid: cash, mpesa, bank or cheque.")
    reference = models.CharField(max_length=64, blank=True, help_text="M-Pesa, bank or cheque reference.")
    value_date = models.DateField(help_text="When the pot was (or is to be) paid.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    journal = models.ForeignKey(Journal, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_reason = models.CharField(max_length=255, blank=True)
    top_up_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="top_ups",
        help_text="A top-up: what members behind on the round paid after this payout, paid on to the recipient.",
    )

    class Meta:
        ordering = ["cycle", "slot__position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["chama", "slot"],
                condition=~Q(status="rejected") & Q(top_up_of__isnull=True),
                name="rosca_round_paid_once",
                violation_error_message="This round's pot is already paid or waiting for a second officer.",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="rosca_payout_positive"),
        ]

    def __str__(self):
        return f"{self.cycle.name}, round {self.slot.position}: {self.amount} to {self.membership}"


class RosterChange(TimeStampedModel):
    """A member asks to swap rounds with another member (who must agree) or to take their turn at
    the end; an officer approves, never one of the members concerned."""

    class Kind(models.TextChoices):
        SWAP = "swap", "Swap rounds with another member"
        DEFER = "defer", "Take my turn at the end"

    class Status(models.TextChoices):
        WAITING_PARTNER = "waiting_partner", "Waiting for the other member"
        WAITING_OFFICER = "waiting_officer", "Waiting for an officer"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined by the other member"
        REJECTED = "rejected", "Rejected by an officer"

    OPEN_STATUSES = (Status.WAITING_PARTNER, Status.WAITING_OFFICER)

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="+")
    cycle = models.ForeignKey(RoscaCycle, on_delete=models.PROTECT, related_name="changes")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="roster_changes")
    other = models.ForeignKey(
        Membership,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Swaps: the other member.",
    )
    status = models.CharField(max_length=20, choices=Status.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_date", "-id"]

    def __str__(self):
        if self.kind == self.Kind.SWAP:
            return f"{self.cycle.name}: {self.membership.member_number} swaps with {self.other.member_number}"
        return f"{self.cycle.name}: {self.membership.member_number} defers to the end"


class RoscaBid(TimeStampedModel):
    """A member's bid for a round of a bidding cycle: the discount on the pot they accept to receive
    it. Sealed: the member and the officers see it; the winning discount shows on the payout."""

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="+")
    cycle = models.ForeignKey(RoscaCycle, on_delete=models.PROTECT, related_name="bids")
    position = models.PositiveSmallIntegerField(help_text="The round bid for.")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="rosca_bids")
    discount = MoneyField(validators=non_negative())

    class Meta:
        ordering = ["cycle", "position", "-discount", "updated_date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["chama", "cycle", "position", "membership"], name="rosca_bid_once"),
        ]

    def __str__(self):
        return f"{self.cycle.name}, round {self.position}: {self.membership.member_number} bids {self.discount}"


class RoscaExit(TimeStampedModel):
    """A member leaving a running merry-go-round, settled so that nobody gains or loses by it: one
    who had received the pot owes the rounds still to come; one who had not is owed what they paid
    in, which each earlier recipient pays back (what they received from them) and the chama passes
    on. A second officer approves it, never the member."""

    class Kind(models.TextChoices):
        RECEIVED = "received", "Had received the pot: owes the rounds still to come"
        WAITING = "waiting", "Had not received the pot: is owed what they paid in"

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting a second officer"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="+")
    cycle = models.ForeignKey(RoscaCycle, on_delete=models.PROTECT, related_name="exits")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="rosca_exits")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    position = models.PositiveSmallIntegerField(help_text="The member's round when they left.")
    amount = MoneyField(
        default=0, validators=non_negative(), help_text="What the member owes (received) or is owed (waiting)."
    )
    refunded = MoneyField(default=0, validators=non_negative(), help_text="Of what they are owed, paid back so far.")
    reason = models.CharField(max_length=255)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["chama", "cycle", "membership"],
                condition=~Q(status="rejected"),
                name="rosca_exit_once",
                violation_error_message="This member's exit from the cycle is already recorded.",
            ),
        ]

    def __str__(self):
        return f"{self.cycle.name}: {self.membership.member_number} leaves ({self.get_status_display().lower()})"

    @property
    def levy_label(self):
        """The period label of the dues that pay a waiting member back (`Due.period_label`)."""
        return f"exit-{self.pk}"
