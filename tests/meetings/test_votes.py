"""Proposals and votes: who may vote (the members active when voting opens), one vote each that a
second vote replaces until voting closes, quorum over every vote cast against the eligible voters,
and the two pass thresholds (simple majority of yes over no; two thirds of yes and no). Results are
worked out by hand for each case.
"""

from datetime import timedelta
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from chama import authority
from chama.roles import MembershipStatus, Role
from groups import services as group_services
from meetings import services
from meetings.models import EligibleVoter, Proposal, Vote
from tests.factories import ChamaFactory, MembershipFactory, UserFactory


def make_chama(members=4, **policy):
    """A chama with a secretary and `members` more active members (so members + 1 may vote)."""
    chama = ChamaFactory(name="Umoja", policy=policy)
    secretary = MembershipFactory(chama=chama, role=Role.SECRETARY, user=UserFactory())
    return chama, secretary, [MembershipFactory(chama=chama, user=UserFactory()) for _ in range(members)]


def open_proposal(chama, by, hours=24, **fields):
    now = timezone.now()
    return services.proposal_create(
        chama=chama,
        by=by.user,
        title="Buy a tent for events",
        opens_at=now - timedelta(minutes=1),
        closes_at=now + timedelta(hours=hours),
        **fields,
    )


def vote_all(proposal, voters, choices):
    for membership, choice in zip(voters, choices, strict=True):
        services.vote_cast(proposal=proposal, membership=membership, choice=choice)


def close(proposal):
    return services.proposal_close(proposal=proposal)


@pytest.mark.django_db
def test_a_second_vote_replaces_the_first_until_voting_closes():
    chama, secretary, (amina, baraka, *_) = make_chama()
    proposal = open_proposal(chama, secretary)
    assert (proposal.status, proposal.eligible_count) == (Proposal.Status.OPEN, 5)

    services.vote_cast(proposal=proposal, membership=amina, choice="yes")
    services.vote_cast(proposal=proposal, membership=amina, choice="no")
    services.vote_cast(proposal=proposal, membership=baraka, choice="abstain")
    services.vote_cast(proposal=proposal, membership=baraka, choice="yes")

    assert Vote.objects.filter(proposal=proposal).count() == 2
    assert Vote.objects.get(proposal=proposal, membership=amina).choice == "no"
    assert services.tally(proposal) == (1, 1, 0)


@pytest.mark.django_db
def test_no_vote_after_close_or_once_the_closing_time_has_passed():
    chama, secretary, (amina, baraka, chebet, _) = make_chama()
    proposal = open_proposal(chama, secretary)
    services.vote_cast(proposal=proposal, membership=amina, choice="yes")

    # The closing time passed but close_proposals has not run yet: already closed to votes.
    Proposal.objects.filter(pk=proposal.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ValidationError, match="closed"):
        services.vote_cast(proposal=proposal, membership=baraka, choice="yes")

    closed = close(proposal)
    with pytest.raises(ValidationError, match="closed"):
        services.vote_cast(proposal=proposal, membership=amina, choice="no")  # not even a change of mind
    with pytest.raises(ValidationError, match="closed"):
        services.vote_cast(proposal=proposal, membership=chebet, choice="yes")
    assert (closed.yes_count, closed.no_count, closed.abstain_count) == (1, 0, 0)
    assert Vote.objects.get(membership=amina).choice == "yes"


@pytest.mark.django_db
def test_no_vote_before_voting_opens():
    chama, secretary, (amina, *_) = make_chama()
    now = timezone.now()
    proposal = services.proposal_create(
        chama=chama,
        by=secretary.user,
        title="Later",
        opens_at=now + timedelta(hours=1),
        closes_at=now + timedelta(days=1),
    )
    assert proposal.status == Proposal.Status.SCHEDULED

    with pytest.raises(ValidationError, match="not opened yet"):
        services.vote_cast(proposal=proposal, membership=amina, choice="yes")
    assert not Vote.objects.exists()


