"""The posting path's hand-written reads (`chama.rows`) give what the ORM gives: the same rows,
every field converted the same way (decimals, dates, timestamps, booleans), in primary key order,
on SQLite and PostgreSQL alike; the open dues come with their plans and savings types in one
statement."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from chama import rows
from chama.roles import Role
from finance.locking import lock_chama_accounts, lock_open_dues
from finance.models import Account, ContributionPlan, Due, SavingsType
from finance.services import dues as dues_service
from finance.services import ledger
from tests.factories import ChamaFactory, joined

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def chama(db):
    """KES 1,000 due monthly on the 5th from January 2026 into the default savings type, with a
    welfare plan of KES 200 beside it."""
    chama = ChamaFactory(
        policy={"contribution_amount": D("1000"), "contribution_frequency": "monthly", "contribution_due_day": 5}
    )
    chama.treasurer = joined(chama, Role.TREASURER).user
    plan = dues_service.contribution_plan_from_policy(chama, start_date=date(2026, 1, 1))
    plan.savings_type = dues_service.default_savings_type(chama)
    plan.save()
    ContributionPlan.objects.create(
        chama=chama,
        name="Welfare",
        kind=ContributionPlan.Kind.REGULAR,
        amount=D("200"),
        frequency="monthly",
        due_day=5,
        target=ContributionPlan.Target.WELFARE,
        start_date=date(2026, 1, 1),
    )
    return chama


def fields(instance):
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def test_fetch_builds_the_rows_the_orm_builds(chama):
    member = joined(chama)
    dues_service.payment_record(membership=member, amount=D("1234.56"), method="cash", by=chama.treasurer)
    where = f"{rows.col(Account, 'chama_id')} = %s"
    fetched = rows.fetch(Account, where, [chama.pk])
    expected = list(Account.objects.filter(chama=chama).order_by("pk"))
    assert [fields(a) for a in fetched] == [fields(a) for a in expected]
    advance = next(a for a in fetched if a.purpose == Account.Purpose.MEMBER_ADVANCE)
    assert advance.balance == D("-1234.56") and isinstance(advance.balance, D)
    assert not advance._state.adding and advance._state.db == connection.alias


def test_fetch_values_converts_like_the_orm(chama):
    joined(chama)
    where = f"{rows.col(Account, 'chama_id')} = %s"
    values = rows.fetch_values(Account, ["id", "balance", "created_date"], where, [chama.pk])
    assert values == list(
        Account.objects.filter(chama=chama).order_by("pk").values_list("id", "balance", "created_date")
    )


def test_open_dues_come_locked_with_their_plans_in_one_statement(chama):
    member = joined(chama)
    for month in (1, 2, 3):
        dues_service.generate_dues(period=(2026, month), chama=chama)
    dues_service.payment_record(membership=member, amount=D("1000"), method="cash", by=chama.treasurer)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        found = lock_open_dues(member)
        targets = [(due.plan.target, due.plan.savings_type) for due in found]
    assert len(queries) == 1
    expected = list(Due.objects.filter(membership=member, status__in=Due.OPEN_STATUSES).order_by("pk"))
    assert [fields(due) for due in found] == [fields(due) for due in expected]
    assert len(found) == 5  # six dues raised; KES 1,000 settled one of January's whole
    default = SavingsType.objects.get(chama=chama, is_default=True)
    assert set(targets) == {(ContributionPlan.Target.SAVINGS, default), (ContributionPlan.Target.WELFARE, None)}
    if connection.vendor == "postgresql":
        assert 'FOR UPDATE OF "finance_due"' in queries[0]["sql"]
    only_fines = lock_open_dues(member, [Due.Kind.FINE])
    assert only_fines == []


def test_a_chamas_accounts_and_its_members_are_locked_together(chama):
    ledger.ensure_chart(chama)
    first, second, other = joined(chama), joined(chama), joined(chama)
    for member in (first, second, other):
        ledger.member_account(member, Account.Purpose.MEMBER_ADVANCE)
    with transaction.atomic():
        locked = lock_chama_accounts(chama.pk, [second.pk, first.pk])
    ids = [a.pk for a in locked]
    assert ids == sorted(ids)
    assert {a.membership_id for a in locked} == {None, first.pk, second.pk}
    with transaction.atomic():
        assert {a.membership_id for a in lock_chama_accounts(chama.pk, [])} == {None}
