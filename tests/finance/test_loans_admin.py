"""The loans back office (Django admin) driven through the test client as the chama's officers:
the review page (eligibility, schedule, guarantees, approvals), the approve and disburse actions,
the repayment form, the arrears filter, the portfolio page, collateral, and what a secretary (a
second signature only) may not do. Amounts are worked out by hand in the comments.

The chama: 2 approvals, 90 days of membership, 3 × savings, one loan at a time, default after 90
days. Savings: Wanjiku 10,000, Otieno 5,000, Achieng 2,000, the secretary 1,000 (18,000 cash).
Products, both 1% a month flat, monthly, 1 to 12 installments, 1,000 to 50,000, a 2% fee deducted,
a 5% late penalty after 3 days: "Biashara" needs 1 guarantor covering 50%, "Dharura" none.
3,000 over 3 months: interest 30.00 a month; installment 1,000 + 30 = 1,030.
"""

from datetime import date
from decimal import Decimal as D

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from finance.models import Account, Collateral, Installment, Journal, Loan, LoanApproval
from finance.selectors import loans as loan_reads
from finance.services import loans
from tests.factories import UserFactory, loan_applied, loan_product, loan_running, loan_shop
from tests.helpers import today_is

# Money here is recorded on the day it is dated: each step moves the chama's clock to its day.
pytestmark = pytest.mark.usefixtures("clock")

A = Account.Purpose


@pytest.fixture
def shop(db):
    s = loan_shop(secretary_savings="1000")
    s.biashara = loan_product(s.chama, "Biashara", guarantors_required=1, guarantee_coverage=D("50"))
    s.dharura = loan_product(s.chama, "Dharura")
    s.product = s.dharura  # what loans are taken on unless a test names a product
    return s


def reload(loan):
    return Loan.objects.get(pk=loan.pk)


def chama_balance(chama, purpose):
    account = Account.objects.filter(chama=chama, purpose=purpose, membership__isnull=True).first()
    return account.normal_balance if account else D("0.00")


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def change_url(loan):
    return reverse("admin:finance_loan_change", args=[loan.pk])


def action(client, name, *rows):
    return client.post(
        reverse("admin:finance_loan_changelist"), {"action": name, "_selected_action": [r.pk for r in rows]}
    )


def inline(response, model):
    """The rows of the inline of `model` on a change page."""
    found = [each.formset for each in response.context["inline_admin_formsets"] if each.formset.model is model]
    assert found, f"the {model._meta.verbose_name_plural} inline is not on the page"
    return found[0].queryset


def act(client, name, *rows):
    """Run a changelist action and return the messages shown afterwards."""
    response = client.post(
        reverse("admin:finance_loan_changelist"),
        {"action": name, "_selected_action": [r.pk for r in rows]},
        follow=True,
    )
    assert response.status_code == 200
    return [str(message) for message in response.context["messages"]]


def form_data(response):
    """What the browser would send back for the change form as shown: every inline's management
    form and the current values of its forms' fields."""
    data = {}
    for each in response.context["inline_admin_formsets"]:
        formset = each.formset
        for name in formset.management_form.fields:
            data[formset.management_form.add_prefix(name)] = formset.management_form[name].value()
        for form in formset.forms:
            for name in form.fields:
                value = form[name].value()
                data[form.add_prefix(name)] = "" if value is None else value
    return data


# --- the review page --------------------------------------------------------------------------------


def applied_with_guarantees(s):
    """Wanjiku applies for 4,000 over 4 on Biashara; Otieno's 2,000 (50% of 4,000) is accepted,
    Achieng's 500 still requested; the chair has approved (1 of 2)."""
    loan = loan_applied(
        s, principal="4000", installments=4, product=s.biashara, guarantors=[(s.otieno, "2000"), (s.achieng, "500")]
    )
    loans.guarantee_accept(guarantee=loan.guarantees.get(guarantor=s.otieno), by=s.otieno.user)
    loans.loan_approve(loan=loan, by=s.chair.user, comment="Known customer")
    return loan


def review_of(response):
    """The "Eligibility and guarantees" block: the rules, the largest amount, cover, approvals."""
    html = response.content.decode()
    start = html.rindex("<ul>", 0, html.index("Member for"))
    return html[start : html.index("</p>", html.index("Approvals: ")) + 4]


