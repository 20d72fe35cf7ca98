"""What a callback must agree with before anything posts: the channel's paybill, a whole receipt
number, a payer number read as a phone number only when Safaricom sent a readable one, and, for a
receipt number seen before, the details first recorded (else a conflict for the officers)."""

import json
from decimal import Decimal as D
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from chama.models import Notification
from finance.models import Account, Due, Entry, Journal, MpesaChannel, MpesaConflict, MpesaReceipt
from finance.services import mpesa
from finance.services.reconcile import all_drift
from tests.factories import ChamaFactory
from tests.finance.test_mpesa_services import (  # noqa: F401
    balance,
    c2b,
    callback_base,
    chama_balance,
    client_for,
    daraja,
    setup,
    stk_ok,
)

A = Account.Purpose
MASKED = "2547 ***** 149"  # how Safaricom shows 254708374149 (the treasurer's) in a C2B confirmation
HASHED = "b7b3a2bbda9e3f4e0ef4e8b4ea2b6d9b1b28b8f2b9a7a9b6e2a6e0c4d1e2f3a4"


def post_c2b(client, channel, payload):
    url = f"/api/v1/chamas/{channel.chama_id}/mpesa/c2b/{channel.new_secret}/"
    return client.post(url, json.dumps(payload), content_type="application/json")


def books_of(chama):
    return (
        Journal.objects.filter(chama=chama).count(),
        Entry.objects.filter(chama=chama).count(),
        chama_balance(chama, A.MOBILE_MONEY),
        chama_balance(chama, A.SUSPENSE),
    )


# --- the paybill -----------------------------------------------------------------------------------


@pytest.mark.parametrize("shortcode", ["600999", "", None], ids=["another chama's", "blank", "missing"])
def test_a_confirmation_for_another_paybill_is_refused_and_posts_nothing(setup, client, shortcode):  # noqa: F811
    chama, channel, *_ = setup
    other = ChamaFactory()
    MpesaChannel.objects.create(chama=other, shortcode="600999")  # the paybill the confirmation names
    payload = c2b(BusinessShortCode=shortcode)
    if shortcode is None:
        del payload["BusinessShortCode"]

    response = post_c2b(client, channel, payload)

    assert response.status_code == 400
    assert "is not this chama's paybill" in response.json()["BusinessShortCode"][0]
    assert not MpesaReceipt.objects.exists() and not Journal.objects.filter(chama__in=[chama, other]).exists()


def test_a_confirmation_for_the_channels_paybill_posts(setup, client):  # noqa: F811
    chama, channel, _, _, wanjiku, _ = setup

    response = post_c2b(client, channel, c2b(BusinessShortCode=" 600638 "))

    assert response.json() == {"ResultCode": 0, "ResultDesc": "Accepted"}
    assert MpesaReceipt.objects.get().membership == wanjiku


# --- the receipt number --------------------------------------------------------------------------


def test_a_forty_character_transid_is_kept_whole(setup, client):  # noqa: F811
    chama, channel, *_ = setup
    number = "RKTQDM7W6S" * 4

    assert post_c2b(client, channel, c2b(TransID=number)).status_code == 200

    receipt = MpesaReceipt.objects.get()
    assert receipt.receipt_number == number and len(receipt.receipt_number) == 40
    assert receipt.journal.external_reference == number
    # Another receipt that shares its first 30 characters is another receipt, not a replay.
    assert post_c2b(client, channel, c2b(TransID=number[:30] + "ZZZZZZZZZZ")).status_code == 200
    assert MpesaReceipt.objects.count() == 2
    assert chama_balance(chama, A.MOBILE_MONEY) == D("3000.00")


@pytest.mark.parametrize("length", [65, 200])
def test_a_transid_longer_than_64_characters_is_refused_not_cut(setup, client, length):  # noqa: F811
    chama, channel, *_ = setup

    response = post_c2b(client, channel, c2b(TransID="R" * length))

    assert response.status_code == 400
    assert response.json()["TransID"] == [f"An M-Pesa receipt number has at most 64 characters; this one has {length}."]
    assert not MpesaReceipt.objects.exists() and not Journal.objects.filter(chama=chama).exists()


def test_a_64_character_transid_fits(setup, client):  # noqa: F811
    _, channel, *_ = setup
    assert post_c2b(client, channel, c2b(TransID="R" * 64)).status_code == 200
    assert MpesaReceipt.objects.get().receipt_number == "R" * 64


def test_an_stk_receipt_number_longer_than_64_characters_is_refused():
    with pytest.raises(ValidationError) as caught:
        mpesa.parse_stk(stk_ok(receipt="N" * 65))
    assert "MpesaReceiptNumber" in caught.value.message_dict


