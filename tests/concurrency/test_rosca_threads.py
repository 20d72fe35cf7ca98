"""Two officers paying the same merry-go-round round at the same moment pay it once (PostgreSQL,
one connection per thread)."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from chama.roles import Role
from finance.models import Account, Journal, RoscaPayout
from finance.services import dues, ledger, reconcile, rosca
from tests.concurrency.threads import run_at_once
from tests.factories import ChamaFactory, joined
from tests.helpers import requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def test_two_officers_paying_the_same_round_at_once_pay_it_once():
    chama = ChamaFactory(kind="rosca", policy={"second_approval_threshold": D("1000000")})
    chair, treasurer = joined(chama, Role.CHAIRPERSON), joined(chama, Role.TREASURER)
    members = [joined(chama) for _ in range(3)]
    cycle = rosca.cycle_create(
        chama=chama,
        name="Now",
        contribution=D("1000"),
        start_date=chama.today(),
        by=chair.user,
        roster_method="agreement",
    )
    rosca.roster_set(cycle=cycle, membership_ids=[m.pk for m in [*members, chair, treasurer]], by=chair.user)
    rosca.cycle_start(cycle=cycle, by=chair.user)
    dues.generate_dues(period=chama.today(), chama=chama)
    for member in [*members, chair, treasurer]:
        dues.payment_record(membership=member, amount=D("1000"), method="cash", by=treasurer.user)

    officers = [chair.user, treasurer.user]
    results, errors = run_at_once(
        lambda i: rosca.round_payout(cycle=cycle, position=1, method="cash", by=officers[i]), 2
    )

    assert len(results) == 1 and len(errors) == 1, (results, errors)
    (error,) = errors.values()
    assert isinstance(error, ValidationError) and "Round 1 is already paid" in str(error)
    assert RoscaPayout.objects.filter(cycle=cycle).count() == 1
    assert Journal.objects.filter(chama=chama, kind=Journal.Kind.ROSCA_PAYOUT).count() == 1
    # Five paid 1,000 each into the pot; it went out once, whole.
    assert ledger.chama_account(chama, Account.Purpose.ROSCA_POT).normal_balance == D("0.00")
    assert ledger.chama_account(chama, Account.Purpose.CASH).normal_balance == D("0.00")
    assert reconcile.all_drift(chama) == [] and reconcile.unbalanced_journal_ids(chama) == []