def test_the_change_page_shows_the_eligibility_review(shop, client):
    loan = applied_with_guarantees(shop)
    client.force_login(shop.treasurer.user)

    response = client.get(change_url(loan))

    assert response.status_code == 200
    review = review_of(response)
    assert "Member for" in review and "the chama asks for 90." in review
    assert "Savings 10,000.00 × 3" in review and "the product starts at 1,000.00." in review
    assert "No loan in arrears or default." in review
    assert "Guarantees complete." in review  # Otieno's 2,000 covers 50% of 4,000
    assert "Approvals: 1 of 2" in review
    assert "Record a repayment" not in response.content.decode()  # not disbursed yet


def test_the_review_does_not_count_the_application_under_review(shop, client):
    loan = applied_with_guarantees(shop)
    client.force_login(shop.treasurer.user)

    review = review_of(client.get(change_url(loan)))

    # Wanjiku has no other loan: one at a time is respected, and she may borrow 10,000 × 3.
    assert "✘" not in review, review
    assert "Largest amount now: <strong>30,000.00</strong>" in review


def test_the_change_page_lists_the_guarantees_and_approvals(shop, client):
    loan = applied_with_guarantees(shop)
    client.force_login(shop.treasurer.user)

    response = client.get(change_url(loan))

    assert [(g.guarantor, g.amount, g.status) for g in inline(response, loan.guarantees.model).order_by("id")] == [
        (shop.otieno, D("2000.00"), "accepted"),
        (shop.achieng, D("500.00"), "requested"),
    ]
    assert [(a.officer, a.decision, a.comment) for a in inline(response, LoanApproval)] == [
        (shop.chair.user, "approve", "Known customer")
    ]
    html = response.content.decode()
    assert shop.otieno.user.get_full_name() in html and shop.achieng.user.get_full_name() in html
    assert "Known customer" in html


def test_the_change_page_shows_the_schedule_and_a_repayment_link(shop, client):
    loan = loan_running(shop)
    client.force_login(shop.treasurer.user)

    response = client.get(change_url(loan))

    assert response.status_code == 200
    schedule = inline(response, Installment).order_by("n")
    assert [(r.n, r.due_date, r.principal, r.interest) for r in schedule] == [
        (1, date(2026, 7, 1), D("1000.00"), D("30.00")),
        (2, date(2026, 8, 1), D("1000.00"), D("30.00")),
        (3, date(2026, 9, 1), D("1000.00"), D("30.00")),
    ]
    html = response.content.decode()
    assert "July 1, 2026" in html and "Sept. 1, 2026" in html
    assert "Record a repayment" in html and reverse("admin:finance_loan_repay", args=[loan.pk]) in html
    assert "3,000.00" in html  # outstanding principal


# --- actions ---------------------------------------------------------------------------------------


def test_approve_needs_two_officers_then_disburse_in_cash(shop, client):
    loan = loan_applied(shop)

    client.force_login(shop.treasurer.user)
    assert act(client, "approve", loan) == ["1 approval(s) recorded."]
    assert reload(loan).status == Loan.Status.APPLIED
    assert act(client, "approve", loan) == [
        f"{loan}: You have already signed this loan: a second officer must, through their own login."
    ]
    assert act(client, "disburse_cash", loan) == [f"{loan}: Only an approved loan can be disbursed."]

    client.force_login(shop.chair.user)
    assert act(client, "approve", loan) == ["1 approval(s) recorded."]
    assert reload(loan).status == Loan.Status.APPROVED

    assert act(client, "disburse_cash", loan) == ["1 loan(s) disbursed."]

    loan = reload(loan)
    assert (loan.status, loan.disbursement_journal.created_by) == (Loan.Status.ACTIVE, shop.chair.user)
    assert [(a.officer, a.decision) for a in loan.approvals.all()] == [
        (shop.treasurer.user, "approve"),
        (shop.chair.user, "approve"),
    ]
    # Fee 2% of 3,000 = 60 deducted: cash 18,000 − 2,940.
    assert chama_balance(shop.chama, A.CASH) == D("15060.00")
    assert chama_balance(shop.chama, A.FEE_INCOME) == D("60.00")
    assert loan_reads.outstanding_principal(loan=loan) == D("3000.00")


# --- the repayment form ----------------------------------------------------------------------------


