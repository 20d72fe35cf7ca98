"""Reports and summaries through the API, on test_savings_cycles.py's hand-worked VSLA cycle."""

import csv
import io
from datetime import datetime
from decimal import Decimal as D

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from reporting.tables import Table, to_pdf
from tests.factories import loan_product
from tests.finance.test_savings_cycles import worked_cycle

pytestmark = [pytest.mark.usefixtures("clock"), pytest.mark.django_db]


def test_officers_read_the_statements_as_json_csv_or_excel_and_members_do_not(api_as):
    chama = worked_cycle()
    reports = f"/api/v1/chamas/{chama.pk}/reports"
    books = api_as(chama.treasurer.user)

    sheet = books.get(f"{reports}/balance-sheet/?as_of=2027-06-30").json()
    assert sheet["totals"] == ["Liabilities and equity", "", "5450.00"]
    as_csv = books.get(f"{reports}/balance-sheet/?as_of=2027-06-30&format=csv")
    assert as_csv["Content-Type"].startswith("text/csv") and "attachment" in as_csv["Content-Disposition"]
    assert list(csv.reader(io.StringIO(as_csv.content.decode())))[-1] == ["Liabilities and equity", "", "5450.00"]
    as_xlsx = books.get(f"{reports}/income-statement/?start=2027-01-01&end=2027-12-31&format=xlsx")
    rows = list(load_workbook(io.BytesIO(as_xlsx.content)).active.iter_rows(values_only=True))
    assert rows[-1] == ("Surplus (deficit)", None, 450.0)
    cash = books.get(f"{reports}/cash-book/?channel=cash&start=2027-01-01&end=2027-12-31").json()
    assert cash["totals"][-1] == "4350.00"
    assert books.get(f"{reports}/members-funds/").status_code == 200

    assert api_as(chama.otieno.user).get(f"{reports}/balance-sheet/").status_code == 403
    assert books.get(f"{reports}/balance-sheet/?as_of=June").status_code == 400
    backwards = books.get(f"{reports}/income-statement/?start=2027-12-31&end=2027-01-01")
    assert backwards.status_code == 400 and "ends before it starts" in str(backwards.json())
    assert books.get(f"{reports}/cash-book/?channel=gold").status_code == 400


def test_a_member_reads_their_summary_and_the_groups_and_an_officer_reads_any_members(
    api_as, django_assert_max_num_queries
):
    chama = worked_cycle()
    base = f"/api/v1/chamas/{chama.pk}"
    wanjiku = api_as(chama.wanjiku.user)
    with django_assert_max_num_queries(10):  # 4 to know the caller and her membership, 6 for the summary
        mine = wanjiku.get(f"{base}/my/summary/").json()
    assert (mine["shares"], mine["shares_value"], mine["savings"]) == (10, "1000.00", "0.00")
    assert mine["loans"] == [
        {
            "loan": chama.loan.pk,
            "outstanding_principal": "1000.00",
            "next_due_date": "2027-04-01",
            "next_amount": "1200.00",
        }
    ]
    assert mine["may_borrow_now"] == "0.00"  # one loan at a time, and she has one
    assert mine["welfare"] == {"behind": "0.00", "claims_open": 0, "claims_paid": 0}
    loan_product(chama, "Biashara")
    loan_product(chama, "School fees")
    with django_assert_max_num_queries(10):  # however many products the chama lends from
        assert wanjiku.get(f"{base}/my/summary/").json()["may_borrow_now"] == "0.00"
    akinyi = api_as(chama.treasurer.user).get(f"{base}/members/{chama.akinyi.pk}/summary/").json()
    assert akinyi["fines_owed"] == "100.00"
    assert wanjiku.get(f"{base}/members/{chama.akinyi.pk}/summary/").status_code == 403
    group = wanjiku.get(f"{base}/summary/").json()
    assert group == {
        "members": 6,
        "savings": "0.00",
        "shares_value": "5000.00",
        "loans_outstanding": "1000.00",
        "welfare_fund": "0.00",
    }


def test_a_statement_as_pdf_names_the_chama_the_period_who_and_when_with_its_totals(api_as):
    chama = worked_cycle()
    answer = api_as(chama.treasurer.user).get(
        f"/api/v1/chamas/{chama.pk}/reports/balance-sheet/?as_of=2027-06-30&format=pdf"
    )
    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
    pages = PdfReader(io.BytesIO(answer.content)).pages
    assert len(pages) == 1
    text = pages[0].extract_text()
    assert f"Balance sheet of {chama} on 30 Jun 2027" in text
    assert f"by {chama.treasurer.user.get_full_name()}" in text and "Generated on" in text
    assert "Liabilities and equity" in text and "5,450.00" in text and "Page 1" in text


def test_a_long_report_runs_over_pages_each_numbered_with_the_totals_on_the_last():
    rows = [[f"M{n:03d}", D(n)] for n in range(1, 151)]
    table = Table(title="A long list", columns=["Member", "Amount"], rows=rows, totals=["Total", D(11325)])
    pages = PdfReader(io.BytesIO(to_pdf(table, generated_by="Peter Otieno", generated_at=datetime(2027, 1, 2)))).pages
    assert len(pages) > 1
    texts = [page.extract_text() for page in pages]
    assert all(f"Page {n}" in text for n, text in enumerate(texts, start=1))
    assert "M150" in texts[-1] and "11,325.00" in texts[-1] and "M001" in texts[0]


def test_a_member_downloads_their_statement_and_an_officer_any_members(api_as):
    chama = worked_cycle()
    base = f"/api/v1/chamas/{chama.pk}"
    wanjiku = api_as(chama.wanjiku.user)
    mine = wanjiku.get(f"{base}/my/statement/?start=2027-01-01&end=2027-12-31").json()
    # Her shares (2 × 500), the 2,000 loan, her 1,200 repayment (1,000 principal, 200 interest).
    assert [(row[2], row[4], row[5]) for row in mine["rows"]] == [
        ("Member shares", "500.00", "500.00"),
        ("Member shares", "500.00", "1000.00"),
        ("Loan receivable", "2000.00", "2000.00"),
        ("Loan receivable", "-1000.00", "1000.00"),
    ]
    assert "Member shares: 0.00 on 01 Jan 2027, 1,000.00 on 31 Dec 2027." in mine["notes"]
    as_pdf = wanjiku.get(f"{base}/my/statement/?format=pdf")
    assert as_pdf.status_code == 200 and as_pdf["Content-Type"] == "application/pdf"
    text = PdfReader(io.BytesIO(as_pdf.content)).pages[0].extract_text()
    assert chama.wanjiku.member_number in text and "1,000.00" in text
    officer = api_as(chama.treasurer.user).get(f"{base}/members/{chama.wanjiku.pk}/statement/?format=xlsx")
    assert officer.status_code == 200 and officer["Content-Type"].startswith("application/vnd.openxmlformats")
    assert api_as(chama.otieno.user).get(f"{base}/members/{chama.wanjiku.pk}/statement/").status_code == 403
