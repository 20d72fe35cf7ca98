"""The money back office (Django admin) driven through the test client as a chama's officers:
the meeting collection sheet, record payment, reversals, the journal changelist's cost, the dues
matrix and waivers, the M-Pesa suspense queue, expenses, withdrawals, balances on the member page,
and a quick check that one chama's treasurer sees nothing of another's. Amounts are worked out by hand.

The chama of every test: monthly KES 1,000 due on the 5th with 3 grace days, a flat KES 100 late
fine once, shares at KES 200 (1 to 5 per meeting), a second officer above KES 500. October's and
November's dues are raised and the late fines charged on 7 Nov 2026 (October's dues were late from
9 Oct, November's are not yet): every active member owes 2,000 in contributions and 100 in fines.
"""

from datetime import date
from decimal import Decimal as D
from types import SimpleNamespace

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from chama.admin_paging import CappedCountPaginator
from chama.roles import MembershipStatus, Role
from finance.models import (
    Account,
    Due,
    Entry,
    Expense,
    Journal,
    MpesaChannel,
    MpesaReceipt,
    SharePurchase,
    Waiver,
    Withdrawal,
)
from finance.selectors import savings as savings_reads
from finance.services import dues as dues_service
from finance.services import mpesa, reversals
from finance.services import savings as savings_service
from finance.services.reconcile import all_drift
from groups import services as group_services
from tests.factories import ChamaFactory, joined
from tests.helpers import sheet_data, sheet_field, today_is

A = Account.Purpose
MEETING = date(2026, 11, 7)
POLICY = {
    "contribution_amount": D("1000"),
    "contribution_frequency": "monthly",
    "contribution_due_day": 5,
    "grace_days": 3,
    "late_fine_amount": D("100"),
    "second_approval_threshold": D("500"),
    "share_price": D("200"),
    "shares_min_per_meeting": 1,
    "shares_max_per_meeting": 5,
}


@pytest.fixture(autouse=True)
def late_november(clock):
    """These books are kept as of 30 Nov 2026: the story's dates are weeks before it, within the
    backdating window, whatever the date the suite runs on."""
    today_is(date(2026, 11, 30))


def make_chama(name):
    """A VSLA chama with three officers and two plain members, its October and November dues
    raised and October's late fines charged on 7 Nov."""
    chama = ChamaFactory(name=name, policy=dict(POLICY))
    treasurer = joined(chama, Role.TREASURER)
    chair = joined(chama, Role.CHAIRPERSON)
    secretary = joined(chama, Role.SECRETARY)
    wanjiku = joined(chama, Role.MEMBER)
    otieno = joined(chama, Role.MEMBER)
    gone = joined(chama, Role.MEMBER)
    group_services.membership_change_status(
        membership=gone, status=MembershipStatus.EXITED, by=chair.user, reason="Moved"
    )
    dues_service.contribution_plan_from_policy(chama, start_date=date(2026, 10, 1))
    dues_service.generate_dues(period=(2026, 10), chama=chama)
    dues_service.generate_dues(period=(2026, 11), chama=chama)
    dues_service.apply_penalties(as_of=MEETING, chama=chama)
    return SimpleNamespace(
        chama=chama,
        treasurer=treasurer.user,
        chair=chair.user,
        secretary=secretary.user,
        treasurer_m=treasurer,
        chair_m=chair,
        secretary_m=secretary,
        wanjiku=wanjiku,
        otieno=otieno,
        gone=gone,
    )


@pytest.fixture
def w(db):
    return make_chama("Umoja")


@pytest.fixture
def as_treasurer(client, w):
    client.force_login(w.treasurer)
    return client


# --- small helpers -------------------------------------------------------------------------------


def balance(membership, purpose):
    account = Account.objects.filter(membership=membership, purpose=purpose).first()
    return account.normal_balance if account else D("0.00")


def chama_balance(chama, purpose):
    account = Account.objects.filter(chama=chama, purpose=purpose, membership__isnull=True).first()
    return account.normal_balance if account else D("0.00")


def due_of(membership, kind=Due.Kind.CONTRIBUTION, label=None):
    dues = Due.objects.filter(membership=membership, kind=kind)
    if label:
        dues = dues.filter(period_label=label)
    return dues.get()


def paid_and_status(due):
    due.refresh_from_db()
    return due.paid_amount, due.waived_amount, due.status


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


NO_MONEY_ROLE = (
    "Your role does not allow you to record payments, deposits, shares, repayments and M-Pesa assignments "
    "in any of your chamas."
)


def sheet_url(chama, day=MEETING):
    return f"{reverse('admin:finance_journal_collection_sheet')}?chama={chama.pk}&date={day:%Y-%m-%d}"


def open_sheet(client, chama, day=MEETING):
    response = client.get(sheet_url(chama, day))
    assert response.status_code == 200
    return response.context["sheet"]


def posting_counts():
    return Journal.objects.count(), Entry.objects.count(), SharePurchase.objects.count()


def action(client, model_name, name, *rows):
    return client.post(
        reverse(f"admin:finance_{model_name}_changelist"),
        {"action": name, "_selected_action": [row.pk for row in rows]},
    )


# --- meeting collection sheet ---------------------------------------------------------------------


def test_collection_sheet_lists_every_active_member_with_what_they_owe(as_treasurer, w):
    response = as_treasurer.get(sheet_url(w.chama))

    sheet = response.context["sheet"]
    active = [w.treasurer_m, w.chair_m, w.secretary_m, w.wanjiku, w.otieno]  # admitted in this order: M001…M005
    assert [row["membership"].pk for row in sheet.rows] == [m.pk for m in active]  # the exited member is not listed
    assert {(row["owed_contributions"], row["owed_fines"]) for row in sheet.rows} == {(D("2000.00"), D("100.00"))}
    assert sheet.sells_shares and sheet.day == MEETING and sheet.key
    html = response.content.decode()
    for index, m in enumerate(active):
        assert f'name="form-{index}-membership" value="{m.pk}"' in html
        for cell in ("contribution", "shares", "fines"):
            assert f'name="form-{index}-{cell}"' in html
    assert f'name="form-{len(active)}-contribution"' not in html and f'value="{w.gone.pk}"' not in html
    assert "2000.00" in html and "100.00" in html
    assert f'value="{sheet.key}"' in html


