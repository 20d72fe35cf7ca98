"""seed_demo: two demo chamas with officers, members and six months of history, loaded once for
the module (it takes seconds), run twice to prove nothing is duplicated; and the demo treasurer's
dashboard in a real browser, on the same demo."""

import io
import json
import os
from collections import Counter
from datetime import date
from decimal import Decimal as D

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone
from rest_framework.test import APIClient

from chama.roles import Role
from finance.models import Account, Due, Entry, Journal, Loan, MpesaReceipt, SharePurchase
from finance.selectors.ledger import trial_balance
from finance.services.reconcile import all_drift
from groups.models import Chama, Membership
from meetings.models import Meeting, Proposal

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # the browser test skips with its message
    sync_playwright = None

PASSWORD = "pw-123"
CHROMIUM = "/usr/bin/chromium"
NO_BROWSER = "No browser: install Debian's chromium (apt-get install -y chromium) to run the browser tests."
A = Account.Purpose


def run(*args):
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def counts():
    return {
        model.__name__: model.objects.count()
        for model in (get_user_model(), Chama, Membership, Journal, Due, SharePurchase, MpesaReceipt)
    }


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        data = json.loads(run("--json", "--password", PASSWORD))
        first = counts()
        table = run("--password", PASSWORD)
        yield {"data": data, "first": first, "second": counts(), "table": table}
        call_command("flush", interactive=False, verbosity=0)


@pytest.mark.django_db
def test_json_shape_two_chamas_of_different_kinds_with_officers_and_ten_members(demo):
    chamas = demo["data"]["chamas"]
    assert set(demo["data"]) == {"chamas"}
    assert {Chama.objects.get(pk=entry["id"]).kind for entry in chamas} == {Chama.Kind.VSLA, Chama.Kind.ROSCA}
    for entry in chamas:
        assert entry["name"] == Chama.objects.get(pk=entry["id"]).name
        assert all(
            {"role", "username", "password"} <= set(login) and login["password"] == PASSWORD
            for login in entry["logins"]
        )
        roles = Counter(login["role"] for login in entry["logins"])
        assert (roles[Role.CHAIRPERSON], roles[Role.TREASURER], roles[Role.SECRETARY]) == (1, 1, 1)
        assert roles[Role.MEMBER] >= 10
        assert Chama.objects.get(pk=entry["id"]).members_count == len(entry["logins"])


@pytest.mark.django_db
def test_second_run_duplicates_nothing(demo):
    assert demo["first"] == demo["second"]
    assert demo["first"]["Journal"] > 300


@pytest.mark.django_db
def test_six_months_of_history_that_reconciles(demo):
    for entry in demo["data"]["chamas"]:
        chama = Chama.objects.get(pk=entry["id"])
        journals = Journal.objects.filter(chama=chama)
        first, last = (
            journals.order_by("value_date").first().value_date,
            journals.order_by("value_date").last().value_date,
        )
        assert (last - first).days >= 150
        assert Due.objects.filter(chama=chama, kind=Due.Kind.FINE).exists()
        _, debit, credit = trial_balance(chama=chama)
        assert debit == credit > 0
    assert MpesaReceipt.objects.filter(status=MpesaReceipt.Status.SUSPENSE).exists()
    assert SharePurchase.objects.filter(value_date__gte=date(2026, 6, 1)).exists()
    assert Meeting.objects.filter(status=Meeting.Status.HELD, minutes__gt="").count() >= 20
    assert Meeting.objects.filter(status=Meeting.Status.SCHEDULED, starts_at__gt=timezone.now()).exists()
    assert Proposal.objects.filter(status=Proposal.Status.CLOSED, result=Proposal.Result.PASSED).exists()
    assert Membership.objects.filter(attendance_percentage__isnull=False).exists()
    assert all_drift() == []
    out = io.StringIO()
    call_command("reconcile_balances", stdout=out)
    assert "No drift" in out.getvalue()
    call_command("verify_chain", stdout=out)  # every demo journal on its chama's chain, unbroken
    assert "Every chain verifies" in out.getvalue()


