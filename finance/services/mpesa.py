"""M-Pesa receipts: match them to a member and post them once, or hold them in suspense."""

import secrets
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from chama import authority
from chama.dates import in_range
from chama.money import parse_money, to_money
from finance.models import Account, Journal, MpesaChannel, MpesaReceipt, StkRequest
from finance.mpesa_client import DarajaClient
from finance.services import ledger, value_dates
from finance.services.dues import chama_today, payment_record
from groups import selectors
from groups.models import Membership

A = Account.Purpose
NAIROBI = ZoneInfo("Africa/Nairobi")


def channel_for(chama_id, secret):
    """The chama's M-Pesa channel if `secret` is its callback secret, else None."""
    channel = MpesaChannel.objects.select_related("chama").filter(chama_id=chama_id).first()
    if channel is None or not secrets.compare_digest(channel.callback_secret, secret or ""):
        return None
    return channel


def _amount(value):
    """Safaricom's amount: a string ("1500.00") or a JSON number (1500, sometimes 1500.5), read by the
    one money parser. A float is read through its shortest text, so 1500.5 is 1500.50 and 1e16 is refused."""
    if isinstance(value, bool):
        text = None
    elif isinstance(value, float):
        text = repr(value)
    elif isinstance(value, (int, Decimal, str)):
        text = str(value)
    else:
        text = None
    try:
        amount = parse_money(text)
    except ValidationError as exc:
        raise ValidationError({"amount": exc.messages}) from exc
    if amount <= 0:
        raise ValidationError({"amount": "The amount must be more than zero."})
    return amount


def _time(value):
    """Daraja's TransTime (YYYYMMDDHHMMSS, Kenyan time); None when unreadable or off the calendar
    (the payload keeps what was sent)."""
    try:
        moment = datetime.strptime(str(value), "%Y%m%d%H%M%S").replace(tzinfo=NAIROBI)
    except ValueError:
        return None
    return moment if in_range(moment.date()) else None


def _text(value, field):
    """A text field of a callback; a NUL byte (which PostgreSQL cannot store) is refused."""
    text = str(value or "").strip()
    if "\x00" in text:
        raise ValidationError({field: "The callback carries a NUL character."})
    return text


INT32 = range(-(2 ** 31), 2 ** 31)  # what the result code column holds


def _result_code(value):
    """Daraja's ResultCode as a number; anything else, or out of range, is refused."""
    text = str(value if value is not None else "").strip()
    if not text.lstrip("-").isdigit() or int(text) not in INT32:
        raise ValidationError({"ResultCode": f"{value!r} is not a result code."})
    return int(text)


def _phone(msisdn):
    digits = "".join(ch for ch in str(msisdn or "") if ch.isdigit())
    return f"+{digits}" if digits else ""


def parse_c2b(payload):
    """The fields we need from a Daraja C2B confirmation."""
    receipt = _text(payload.get("TransID"), "TransID")
    if not receipt:
        raise ValidationError({"TransID": "The confirmation has no M-Pesa receipt number."})
    names = [_text(payload.get(name), name) for name in ("FirstName", "MiddleName", "LastName")]
    return {
        "receipt_number": receipt[:30], "amount": _amount(payload.get("TransAmount")),
        "phone_number": _phone(_text(payload.get("MSISDN"), "MSISDN"))[:16],
        "account_reference": _text(payload.get("BillRefNumber"), "BillRefNumber")[:64],
        "payer_name": " ".join(name for name in names if name)[:150], "transaction_time": _time(payload.get("TransTime")),
    }


