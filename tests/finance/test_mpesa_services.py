"""M-Pesa receipts with real rows: Daraja's documented payloads parsed, matched to members, posted once
or held in suspense; STK push against a local HTTP server that plays Daraja, then its callback."""

import base64
import json
import threading
from datetime import date, datetime
from decimal import Decimal as D
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from chama import authority
from chama.roles import Role
from finance.models import Account, Due, Entry, Journal, MpesaChannel, MpesaConflict, MpesaReceipt, StkRequest
from finance.mpesa_client import DarajaClient, DarajaError
from finance.services import dues as dues_service
from finance.services import mpesa
from finance.services.reconcile import all_drift
from tests.factories import ChamaFactory, joined
from tests.helpers import today_is

A = Account.Purpose
NAIROBI = ZoneInfo("Africa/Nairobi")

# Daraja's documented C2B confirmation and STK-push callbacks, exactly as Safaricom sends them.
C2B_JSON = """{"TransactionType":"Pay Bill","TransID":"RKTQDM7W6S","TransTime":"20261122063845","TransAmount":"1500.00",
"BusinessShortCode":"600638","BillRefNumber":"M003","InvoiceNumber":"","OrgAccountBalance":"49197.00",
"ThirdPartyTransID":"","MSISDN":"254708374149","FirstName":"John","MiddleName":"","LastName":"Doe"}"""
STK_OK_JSON = """{"Body":{"stkCallback":{"MerchantRequestID":"29115-34620561-1","CheckoutRequestID":"ws_CO_191220191020363925",
"ResultCode":0,"ResultDesc":"The service request is processed successfully.","CallbackMetadata":{"Item":[
{"Name":"Amount","Value":1500.00},{"Name":"MpesaReceiptNumber","Value":"NLJ7RT61SV"},
{"Name":"TransactionDate","Value":20261122102115},{"Name":"PhoneNumber","Value":254708374149}]}}}}"""
STK_CANCELLED_JSON = """{"Body":{"stkCallback":{"MerchantRequestID":"29115-34620561-1",
"CheckoutRequestID":"ws_CO_191220191020363925","ResultCode":1032,"ResultDesc":"Request cancelled by user."}}}"""

SHORTCODE = "600638"
PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"
CONSUMER_KEY = "test-consumer-key"
CONSUMER_SECRET = "test-consumer-secret"
TOKEN = "0A0v8OgxqqoocblflR58m9chMdnU"


@pytest.fixture(autouse=True)
def late_november(clock):
    """These books are kept as of 30 Nov 2026: the story's dates are weeks before it, within the
    backdating window, whatever the date the suite runs on."""
    today_is(date(2026, 11, 30))


def c2b(**changes):
    payload = json.loads(C2B_JSON)
    payload.update(changes)
    return payload


def stk_ok(checkout="ws_CO_191220191020363925", receipt="NLJ7RT61SV", amount=1500.00):
    payload = json.loads(STK_OK_JSON)
    callback = payload["Body"]["stkCallback"]
    callback["CheckoutRequestID"] = checkout
    for item in callback["CallbackMetadata"]["Item"]:
        if item["Name"] == "MpesaReceiptNumber":
            item["Value"] = receipt
        if item["Name"] == "Amount":
            item["Value"] = amount
    return payload


def balance(membership, purpose):
    account = Account.objects.filter(membership=membership, purpose=purpose).first()
    return account.normal_balance if account else D("0.00")


def chama_balance(chama, purpose):
    account = Account.objects.filter(chama=chama, purpose=purpose, membership__isnull=True).first()
    return account.normal_balance if account else D("0.00")


def entries_of(journal):
    return sorted((entry.account.code, entry.amount) for entry in journal.entries.select_related("account"))


def deliver_c2b(channel, payload):
    return mpesa.receive(
        channel=channel, source=MpesaReceipt.Source.C2B, fields=mpesa.parse_c2b(payload), payload=payload
    )


