import secrets
import zoneinfo
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField

from chama import authority
from chama.models import TimeStampedModel
from chama.money import MoneyField, non_negative
from chama.roles import MembershipStatus, Role
from chama.uploads import PDF, WORD, DocumentField


def validate_timezone(value):
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a time zone name such as Africa/Nairobi.")


def percentage():
    return [
        MinValueValidator(0, "A percentage cannot be negative."),
        MaxValueValidator(100, "A percentage cannot exceed 100."),
    ]


class Chama(TimeStampedModel):
    class Category(models.TextChoices):
        SAVINGS = "savings", "Savings"
        INVESTMENT = "investment", "Investment"
        CREDIT = "credit", "Credit"
        WELFARE = "welfare", "Welfare"
        MIXED = "mixed", "Mixed"

    class Kind(models.TextChoices):
        VSLA = "vsla", "VSLA (village savings and loan association)"
        ASCA = "asca", "ASCA / table banking"
        ROSCA = "rosca", "Merry-go-round (ROSCA)"
        INVESTMENT_CLUB = "investment_club", "Investment club"
        WELFARE = "welfare", "Welfare group"
        HYBRID = "hybrid", "Hybrid"

    class Status(models.TextChoices):
        FORMING = "forming", "Forming"
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        DISSOLVED = "dissolved", "Dissolved"

    # Allowed status changes; a dissolved chama stays dissolved (its books remain readable).
    STATUS_FLOW = {
        Status.FORMING: {Status.ACTIVE, Status.DISSOLVED},
        Status.ACTIVE: {Status.SUSPENDED, Status.DISSOLVED},
        Status.SUSPENDED: {Status.ACTIVE, Status.DISSOLVED},
        Status.DISSOLVED: set(),
    }

    name = models.CharField(max_length=150)
    category = models.CharField(max_length=20, choices=Category.choices, default=Category.SAVINGS)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.ASCA)
    currency = models.CharField(
        max_length=3, default="KES", help_text="ISO 4217 code; every amount in this chama is in it."
    )
    registration_number = models.CharField(
        max_length=50, blank=True, help_text="Registration with the Department of Social Development, if any."
    )
    timezone = models.CharField(max_length=64, default="Africa/Nairobi", validators=[validate_timezone])
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.FORMING)
    founded_date = models.DateField(
        null=True,
        blank=True,
        help_text="When the chama started keeping its books: no money is posted before it. Blank: the day it was added here.",
    )
    description = models.TextField(blank=True)
    constitution = DocumentField(
        folder="constitutions",
        types=[*PDF, *WORD, "odt", "txt"],
        blank=True,
        help_text="The signed constitution (PDF or Word).",
    )
    members_count = models.PositiveIntegerField(
        default=0, editable=False, help_text="Active members; kept automatically."
    )

    chama_lookup = "pk"

    class Meta:
        ordering = ["name"]
        verbose_name = "chama"
        verbose_name_plural = "chamas"
        constraints = [
            models.UniqueConstraint(
                fields=["registration_number"],
                condition=~Q(registration_number=""),
                name="chama_registration_number_unique",
                violation_error_message="Another chama has this registration number.",
            ),
        ]

    def __str__(self):
        return self.name

    def today(self):
        """Today's date in the chama's time zone."""
        return timezone.localdate(timezone=zoneinfo.ZoneInfo(self.timezone))

    @property
    def start_date(self):
        """The first day money may be dated: the founding date, else the day the chama was added."""
        if self.founded_date:
            return self.founded_date
        return (
            timezone.localdate(self.created_date, timezone=zoneinfo.ZoneInfo(self.timezone))
            if self.created_date
            else self.today()
        )

    def clean(self):
        super().clean()
        self.currency = (self.currency or "").upper()
        if len(self.currency) != 3 or not self.currency.isalpha():
            raise ValidationError({"currency": "Use a three-letter ISO 4217 code such as KES."})
        if self.founded_date and self.timezone in zoneinfo.available_timezones() and self.founded_date > self.today():
            raise ValidationError({"founded_date": "A chama cannot be founded in the future."})


