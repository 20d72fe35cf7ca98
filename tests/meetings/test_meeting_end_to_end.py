"""A meeting from end to end, as a chama runs it: the secretary schedules the regular meetings
(`schedule_meetings`), members are reminded (`send_meeting_reminders`, twice: one reminder each),
answer through the API (one attends, one sends an apology) and vote on a proposal the secretary
put to them through the API; the meeting day comes, the secretary fills the register on the admin's
one page and records the minutes, a resolution and an action item on the meeting's change form;
the treasurer takes payments at the meeting. Then: attendance percentages, absence and lateness
fines, one reminder per member, one receipt per payment, and the vote's result shown to members.

Chama: absence fine KES 200, lateness KES 50, excused absences left out of the count, quorum 50%,
simple majority. Active members: the secretary, the treasurer, Amina, Baraka and Chebet (five).
"""

from datetime import timedelta
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.forms import MultiWidget
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from chama.models import Notification
from chama.roles import Role
from chama.sms import MemoryBackend
from finance.models import Account, Due
from finance.services import dues as dues_service
from finance.services import ledger
from groups.models import Membership
from meetings import services
from meetings.models import ActionItem, Attendance, Meeting, Proposal, Resolution
from tests.factories import ChamaFactory, MembershipFactory, UserFactory
from tests.helpers import login_api, register_data, results


def people(chama):
    return {
        name: MembershipFactory(chama=chama, role=role, user=UserFactory(first_name=name))
        for name, role in [
            ("Wanjiru", Role.SECRETARY),
            ("Tom", Role.TREASURER),
            ("Amina", Role.MEMBER),
            ("Baraka", Role.MEMBER),
            ("Chebet", Role.MEMBER),
        ]
    }


def change_form_data(response):
    """What the admin's change form would post back unchanged: its fields and every inline's management form."""
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if isinstance(field.widget, MultiWidget):
            data.update(
                {
                    f"{name}_{n}": "" if part is None else str(part)
                    for n, part in enumerate(field.widget.decompress(value))
                }
            )
        else:
            data[name] = "" if value is None else value
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({f"{inline.formset.prefix}-{key}": value for key, value in management.initial.items()})
    return data


