"""The back office's financial statements page: the treasurer downloads the year's income
statement as PDF and every member's statement as Excel, with the back-office session."""

import io
import re

import pytest
from django.urls import reverse
from openpyxl import load_workbook
from pypdf import PdfReader

from tests.finance.test_savings_cycles import worked_cycle

pytestmark = [pytest.mark.usefixtures("clock"), pytest.mark.django_db]


def test_the_treasurer_downloads_the_income_statement_and_the_members_statements(client):
    chama = worked_cycle()
    client.force_login(chama.treasurer.user)
    listing = client.get(reverse("admin:reporting_financialstatement_changelist"))
    assert listing.status_code == 200
    html = listing.content.decode()
    income = re.search(r'href="([^"]*income-statement/[^"]*format=pdf)"', html).group(1).replace("&amp;", "&")
    pdf = client.get(income)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "Income statement" in text and "01 Jan 2027 to 18 Dec 2027" in text and "450.00" in text  # the year to date
    page = reverse("admin:reporting_financialstatement_members", args=[chama.policy.pk])
    members = client.get(page + "?start=2027-01-01&end=2027-12-31").content.decode()
    statements = re.findall(r'href="([^"]*/members/\d+/statement/[^"]*format=xlsx)"', members)
    assert len(statements) == 6
    otieno = next(url for url in statements if f"/members/{chama.otieno.pk}/" in url).replace("&amp;", "&")
    sheet = load_workbook(io.BytesIO(client.get(otieno).content)).active
    amounts = [row[4] for row in sheet.iter_rows(min_row=5, values_only=True) if row[2] == "Member shares"]
    assert amounts == [500.0, 500.0, 500.0]


def test_a_plain_member_never_reaches_the_page(client):
    chama = worked_cycle()
    client.force_login(chama.otieno.user)
    response = client.get(reverse("admin:reporting_financialstatement_changelist"))
    assert response.status_code == 302