class Policy(TimeStampedModel):
    """The chama's rules from its constitution, which the money, loan and meeting features read."""

    class Frequency(models.TextChoices):
        WEEKLY = "weekly", "Weekly"
        FORTNIGHTLY = "fortnightly", "Fortnightly"
        MONTHLY = "monthly", "Monthly"

    class FineKind(models.TextChoices):
        FLAT = "flat", "Flat amount"
        PERCENT = "percent", "Percentage of the arrears"

    class FineRecurrence(models.TextChoices):
        ONCE = "once", "Once per late due"
        EVERY_PERIOD = "every_period", "Every period it stays late"

    class RatePeriod(models.TextChoices):
        MONTH = "month", "Per month"
        YEAR = "year", "Per year"

    class PaybillRemainder(models.TextChoices):
        ADVANCE = "advance", "Keep it as an advance"
        SHARES = "shares", "Buy shares"

    chama = models.OneToOneField(Chama, on_delete=models.CASCADE, related_name="policy")

    contribution_amount = MoneyField(default=0, validators=non_negative(), help_text="Regular contribution per period.")
    contribution_frequency = models.CharField(max_length=20, choices=Frequency.choices, default=Frequency.MONTHLY)
    contribution_due_day = models.PositiveSmallIntegerField(
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(31)],
        help_text="Monthly: day of the month (clamped to the month's end). Weekly/fortnightly: 1 = Monday … 7 = Sunday.",
    )
    grace_days = models.PositiveSmallIntegerField(default=3, help_text="Days after the due day before a due is late.")
    late_fine_kind = models.CharField(max_length=10, choices=FineKind.choices, default=FineKind.FLAT)
    late_fine_amount = MoneyField(default=0, validators=non_negative(), help_text="Flat late fine.")
    late_fine_rate = models.DecimalField(
        max_digits=5, decimal_places=2, default=0, validators=percentage(), help_text="Late fine as % of the arrears."
    )
    late_fine_recurrence = models.CharField(max_length=20, choices=FineRecurrence.choices, default=FineRecurrence.ONCE)

    share_price = MoneyField(default=0, validators=non_negative(), help_text="Price of one share (VSLA/ASCA).")
    shares_min_per_meeting = models.PositiveSmallIntegerField(default=1)
    shares_max_per_meeting = models.PositiveSmallIntegerField(default=5)
    paybill_remainder = models.CharField(
        max_length=10,
        choices=PaybillRemainder.choices,
        default=PaybillRemainder.ADVANCE,
        help_text="What an M-Pesa payment does once it has settled the member's open dues: wait as an advance "
        "for the next dues, or buy whole shares at the share price, up to the maximum per meeting that day "
        "(the rest, less than a share or above the maximum, waits as an advance). Shares need a share price.",
    )

    loan_interest_rate = models.DecimalField(max_digits=6, decimal_places=3, default=10, validators=percentage())
    loan_interest_period = models.CharField(max_length=10, choices=RatePeriod.choices, default=RatePeriod.MONTH)
    loan_max_savings_multiple = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        default=3,
        validators=[MinValueValidator(0)],
        help_text="Largest loan as a multiple of the member's savings.",
    )
    loan_min_membership_days = models.PositiveIntegerField(
        default=90, help_text="Days of membership before a first loan."
    )
    loan_max_concurrent = models.PositiveSmallIntegerField(default=1, help_text="Loans a member may hold at once.")
    loan_approvals_required = models.PositiveSmallIntegerField(default=2, validators=[MinValueValidator(1)])
    loan_min_attendance_percentage = models.DecimalField(
        max_digits=5, decimal_places=2, default=0, validators=percentage()
    )
    loan_default_days = models.PositiveSmallIntegerField(
        default=90, help_text="A loan with an installment overdue this many days is in default."
    )

    quorum_percentage = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=50,
        validators=percentage(),
        help_text="Active members present for a quorum.",
    )

    class ExcusedCount(models.TextChoices):
        ATTENDED = "attended", "Count as attended"
        EXCLUDED = "excluded", "Leave out of the count"
        ABSENT = "absent", "Count as absent"

    class PassThreshold(models.TextChoices):
        SIMPLE = "simple", "Simple majority of yes over no"
        TWO_THIRDS = "two_thirds", "Two thirds of yes and no votes"

    meeting_frequency = models.CharField(max_length=20, choices=Frequency.choices, default=Frequency.MONTHLY)
    meeting_day = models.PositiveSmallIntegerField(
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(31)],
        help_text="Monthly: day of the month (clamped). Weekly/fortnightly: 1 = Monday … 7 = Sunday.",
    )
    meeting_time = models.TimeField(
        default="14:00", help_text="Regular meetings start at this time (chama's time zone)."
    )
    meeting_duration_minutes = models.PositiveSmallIntegerField(default=120)
    excused_absences = models.CharField(
        max_length=10,
        choices=ExcusedCount.choices,
        default=ExcusedCount.EXCLUDED,
        help_text="How excused absences and apologies count in attendance.",
    )
    absence_fine_amount = MoneyField(
        default=0, validators=non_negative(), help_text="Fine for an absence without apology."
    )
    lateness_fine_amount = MoneyField(default=0, validators=non_negative(), help_text="Fine for arriving late.")
    vote_pass_threshold = models.CharField(max_length=12, choices=PassThreshold.choices, default=PassThreshold.SIMPLE)
    second_approval_threshold = MoneyField(
        default=10000,
        validators=non_negative(),
        help_text="Waivers, payouts and other sensitive operations above this amount need a second officer.",
    )
    approval_window_days = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(366)],
        help_text="The threshold applies to the total for one member over this many days, so splitting does not escape it.",
    )
    # One officer may edit the policy, so the policy may only narrow the window: were it allowed to
    # widen it, a treasurer could open the old books alone, past the two signatures backdating needs.
    backdating_window_days = models.PositiveSmallIntegerField(
        default=31,
        validators=[MinValueValidator(0), MaxValueValidator(31)],
        help_text="Money may be dated at most this many days before the day it is recorded (0 to 31); further back "
        "needs the chairperson and a second officer to approve backdating.",
    )
    authority = models.JSONField(
        default=dict,
        blank=True,
        help_text='Tighten who may act: {"action": ["role", …]}, e.g. {"reverse_journal": ["chairperson"]}. '
        "A role can only be taken away from the defaults, never added.",
    )

    class Meta:
        verbose_name_plural = "policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(shares_min_per_meeting__lte=models.F("shares_max_per_meeting")),
                name="policy_shares_min_le_max",
                violation_error_message="The minimum shares per meeting cannot exceed the maximum.",
            ),
            models.CheckConstraint(
                condition=Q(paybill_remainder="advance") | Q(share_price__gt=0),
                name="policy_paybill_shares_need_price",
                violation_error_message="M-Pesa payments can buy shares only once the share price is set.",
            ),
        ]

    def __str__(self):
        return f"Policy of {self.chama}"

    def clean(self):
        super().clean()
        self.authority = clean_authority(self.authority)
        price = self.share_price  # a Decimal once its field is clean; left as typed when it is not
        if self.paybill_remainder == self.PaybillRemainder.SHARES and not (isinstance(price, Decimal) and price > 0):
            raise ValidationError(
                {"paybill_remainder": "Set a share price above zero first: M-Pesa payments buy shares at that price."}
            )


