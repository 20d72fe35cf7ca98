"""Savings cycles in the back office: the treasurer opens one, reads the share-out preview, asks for
the share-out there; the chairperson approves it under Share-outs. Figures: test_savings_cycles.py's
hand-worked cycle (fund 5,450, 50 shares, KES 109 a share)."""

from datetime import date

import pytest
from django.urls import reverse

from chama.roles import Role
from finance.models import Account, SavingsCycle, ShareOut
from finance.services import ledger, reconcile
from tests.factories import ChamaFactory, joined
from tests.finance.test_savings_cycles import worked_cycle
from tests.helpers import today_is

pytestmark = [pytest.mark.usefixtures("clock"), pytest.mark.django_db]


def test_a_cycle_is_opened_in_the_back_office_with_the_policys_price_by_default(client):
    chama = ChamaFactory(kind="vsla", policy={"share_price": "200"})
    treasurer = joined(chama, Role.TREASURER)
    today_is(date(2027, 1, 4))
    client.force_login(treasurer.user)
    form = {
        "chama": chama.pk,
        "name": "2027",
        "start_date": "2027-01-04",
        "planned_end_date": "2027-12-18",
        "rounding_unit": "1",
        "remainder_to": "next_cycle",
    }
    bad = client.post(reverse("admin:finance_savingscycle_add"), {**form, "planned_end_date": "2026-01-01"})
    assert bad.status_code == 200 and "planned end must come after the start" in bad.content.decode()
    added = client.post(reverse("admin:finance_savingscycle_add"), form)
    assert added.status_code == 302, added.content.decode()[-2000:]
    cycle = SavingsCycle.objects.get(chama=chama)
    assert (str(cycle.share_price), cycle.shares_max_per_meeting, cycle.status) == ("200.00", 5, "active")


def test_the_treasurer_asks_for_the_share_out_from_the_preview_and_the_chairperson_approves(client):
    chama = worked_cycle()
    page = reverse("admin:finance_savingscycle_share_out", args=[chama.cycle.pk])
    client.force_login(chama.treasurer.user)
    shown = client.get(page).content.decode()
    assert "Distributable fund 5450.00" in shown and "value per share 109.0000" in shown
    assert chama.otieno.member_number in shown and "1630.00" in shown

    refused = client.post(page, {"share_out": "1", "method": "cash", "next_cycle_name": "2028"})
    assert "Give the next cycle" in refused.content.decode()  # a next cycle needs its planned end
    asked = client.post(page, {"share_out": "1", "method": "cash"})
    share_out = ShareOut.objects.get(cycle=chama.cycle)
    assert asked.status_code == 302 and share_out.status == "pending"

    client.force_login(chama.chair.user)
    done = client.post(
        reverse("admin:finance_shareout_changelist"),
        {"action": "approve", "_selected_action": [share_out.pk]},
        follow=True,
    )
    assert "1 share-out(s) approved and posted." in [str(m) for m in done.context["messages"]]
    share_out.refresh_from_db()
    assert share_out.status == "posted"
    assert ledger.chama_account(chama, Account.Purpose.CASH).normal_balance == 0
    assert reconcile.all_drift(chama) == []
    posted = client.get(page).content.decode()
    assert "Shared out on 18 Dec 2027" in posted
    detail = client.get(reverse("admin:finance_shareout_change", args=[share_out.pk])).content.decode()
    assert "what each member received" in detail.lower() and "1630.00" in detail


def test_a_secretary_reads_the_preview_but_cannot_ask_for_the_share_out(client):
    chama = worked_cycle()
    page = reverse("admin:finance_savingscycle_share_out", args=[chama.cycle.pk])
    client.force_login(chama.secretary.user)
    shown = client.get(page)
    assert shown.status_code == 200 and "Ask for the share-out" not in shown.content.decode()
    client.post(page, {"share_out": "1", "method": "cash"})
    assert not ShareOut.objects.exists()
