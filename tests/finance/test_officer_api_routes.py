"""Routes a client needs to run a chama through the API: a member's accounts and statements for
officers, the savings types a withdrawal names, and M-Pesa receipts waiting in suspense."""

from decimal import Decimal as D

from chama.roles import Role
from finance.models import Journal, MpesaReceipt
from finance.services import savings
from finance.services.dues import default_savings_type
from tests.factories import joined, member, money_rows
from tests.helpers import results


def test_an_officer_reads_a_members_accounts_and_a_statement(chama, api_as):
    treasurer = member(chama, Role.TREASURER)
    saver = joined(chama)
    savings.savings_deposit(membership=saver, amount="1500", method="cash", by=treasurer)
    savings.savings_deposit(membership=saver, amount="250.50", method="bank", by=treasurer)
    api = api_as(treasurer)

    accounts = results(api.get(f"/api/v1/chamas/{chama.pk}/accounts/", {"membership": saver.pk}))
    [account] = [a for a in accounts if a["purpose"] == "member_savings"]
    assert (account["balance"], account["membership"], account["member_number"]) == (
        "1750.50",
        saver.pk,
        saver.member_number,
    )

    lines = results(api.get(f"/api/v1/chamas/{chama.pk}/accounts/{account['id']}/statement/"))
    assert [(line["amount"], line["balance"]) for line in lines] == [("250.50", "1750.50"), ("1500.00", "1500.00")]


def test_a_plain_member_may_not_read_other_members_accounts(chama, api_as):
    saver = joined(chama)
    response = api_as(member(chama)).get(f"/api/v1/chamas/{chama.pk}/accounts/", {"membership": saver.pk})
    assert response.status_code == 403


def test_every_member_sees_the_savings_types_a_withdrawal_names(chama, api_as):
    default = default_savings_type(chama)
    response = api_as(member(chama)).get(f"/api/v1/chamas/{chama.pk}/savings-types/")
    assert response.status_code == 200
    assert [(row["id"], row["is_default"]) for row in response.json()] == [(default.pk, True)]


def test_an_officer_assigns_a_receipt_waiting_in_suspense_to_its_member(chama, api_as):
    rows = money_rows(chama)
    receipt = rows[MpesaReceipt]
    payer = rows[Journal].membership
    api = api_as(member(chama, Role.TREASURER))

    waiting = results(api.get(f"/api/v1/chamas/{chama.pk}/mpesa-receipts/", {"status": "suspense"}))
    assert [(row["receipt_number"], row["amount"]) for row in waiting] == [(receipt.receipt_number, "250.00")]

    assigned = api.post(
        f"/api/v1/chamas/{chama.pk}/mpesa-receipts/{receipt.pk}/assign/", {"membership": payer.pk}, format="json"
    )

    assert assigned.status_code == 200, assigned.content
    assert (assigned.json()["status"], assigned.json()["membership"]) == ("assigned", payer.pk)
    receipt.refresh_from_db()
    assert receipt.assignment_journal.amount == D("250.00")
    again = api.post(
        f"/api/v1/chamas/{chama.pk}/mpesa-receipts/{receipt.pk}/assign/", {"membership": payer.pk}, format="json"
    )
    assert again.status_code == 400


def test_a_secretary_may_see_but_not_assign_suspense(chama, api_as):
    receipt = money_rows(chama)[MpesaReceipt]
    api = api_as(member(chama, Role.SECRETARY))
    payer = joined(chama)
    response = api.post(
        f"/api/v1/chamas/{chama.pk}/mpesa-receipts/{receipt.pk}/assign/", {"membership": payer.pk}, format="json"
    )
    assert response.status_code == 403