@pytest.mark.django_db
def test_only_members_active_when_voting_opened_may_vote():
    chama, secretary, (amina, baraka, *_) = make_chama()
    suspended = MembershipFactory(chama=chama, user=UserFactory())
    group_services.membership_change_status(
        membership=suspended, status=MembershipStatus.SUSPENDED, by=secretary.user, reason="Arrears"
    )
    outsider = MembershipFactory(chama=ChamaFactory(name="Tujenge"), user=amina.user)  # the same person, another chama
    proposal = open_proposal(chama, secretary)
    newcomer = MembershipFactory(chama=chama, user=UserFactory())  # joined after voting opened

    for membership in (newcomer, suspended, outsider):
        with pytest.raises(ValidationError, match="active when the vote opened"):
            services.vote_cast(proposal=proposal, membership=membership, choice="yes")
    assert not Vote.objects.exists()
    assert set(EligibleVoter.objects.filter(proposal=proposal).values_list("membership_id", flat=True)) == {
        secretary.pk,
        amina.pk,
        baraka.pk,
        *(m.pk for m in chama.memberships.filter(status=MembershipStatus.ACTIVE).exclude(pk__in=[newcomer.pk])),
    }
    assert proposal.eligible_count == 5  # the newcomer does not raise the quorum's base either


@pytest.mark.django_db
def test_a_member_who_joins_before_a_scheduled_vote_opens_may_vote():
    chama, secretary, _ = make_chama(members=2)
    now = timezone.now()
    proposal = services.proposal_create(
        chama=chama,
        by=secretary.user,
        title="Constitution: fines",
        kind=Proposal.Kind.CONSTITUTION,
        opens_at=now + timedelta(minutes=30),
        closes_at=now + timedelta(days=2),
    )
    joiner = MembershipFactory(chama=chama, user=UserFactory())

    opened, closed = services.close_proposals(now=now + timedelta(hours=1))
    assert ([p.pk for p in opened], closed) == ([proposal.pk], [])
    proposal.refresh_from_db()
    assert (proposal.status, proposal.eligible_count) == (Proposal.Status.OPEN, 4)
    services.vote_cast(proposal=proposal, membership=joiner, choice="yes")


@pytest.mark.django_db
def test_an_invalid_choice_is_refused():
    chama, secretary, (amina, *_) = make_chama()
    proposal = open_proposal(chama, secretary)
    with pytest.raises(ValidationError, match="yes, no or abstain"):
        services.vote_cast(proposal=proposal, membership=amina, choice="maybe")


@pytest.mark.django_db
def test_quorum_not_met_counts_every_vote_cast_against_the_eligible_voters():
    # 10 may vote (the secretary and 9); quorum 50% needs 5 votes of any kind.
    chama, secretary, members = make_chama(members=9, quorum_percentage=D("50"))
    short = open_proposal(chama, secretary)
    vote_all(short, members[:4], ["yes", "yes", "yes", "abstain"])
    enough = open_proposal(chama, secretary)
    vote_all(enough, members[:5], ["yes", "yes", "abstain", "abstain", "abstain"])  # abstentions make the quorum

    short, enough = close(short), close(enough)
    assert (short.result, short.yes_count, short.eligible_count) == (Proposal.Result.NO_QUORUM, 3, 10)
    assert enough.result == Proposal.Result.PASSED  # 2 yes against 0 no


@pytest.mark.django_db
def test_a_member_who_left_after_opening_still_counts_in_the_quorum_base():
    chama, secretary, members = make_chama(members=3, quorum_percentage=D("60"))  # 4 eligible: 2.4, so 3 votes
    proposal = open_proposal(chama, secretary)
    group_services.membership_change_status(
        membership=members[2], status=MembershipStatus.EXITED, by=secretary.user, reason="Moved"
    )
    vote_all(proposal, members[:2], ["yes", "yes"])

    assert close(proposal).result == Proposal.Result.NO_QUORUM  # 2 of 4 is 50%, below 60%


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("choices", "result"),
    [
        # 9 eligible (the secretary and 8); quorum 50% = 4.5, so 5 votes.
        (["yes"] * 6 + ["no"] * 3, Proposal.Result.PASSED),  # 6 of 9 yes-or-no: exactly two thirds
        (["yes"] * 5 + ["no"] * 3, Proposal.Result.REJECTED),  # 5 of 8 = 62.5%
        (["yes"] * 4 + ["no"] * 2 + ["abstain"] * 3, Proposal.Result.PASSED),  # abstentions are left out: 4 of 6
        (["yes"] * 2 + ["no"] + ["abstain"] * 6, Proposal.Result.PASSED),  # 2 of 3
        (["abstain"] * 9, Proposal.Result.REJECTED),  # nobody said yes
        (["yes"] * 4, Proposal.Result.NO_QUORUM),  # 4 of 9 voted
    ],
)
def test_two_thirds_threshold(choices, result):
    chama, secretary, members = make_chama(members=8, vote_pass_threshold="two_thirds")
    proposal = open_proposal(chama, secretary)
    vote_all(proposal, [secretary, *members][: len(choices)], choices)

    closed = close(proposal)
    assert closed.result == result
    expected = tuple(choices.count(choice) for choice in ("yes", "no", "abstain"))
    assert (closed.yes_count, closed.no_count, closed.abstain_count) == expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("choices", "result"),
    [
        (["yes"] * 3 + ["no"] * 2, Proposal.Result.PASSED),
        (["yes"] * 2 + ["no"] * 2 + ["abstain"], Proposal.Result.REJECTED),  # a tie does not pass
        (["yes"] + ["abstain"] * 4, Proposal.Result.PASSED),
    ],
)
def test_simple_majority(choices, result):
    chama, secretary, members = make_chama(members=4)
    proposal = open_proposal(chama, secretary)
    vote_all(proposal, [secretary, *members], choices)
    assert close(proposal).result == result


