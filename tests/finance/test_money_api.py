"""The money API: members' accounts, statements and dues; officers' payments, reversals, waivers,
expenses, trial balance; the M-Pesa callbacks. Amounts worked out by hand."""

from datetime import date
from decimal import Decimal as D

import pytest

from chama.roles import Role
from finance.models import Journal, MpesaChannel, MpesaReceipt
from finance.services import dues as dues_service
from tests.factories import ChamaFactory, joined
from tests.helpers import results


@pytest.fixture
def books(db):
    """Monthly KES 1,000 contributions; Wanjiku owes September and October."""
    chama = ChamaFactory(
        policy={
            "contribution_amount": D("1000"),
            "contribution_due_day": 5,
            "grace_days": 3,
            "late_fine_amount": D("100"),
            "second_approval_threshold": D("500"),
        }
    )
    treasurer, chair, wanjiku = joined(chama, Role.TREASURER), joined(chama, Role.CHAIRPERSON), joined(chama)
    dues_service.contribution_plan_from_policy(chama, start_date=date(2026, 9, 1))
    dues_service.generate_dues(period=(2026, 9), chama=chama)
    dues_service.generate_dues(period=(2026, 10), chama=chama)
    return chama, treasurer, chair, wanjiku


def pay(client, chama, membership, amount="1500.00", key=None, **extra):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(
        f"/api/v1/chamas/{chama.pk}/payments/",
        {"membership": membership.pk, "amount": amount, "method": "cash", **extra},
        format="json",
        **headers,
    )


def test_officer_records_a_payment_and_a_retry_with_the_same_key_returns_it(books, api_as):
    chama, treasurer, _, wanjiku = books
    client = api_as(treasurer.user)

    first = pay(client, chama, wanjiku, key="sheet-7-row-3")
    retry = pay(client, chama, wanjiku, key="sheet-7-row-3")

    assert first.status_code == 201, first.content
    assert retry.status_code == 200 and retry.json()["id"] == first.json()["id"]
    assert Journal.objects.filter(chama=chama).count() == 1
    body = first.json()
    assert body["amount"] == "1500.00"
    # Dr cash 1,500; Cr savings 1,500 (September 1,000 + half of October).
    assert sorted(entry["amount"] for entry in body["entries"]) == ["-1500.00", "1500.00"]


def test_money_as_a_json_number_is_refused(books, api_as):
    chama, treasurer, _, wanjiku = books
    response = pay(api_as(treasurer.user), chama, wanjiku, amount=1500)

    assert response.status_code == 400
    assert "string" in response.json()["amount"][0]
    assert Journal.objects.count() == 0


def test_member_sees_the_payment_in_accounts_statement_and_dues(books, api_as):
    chama, treasurer, _, wanjiku = books
    pay(api_as(treasurer.user), chama, wanjiku, amount="1500.00")
    pay(api_as(treasurer.user), chama, wanjiku, amount="700.00")
    client = api_as(wanjiku.user)

    accounts = client.get(f"/api/v1/chamas/{chama.pk}/my/accounts/").json()
    balances = {account["purpose"]: account["balance"] for account in accounts}
    # 2,200 paid: 2,000 settles both months, 200 is held as an advance.
    assert balances == {"member_savings": "2000.00", "member_advance": "200.00"}

    savings = next(a for a in accounts if a["purpose"] == "member_savings")
    page = client.get(f"/api/v1/chamas/{chama.pk}/my/accounts/{savings['id']}/statement/?page_size=1").json()
    assert [(line["amount"], line["balance"]) for line in page["results"]] == [("500.00", "2000.00")]
    older = client.get(page["next"]).json()
    assert [(line["amount"], line["balance"]) for line in older["results"]] == [("1500.00", "1500.00")]

    my_dues = results(client.get(f"/api/v1/chamas/{chama.pk}/my/dues/"))
    assert {(due["period_label"], due["paid_amount"], due["status"]) for due in my_dues} == {
        ("2026-09", "1000.00", "paid"),
        ("2026-10", "1000.00", "paid"),
    }
    assert client.get(f"/api/v1/chamas/{chama.pk}/my/journals/").json()["results"][0]["amount"] == "700.00"


