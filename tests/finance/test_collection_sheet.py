"""The meeting collection sheet as a service taking plain rows (`collection_sheet_post`) and on the
treasurer's phone (`POST …/meetings/{id}/collection-sheet/`): every row posted or none, each
refusal under its row, a member on two rows refused, a resend with the same `Idempotency-Key`
posting nothing.

The books are Umoja's of test_money_admin.py, kept as of 30 Nov 2026: every active member owes
2,000.00 of contributions (October and November, 1,000 each) and a 100.00 late fine; shares cost
200, 1 to 5 per meeting. The meeting is on 7 Nov 2026.
"""

from datetime import datetime, time
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Sum

from finance.models import Due, Entry, Journal
from finance.services import collections
from finance.services.reconcile import all_drift
from meetings import services as meeting_services
from meetings.models import Meeting
from tests.finance.test_money_admin import (  # noqa: F401
    MEETING,
    A,
    as_treasurer,
    balance,
    chama_balance,
    due_of,
    late_november,
    make_chama,
    open_sheet,
    posting_counts,
    sheet_url,
)
from tests.helpers import sheet_data, sheet_field


@pytest.fixture
def w(db):
    return make_chama("Umoja")


def post(w, rows, **options):
    return collections.collection_sheet_post(
        chama=w.chama, day=MEETING, rows=rows, method="cash", by=w.treasurer, **options
    )


def three_rows(w):
    """Wanjiku 1,000 + 2 shares × 200 + 100 of fines = 1,500.00 in 3 journals; Otieno 2,000 + 1 × 200
    = 2,200.00 in 2; the chairperson 500 + 100 = 600.00 in 2. In all 4,300.00 in 7 journals."""
    return [
        {"membership": w.wanjiku.pk, "contribution": D("1000"), "shares": 2, "fines": D("100")},
        {"membership": w.otieno.pk, "contribution": D("2000"), "shares": 1, "fines": None},
        {"membership": w.chair_m.pk, "contribution": D("500"), "fines": D("100"), "repayment": D("0")},
    ]


def test_a_sheet_of_three_members_posts_every_row_and_the_ledger_balances(w):
    result = post(w, three_rows(w))

    assert (len(result.journals), result.total, result.replayed) == (7, D("4300.00"), False)
    assert {journal.value_date for journal in result.journals} == {MEETING}
    assert chama_balance(w.chama, A.CASH) == D("4300.00")
    entries = Entry.objects.filter(journal__in=result.journals)
    assert entries.aggregate(total=Sum("amount"))["total"] == D("0.00")  # debits equal credits
    assert entries.filter(amount__gt=0).aggregate(total=Sum("amount"))["total"] == D("4300.00")
    assert all_drift(w.chama) == []
    # Wanjiku: October paid, 2 shares, her fine paid.
    assert due_of(w.wanjiku, label="2026-10").status == Due.Status.PAID
    assert due_of(w.wanjiku, label="2026-11").paid_amount == D("0.00")
    assert balance(w.wanjiku, A.MEMBER_SHARES) == D("400.00")
    assert due_of(w.wanjiku, Due.Kind.FINE).status == Due.Status.PAID
    # Otieno: both months paid, 1 share, his fine still owed; the chairperson: 500 of October, the fine paid.
    assert due_of(w.otieno, label="2026-11").status == Due.Status.PAID
    assert balance(w.otieno, A.MEMBER_SHARES) == D("200.00") and balance(w.otieno, A.FINES_RECEIVABLE) == D("100.00")
    assert due_of(w.chair_m, label="2026-10").paid_amount == D("500.00")
    assert due_of(w.chair_m, Due.Kind.FINE).status == Due.Status.PAID


def test_one_refused_row_posts_nothing_and_names_its_cell(w):
    rows = three_rows(w)
    rows[1]["shares"] = 9  # beyond the 5 a meeting
    before = posting_counts()

    with pytest.raises(collections.SheetRefused) as refused:
        post(w, rows)

    assert list(refused.value.rows) == [1] and list(refused.value.rows[1]) == ["shares"]
    assert "Members buy 1 to 5 shares per meeting" in refused.value.rows[1]["shares"][0]
    assert posting_counts() == before  # Wanjiku's row, posted first, was rolled back
    assert chama_balance(w.chama, A.CASH) == D("0.00")


def test_a_member_on_two_rows_is_refused_naming_them(w):
    rows = [*three_rows(w), {"membership": w.wanjiku.pk, "contribution": D("50")}]

    with pytest.raises(collections.SheetRefused) as refused:
        post(w, rows)

    assert refused.value.rows == {
        3: {"membership": [f"{w.wanjiku} is listed twice (also in row 1); put all they handed in on one row."]}
    }
    assert not Journal.objects.filter(membership=w.wanjiku).exists()


def test_the_same_key_posts_once_and_another_sheet_may_not_reuse_it(w):
    first = post(w, three_rows(w), client_key="phone-1")
    count = posting_counts()

    again = post(w, three_rows(w), client_key="phone-1")

    assert again.replayed and [j.pk for j in again.journals] == [j.pk for j in first.journals]
    assert posting_counts() == count and chama_balance(w.chama, A.CASH) == D("4300.00")
    with pytest.raises(collections.SheetRefused) as refused:  # one row fewer: another sheet
        post(w, three_rows(w)[:2], client_key="phone-1")
    assert list(refused.value.general) == ["Idempotency-Key"]
    assert posting_counts() == count