def test_collection_sheet_saves_every_row(as_treasurer, w):
    chama = w.chama
    sheet = open_sheet(as_treasurer, chama)
    last = Journal.objects.order_by("-pk").values_list("pk", flat=True).first()

    response = as_treasurer.post(
        sheet_url(chama),
        sheet_data(
            sheet,
            {
                w.treasurer_m: {"contribution": "1,000"},  # a thousands separator is fine
                w.wanjiku: {"contribution": "1500", "shares": "3", "fines": "100"},
                w.otieno: {"contribution": "2500", "shares": "1", "fines": ""},
                w.chair_m: {"contribution": "", "shares": " ", "fines": ""},
            },
        ),
    )

    assert response.status_code == 302, (
        response.context["sheet"].errors,
        [r["errors"] for r in response.context["sheet"].rows],
    )
    assert response.url == f"{reverse('admin:finance_journal_changelist')}?chama__id__exact={chama.pk}"
    # 1,000 + (1,500 + 3 × 200 + 100) + (2,500 + 1 × 200) = 5,900 in 1 + 3 + 2 = 6 journals.
    assert any("6 journal(s), KES 5,900.00" in text for text in messages_of(response))
    journals = Journal.objects.filter(pk__gt=last)
    assert sorted((j.membership_id, j.kind, j.amount) for j in journals) == sorted(
        [
            (w.treasurer_m.pk, Journal.Kind.PAYMENT, D("1000.00")),
            (w.wanjiku.pk, Journal.Kind.PAYMENT, D("1500.00")),
            (w.wanjiku.pk, Journal.Kind.SHARE_PURCHASE, D("600.00")),
            (w.wanjiku.pk, Journal.Kind.PAYMENT, D("100.00")),
            (w.otieno.pk, Journal.Kind.PAYMENT, D("2500.00")),
            (w.otieno.pk, Journal.Kind.SHARE_PURCHASE, D("200.00")),
        ]
    )
    assert {j.value_date for j in journals} == {MEETING}
    assert {j.created_by_id for j in journals} == {w.treasurer.pk}
    assert chama_balance(chama, A.CASH) == D("5900.00")

    # Wanjiku: October paid, 500 of November, her fine; 3 shares.
    assert paid_and_status(due_of(w.wanjiku, label="2026-10")) == (D("1000.00"), D("0.00"), Due.Status.PAID)
    assert due_of(w.wanjiku, label="2026-11").paid_amount == D("500.00")
    assert paid_and_status(due_of(w.wanjiku, Due.Kind.FINE)) == (D("100.00"), D("0.00"), Due.Status.PAID)
    assert balance(w.wanjiku, A.MEMBER_SAVINGS) == D("1500.00")
    assert balance(w.wanjiku, A.FINES_RECEIVABLE) == D("0.00")
    assert balance(w.wanjiku, A.MEMBER_SHARES) == D("600.00")
    assert savings_reads.shares_held(membership=w.wanjiku) == 3
    # Otieno: both months paid and 500 kept as an advance; 1 share; his fine still owed.
    assert due_of(w.otieno, label="2026-10").status == due_of(w.otieno, label="2026-11").status == Due.Status.PAID
    assert balance(w.otieno, A.MEMBER_SAVINGS) == D("2000.00")
    assert balance(w.otieno, A.MEMBER_ADVANCE) == D("500.00")
    assert balance(w.otieno, A.FINES_RECEIVABLE) == D("100.00")
    assert savings_reads.shares_held(membership=w.otieno) == 1
    # The treasurer: October paid; the chairperson, who handed in nothing, still owes both months.
    assert due_of(w.treasurer_m, label="2026-10").status == Due.Status.PAID
    assert balance(w.treasurer_m, A.MEMBER_SAVINGS) == D("1000.00")
    assert Journal.objects.filter(membership=w.chair_m).count() == 0
    assert all_drift(chama) == []

    # The sheet opened again shows what is still owed.
    rows = {row["membership"].pk: row for row in open_sheet(as_treasurer, chama).rows}
    assert (rows[w.wanjiku.pk]["owed_contributions"], rows[w.wanjiku.pk]["owed_fines"]) == (D("500.00"), 0)
    assert (rows[w.otieno.pk]["owed_contributions"], rows[w.otieno.pk]["owed_fines"]) == (0, D("100.00"))


# (cell, what is typed, a fragment the row's error must hold; None: any error will do)
BAD_CELLS = [
    pytest.param("contribution", "abc", "'abc'", id="contribution-not-a-number"),
    pytest.param("contribution", "-50", "'-50'", id="contribution-negative"),
    pytest.param("fines", "10.005", "'10.005'", id="fine-three-decimals"),
    pytest.param(
        "shares", "9", "Members buy 1 to 5 shares per meeting; this would make 9 on 07 Nov 2026.", id="shares-above-max"
    ),
    pytest.param("shares", "-2", "whole number", id="shares-negative"),
    pytest.param("shares", "1.5", "whole number", id="shares-fraction"),
    pytest.param("contribution", "NaN", None, id="contribution-NaN"),
    pytest.param("fines", "Infinity", None, id="fine-infinity"),
    pytest.param("contribution", "1e30", None, id="contribution-beyond-decimal-precision"),
    pytest.param(
        "contribution", "10000000000000", None, id="contribution-beyond-money-column"
    ),  # 10^13: wider than the money columns
]


@pytest.mark.parametrize("cell, value, error", BAD_CELLS)
def test_collection_sheet_with_one_bad_row_saves_nothing(as_treasurer, w, cell, value, error):
    chama = w.chama
    sheet = open_sheet(as_treasurer, chama)
    key = sheet.key
    before, cash_before = posting_counts(), chama_balance(chama, A.CASH)
    otieno = {"contribution": "700", "shares": "1", "fines": "50", cell: value}
    data = sheet_data(
        sheet,
        {
            # Good rows before and after the bad one: none is posted.
            w.wanjiku: {"contribution": "1500", "shares": "2", "fines": "100"},
            w.otieno: otieno,
            w.treasurer_m: {"contribution": "1000"},
        },
        method="mpesa",
    )

    response = as_treasurer.post(sheet_url(chama), data)

    assert response.status_code == 200
    assert posting_counts() == before
    assert chama_balance(chama, A.MOBILE_MONEY) == D("0.00") and chama_balance(chama, A.CASH) == cash_before
    assert due_of(w.wanjiku, label="2026-10").paid_amount == D("0.00")
    assert savings_reads.shares_held(membership=w.wanjiku) == 0
    sheet = response.context["sheet"]
    rows = {row["membership"].pk: row for row in sheet.rows}
    errors = rows[w.otieno.pk]["errors"]
    assert len(errors) == 1, errors  # the bad row carries its error
    assert error is None or error in errors[0], errors
    assert [pk for pk, row in rows.items() if row["errors"]] == [w.otieno.pk]
    assert sheet.key == key and sheet.method == "mpesa"
    html = response.content.decode()
    assert f'name="{sheet_field(sheet, w.wanjiku, "contribution")}" value="1500"' in html
    assert f'name="{sheet_field(sheet, w.wanjiku, "shares")}" value="2"' in html
    assert f'name="{sheet_field(sheet, w.otieno, cell)}" value="{value}"' in html
    assert f'value="{key}"' in html
    assert '<option value="mpesa" selected>' in html
    assert all_drift(chama) == []