@pytest.fixture
def setup(db):
    """A VSLA with a paybill: M001 treasurer (the payer phone 254708374149), M002 chairperson,
    M003 Wanjiku (0712 345 678), M004 a plain member; KES 1,000 due in September and October."""
    chama = ChamaFactory(
        policy={
            "contribution_amount": D("1000"),
            "contribution_frequency": "monthly",
            "contribution_due_day": 5,
            "grace_days": 3,
        }
    )
    treasurer = joined(chama, Role.TREASURER, phone_number="+254708374149")
    chair = joined(chama, Role.CHAIRPERSON)
    wanjiku = joined(chama, Role.MEMBER, phone_number="+254712345678")
    plain = joined(chama, Role.MEMBER)
    assert [m.member_number for m in (treasurer, chair, wanjiku, plain)] == ["M001", "M002", "M003", "M004"]
    dues_service.contribution_plan_from_policy(chama, start_date=date(2026, 8, 1))
    dues_service.generate_dues(period=(2026, 9), chama=chama)
    dues_service.generate_dues(period=(2026, 10), chama=chama)
    channel = MpesaChannel.objects.create(chama=chama, shortcode=SHORTCODE)
    return chama, channel, treasurer, chair, wanjiku, plain


# --- parsing Daraja's payloads --------------------------------------------------------------


def test_parse_c2b_reads_darajas_documented_confirmation():
    fields = mpesa.parse_c2b(json.loads(C2B_JSON))

    assert fields == {
        "receipt_number": "RKTQDM7W6S",
        "amount": D("1500.00"),
        "phone_number": "+254708374149",
        "payer_msisdn": "254708374149",
        "account_reference": "M003",
        "payer_name": "John Doe",
        "transaction_time": datetime(2026, 11, 22, 6, 38, 45, tzinfo=NAIROBI),
    }
    assert isinstance(fields["amount"], D)


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"TransID": ""}, "TransID"),
        ({"TransAmount": "abc"}, "amount"),
        ({"TransAmount": "0.00"}, "amount"),
        ({"TransAmount": "-10"}, "amount"),
    ],
)
def test_parse_c2b_refuses_a_confirmation_without_receipt_or_amount(changes, field):
    with pytest.raises(ValidationError) as caught:
        mpesa.parse_c2b(c2b(**changes))
    assert field in caught.value.message_dict


def test_parse_stk_reads_a_successful_callback():
    checkout, code, description, fields = mpesa.parse_stk(json.loads(STK_OK_JSON))

    assert (checkout, code, description) == (
        "ws_CO_191220191020363925",
        0,
        "The service request is processed successfully.",
    )
    # Daraja sends the amount as a JSON number: it must still come out as an exact Decimal.
    assert fields == {
        "receipt_number": "NLJ7RT61SV",
        "amount": D("1500.00"),
        "phone_number": "+254708374149",
        "payer_msisdn": "254708374149",
        "account_reference": "",
        "payer_name": "",
        "transaction_time": datetime(2026, 11, 22, 10, 21, 15, tzinfo=NAIROBI),
    }


def test_parse_stk_reads_a_cancelled_callback_without_metadata():
    assert mpesa.parse_stk(json.loads(STK_CANCELLED_JSON)) == (
        "ws_CO_191220191020363925",
        1032,
        "Request cancelled by user.",
        None,
    )


def test_parse_stk_refuses_what_is_not_an_stk_callback():
    with pytest.raises(ValidationError):
        mpesa.parse_stk(json.loads(C2B_JSON))


# --- matching and posting receipts ----------------------------------------------------------


def test_c2b_matched_by_member_number_ignoring_case_settles_that_members_dues(setup):
    chama, channel, treasurer, _, wanjiku, _ = setup
    # The payer's phone belongs to the treasurer, but the account reference names M003: it wins.
    receipt = deliver_c2b(channel, c2b(BillRefNumber="m003"))

    assert (receipt.status, receipt.membership, receipt.source) == (MpesaReceipt.Status.POSTED, wanjiku, "c2b")
    assert (receipt.receipt_number, receipt.amount, receipt.payer_name) == ("RKTQDM7W6S", D("1500.00"), "John Doe")
    assert receipt.payload["TransID"] == "RKTQDM7W6S"
    journal = receipt.journal
    assert (journal.kind, journal.external_reference, journal.membership) == (
        Journal.Kind.PAYMENT,
        "RKTQDM7W6S",
        wanjiku,
    )
    assert journal.value_date == date(2026, 11, 22)
    september, october = Due.objects.filter(membership=wanjiku).order_by("due_date")
    assert (september.paid_amount, september.status) == (D("1000.00"), Due.Status.PAID)
    assert october.paid_amount == D("500.00")
    assert balance(wanjiku, A.MEMBER_SAVINGS) == D("1500.00")
    assert balance(treasurer, A.MEMBER_SAVINGS) == D("0.00")
    assert chama_balance(chama, A.MOBILE_MONEY) == D("1500.00")
    assert all_drift(chama) == []