def test_the_repay_form_posts_a_repayment_and_shows_the_payoff_error(shop, client):
    loan = loan_running(shop)
    today_is(date(2026, 7, 10))
    loans.update_arrears(as_of=date(2026, 7, 10), chama=shop.chama)  # installment 1: 5% × 1,030 = 51.50
    client.force_login(shop.treasurer.user)
    url = reverse("admin:finance_loan_repay", args=[loan.pk])

    page = client.get(url)
    assert page.status_code == 200 and 'name="amount"' in page.content.decode()
    # Today, 10 Jul: installment 1 with its penalty, 1,081.50, + 2,000 principal not yet due = 3,081.50.
    assert page.context["title"] == f"Repayment on loan #{loan.pk} — payoff today 3,081.50"

    refused = client.post(url, {"amount": "3081.51", "method": "cash", "reference": "", "value_date": "2026-07-10"})
    assert refused.status_code == 200
    assert "The payoff on 10 Jul 2026 is 3,081.50; pay at most that." in refused.content.decode()
    assert refused.context["form"].errors
    assert not Journal.objects.filter(loan=loan, kind=Journal.Kind.LOAN_REPAYMENT).exists()

    paid = client.post(url, {"amount": "1081.50", "method": "mpesa", "reference": "QK7H2M", "value_date": "2026-07-10"})

    assert paid.status_code == 302 and paid.url == change_url(loan)
    assert messages_of(paid) == ["Repayment of 1,081.50 recorded."]
    journal = Journal.objects.get(loan=loan, kind=Journal.Kind.LOAN_REPAYMENT)
    assert (journal.amount, journal.external_reference, journal.value_date, journal.created_by) == (
        D("1081.50"),
        "QK7H2M",
        date(2026, 7, 10),
        shop.treasurer.user,
    )
    first = loan_reads.current_installments(loan=loan).get(n=1)
    assert (first.status, first.penalty_paid, first.interest_paid, first.principal_paid) == (
        "paid",
        D("51.50"),
        D("30.00"),
        D("1000.00"),
    )
    assert loan_reads.outstanding_principal(loan=loan) == D("2000.00")
    assert chama_balance(shop.chama, A.MOBILE_MONEY) == D("1081.50")


# --- arrears list and portfolio --------------------------------------------------------------------


def four_loans(s):
    """Updated on 1 Oct 2026:
    - Wanjiku 3,000 over 3 from 15 Sep: first due 15 Oct → current (0 days);
    - Otieno 2,000 over 2 from 21 Aug: due 21 Sep → 10 days (1–30);
    - Achieng 1,500 over 1 from 17 Jul: due 17 Aug → 14 + 30 + 1 = 45 days (31–60);
    - the secretary 1,000 over 1 from 23 May: due 23 Jun → 7 + 31 + 31 + 30 + 1 = 100 days (91–180, default).
    Outstanding 3,000 + 2,000 + 1,500 + 1,000 = 7,500.
    PAR30: 1,500 + 1,000 = 2,500 = 33.333…% → 33.33%; PAR60 and PAR90: 1,000 = 13.333…% → 13.33%."""
    made = [
        loan_running(s, "3000", 3, who=s.wanjiku, on=date(2026, 9, 15)),
        loan_running(s, "2000", 2, who=s.otieno, on=date(2026, 8, 21)),
        loan_running(s, "1500", 1, who=s.achieng, on=date(2026, 7, 17)),
        loan_running(s, "1000", 1, who=s.secretary, on=date(2026, 5, 23)),
    ]
    today_is(date(2026, 10, 1))
    loans.update_arrears(as_of=date(2026, 10, 1), chama=s.chama)
    assert [reload(loan).days_in_arrears for loan in made] == [0, 10, 45, 100]
    return made


@pytest.mark.parametrize(("value", "expected"), [("yes", [1, 2, 3]), ("30", [2, 3]), ("90", [3])])
def test_the_arrears_filter(shop, client, value, expected):
    made = four_loans(shop)
    client.force_login(shop.treasurer.user)

    response = client.get(reverse("admin:finance_loan_changelist"), {"arrears": value})

    assert response.status_code == 200
    assert sorted(loan.pk for loan in response.context["cl"].result_list) == sorted(made[k].pk for k in expected)


def test_the_changelist_links_the_arrears_list_and_the_portfolio(shop, client):
    client.force_login(shop.treasurer.user)
    html = client.get(reverse("admin:finance_loan_changelist")).content.decode()
    assert "?arrears=yes" in html and reverse("admin:finance_loan_portfolio") in html


