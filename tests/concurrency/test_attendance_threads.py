"""Attendance percentages and meeting fines under real concurrency on PostgreSQL: registers of
different meetings saved at once for the same members while a held meeting is cancelled, and the
same register saved by several secretaries at once."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from chama.roles import Role
from finance.models import Account, Due, Journal
from finance.services import ledger
from groups.models import Membership
from meetings import attendance, services
from meetings.models import Attendance, Meeting
from tests.concurrency.threads import run_at_once
from tests.factories import ChamaFactory, MembershipFactory, UserFactory, backdating_approved
from tests.helpers import requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]

CYCLE = ["present", "late", "absent", "excused", "apology"]


def make_chama(members):
    """Excused absences left out of the count; KES 100 for an absence, none for lateness."""
    chama = ChamaFactory(name="Umoja", policy={"excused_absences": "excluded", "absence_fine_amount": D("100")})
    backdating_approved(chama, chama.today() - timedelta(days=60))  # registers of meetings up to 6 weeks back are fined
    secretary = MembershipFactory(chama=chama, role=Role.SECRETARY, user=UserFactory()).user
    chair = MembershipFactory(chama=chama, role=Role.CHAIRPERSON, user=UserFactory()).user
    return chama, secretary, chair, [MembershipFactory(chama=chama, user=UserFactory()) for _ in range(members)]


def past_meetings(chama, by, count):
    now = timezone.now()
    return [
        services.meeting_create(
            chama=chama, by=by, title=f"Meeting {n}", starts_at=now - timedelta(days=7 * (count - n))
        )
        for n in range(count)
    ]


def test_registers_saved_at_once_for_the_same_members_keep_every_percentage_right():
    chama, secretary, chair, members = make_chama(8)
    meetings = past_meetings(chama, secretary, 6)
    cancelled = past_meetings(chama, secretary, 1)[0]
    services.register_save(meeting=cancelled, by=secretary, entries={m.pk: {"status": "absent"} for m in members})
    fines_before = Journal.objects.filter(kind=Journal.Kind.FINE_CHARGE).count()

    def work(i):
        if i == len(meetings):  # meanwhile the chairperson cancels a held meeting of the same members
            return services.meeting_set_status(meeting=cancelled, status=Meeting.Status.CANCELLED, by=chair)
        # Member j has status CYCLE[(i + j) % 5] at meeting i; odd threads list the members backwards.
        entries = {m.pk: {"status": CYCLE[(i + j) % 5]} for j, m in enumerate(members)}
        if i % 2:
            entries = dict(reversed(entries.items()))
        return services.register_save(meeting=meetings[i], by=secretary if i % 3 else chair, entries=entries)

    _, errors = run_at_once(work, len(meetings) + 1)

    assert errors == {}
    # By hand, member j over meetings 0-5 (the cancelled one leaves the count):
    # j=0: present late absent excused apology present -> 3 of 4 = 75%; j=1: 3 of 4; j=2: 2 of 4;
    # j=3 and j=4: 2 of 3; j=5, 6, 7 repeat j=0, 1, 2.
    expected = [D("75.00"), D("75.00"), D("50.00"), D("66.67"), D("66.67"), D("75.00"), D("75.00"), D("50.00")]
    assert [Membership.objects.get(pk=m.pk).attendance_percentage for m in members] == expected
    assert attendance.drift(chama) == []
    assert Attendance.objects.filter(meeting__in=meetings).count() == 48
    # Absences at meetings 0-5: residue (2 - i) mod 5 among j = 0..7 gives 2, 2, 2, 1, 1, 2 members.
    assert Journal.objects.filter(kind=Journal.Kind.FINE_CHARGE).count() - fines_before == 10


def test_the_same_register_saved_at_once_fines_each_absent_member_once():
    chama, secretary, chair, members = make_chama(6)
    meeting = past_meetings(chama, secretary, 1)[0]
    entries = {m.pk: {"status": "absent" if n % 2 else "present"} for n, m in enumerate(members)}

    _, errors = run_at_once(
        lambda i: services.register_save(meeting=meeting, by=(secretary, chair)[i % 2], entries=dict(entries)), 6
    )

    assert errors == {}
    assert Attendance.objects.filter(meeting=meeting).count() == 6
    assert Due.objects.filter(kind=Due.Kind.FINE).count() == 3
    for n, membership in enumerate(members):
        fines = ledger.member_account(membership, Account.Purpose.FINES_RECEIVABLE).normal_balance
        assert fines == (D("100.00") if n % 2 else D("0.00"))
        assert Membership.objects.get(pk=membership.pk).attendance_percentage == (D("0.00") if n % 2 else D("100.00"))
