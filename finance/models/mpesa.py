"""M-Pesa receipts from Safaricom Daraja (paybill C2B confirmations and STK-push callbacks)."""

import hashlib
import json
import secrets

from django.conf import settings
from django.db import models
from django.utils.crypto import constant_time_compare, salted_hmac

from chama.models import TimeStampedModel
from chama.money import MoneyField
from finance.models.ledger import Journal
from groups.models import Chama, Membership

# The HMAC's salt: changing it would lock every paybill out until its secret is rotated.
SECRET_SALT = "finance.MpesaChannel.callback_secret"
RECEIPT_NUMBER_MAX = 64  # Daraja's TransIDs are 10 characters today; room for any longer ones, never cut


def new_callback_secret():
    """The plain secret's default in migration 0001 (which still imports it); channels now get theirs from `issue_secret`."""
    return secrets.token_urlsafe(24)


def hide_secret_hash(value):
    """django-auditlog's mask for the secret's hash: the log says that it was set or changed, and by
    whom, but holds neither the secret nor its hash."""
    return "" if value in ("", "None") else "(hidden)"


def hash_secret(secret, key=None):
    """The keyed hash stored for a callback secret (HMAC-SHA256 under a key derived from SECRET_KEY)."""
    return salted_hmac(SECRET_SALT, secret, secret=key, algorithm="sha256").hexdigest()


class MpesaChannel(TimeStampedModel):
    """A chama's paybill and the keyed hash of the secret Safaricom's callbacks must carry.

    The secret itself is never stored: `issue_secret()` makes a new one, keeps its hash and returns
    it once (also left on `new_secret` of that instance only) for the officer to register with Daraja.
    """

    chama = models.OneToOneField(Chama, on_delete=models.PROTECT, related_name="mpesa_channel")
    shortcode = models.CharField(max_length=20, help_text="Paybill or till number.")
    callback_secret_hash = models.CharField(max_length=64, editable=False)

    new_secret = None

    def __str__(self):
        return f"Paybill {self.shortcode} ({self.chama})"

    def issue_secret(self):
        """A fresh secret for this channel (not saved yet): the previous one stops working once saved."""
        self.new_secret = secrets.token_urlsafe(32)
        self.callback_secret_hash = hash_secret(self.new_secret)
        return self.new_secret

    def secret_matches(self, secret):
        """Whether `secret` is this channel's; hashes made under a retired key (SECRET_KEY_FALLBACKS)
        still match, so rotating SECRET_KEY does not lock every paybill out at once."""
        if not secret or not self.callback_secret_hash:
            return False
        keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
        return any(constant_time_compare(hash_secret(secret, key), self.callback_secret_hash) for key in keys)

    def save(self, *args, **kwargs):
        if not self.callback_secret_hash:
            self.issue_secret()
        super().save(*args, **kwargs)


class StkRequest(TimeStampedModel):
    """An STK push we started; its callback is matched to the member by CheckoutRequestID."""

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="stk_requests")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="stk_requests")
    phone_number = models.CharField(max_length=16)
    amount = MoneyField()
    checkout_request_id = models.CharField(max_length=100)
    merchant_request_id = models.CharField(max_length=100, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    result_code = models.IntegerField(null=True, blank=True)
    result_description = models.CharField(max_length=255, blank=True)
    callback_token_hash = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        db_index=True,
        help_text="Keyed hash of the secret in this push's callback URL.",
    )

    class Meta:
        ordering = ["-created_date"]
        constraints = [
            models.UniqueConstraint(fields=["checkout_request_id", "chama"], name="stk_checkout_request_unique")
        ]


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
    receipt_number = models.CharField(max_length=RECEIPT_NUMBER_MAX)
    amount = MoneyField()
    phone_number = models.CharField(
        max_length=16, blank=True, help_text="The payer's number in E.164, when Safaricom sent a readable one."
    )
    payer_msisdn = models.CharField(
        max_length=128,
        blank=True,
        help_text="The payer's number as Safaricom sent it (C2B confirmations mask or hash it).",
    )
    account_reference = models.CharField(max_length=64, blank=True)
    payer_name = models.CharField(max_length=150, blank=True)
    transaction_time = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    membership = models.ForeignKey(
        Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="mpesa_receipts"
    )
    journal = models.ForeignKey(
        Journal, on_delete=models.PROTECT, related_name="+", help_text="The journal that took the money in."
    )
    assignment_journal = models.ForeignKey(Journal, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    payload = models.JSONField(help_text="The callback as Safaricom sent it.")

    class Meta:
        ordering = ["-created_date"]
        constraints = [
            models.UniqueConstraint(fields=["chama", "receipt_number"], name="mpesa_receipt_unique"),
            models.UniqueConstraint(fields=["assignment_journal", "chama"], name="mpesa_receipt_assignment_once"),
        ]

    def __str__(self):
        return f"M-Pesa {self.receipt_number} {self.amount}"


class MpesaConflict(TimeStampedModel):
    """A callback that reused a receipt number already recorded but said something else (another
    amount, account reference, payer or STK request). Nothing was posted for it: an officer checks
    the M-Pesa statement and corrects the books by hand if the first one was wrong."""

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="mpesa_conflicts")
    receipt = models.ForeignKey(
        MpesaReceipt,
        on_delete=models.PROTECT,
        related_name="conflicts",
        help_text="The receipt first recorded under this number.",
    )
    receipt_number = models.CharField(max_length=RECEIPT_NUMBER_MAX)
    source = models.CharField(max_length=5, choices=MpesaReceipt.Source.choices)
    differences = models.JSONField(help_text='What differed: {"field": [first recorded, this callback]}.')
    payload = models.JSONField(help_text="The conflicting callback as it arrived.")
    fingerprint = models.CharField(
        max_length=64,
        editable=False,
        help_text="Digest of the payload: the same conflicting callback sent again is one row.",
    )

    class Meta:
        ordering = ["-created_date"]
        constraints = [
            models.UniqueConstraint(fields=["chama", "receipt_number", "fingerprint"], name="mpesa_conflict_unique"),
        ]

    def __str__(self):
        return f"Conflicting M-Pesa {self.receipt_number}"

    @staticmethod
    def fingerprint_of(payload):
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