def test_members_cannot_use_officer_money_routes(books, api_as):
    chama, _, _, wanjiku = books
    client = api_as(wanjiku.user)

    assert pay(client, chama, wanjiku).status_code == 403
    assert client.get(f"/api/v1/chamas/{chama.pk}/journals/").status_code == 403
    assert client.get(f"/api/v1/chamas/{chama.pk}/trial-balance/").status_code == 403


def test_reverse_a_payment_through_the_api(books, api_as):
    chama, treasurer, _, wanjiku = books
    client = api_as(treasurer.user)
    journal_id = pay(client, chama, wanjiku).json()["id"]

    no_reason = client.post(f"/api/v1/chamas/{chama.pk}/journals/{journal_id}/reverse/", {}, format="json")
    reversed_ = client.post(
        f"/api/v1/chamas/{chama.pk}/journals/{journal_id}/reverse/", {"reason": "Wrong member"}, format="json"
    )
    again = client.post(f"/api/v1/chamas/{chama.pk}/journals/{journal_id}/reverse/", {"reason": "again"}, format="json")

    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    assert reversed_.status_code == 201 and reversed_.json()["reversal_of"] == journal_id
    assert again.status_code == 400
    trial = client.get(f"/api/v1/chamas/{chama.pk}/trial-balance/").json()
    assert trial["total_debit"] == trial["total_credit"] == "0.00"


def test_a_members_journals_show_where_each_payment_went_and_what_reversed_it(
    books, api_as, django_assert_max_num_queries
):
    chama, treasurer, _, wanjiku = books
    officer = api_as(treasurer.user)
    reversed_id = pay(officer, chama, wanjiku, "300.00").json()["id"]
    officer.post(f"/api/v1/chamas/{chama.pk}/journals/{reversed_id}/reverse/", {"reason": "Wrong member"})
    for _ in range(5):
        pay(officer, chama, wanjiku, "200.00")

    with django_assert_max_num_queries(12):  # the same for a page of 7 journals or of 50
        page = api_as(wanjiku.user).get(f"/api/v1/chamas/{chama.pk}/my/journals/").json()["results"]

    assert len(page) == 7
    first_payment = page[-1]
    assert (first_payment["id"], first_payment["amount"]) == (reversed_id, "300.00")
    assert first_payment["reversed_by"] == page[-2]["id"] and page[-2]["reversal_of"] == reversed_id
    # Dr cash 300, Cr September's savings 300: she sees her savings line only (cash is the chama's).
    assert [line["amount"] for line in first_payment["lines"]] == ["300.00"]
    assert page[0]["reversed_by"] is None and [line["amount"] for line in page[0]["lines"]] == ["200.00"]


def test_waive_through_the_api_with_a_second_officer_above_the_threshold(books, api_as):
    chama, treasurer, chair, wanjiku = books
    due = wanjiku.dues.order_by("due_date").first()

    waived = api_as(treasurer.user).post(
        f"/api/v1/chamas/{chama.pk}/dues/{due.pk}/waive/", {"reason": "Bereavement"}, format="json"
    )
    assert waived.status_code == 201 and waived.json()["status"] == "pending"  # 1,000 > 500
    approved = api_as(chair.user).post(f"/api/v1/chamas/{chama.pk}/waivers/{waived.json()['id']}/approve/")
    assert approved.status_code == 200 and approved.json()["status"] == "applied"
    due.refresh_from_db()
    assert (due.status, due.waived_amount) == ("waived", D("1000.00"))


