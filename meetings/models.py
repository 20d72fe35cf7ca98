"""Meetings, their register, minutes, resolutions and action items; proposals and votes."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from chama.models import TimeStampedModel
from chama.uploads import IMAGES, PDF, WORD, DocumentField
from groups.models import Chama, Membership, Policy


class Meeting(TimeStampedModel):
    class Kind(models.TextChoices):
        REGULAR = "regular", "Regular"
        SPECIAL = "special", "Special"
        ANNUAL_GENERAL = "agm", "Annual general meeting"
        EMERGENCY = "emergency", "Emergency"
        COMMITTEE = "committee", "Committee"

    class Format(models.TextChoices):
        PHYSICAL = "physical", "In person"
        VIRTUAL = "virtual", "Online"
        HYBRID = "hybrid", "Hybrid"

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        HELD = "held", "Held"
        CANCELLED = "cancelled", "Cancelled"
        POSTPONED = "postponed", "Postponed"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="meetings")
    title = models.CharField(max_length=150)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.REGULAR)
    format = models.CharField(max_length=10, choices=Format.choices, default=Format.PHYSICAL)
    location = models.CharField(max_length=200, blank=True)
    link = models.URLField(blank=True, help_text="For online and hybrid meetings.")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    minutes = models.TextField(blank=True)
    minutes_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reminder_sent_date = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["chama", "starts_at"]), models.Index(fields=["status", "starts_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")),
                name="meeting_ends_after_start",
                violation_error_message="A meeting must end after it starts.",
            ),
        ]

    def __str__(self):
        return f"{self.title} ({self.starts_at:%d %b %Y})"


class AgendaItem(TimeStampedModel):
    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="+")
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda")
    position = models.PositiveSmallIntegerField(default=1)
    title = models.CharField(max_length=200)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["meeting", "position", "id"]

    def __str__(self):
        return self.title


class MinutesAttachment(TimeStampedModel):
    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="+")
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attachments")
    title = models.CharField(max_length=150)
    document = DocumentField(folder="minutes", types=[*PDF, *WORD, *IMAGES])

    def __str__(self):
        return self.title


class Resolution(TimeStampedModel):
    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="+")
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="resolutions")
    text = models.TextField()
    passed = models.BooleanField(default=True)

    def __str__(self):
        return self.text[:80]


class ActionItem(TimeStampedModel):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="+")
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="action_items")
    description = models.CharField(max_length=255)
    owner = models.ForeignKey(Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="action_items")
    due_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)

    def __str__(self):
        return self.description


class Attendance(TimeStampedModel):
    """One row per member per meeting in the register."""

    class Status(models.TextChoices):
        PRESENT = "present", "Present"
        LATE = "late", "Late"
        ABSENT = "absent", "Absent"
        EXCUSED = "excused", "Excused"
        APOLOGY = "apology", "Apology"

    ATTENDED = (Status.PRESENT, Status.LATE)
    EXCUSED_STATUSES = (Status.EXCUSED, Status.APOLOGY)

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="+")
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendance")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="attendance")
    status = models.CharField(max_length=10, choices=Status.choices)
    arrived_at = models.TimeField(null=True, blank=True)
    left_at = models.TimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["meeting", "membership__member_number"]
        verbose_name_plural = "attendance"
        constraints = [
            models.UniqueConstraint(fields=["meeting", "membership", "chama"], name="attendance_once_per_member")
        ]

    def __str__(self):
        return f"{self.membership} at {self.meeting}: {self.get_status_display()}"


class Rsvp(TimeStampedModel):
    class Response(models.TextChoices):
        ATTENDING = "attending", "Attending"
        APOLOGY = "apology", "Apology"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="+")
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="rsvps")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="rsvps")
    response = models.CharField(max_length=10, choices=Response.choices)
    reason = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = "RSVP"
        constraints = [models.UniqueConstraint(fields=["meeting", "membership", "chama"], name="rsvp_once_per_member")]


class Proposal(TimeStampedModel):
    class Kind(models.TextChoices):
        GENERAL = "general", "General"
        LOAN = "loan", "Loan"
        EXPENSE = "expense", "Expense"
        CONSTITUTION = "constitution", "Constitution change"
        ADMISSION = "admission", "Member admission"

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Opens later"
        OPEN = "open", "Open for voting"
        CLOSED = "closed", "Closed"

    class Result(models.TextChoices):
        PASSED = "passed", "Passed"
        REJECTED = "rejected", "Rejected"
        NO_QUORUM = "no_quorum", "No quorum"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="proposals")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.GENERAL)
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    pass_threshold = models.CharField(
        max_length=12, choices=Policy.PassThreshold.choices, help_text="Taken from the policy when created."
    )
    quorum_percentage = models.DecimalField(
        max_digits=5, decimal_places=2, help_text="Taken from the policy when created."
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    eligible_count = models.PositiveIntegerField(default=0)
    yes_count = models.PositiveIntegerField(default=0)
    no_count = models.PositiveIntegerField(default=0)
    abstain_count = models.PositiveIntegerField(default=0)
    result = models.CharField(max_length=10, choices=Result.choices, blank=True)

    class Meta:
        ordering = ["-opens_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=models.F("opens_at")),
                name="proposal_closes_after_opening",
                violation_error_message="Voting must close after it opens.",
            )
        ]

    def __str__(self):
        return self.title


class EligibleVoter(TimeStampedModel):
    """The active members when the proposal opened: only they may vote."""

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="+")
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="eligible_voters")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["proposal", "membership", "chama"], name="eligible_voter_once")]


class Vote(TimeStampedModel):
    class Choice(models.TextChoices):
        YES = "yes", "Yes"
        NO = "no", "No"
        ABSTAIN = "abstain", "Abstain"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="+")
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="votes")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="votes")
    choice = models.CharField(max_length=10, choices=Choice.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["proposal", "membership", "chama"], name="vote_once_per_member")]