def test_c2b_matched_by_a_phone_number_in_the_account_reference(setup):
    chama, channel, _, _, wanjiku, _ = setup
    receipt = deliver_c2b(channel, c2b(BillRefNumber="0712345678"))

    assert (receipt.status, receipt.membership) == (MpesaReceipt.Status.POSTED, wanjiku)
    assert balance(wanjiku, A.MEMBER_SAVINGS) == D("1500.00")


def test_c2b_matched_by_the_payers_phone_when_the_reference_names_nobody(setup):
    chama, channel, _, _, wanjiku, _ = setup
    receipt = deliver_c2b(channel, c2b(BillRefNumber="CHAMA", MSISDN="254712345678"))

    assert (receipt.status, receipt.membership) == (MpesaReceipt.Status.POSTED, wanjiku)
    assert receipt.phone_number == "+254712345678"
    assert balance(wanjiku, A.MEMBER_SAVINGS) == D("1500.00")


def test_unmatched_receipt_waits_in_suspense(setup):
    chama, channel, *_ = setup
    receipt = deliver_c2b(channel, c2b(BillRefNumber="X9", MSISDN="254799000111"))

    assert (receipt.status, receipt.membership) == (MpesaReceipt.Status.SUSPENSE, None)
    journal = receipt.journal
    assert (journal.kind, journal.external_reference, journal.amount) == (
        Journal.Kind.SUSPENSE_RECEIPT,
        "RKTQDM7W6S",
        D("1500.00"),
    )
    # Dr 1020 M-Pesa, Cr 2900 Unallocated receipts.
    assert entries_of(journal) == [("1020", D("1500.00")), ("2900", D("-1500.00"))]
    assert chama_balance(chama, A.SUSPENSE) == D("1500.00")
    assert not Due.objects.filter(chama=chama, paid_amount__gt=0).exists()
    assert all_drift(chama) == []


def test_suspense_assign_posts_the_money_to_the_members_dues_once(setup):
    chama, channel, treasurer, chair, wanjiku, _ = setup
    receipt = deliver_c2b(channel, c2b(BillRefNumber="X9", MSISDN="254799000111"))

    assigned = mpesa.suspense_assign(receipt=receipt, membership=wanjiku, by=treasurer.user)

    assert (assigned.status, assigned.membership, assigned.assigned_by) == (
        MpesaReceipt.Status.ASSIGNED,
        wanjiku,
        treasurer.user,
    )
    stored = MpesaReceipt.objects.get(pk=receipt.pk)
    assert (stored.status, stored.membership_id, stored.assignment_journal_id) == (
        MpesaReceipt.Status.ASSIGNED,
        wanjiku.pk,
        assigned.assignment_journal.pk,
    )
    # Dr suspense, Cr Wanjiku's savings (1,000 settles September, 500 part of October).
    savings_code = Account.objects.get(membership=wanjiku, purpose=A.MEMBER_SAVINGS).code
    assert entries_of(assigned.assignment_journal) == sorted([("2900", D("1500.00")), (savings_code, D("-1500.00"))])
    assert chama_balance(chama, A.SUSPENSE) == D("0.00")
    assert chama_balance(chama, A.MOBILE_MONEY) == D("1500.00")
    assert [d.paid_amount for d in Due.objects.filter(membership=wanjiku).order_by("due_date")] == [
        D("1000.00"),
        D("500.00"),
    ]
    journals, entries = Journal.objects.count(), Entry.objects.count()

    with pytest.raises(ValidationError, match="not in suspense"):
        mpesa.suspense_assign(receipt=receipt, membership=wanjiku, by=chair.user)
    with pytest.raises(ValidationError, match="not in suspense"):
        mpesa.suspense_assign(receipt=receipt, membership=chair, by=treasurer.user)

    assert (Journal.objects.count(), Entry.objects.count()) == (journals, entries)
    assert balance(wanjiku, A.MEMBER_SAVINGS) == D("1500.00")
    assert all_drift(chama) == []


