"""reconcile_balances on PostgreSQL outside a transaction runs its checks at once, each on a
connection of its own, and finds and repairs exactly what one at a time would."""

import io
from decimal import Decimal as D

import pytest
from django.core.management import CommandError, call_command

from chama.roles import Role
from finance.models import Account
from finance.services import dues, reconcile
from tests.factories import ChamaFactory, joined
from tests.helpers import requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def test_the_checks_run_at_once_and_find_and_repair_a_drifted_balance():
    chama = ChamaFactory()
    treasurer, member = joined(chama, Role.TREASURER), joined(chama)
    dues.payment_record(membership=member, amount=D("700"), method="cash", by=treasurer.user)
    cash = Account.objects.get(chama=chama, purpose=Account.Purpose.CASH)
    Account.objects.filter(pk=cash.pk).update(balance=D("650"))  # a cache changed behind the ledger's back

    unbalanced, found = reconcile.run_checks(chama)
    assert unbalanced == [] and [d.what for d in found["account balances"]] == [f"account {cash.code} {cash.name}"]
    with pytest.raises(CommandError, match="1 cached value"):
        call_command("reconcile_balances", "--chama", str(chama.pk), stdout=io.StringIO())
    call_command("reconcile_balances", "--chama", str(chama.pk), "--fix", stdout=io.StringIO())
    cash.refresh_from_db()
    assert cash.balance == D("700.00") and reconcile.run_checks(chama) == ([], dict.fromkeys(found, []))
