"""M-Pesa receipts: match them to a member and post them once, or hold them in suspense."""

from __future__ import annotations

import logging
import secrets
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from chama import authority, signals
from chama.dates import in_range
from chama.locking import lock_row
from chama.money import parse_money, to_money
from chama.notify import notify
from finance.models import Account, Journal, MpesaChannel, MpesaConflict, MpesaReceipt, StkRequest
from finance.models.mpesa import RECEIPT_NUMBER_MAX, hash_secret
from finance.mpesa_client import DarajaClient
from finance.services import ledger, value_dates
from finance.services.dues import payment_record
from groups import selectors
from groups.models import Chama, Membership

if TYPE_CHECKING:
    from chama.models import User

A = Account.Purpose
NAIROBI = ZoneInfo("Africa/Nairobi")
MSISDN_MAX = 128  # a masked or hashed MSISDN (a SHA-256 hex digest is 64) fits; anything longer is not Safaricom's

logger = logging.getLogger("finance.mpesa")


def channel_for(chama_id: int, secret: str) -> MpesaChannel | None:
    """The chama's M-Pesa channel if `secret` is its callback secret, else None."""
    channel = MpesaChannel.objects.select_related("chama").filter(chama_id=chama_id).first()
    if channel is None or not channel.secret_matches(secret):
        return None
    return channel


def callback_url(name: str, chama_id: int, secret: str) -> str:
    """The full URL Safaricom calls, with the secret as a path segment (kept out of query-string logs)."""
    return settings.MPESA_CALLBACK_BASE_URL.rstrip("/") + reverse(name, kwargs={"chama_id": chama_id, "secret": secret})


def c2b_confirmation_url(channel: MpesaChannel, secret: str) -> str:
    return callback_url("mpesa-c2b-callback", channel.chama_id, secret)


def channel_secret_rotate(*, channel: MpesaChannel, by: User) -> str:
    """Give the channel a new callback secret and return it: the only time it can be read. The old
    one stops working when this commits; the officer registers the new URL with Safaricom."""
    with transaction.atomic():
        channel = lock_row(MpesaChannel.objects.select_related("chama"), pk=channel.pk)
        authority.require(by, "manage_mpesa_channel", channel)
        secret = channel.issue_secret()
        channel.save(update_fields=["callback_secret_hash", "updated_date"])
    logger.info("M-Pesa callback secret of %s rotated by %s", channel, authority.person(by))
    signals.security_event.send(
        sender=MpesaChannel,
        kind=signals.SECRET_ROTATED,
        request=None,
        user=by,
        chama_id=channel.chama_id,
        detail=f"The M-Pesa callback secret of {channel} was rotated.",
    )
    return secret


def stk_request_for(chama_id: int, token: str | None) -> StkRequest | None:
    """The STK push of this chama whose callback URL carries `token`, else None."""
    if not token:
        return None
    return (
        StkRequest.objects.select_related("chama__mpesa_channel", "membership")
        .filter(chama_id=chama_id, callback_token_hash=hash_secret(token), chama__mpesa_channel__isnull=False)
        .first()
    )


def _amount(value: object) -> Decimal:
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


def _time(value: object) -> datetime | None:
    """Daraja's TransTime (YYYYMMDDHHMMSS, Kenyan time); None when unreadable or off the calendar
    (the payload keeps what was sent)."""
    try:
        moment = datetime.strptime(str(value), "%Y%m%d%H%M%S").replace(tzinfo=NAIROBI)
    except ValueError:
        return None
    return moment if in_range(moment.date()) else None


def _text(value: object, field: str) -> str:
    """A text field of a callback; a NUL byte (which PostgreSQL cannot store) is refused."""
    text = str(value or "").strip()
    if "\x00" in text:
        raise ValidationError({field: "The callback carries a NUL character."})
    return text


INT32 = range(-(2**31), 2**31)  # what the result code column holds


def _result_code(value: object) -> int:
    """Daraja's ResultCode as a number; anything else, or out of range, is refused."""
    text = str(value if value is not None else "").strip()
    if not text.lstrip("-").isdigit() or int(text) not in INT32:
        raise ValidationError({"ResultCode": f"{value!r} is not a result code."})
    return int(text)


PHONE_CHARACTERS = frozenset("0123456789+-() ")


def _phone(value: object) -> str:
    """`value` in E.164 if it is a valid phone number, written in the default region
    (PHONENUMBER_DEFAULT_REGION) or with its country code, with or without the +; else "".
    A masked number ("2547 ***** 126") or a hashed one, as C2B confirmations carry, is "":
    it cannot say who paid."""
    text = str(value if value is not None else "").strip()
    if not text or not set(text) <= PHONE_CHARACTERS:
        return ""
    digits = "".join(ch for ch in text if ch.isdigit())
    for candidate, region in ((text, settings.PHONENUMBER_DEFAULT_REGION), (f"+{digits}", None)):
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return ""


