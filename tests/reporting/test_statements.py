"""Financial statements tie to the ledger: on test_savings_cycles.py's hand-worked VSLA cycle
(shares 5,000; a loan of 2,000 with 200 interest repaid, 1,200 owed; a fine of 100; a donation of
300; an expense of 150), before and after its share-out."""

import csv
import io
from datetime import date
from decimal import Decimal as D

import pytest
from django.db.models import Sum
from openpyxl import load_workbook

from finance.models import Account, Entry, Journal
from finance.services import savings_cycles
from reporting import statements
from reporting.tables import to_csv, to_xlsx
from tests.finance.test_savings_cycles import SHARE_OUT_DAY, worked_cycle

pytestmark = [pytest.mark.usefixtures("clock"), pytest.mark.django_db]
YEAR = (date(2027, 1, 1), date(2027, 12, 31))


def lines(table):
    return {(row[0], row[1]): row[-1] for row in table.rows}


def totals(table):
    found = {row[0]: row[2] for row in table.rows if row[0].startswith("Total")}
    return found["Total assets"], found["Total liabilities"] + found["Total equity"]


def shared_out(chama):
    asked = savings_cycles.share_out_request(cycle=chama.cycle, by=chama.treasurer.user, method="cash")
    savings_cycles.share_out_approve(share_out=asked, by=chama.chair.user)


def test_the_balance_sheet_balances_on_any_day_and_shows_the_members_by_kind():
    chama = worked_cycle()
    before = statements.balance_sheet(chama=chama, as_of=date(2027, 6, 30))
    assert totals(before)[0] == totals(before)[1] == D("5450.00")  # cash 4,350 + loan 1,000 + fine 100
    shown = lines(before)
    assert shown[("Assets", "1000 Cash on hand")] == D("4350.00")
    assert shown[("Assets", "Loans to members")] == D("1000.00")
    assert shown[("Assets", "Fines owed by members")] == D("100.00")
    assert shown[("Equity", "Members' shares")] == D("5000.00")
    assert shown[("Equity", "Surplus not yet closed (income − expenses)")] == D("450.00")
    assert statements.balance_sheet(chama=chama, as_of=date(2027, 1, 1)).rows[-1][2] == D("0.00")

    shared_out(chama)
    after = statements.balance_sheet(chama=chama, as_of=SHARE_OUT_DAY)
    assert totals(after)[0] == totals(after)[1] == D("210.00")  # loan 110 + fine 100 still owed


def test_the_trial_balance_lists_each_balance_once_and_its_columns_agree():
    chama = worked_cycle()
    table = statements.trial_balance(chama=chama, as_of=date(2027, 6, 30))
    # Debits: cash 4,350 + the loan 1,000 + the fine owed 100 + stationery 150 = 5,600.
    # Credits: shares 5,000 + interest 200 + the fine 100 + the donation 300 = 5,600.
    assert table.totals == ["Total", D("5600.00"), D("5600.00")]
    shown = {row[0]: (row[1], row[2]) for row in table.rows}
    assert shown["Members' shares"] == (None, D("5000.00"))
    assert shown["Loans to members"] == (D("1000.00"), None)
    assert statements.trial_balance(chama=chama, as_of=date(2027, 1, 1)).totals == ["Total", D("0"), D("0")]


def test_the_income_statement_ties_to_what_was_closed_and_what_is_still_open():
    chama = worked_cycle()
    before = statements.income_statement(chama=chama, start=YEAR[0], end=YEAR[1])
    assert before.totals[2] == D("450.00")  # 200 + 100 + 300 − 150
    shared_out(chama)
    after = statements.income_statement(chama=chama, start=YEAR[0], end=YEAR[1])
    # The share-out's repayment of Wanjiku's loan brought in 200 more interest, still open; the
    # closing journal moved the 450 before it to retained earnings.
    closed = Entry.objects.filter(
        journal__kind=Journal.Kind.SHARE_OUT, journal__membership__isnull=True, account__purpose="retained_earnings"
    ).aggregate(total=Sum("amount"))["total"]
    still_open = sum((a.normal_balance for a in Account.objects.filter(chama=chama, type="income")), D("0")) - sum(
        (a.normal_balance for a in Account.objects.filter(chama=chama, type="expense")), D("0")
    )
    assert after.totals[2] == -closed + still_open == D("650.00")


def test_the_cash_book_closes_on_the_cash_accounts_balance():
    chama = worked_cycle()
    book = statements.cash_book(chama=chama, channel="cash", start=date(2027, 1, 16), end=date(2027, 2, 28))
    opening = book.rows[0][5]
    _, _, _, money_in, money_out, closing = book.totals
    assert opening + money_in - money_out == closing
    dated = Entry.objects.filter(
        account__chama=chama, account__purpose="cash", journal__value_date__lte=date(2027, 2, 28)
    ).aggregate(total=Sum("amount"))["total"]
    assert closing == dated == D("3150.00")  # 5,000 of shares + 300 − 150, less the 2,000 lent on 1 Feb
    assert statements.cash_book(chama=chama, channel="cash", start=YEAR[0], end=YEAR[1]).totals[5] == D("4350.00")


def test_the_members_funds_add_up_to_the_balance_sheets_member_lines():
    chama = worked_cycle()
    funds = statements.members_funds(chama=chama, as_of=SHARE_OUT_DAY)
    sheet = lines(statements.balance_sheet(chama=chama, as_of=SHARE_OUT_DAY))
    by_kind = dict(zip(funds.columns[2:], funds.totals[2:], strict=True))
    assert by_kind["Members' shares"] == sheet[("Equity", "Members' shares")] == D("5000.00")
    assert by_kind["Loans to members"] == sheet[("Assets", "Loans to members")] == D("1000.00")
    assert by_kind["Fines owed by members"] == D("100.00")


def test_exports_read_back_to_the_same_numbers():
    chama = worked_cycle()
    table = statements.balance_sheet(chama=chama, as_of=SHARE_OUT_DAY)
    read = list(csv.reader(io.StringIO(to_csv(table).decode())))
    assert read[0] == [table.title] and read[-1] == ["Liabilities and equity", "", "5450.00"]
    sheet = load_workbook(io.BytesIO(to_xlsx(table))).active
    values = [row for row in sheet.iter_rows(values_only=True) if row and row[0] == "Total assets"]
    assert values == [("Total assets", None, 5450.0)]