def clean_authority(overrides):
    """A policy's tightening of the authority matrix: known actions, roles among the defaults, never empty."""
    if overrides in (None, ""):
        return {}
    if not isinstance(overrides, dict):
        raise ValidationError({"authority": 'Give a JSON object such as {"reverse_journal": ["chairperson"]}.'})
    errors = []
    for name, roles in overrides.items():
        known = authority.actions().get(name)
        if known is None:
            errors.append(f"{name!r} is not an action (see the authority matrix).")
        elif not isinstance(roles, list) or not roles or not all(isinstance(role, str) for role in roles):
            errors.append(f"{name}: list at least one role.")
        elif not set(roles) <= known.roles:
            extra = ", ".join(sorted(set(roles) - known.roles))
            errors.append(f"{name}: {extra} may not do this by default; a policy can only take roles away.")
    if errors:
        raise ValidationError({"authority": errors})
    return overrides


class MembershipQuerySet(models.QuerySet):
    """`members_count` is kept by signals, which bulk writes skip: they are refused — except for
    the cached figures other apps keep on a membership (they never touch status or chama)."""

    CACHED_FIELDS = frozenset({"attendance_percentage", "updated_date"})

    def update(self, **kwargs):
        if not set(kwargs) <= self.CACHED_FIELDS:
            raise TypeError(
                "Membership rows change through groups.services, one at a time, so members_count stays right."
            )
        return super().update(**kwargs)

    def bulk_create(self, *args, **kwargs):
        raise TypeError("Membership rows are created through groups.services, so members_count stays right.")

    def bulk_update(self, *args, **kwargs):
        raise TypeError("Membership rows change through groups.services, so members_count stays right.")


class Membership(TimeStampedModel):
    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships")
    member_number = models.CharField(max_length=20, help_text="The chama's own number for the member, e.g. M007.")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    status = models.CharField(max_length=20, choices=MembershipStatus.choices, default=MembershipStatus.ACTIVE)
    joined_date = models.DateField(null=True, blank=True)
    exited_date = models.DateField(null=True, blank=True)
    exit_reason = models.CharField(max_length=255, blank=True)
    attendance_percentage = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        editable=False,
        help_text="Share of held meetings attended (empty until a meeting is held); kept automatically.",
    )

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["chama", "member_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["chama", "user"],
                name="membership_one_per_person",
                violation_error_message="This person is already a member of the chama.",
            ),
            models.UniqueConstraint(
                fields=["chama", "member_number"],
                name="membership_number_unique",
                violation_error_message="This member number is already in use in the chama.",
            ),
        ]
        indexes = [models.Index(fields=["user", "status"])]

    def __str__(self):
        return f"{self.user.get_full_name()} — {self.chama} ({self.get_role_display()})"

    @property
    def is_active(self):
        return self.status == MembershipStatus.ACTIVE