def _msisdn(value: object, field: str) -> tuple[str, str]:
    """(the payer's number in E.164 or "", the number as Safaricom sent it)."""
    sent = _text(value, field)
    if len(sent) > MSISDN_MAX:
        raise ValidationError({field: f"A payer's number has at most {MSISDN_MAX} characters."})
    return _phone(sent), sent


def _receipt_number(value: object, field: str) -> str:
    """The M-Pesa receipt number, whole: a longer one than the column holds is refused, never cut
    (two receipts cut to the same prefix would be taken for one)."""
    number = _text(value, field)
    if not number:
        raise ValidationError({field: "The callback has no M-Pesa receipt number."})
    if len(number) > RECEIPT_NUMBER_MAX:
        raise ValidationError(
            {
                field: f"An M-Pesa receipt number has at most {RECEIPT_NUMBER_MAX} characters; "
                f"this one has {len(number)}."
            }
        )
    return number


def parse_c2b(payload: dict[str, Any]) -> dict[str, Any]:
    """The fields we need from a Daraja C2B confirmation."""
    receipt = _receipt_number(payload.get("TransID"), "TransID")
    names = [_text(payload.get(name), name) for name in ("FirstName", "MiddleName", "LastName")]
    phone_number, payer_msisdn = _msisdn(payload.get("MSISDN"), "MSISDN")
    return {
        "receipt_number": receipt,
        "amount": _amount(payload.get("TransAmount")),
        "phone_number": phone_number,
        "payer_msisdn": payer_msisdn,
        "account_reference": _text(payload.get("BillRefNumber"), "BillRefNumber")[:64],
        "payer_name": " ".join(name for name in names if name)[:150],
        "transaction_time": _time(payload.get("TransTime")),
    }


def parse_stk(payload: Any) -> tuple[str, int, str, dict[str, Any] | None]:
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
    receipt = _receipt_number(items.get("MpesaReceiptNumber"), "MpesaReceiptNumber")
    phone_number, payer_msisdn = _msisdn(items.get("PhoneNumber"), "PhoneNumber")
    fields = {
        "receipt_number": receipt,
        "amount": _amount(items.get("Amount")),
        "phone_number": phone_number,
        "payer_msisdn": payer_msisdn,
        "account_reference": "",
        "payer_name": "",
        "transaction_time": _time(items.get("TransactionDate")),
    }
    return checkout, code, description, fields


def _metadata_items(metadata: Any) -> dict[Any, Any]:
    """{Name: Value} of a successful STK callback's metadata, which must be a list of objects."""
    items = (metadata or {}).get("Item", []) if isinstance(metadata, (dict, type(None))) else None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ValidationError({"CallbackMetadata": "The callback's metadata is not a list of items."})
    return {item.get("Name"): item.get("Value") for item in items}


def match_member(chama: Chama, account_reference: str | None, phone_number: str) -> Membership | None:
    """The member a payment is for: the account reference as a member number or phone, else the payer's phone
    (in E.164; "" when Safaricom masked it, so only the reference can match).
    None (suspense, for an officer to assign) when the reference is a member number changed lately:
    the payer may mean the member who held it, or the member who holds it now."""
    members = Membership.objects.filter(chama=chama).select_related("user", "chama")
    reference = (account_reference or "").strip()
    if reference and selectors.member_number_recently_changed(chama=chama, number=reference):
        return None
    if reference:
        found = members.filter(member_number__iexact=reference).first()
        if found:
            return found
        reference_phone = _phone(reference)
        if reference_phone:
            found = members.filter(user__phone_number=reference_phone).first()
            if found:
                return found
    if phone_number:
        return members.filter(user__phone_number=phone_number).first()
    return None


def receive_c2b_callback(*, channel: MpesaChannel, payload: dict[str, Any]) -> MpesaReceipt:
    """A paybill confirmation: refused unless it is for the channel's own shortcode."""
    fields = parse_c2b(payload)
    shortcode = _text(payload.get("BusinessShortCode"), "BusinessShortCode")
    if shortcode != channel.shortcode.strip():
        logger.warning(
            "M-Pesa confirmation %s for paybill %r refused on the channel of %s (paybill %s)",
            fields["receipt_number"],
            shortcode,
            channel.chama,
            channel.shortcode,
        )
        raise ValidationError({"BusinessShortCode": f"Paybill {shortcode or '(none)'} is not this chama's paybill."})
    return receive(channel=channel, source=MpesaReceipt.Source.C2B, fields=fields, payload=payload)