def test_collection_sheet_refuses_an_unknown_method(as_treasurer, w):
    sheet = open_sheet(as_treasurer, w.chama)
    before = posting_counts()

    response = as_treasurer.post(
        sheet_url(w.chama), sheet_data(sheet, {w.wanjiku: {"contribution": "1000"}}, method="gold")
    )

    assert response.status_code == 200
    assert response.context["sheet"].errors == ["Pick how the money was received."]
    assert posting_counts() == before


def test_collection_sheet_posted_twice_posts_once(as_treasurer, w):
    chama = w.chama
    data = sheet_data(
        open_sheet(as_treasurer, chama),
        {w.wanjiku: {"contribution": "1500", "shares": "5", "fines": "100"}, w.otieno: {"contribution": "400"}},
    )

    first = as_treasurer.post(sheet_url(chama), data)
    after_first = posting_counts()
    second = as_treasurer.post(sheet_url(chama), data)  # a double click, or the browser's "resend"

    assert first.status_code == second.status_code == 302
    assert posting_counts() == after_first
    # 1,500 + 5 × 200 + 100 + 400 = 3,000 once, not 6,000.
    assert chama_balance(chama, A.CASH) == D("3000.00")
    assert savings_reads.shares_held(membership=w.wanjiku) == 5
    assert balance(w.wanjiku, A.MEMBER_SAVINGS) == D("1500.00")
    assert balance(w.otieno, A.MEMBER_SAVINGS) == D("400.00")
    assert all_drift(chama) == []


def test_secretary_may_not_use_the_collection_sheet(client, w):
    client.force_login(w.secretary)
    before = posting_counts()

    response = client.get(sheet_url(w.chama))
    assert response.status_code == 302 and response.url == reverse("admin:finance_journal_changelist")
    assert messages_of(response) == [NO_MONEY_ROLE]

    response = client.post(sheet_url(w.chama), {"sheet_key": "x" * 32, "method": "cash", f"c-{w.wanjiku.pk}": "1000"})
    assert response.status_code == 302
    assert NO_MONEY_ROLE in messages_of(response)
    assert posting_counts() == before
    assert due_of(w.wanjiku, label="2026-10").paid_amount == D("0.00")


def test_collection_sheet_offers_only_chamas_where_the_user_may_post(client, w):
    secretary_there = make_chama("Tujenge")  # the treasurer of Umoja is only secretary here…
    member_there = make_chama("Pamoja")  # …and a plain member here
    user = w.treasurer
    group_services.admit_member(
        chama=secretary_there.chama, user=user, role=Role.SECRETARY, joined_date=date(2026, 1, 10)
    )
    group_services.admit_member(chama=member_there.chama, user=user, role=Role.MEMBER, joined_date=date(2026, 1, 10))
    client.force_login(user)

    response = client.get(reverse("admin:finance_journal_collection_sheet"))
    assert response.status_code == 200
    assert list(response.context["picker"].fields["chama"].queryset) == [w.chama]
    assert response.context.get("sheet") is None

    # Asking for the other chamas by hand opens no sheet and posts nothing there.
    before = posting_counts()
    for other in (secretary_there, member_there):
        response = client.get(sheet_url(other.chama))
        assert response.status_code == 200 and response.context.get("sheet") is None
        assert "chama" in response.context["picker"].errors
        response = client.post(
            sheet_url(other.chama), {"sheet_key": "k" * 32, "method": "cash", f"c-{other.wanjiku.pk}": "1000"}
        )
        assert response.status_code == 200 and response.context.get("sheet") is None
    assert posting_counts() == before


def test_officer_of_two_chamas_may_post_only_where_the_role_allows(client, w):
    """Treasurer of Umoja, secretary of Tujenge: Tujenge's money is visible but not to be touched."""
    other = make_chama("Tujenge")
    user = w.treasurer
    group_services.admit_member(chama=other.chama, user=user, role=Role.SECRETARY, joined_date=date(2026, 1, 10))
    theirs = dues_service.payment_record(membership=other.wanjiku, amount="1000", method="cash", by=other.treasurer)
    their_fine = due_of(other.wanjiku, Due.Kind.FINE)
    their_receipt = unmatched_receipt(other.chama)
    savings_service.savings_deposit(membership=other.otieno, amount="1000", method="cash", by=other.treasurer)
    their_withdrawal = savings_service.withdrawal_request(membership=other.otieno, amount="100", by=other.otieno.user)
    client.force_login(user)
    before = posting_counts()

    reverse_ = client.post(reverse("admin:finance_journal_reverse", args=[theirs.pk]), {"reason": "Not mine"})
    assert (
        reverse_.status_code == 302
        and "Only the chairperson or treasurer of Tujenge may reverse journals." in messages_of(reverse_)
    )
    waive = client.post(reverse("admin:finance_due_waive", args=[their_fine.pk]), {"reason": "Friend", "amount": ""})
    assert (
        waive.status_code == 302
        and "Only the chairperson or treasurer of Tujenge may waive dues and fines." in messages_of(waive)
    )
    assign = client.post(
        reverse("admin:finance_mpesareceipt_assign", args=[their_receipt.pk]), {"membership": other.wanjiku.pk}
    )
    assert assign.status_code == 302 and any(
        "Only the chairperson or treasurer of Tujenge may record payments" in text for text in messages_of(assign)
    )
    pay = action(client, "withdrawal", "pay_cash", their_withdrawal)
    assert any("Only the chairperson or treasurer of Tujenge may pay withdrawals." in text for text in messages_of(pay))
    payment = client.post(reverse("admin:finance_journal_record_payment"), payment_data(other.wanjiku, "500"))
    assert payment.status_code == 200 and "membership" in payment.context["form"].errors

    assert posting_counts() == before
    assert not Waiver.objects.filter(due=their_fine).exists()
    their_receipt.refresh_from_db()
    their_withdrawal.refresh_from_db()
    assert their_receipt.status == MpesaReceipt.Status.SUSPENSE
    assert their_withdrawal.status == Withdrawal.Status.REQUESTED and not their_withdrawal.approvals.exists()