# --- the admin's formset --------------------------------------------------------------------------


def test_the_admin_shows_a_member_listed_twice_beside_the_second_row(as_treasurer, w):  # noqa: F811
    sheet = open_sheet(as_treasurer, w.chama)
    data = sheet_data(sheet, {w.wanjiku: {"contribution": "1000"}, w.otieno: {"contribution": "500"}})
    data[sheet_field(sheet, w.otieno, "membership")] = str(w.wanjiku.pk)  # a page edited by hand
    before = posting_counts()

    response = as_treasurer.post(sheet_url(w.chama), data)

    assert response.status_code == 200 and posting_counts() == before
    rows = response.context["sheet"].rows
    assert [row["errors"] for row in rows if row["errors"]] == [
        [f"{w.wanjiku} is listed twice (also in row 4); put all they handed in on one row."]
    ]
    assert "is listed twice" in response.content.decode()


# --- the API --------------------------------------------------------------------------------------


@pytest.fixture
def meeting(w):
    starts_at = datetime.combine(MEETING, time(14), tzinfo=ZoneInfo(w.chama.timezone))
    return meeting_services.meeting_create(chama=w.chama, by=w.chair, title="November meeting", starts_at=starts_at)


def sheet_route(w, meeting):
    return f"/api/v1/chamas/{w.chama.pk}/meetings/{meeting.pk}/collection-sheet/"


def api_rows(w):
    return [
        {"membership": w.wanjiku.pk, "contribution": "1000.00", "shares": 2, "fines": "100.00"},
        {"membership": w.otieno.pk, "contribution": "2000.00", "shares": 1},
        {"membership": w.chair_m.pk, "contribution": "500.00", "fines": "100.00"},
    ]


def test_the_phone_posts_the_sheet_once_whatever_the_retries(w, meeting, api_as):
    client = api_as(w.treasurer)
    body = {"rows": api_rows(w), "method": "mpesa"}

    first = client.post(sheet_route(w, meeting), body, format="json", HTTP_IDEMPOTENCY_KEY="sheet-7-nov")
    count = posting_counts()
    again = client.post(sheet_route(w, meeting), body, format="json", HTTP_IDEMPOTENCY_KEY="sheet-7-nov")

    assert first.status_code == 201, first.content
    assert "Idempotent-Replayed" not in first.headers
    answer = first.json()
    assert (answer["count"], answer["total"]) == (7, "4300.00")
    assert {journal["value_date"] for journal in answer["journals"]} == {"2026-11-07"}  # the meeting's day
    assert all(journal["entries"] for journal in answer["journals"])
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == answer
    assert posting_counts() == count and chama_balance(w.chama, A.MOBILE_MONEY) == D("4300.00")

    other = client.post(
        sheet_route(w, meeting), {"rows": api_rows(w)[:1]}, format="json", HTTP_IDEMPOTENCY_KEY="sheet-7-nov"
    )
    assert other.status_code == 400 and "Idempotency-Key" in other.json()
    assert posting_counts() == count


def test_the_phone_gets_each_refusal_under_its_row_and_nothing_is_posted(w, meeting, api_as):
    rows = api_rows(w)
    rows[1]["contribution"] = "12.345"  # three decimals: refused by the parser
    rows.append({"membership": w.wanjiku.pk, "fines": "50.00"})  # Wanjiku again
    before = posting_counts()

    response = api_as(w.treasurer).post(sheet_route(w, meeting), {"rows": rows}, format="json")

    assert response.status_code == 400
    assert list(response.json()["rows"]) == ["1"] and "contribution" in response.json()["rows"]["1"]
    rows[1]["contribution"] = "2000.00"
    response = api_as(w.treasurer).post(sheet_route(w, meeting), {"rows": rows}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "rows": {
            "3": {"membership": [f"{w.wanjiku} is listed twice (also in row 1); put all they handed in on one row."]}
        }
    }
    assert posting_counts() == before


def test_only_those_who_record_payments_may_send_the_sheet(w, meeting, api_as):
    response = api_as(w.secretary).post(sheet_route(w, meeting), {"rows": api_rows(w)}, format="json")

    assert response.status_code == 403
    assert not Journal.objects.filter(membership=w.wanjiku).exists()


def test_a_cancelled_meeting_takes_no_collections(w, meeting):
    Meeting.objects.filter(pk=meeting.pk).update(status=Meeting.Status.CANCELLED)
    meeting.refresh_from_db()

    with pytest.raises(collections.SheetRefused) as refused:
        meeting_services.meeting_collections(meeting=meeting, rows=three_rows(w), method="cash", by=w.treasurer)

    assert refused.value.general == {
        "meeting": ["November meeting (07 Nov 2026) was cancelled: nothing can be collected at it."]
    }
    assert not Journal.objects.filter(membership=w.wanjiku).exists()