@pytest.mark.django_db
def test_a_login_per_chama_works_and_reaches_its_chama(demo):
    for entry in demo["data"]["chamas"]:
        login = next(item for item in entry["logins"] if item["role"] == Role.MEMBER)
        client = APIClient()
        token = client.post("/api/v1/auth/token/", {"login": login["username"], "password": PASSWORD}, format="json")
        assert token.status_code == 200
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.json()['access']}")
        assert entry["id"] in [row["id"] for row in client.get("/api/v1/chamas/").json()["results"]]
        journals = client.get(f"/api/v1/chamas/{entry['id']}/my/journals/").json()["results"]
        paid = [
            due
            for due in client.get(f"/api/v1/chamas/{entry['id']}/my/dues/").json()["results"]
            if due["paid_amount"] != "0.00"
        ]
        assert journals and paid, "a demo member sees their payments"
    refused = APIClient().post("/api/v1/auth/token/", {"login": login["username"], "password": "wrong"}, format="json")
    assert refused.status_code == 401


@pytest.mark.django_db
def test_table_output_lists_every_username(demo):
    for entry in demo["data"]["chamas"]:
        assert entry["name"] in demo["table"]
        assert all(login["username"] in demo["table"] for login in entry["logins"])


@pytest.mark.django_db
def test_tujenge_runs_a_merry_go_round_with_rounds_paid_and_the_latest_waiting_for_a_signature(demo):
    from finance.models import RoscaCycle, RoscaPayout

    cycle = RoscaCycle.objects.get(chama__kind=Chama.Kind.ROSCA)
    assert (cycle.status, cycle.slots.count(), cycle.draw_seed) == ("active", 13, "Tujenge meeting of 30 May 2026")
    payouts = list(RoscaPayout.objects.filter(cycle=cycle).order_by("slot__position"))
    assert payouts and [p.status for p in payouts] == ["paid"] * (len(payouts) - 1) + ["pending"]
    assert {p.amount for p in payouts} == {D("26000.00")}  # 13 members × KES 2,000
    assert all(p.approved_by not in (p.recorded_by, p.membership.user) for p in payouts if p.status == "paid")


@pytest.mark.django_db
def test_umoja_runs_a_savings_cycle_near_its_end_whose_share_out_preview_members_read(demo):
    from finance.models import SavingsCycle

    cycle = SavingsCycle.objects.get(chama__kind=Chama.Kind.VSLA)
    assert cycle.status == "active" and cycle.planned_end_date > timezone.localdate()
    entry = next(item for item in demo["data"]["chamas"] if item["id"] == cycle.chama_id)
    login = next(item for item in entry["logins"] if item["role"] == Role.MEMBER)
    client = APIClient()
    token = client.post("/api/v1/auth/token/", {"login": login["username"], "password": PASSWORD}, format="json")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.json()['access']}")
    preview = client.get(f"/api/v1/chamas/{cycle.chama_id}/savings-cycles/{cycle.pk}/preview/").json()
    bought = sum(SharePurchase.objects.filter(chama=cycle.chama).values_list("shares", flat=True))
    assert preview["total_shares"] == bought > 0
    mine = Membership.objects.get(chama=cycle.chama, user__phone_number=login["username"])
    assert [line["membership"] for line in preview["members"]] == [mine.pk]
    assert preview["members"][0]["choice"] in ("cash", "rollover")