# --- the form pages ------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["record payment", "reverse", "waive", "assign"])
def test_form_pages_render(as_treasurer, w, page):
    payment = dues_service.payment_record(membership=w.wanjiku, amount="1000", method="cash", by=w.treasurer)
    url, field = {
        "record payment": (reverse("admin:finance_journal_record_payment"), "membership"),
        "reverse": (reverse("admin:finance_journal_reverse", args=[payment.pk]), "reason"),
        "waive": (reverse("admin:finance_due_waive", args=[due_of(w.wanjiku, Due.Kind.FINE).pk]), "amount"),
        "assign": (reverse("admin:finance_mpesareceipt_assign", args=[unmatched_receipt(w.chama).pk]), "membership"),
    }[page]

    response = as_treasurer.get(url)

    assert response.status_code == 200
    form = response.context["form"]
    assert f'name="{field}"' in response.content.decode()
    if field == "membership":  # only this chama's members may be picked
        assert set(form.fields["membership"].queryset.values_list("chama_id", flat=True)) == {w.chama.pk}


# --- record payment -------------------------------------------------------------------------------


def payment_data(membership, amount, **changes):
    data = {
        "membership": membership.pk,
        "amount": amount,
        "method": "cash",
        "reference": "",
        "value_date": "",
        "apply_to": "all",
        "memo": "",
    }
    data.update(changes)
    return data


def test_record_payment_posts_and_goes_to_the_journal(as_treasurer, w):
    url = reverse("admin:finance_journal_record_payment")

    response = as_treasurer.post(
        url, payment_data(w.wanjiku, "1500", method="bank", reference="SLIP-77", value_date="2026-11-06")
    )

    journal = Journal.objects.get(chama=w.chama, kind=Journal.Kind.PAYMENT)
    assert response.status_code == 302 and response.url == reverse("admin:finance_journal_change", args=[journal.pk])
    assert messages_of(response) == [f"Payment of 1,500.00 recorded as journal #{journal.pk}."]
    assert (
        journal.amount,
        journal.membership_id,
        journal.external_reference,
        journal.value_date,
        journal.created_by_id,
    ) == (D("1500.00"), w.wanjiku.pk, "SLIP-77", date(2026, 11, 6), w.treasurer.pk)
    # Oldest first: October's 1,000, then 500 of November (due 5 Nov, before the fine charged on the 7th).
    assert due_of(w.wanjiku, label="2026-10").status == Due.Status.PAID
    assert due_of(w.wanjiku, label="2026-11").paid_amount == D("500.00")
    assert due_of(w.wanjiku, Due.Kind.FINE).paid_amount == D("0.00")
    assert chama_balance(w.chama, A.BANK) == D("1500.00")
    assert balance(w.wanjiku, A.MEMBER_SAVINGS) == D("1500.00")

    # Fines only: 100 pays her fine and nothing else.
    as_treasurer.post(url, payment_data(w.wanjiku, "100", apply_to="fines"))
    assert due_of(w.wanjiku, Due.Kind.FINE).status == Due.Status.PAID
    assert due_of(w.wanjiku, label="2026-11").paid_amount == D("500.00")
    assert chama_balance(w.chama, A.CASH) == D("100.00")
    assert all_drift(w.chama) == []


def test_record_payment_refuses_a_member_of_another_chama(as_treasurer, w):
    other = make_chama("Tujenge")
    before = posting_counts()

    response = as_treasurer.post(reverse("admin:finance_journal_record_payment"), payment_data(other.wanjiku, "1000"))

    assert response.status_code == 200
    assert "membership" in response.context["form"].errors
    assert other.wanjiku.pk not in set(
        response.context["form"].fields["membership"].queryset.values_list("pk", flat=True)
    )
    assert posting_counts() == before


def test_record_payment_refuses_a_reference_used_for_another_member(as_treasurer, w):
    url = reverse("admin:finance_journal_record_payment")
    as_treasurer.post(url, payment_data(w.wanjiku, "1000", reference="SLIP-1"))
    before = posting_counts()

    response = as_treasurer.post(url, payment_data(w.otieno, "1000", reference="SLIP-1"))

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "already used" in " ".join(errors.get("__all__", []) + errors.get("reference", []))
    assert posting_counts() == before


# --- reversals ------------------------------------------------------------------------------------


def test_reverse_posts_the_mirror_journal_and_undoes_what_it_settled(as_treasurer, w):
    payment = dues_service.payment_record(membership=w.wanjiku, amount="1500", method="cash", by=w.treasurer)
    url = reverse("admin:finance_journal_reverse", args=[payment.pk])
    change = as_treasurer.get(reverse("admin:finance_journal_change", args=[payment.pk]))
    assert url in change.content.decode()  # the "Reverse this journal" link

    response = as_treasurer.post(url, {"reason": "Entered twice"})

    reversal = Journal.objects.get(reversal_of=payment)
    assert response.status_code == 302 and response.url == reverse("admin:finance_journal_change", args=[reversal.pk])
    assert messages_of(response) == [f"Journal #{payment.pk} reversed by #{reversal.pk}."]
    assert (reversal.kind, reversal.amount, reversal.memo, reversal.created_by_id) == (
        Journal.Kind.REVERSAL,
        D("1500.00"),
        f"Reversal of #{payment.pk}: Entered twice",
        w.treasurer.pk,
    )
    # Everything the payment settled is owed again.
    assert paid_and_status(due_of(w.wanjiku, label="2026-10")) == (D("0.00"), D("0.00"), Due.Status.OVERDUE)
    assert due_of(w.wanjiku, label="2026-11").paid_amount == D("0.00")
    assert balance(w.wanjiku, A.MEMBER_SAVINGS) == D("0.00")
    assert chama_balance(w.chama, A.CASH) == D("0.00")
    assert url not in as_treasurer.get(reverse("admin:finance_journal_change", args=[payment.pk])).content.decode()
    assert all_drift(w.chama) == []


def test_reverse_needs_a_reason(as_treasurer, w):
    payment = dues_service.payment_record(membership=w.wanjiku, amount="1500", method="cash", by=w.treasurer)
    before = posting_counts()

    response = as_treasurer.post(reverse("admin:finance_journal_reverse", args=[payment.pk]), {"reason": ""})

    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    assert posting_counts() == before
    assert not Journal.objects.filter(reversal_of=payment).exists()


