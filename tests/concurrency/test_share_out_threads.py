"""Two officers asking for, or approving, the same cycle's share-out at the same moment: it is
asked once and posted once (PostgreSQL, one connection per thread)."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from chama.roles import Role
from finance.models import Account, Journal, ShareOut, ShareOutLine
from finance.services import ledger, reconcile, savings, savings_cycles
from tests.concurrency.threads import run_at_once
from tests.factories import ChamaFactory, joined
from tests.helpers import requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def cycle_with_shares():
    """Chairperson, treasurer, secretary and two members holding 5, 4, 3, 2 and 1 shares at KES 100
    (1,500 in cash): each is paid exactly their savings."""
    chama = ChamaFactory(kind="vsla", policy={"share_price": D("100")})
    people = [joined(chama, role) for role in (Role.CHAIRPERSON, Role.TREASURER, Role.SECRETARY)]
    people += [joined(chama), joined(chama)]
    chair, treasurer, secretary = (p.user for p in people[:3])
    cycle = savings_cycles.cycle_open(
        chama=chama,
        name="Now",
        start_date=chama.today(),
        planned_end_date=chama.today() + timedelta(days=300),
        by=treasurer,
    )
    for shares, membership in zip((5, 4, 3, 2, 1), people, strict=True):
        savings.share_purchase(membership=membership, shares=shares, method="cash", by=treasurer)
    return chama, cycle, chair, treasurer, secretary


def test_two_officers_asking_for_the_share_out_at_once_ask_it_once():
    chama, cycle, chair, treasurer, _ = cycle_with_shares()
    officers = [chair, treasurer]

    results, errors = run_at_once(
        lambda i: savings_cycles.share_out_request(cycle=cycle, by=officers[i], method="cash"), 2
    )

    assert len(results) == 1 and len(errors) == 1, (results, errors)
    (error,) = errors.values()
    assert isinstance(error, ValidationError) and "Only a running cycle is shared out" in str(error)
    assert ShareOut.objects.filter(cycle=cycle).count() == 1


def test_two_officers_approving_the_same_share_out_at_once_post_it_once():
    chama, cycle, chair, treasurer, secretary = cycle_with_shares()
    share_out = savings_cycles.share_out_request(cycle=cycle, by=treasurer, method="cash")
    signers = [chair, secretary]

    results, errors = run_at_once(lambda i: savings_cycles.share_out_approve(share_out=share_out, by=signers[i]), 2)

    assert len(results) == 1 and len(errors) == 1, (results, errors)
    (error,) = errors.values()
    assert isinstance(error, ValidationError) and "already posted" in str(error)
    assert ShareOutLine.objects.filter(share_out=share_out).count() == 5
    assert Journal.objects.filter(chama=chama, kind=Journal.Kind.SHARE_OUT).count() == 5  # no income to close
    # 1,500 in, 1,500 out: each member's savings, once.
    assert ledger.chama_account(chama, Account.Purpose.CASH).normal_balance == D("0.00")
    assert reconcile.all_drift(chama) == [] and reconcile.unbalanced_journal_ids(chama) == []