@pytest.mark.django_db
def test_the_proposal_keeps_the_policy_it_was_created_under():
    chama, secretary, members = make_chama(members=2, vote_pass_threshold="two_thirds", quorum_percentage=D("40"))
    proposal = open_proposal(chama, secretary)
    chama.policy.vote_pass_threshold = "simple"
    chama.policy.quorum_percentage = D("100")
    chama.policy.save()
    vote_all(proposal, members, ["yes", "no"])  # 2 of 3 voted; one of two is not two thirds

    closed = close(proposal)
    assert (closed.pass_threshold, closed.quorum_percentage, closed.result) == (
        "two_thirds",
        D("40.00"),
        Proposal.Result.REJECTED,
    )


@pytest.mark.django_db
def test_closing_twice_keeps_the_first_result():
    chama, secretary, members = make_chama(members=2)
    proposal = open_proposal(chama, secretary)
    vote_all(proposal, members, ["yes", "yes"])
    first = close(proposal)
    Vote.objects.filter(proposal=proposal).update(choice="no")  # nothing after close can change the result
    again = close(proposal)
    assert (first.result, again.result, again.yes_count) == (Proposal.Result.PASSED, Proposal.Result.PASSED, 2)


@pytest.mark.django_db
def test_close_proposals_opens_and_closes_on_time_and_reports():
    chama, secretary, members = make_chama(members=2)
    now = timezone.now()
    due = open_proposal(chama, secretary)
    vote_all(due, members, ["yes", "no"])
    Proposal.objects.filter(pk=due.pk).update(opens_at=now - timedelta(hours=2), closes_at=now - timedelta(minutes=1))
    later = services.proposal_create(
        chama=chama,
        by=secretary.user,
        title="Welfare top-up",
        opens_at=now - timedelta(hours=2),
        closes_at=now + timedelta(days=1),
    )
    Proposal.objects.filter(pk=later.pk).update(status=Proposal.Status.SCHEDULED, eligible_count=0)
    EligibleVoter.objects.filter(proposal=later).delete()

    out = StringIO()
    call_command("close_proposals", stdout=out)
    text = out.getvalue()
    assert "voting opened on Welfare top-up (3 eligible)" in text
    assert "Buy a tent for events — Rejected (yes 1, no 1, abstain 0)" in text
    assert "1 opened, 1 closed." in text

    out = StringIO()
    call_command("close_proposals", stdout=out)
    assert "0 opened, 0 closed." in out.getvalue()


@pytest.mark.django_db
def test_only_the_chairperson_and_secretary_put_proposals_to_a_vote():
    chama, _, (amina, *_) = make_chama()
    treasurer = MembershipFactory(chama=chama, role=Role.TREASURER, user=UserFactory())
    now = timezone.now()
    for by in (amina, treasurer):
        with pytest.raises(
            authority.Refused, match="may call meetings, keep the register and minutes, and put proposals"
        ):
            services.proposal_create(
                chama=chama, by=by.user, title="Anything", opens_at=now, closes_at=now + timedelta(days=1)
            )
    with pytest.raises(ValidationError, match="close after it opens"):
        services.proposal_create(
            chama=chama,
            by=MembershipFactory(chama=chama, role=Role.CHAIRPERSON, user=UserFactory()).user,
            title="Backwards",
            opens_at=now,
            closes_at=now - timedelta(hours=1),
        )
    assert not Proposal.objects.exists()
