"""members_count under real concurrency: many officers admitting and exiting members at once."""

import pytest

from chama.roles import MembershipStatus, Role
from groups import services
from groups.models import Chama, Membership
from tests.concurrency.threads import run_at_once
from tests.factories import ChamaFactory, UserFactory, member
from tests.helpers import requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_joins_count_every_member_and_number_them_uniquely():
    chama = ChamaFactory()
    people = [UserFactory() for _ in range(16)]

    _, errors = run_at_once(lambda i: services.admit_member(chama=chama, user=people[i]), 16)

    assert errors == {}
    chama.refresh_from_db()
    assert chama.members_count == 16
    numbers = sorted(Membership.objects.filter(chama=chama).values_list("member_number", flat=True))
    assert numbers == [f"M{n:03d}" for n in range(1, 17)]


def test_concurrent_exits_rejoins_and_joins_keep_the_count_right():
    chama = ChamaFactory()
    chairperson = member(chama, Role.CHAIRPERSON)
    leavers = [member(chama) for _ in range(6)]
    returners = [member(chama) for _ in range(4)]
    for person in returners:
        services.membership_change_status(
            membership=Membership.objects.get(chama=chama, user=person), status=MembershipStatus.EXITED, by=chairperson
        )
    newcomers = [UserFactory() for _ in range(6)]
    jobs = (
        [
            lambda p=p: services.membership_change_status(
                membership=Membership.objects.get(chama=chama, user=p), status=MembershipStatus.EXITED, by=chairperson
            )
            for p in leavers
        ]
        + [lambda p=p: services.admit_member(chama=chama, user=p) for p in returners]
        + [lambda p=p: services.admit_member(chama=chama, user=p) for p in newcomers]
    )

    _, errors = run_at_once(lambda i: jobs[i](), len(jobs))

    assert errors == {}
    # 1 chairperson + 4 returners + 6 newcomers; the 6 leavers are out.
    assert Chama.objects.get(pk=chama.pk).members_count == 11
    assert services.members_count_drift() == []


def test_the_same_exit_twice_at_once_counts_once():
    chama = ChamaFactory()
    chairperson = member(chama, Role.CHAIRPERSON)
    leaver = Membership.objects.get(user=member(chama))

    _, errors = run_at_once(
        lambda i: services.membership_change_status(membership=leaver, status=MembershipStatus.EXITED, by=chairperson),
        8,
    )

    assert errors == {}
    assert Chama.objects.get(pk=chama.pk).members_count == 1
