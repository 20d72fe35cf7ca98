"""Welfare end to end, as the issue's "done when" reads: a member submits a claim with a document
through the API, two officers approve it in the back office, the treasurer pays it, the levy is
raised and paid, the claimant gets a receipt and the fund's history explains every shilling.
Figures: test_claims.py's Harambee (a fund of 12,000; a parent's death pays 10,000; a levy of 200)."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from chama.models import Notification
from finance.services import dues, reconcile
from tests.helpers import results, today_is
from tests.welfare.test_claims import PDF, harambee
from welfare.models import Claim

pytestmark = [pytest.mark.usefixtures("clock"), pytest.mark.django_db]


def act(client, name, claim):
    response = client.post(
        reverse("admin:welfare_claim_changelist"), {"action": name, "_selected_action": [claim.pk]}, follow=True
    )
    return [str(message) for message in response.context["messages"]]


def test_a_claim_through_the_api_decided_and_paid_in_the_back_office(api_as, client):
    chama = harambee()
    wanjiku, otieno = chama.members[0], chama.members[1]
    api = f"/api/v1/chamas/{chama.pk}/welfare"
    member = api_as(wanjiku.user)

    schemes = results(member.get(f"{api}/schemes/"))
    assert [(b["event"], b["amount"]) for b in schemes[0]["benefits"]] == [
        ("death_parent", "10000.00"),
        ("hospitalisation", "5000.00"),
    ]
    bad = member.post(f"{api}/claims/", {"scheme": chama.scheme.pk, "event": "death_parent"})
    assert bad.status_code == 400 and {"event_date", "beneficiary", "amount_requested"} <= set(bad.json())
    future = member.post(
        f"{api}/claims/",
        {
            "scheme": chama.scheme.pk,
            "event": "death_parent",
            "event_date": "2027-12-01",
            "beneficiary": "Mary Atieno, mother",
            "amount_requested": "15000",
        },
    )
    assert future.status_code == 400 and "future" in str(future.json())
    made = member.post(
        f"{api}/claims/",
        {
            "scheme": chama.scheme.pk,
            "event": "death_parent",
            "event_date": "2027-01-08",
            "beneficiary": "Mary Atieno, mother",
            "amount_requested": "15000",
            "document": SimpleUploadedFile("permit.pdf", PDF, content_type="application/pdf"),
            "document_title": "Burial permit",
        },
        format="multipart",
    )
    assert made.status_code == 201, made.content
    mine = made.json()
    assert mine["status"] == "submitted" and [d["title"] for d in mine["documents"]] == ["Burial permit"]
    assert all(rule["passed"] for rule in mine["eligibility"])
    assert member.get(mine["documents"][0]["url"]).status_code == 200  # her own document
    other = api_as(otieno.user)
    assert results(other.get(f"{api}/claims/")) == []  # not his, and not paid yet
    assert other.get(mine["documents"][0]["url"]).status_code == 403
    assert other.post(f"{api}/claims/{mine['id']}/approve/").status_code == 403

    claim = Claim.objects.get(pk=mine["id"])
    client.force_login(chama.secretary.user)
    detail = client.get(reverse("admin:welfare_claim_change", args=[claim.pk])).content.decode()
    assert "✓ Up to date with welfare contributions." in detail and "Burial permit" in detail
    assert "1 approval(s) given." in act(client, "approve", claim)
    client.force_login(chama.chair.user)
    assert "1 approval(s) given." in act(client, "approve", claim)
    claim.refresh_from_db()
    assert (claim.status, claim.amount_approved) == ("approved", D("10000.00"))
    client.force_login(chama.treasurer.user)
    assert "1 claim(s) paid." in act(client, "pay_cash", claim)

    receipt = Notification.objects.get(user=wanjiku.user, dedupe_key__startswith="welfare-paid-")
    assert "KES 10,000.00 paid" in receipt.title
    # The levy: 200 from each of the six members into the fund.
    today_is(date(2027, 1, 20))
    for each in chama.everyone:
        dues.payment_record(membership=each, amount=D("200"), method="cash", by=chama.treasurer.user)
    fund = api_as(chama.treasurer.user).get(f"{api}/fund/").json()
    assert fund["balance"] == "3200.00"  # 12,000 − 10,000 + 6 × 200
    assert [(row["amount_in"], row["amount_out"], row["balance"]) for row in fund["history"][:2]] == [
        ("200.00", None, "3200.00"),
        ("200.00", None, "3000.00"),
    ]
    outs = [row for row in fund["history"] if row["amount_out"]]
    assert [(row["amount_out"], row["balance"]) for row in outs] == [("10000.00", "2000.00")]
    ins = sum(D(row["amount_in"]) for row in fund["history"] if row["amount_in"])
    assert ins - D("10000") == D("3200.00")  # every shilling in, and the one payout
    assert fund["members_behind"] == []
    assert api_as(otieno.user).get(f"{api}/fund/").json()["members_behind"] is None
    # Paid, and the scheme shows paid claims: every member sees it now, without its documents.
    seen = results(other.get(f"{api}/claims/"))
    assert [(c["id"], c["documents"]) for c in seen] == [(claim.pk, None)]
    page = client.get(reverse("admin:welfare_claim_fund")).content.decode()
    assert "3200.00 in the welfare fund" in page
    assert reconcile.all_drift(chama) == [] and reconcile.unbalanced_journal_ids(chama) == []