def test_suspense_assign_is_for_officers_and_members_of_the_same_chama(setup):
    chama, channel, _, _, wanjiku, plain = setup
    receipt = deliver_c2b(channel, c2b(BillRefNumber="X9", MSISDN="254799000111"))
    other = ChamaFactory()
    outsider = joined(other, Role.MEMBER)
    other_treasurer = joined(other, Role.TREASURER)

    with pytest.raises(authority.Refused):
        mpesa.suspense_assign(receipt=receipt, membership=wanjiku, by=plain.user)
    with pytest.raises(authority.Refused):
        mpesa.suspense_assign(receipt=receipt, membership=wanjiku, by=other_treasurer.user)
    treasurer = setup[2]
    with pytest.raises(ValidationError):
        mpesa.suspense_assign(receipt=receipt, membership=outsider, by=treasurer.user)

    assert MpesaReceipt.objects.get(pk=receipt.pk).status == MpesaReceipt.Status.SUSPENSE
    assert chama_balance(chama, A.SUSPENSE) == D("1500.00")
    assert Journal.objects.filter(chama=chama).count() == 1


@pytest.mark.parametrize(
    "reference, msisdn", [("M003", "254708374149"), ("X9", "254799000111")], ids=["matched", "suspense"]
)
def test_a_replayed_receipt_returns_the_first_and_posts_nothing_more(setup, reference, msisdn):
    chama, channel, *_ = setup
    first = deliver_c2b(channel, c2b(BillRefNumber=reference, MSISDN=msisdn))
    journals, entries = Journal.objects.count(), Entry.objects.count()
    money = chama_balance(chama, A.MOBILE_MONEY)

    # Safaricom retries with the same receipt; the payer's name or the paybill's balance may differ.
    again = deliver_c2b(channel, c2b(BillRefNumber=reference, MSISDN=msisdn, OrgAccountBalance="50697.00"))

    assert again.pk == first.pk
    assert (again.journal_id, again.status) == (first.journal_id, first.status)
    assert not MpesaConflict.objects.exists()
    assert (Journal.objects.count(), Entry.objects.count()) == (journals, entries)
    assert MpesaReceipt.objects.filter(chama=chama, receipt_number="RKTQDM7W6S").count() == 1
    assert chama_balance(chama, A.MOBILE_MONEY) == money == D("1500.00")
    assert all_drift(chama) == []


def test_the_same_receipt_number_in_two_chamas_is_two_receipts(setup):
    chama, channel, *_ = setup
    other = ChamaFactory()
    joined(other, Role.TREASURER)
    other_channel = MpesaChannel.objects.create(chama=other, shortcode="600999")

    ours = deliver_c2b(channel, c2b())
    theirs = deliver_c2b(other_channel, c2b())

    assert ours.pk != theirs.pk
    assert (ours.chama, theirs.chama) == (chama, other)
    assert chama_balance(chama, A.MOBILE_MONEY) == chama_balance(other, A.MOBILE_MONEY) == D("1500.00")


def test_channel_for_needs_the_chamas_own_secret(setup):
    chama, channel, *_ = setup
    other = ChamaFactory()
    other_channel = MpesaChannel.objects.create(chama=other, shortcode="600999")

    assert mpesa.channel_for(chama.pk, channel.new_secret) == channel
    assert mpesa.channel_for(chama.pk, "wrong-secret") is None
    assert mpesa.channel_for(chama.pk, channel.new_secret[:-1]) is None
    assert mpesa.channel_for(chama.pk, channel.callback_secret_hash) is None  # the stored hash opens nothing
    assert mpesa.channel_for(chama.pk, "") is None
    assert mpesa.channel_for(chama.pk, None) is None
    # Another chama's secret does not open this chama's channel, nor the reverse.
    assert mpesa.channel_for(chama.pk, other_channel.new_secret) is None
    assert mpesa.channel_for(other.pk, channel.new_secret) is None
    assert mpesa.channel_for(ChamaFactory().pk, channel.new_secret) is None