def test_expense_above_the_threshold_needs_a_second_officer(books, api_as):
    chama, treasurer, chair, _ = books
    pay(api_as(treasurer.user), chama, chama.memberships.get(role=Role.MEMBER), amount="2000.00")
    client = api_as(treasurer.user)
    body = {"category": "meeting", "amount": "800.00", "description": "Hall hire", "paid_through": "cash"}

    # Naming the chairperson in the body is no signature: the expense waits for her own call.
    pending = client.post(f"/api/v1/chamas/{chama.pk}/expenses/", {**body, "approved_by": chair.user.pk}, format="json")
    assert pending.status_code == 201, pending.content
    expense = pending.json()
    assert (expense["status"], expense["approved_by"], expense["journal"]) == ("pending", None, None)
    assert expense["awaiting_signature_from"] == [chair.user.get_full_name()]
    url = f"/api/v1/chamas/{chama.pk}/expenses/{expense['id']}/approve/"
    assert client.post(url).status_code == 403  # the recorder cannot sign twice
    approved = api_as(chair.user).post(url)
    assert approved.status_code == 200 and approved.json()["status"] == "posted", approved.content

    trial = client.get(f"/api/v1/chamas/{chama.pk}/trial-balance/").json()
    rows = {row["code"]: (row["debit"], row["credit"]) for row in trial["rows"]}
    # Cash 2,000 − 800 = 1,200 debit; the meeting expense account 800 debit; savings 2,000 credit.
    assert rows["1000"] == ("1200.00", "0.00")
    assert trial["total_debit"] == trial["total_credit"] == "2000.00"


def test_mpesa_c2b_callback_posts_once_and_needs_the_secret(books, client):
    chama, _, _, wanjiku = books
    channel = MpesaChannel.objects.create(chama=chama, shortcode="600638")
    payload = {
        "TransactionType": "Pay Bill",
        "TransID": "RKTQDM7W6S",
        "TransTime": "20261122063845",
        "TransAmount": "1000.00",
        "BusinessShortCode": "600638",
        "BillRefNumber": wanjiku.member_number.lower(),
        "MSISDN": "254708374149",
        "FirstName": "Jane",
    }
    url = f"/api/v1/chamas/{chama.pk}/mpesa/c2b/"

    wrong = client.post(f"{url}nope/", payload, content_type="application/json")
    first = client.post(f"{url}{channel.new_secret}/", payload, content_type="application/json")
    replay = client.post(f"{url}{channel.new_secret}/", payload, content_type="application/json")

    assert wrong.status_code == 404
    assert first.json() == replay.json() == {"ResultCode": 0, "ResultDesc": "Accepted"}
    assert MpesaReceipt.objects.get(receipt_number="RKTQDM7W6S").membership == wanjiku
    assert Journal.objects.filter(chama=chama, external_reference="RKTQDM7W6S").count() == 1
    assert wanjiku.dues.order_by("due_date").first().status == "paid"


def test_member_asks_for_a_withdrawal_and_officers_approve_and_pay(books, api_as):
    chama, treasurer, chair, wanjiku = books
    pay(api_as(treasurer.user), chama, wanjiku, amount="2000.00")  # 2,000 saved
    member_client = api_as(wanjiku.user)

    asked = member_client.post(
        f"/api/v1/chamas/{chama.pk}/withdrawals/", {"amount": "300.00", "reason": "School fees"}, format="json"
    )
    assert asked.status_code == 201, asked.content
    withdrawal = asked.json()["id"]
    assert api_as(chair.user).post(f"/api/v1/chamas/{chama.pk}/withdrawals/{withdrawal}/approve/").status_code == 200
    paid = api_as(treasurer.user).post(
        f"/api/v1/chamas/{chama.pk}/withdrawals/{withdrawal}/pay/", {"method": "cash"}, format="json"
    )

    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    balances = {a["purpose"]: a["balance"] for a in member_client.get(f"/api/v1/chamas/{chama.pk}/my/accounts/").json()}
    assert balances["member_savings"] == "1700.00"
    assert [w["id"] for w in results(member_client.get(f"/api/v1/chamas/{chama.pk}/withdrawals/"))] == [withdrawal]