# --- the payer's number ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sent, e164",
    [
        ("254708374149", "+254708374149"),
        (254708374149, "+254708374149"),
        ("0712345678", "+254712345678"),
        ("+254 712 345 678", "+254712345678"),
        ("255712345678", "+255712345678"),  # a Tanzanian payer is not made Kenyan
        ("+256772123456", "+256772123456"),
        (MASKED, ""),
        ("254708***149", ""),
        (HASHED, ""),
        ("12345", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_payer_numbers_are_read_by_the_phone_number_library(sent, e164):
    assert mpesa._phone(sent) == e164


def test_a_local_number_is_read_in_the_configured_region(settings):
    settings.PHONENUMBER_DEFAULT_REGION = "UG"
    assert mpesa._phone("0772123456") == "+256772123456"


@pytest.mark.parametrize("msisdn", [MASKED, HASHED], ids=["masked", "hashed"])
def test_a_masked_payer_number_is_stored_as_sent_and_not_matched_by_phone(setup, client, msisdn):  # noqa: F811
    chama, channel, treasurer, *_ = setup

    response = post_c2b(client, channel, c2b(BillRefNumber="CHAMA", MSISDN=msisdn))

    assert response.status_code == 200
    receipt = MpesaReceipt.objects.get()
    assert (receipt.status, receipt.membership) == (MpesaReceipt.Status.SUSPENSE, None)
    assert (receipt.phone_number, receipt.payer_msisdn) == ("", msisdn)
    assert receipt.payload["MSISDN"] == msisdn
    assert chama_balance(chama, A.SUSPENSE) == D("1500.00")
    assert balance(treasurer, A.MEMBER_SAVINGS) == D("0.00")


def test_a_masked_payer_number_with_a_member_number_as_reference_pays_that_member(setup, client):  # noqa: F811
    chama, channel, _, _, wanjiku, _ = setup

    post_c2b(client, channel, c2b(BillRefNumber="M003", MSISDN=MASKED))

    receipt = MpesaReceipt.objects.get()
    assert (receipt.status, receipt.membership, receipt.payer_msisdn) == (MpesaReceipt.Status.POSTED, wanjiku, MASKED)
    # Dr M-Pesa 1,500; Cr Wanjiku's savings 1,500: September's 1,000 paid, 500 towards October.
    assert balance(wanjiku, A.MEMBER_SAVINGS) == D("1500.00")
    assert [d.paid_amount for d in Due.objects.filter(membership=wanjiku).order_by("due_date")] == [
        D("1000.00"),
        D("500.00"),
    ]


def test_a_payer_number_too_long_to_be_safaricoms_is_refused(setup, client):  # noqa: F811
    _, channel, *_ = setup
    response = post_c2b(client, channel, c2b(MSISDN="2" * 129))
    assert response.status_code == 400 and "MSISDN" in response.json()
    assert not MpesaReceipt.objects.exists()


# --- replays and conflicts -------------------------------------------------------------------------


def test_an_identical_replay_posts_once(setup, client):  # noqa: F811
    chama, channel, _, _, wanjiku, _ = setup

    answers = [post_c2b(client, channel, c2b()).json() for _ in range(2)]

    assert answers == [{"ResultCode": 0, "ResultDesc": "Accepted"}] * 2
    assert Journal.objects.filter(chama=chama).count() == 1
    assert balance(wanjiku, A.MEMBER_SAVINGS) == D("1500.00")
    assert not MpesaConflict.objects.exists()


@pytest.mark.parametrize(
    "changes, differences",
    [
        ({"TransAmount": "15000.00"}, {"amount": ["1500.00", "15000.00"]}),
        ({"BillRefNumber": "M004"}, {"account_reference": ["M003", "M004"]}),
        ({"MSISDN": "254799000111"}, {"payer": ["254708374149", "254799000111"]}),
        (
            {"TransAmount": "1.00", "BillRefNumber": "M002"},
            {"amount": ["1500.00", "1.00"], "account_reference": ["M003", "M002"]},
        ),
    ],
    ids=["amount", "member", "payer", "amount and member"],
)
def test_a_replay_with_other_details_is_a_conflict_that_posts_nothing(
    setup,  # noqa: F811 - the fixture, imported by name
    client,
    django_capture_on_commit_callbacks,
    changes,
    differences,
):
    chama, channel, treasurer, chair, wanjiku, plain = setup
    post_c2b(client, channel, c2b())
    before = books_of(chama)
    first = MpesaReceipt.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        response = post_c2b(client, channel, c2b(**changes))

    # Acknowledged, so Safaricom does not retry; nothing posted: the books are as after the first.
    assert response.json() == {"ResultCode": 0, "ResultDesc": "Accepted"}
    assert books_of(chama) == before == (1, 2, D("1500.00"), D("0.00"))  # Dr M-Pesa 1,500; Cr her savings 1,500
    assert balance(wanjiku, A.MEMBER_SAVINGS) == D("1500.00")
    assert balance(plain, A.MEMBER_SAVINGS) == D("0.00")
    conflict = MpesaConflict.objects.get()
    assert (conflict.chama, conflict.receipt, conflict.receipt_number, conflict.source) == (
        chama,
        first,
        "RKTQDM7W6S",
        "c2b",
    )
    assert conflict.differences == differences
    assert conflict.payload == c2b(**changes)
    # The money officers (treasurer, chairperson) are told; the members are not.
    told = Notification.objects.filter(dedupe_key=f"mpesa-conflict-{conflict.pk}")
    assert sorted(n.user_id for n in told) == sorted([treasurer.user_id, chair.user_id])
    assert "RKTQDM7W6S" in told.first().title and "Nothing was posted" in told.first().body
    assert all_drift(chama) == []

    # Safaricom sending the same conflicting callback again is still one conflict, told once.
    post_c2b(client, channel, c2b(**changes))
    assert MpesaConflict.objects.count() == 1 and told.count() == 2
    assert books_of(chama) == before


def test_a_replayed_stk_receipt_for_another_push_is_a_conflict(setup, daraja, callback_base):  # noqa: F811
    chama, channel, treasurer, _, wanjiku, plain = setup
    first_push = mpesa.stk_push_start(membership=wanjiku, amount=1500, by=treasurer.user, client=client_for(daraja))
    second_push = mpesa.stk_push_start(membership=plain, amount=1500, by=treasurer.user, client=client_for(daraja))
    mpesa.receive_stk_callback(stk=first_push, payload=stk_ok(checkout=first_push.checkout_request_id))
    before = books_of(chama)

    # The second push's callback names the first push's receipt: it would pay another member.
    again = mpesa.receive_stk_callback(stk=second_push, payload=stk_ok(checkout=second_push.checkout_request_id))

    assert again.membership == wanjiku
    assert books_of(chama) == before
    assert balance(plain, A.MEMBER_SAVINGS) == D("0.00")
    assert MpesaConflict.objects.get().differences == {
        "CheckoutRequestID": [first_push.checkout_request_id, second_push.checkout_request_id]
    }


def test_a_c2b_confirmation_of_the_stk_receipt_is_no_conflict(setup, daraja, callback_base, client):  # noqa: F811
    chama, channel, treasurer, _, wanjiku, _ = setup
    push = mpesa.stk_push_start(membership=wanjiku, amount=1500, by=treasurer.user, client=client_for(daraja))
    mpesa.receive_stk_callback(stk=push, payload=stk_ok(checkout=push.checkout_request_id, receipt="RKTQDM7W6S"))

    post_c2b(client, channel, c2b(MSISDN=MASKED))

    assert not MpesaConflict.objects.exists()
    assert Journal.objects.filter(chama=chama).count() == 1


def test_conflicts_are_listed_for_the_chamas_officers(setup, client):  # noqa: F811
    chama, channel, treasurer, *_ = setup
    post_c2b(client, channel, c2b())
    post_c2b(client, channel, c2b(TransAmount="99.00"))
    client.force_login(treasurer.user)

    response = client.get(reverse("admin:finance_mpesaconflict_changelist"), {"q": "RKTQDM7W6S"})

    assert response.status_code == 200
    [row] = response.context["cl"].result_list
    assert row.receipt_number == "RKTQDM7W6S"
    assert "amount: 1500.00 → 99.00" in response.content.decode()
    assert client.get(reverse("admin:finance_mpesaconflict_change", args=[row.pk])).status_code == 200


def test_the_stk_callback_url_answers_only_for_its_own_push(setup, daraja, callback_base, client):  # noqa: F811
    chama, channel, treasurer, _, wanjiku, _ = setup
    push = mpesa.stk_push_start(membership=wanjiku, amount=1500, by=treasurer.user, client=client_for(daraja))
    path = urlsplit(daraja.stk_bodies[0]["CallBackURL"]).path
    body = json.dumps(stk_ok(checkout=push.checkout_request_id))

    wrong = client.post(
        path.replace(path.rstrip("/").rsplit("/", 1)[1], "guess"), body, content_type="application/json"
    )
    with_paybill_secret = client.post(
        reverse("mpesa-stk-callback", kwargs={"chama_id": chama.pk, "secret": channel.new_secret}),
        body,
        content_type="application/json",
    )
    other_push = client.post(path, json.dumps(stk_ok(checkout="ws_CO_other")), content_type="application/json")
    assert (wrong.status_code, with_paybill_secret.status_code, other_push.status_code) == (404, 404, 400)
    assert not Journal.objects.filter(chama=chama).exists()

    right = client.post(path, body, content_type="application/json")

    assert right.json() == {"ResultCode": 0, "ResultDesc": "Accepted"}
    assert MpesaReceipt.objects.get().membership == wanjiku