def receive(
    *,
    channel: MpesaChannel,
    source: str,
    fields: dict[str, Any],
    payload: dict[str, Any],
    membership: Membership | None = None,
) -> MpesaReceipt:
    """Post a receipt once. Matched to a member, it settles their open dues, oldest first, and the
    rest goes where the policy's `paybill_remainder` says: an advance, or shares (`payment_record`).
    A replay, even a concurrent one, returns the receipt first recorded and posts nothing; one that
    says something else than the first is also recorded as a conflict."""
    chama = channel.chama
    number = fields["receipt_number"]
    with transaction.atomic():
        existing = MpesaReceipt.objects.filter(chama=chama, receipt_number=number).first()
        if existing is not None:
            _check_replay(existing, source, fields, payload)
            return existing
        membership = membership or match_member(chama, fields["account_reference"], fields["phone_number"])
        if membership is not None and not authority.may(authority.SYSTEM, "record_payment", membership):
            membership = None  # the money has arrived, but a closed chama settles no dues: it waits in suspense
        # Money that has arrived is never refused for its date: an M-Pesa time the rule does not
        # allow (in the future, before the chama started, too far back) dates it the day received.
        value_date, note = value_dates.for_mpesa(chama, fields["transaction_time"])
        if membership is not None:
            journal = payment_record(
                membership=membership,
                amount=fields["amount"],
                method="mpesa",
                reference=number,
                value_date=value_date,
                by=authority.SYSTEM,
                memo=f"M-Pesa {number} from {fields['phone_number'] or 'unknown phone'}{f'; {note}' if note else ''}",
                remainder=chama.policy.paybill_remainder,
            )
            status = MpesaReceipt.Status.POSTED
        else:
            journal = _post_to_suspense(chama, fields, value_date, note)
            status = MpesaReceipt.Status.SUSPENSE
        receipt, created = MpesaReceipt.objects.get_or_create(
            chama=chama,
            receipt_number=number,
            defaults={
                **fields,
                "source": source,
                "status": status,
                "membership": membership,
                "journal": journal,
                "payload": payload,
            },
        )
        if not created:  # a concurrent delivery recorded it first
            _check_replay(receipt, source, fields, payload)
    return receipt


def _checkout_of(payload: Any) -> str:
    callback = ((payload or {}).get("Body") or {}).get("stkCallback") if isinstance(payload, dict) else None
    return str(callback.get("CheckoutRequestID") or "") if isinstance(callback, dict) else ""


def replay_differences(
    receipt: MpesaReceipt, source: str, fields: dict[str, Any], payload: dict[str, Any]
) -> dict[str, list[str]]:
    """{field: [first recorded, this delivery]} where a replay of `receipt` disagrees with it.
    The amount must always agree. The account reference, the payer's number and the STK request
    are compared between deliveries of one kind only (a C2B confirmation masks the number an STK
    callback shows), and the number and the STK request only where both deliveries carry one."""
    differences = {}
    if fields["amount"] != receipt.amount:
        differences["amount"] = [str(receipt.amount), str(fields["amount"])]
    if source != receipt.source:
        return differences
    compared = [
        ("account_reference", receipt.account_reference, fields["account_reference"], True),
        ("payer", receipt.payer_msisdn, fields.get("payer_msisdn", ""), False),
        ("CheckoutRequestID", _checkout_of(receipt.payload), _checkout_of(payload), False),
    ]
    for name, first, again, always in compared:
        if first != again and (always or (first and again)):
            differences[name] = [first, again]
    return differences


def _check_replay(receipt: MpesaReceipt, source: str, fields: dict[str, Any], payload: dict[str, Any]) -> None:
    differences = replay_differences(receipt, source, fields, payload)
    if differences:
        conflict_record(receipt=receipt, source=source, payload=payload, differences=differences)


def conflict_record(
    *, receipt: MpesaReceipt, source: str, payload: dict[str, Any], differences: dict[str, list[str]]
) -> MpesaConflict:
    """Keep a conflicting replay for the officers (once per distinct payload) and tell them."""
    chama = receipt.chama
    conflict, created = MpesaConflict.objects.get_or_create(
        chama=chama,
        receipt_number=receipt.receipt_number,
        fingerprint=MpesaConflict.fingerprint_of(payload),
        defaults={"receipt": receipt, "source": source, "payload": payload, "differences": differences},
    )
    if created:
        logger.warning(
            "M-Pesa %s arrived again in %s with different details %s: nothing posted",
            receipt.receipt_number,
            chama,
            differences,
        )
        what = "; ".join(
            f"{name} {first or '(none)'} then {again or '(none)'}" for name, (first, again) in differences.items()
        )
        officers = selectors.officers_for(chama=chama, action="record_payment")
        for officer in officers:
            notify(
                officer.user,
                dedupe_key=f"mpesa-conflict-{conflict.pk}",
                title=f"{chama}: M-Pesa {receipt.receipt_number} arrived again with other details",
                body=(
                    f"Safaricom sent receipt {receipt.receipt_number} a second time with other details ({what}). "
                    "Nothing was posted for it. Check the M-Pesa statement, then see M-Pesa conflicts in the back office."
                ),
            )
    return conflict