def parse_stk(payload):
    """(checkout request id, result code, description, fields or None) from an STK callback."""
    try:
        callback = payload["Body"]["stkCallback"]
    except (KeyError, TypeError) as exc:
        raise ValidationError({"Body": "This is not an STK-push callback."}) from exc
    if not isinstance(callback, dict):
        raise ValidationError({"Body": "This is not an STK-push callback."})
    checkout = _text(callback.get("CheckoutRequestID"), "CheckoutRequestID")
    code = _result_code(callback.get("ResultCode"))
    description = _text(callback.get("ResultDesc"), "ResultDesc")[:255]
    if code != 0:
        return checkout, code, description, None
    items = _metadata_items(callback.get("CallbackMetadata"))
    receipt = _text(items.get("MpesaReceiptNumber"), "MpesaReceiptNumber")
    if not receipt:
        raise ValidationError({"MpesaReceiptNumber": "The callback has no M-Pesa receipt number."})
    fields = {
        "receipt_number": receipt[:30], "amount": _amount(items.get("Amount")),
        "phone_number": _phone(items.get("PhoneNumber"))[:16], "account_reference": "",
        "payer_name": "", "transaction_time": _time(items.get("TransactionDate")),
    }
    return checkout, code, description, fields


def _metadata_items(metadata):
    """{Name: Value} of a successful STK callback's metadata, which must be a list of objects."""
    items = (metadata or {}).get("Item", []) if isinstance(metadata, (dict, type(None))) else None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ValidationError({"CallbackMetadata": "The callback's metadata is not a list of items."})
    return {item.get("Name"): item.get("Value") for item in items}


def match_member(chama, account_reference, phone_number):
    """The member a payment is for: the account reference as a member number or phone, else the payer's phone.
    None (suspense, for an officer to assign) when the reference is a member number changed lately:
    the payer may mean the member who held it, or the member who holds it now."""
    members = Membership.objects.filter(chama=chama).select_related("user", "chama")
    reference = (account_reference or "").strip()
    if reference and selectors.member_number_recently_changed(chama, reference):
        return None
    if reference:
        found = members.filter(member_number__iexact=reference).first()
        if found:
            return found
        reference_phone = _phone(reference)
        if reference_phone.startswith("+0"):
            reference_phone = "+254" + reference_phone[2:]
        found = members.filter(user__phone_number=reference_phone).first()
        if found:
            return found
    if phone_number:
        return members.filter(user__phone_number=phone_number).first()
    return None


def receive(*, channel, source, fields, payload, membership=None) -> MpesaReceipt:
    """Post a receipt once. A replay, even a concurrent one, returns the receipt first recorded."""
    chama = channel.chama
    number = fields["receipt_number"]
    with transaction.atomic():
        existing = MpesaReceipt.objects.filter(chama=chama, receipt_number=number).first()
        if existing is not None:
            return existing
        membership = membership or match_member(chama, fields["account_reference"], fields["phone_number"])
        if membership is not None and not authority.may(authority.SYSTEM, "record_payment", membership):
            membership = None  # the money has arrived, but a closed chama settles no dues: it waits in suspense
        # Money that has arrived is never refused for its date: an M-Pesa time the rule does not
        # allow (in the future, before the chama started, too far back) dates it the day received.
        value_date, note = value_dates.for_mpesa(chama, fields["transaction_time"])
        if membership is not None:
            journal = payment_record(
                membership=membership, amount=fields["amount"], method="mpesa", reference=number, value_date=value_date,
                by=authority.SYSTEM,
                memo=f"M-Pesa {number} from {fields['phone_number'] or 'unknown phone'}{f'; {note}' if note else ''}",
            )
            status = MpesaReceipt.Status.POSTED
        else:
            journal = _post_to_suspense(chama, fields, value_date, note)
            status = MpesaReceipt.Status.SUSPENSE
        receipt, _ = MpesaReceipt.objects.get_or_create(
            chama=chama, receipt_number=number,
            defaults={**fields, "source": source, "status": status, "membership": membership, "journal": journal,
                      "payload": payload},
        )
    return receipt


