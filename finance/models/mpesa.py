"""M-Pesa receipts from Safaricom Daraja (paybill C2B confirmations and STK-push callbacks)."""

import secrets

from django.conf import settings
from django.db import models

from chama.models import TimeStampedModel
from chama.money import MoneyField
from finance.models.ledger import Journal
from groups.models import Chama, Membership


def new_callback_secret():
    return secrets.token_urlsafe(24)


class MpesaChannel(TimeStampedModel):
    """A chama's paybill and the secret Safaricom's callbacks must carry."""

    chama = models.OneToOneField(Chama, on_delete=models.PROTECT, related_name="mpesa_channel")
    shortcode = models.CharField(max_length=20, help_text="Paybill or till number.")
    callback_secret = models.CharField(max_length=64, default=new_callback_secret, unique=True)

    def __str__(self):
        return f"Paybill {self.shortcode} ({self.chama})"


class StkRequest(TimeStampedModel):
    """An STK push we started; its callback is matched to the member by CheckoutRequestID."""

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="stk_requests")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="stk_requests")
    phone_number = models.CharField(max_length=16)
    amount = MoneyField()
    checkout_request_id = models.CharField(max_length=100, unique=True)
    merchant_request_id = models.CharField(max_length=100, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    result_code = models.IntegerField(null=True, blank=True)
    result_description = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_date"]


class MpesaReceipt(TimeStampedModel):
    class Source(models.TextChoices):
        C2B = "c2b", "Paybill (C2B)"
        STK = "stk", "STK push"

    class Status(models.TextChoices):
        POSTED = "posted", "Posted to the member"
        SUSPENSE = "suspense", "Waiting in suspense"
        ASSIGNED = "assigned", "Assigned from suspense"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="mpesa_receipts")
    source = models.CharField(max_length=5, choices=Source.choices)
    receipt_number = models.CharField(max_length=30)
    amount = MoneyField()
    phone_number = models.CharField(max_length=16, blank=True)
    account_reference = models.CharField(max_length=64, blank=True)
    payer_name = models.CharField(max_length=150, blank=True)
    transaction_time = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="mpesa_receipts")
    journal = models.ForeignKey(Journal, on_delete=models.PROTECT, related_name="+", help_text="The journal that took the money in.")
    assignment_journal = models.OneToOneField(Journal, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    payload = models.JSONField(help_text="The callback as Safaricom sent it.")

    class Meta:
        ordering = ["-created_date"]
        constraints = [
            models.UniqueConstraint(fields=["chama", "receipt_number"], name="mpesa_receipt_unique"),
        ]

    def __str__(self):
        return f"M-Pesa {self.receipt_number} {self.amount}"
