from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField

from chama import tenancy


class TimeStampedModel(models.Model):
    """Every table carries the seeds' audit stamps."""

    created_date = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_date = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def get_additional_data(self):
        # django-auditlog stores this with each log entry, so officers see their chama's history.
        # Only rows owned by exactly one chama carry it; a person's record stays platform-level.
        if tenancy.chama_lookup(type(self)) in ("chama", "pk"):
            chama_ids = tenancy.chama_ids_of(self)
            if chama_ids:
                return {"chama_id": next(iter(chama_ids))}
        return None


def normalize_email(email):
    """Emails are compared case-insensitively; a blank one is stored as NULL so it stays unique."""
    return (email or "").strip().lower() or None


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, phone_number, password, **extra_fields):
        if not phone_number:
            raise ValueError("A phone number is required.")
        email = extra_fields.pop("email", None)
        user = self.model(phone_number=phone_number, email=normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, phone_number, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(phone_number, password, **extra_fields)

    def create_superuser(self, phone_number, password=None, **extra_fields):
        extra_fields["is_staff"] = True
        extra_fields["is_superuser"] = True
        return self._create_user(phone_number, password, **extra_fields)


class User(TimeStampedModel, AbstractBaseUser, PermissionsMixin):
    """A person. Their role in each chama lives on their membership of it, not here."""

    class KycStatus(models.TextChoices):
        PENDING = "pending", "Pending"
        VERIFIED = "verified", "Verified"
        REJECTED = "rejected", "Rejected"
        EXPIRED = "expired", "Expired"

    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    phone_number = PhoneNumberField(
        unique=True,
        help_text="Mobile number; Kenyan numbers may be typed as 07XX XXX XXX. Stored in E.164 (+2547…).",
        error_messages={"unique": "A person with this phone number is already registered."},
    )
    # NULL, not "", for no email: the case-insensitive unique constraint must let many people have none.
    email = models.EmailField(blank=True, null=True, help_text="Optional; also works as a login.")  # noqa: DJ001
    id_number = models.CharField("national ID number", max_length=20, blank=True)
    kyc_status = models.CharField("KYC status", max_length=10, choices=KycStatus.choices, default=KycStatus.PENDING)
    is_active = models.BooleanField(default=True, help_text="Untick instead of deleting a person.")
    is_staff = models.BooleanField(
        "staff status", default=False, help_text="May log in to the back office (officers and platform staff)."
    )
    failed_login_attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    account_locked_until = models.DateTimeField(
        null=True, blank=True, help_text="Logins are refused until then, after repeated wrong passwords."
    )

    objects = UserManager()

    USERNAME_FIELD = "phone_number"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["first_name", "last_name"]
    chama_lookup = "memberships__chama"

    class Meta:
        ordering = ["first_name", "last_name"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="user_email_unique_ci",
                violation_error_message="A person with this email is already registered.",
            ),
            models.UniqueConstraint(
                fields=["id_number"],
                condition=~models.Q(id_number=""),
                name="user_id_number_unique",
                violation_error_message="A person with this national ID number is already registered.",
            ),
        ]

    def __str__(self):
        return f"{self.get_full_name()} ({self.phone_number})"

    def clean(self):
        super().clean()
        self.email = normalize_email(self.email)
        self.id_number = self.id_number.strip()

    def get_full_name(self):
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self):
        return self.first_name

    @property
    def is_locked(self):
        return self.account_locked_until is not None and self.account_locked_until > timezone.now()

    def get_additional_data(self):
        # A person's record belongs to no one chama, but a change made for one (an officer
        # unlocking a member's login sets `audit_note`) names it, so its officers see it too.
        return getattr(self, "audit_note", None) or super().get_additional_data()


class Notification(TimeStampedModel):
    """A message to one person, shown in the app and, by their preferences, sent by email and SMS."""

    class Kind(models.TextChoices):
        GENERAL = "general", "General"
        MEETING_REMINDER = "meeting_reminder", "Meeting reminder"
        PAYMENT_RECEIPT = "payment_receipt", "Payment receipt"
        PROPOSAL = "proposal", "Proposal"
        SIGNATURE = "signature", "Waiting for your signature"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.GENERAL)
    title = models.CharField(max_length=150)
    body = models.TextField()
    dedupe_key = models.CharField(max_length=100, blank=True, help_text="The same key is never sent twice to a person.")
    read_date = models.DateTimeField(null=True, blank=True)
    expires_date = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "dedupe_key"], condition=~models.Q(dedupe_key=""), name="notification_once_per_key"
            ),
        ]
        indexes = [models.Index(fields=["user", "read_date"])]

    def __str__(self):
        return f"{self.title} → {self.user}"


class NotificationPreference(TimeStampedModel):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="notification_preference")
    email = models.BooleanField(default=True, help_text="Also send notifications by email (when an email is known).")
    sms = models.BooleanField(default=True, help_text="Also send notifications by SMS.")

    def __str__(self):
        return f"Notification preferences of {self.user}"


class DeadLetter(TimeStampedModel):
    """A background task that failed on its last attempt: what it was, with what, and why.

    Platform staff see these in the back office and send one back to the queue with **Retry**;
    a retried letter keeps its row (when and by whom) so a second failure shows as a new one.
    """

    task_path = models.CharField(max_length=200, help_text="The task, e.g. chama.tasks.deliver_notification.")
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField()
    error = models.TextField(help_text="The last attempt's error.")
    retried_date = models.DateTimeField(null=True, blank=True)
    retried_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_date", "-id"]
        indexes = [models.Index(fields=["retried_date", "created_date"])]

    def __str__(self):
        return f"{self.task_path.rsplit('.', 1)[-1]} after {self.attempts} attempt(s)"