def _post_to_suspense(chama, fields, value_date, note=""):
    number = fields["receipt_number"]
    replay = ledger.find_posted(chama, external_reference=number)
    if replay is not None:
        return replay
    try:
        with transaction.atomic():
            return ledger.post_journal(
                chama=chama, kind=Journal.Kind.SUSPENSE_RECEIPT, value_date=value_date, external_reference=number,
                memo=(f"M-Pesa {number} from {fields['phone_number'] or 'unknown'} (ref {fields['account_reference'] or '-'}): "
                      f"no member matched{f'; {note}' if note else ''}"),
                lines=[(ledger.chama_account(chama, A.MOBILE_MONEY), fields["amount"]),
                       (ledger.chama_account(chama, A.SUSPENSE), -fields["amount"])],
            )
    except IntegrityError:
        replay = ledger.find_posted(chama, external_reference=number)
        if replay is None:
            raise
        return replay


def receive_stk_callback(*, channel, payload):
    """Record an STK-push result; a successful one is posted like any receipt."""
    checkout, code, description, fields = parse_stk(payload)
    stk = StkRequest.objects.filter(chama=channel.chama, checkout_request_id=checkout).select_related("membership").first()
    if stk is not None and stk.result_code is None:
        StkRequest.objects.filter(pk=stk.pk, result_code__isnull=True).update(result_code=code, result_description=description)
    if fields is None:
        return None
    return receive(channel=channel, source=MpesaReceipt.Source.STK, fields=fields, payload=payload,
                   membership=stk.membership if stk else None)


def suspense_assign(*, receipt, membership, by) -> MpesaReceipt:
    """A treasurer decides whose money an unmatched receipt was: it then settles their dues."""
    with transaction.atomic():
        receipt = MpesaReceipt.objects.select_for_update(of=("self",)).select_related("chama").get(pk=receipt.pk)
        chama = receipt.chama
        authority.require(by, "record_payment", receipt)
        if receipt.status != MpesaReceipt.Status.SUSPENSE:
            raise ValidationError("This receipt is not in suspense.")
        if membership.chama_id != chama.pk:
            raise ValidationError({"membership": "Pick a member of this chama."})
        journal = payment_record(
            membership=membership, amount=receipt.amount, method="mpesa", by=by, value_date=chama_today(chama),
            source_account=ledger.chama_account(chama, A.SUSPENSE), idempotency_key=f"mpesa-assign-{receipt.pk}",
            memo=f"M-Pesa {receipt.receipt_number} assigned from suspense",
        )
        receipt.status = MpesaReceipt.Status.ASSIGNED
        receipt.membership = membership
        receipt.assignment_journal = journal
        receipt.assigned_by = by
        receipt.save()
    return receipt


def stk_push_start(*, membership, amount, by, phone_number=None, client=None) -> StkRequest:
    """Prompt a member's phone to pay the chama's paybill."""
    chama = membership.chama
    if by.pk != membership.user_id:
        authority.require(by, "act_for_member", chama=chama)
    channel = MpesaChannel.objects.filter(chama=chama).first()
    if channel is None:
        raise ValidationError("This chama has no M-Pesa paybill set up.")
    amount = to_money(amount)
    if amount <= 0 or amount != amount.to_integral_value():
        raise ValidationError({"amount": "M-Pesa takes whole shillings, at least 1."})
    phone = str(phone_number or membership.user.phone_number)
    callback = settings.MPESA_CALLBACK_BASE_URL.rstrip("/") + reverse(
        "mpesa-stk-callback", kwargs={"chama_id": chama.pk}
    ) + f"?secret={channel.callback_secret}"
    answer = (client or DarajaClient.from_settings()).stk_push(
        shortcode=channel.shortcode, phone_number=phone, amount=amount, account_reference=membership.member_number,
        description="Chama payment", callback_url=callback,
    )
    return StkRequest.objects.create(
        chama=chama, membership=membership, phone_number=phone, amount=amount, requested_by=by,
        checkout_request_id=answer["CheckoutRequestID"], merchant_request_id=answer.get("MerchantRequestID", ""),
    )

