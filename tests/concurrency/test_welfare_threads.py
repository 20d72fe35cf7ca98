"""The welfare fund under concurrent payouts and approvals (PostgreSQL, one connection per thread):
eight claims of KES 2,000 paid at once from a fund of 12,000 pay six and refuse two, never taking
the fund below zero; two officers giving the last approval at once raise the claim's levy once."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from chama import authority
from chama.roles import Role
from finance.models import ContributionPlan, Due, Journal
from finance.services import dues, reconcile
from tests.concurrency.threads import run_at_once
from tests.factories import ChamaFactory, joined
from tests.helpers import requires_postgres
from welfare import selectors, services
from welfare.models import Claim

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def funded(**scheme):
    """Six members who paid KES 2,000 each into the welfare fund, and a scheme paying up to 5,000
    for a hospital stay, approved by the chairperson and the secretary."""
    chama = ChamaFactory(kind="welfare")
    chama.chair, chama.treasurer, chama.secretary = (
        joined(chama, role) for role in (Role.CHAIRPERSON, Role.TREASURER, Role.SECRETARY)
    )
    chama.members = [joined(chama) for _ in range(3)]
    today = chama.today()
    ContributionPlan.objects.create(
        chama=chama, name="Welfare", amount=D("2000"), target="welfare", start_date=today.replace(day=1)
    )
    dues.generate_dues(chama=chama)
    for member in [chama.chair, chama.treasurer, chama.secretary, *chama.members]:
        dues.payment_record(membership=member, amount=D("2000"), method="cash", by=chama.treasurer.user)
    chama.scheme = services.scheme_create(
        chama=chama,
        name="Illness",
        by=chama.chair.user,
        benefits=[("hospitalisation", "cap", D("5000"))],
        waiting_days=0,
        **scheme,
    )
    return chama


def claim(chama, membership, days_ago):
    return services.claim_submit(
        scheme=chama.scheme,
        membership=membership,
        event="hospitalisation",
        event_date=chama.today() - timedelta(days=days_ago),
        beneficiary="Themselves",
        amount_requested=D("2000"),
        by=membership.user,
    )


def test_eight_payouts_at_once_never_take_the_fund_below_zero():
    chama = funded()
    claimants = [chama.treasurer, *chama.members]
    claims = [claim(chama, member, days_ago) for member in claimants for days_ago in (1, 2)]
    for each in claims:
        services.claim_approve(claim=each, by=chama.chair.user)
        services.claim_approve(claim=each, by=chama.secretary.user)

    results, errors = run_at_once(
        lambda i: services.claim_pay(claim=claims[i], method="cash", by=chama.chair.user), len(claims)
    )

    assert len(results) == 6 and len(errors) == 2, (results, errors)
    assert all(isinstance(e, ValidationError) and "The welfare fund holds KES 0.00" in str(e) for e in errors.values())
    assert selectors.fund_balance(chama=chama) == D("0.00")  # 12,000 − 6 × 2,000
    assert Journal.objects.filter(chama=chama, kind=Journal.Kind.WELFARE_PAYOUT).count() == 6
    assert Claim.objects.filter(chama=chama, status="paid").count() == 6
    assert reconcile.all_drift(chama) == [] and reconcile.unbalanced_journal_ids(chama) == []


def test_two_officers_giving_the_last_approval_at_once_raise_the_levy_once():
    chama = funded(levy_per_event=D("150"), approvals_required=2)
    sick = claim(chama, chama.members[0], 1)
    services.claim_approve(claim=sick, by=chama.chair.user)
    officers = [chama.secretary.user, chama.treasurer.user]

    results, errors = run_at_once(lambda i: services.claim_approve(claim=sick, by=officers[i]), 2)

    assert len(results) == 1 and len(errors) == 1, (results, errors)
    (error,) = errors.values()
    assert isinstance(error, (ValidationError, authority.Refused)) and "decided already" in str(error)
    sick.refresh_from_db()
    assert sick.status == "approved"
    levies = ContributionPlan.objects.filter(chama=chama, kind="levy")
    assert levies.count() == 1 and Due.objects.filter(plan=levies.get()).count() == 6
