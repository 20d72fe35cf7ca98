"""A whole VSLA cycle end to end, as the chama would run it: the treasurer opens the cycle and
records shares and an expense through the API, a member lends and repays, members choose through the
API, the treasurer asks for the share-out in the back office and the chairperson approves it
through the API. The books end with zero drift, equal trial-balance totals, and every member's
statement (`my/journals/`) carrying the share-out journal that explains their payout.

Worked by hand (shares at KES 50, payouts rounded down to KES 1):
- shares: chairperson 4 + 4, treasurer 5, secretary 3, Wanjiku 5 + 5, Otieno 2 = 28 shares, KES 1,400;
- an expense of KES 70; Wanjiku borrows 1,000 at 1% a month flat over 1 month and repays 1,010;
- fund = 1,400 + 10 interest − 70 = 1,340; value per share 47.857142…: a cycle that lost a little;
- chairperson 8 × 47.857… = 382.86 → 382; treasurer 239.29 → 239; secretary 143.57 → 143;
  Wanjiku 478.57 → 478; Otieno 95.71 → 95; paid 1,337, remainder 3.
"""

from datetime import date
from decimal import Decimal as D

import pytest
from django.urls import reverse

from chama.roles import Role
from finance.models import ShareOut
from finance.services import loans, reconcile
from tests.factories import LOAN_POLICY, ChamaFactory, joined, loan_product
from tests.helpers import results, today_is

pytestmark = [pytest.mark.usefixtures("clock"), pytest.mark.django_db]


def test_a_vsla_cycle_from_opening_to_share_out_through_the_api_and_the_back_office(api_as, client):
    chama = ChamaFactory(kind="vsla", policy={**LOAN_POLICY, "share_price": D("50"), "shares_max_per_meeting": 5})
    chair, treasurer, secretary = (joined(chama, role) for role in (Role.CHAIRPERSON, Role.TREASURER, Role.SECRETARY))
    wanjiku, otieno = joined(chama), joined(chama)
    everyone = [chair, treasurer, secretary, wanjiku, otieno]
    api = f"/api/v1/chamas/{chama.pk}"
    books = api_as(treasurer.user)

    today_is(date(2027, 1, 2))
    cycle = books.post(
        f"{api}/savings-cycles/",
        {"name": "2027", "start_date": "2027-01-02", "planned_end_date": "2027-06-26"},
        format="json",
    ).json()
    meetings = {date(2027, 1, 2): [(chair, 4), (treasurer, 5), (secretary, 3), (wanjiku, 5), (otieno, 2)]}
    meetings[date(2027, 1, 9)] = [(chair, 4), (wanjiku, 5)]
    for day, bought in meetings.items():
        today_is(day)
        for membership, shares in bought:
            made = books.post(
                f"{api}/share-purchases/",
                {"membership": membership.pk, "shares": shares, "method": "cash"},
                format="json",
            )
            assert made.status_code == 201, made.content
    spent = books.post(
        f"{api}/expenses/",
        {"category": "stationery", "amount": "70", "description": "Ledger books", "paid_through": "cash"},
        format="json",
    )
    assert spent.status_code == 201, spent.content
    product = loan_product(chama, "Short", interest_rate=D("1"), fee_value=D("0"), min_amount=D("500"))
    loan = loans.loan_apply(membership=wanjiku, product=product, principal="1000", installments=1, by=wanjiku.user)
    loans.loan_approve(loan=loan, by=chair.user)
    loans.loan_approve(loan=loan, by=secretary.user)
    today_is(date(2027, 2, 1))
    loans.loan_disburse(loan=loan, by=treasurer.user, method="cash")
    today_is(date(2027, 3, 1))
    loans.loan_repay(loan=loan, amount=D("1010"), method="cash", by=treasurer.user)

    today_is(date(2027, 6, 26))
    member_api = api_as(wanjiku.user)
    preview = member_api.get(f"{api}/savings-cycles/{cycle['id']}/preview/").json()
    assert (preview["fund"], preview["total_shares"], preview["value_per_share"]) == ("1340.00", 28, "47.8571")
    assert [(m["shares"], m["net_payout"]) for m in preview["members"]] == [(10, "478.00")]

    client.force_login(treasurer.user)
    page = reverse("admin:finance_savingscycle_share_out", args=[cycle["id"]])
    assert client.post(page, {"share_out": "1", "method": "cash"}).status_code == 302
    share_out = ShareOut.objects.get(cycle_id=cycle["id"])
    approved = api_as(chair.user).post(f"{api}/share-outs/{share_out.pk}/approve/")
    assert approved.status_code == 200, approved.content
    assert (approved.json()["fund"], approved.json()["remainder"]) == ("1340.00", "3.00")

    trial = books.get(f"{api}/trial-balance/").json()
    assert trial["total_debit"] == trial["total_credit"]
    assert reconcile.all_drift(chama) == [] and reconcile.unbalanced_journal_ids(chama) == []
    cash = next(row for row in trial["rows"] if row["code"] == "1000")
    assert cash["debit"] == "3.00"  # 1,400 − 70 − 1,000 + 1,010 − 1,337 paid: the remainder, in the box
    paid = {chair: "382", treasurer: "239", secretary: "143", wanjiku: "478", otieno: "95"}
    for membership in everyone:
        statement = results(api_as(membership.user).get(f"{api}/my/journals/"))
        share_out_journal = next(j for j in statement if j["kind"] == "share_out")
        assert f"paid {paid[membership]}.00 (cash)" in share_out_journal["memo"], share_out_journal["memo"]