# --- a local HTTP server that plays Daraja ---------------------------------------------------


class DarajaPlay:
    """What the fake Daraja saw, and how it should answer (`mode`)."""

    def __init__(self):
        self.mode = "ok"
        self.requests = []  # (method, path, headers, body)
        self.problems = []  # what the server found wrong in a request
        self.stk_bodies = []
        self.issued = 0


class DarajaHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    @property
    def play(self):
        return self.server.play

    def _answer(self, status, body):
        raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self):
        self.play.requests.append(("GET", self.path, dict(self.headers), b""))
        url = urlsplit(self.path)
        if url.path != "/oauth/v1/generate" or parse_qs(url.query).get("grant_type") != ["client_credentials"]:
            return self._answer(404, {"errorMessage": f"No route {self.path}"})
        expected = "Basic " + base64.b64encode(f"{CONSUMER_KEY}:{CONSUMER_SECRET}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            self.play.problems.append(f"bad basic auth {self.headers.get('Authorization')!r}")
            return self._answer(
                400, {"requestId": "", "errorCode": "400.008.01", "errorMessage": "Invalid Authentication passed"}
            )
        if self.play.mode == "no-token":
            return self._answer(200, {"expires_in": "3599"})
        return self._answer(200, {"access_token": TOKEN, "expires_in": "3599"})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.play.requests.append(("POST", self.path, dict(self.headers), body))
        if self.path != "/mpesa/stkpush/v1/processrequest":
            return self._answer(404, {"errorMessage": f"No route {self.path}"})
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.play.problems.append(f"bad bearer {self.headers.get('Authorization')!r}")
            return self._answer(401, {"errorCode": "404.001.03", "errorMessage": "Invalid Access Token"})
        try:
            data = json.loads(body)
        except ValueError:
            self.play.problems.append("body is not JSON")
            return self._answer(400, {"errorCode": "400.002.02", "errorMessage": "Bad Request - Invalid Body"})
        self.play.stk_bodies.append(data)
        problems = self.check_stk(data)
        if problems:
            self.play.problems.extend(problems)
            return self._answer(
                400, {"errorCode": "400.002.02", "errorMessage": "Bad Request - " + "; ".join(problems)}
            )
        if self.play.mode == "500":
            return self._answer(500, "upstream exploded")
        if self.play.mode == "error-json":
            return self._answer(
                500,
                {
                    "requestId": "11728-2929992-1",
                    "errorCode": "500.001.1001",
                    "errorMessage": "Merchant does not exist",
                },
            )
        if self.play.mode == "refused":
            return self._answer(200, {"ResponseCode": "1", "ResponseDescription": "Rejected: the system is busy"})
        self.play.issued += 1
        return self._answer(
            200,
            {
                "MerchantRequestID": f"29115-3462056{self.play.issued}-1",
                "CheckoutRequestID": f"ws_CO_2211202610211500000{self.play.issued}",
                "ResponseCode": "0",
                "ResponseDescription": "Success. Request accepted for processing",
                "CustomerMessage": "Success. Request accepted for processing",
            },
        )

    @staticmethod
    def check_stk(data):
        problems = []
        timestamp = str(data.get("Timestamp", ""))
        if len(timestamp) != 14 or not timestamp.isdigit():
            problems.append(f"Timestamp {timestamp!r}")
        password = base64.b64encode(f"{data.get('BusinessShortCode')}{PASSKEY}{timestamp}".encode()).decode()
        if data.get("Password") != password:
            problems.append("Password is not base64(shortcode + passkey + timestamp)")
        if data.get("BusinessShortCode") != SHORTCODE or data.get("PartyB") != SHORTCODE:
            problems.append("shortcode")
        if data.get("TransactionType") != "CustomerPayBillOnline":
            problems.append("TransactionType")
        if type(data.get("Amount")) is not int or data["Amount"] < 1:
            problems.append(f"Amount {data.get('Amount')!r} is not a whole number")
        for name in ("PartyA", "PhoneNumber"):
            value = str(data.get(name, ""))
            if not (value.startswith("2547") and len(value) == 12 and value.isdigit()):
                problems.append(f"{name} {value!r}")
        if not str(data.get("CallBackURL", "")).startswith("https://"):
            problems.append("CallBackURL must be https")
        if not data.get("AccountReference") or len(data["AccountReference"]) > 12:
            problems.append("AccountReference")
        if not data.get("TransactionDesc") or len(data["TransactionDesc"]) > 13:
            problems.append("TransactionDesc")
        return problems


@pytest.fixture
def daraja():
    server = ThreadingHTTPServer(("127.0.0.1", 0), DarajaHandler)
    server.play = DarajaPlay()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    server.play.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield server.play
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def client_for(play, consumer_secret=CONSUMER_SECRET):
    return DarajaClient(
        base_url=play.url + "/", consumer_key=CONSUMER_KEY, consumer_secret=consumer_secret, passkey=PASSKEY, timeout=5
    )


@pytest.fixture
def callback_base(settings):
    settings.MPESA_CALLBACK_BASE_URL = "https://chama.example.co.ke/"
    return "https://chama.example.co.ke"


def test_daraja_client_fetches_a_token_with_basic_auth(daraja):
    assert client_for(daraja).access_token() == TOKEN
    assert daraja.problems == []
    method, url, headers, _ = daraja.requests[0]
    assert (method, url) == ("GET", "/oauth/v1/generate?grant_type=client_credentials")


def test_daraja_client_reports_bad_credentials(daraja):
    with pytest.raises(DarajaError, match="400.*Invalid Authentication passed"):
        client_for(daraja, consumer_secret="wrong").access_token()


def test_daraja_client_reports_a_missing_token(daraja):
    daraja.mode = "no-token"
    with pytest.raises(DarajaError, match="no access token"):
        client_for(daraja).access_token()


def test_daraja_client_reports_an_unreachable_server(daraja):
    client = DarajaClient(
        base_url="http://127.0.0.1:9",
        consumer_key=CONSUMER_KEY,
        consumer_secret=CONSUMER_SECRET,
        passkey=PASSKEY,
        timeout=2,
    )
    with pytest.raises(DarajaError, match="could not be reached"):
        client.access_token()


def test_stk_push_start_then_its_callback_pays_that_member(setup, daraja, callback_base):
    chama, channel, treasurer, _, wanjiku, _ = setup

    stk = mpesa.stk_push_start(membership=wanjiku, amount=D("1500.00"), by=treasurer.user, client=client_for(daraja))

    assert daraja.problems == []
    assert [(method, url) for method, url, _, _ in daraja.requests] == [
        ("GET", "/oauth/v1/generate?grant_type=client_credentials"),
        ("POST", "/mpesa/stkpush/v1/processrequest"),
    ]
    body = daraja.stk_bodies[0]
    assert (body["Amount"], body["PartyA"], body["PhoneNumber"], body["AccountReference"]) == (
        1500,
        "254712345678",
        "254712345678",
        "M003",
    )
    callback_url = urlsplit(body["CallBackURL"])
    assert body["CallBackURL"].startswith(callback_base + "/")
    # The push's own secret is the URL's last path segment; no query string to land in access logs.
    token = callback_url.path.rstrip("/").rsplit("/", 1)[1]
    assert callback_url.path == reverse("mpesa-stk-callback", kwargs={"chama_id": chama.pk, "secret": token})
    assert callback_url.query == "" and len(token) >= 43
    assert mpesa.channel_for(chama.pk, token) is None  # it opens this push's callback, not the paybill's
    stored = StkRequest.objects.get(pk=stk.pk)
    assert (stored.chama, stored.membership, stored.amount, stored.phone_number, stored.requested_by) == (
        chama,
        wanjiku,
        D("1500.00"),
        "+254712345678",
        treasurer.user,
    )
    assert stored.checkout_request_id == "ws_CO_22112026102115000001"
    assert stored.merchant_request_id == "29115-34620561-1"
    assert stored.result_code is None

    # Safaricom calls back on the URL it was given; the secret in it finds this push.
    found = mpesa.stk_request_for(chama.pk, token)
    assert found == stk
    assert stored.callback_token_hash and token not in stored.callback_token_hash
    # The payer's phone in the callback (254708374149) is the treasurer's: the StkRequest says whose money it is.
    receipt = mpesa.receive_stk_callback(stk=found, payload=stk_ok(checkout=stk.checkout_request_id))

    assert (receipt.source, receipt.status, receipt.membership) == (
        MpesaReceipt.Source.STK,
        MpesaReceipt.Status.POSTED,
        wanjiku,
    )
    assert (receipt.receipt_number, receipt.amount) == ("NLJ7RT61SV", D("1500.00"))
    assert StkRequest.objects.get(pk=stk.pk).result_code == 0
    assert balance(wanjiku, A.MEMBER_SAVINGS) == D("1500.00")
    assert balance(treasurer, A.MEMBER_SAVINGS) == D("0.00")
    assert chama_balance(chama, A.MOBILE_MONEY) == D("1500.00")
    assert [d.paid_amount for d in Due.objects.filter(membership=wanjiku).order_by("due_date")] == [
        D("1000.00"),
        D("500.00"),
    ]

    # Safaricom calls back more than once: nothing more is posted.
    journals, entries = Journal.objects.count(), Entry.objects.count()
    again = mpesa.receive_stk_callback(stk=found, payload=stk_ok(checkout=stk.checkout_request_id))
    assert again.pk == receipt.pk
    assert (Journal.objects.count(), Entry.objects.count()) == (journals, entries)
    assert all_drift(chama) == []


def test_a_member_may_prompt_their_own_phone_but_not_anothers(setup, daraja, callback_base):
    _, _, _, _, wanjiku, plain = setup

    own = mpesa.stk_push_start(membership=plain, amount=200, by=plain.user, client=client_for(daraja))
    assert own.amount == D("200.00")
    with pytest.raises(authority.Refused):
        mpesa.stk_push_start(membership=wanjiku, amount=200, by=plain.user, client=client_for(daraja))
    assert len(daraja.stk_bodies) == 1


def test_a_cancelled_stk_push_records_the_result_and_posts_nothing(setup, daraja, callback_base):
    chama, channel, treasurer, _, wanjiku, _ = setup
    stk = mpesa.stk_push_start(membership=wanjiku, amount=1500, by=treasurer.user, client=client_for(daraja))
    cancelled = json.loads(STK_CANCELLED_JSON)
    cancelled["Body"]["stkCallback"]["CheckoutRequestID"] = stk.checkout_request_id

    assert mpesa.receive_stk_callback(stk=stk, payload=cancelled) is None

    stored = StkRequest.objects.get(pk=stk.pk)
    assert (stored.result_code, stored.result_description) == (1032, "Request cancelled by user.")
    assert not Journal.objects.filter(chama=chama).exists()
    assert not MpesaReceipt.objects.filter(chama=chama).exists()


def test_an_stk_callback_about_another_push_is_refused_and_posts_nothing(setup, daraja, callback_base):
    chama, _, treasurer, _, wanjiku, _ = setup
    stk = mpesa.stk_push_start(membership=wanjiku, amount=1500, by=treasurer.user, client=client_for(daraja))
    token = urlsplit(daraja.stk_bodies[0]["CallBackURL"]).path.rstrip("/").rsplit("/", 1)[1]

    with pytest.raises(ValidationError) as caught:
        mpesa.receive_stk_callback(stk=stk, payload=stk_ok(checkout="ws_CO_unknown"))

    assert "CheckoutRequestID" in caught.value.message_dict
    assert StkRequest.objects.get(pk=stk.pk).result_code is None
    assert not Journal.objects.filter(chama=chama).exists() and not MpesaReceipt.objects.exists()
    # The push's secret finds it only in its own chama.
    other = ChamaFactory()
    MpesaChannel.objects.create(chama=other, shortcode="600999")
    assert mpesa.stk_request_for(other.pk, token) is None
    assert mpesa.stk_request_for(chama.pk, token[:-1]) is None
    assert mpesa.stk_request_for(chama.pk, "") is None


@pytest.mark.parametrize(
    "mode, message",
    [
        ("500", r"M-Pesa answered 500: upstream exploded"),
        ("error-json", r"M-Pesa answered 500: .*Merchant does not exist"),
        ("refused", r"Rejected: the system is busy"),
    ],
)
def test_daraja_refusals_raise_darajaerror_and_record_nothing(setup, daraja, callback_base, mode, message):
    chama, _, treasurer, _, wanjiku, _ = setup
    daraja.mode = mode

    with pytest.raises(DarajaError, match=message):
        mpesa.stk_push_start(membership=wanjiku, amount=1500, by=treasurer.user, client=client_for(daraja))

    assert daraja.problems == []  # the request itself was well formed
    assert not StkRequest.objects.filter(chama=chama).exists()


def test_bad_credentials_for_stk_push_raise_darajaerror(setup, daraja, callback_base):
    chama, _, treasurer, _, wanjiku, _ = setup
    with pytest.raises(DarajaError, match="Invalid Authentication passed"):
        mpesa.stk_push_start(
            membership=wanjiku, amount=1500, by=treasurer.user, client=client_for(daraja, consumer_secret="wrong")
        )
    assert not StkRequest.objects.filter(chama=chama).exists()


@pytest.mark.parametrize("amount", [D("1500.50"), "0.5", 0, "0.00", -100])
def test_fractional_or_zero_amounts_are_refused_before_any_http_call(setup, daraja, callback_base, amount):
    chama, _, treasurer, _, wanjiku, _ = setup

    with pytest.raises(ValidationError) as caught:
        mpesa.stk_push_start(membership=wanjiku, amount=amount, by=treasurer.user, client=client_for(daraja))

    assert "amount" in caught.value.message_dict
    assert daraja.requests == []
    assert not StkRequest.objects.filter(chama=chama).exists()


def test_stk_push_without_a_paybill_is_refused(daraja, callback_base, db):
    chama = ChamaFactory()
    treasurer = joined(chama, Role.TREASURER)
    member = joined(chama, Role.MEMBER)

    with pytest.raises(ValidationError, match="no M-Pesa paybill"):
        mpesa.stk_push_start(membership=member, amount=100, by=treasurer.user, client=client_for(daraja))

    assert daraja.requests == []
    assert not StkRequest.objects.filter(chama=chama).exists()


@pytest.fixture
def daraja_settings(settings, daraja, callback_base):
    settings.MPESA_BASE_URL, settings.MPESA_CONSUMER_KEY = daraja.url, CONSUMER_KEY
    settings.MPESA_CONSUMER_SECRET, settings.MPESA_PASSKEY = CONSUMER_SECRET, PASSKEY
    return settings


def test_my_stk_push_prompts_only_my_own_phone(setup, daraja, daraja_settings, api_as):
    chama, _, _, _, wanjiku, _ = setup

    response = api_as(wanjiku.user).post(
        f"/api/v1/chamas/{chama.pk}/my/stk-push/", {"amount": "500", "phone_number": "+254799000111"}, format="json"
    )

    assert response.status_code == 202, response.content
    assert daraja.stk_bodies[0]["PhoneNumber"] == "254712345678"  # Wanjiku's, not the number in the body
    assert StkRequest.objects.get().phone_number == "+254712345678"


def test_my_stk_push_when_mpesa_is_unreachable_is_a_502_and_records_nothing(setup, daraja_settings, api_as):
    chama, _, _, _, wanjiku, _ = setup
    daraja_settings.MPESA_BASE_URL = "http://127.0.0.1:9"  # nothing listens there

    response = api_as(wanjiku.user).post(f"/api/v1/chamas/{chama.pk}/my/stk-push/", {"amount": "500"}, format="json")

    assert response.status_code == 502
    assert response.json()["detail"].startswith("M-Pesa could not take the request just now")
    assert not StkRequest.objects.exists()
