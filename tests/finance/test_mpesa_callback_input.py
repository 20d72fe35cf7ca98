"""Whatever reaches the M-Pesa callbacks, the answer is never a server error: a malformed body is a
400 with a message, and nothing is posted."""

import json

import pytest

from chama.roles import Role
from finance.models import Journal, MpesaChannel, MpesaReceipt, StkRequest
from finance.models.mpesa import hash_secret
from tests.factories import ChamaFactory, joined


@pytest.fixture
def channel(db):
    chama = ChamaFactory()
    membership = joined(chama, Role.TREASURER)
    channel = MpesaChannel.objects.create(chama=chama, shortcode="600638")
    StkRequest.objects.create(
        chama=chama,
        membership=membership,
        phone_number="+254708374149",
        amount=100,
        checkout_request_id="ws_CO_1",
        requested_by=membership.user,
        callback_token_hash=hash_secret(STK_TOKEN),
    )
    return channel


STK_TOKEN = "the-secret-of-one-stk-push"


def post(client, channel, source, body, content_type="application/json"):
    secret = channel.new_secret if source == "c2b" else STK_TOKEN
    url = f"/api/v1/chamas/{channel.chama_id}/mpesa/{source}/{secret}/"
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.generic("POST", url, data, content_type=content_type)


C2B = {
    "TransactionType": "Pay Bill",
    "TransID": "RKTQDM7W6S",
    "TransTime": "20261122063845",
    "TransAmount": "1000.00",
    "BusinessShortCode": "600638",
    "BillRefNumber": "M001",
    "MSISDN": "254708374149",
}


def stk(**callback):
    return {
        "Body": {"stkCallback": {"MerchantRequestID": "29115-34620561-1", "CheckoutRequestID": "ws_CO_1", **callback}}
    }


@pytest.mark.parametrize(
    "source, body, content_type",
    [
        ("c2b", "TransID=RKTQDM7W6S&TransAmount=1000", "application/x-www-form-urlencoded"),
        ("c2b", "", "application/json"),
        ("c2b", "[1, 2]", "application/json"),
        ("c2b", "{not json", "application/json"),
        ("c2b", {**C2B, "BillRefNumber": "M00\x001"}, "application/json"),
        ("c2b", {**C2B, "TransID": "RKTQ\x00DM7W6S"}, "application/json"),
        ("stk", "", "application/json"),
        ("stk", {"Body": {"stkCallback": None}}, "application/json"),
        ("stk", {"Body": None}, "application/json"),
        ("stk", stk(ResultCode=0, ResultDesc="ok", CallbackMetadata={"Item": "abc"}), "application/json"),
        ("stk", stk(ResultCode=0, ResultDesc="ok", CallbackMetadata={"Item": ["abc", 1]}), "application/json"),
        ("stk", stk(ResultCode=0, ResultDesc="ok", CallbackMetadata="abc"), "application/json"),
        ("stk", stk(ResultCode=2**31 + 5, ResultDesc="odd"), "application/json"),
        ("stk", stk(ResultCode=-(2**40), ResultDesc="odd"), "application/json"),
    ],
    ids=[
        "form-encoded",
        "empty",
        "a list",
        "broken json",
        "nul in reference",
        "nul in receipt",
        "stk empty",
        "stkCallback null",
        "Body null",
        "Item a string",
        "Item not objects",
        "metadata a string",
        "result code too big",
        "result code too small",
    ],
)
def test_a_malformed_callback_is_a_400_and_posts_nothing(client, channel, source, body, content_type):
    response = post(client, channel, source, body, content_type)

    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/json")
    assert not Journal.objects.exists() and not MpesaReceipt.objects.exists()


def test_a_failed_stk_result_with_an_odd_code_is_recorded_without_error(client, channel):
    response = post(client, channel, "stk", stk(ResultCode=1032, ResultDesc="Request cancelled by user"))

    assert response.status_code == 200
    assert StkRequest.objects.get().result_code == 1032
