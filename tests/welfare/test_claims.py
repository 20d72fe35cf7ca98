"""Welfare claims, worked by hand. Harambee Welfare Group: the chairperson, the treasurer, the
secretary and three members; each pays a welfare contribution of KES 2,000, so the fund holds
12,000. Its scheme pays a fixed 10,000 for a parent's death and up to 5,000 for a hospital stay,
after 90 days of membership, twice a year at most, approved by two officers, with a levy of 200 on
every active member for each approved claim."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from chama import authority
from chama.models import Notification
from chama.roles import Role
from finance.models import Account, ContributionPlan, Due, Journal
from finance.services import dues, reconcile
from tests.factories import ChamaFactory, joined
from tests.helpers import today_is
from welfare import selectors, services
from welfare.models import Claim, WelfareScheme

pytestmark = [pytest.mark.usefixtures("clock"), pytest.mark.django_db]
PDF = b"%PDF-1.4 burial permit"


def harambee(**scheme):
    chama = ChamaFactory(kind="welfare")
    chama.chair = joined(chama, Role.CHAIRPERSON)
    chama.treasurer = joined(chama, Role.TREASURER)
    chama.secretary = joined(chama, Role.SECRETARY)
    chama.members = [joined(chama) for _ in range(3)]
    chama.everyone = [chama.chair, chama.treasurer, chama.secretary, *chama.members]
    today_is(date(2027, 1, 10))
    plan = ContributionPlan.objects.create(
        chama=chama, name="Welfare", amount=D("2000"), target="welfare", start_date=date(2027, 1, 1), due_day=5
    )
    dues.generate_dues(period=(2027, 1), chama=chama)
    for member in chama.everyone:
        dues.payment_record(membership=member, amount=D("2000"), method="cash", by=chama.treasurer.user)
    chama.plan = plan
    chama.scheme = services.scheme_create(
        chama=chama,
        name="Bereavement and illness",
        by=chama.chair.user,
        benefits=[("death_parent", "fixed", D("10000")), ("hospitalisation", "cap", D("5000"))],
        **{"levy_per_event": D("200"), **scheme},
    )
    return chama


def claim(chama, member=None, *, event="death_parent", amount="15000", day=date(2027, 1, 8), **more):
    member = member or chama.members[0]
    return services.claim_submit(
        scheme=chama.scheme,
        membership=member,
        event=event,
        event_date=day,
        beneficiary="Mary Atieno, mother",
        amount_requested=D(amount),
        by=member.user,
        documents=[("Burial permit", SimpleUploadedFile("permit.pdf", PDF))],
        **more,
    )


def fund(chama):
    return selectors.fund_balance(chama=chama)


def test_a_claim_from_submission_to_payout():
    chama = harambee()
    wanjiku = chama.members[0]
    assert fund(chama) == D("12000.00")

    submitted = claim(chama)
    assert (submitted.status, submitted.documents.get().title) == ("submitted", "Burial permit")
    asked = Notification.objects.filter(dedupe_key=f"welfare-claim-{submitted.pk}")
    assert {n.user for n in asked} == {chama.chair.user, chama.treasurer.user, chama.secretary.user}
    assert all(rule.passed for rule in services.eligibility(submitted))

    first = services.claim_approve(claim=submitted, by=chama.secretary.user)
    assert (first.status, first.amount_approved) == ("under_review", None)
    with pytest.raises(authority.Refused, match="already approved"):
        services.claim_approve(claim=submitted, by=chama.secretary.user)
    approved = services.claim_approve(claim=submitted, by=chama.chair.user)

    # A parent's death pays the fixed 10,000 whatever was asked; the levy: 200 on each of the six.
    assert (approved.status, approved.amount_approved) == ("approved", D("10000.00"))
    levy = Due.objects.filter(plan=approved.levy_plan)
    assert levy.count() == 6 and {d.amount for d in levy} == {D("200.00")}

    payment = services.claim_pay(claim=approved, method="cash", by=chama.treasurer.user)

    approved.refresh_from_db()
    assert (approved.status, approved.amount_paid, payment.amount) == ("paid", D("10000.00"), D("10000.00"))
    assert fund(chama) == D("2000.00")
    journal = payment.journal
    assert (journal.kind, journal.membership, journal.amount) == (Journal.Kind.WELFARE_PAYOUT, wanjiku, D("10000.00"))
    receipt = Notification.objects.get(user=wanjiku.user, dedupe_key=f"welfare-paid-{payment.pk}")
    assert f"Receipt no. {journal.pk}" in receipt.body
    told = Notification.objects.get(user=chama.members[1].user, dedupe_key=f"welfare-announced-{payment.pk}")
    name = wanjiku.user.get_full_name()
    assert told.body == f"The chama has paid KES 10,000.00 to {name} for death of a parent."
    # The fund's history explains every shilling: six contributions of 2,000 in, one claim out.
    history = list(selectors.fund_history(chama=chama))
    assert [e.amount for e in history] == [D("10000.00")] + [D("-2000.00")] * 6
    assert history[0].balance_after == D("-2000.00")  # a credit balance of 2,000
    assert reconcile.all_drift(chama) == [] and reconcile.unbalanced_journal_ids(chama) == []


def test_a_payout_larger_than_the_fund_is_refused_or_paid_in_part_with_a_levy():
    chama = harambee(levy_per_event=D("0"))
    approved = claim(chama)
    services.claim_approve(claim=approved, by=chama.secretary.user)
    services.claim_approve(claim=approved, by=chama.chair.user)
    services.claim_pay(claim=approved, method="cash", by=chama.treasurer.user)  # 12,000 → 2,000
    second = claim(chama, chama.members[1])
    services.claim_approve(claim=second, by=chama.secretary.user)
    services.claim_approve(claim=second, by=chama.chair.user)
    with pytest.raises(ValidationError, match="The welfare fund holds KES 2,000.00: it cannot pay KES 10,000.00"):
        services.claim_pay(claim=second, method="cash", by=chama.treasurer.user)
    cash = Account.objects.get(chama=chama, purpose=Account.Purpose.CASH)
    assert fund(chama) == D("2000.00") and cash.normal_balance == D("2000.00")

    WelfareScheme.objects.filter(pk=chama.scheme.pk).update(shortfall="part_and_levy")
    part = services.claim_pay(claim=second, method="cash", by=chama.treasurer.user)
    second.refresh_from_db()
    assert (part.amount, second.status, second.still_to_pay) == (D("2000.00"), "approved", D("8000.00"))
    # 8,000 over six members: 1,333.33… rounded up to 1,333.34 each.
    assert {d.amount for d in Due.objects.filter(plan=second.levy_plan)} == {D("1333.34")}
    with pytest.raises(ValidationError, match="The welfare fund is empty"):
        services.claim_pay(claim=second, method="cash", by=chama.treasurer.user)
    for member in chama.everyone:
        dues.payment_record(membership=member, amount=D("1333.34"), method="cash", by=chama.treasurer.user)
    rest = services.claim_pay(claim=second, method="cash", by=chama.treasurer.user)
    second.refresh_from_db()
    assert (rest.amount, second.status, fund(chama)) == (D("8000.00"), "paid", D("0.04"))


def test_each_eligibility_rule_is_checked_and_explained():
    chama = harambee(max_claims_per_year=1)
    newcomer = joined(chama, on=date(2026, 12, 1))
    early = claim(chama, newcomer)
    reasons = {rule.name: rule for rule in services.eligibility(early)}
    assert not reasons["waiting_period"].passed
    assert f"{newcomer.member_number} may claim for events from 01 Mar 2027" in reasons["waiting_period"].reason
    with pytest.raises(ValidationError, match="Not eligible: Members claim from 90 days after joining"):
        services.claim_approve(claim=early, by=chama.secretary.user)

    uncovered = claim(chama, event="wedding")
    assert [r.reason for r in services.eligibility(uncovered) if not r.passed] == [
        "Bereavement and illness does not cover wedding."
    ]

    today_is(date(2027, 2, 20))  # February's welfare dues are late for Otieno, who has not paid
    dues.generate_dues(period=(2027, 2), chama=chama)
    dues.apply_penalties(as_of=date(2027, 2, 20), chama=chama)
    otieno = chama.members[1]
    behind = claim(chama, otieno, event="hospitalisation", amount="3000")
    assert [r.reason for r in services.eligibility(behind) if not r.passed] == [
        "Behind on welfare contributions by KES 2,000.00: pay them first."
    ]

    akinyi = chama.members[2]
    dues.payment_record(membership=akinyi, amount=D("2000"), method="cash", by=chama.treasurer.user)
    first = claim(chama, akinyi, event="hospitalisation", amount="3000")
    services.claim_approve(claim=first, by=chama.secretary.user)
    services.claim_approve(claim=first, by=chama.chair.user)
    assert Claim.objects.get(pk=first.pk).amount_approved == D("3000.00")  # under the 5,000 cap
    twice = claim(chama, akinyi, event="hospitalisation", amount="3000")
    failed = {r.name for r in services.eligibility(twice) if not r.passed}
    assert failed == {"yearly_limit", "duplicate"}


def test_nobody_decides_their_own_claim_or_one_they_declared_a_conflict_on():
    chama = harambee()
    own = claim(chama, chama.secretary)
    with pytest.raises(authority.Refused, match="for themselves"):
        services.claim_approve(claim=own, by=chama.secretary.user)
    other = claim(chama)
    services.claim_declare_conflict(claim=other, by=chama.chair.user, comment="She is my sister")
    with pytest.raises(authority.Refused, match="declared a conflict"):
        services.claim_approve(claim=other, by=chama.chair.user)
    with pytest.raises(ValidationError, match="Say why"):
        services.claim_reject(claim=other, by=chama.treasurer.user, reason="")
    rejected = services.claim_reject(claim=other, by=chama.treasurer.user, reason="No burial permit")
    assert rejected.status == "rejected"
    assert Notification.objects.filter(user=chama.members[0].user, dedupe_key=f"welfare-rejected-{other.pk}").exists()


def test_the_fund_names_the_members_behind_on_welfare_dues_to_officers_only(api_as):
    chama = harambee()
    late = chama.members[1]
    today_is(date(2027, 2, 20))  # February's 2,000 fell due on the 5th; all but one pay it
    dues.generate_dues(period=(2027, 2), chama=chama)
    for member in chama.everyone:
        if member != late:
            dues.payment_record(membership=member, amount=D("2000"), method="cash", by=chama.treasurer.user)
    dues.apply_penalties(chama=chama)

    fund = api_as(chama.treasurer.user).get(f"/api/v1/chamas/{chama.pk}/welfare/fund/").json()

    assert fund["members_behind"] == [
        {
            "membership": late.pk,
            "member_number": late.member_number,
            "name": late.user.get_full_name(),
            "owed": "2000.00",
        }
    ]
    assert api_as(late.user).get(f"/api/v1/chamas/{chama.pk}/welfare/fund/").json()["members_behind"] is None