def _post_to_suspense(chama: Chama, fields: dict[str, Any], value_date: date, note: str = "") -> Journal:
    number = fields["receipt_number"]
    replay = ledger.find_posted(chama, external_reference=number)
    if replay is not None:
        return replay
    try:
        with transaction.atomic():
            return ledger.post_journal(
                chama=chama,
                kind=Journal.Kind.SUSPENSE_RECEIPT,
                value_date=value_date,
                external_reference=number,
                memo=(
                    f"M-Pesa {number} from {fields['phone_number'] or 'unknown'} (ref {fields['account_reference'] or '-'}): "
                    f"no member matched{f'; {note}' if note else ''}"
                ),
                lines=[
                    (ledger.chama_account(chama, A.MOBILE_MONEY), fields["amount"]),
                    (ledger.chama_account(chama, A.SUSPENSE), -fields["amount"]),
                ],
            )
    except IntegrityError:
        replay = ledger.find_posted(chama, external_reference=number)
        if replay is None:
            raise
        return replay


def receive_stk_callback(*, stk: StkRequest, payload: dict[str, Any]) -> MpesaReceipt | None:
    """Record the result of the STK push `stk` (found by the token in its callback URL); a
    successful one is posted to the member it was for. A callback about another push is refused."""
    checkout, code, description, fields = parse_stk(payload)
    if checkout != stk.checkout_request_id:
        raise ValidationError({"CheckoutRequestID": "This callback is not about the STK push its URL was made for."})
    if stk.result_code is None:
        StkRequest.objects.filter(pk=stk.pk, result_code__isnull=True).update(
            result_code=code, result_description=description
        )
    if fields is None:
        return None
    return receive(
        channel=stk.chama.mpesa_channel,
        source=MpesaReceipt.Source.STK,
        fields=fields,
        payload=payload,
        membership=stk.membership,
    )


def suspense_assign(*, receipt: MpesaReceipt, membership: Membership, by: User) -> MpesaReceipt:
    """A treasurer decides whose money an unmatched receipt was: it then settles their dues, and the
    rest goes where the policy sends a paybill payment (an advance, or shares), as if it had matched."""
    with transaction.atomic():
        receipt = lock_row(MpesaReceipt.objects.select_related("chama"), pk=receipt.pk)
        chama = receipt.chama
        authority.require(by, "record_payment", receipt)
        if receipt.status != MpesaReceipt.Status.SUSPENSE:
            raise ValidationError("This receipt is not in suspense.")
        if membership.chama_id != chama.pk:
            raise ValidationError({"membership": "Pick a member of this chama."})
        journal = payment_record(
            membership=membership,
            amount=receipt.amount,
            method="mpesa",
            by=by,
            value_date=chama.today(),
            source_account=ledger.chama_account(chama, A.SUSPENSE),
            idempotency_key=f"mpesa-assign-{receipt.pk}",
            memo=f"M-Pesa {receipt.receipt_number} assigned from suspense",
            remainder=chama.policy.paybill_remainder,
        )
        receipt.status = MpesaReceipt.Status.ASSIGNED
        receipt.membership = membership
        receipt.assignment_journal = journal
        receipt.assigned_by = by
        receipt.save()
    return receipt


def stk_push_start(
    *,
    membership: Membership,
    amount: Decimal,
    by: User,
    phone_number: str | None = None,
    client: DarajaClient | None = None,
) -> StkRequest:
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
    # Each push has its own callback secret, kept only as a hash: the chama's paybill secret is
    # not readable, and a callback can then only be about the push it was made for.
    token = secrets.token_urlsafe(32)
    answer = (client or DarajaClient.from_settings()).stk_push(
        shortcode=channel.shortcode,
        phone_number=phone,
        amount=amount,
        account_reference=membership.member_number,
        description="Chama payment",
        callback_url=callback_url("mpesa-stk-callback", chama.pk, token),
    )
    return StkRequest.objects.create(
        chama=chama,
        membership=membership,
        phone_number=phone,
        amount=amount,
        requested_by=by,
        checkout_request_id=answer["CheckoutRequestID"],
        merchant_request_id=answer.get("MerchantRequestID", ""),
        callback_token_hash=hash_secret(token),
    )