@pytest.mark.django_db
def test_each_demo_chama_has_a_welfare_scheme_a_paid_claim_one_under_review_and_a_levy(demo):
    from finance.models import ContributionPlan
    from welfare.models import Claim, WelfareScheme

    for chama in Chama.objects.all():
        assert WelfareScheme.objects.filter(chama=chama).count() == 1
        claims = Claim.objects.filter(chama=chama)
        assert sorted(claims.values_list("status", flat=True)) == ["paid", "under_review"]
        paid = claims.get(status="paid")
        assert paid.amount_paid == D("5000.00") and paid.documents.exists()
        assert ContributionPlan.objects.filter(chama=chama, kind="levy", welfare_claims=paid).exists()
    assert all_drift() == []


# --- the dashboard in a real browser -----------------------------------------------------------


def ledger_total(chama, **accounts):
    """The sum of the entries (debit positive) on the chama's accounts matching `accounts`: the
    ledger itself, not the cached balances and selectors the dashboard reads."""
    filters = {f"account__{name}": value for name, value in accounts.items()}
    return Entry.objects.filter(chama=chama, **filters).aggregate(total=Sum("amount"))["total"] or D("0")


def expected_figures(chama):
    shown = lambda amount: f"{chama.currency} {amount:,.2f}"
    own = {"membership__isnull": True}
    return {
        "cash": shown(ledger_total(chama, purpose=A.CASH, **own)),
        "bank": shown(ledger_total(chama, purpose=A.BANK, **own)),
        "m-pesa": shown(ledger_total(chama, purpose=A.MOBILE_MONEY, **own)),
        # What members hold is a credit on their accounts: shown as a positive amount.
        "savings": shown(-ledger_total(chama, purpose=A.MEMBER_SAVINGS, membership__isnull=False)),
        "shares": shown(-ledger_total(chama, purpose=A.MEMBER_SHARES, membership__isnull=False)),
        "loans": shown(ledger_total(chama, purpose=A.LOAN_RECEIVABLE, loan__status__in=Loan.OUTSTANDING_STATUSES)),
    }


# Last in the module: the live server makes this test transactional, and the database is emptied
# after it (the module's demo with it).
@pytest.mark.skipif(sync_playwright is None or not os.path.exists(CHROMIUM), reason=NO_BROWSER)
@pytest.mark.django_db
def test_the_demo_treasurer_sees_the_ledgers_figures_and_two_charts_in_a_browser(demo, live_server):
    """The admin's front page in Debian's Chromium (Playwright), logged in through the login form as
    Umoja's treasurer: the figures the ledger's entries add up to, and the two charts as SVG.
    Playwright's sync API runs an event loop in this thread, where Django refuses ORM calls: every
    database read happens before the browser starts."""
    entry = next(item for item in demo["data"]["chamas"] if item["name"].startswith("Umoja"))
    login = next(item for item in entry["logins"] if item["role"] == Role.TREASURER)
    chama, username, password = Chama.objects.get(pk=entry["id"]), login["username"], PASSWORD
    expected = expected_figures(chama)
    # Zeros on both sides would prove nothing: the demo holds cash, shares and a loan in arrears.
    assert f"{chama.currency} 0.00" not in (expected["cash"], expected["shares"], expected["loans"]), expected
    panel = f"#dashboard-{chama.pk}"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(f"{live_server.url}/admin/login/?next=/admin/")
            page.fill("#id_username", username)
            page.fill("#id_password", password)
            page.click('#login-form [type="submit"]')
            page.wait_for_url(f"{live_server.url}/admin/")
            page.goto(f"{live_server.url}/admin/")

            shown = {name: page.locator(f'{panel} [data-figure="{name}"]').inner_text().strip() for name in expected}
            charts = page.locator(f"{panel} svg")
            chart_count = charts.count()
            drawn = [charts.nth(i).evaluate("svg => svg instanceof SVGSVGElement") for i in range(chart_count)]
            panels = page.locator('div.module[id^="dashboard-"]').count()
        finally:
            browser.close()

    assert shown == expected
    assert chart_count == 2 and drawn == [True, True]  # contributions by month and cash at each month's end
    assert panels == 1  # Umoja's only: its treasurer is a plain member of Tujenge
