"""Approvals to post money dated further back than the chama's backdating window."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from chama.models import TimeStampedModel
from groups.models import Chama


class BackdatingApproval(TimeStampedModel):
    """The chairperson asks, a second officer approves through their own login: for a few days,
    money may then be dated as far back as `earliest_date` (e.g. to enter the paper books)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a second officer"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="backdating_approvals")
    earliest_date = models.DateField(help_text="Money may be dated as far back as this day.")
    reason = models.CharField(
        max_length=255, help_text="Why older money must be recorded, e.g. entering the paper books."
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_date = models.DateTimeField(null=True, blank=True)
    expires_date = models.DateTimeField(null=True, blank=True, help_text="Approved: postings may use it until then.")
    rejection_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_date"]
        verbose_name = "backdating approval"
        verbose_name_plural = "backdating approvals"
        constraints = [
            models.CheckConstraint(
                condition=Q(status="approved", expires_date__isnull=False) | ~Q(status="approved"),
                name="backdating_approved_expires",
            ),
        ]
        indexes = [models.Index(fields=["chama", "status", "earliest_date"])]

    def __str__(self):
        return f"Backdating to {self.earliest_date:%d %b %Y} ({self.state.lower()})"

    @property
    def in_force(self):
        return self.status == self.Status.APPROVED and self.expires_date > timezone.now()

    @property
    def state(self):
        """The status, with "Expired" for an approval whose days have run out."""
        if self.status == self.Status.APPROVED and not self.in_force:
            return "Expired"
        return self.get_status_display()