class MembershipChangeRequest(TimeStampedModel):
    """A change to a membership that waits for a second officer, and the record of every change of
    member number (M-Pesa matching reads them: a number changed lately matches nobody).

    A change that needed no second officer is recorded as approved by the officer who made it.
    """

    class Kind(models.TextChoices):
        STATUS = "status", "Status"
        ROLE = "role", "Role"
        MEMBER_NUMBER = "member_number", "Member number"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a second officer"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="membership_changes")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="change_requests")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    previous_value = models.CharField(max_length=20, help_text="The status, role or member number before the change.")
    requested_value = models.CharField(max_length=20)
    reason = models.CharField(max_length=255, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_date = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_date"]
        verbose_name = "membership change"
        verbose_name_plural = "membership changes"
        constraints = [
            models.UniqueConstraint(
                fields=["chama", "membership", "kind"],
                condition=Q(status="pending"),
                name="membership_change_one_pending",
                violation_error_message="A change of this kind already waits for a second officer on this membership.",
            ),
        ]
        indexes = [models.Index(fields=["chama", "kind", "status", "decided_date"])]

    def __str__(self):
        return f"{self.summary} ({self.get_status_display().lower()})"

    @property
    def summary(self):
        """E.g. "Status of Jane Wanjiku (M001): active → suspended"."""
        person = self.membership.user.get_full_name()
        return (
            f"{self.get_kind_display()} of {person} ({self.membership.member_number}): "
            f"{self._label(self.previous_value)} → {self._label(self.requested_value)}"
        )

    def _label(self, value):
        choices = {self.Kind.STATUS: MembershipStatus, self.Kind.ROLE: Role}.get(self.kind)
        if choices is not None and value in choices.values:
            return str(choices(value).label).lower()
        return value


class JoinRequest(TimeStampedModel):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"
        WITHDRAWN = "withdrawn", "Withdrawn"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="join_requests")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="join_requests")
    message = models.TextField(blank=True, max_length=1000)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_date = models.DateTimeField(null=True, blank=True)
    decline_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["chama", "user"],
                condition=Q(status="pending"),
                name="join_request_one_pending",
                violation_error_message="You already have a pending request to join this chama.",
            ),
        ]

    def __str__(self):
        return f"{self.user.get_full_name()} → {self.chama} ({self.get_status_display()})"


def new_invitation_token():
    return secrets.token_urlsafe(32)


def invitation_expiry():
    return timezone.now() + timedelta(days=settings.INVITATION_VALID_DAYS)


class Invitation(TimeStampedModel):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="invitations")
    phone_number = PhoneNumberField(blank=True)
    email = models.EmailField(blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    member_number = models.CharField(
        max_length=20,
        blank=True,
        help_text="The member number to give on acceptance if still free; blank: the next one.",
    )
    token = models.CharField(max_length=64, default=new_invitation_token, editable=False)
    expires_date = models.DateTimeField(default=invitation_expiry)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    accepted_date = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_date"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(phone_number="") | ~Q(email=""),
                name="invitation_has_recipient",
                violation_error_message="Give the phone number or the email of the person to invite.",
            ),
            # Token first: accepting looks the invitation up by its token alone (256 random bits).
            models.UniqueConstraint(fields=["token", "chama"], name="invitation_token_unique"),
        ]

    def __str__(self):
        return f"Invitation to {self.phone_number or self.email} ({self.chama})"

    @property
    def is_expired(self):
        return self.expires_date <= timezone.now()


class SecurityEvent(TimeStampedModel):
    """Something a chama's chairperson (and the platform's staff) should be able to look back on:
    a failed or locked login of one of its members, a money action refused, a refresh token used
    again after it was spent, an M-Pesa callback secret rotated (`groups.security`). A person in several chamas gets a row in each;
    a login for nobody known has no chama and only staff see it."""

    class Kind(models.TextChoices):
        LOGIN_FAILED = "login_failed", "Failed login"
        LOGIN_LOCKED = "login_locked", "Account locked after failed logins"
        REFUSED = "refused", "Money action refused"
        TOKEN_REUSE = "token_reuse", "Spent refresh token used again"
        SECRET_ROTATED = "secret_rotated", "Callback secret rotated"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    login = models.CharField(
        max_length=254,
        blank=True,
        help_text="What was typed as the login (failed logins): whole when it is someone's, else its start and length.",
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_date", "-id"]
        indexes = [models.Index(fields=["chama", "-created_date"], name="security_event_chama_newest")]

    def __str__(self):
        return f"{self.get_kind_display()}, {self.created_date:%d %b %Y %H:%M}"