def test_the_portfolio_page_shows_buckets_and_par(shop, client):
    four_loans(shop)
    client.force_login(shop.treasurer.user)

    response = client.get(reverse("admin:finance_loan_portfolio"))

    assert response.status_code == 200
    [(chama, summary)] = response.context["summaries"]
    assert chama == shop.chama
    assert (summary["loans"], summary["outstanding_principal"]) == (4, D("7500.00"))
    assert summary["buckets"] == {
        "current": D("3000.00"),
        "1-30": D("2000.00"),
        "31-60": D("1500.00"),
        "61-90": D("0.00"),
        "91-180": D("1000.00"),
        "180+": D("0.00"),
    }
    assert (summary["par30"], summary["par60"], summary["par90"]) == (
        (D("2500.00"), D("33.33")),
        (D("1000.00"), D("13.33")),
        (D("1000.00"), D("13.33")),
    )
    html = response.content.decode()
    assert "4 loan(s), KES 7,500.00 outstanding" in html
    assert "PAR30: 2,500.00 (33.33%)" in html
    assert "PAR60: 1,000.00 (13.33%)" in html
    assert "PAR90: 1,000.00 (13.33%)" in html


# --- collateral ------------------------------------------------------------------------------------


def add_collateral(client, loan):
    page = client.get(change_url(loan))
    assert page.status_code == 200
    data = form_data(page)
    data.update(
        {
            "collateral-TOTAL_FORMS": "1",
            "collateral-0-description": "Logbook KCA 123X",
            "collateral-0-value": "300000.00",
            "_save": "Save",
        }
    )
    return client.post(change_url(loan), data)


def test_an_officer_adds_collateral_inline(shop, client):
    loan = loan_applied(shop)
    client.force_login(shop.treasurer.user)

    page = client.get(change_url(loan))
    assert "collateral-TOTAL_FORMS" in page.content.decode()
    response = add_collateral(client, loan)

    assert response.status_code == 302, response.content.decode()[:2000]
    collateral = Collateral.objects.get(loan=loan)
    assert (collateral.chama, collateral.description, collateral.value) == (
        shop.chama,
        "Logbook KCA 123X",
        D("300000.00"),
    )


def test_collateral_added_by_a_superuser_is_filed_under_the_loans_chama(shop, client):
    loan = loan_applied(shop)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = add_collateral(client, loan)

    assert response.status_code == 302
    assert Collateral.objects.get(loan=loan).chama == shop.chama


# --- a secretary: a second signature, no money ---------------------------------------------------------


def test_a_secretary_may_approve_but_not_disburse_or_take_repayments(shop, client):
    applied = loan_applied(shop)
    active = loan_running(shop, who=shop.otieno, principal="1000", installments=1)
    client.force_login(shop.secretary.user)

    assert client.get(reverse("admin:finance_loan_changelist")).status_code == 200
    page = client.get(change_url(active))
    assert page.status_code == 200 and "Record a repayment" not in page.content.decode()

    offered = [
        name
        for name, _ in client.get(reverse("admin:finance_loan_changelist"))
        .context["action_form"]
        .fields["action"]
        .choices
    ]
    assert {
        "approve",
        "reject",
        "approve_reschedule",
        "reject_reschedule",
        "approve_write_off",
        "reject_write_off",
    } <= set(offered)
    assert not {"disburse_cash", "disburse_mpesa", "disburse_bank", "recover"} & set(offered)

    assert act(client, "approve", applied) == ["1 approval(s) recorded."]  # any officer may sign
    assert [(a.officer, a.decision) for a in applied.approvals.all()] == [(shop.secretary.user, "approve")]
    client.force_login(shop.chair.user)
    assert act(client, "approve", applied) == ["1 approval(s) recorded."]
    assert reload(applied).status == Loan.Status.APPROVED

    client.force_login(shop.secretary.user)
    assert act(client, "disburse_cash", applied) == ["No action selected."]  # not offered to the role: not run
    assert reload(applied).status == Loan.Status.APPROVED and not Journal.objects.filter(loan=applied).exists()

    url = reverse("admin:finance_loan_repay", args=[active.pk])
    refused = client.post(url, {"amount": "100", "method": "cash", "reference": "", "value_date": ""})
    assert refused.status_code == 302 and refused.url == change_url(active)
    assert messages_of(refused) == [
        (
            f"Only the chairperson or treasurer of {shop.chama} may record payments, deposits, shares, repayments and "
            "M-Pesa assignments."
        )
    ]
    assert not Journal.objects.filter(loan=active, kind=Journal.Kind.LOAN_REPAYMENT).exists()