def test_second_reversal_shows_the_error_in_the_form(as_treasurer, w):
    payment = dues_service.payment_record(membership=w.wanjiku, amount="1500", method="cash", by=w.treasurer)
    url = reverse("admin:finance_journal_reverse", args=[payment.pk])
    as_treasurer.post(url, {"reason": "Entered twice"})
    reversal = Journal.objects.get(reversal_of=payment)
    after = posting_counts()

    response = as_treasurer.post(url, {"reason": "Again"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [f"Journal #{payment.pk} has already been reversed."]
    assert f"Journal #{payment.pk} has already been reversed." in response.content.decode()

    response = as_treasurer.post(
        reverse("admin:finance_journal_reverse", args=[reversal.pk]), {"reason": "Undo the undo"}
    )
    assert response.status_code == 200
    assert "cannot itself be reversed" in " ".join(response.context["form"].non_field_errors())
    assert posting_counts() == after
    assert chama_balance(w.chama, A.CASH) == D("0.00")


def test_secretary_may_not_reverse(client, w):
    payment = dues_service.payment_record(membership=w.wanjiku, amount="1000", method="cash", by=w.treasurer)
    client.force_login(w.secretary)

    response = client.post(reverse("admin:finance_journal_reverse", args=[payment.pk]), {"reason": "Mine now"})

    assert response.status_code == 302
    assert messages_of(response) == ["Only the chairperson or treasurer of Umoja may reverse journals."]
    assert not Journal.objects.filter(reversal_of=payment).exists()


# --- journal changelist cost -----------------------------------------------------------------------


def post_payments(w, count):
    payers = [w.wanjiku, w.otieno, w.treasurer_m]
    for n in range(count):
        dues_service.payment_record(membership=payers[n % 3], amount=str(100 + n), method="cash", by=w.treasurer)


def changelist(client, chama):
    return client.get(f"{reverse('admin:finance_journal_changelist')}?chama__id__exact={chama.pk}")


# Session, user, 2 × permissions, roles, the chama filter's choices, the capped count, the page of rows,
# and the date hierarchy's range and days: 10, whatever the number of journals.
JOURNAL_CHANGELIST_QUERIES = 10


@pytest.mark.parametrize("payments", [10, 60])
def test_journal_changelist_runs_a_bounded_number_of_queries(as_treasurer, w, payments, django_assert_max_num_queries):
    post_payments(w, payments)
    # One reversal, so the "Reversed" column has something to show.
    first_payment = Journal.objects.filter(chama=w.chama, kind=Journal.Kind.PAYMENT).first()
    reversals.journal_reverse(journal=first_payment, reason="typo", by=w.chair)
    total = Journal.objects.filter(chama=w.chama).count()  # + the fine charge and the reversal

    with django_assert_max_num_queries(JOURNAL_CHANGELIST_QUERIES):
        response = changelist(as_treasurer, w.chama)

    assert response.status_code == 200
    cl = response.context["cl"]
    assert cl.paginator.count == total
    assert len(cl.result_list) == min(total, 50)


def test_journal_changelist_costs_the_same_for_10_and_60_journals(client, db):
    counts = []
    for payments, name in ((10, "Kumi"), (60, "Sitini")):
        world = make_chama(name)
        post_payments(world, payments)
        client.force_login(world.treasurer)
        changelist(client, world.chama)  # warm the content-type and session caches
        with CaptureQueriesContext(connection) as queries:
            response = changelist(client, world.chama)
        assert response.status_code == 200
        counts.append(len(queries))
        # No full COUNT(*) of the journals: every count over them is capped with a LIMIT.
        for query in queries.captured_queries:
            sql = query["sql"].upper()
            if "COUNT(" in sql and "FINANCE_JOURNAL" in sql:
                assert "LIMIT" in sql, sql
    assert counts[0] == counts[1]


@pytest.mark.parametrize("cap", [5, 11, 12, 100])
def test_journal_changelist_count_is_capped(as_treasurer, w, cap, monkeypatch):
    post_payments(w, 11)
    real = Journal.objects.filter(chama=w.chama).count()
    assert real == 12  # 11 payments and the fine charge
    monkeypatch.setattr(CappedCountPaginator, "CAP", cap)

    response = changelist(as_treasurer, w.chama)

    paginator = response.context["cl"].paginator
    assert isinstance(paginator, CappedCountPaginator)
    assert paginator.count == min(real, cap + 1)


# --- dues matrix and waivers ----------------------------------------------------------------------


def test_dues_matrix_shows_members_by_period_with_paid_and_owed(as_treasurer, w):
    dues_service.payment_record(membership=w.wanjiku, amount="1500", method="cash", by=w.treasurer)
    dues_service.payment_record(membership=w.otieno, amount="250", method="cash", by=w.treasurer)

    response = as_treasurer.get(f"{reverse('admin:finance_due_matrix')}?chama={w.chama.pk}&kind=contribution")

    assert response.status_code == 200
    assert response.context["columns"] == ["2026-10", "2026-11"]
    rows = {row["membership"].pk: row["cells"] for row in response.context["rows"]}
    # Every member who is not pending, the exited one too (with no dues).
    assert set(rows) == {w.treasurer_m.pk, w.chair_m.pk, w.secretary_m.pk, w.wanjiku.pk, w.otieno.pk, w.gone.pk}

    def cells(membership):
        return [[(due.paid_amount, due.amount) for due in cell] for cell in rows[membership.pk]]

    assert cells(w.wanjiku) == [[(D("1000.00"), D("1000.00"))], [(D("500.00"), D("1000.00"))]]
    assert cells(w.otieno) == [[(D("250.00"), D("1000.00"))], [(D("0.00"), D("1000.00"))]]
    assert cells(w.chair_m) == [[(D("0.00"), D("1000.00"))], [(D("0.00"), D("1000.00"))]]
    assert cells(w.gone) == [[], []]
    html = response.content.decode()
    assert '<td class="st-paid" title="Paid">1000 / 1000</td>' in html
    assert '<td class="st-overdue" title="Overdue">500 / 1000</td>' in html
    assert '<td class="st-overdue" title="Overdue">250 / 1000</td>' in html

    fines = as_treasurer.get(f"{reverse('admin:finance_due_matrix')}?chama={w.chama.pk}&kind=fine")
    assert fines.context["columns"] == ["2026-11-07"]
    assert {
        (due.paid_amount, due.amount) for row in fines.context["rows"] for cell in row["cells"] for due in cell
    } == {(D("0.00"), D("100.00"))}


def test_small_waiver_applies_at_once(as_treasurer, w):
    fine = due_of(w.wanjiku, Due.Kind.FINE)
    url = reverse("admin:finance_due_waive", args=[fine.pk])
    assert url in as_treasurer.get(reverse("admin:finance_due_change", args=[fine.pk])).content.decode()

    response = as_treasurer.post(url, {"reason": "Hospitalised", "amount": ""})

    assert response.status_code == 302 and response.url == reverse("admin:finance_due_change", args=[fine.pk])
    assert messages_of(response) == ["100.00 waived."]
    waiver = Waiver.objects.get(due=fine)
    assert (waiver.status, waiver.amount, waiver.requested_by_id, waiver.approved_by_id) == (
        Waiver.Status.APPLIED,
        D("100.00"),
        w.treasurer.pk,
        w.treasurer.pk,
    )
    assert paid_and_status(fine) == (D("0.00"), D("100.00"), Due.Status.WAIVED)
    assert balance(w.wanjiku, A.FINES_RECEIVABLE) == D("0.00")
    # Five members were fined 100 each; 100 of that income is taken back.
    assert chama_balance(w.chama, A.FINE_INCOME) == D("400.00")
    assert all_drift(w.chama) == []


def test_waive_form_shows_its_errors(as_treasurer, w):
    fine = due_of(w.wanjiku, Due.Kind.FINE)
    url = reverse("admin:finance_due_waive", args=[fine.pk])

    missing_reason = as_treasurer.post(url, {"reason": "", "amount": ""})
    assert missing_reason.status_code == 200 and "reason" in missing_reason.context["form"].errors
    too_much = as_treasurer.post(url, {"reason": "Hospitalised", "amount": "150"})
    assert too_much.status_code == 200
    assert too_much.context["form"].errors["amount"] == ["Waive between 0.01 and the 100.00 still owed."]
    assert not Waiver.objects.filter(due=fine).exists()
    assert paid_and_status(fine) == (D("0.00"), D("0.00"), Due.Status.PENDING)


def test_large_waiver_waits_for_a_second_officer(client, w):
    contribution = due_of(w.wanjiku, label="2026-10")
    client.force_login(w.treasurer)

    response = client.post(
        reverse("admin:finance_due_waive", args=[contribution.pk]), {"reason": "Bereavement", "amount": "600"}
    )

    assert response.status_code == 302
    waiver = Waiver.objects.get(due=contribution)
    assert waiver.status == Waiver.Status.PENDING and waiver.amount == D("600.00")  # 600 > 500
    assert any("above the chama's threshold" in text for text in messages_of(response))
    assert paid_and_status(contribution)[:2] == (D("0.00"), D("0.00"))

    # The officer who asked cannot approve it.
    response = action(client, "waiver", "approve", waiver)
    assert response.status_code == 302
    assert any("You have already signed this waiver" in text for text in messages_of(response))
    waiver.refresh_from_db()
    assert waiver.status == Waiver.Status.PENDING
    assert contribution.waived_amount == D("0.00")

    # The chairperson can.
    client.force_login(w.chair)
    response = action(client, "waiver", "approve", waiver)
    assert "1 waiver(s) approved." in messages_of(response)
    waiver.refresh_from_db()
    assert (waiver.status, waiver.approved_by_id) == (Waiver.Status.APPLIED, w.chair.pk)
    contribution.refresh_from_db()
    assert (contribution.waived_amount, contribution.outstanding, contribution.status) == (
        D("600.00"),
        D("400.00"),
        Due.Status.OVERDUE,
    )

    # A paid contribution of 400 now settles it; Wanjiku's savings hold only what she paid.
    dues_service.payment_record(
        membership=w.wanjiku, amount="400", method="cash", by=w.treasurer, kinds=["contribution"]
    )
    contribution.refresh_from_db()
    assert contribution.status == Due.Status.PAID
    assert balance(w.wanjiku, A.MEMBER_SAVINGS) == D("400.00")
    assert all_drift(w.chama) == []


def test_secretary_may_not_waive(client, w):
    fine = due_of(w.wanjiku, Due.Kind.FINE)
    client.force_login(w.secretary)

    response = client.post(
        reverse("admin:finance_due_waive", args=[fine.pk]), {"reason": "Friend of mine", "amount": ""}
    )

    assert response.status_code == 302
    assert messages_of(response) == ["Only the chairperson or treasurer of Umoja may waive dues and fines."]
    assert not Waiver.objects.filter(due=fine).exists()


# --- M-Pesa suspense -------------------------------------------------------------------------------


def unmatched_receipt(chama, number="QKX7Y8Z9A1", amount="1000"):
    channel, _ = MpesaChannel.objects.get_or_create(chama=chama, defaults={"shortcode": f"60{chama.pk:04d}"})
    return mpesa.receive(
        channel=channel,
        source="c2b",
        payload={"TransID": number},
        fields={
            "receipt_number": number,
            "amount": D(amount),
            "phone_number": "+254799999999",
            "account_reference": "nobody",
            "payer_name": "Unknown Payer",
            "transaction_time": None,
        },
    )


def test_unmatched_receipt_waits_in_suspense_until_assigned(as_treasurer, w):
    receipt = unmatched_receipt(w.chama)
    assert receipt.status == MpesaReceipt.Status.SUSPENSE
    suspense = Account.objects.get(chama=w.chama, code="2900")
    assert suspense.normal_balance == D("1000.00")

    queue = as_treasurer.get(f"{reverse('admin:finance_mpesareceipt_changelist')}?status__exact=suspense")
    assert [r.pk for r in queue.context["cl"].result_list] == [receipt.pk]
    assign_url = reverse("admin:finance_mpesareceipt_assign", args=[receipt.pk])
    assert assign_url in queue.content.decode()

    response = as_treasurer.post(assign_url, {"membership": w.wanjiku.pk})

    assert response.status_code == 302 and response.url == reverse("admin:finance_mpesareceipt_changelist")
    assert messages_of(response) == [f"QKX7Y8Z9A1 assigned to {w.wanjiku.user.get_full_name()}."]
    receipt.refresh_from_db()
    assert (receipt.status, receipt.membership_id, receipt.assigned_by_id) == (
        MpesaReceipt.Status.ASSIGNED,
        w.wanjiku.pk,
        w.treasurer.pk,
    )
    assert receipt.assignment_journal.amount == D("1000.00")
    suspense.refresh_from_db()
    assert suspense.normal_balance == D("0.00")
    assert chama_balance(w.chama, A.MOBILE_MONEY) == D("1000.00")  # taken in once, when it arrived
    assert due_of(w.wanjiku, label="2026-10").status == Due.Status.PAID
    assert balance(w.wanjiku, A.MEMBER_SAVINGS) == D("1000.00")
    queue = as_treasurer.get(f"{reverse('admin:finance_mpesareceipt_changelist')}?status__exact=suspense")
    assert not queue.context["cl"].result_list
    assert all_drift(w.chama) == []


def test_assigned_receipt_cannot_be_assigned_again(as_treasurer, w):
    receipt = unmatched_receipt(w.chama)
    mpesa.suspense_assign(receipt=receipt, membership=w.wanjiku, by=w.treasurer)
    before = posting_counts()

    again = as_treasurer.post(
        reverse("admin:finance_mpesareceipt_assign", args=[receipt.pk]), {"membership": w.otieno.pk}
    )

    assert again.status_code == 200
    assert again.context["form"].non_field_errors() == ["This receipt is not in suspense."]
    assert posting_counts() == before
    receipt.refresh_from_db()
    assert receipt.membership_id == w.wanjiku.pk


def test_suspense_receipt_cannot_go_to_a_member_of_another_chama(as_treasurer, w):
    other = make_chama("Tujenge")
    receipt = unmatched_receipt(w.chama)

    response = as_treasurer.post(
        reverse("admin:finance_mpesareceipt_assign", args=[receipt.pk]), {"membership": other.wanjiku.pk}
    )

    assert response.status_code == 200 and "membership" in response.context["form"].errors
    receipt.refresh_from_db()
    assert receipt.status == MpesaReceipt.Status.SUSPENSE


# --- expenses -------------------------------------------------------------------------------------


def expense_data(chama, amount, approved_by=None, **changes):
    data = {
        "chama": chama.pk,
        "category": "stationery",
        "amount": amount,
        "description": "Receipt books",
        "paid_through": "cash",
        "value_date": "2026-11-07",
        "approved_by": approved_by.pk if approved_by else "",
    }
    data.update(changes)
    return data


@pytest.fixture
def cash_1500(w):
    dues_service.payment_record(membership=w.wanjiku, amount="1500", method="cash", by=w.treasurer)
    return w


def test_expense_add_form_records_it_through_the_service(as_treasurer, cash_1500):
    w = cash_1500
    url = reverse("admin:finance_expense_add")
    page = as_treasurer.get(url)
    assert page.status_code == 200
    assert list(page.context["adminform"].form.fields["chama"].queryset) == [w.chama]

    response = as_treasurer.post(url, expense_data(w.chama, "300"))

    assert response.status_code == 302 and response.url == reverse("admin:finance_expense_changelist")
    expense = Expense.objects.get(chama=w.chama)
    assert (expense.amount, expense.category, expense.recorded_by_id, expense.approved_by_id, expense.value_date) == (
        D("300.00"),
        "stationery",
        w.treasurer.pk,
        w.treasurer.pk,
        MEETING,
    )
    assert (expense.journal.kind, expense.journal.amount, expense.journal.value_date) == (
        Journal.Kind.EXPENSE,
        D("300.00"),
        MEETING,
    )
    assert chama_balance(w.chama, A.CASH) == D("1200.00")
    assert Account.objects.get(chama=w.chama, code="5030").normal_balance == D("300.00")  # stationery
    assert all_drift(w.chama) == []


def test_expense_above_threshold_waits_for_a_second_officer(client, cash_1500):
    w = cash_1500
    before = posting_counts()
    client.force_login(w.treasurer)

    response = client.post(reverse("admin:finance_expense_add"), expense_data(w.chama, "800"))

    assert response.status_code == 302
    assert any("above the chama's threshold" in text for text in messages_of(response))
    expense = Expense.objects.get(chama=w.chama)
    assert (expense.status, expense.journal_id, expense.approved_by_id) == (Expense.Status.PENDING, None, None)
    assert posting_counts() == before and chama_balance(w.chama, A.CASH) == D("1500.00")

    # Naming an approver in the form does nothing (the field is not there), and 100 more from the same
    # officer in the window makes 900: it waits too, so splitting does not escape the threshold.
    client.post(reverse("admin:finance_expense_add"), expense_data(w.chama, "100", approved_by=w.chair))
    assert Expense.objects.get(amount=D("100")).status == Expense.Status.PENDING

    # The recorder cannot sign twice; the chairperson approves through her own login.
    response = action(client, "expense", "approve", expense)
    assert any("already signed this expense" in text for text in messages_of(response))
    client.force_login(w.chair)
    response = action(client, "expense", "approve", expense)
    assert "1 record(s) approved and posted." in messages_of(response)
    expense.refresh_from_db()
    assert (expense.status, expense.approved_by_id, expense.recorded_by_id) == (
        Expense.Status.POSTED,
        w.chair.pk,
        w.treasurer.pk,
    )
    assert chama_balance(w.chama, A.CASH) == D("700.00")  # 1,500 − 800; the 100 still waits
    assert all_drift(w.chama) == []


def test_expense_cannot_spend_more_cash_than_the_chama_holds(client, cash_1500):
    w = cash_1500
    before = posting_counts()
    client.force_login(w.treasurer)
    client.post(reverse("admin:finance_expense_add"), expense_data(w.chama, "1600"))
    expense = Expense.objects.get(chama=w.chama)

    client.force_login(w.chair)
    response = action(client, "expense", "approve", expense)

    assert any("Not enough in Cash on hand" in text for text in messages_of(response))
    expense.refresh_from_db()
    assert expense.status == Expense.Status.PENDING and posting_counts() == before


# --- withdrawals ----------------------------------------------------------------------------------


def test_withdrawal_above_threshold_needs_two_officers_then_is_paid_in_cash(client, w):
    savings_service.savings_deposit(membership=w.wanjiku, amount="2000", method="cash", by=w.treasurer)
    withdrawal = savings_service.withdrawal_request(
        membership=w.wanjiku, amount="800", by=w.wanjiku.user, reason="School fees"
    )
    client.force_login(w.treasurer)

    response = action(client, "withdrawal", "approve", withdrawal)
    assert response.status_code == 302 and "1 approval(s) recorded." in messages_of(response)
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.REQUESTED  # 800 > 500: one more officer

    response = action(client, "withdrawal", "approve", withdrawal)
    assert any("already signed this withdrawal" in text for text in messages_of(response))
    response = action(client, "withdrawal", "pay_cash", withdrawal)
    assert any("Only an approved withdrawal can be paid." in text for text in messages_of(response))
    assert not Journal.objects.filter(kind=Journal.Kind.SAVINGS_WITHDRAWAL).exists()

    client.force_login(w.chair)
    action(client, "withdrawal", "approve", withdrawal)
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.APPROVED
    assert set(withdrawal.approvals.values_list("pk", flat=True)) == {w.treasurer.pk, w.chair.pk}

    client.force_login(w.treasurer)
    response = action(client, "withdrawal", "pay_cash", withdrawal)
    assert "1 withdrawal(s) paid." in messages_of(response)
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.PAID
    assert (withdrawal.journal.kind, withdrawal.journal.amount, withdrawal.journal.membership_id) == (
        Journal.Kind.SAVINGS_WITHDRAWAL,
        D("800.00"),
        w.wanjiku.pk,
    )
    assert balance(w.wanjiku, A.MEMBER_SAVINGS) == D("1200.00")
    assert chama_balance(w.chama, A.CASH) == D("1200.00")

    before = posting_counts()
    response = action(client, "withdrawal", "pay_cash", withdrawal)  # paid already
    assert any("Only an approved withdrawal can be paid." in text for text in messages_of(response))
    assert posting_counts() == before
    assert all_drift(w.chama) == []


def test_small_withdrawal_needs_one_approval(client, w):
    savings_service.savings_deposit(membership=w.wanjiku, amount="1000", method="mpesa", by=w.treasurer)
    withdrawal = savings_service.withdrawal_request(membership=w.wanjiku, amount="300", by=w.wanjiku.user)
    client.force_login(w.treasurer)

    action(client, "withdrawal", "approve", withdrawal)
    response = action(client, "withdrawal", "pay_mpesa", withdrawal)

    assert "1 withdrawal(s) paid." in messages_of(response)
    assert balance(w.wanjiku, A.MEMBER_SAVINGS) == D("700.00")
    assert chama_balance(w.chama, A.MOBILE_MONEY) == D("700.00")


def test_the_secretary_may_approve_withdrawals_but_not_pay_them(client, w):
    savings_service.savings_deposit(membership=w.wanjiku, amount="1000", method="cash", by=w.treasurer)
    withdrawal = savings_service.withdrawal_request(membership=w.wanjiku, amount="300", by=w.wanjiku.user)
    client.force_login(w.secretary)

    offered = client.get(reverse("admin:finance_withdrawal_changelist")).context["action_form"].fields["action"].choices
    offered = {name for name, _ in offered if not name.startswith("export_")}  # every list exports
    assert offered == {"", "approve", "reject"}  # paying is the money officers' job
    response = action(client, "withdrawal", "approve", withdrawal)
    assert "1 approval(s) recorded." in messages_of(response)
    response = action(client, "withdrawal", "pay_cash", withdrawal)

    assert response.status_code == 302 and "No action selected." in messages_of(response)  # not offered
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.APPROVED and withdrawal.journal_id is None


# --- balances on the member page --------------------------------------------------------------------


def test_member_page_shows_the_members_accounts_and_balances(as_treasurer, w):
    # 2,600 settles October (1,000), November (1,000) and the fine (100); 500 is kept as an advance.
    dues_service.payment_record(membership=w.wanjiku, amount="2600", method="cash", by=w.treasurer)
    dues_service.payment_record(membership=w.otieno, amount="700", method="cash", by=w.treasurer)

    response = as_treasurer.get(reverse("admin:groups_membership_change", args=[w.wanjiku.pk]))

    assert response.status_code == 200
    balances = [inline for inline in response.context["inline_admin_formsets"] if inline.formset.model is Account]
    assert len(balances) == 1
    shown = {form.instance.code: form.instance.normal_balance for form in balances[0].formset.forms}
    pk = f"{w.wanjiku.pk:06d}"
    assert shown == {f"2000-REG-{pk}": D("2000.00"), f"1100-{pk}": D("0.00"), f"2100-{pk}": D("500.00")}
    html = response.content.decode()
    for text in ("KES 2,000.00", "KES 500.00", "KES 0.00", f"2000-REG-{pk}", f"2100-{pk}", f"1100-{pk}"):
        assert text in html
    assert f"2000-REG-{w.otieno.pk:06d}" not in html


# --- one chama's treasurer, another chama's money -----------------------------------------------


def test_treasurer_of_one_chama_sees_nothing_of_another(as_treasurer, w):
    other = make_chama("Tujenge")
    theirs = dues_service.payment_record(membership=other.wanjiku, amount="1000", method="cash", by=other.treasurer)
    their_receipt = unmatched_receipt(other.chama, number="QOTHER0001")
    their_due = due_of(other.wanjiku, Due.Kind.FINE)
    dues_service.payment_record(membership=w.wanjiku, amount="1000", method="cash", by=w.treasurer)
    unmatched_receipt(w.chama, number="QMINE00001")

    for name in ("journal", "due", "mpesareceipt", "waiver", "withdrawal", "expense", "account"):
        response = as_treasurer.get(reverse(f"admin:finance_{name}_changelist"))
        assert response.status_code == 200, name
        assert {row.chama_id for row in response.context["cl"].result_list} <= {w.chama.pk}, name
    assert as_treasurer.get(reverse("admin:finance_journal_changelist")).context["cl"].result_list

    # Their rows cannot be opened nor acted on by address.
    assert as_treasurer.get(reverse("admin:finance_journal_change", args=[theirs.pk])).status_code in (302, 404)
    assert (
        as_treasurer.post(reverse("admin:finance_journal_reverse", args=[theirs.pk]), {"reason": "x"}).status_code
        == 404
    )
    assert (
        as_treasurer.post(
            reverse("admin:finance_due_waive", args=[their_due.pk]), {"reason": "x", "amount": ""}
        ).status_code
        == 404
    )
    assert (
        as_treasurer.post(
            reverse("admin:finance_mpesareceipt_assign", args=[their_receipt.pk]), {"membership": other.wanjiku.pk}
        ).status_code
        == 404
    )
    matrix = as_treasurer.get(f"{reverse('admin:finance_due_matrix')}?chama={other.chama.pk}&kind=contribution")
    assert "rows" not in matrix.context and "chama" in matrix.context["picker"].errors
    assert not Journal.objects.filter(reversal_of=theirs).exists()
    assert not Waiver.objects.filter(due=their_due).exists()
    their_receipt.refresh_from_db()
    assert their_receipt.status == MpesaReceipt.Status.SUSPENSE


def test_a_special_levy_added_in_the_admin_raises_a_due_for_every_active_member(db, client):
    from finance.models import ContributionPlan, Due
    from tests.factories import ChamaFactory, member

    chama = ChamaFactory()
    treasurer = member(chama, Role.TREASURER)
    member(chama)
    member(chama)
    client.force_login(treasurer)

    response = client.post(
        "/admin/finance/contributionplan/add/",
        {
            "chama": chama.pk,
            "name": "Bereavement levy",
            "kind": "levy",
            "amount": "300.00",
            "frequency": "monthly",
            "due_day": 5,
            "grace_days": 7,
            "target": "welfare",
            "start_date": "2026-11-25",
            "levy_due_date": "2026-11-30",
            "is_active": "on",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    plan = ContributionPlan.objects.get(name="Bereavement levy")
    levies = Due.objects.filter(plan=plan)
    assert levies.count() == 3 and {d.amount for d in levies} == {D("300.00")}
    assert {d.late_after.isoformat() for d in levies} == {"2026-12-07"}
