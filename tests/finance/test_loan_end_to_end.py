"""The whole loan story through the product's own doors — API, admin, collection sheet, commands —
agreeing to the cent with loan_quote."""

import io
import json
from datetime import date
from decimal import Decimal as D

from django.core.management import call_command

from chama.roles import Role
from finance.models import Loan
from finance.selectors import loans as loan_reads
from finance.services import savings
from tests.factories import ChamaFactory, biashara_product, joined
from tests.helpers import sheet_data, today_is


def test_apply_guarantee_approve_disburse_repay_classify_and_agree_with_loan_quote(db, api_as, client, clock):
    chama = ChamaFactory(policy={"loan_approvals_required": 2})
    chair, treasurer = joined(chama, Role.CHAIRPERSON), joined(chama, Role.TREASURER)
    wanjiku, otieno = joined(chama), joined(chama)
    for member in (wanjiku, otieno):
        savings.savings_deposit(membership=member, amount="10000", method="cash", by=treasurer.user)
    # Biashara without a fee or a late penalty, from no minimum amount.
    product = biashara_product(chama, min_amount=D("0"), fee_kind="flat", fee_value=D("0"), penalty_value=D("0"))

    # The member applies through the API; the guarantor accepts through the API.
    applied = api_as(wanjiku.user).post(
        f"/api/v1/chamas/{chama.pk}/loans/",
        {
            "product": product.pk,
            "principal": "6000.00",
            "installments": 3,
            "purpose": "Stock",
            "guarantors": [{"membership": otieno.pk, "amount": "3000.00"}],
        },
        format="json",
    )
    assert applied.status_code == 201, applied.content
    loan = Loan.objects.get(pk=applied.json()["id"])
    guarantee = api_as(otieno.user).get(f"/api/v1/chamas/{chama.pk}/guarantees/").json()["results"][0]
    assert (
        api_as(otieno.user).post(f"/api/v1/chamas/{chama.pk}/guarantees/{guarantee['id']}/accept/").status_code == 200
    )

    # Two officers approve in the admin (the chairperson and the treasurer hold the money rights);
    # the treasurer disburses there.
    for officer in (chair, treasurer):
        client.force_login(officer.user)
        client.post("/admin/finance/loan/", {"action": "approve", "_selected_action": [loan.pk], "index": "0"})
    client.force_login(treasurer.user)
    client.post("/admin/finance/loan/", {"action": "disburse_cash", "_selected_action": [loan.pk], "index": "0"})
    loan.refresh_from_db()
    assert loan.status == Loan.Status.ACTIVE
    disbursed = loan.disbursed_date

    quote = json.loads(_quote(disbursed))
    first = quote[0]

    # The treasurer records the first installment at a meeting, on its due date.
    today_is(date.fromisoformat(first["due_date"]))
    sheet_url = f"/admin/finance/journal/collection-sheet/?chama={chama.pk}&date={first['due_date']}"
    sheet = client.get(sheet_url).context["sheet"]
    saved = client.post(sheet_url, sheet_data(sheet, {wanjiku: {"repayment": first["total"]}}))
    assert saved.status_code == 302

    # The second installment is missed: 10 days after it fell due the arrears job classifies the loan.
    late = date.fromisoformat(quote[1]["due_date"])
    as_of = today_is(date.fromordinal(late.toordinal() + 10))
    call_command("update_loan_arrears", "--as-of", as_of.isoformat(), stdout=io.StringIO())
    loan.refresh_from_db()
    assert (loan.classification, loan.days_in_arrears) == ("1-30", 10)

    # Portfolio, statement and schedule agree with loan_quote to the cent.
    outstanding = D(quote[0]["balance"])  # principal left after the first installment
    portfolio = api_as(treasurer.user).get(f"/api/v1/chamas/{chama.pk}/loan-portfolio/").json()
    assert portfolio["outstanding_principal"] == f"{outstanding:.2f}"
    assert portfolio["buckets"]["1-30"] == f"{outstanding:.2f}"
    assert portfolio["par30"] == "0.00"
    mine = api_as(wanjiku.user).get(f"/api/v1/chamas/{chama.pk}/loans/{loan.pk}/").json()
    assert [(row["due_date"], row["principal"], row["interest"]) for row in mine["schedule"]] == [
        (row["due_date"], row["principal"], row["interest"]) for row in quote
    ]
    statement = api_as(wanjiku.user).get(f"/api/v1/chamas/{chama.pk}/loans/{loan.pk}/statement/").json()
    assert [line["amount"] for line in statement] == ["6000.00", first["total"]]
    assert loan_reads.outstanding_principal(loan=loan) == outstanding


def _quote(start):
    out = io.StringIO()
    call_command(
        "loan_quote",
        "--principal",
        "6000",
        "--rate",
        "12",
        "--rate-period",
        "year",
        "--installments",
        "3",
        "--frequency",
        "monthly",
        "--method",
        "declining_balance",
        "--installment-multiple",
        "1",
        "--start",
        start.isoformat(),
        "--format",
        "json",
        stdout=out,
    )
    return out.getvalue()
