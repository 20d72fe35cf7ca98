"""The `Idempotency-Key` header, the same on every posting route (payments, deposits, share
purchases, loan repayments): a key of up to 255 characters is kept whole, a longer one is a 400
(never cut, so two keys that share a beginning stay two postings), and a replay answers 200 with
the first result and `Idempotent-Replayed: true`."""

from datetime import date
from decimal import Decimal as D
from types import SimpleNamespace

import pytest

from chama.roles import Role
from finance.models import Journal, Loan
from finance.services import loans, savings
from groups.models import Chama
from tests.factories import ChamaFactory, joined, loan_product
from tests.helpers import today_is

# Money here is recorded on the day it is dated: each step moves the chama's clock to its day.
pytestmark = pytest.mark.usefixtures("clock")

LONGEST = "k" * 255
TOO_LONG = "k" * 256
# Two keys of 150 characters that differ after the 100th: cut to 100 they would be one key.
PREFIX = "meeting-2026-07-04-collection-sheet-" + "x" * 64
KEY_A, KEY_B = PREFIX + "a" * 50, PREFIX + "b" * 50


@pytest.fixture
def books(db):
    """A VSLA (it sells shares at 100, up to 10 a meeting) where Wanjiku saved 10,000 and holds a
    running 3,000 loan."""
    chama = ChamaFactory(
        kind=Chama.Kind.VSLA,
        policy={
            "share_price": D("100"),
            "shares_min_per_meeting": 1,
            "shares_max_per_meeting": 10,
            "loan_approvals_required": 2,
            "loan_max_savings_multiple": D("3"),
        },
    )
    chair, treasurer, wanjiku = joined(chama, Role.CHAIRPERSON), joined(chama, Role.TREASURER), joined(chama)
    savings.savings_deposit(membership=wanjiku, amount="10000", method="cash", by=treasurer.user)
    loan = loans.loan_apply(
        membership=wanjiku,
        product=loan_product(chama, "Dharura", penalty_value=D("0")),
        principal="3000",
        installments=3,
        by=wanjiku.user,
    )
    loans.loan_approve(loan=loan, by=chair.user)
    loans.loan_approve(loan=loan, by=treasurer.user)
    today_is(date(2026, 6, 1))
    loans.loan_disburse(loan=loan, by=treasurer.user, method="cash", value_date=date(2026, 6, 1))
    today_is(date(2026, 6, 10))  # the day the tests post
    return SimpleNamespace(
        chama=chama,
        treasurer=treasurer,
        wanjiku=wanjiku,
        loan=Loan.objects.get(pk=loan.pk),
        base=f"/api/v1/chamas/{chama.pk}",
        last_journal=Journal.objects.order_by("-pk")[0].pk,
    )


# route name → (path, body, kind of the journal it posts)
ROUTES = {
    "payment": (
        "payments/",
        lambda b: {"membership": b.wanjiku.pk, "amount": "500.00", "method": "cash"},
        Journal.Kind.PAYMENT,
    ),
    "deposit": (
        "deposits/",
        lambda b: {"membership": b.wanjiku.pk, "amount": "500.00", "method": "cash"},
        Journal.Kind.SAVINGS_DEPOSIT,
    ),
    "share purchase": (
        "share-purchases/",
        lambda b: {"membership": b.wanjiku.pk, "shares": 2, "method": "cash"},
        Journal.Kind.SHARE_PURCHASE,
    ),
    "loan repayment": (
        None,
        lambda b: {"amount": "500.00", "method": "cash", "value_date": "2026-06-10"},
        Journal.Kind.LOAN_REPAYMENT,
    ),
}


def post(client, books, route, key=None):
    path, body, _ = ROUTES[route]
    url = f"{books.base}/{path}" if path else f"{books.base}/loans/{books.loan.pk}/repay/"
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(url, body(books), format="json", **headers)


def posted(books, route):
    """What the test posted on the route (not the fixture's deposit)."""
    return Journal.objects.filter(chama=books.chama, kind=ROUTES[route][2], pk__gt=books.last_journal).order_by("pk")


@pytest.mark.parametrize("route", ROUTES)
def test_a_key_of_255_characters_is_kept_whole_and_a_replay_answers_200_with_the_first_result(books, api_as, route):
    client = api_as(books.treasurer.user)

    first = post(client, books, route, key=LONGEST)
    replay = post(client, books, route, key=LONGEST)

    assert first.status_code == 201, first.content
    assert "Idempotent-Replayed" not in first
    assert replay.status_code == 200, replay.content
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    journal = posted(books, route).get()  # posted once
    assert journal.idempotency_key == LONGEST
    if route != "loan repayment":
        assert first.json()["id"] == journal.pk


@pytest.mark.parametrize("route", ROUTES)
def test_a_key_over_255_characters_is_refused_not_cut(books, api_as, route):
    response = post(api_as(books.treasurer.user), books, route, key=TOO_LONG)

    assert response.status_code == 400, response.content
    assert "255" in response.json()["Idempotency-Key"][0]
    assert not posted(books, route).exists()


@pytest.mark.parametrize("route", ROUTES)
def test_two_long_keys_that_share_their_first_100_characters_post_twice(books, api_as, route):
    client = api_as(books.treasurer.user)

    first, second = post(client, books, route, key=KEY_A), post(client, books, route, key=KEY_B)

    assert (first.status_code, second.status_code) == (201, 201), second.content
    assert "Idempotent-Replayed" not in second
    assert sorted(posted(books, route).values_list("idempotency_key", flat=True)) == [KEY_A, KEY_B]


@pytest.mark.parametrize("route", ROUTES)
def test_a_blank_key_is_no_key_and_each_request_posts(books, api_as, route):
    client = api_as(books.treasurer.user)

    responses = [post(client, books, route, key="   "), post(client, books, route, key="   ")]

    assert [r.status_code for r in responses] == [201, 201]
    assert list(posted(books, route).values_list("idempotency_key", flat=True)) == ["", ""]


def test_a_key_is_stripped_so_a_retry_with_spaces_is_a_replay(books, api_as):
    client = api_as(books.treasurer.user)

    first, retry = (
        post(client, books, "payment", key="sheet-7-row-3"),
        post(client, books, "payment", key=" sheet-7-row-3 "),
    )

    assert (first.status_code, retry.status_code, retry["Idempotent-Replayed"]) == (201, 200, "true")
    assert retry.json()["id"] == first.json()["id"]


def test_a_replay_by_reference_says_so_too(books, api_as):
    client = api_as(books.treasurer.user)
    body = {"membership": books.wanjiku.pk, "amount": "700.00", "method": "mpesa", "reference": "QK71XYZ789"}
    url = f"{books.base}/deposits/"

    first, again = client.post(url, body, format="json"), client.post(url, body, format="json")

    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (201, 200, "true")
    assert again.json()["id"] == first.json()["id"]


def test_the_schema_documents_the_key_and_the_replay_header(api_as, books):
    schema = api_as(books.treasurer.user).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]
    for path, status in (
        ("payments/", "201"),
        ("deposits/", "201"),
        ("share-purchases/", "201"),
        ("loans/{id}/repay/", "201"),
    ):
        operation = paths[f"/api/v1/chamas/{{chama_id}}/{path}"]["post"]
        assert "Idempotency-Key" in [p["name"] for p in operation["parameters"] if p["in"] == "header"]
        assert status in operation["responses"]
        assert "Idempotent-Replayed" in operation["responses"]["200"].get("headers", {})