@pytest.mark.django_db
def test_a_meeting_from_schedule_to_minutes(client, django_capture_on_commit_callbacks):
    MemoryBackend.outbox.clear()
    chama = ChamaFactory(
        name="Umoja",
        policy={
            "absence_fine_amount": D("200"),
            "lateness_fine_amount": D("50"),
            "meeting_frequency": "monthly",
            "meeting_day": 28,
        },
    )
    who = people(chama)
    secretary, treasurer = who["Wanjiru"].user, who["Tom"].user
    api = {name: login_api(APIClient(), m.user) for name, m in who.items()}
    base = f"/api/v1/chamas/{chama.pk}"

    # The secretary schedules the next two months' regular meetings (on the 28th); running it again adds nothing.
    out = StringIO()
    call_command("schedule_meetings", "--months", "2", "--chama", str(chama.pk), stdout=out)
    call_command("schedule_meetings", "--months", "2", "--chama", str(chama.pk), stdout=StringIO())
    assert "2 meeting(s) created" in out.getvalue()
    assert Meeting.objects.filter(chama=chama).count() == 2
    meeting = Meeting.objects.filter(chama=chama, starts_at__gt=timezone.now()).earliest("starts_at")
    assert meeting.starts_at.astimezone(timezone.get_fixed_timezone(180)).day == 28

    # A day before, the reminders go out, once.
    with django_capture_on_commit_callbacks(execute=True):
        services.send_meeting_reminders(now=meeting.starts_at - timedelta(hours=24))
        services.send_meeting_reminders(now=meeting.starts_at - timedelta(hours=23))
    reminders = Notification.objects.filter(kind=Notification.Kind.MEETING_REMINDER)
    assert sorted(reminders.values_list("user__first_name", flat=True)) == sorted(who)
    assert len(MemoryBackend.outbox) == 5 and len(mail.outbox) == 5

    # Members answer through the API and see their answer on the meeting.
    assert (
        api["Amina"].post(f"{base}/meetings/{meeting.pk}/rsvp/", {"response": "attending"}, format="json").status_code
        == 200
    )
    refused = api["Chebet"].post(f"{base}/meetings/{meeting.pk}/rsvp/", {"response": "apology"}, format="json")
    assert refused.status_code == 400 and "reason" in refused.json()
    assert (
        api["Chebet"]
        .post(
            f"{base}/meetings/{meeting.pk}/rsvp/",
            {"response": "apology", "reason": "Travelling to Kisumu"},
            format="json",
        )
        .status_code
        == 200
    )
    upcoming = results(api["Amina"].get(f"{base}/meetings/?when=upcoming"))
    assert (upcoming[0]["id"], upcoming[0]["my_rsvp"]) == (meeting.pk, "attending")

    # The secretary puts a proposal to the vote; members vote, Amina changes her mind.
    now = timezone.now()
    created = api["Wanjiru"].post(
        f"{base}/proposals/",
        {
            "title": "Buy a tent for events",
            "kind": "expense",
            "description": "KES 18,000 from the welfare fund.",
            "opens_at": (now - timedelta(minutes=1)).isoformat(),
            "closes_at": (now + timedelta(days=2)).isoformat(),
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    proposal_url = f"{base}/proposals/{created.json()['id']}/"
    assert (created.json()["status"], created.json()["eligible_count"]) == ("open", 5)
    for name, choice in [("Amina", "no"), ("Baraka", "yes"), ("Tom", "yes"), ("Amina", "yes")]:
        assert api[name].post(f"{proposal_url}vote/", {"choice": choice}, format="json").status_code == 200
    assert api["Amina"].get(proposal_url).json()["my_vote"] == "yes"

    # The meeting day comes.
    Meeting.objects.filter(pk=meeting.pk).update(starts_at=now - timedelta(hours=3), ends_at=now - timedelta(hours=1))

    # The secretary fills the register on one page: the apology is already there.
    client.force_login(secretary)
    register_url = reverse("admin:meetings_meeting_register", args=[meeting.pk])
    page = client.get(register_url)
    assert page.status_code == 200
    chebet_line = next(line for line in page.context["lines"] if line["membership"] == who["Chebet"])
    assert (chebet_line["status"], chebet_line["note"]) == ("apology", "Travelling to Kisumu")
    statuses = {"Wanjiru": "present", "Tom": "late", "Amina": "present", "Baraka": "absent", "Chebet": "apology"}
    form = register_data(
        page.context["lines"],
        {
            who[name]: {
                "status": status,
                "arrived_at": "14:40" if status == "late" else "",
                "note": chebet_line["note"] if name == "Chebet" else "",
            }
            for name, status in statuses.items()
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        saved = client.post(register_url, form)
    assert saved.status_code == 302 and saved.url == reverse("admin:meetings_meeting_change", args=[meeting.pk])
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.HELD
    assert Attendance.objects.get(membership=who["Tom"]).arrived_at.strftime("%H:%M") == "14:40"
    assert services.quorum(meeting) == (3, 3, True)  # present or late: Wanjiru, Tom, Amina; 50% of 5 rounded up

    # Minutes, a resolution and an action item on the meeting's change form.
    change_url = reverse("admin:meetings_meeting_change", args=[meeting.pk])
    data = change_form_data(client.get(change_url))
    data.update(
        {
            "minutes": "Opened with prayer at 14:10. Contributions and the tent were discussed.",
            "resolutions-TOTAL_FORMS": "1",
            "resolutions-0-text": "The chama buys a tent if the vote passes.",
            "resolutions-0-passed": "on",
            "action_items-TOTAL_FORMS": "1",
            "action_items-0-description": "Get three quotes for the tent",
            "action_items-0-owner": str(who["Baraka"].pk),
            "action_items-0-due_date": "2026-12-15",
            "action_items-0-status": "open",
        }
    )
    changed = client.post(change_url, data)
    assert changed.status_code == 302, changed.context["adminform"].form.errors if changed.context else changed
    meeting.refresh_from_db()
    assert meeting.minutes.startswith("Opened with prayer") and meeting.minutes_recorded_by == secretary
    assert Resolution.objects.get(meeting=meeting).chama == chama
    assert ActionItem.objects.get(meeting=meeting).owner == who["Baraka"]
    shown = api["Baraka"].get(f"{base}/meetings/{meeting.pk}/").json()
    assert shown["quorum"] == {"present": 3, "required": 3, "met": True}
    assert shown["resolutions"] == [{"text": "The chama buys a tent if the vote passes.", "passed": True}]
    assert shown["action_items"][0]["owner"] == who["Baraka"].user.get_full_name()

    # Attendance percentages (the first held meeting; apologies are left out) and fines.
    percentages = {name: Membership.objects.get(pk=m.pk).attendance_percentage for name, m in who.items()}
    assert percentages == {
        "Wanjiru": D("100.00"),
        "Tom": D("100.00"),
        "Amina": D("100.00"),
        "Baraka": D("0.00"),
        "Chebet": None,
    }
    mine = api["Baraka"].get(f"{base}/my/attendance/").json()
    assert (mine["attendance_percentage"], [row["status"] for row in mine["results"]]) == ("0.00", ["absent"])
    fines = {
        name: list(Due.objects.filter(membership=m, kind=Due.Kind.FINE).values_list("amount", flat=True))
        for name, m in who.items()
    }
    assert fines == {"Wanjiru": [], "Tom": [D("50.00")], "Amina": [], "Baraka": [D("200.00")], "Chebet": []}

    # The treasurer takes payments at the meeting: every payment gets its member one receipt.
    MemoryBackend.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        baraka_pays = dues_service.payment_record(
            membership=who["Baraka"], amount=D("200"), method="cash", by=treasurer, idempotency_key="meeting-cash-1"
        )
        dues_service.payment_record(
            membership=who["Baraka"], amount=D("200"), method="cash", by=treasurer, idempotency_key="meeting-cash-1"
        )  # the same payment entered twice
        dues_service.payment_record(membership=who["Amina"], amount=D("500"), method="cash", by=treasurer)
        dues_service.payment_record(
            membership=who["Amina"], amount=D("300"), method="mpesa", by=treasurer, reference="RKT4QX7W2A"
        )
    receipts = Notification.objects.filter(kind=Notification.Kind.PAYMENT_RECEIPT)
    assert sorted(receipts.values_list("user__first_name", flat=True)) == ["Amina", "Amina", "Baraka"]
    assert f"Receipt no. {baraka_pays.pk}." in receipts.get(user=who["Baraka"].user).body
    assert sorted(phone for phone, _ in MemoryBackend.outbox) == sorted(
        [str(who["Amina"].user.phone_number)] * 2 + [str(who["Baraka"].user.phone_number)]
    )
    assert ledger.member_account(who["Baraka"], Account.Purpose.FINES_RECEIVABLE).normal_balance == D("0.00")
    notifications = results(api["Amina"].get("/api/v1/notifications/?unread=true"))
    assert [n["kind"] for n in notifications].count("payment_receipt") == 2

    # Voting closes: 3 yes and 0 no of 5 eligible (quorum 50%: 3 votes); members see the result.
    Proposal.objects.filter(pk=created.json()["id"]).update(closes_at=timezone.now() - timedelta(seconds=1))
    call_command("close_proposals", stdout=StringIO())
    result = api["Chebet"].get(proposal_url).json()
    assert (result["status"], result["result"], result["tally"]) == (
        "closed",
        "passed",
        {"yes": 3, "no": 0, "abstain": 0},
    )
