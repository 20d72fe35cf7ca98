"""The contribution compliance matrix adds up to the dues ledger, and the loan portfolio to the
loans' receivable accounts."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.db.models import F, Sum

from finance.models import Account, Due
from finance.services import dues, loans
from reporting import statements
from tests.finance.test_savings_cycles import worked_cycle
from tests.helpers import today_is
from tests.welfare.test_claims import harambee

pytestmark = [pytest.mark.usefixtures("clock"), pytest.mark.django_db]


def test_the_compliance_matrix_ties_to_the_dues_ledger(api_as):
    chama = harambee()  # six members paid January's 2,000
    today_is(date(2027, 2, 10))
    dues.generate_dues(period=(2027, 2), chama=chama)
    for member in chama.everyone[:4]:  # four pay February, two do not
        dues.payment_record(membership=member, amount=D("2000"), method="cash", by=chama.treasurer.user)
    table = statements.compliance(chama=chama)
    assert table.columns[2:4] == ["2027-01", "2027-02"]
    assert table.totals[2:] == ["12,000.00 / 12,000.00", "8,000.00 / 12,000.00", D("20000.00"), D("24000.00")]
    ledger = Due.objects.filter(chama=chama, kind="contribution").aggregate(
        paid=Sum("paid_amount"), owed=Sum(F("amount") - F("waived_amount"))
    )
    assert (table.totals[-2], table.totals[-1]) == (ledger["paid"], ledger["owed"])
    answer = api_as(chama.treasurer.user).get(f"/api/v1/chamas/{chama.pk}/reports/compliance/?format=csv")
    assert answer.status_code == 200 and "8,000.00 / 12,000.00" in answer.content.decode()


def test_the_loan_portfolio_adds_up_to_the_loans_receivable(api_as):
    chama = worked_cycle()  # Wanjiku's loan: 1,000 of principal outstanding
    table = statements.loan_portfolio(chama=chama, as_of=date(2027, 12, 18))
    receivable = sum((a.normal_balance for a in Account.objects.filter(chama=chama, purpose="loan_receivable")), D("0"))
    assert table.totals[1] == receivable == D("1000.00")
    assert sum((row[1] for row in table.rows if row[0].startswith("Outstanding")), D("0")) == receivable
    answer = api_as(chama.treasurer.user).get(f"/api/v1/chamas/{chama.pk}/reports/loan-portfolio/?format=json")
    assert answer.json()["totals"][1] == "1000.00"


def test_the_portfolio_shows_the_arrears_and_what_was_written_off_and_recovered():
    chama = worked_cycle()  # installment 2 (1,000 of principal) fell due on 1 April 2027
    rows = lambda day: {row[0]: row[1] for row in statements.loan_portfolio(chama=chama, as_of=day).rows}  # noqa: E731
    assert rows(date(2027, 3, 15))["Arrears: principal of installments past due"] == D("0.00")
    assert rows(date(2027, 12, 18))["Arrears: principal of installments past due"] == D("1000.00")

    loans.write_off_request(loan=chama.loan, by=chama.treasurer.user, reason="Moved away")
    loans.write_off_approve(loan=chama.loan, by=chama.chair.user)
    loans.recovery_record(loan=chama.loan, amount=D("400"), method="cash", by=chama.treasurer.user)

    after = rows(chama.today())
    assert after["Written off, to the day"] == D("1000.00")
    assert after["Recovered after write-off, to the day"] == D("400.00")
    assert rows(date(2027, 1, 31))["Written off, to the day"] == D("0.00")  # before the loan existed
