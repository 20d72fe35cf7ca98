"""The treasurer's dashboard in a real browser: the demo's treasurer logs in through the back
office's login form and finds, on its front page, the figures the ledger's entries add up to and
the two charts drawn as SVG.

The page is served by another thread, so the demo is committed (transactional_db) rather than
rolled back. Playwright's sync API keeps an event loop running in this thread while it is open,
and Django refuses ORM calls under a running loop: every database read happens before the
browser starts."""

import io
import json
import os
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Sum

from chama.roles import Role
from finance.models import Account, Entry, Loan
from groups.models import Chama

try:
    from playwright.sync_api import sync_playwright
except ImportError:
    sync_playwright = None

CHROMIUM = "/usr/bin/chromium"
NO_BROWSER = "No browser: install Debian's chromium (apt-get install -y chromium) to run the browser tests."
A = Account.Purpose

# Decided before any fixture runs: without a browser, neither the test database nor the demo is built.
pytestmark = pytest.mark.skipif(sync_playwright is None or not os.path.exists(CHROMIUM), reason=NO_BROWSER)


def seed_demo():
    """The demo as `make run` loads it, and Umoja's treasurer's login as the command prints it."""
    out = io.StringIO()
    call_command("seed_demo", "--json", stdout=out)
    entry = next(item for item in json.loads(out.getvalue())["chamas"] if item["name"].startswith("Umoja"))
    login = next(item for item in entry["logins"] if item["role"] == Role.TREASURER)
    return Chama.objects.get(pk=entry["id"]), login["username"], login["password"]


def ledger_total(chama, **accounts):
    """The sum of the entries (debit positive) on the chama's accounts matching `accounts`: the
    ledger itself, not the cached balances and selectors the dashboard reads."""
    filters = {f"account__{name}": value for name, value in accounts.items()}
    return Entry.objects.filter(chama=chama, **filters).aggregate(total=Sum("amount"))["total"] or Decimal(0)


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


def test_the_demo_treasurer_sees_the_ledgers_figures_and_two_charts(live_server, transactional_db):
    chama, username, password = seed_demo()
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
