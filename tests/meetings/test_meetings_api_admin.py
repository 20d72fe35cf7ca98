"""The meetings API and back office as members and officers use them.

API: calling a meeting with its agenda and the refusals (role, missing link, end before start),
upcoming and past lists, one meeting with its agenda, resolutions, action items and the caller's
RSVP, RSVPs, the register with the absence and lateness fines it charges, a member's own
attendance and percentage, proposals and votes (the tally hidden until voting closes), another
chama's rows out of reach, and the cost of the meeting list.

Admin: the meeting changelist and its filters, the quorum on the change page, the one-page
register (who is listed, what is pre-filled, saving, a bad time), another chama's officer kept
out, the proposal changelist's live vote counts, a proposal added through the service, the
"close voting now" action, the link a virtual meeting needs, and no meeting marked held in the
meeting form before it starts.

The club of most tests, "Umoja": a chairperson, a secretary, a treasurer and four plain members
(Wanjiku, Otieno, Achieng, Kamau) are active, a fifth member has left: 7 active members. Policy:
quorum 50% (of 7 → 3.5, rounded up to 4 present), apologies left out of the attendance share,
KES 200 fine for an absence and KES 50 for lateness, simple majority. Figures are worked out by
hand next to each assertion.
"""

from datetime import time, timedelta
from decimal import Decimal as D
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from chama import authority
from chama.roles import MembershipStatus, Role
from finance.models import Due
from groups import services as group_services
from groups.models import Membership
from meetings import services
from meetings.models import ActionItem, Attendance, Meeting, MinutesAttachment, Proposal, Resolution, Rsvp, Vote
from tests.factories import ChamaFactory, MembershipFactory, UserFactory, member
from tests.helpers import results

RUN_MEETING_REFUSAL = (
    "Only the chairperson or secretary of Umoja may call meetings, keep the register and minutes, "
    "and put proposals to a vote."
)
POLICY = {
    "quorum_percentage": D("50"),
    "excused_absences": "excluded",
    "absence_fine_amount": D("200"),
    "lateness_fine_amount": D("50"),
    "vote_pass_threshold": "simple",
}


def joined(chama, role=Role.MEMBER, first_name=None):
    fields = {"first_name": first_name} if first_name else {}
    return MembershipFactory(chama=chama, role=role, user=UserFactory(**fields))


@pytest.fixture
def club(db):
    chama = ChamaFactory(name="Umoja", policy=dict(POLICY))
    chair = joined(chama, Role.CHAIRPERSON)
    secretary = joined(chama, Role.SECRETARY)
    treasurer = joined(chama, Role.TREASURER)
    wanjiku, otieno, achieng, kamau = (
        joined(chama, first_name=name) for name in ("Wanjiku", "Otieno", "Achieng", "Kamau")
    )
    gone = joined(chama, first_name="Gone")
    group_services.membership_change_status(
        membership=gone, status=MembershipStatus.EXITED, by=chair.user, reason="Moved"
    )
    return SimpleNamespace(
        chama=chama,
        base=f"/api/v1/chamas/{chama.pk}",
        chair=chair,
        secretary=secretary,
        treasurer=treasurer,
        wanjiku=wanjiku,
        otieno=otieno,
        achieng=achieng,
        kamau=kamau,
        gone=gone,
        active=[chair, secretary, treasurer, wanjiku, otieno, achieng, kamau],
    )


def meeting_in(club, days, title=None, **fields):
    """A meeting `days` from now (negative: in the past), called by the secretary."""
    return services.meeting_create(
        chama=club.chama,
        by=club.secretary.user,
        title=title or f"Meeting in {days} days",
        starts_at=timezone.now() + timedelta(days=days),
        **fields,
    )


def hold(club, meeting, statuses, held=True):
    """Save `meeting`'s register: `statuses` maps a membership to a status."""
    return services.register_save(
        meeting=meeting, by=club.secretary.user, entries={m.pk: {"status": s} for m, s in statuses.items()}, held=held
    )


def fines(membership):
    return list(Due.objects.filter(membership=membership, kind=Due.Kind.FINE).values_list("amount", flat=True))


def percentage_of(membership):
    return Membership.objects.get(pk=membership.pk).attendance_percentage


def proposal_open_now(club, title="Buy a tent", days=3):
    return services.proposal_create(
        chama=club.chama,
        by=club.secretary.user,
        title=title,
        opens_at=timezone.now() - timedelta(minutes=5),
        closes_at=timezone.now() + timedelta(days=days),
    )


def end_voting(proposal):
    """Move the proposal's voting window into the past, as if its closing time had come."""
    now = timezone.now()
    Proposal.objects.filter(pk=proposal.pk).update(
        opens_at=now - timedelta(days=4), closes_at=now - timedelta(minutes=1)
    )


# --- the API: calling meetings -------------------------------------------------------------------


def test_the_secretary_calls_a_meeting_with_its_agenda(club, api_as):
    starts = timezone.now() + timedelta(days=10)
    response = api_as(club.secretary.user).post(
        f"{club.base}/meetings/",
        {
            "title": "March meeting",
            "location": "Church hall",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(),
            "agenda": ["Minutes", "Contributions", "Any other business"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["title"] == "March meeting" and body["status"] == "scheduled" and body["format"] == "physical"
    assert [(item["position"], item["title"]) for item in body["agenda"]] == [
        (1, "Minutes"),
        (2, "Contributions"),
        (3, "Any other business"),
    ]
    assert body["resolutions"] == [] and body["action_items"] == [] and body["my_rsvp"] is None
    meeting = Meeting.objects.get(pk=body["id"])
    assert meeting.chama == club.chama and list(meeting.agenda.values_list("position", flat=True)) == [1, 2, 3]


def test_a_plain_member_cannot_call_a_meeting(club, api_as):
    response = api_as(club.wanjiku.user).post(
        f"{club.base}/meetings/",
        {"title": "My own meeting", "starts_at": (timezone.now() + timedelta(days=3)).isoformat()},
        format="json",
    )
    assert response.status_code == 403
    assert response.json()["detail"] == RUN_MEETING_REFUSAL
    assert not Meeting.objects.exists()


def test_an_online_meeting_needs_its_link(club, api_as):
    response = api_as(club.secretary.user).post(
        f"{club.base}/meetings/",
        {"title": "Zoom meeting", "format": "virtual", "starts_at": (timezone.now() + timedelta(days=3)).isoformat()},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["link"] == ["An online or hybrid meeting needs its link."]
    assert not Meeting.objects.exists()


def test_a_meeting_that_ends_before_it_starts_is_refused(club, api_as):
    starts = timezone.now() + timedelta(days=3)
    response = api_as(club.secretary.user).post(
        f"{club.base}/meetings/",
        {
            "title": "Backwards",
            "starts_at": starts.isoformat(),
            "ends_at": (starts - timedelta(hours=1)).isoformat(),
            "agenda": ["Minutes"],
        },
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "A meeting must end after it starts." in str(response.json())
    assert not Meeting.objects.exists()


# --- the API: reading meetings -------------------------------------------------------------------


def test_upcoming_and_past_meetings_are_split_by_their_start(club, api_as):
    last_month = meeting_in(club, -30, "Last month")
    last_week = meeting_in(club, -7, "Last week")
    next_week = meeting_in(club, 7, "Next week")
    next_month = meeting_in(club, 30, "Next month")
    client = api_as(club.wanjiku.user)

    upcoming = client.get(f"{club.base}/meetings/", {"when": "upcoming"})
    past = client.get(f"{club.base}/meetings/", {"when": "past"})
    everything = client.get(f"{club.base}/meetings/")

    assert [row["id"] for row in results(upcoming)] == [next_week.pk, next_month.pk]  # soonest first
    assert [row["id"] for row in results(past)] == [last_week.pk, last_month.pk]  # latest first
    assert [row["id"] for row in results(everything)] == [next_month.pk, next_week.pk, last_week.pk, last_month.pk]


def test_one_meeting_shows_agenda_resolutions_action_items_and_my_rsvp(club, api_as):
    meeting = meeting_in(club, 5, "April meeting", agenda=["Minutes", "Loans"])
    Resolution.objects.create(chama=club.chama, meeting=meeting, text="Contributions rise to 600.")
    Resolution.objects.create(chama=club.chama, meeting=meeting, text="Buy a second tent.", passed=False)
    ActionItem.objects.create(
        chama=club.chama,
        meeting=meeting,
        description="Open a bank account",
        owner=club.otieno,
        due_date=timezone.localdate() + timedelta(days=30),
    )
    ActionItem.objects.create(chama=club.chama, meeting=meeting, description="Find a venue")
    services.rsvp(meeting=meeting, membership=club.wanjiku, response="attending")
    services.rsvp(meeting=meeting, membership=club.achieng, response="apology", reason="Travelling")

    as_wanjiku = api_as(club.wanjiku.user).get(f"{club.base}/meetings/{meeting.pk}/")
    as_achieng = api_as(club.achieng.user).get(f"{club.base}/meetings/{meeting.pk}/")
    as_kamau = api_as(club.kamau.user).get(f"{club.base}/meetings/{meeting.pk}/")

    assert as_wanjiku.status_code == 200
    body = as_wanjiku.json()
    assert [(a["position"], a["title"]) for a in body["agenda"]] == [(1, "Minutes"), (2, "Loans")]
    assert sorted((r["text"], r["passed"]) for r in body["resolutions"]) == [
        ("Buy a second tent.", False),
        ("Contributions rise to 600.", True),
    ]
    items = {item["description"]: item for item in body["action_items"]}
    assert items["Open a bank account"]["owner"] == club.otieno.user.get_full_name()
    assert items["Open a bank account"]["status"] == "open"
    assert items["Open a bank account"]["due_date"] == str(timezone.localdate() + timedelta(days=30))
    assert items["Find a venue"]["owner"] is None
    assert body["my_rsvp"] == "attending"
    assert as_achieng.json()["my_rsvp"] == "apology"
    assert as_kamau.json()["my_rsvp"] is None


def test_members_download_the_minutes_attachments_and_nobody_else_does(club, other_chama, api_as):
    held = meeting_in(club, -3, "March meeting")
    other = meeting_in(club, -10, "February meeting")
    signed = MinutesAttachment.objects.create(
        chama=club.chama,
        meeting=held,
        title="Signed minutes",
        document=SimpleUploadedFile("march-minutes.pdf", b"%PDF-1.4 march"),
    )
    missing = MinutesAttachment.objects.create(
        chama=club.chama, meeting=held, title="Photo", document="minutes/2026/gone.jpg"
    )
    url = f"{club.base}/meetings/{held.pk}/attachments/{signed.pk}/"
    member_api = api_as(club.kamau.user)

    listed = member_api.get(f"{club.base}/meetings/{held.pk}/").json()["attachments"]
    assert [(a["id"], a["title"], a["url"]) for a in listed] == [
        (signed.pk, "Signed minutes", f"http://testserver/api/v1/files/minutes/{signed.pk}/"),
        (missing.pk, "Photo", f"http://testserver/api/v1/files/minutes/{missing.pk}/"),
    ]
    for address in (url, listed[0]["url"]):  # the meeting's own route answers as the one download view
        download = member_api.get(address)
        assert download.status_code == 200
        assert b"".join(download.streaming_content) == b"%PDF-1.4 march"
        assert download["Content-Disposition"] == 'attachment; filename="signed-minutes.pdf"'

    assert (
        member_api.get(f"{club.base}/meetings/{other.pk}/attachments/{signed.pk}/").status_code == 404
    )  # another meeting's
    assert member_api.get(f"{club.base}/meetings/{held.pk}/attachments/{missing.pk}/").status_code == 404  # file gone
    stranger = api_as(member(other_chama))
    assert stranger.get(url).status_code == 404
    assert (
        stranger.get(f"/api/v1/chamas/{other_chama.pk}/meetings/{held.pk}/attachments/{signed.pk}/").status_code == 404
    )


# --- the API: RSVPs -------------------------------------------------------------------------------


def test_a_member_says_they_are_attending(club, api_as):
    meeting = meeting_in(club, 5)
    url = f"{club.base}/meetings/{meeting.pk}/rsvp/"
    response = api_as(club.wanjiku.user).post(url, {"response": "attending"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"response": "attending", "reason": ""}
    answer = Rsvp.objects.get(meeting=meeting)
    assert answer.membership == club.wanjiku and answer.chama == club.chama


def test_an_apology_needs_a_reason(club, api_as):
    meeting = meeting_in(club, 5)
    client = api_as(club.wanjiku.user)
    url = f"{club.base}/meetings/{meeting.pk}/rsvp/"

    without = client.post(url, {"response": "apology"}, format="json")
    blank = client.post(url, {"response": "apology", "reason": "   "}, format="json")
    assert without.status_code == 400 and blank.status_code == 400
    assert without.json()["reason"] == ["Give a reason with your apology."]
    assert not Rsvp.objects.exists()

    response = client.post(url, {"response": "apology", "reason": "At a funeral upcountry"}, format="json")
    assert response.status_code == 200
    assert response.json() == {"response": "apology", "reason": "At a funeral upcountry"}


def test_answering_again_replaces_the_answer(club, api_as):
    meeting = meeting_in(club, 5)
    client = api_as(club.wanjiku.user)
    url = f"{club.base}/meetings/{meeting.pk}/rsvp/"
    client.post(url, {"response": "apology", "reason": "Sick"}, format="json")
    response = client.post(url, {"response": "attending"}, format="json")
    assert response.status_code == 200
    answer = Rsvp.objects.get(meeting=meeting, membership=club.wanjiku)  # still one row
    assert (answer.response, answer.reason) == ("attending", "")
    assert Rsvp.objects.count() == 1
    assert client.get(f"{club.base}/meetings/{meeting.pk}/").json()["my_rsvp"] == "attending"


def test_no_answers_to_a_past_or_cancelled_meeting(club, api_as):
    past = meeting_in(club, -1)
    cancelled = meeting_in(club, 5)
    services.meeting_set_status(meeting=cancelled, status=Meeting.Status.CANCELLED, by=club.secretary.user)
    client = api_as(club.wanjiku.user)
    for meeting in (past, cancelled):
        response = client.post(f"{club.base}/meetings/{meeting.pk}/rsvp/", {"response": "attending"}, format="json")
        assert response.status_code == 400, response.content
        assert "This meeting is no longer taking answers." in str(response.json())
    assert not Rsvp.objects.exists()


# --- the API: the register ------------------------------------------------------------------------


def register_body(club):
    """Wanjiku and the secretary present, Otieno late (14:20, left 16:00), Kamau absent, Achieng
    sent an apology."""
    return {
        "held": True,
        "entries": [
            {"membership": club.wanjiku.pk, "status": "present"},
            {"membership": club.secretary.pk, "status": "present"},
            {
                "membership": club.otieno.pk,
                "status": "late",
                "arrived_at": "14:20",
                "left_at": "16:00",
                "note": "Matatu broke down",
            },
            {"membership": club.kamau.pk, "status": "absent"},
            {"membership": club.achieng.pk, "status": "apology", "note": "Sick"},
        ],
    }


def test_the_secretary_fills_the_register_and_the_fines_follow(club, api_as):
    meeting = meeting_in(club, -1, "Last meeting")
    client = api_as(club.secretary.user)
    url = f"{club.base}/meetings/{meeting.pk}/register/"

    response = client.post(url, register_body(club), format="json")

    assert response.status_code == 200, response.content
    rows = {row["membership"]: row for row in response.json()}
    assert set(rows) == {club.wanjiku.pk, club.secretary.pk, club.otieno.pk, club.kamau.pk, club.achieng.pk}
    assert rows[club.otieno.pk]["status"] == "late" and rows[club.otieno.pk]["arrived_at"] == "14:20:00"
    assert rows[club.otieno.pk]["left_at"] == "16:00:00" and rows[club.otieno.pk]["note"] == "Matatu broke down"
    assert rows[club.kamau.pk]["status"] == "absent" and rows[club.kamau.pk]["arrived_at"] is None
    assert rows[club.achieng.pk]["member_number"] == club.achieng.member_number
    assert rows[club.achieng.pk]["meeting_title"] == "Last meeting"
    assert Meeting.objects.get(pk=meeting.pk).status == Meeting.Status.HELD
    assert Attendance.objects.get(meeting=meeting, membership=club.otieno).arrived_at == time(14, 20)

    # One held meeting: present or late → 1/1 = 100.00; absent → 0/1 = 0.00; an apology is left
    # out (0 of 0 counted) → none yet; a member not on the register → none.
    for who, expected in (
        (club.wanjiku, D("100.00")),
        (club.otieno, D("100.00")),
        (club.kamau, D("0.00")),
        (club.achieng, None),
        (club.chair, None),
    ):
        who.refresh_from_db()
        assert who.attendance_percentage == expected, who

    assert fines(club.kamau) == [D("200.00")]
    assert fines(club.otieno) == [D("50.00")]
    assert fines(club.wanjiku) == [] and fines(club.achieng) == []

    again = client.post(url, register_body(club), format="json")
    assert again.status_code == 200
    assert fines(club.kamau) == [D("200.00")] and fines(club.otieno) == [D("50.00")]  # nothing more
    assert Attendance.objects.filter(meeting=meeting).count() == 5


def test_the_officers_read_the_register(club, api_as):
    meeting = meeting_in(club, -1)
    hold(club, meeting, {club.wanjiku: "present", club.kamau: "absent"})
    response = api_as(club.chair.user).get(f"{club.base}/meetings/{meeting.pk}/register/")
    assert response.status_code == 200
    assert [(row["membership"], row["status"]) for row in response.json()] == [
        (club.wanjiku.pk, "present"),
        (club.kamau.pk, "absent"),
    ]  # by member number


def test_a_meeting_yet_to_start_cannot_be_registered_as_held(club, api_as):
    meeting = meeting_in(club, 2)
    response = api_as(club.secretary.user).post(
        f"{club.base}/meetings/{meeting.pk}/register/", register_body(club), format="json"
    )
    assert response.status_code == 400
    assert "A meeting cannot be held before it starts." in str(response.json())
    assert not Attendance.objects.exists()
    assert fines(club.kamau) == [] and percentage_of(club.wanjiku) is None


def test_a_plain_member_cannot_keep_the_register(club, api_as):
    meeting = meeting_in(club, -1)
    client = api_as(club.wanjiku.user)
    url = f"{club.base}/meetings/{meeting.pk}/register/"
    response = client.post(url, register_body(club), format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == RUN_MEETING_REFUSAL
    assert client.get(url).status_code == 403
    assert not Attendance.objects.exists()
    assert Meeting.objects.get(pk=meeting.pk).status == Meeting.Status.SCHEDULED


def test_a_register_entry_for_another_chamas_member_is_refused(club, other_chama, api_as):
    stranger = MembershipFactory(chama=other_chama, user=UserFactory())
    meeting = meeting_in(club, -1)
    body = register_body(club)
    body["entries"].append({"membership": stranger.pk, "status": "present"})

    response = api_as(club.secretary.user).post(f"{club.base}/meetings/{meeting.pk}/register/", body, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["entries"] == [f"Not members of Umoja: [{stranger.pk}]."]
    assert not Attendance.objects.exists()
    assert not Due.objects.filter(kind=Due.Kind.FINE).exists()
    assert Meeting.objects.get(pk=meeting.pk).status == Meeting.Status.SCHEDULED


def test_a_register_entry_with_an_unknown_status_is_refused(club, api_as):
    meeting = meeting_in(club, -1)
    body = register_body(club)
    body["entries"][0]["status"] = "asleep"
    response = api_as(club.secretary.user).post(f"{club.base}/meetings/{meeting.pk}/register/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"entries": {"0": {"status": ['"asleep" is not a valid choice.']}}}  # the first entry
    assert not Attendance.objects.exists()


def test_a_register_listing_a_member_twice_is_refused_naming_them(club, api_as):
    meeting = meeting_in(club, -1)
    body = register_body(club)
    body["entries"].append({"membership": club.wanjiku.pk, "status": "absent"})  # row 6, Wanjiku again

    response = api_as(club.secretary.user).post(f"{club.base}/meetings/{meeting.pk}/register/", body, format="json")

    assert response.status_code == 400, response.content
    assert response.json() == {"entries": [f"{club.wanjiku} is listed twice (rows 1 and 6); keep one row per member."]}
    assert not Attendance.objects.exists()
    assert Meeting.objects.get(pk=meeting.pk).status == Meeting.Status.SCHEDULED


# --- the API: my attendance ----------------------------------------------------------------------


def test_a_member_sees_only_their_own_attendance_and_share(club, api_as):
    first, second, third = (
        meeting_in(club, -21, "First"),
        meeting_in(club, -14, "Second"),
        meeting_in(club, -7, "Third"),
    )
    club.chama.policy.absence_fine_amount = club.chama.policy.lateness_fine_amount = D("0")
    club.chama.policy.save()
    hold(club, first, {club.wanjiku: "present", club.otieno: "absent"})
    hold(club, second, {club.wanjiku: "late", club.otieno: "present"})
    hold(club, third, {club.wanjiku: "absent", club.otieno: "present"})

    response = api_as(club.wanjiku.user).get(f"{club.base}/my/attendance/")

    assert response.status_code == 200
    body = response.json()
    assert [(row["meeting"], row["status"]) for row in body["results"]] == [
        (third.pk, "absent"),
        (second.pk, "late"),
        (first.pk, "present"),
    ]  # newest first
    assert {row["membership"] for row in body["results"]} == {club.wanjiku.pk}
    assert body["attendance_percentage"] == "66.67"  # present and late of 3 held: 2 × 100 / 3 = 66.666… → 66.67
    assert api_as(club.otieno.user).get(f"{club.base}/my/attendance/").json()["attendance_percentage"] == "66.67"


def test_my_attendance_share_is_null_before_any_meeting_is_held(club, api_as):
    meeting = meeting_in(club, -1)
    hold(club, meeting, {club.wanjiku: "present"}, held=False)  # written down, not yet marked held
    body = api_as(club.wanjiku.user).get(f"{club.base}/my/attendance/").json()
    assert body["attendance_percentage"] is None
    assert [row["status"] for row in body["results"]] == ["present"]
    assert api_as(club.kamau.user).get(f"{club.base}/my/attendance/").json() == {
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
        "attendance_percentage": None,
    }


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("excluded", "50.00"),  # the apology is left out: 1 attended of 2
        ("attended", "66.67"),  # the apology counts as attended: 2 of 3
        ("absent", "33.33"),  # the apology counts as absent: 1 of 3
    ],
)
def test_apologies_count_by_the_policy(club, api_as, rule, expected):
    club.chama.policy.excused_absences = rule
    club.chama.policy.absence_fine_amount = D("0")
    club.chama.policy.save()
    for days, status in ((-21, "present"), (-14, "apology"), (-7, "absent")):
        hold(club, meeting_in(club, days), {club.wanjiku: status})
    body = api_as(club.wanjiku.user).get(f"{club.base}/my/attendance/").json()
    assert body["attendance_percentage"] == expected


# --- the API: proposals and votes -----------------------------------------------------------------


def test_the_secretary_puts_a_proposal_to_a_vote_opening_now(club, api_as):
    now = timezone.now()
    response = api_as(club.secretary.user).post(
        f"{club.base}/proposals/",
        {
            "title": "Buy a tent",
            "description": "For hiring out at weddings.",
            "kind": "expense",
            "opens_at": (now - timedelta(minutes=1)).isoformat(),
            "closes_at": (now + timedelta(days=3)).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    proposal = Proposal.objects.get(pk=response.json()["id"])
    assert proposal.status == Proposal.Status.OPEN
    assert proposal.eligible_count == 7  # the 7 active members; the member who left is not one
    assert proposal.eligible_voters.count() == 7
    assert (proposal.pass_threshold, proposal.quorum_percentage) == ("simple", D("50.00"))
    assert proposal.created_by == club.secretary.user
    body = response.json()
    assert body["tally"] is None and body["result"] == "" and body["my_vote"] is None
    assert (body["status"], body["eligible_count"]) == ("open", 7)


def test_a_plain_member_cannot_put_a_proposal_to_a_vote(club, api_as):
    now = timezone.now()
    response = api_as(club.wanjiku.user).post(
        f"{club.base}/proposals/",
        {"title": "Share out early", "opens_at": now.isoformat(), "closes_at": (now + timedelta(days=3)).isoformat()},
        format="json",
    )
    assert response.status_code == 403
    assert response.json()["detail"] == RUN_MEETING_REFUSAL
    assert not Proposal.objects.exists()


def test_a_proposal_that_opens_later_takes_no_votes_yet(club, api_as):
    now = timezone.now()
    response = api_as(club.secretary.user).post(
        f"{club.base}/proposals/",
        {
            "title": "Build a water tank",
            "opens_at": (now + timedelta(days=1)).isoformat(),
            "closes_at": (now + timedelta(days=4)).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert (response.json()["status"], response.json()["eligible_count"]) == ("scheduled", 0)
    vote = api_as(club.wanjiku.user).post(
        f"{club.base}/proposals/{response.json()['id']}/vote/", {"choice": "yes"}, format="json"
    )
    assert vote.status_code == 400
    assert "Voting on this proposal has not opened yet." in str(vote.json())
    assert not Vote.objects.exists()


def test_a_proposal_must_close_after_it_opens(club, api_as):
    now = timezone.now()
    response = api_as(club.secretary.user).post(
        f"{club.base}/proposals/",
        {"title": "Backwards", "opens_at": now.isoformat(), "closes_at": (now - timedelta(days=1)).isoformat()},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "Voting must close after it opens." in str(response.json())
    assert not Proposal.objects.exists()


def test_a_member_who_joined_after_the_vote_opened_cannot_vote(club, api_as):
    proposal = proposal_open_now(club)
    newcomer = joined(club.chama, first_name="Njeri")
    response = api_as(newcomer.user).post(
        f"{club.base}/proposals/{proposal.pk}/vote/", {"choice": "yes"}, format="json"
    )
    assert response.status_code == 400
    assert "Only members who were active when the vote opened may vote." in str(response.json())
    assert Proposal.objects.get(pk=proposal.pk).eligible_count == 7
    assert not Vote.objects.exists()


def test_a_member_changes_their_vote_and_the_tally_waits_for_the_close(club, api_as):
    proposal = proposal_open_now(club)
    wanjiku = api_as(club.wanjiku.user)
    url = f"{club.base}/proposals/{proposal.pk}/"

    assert wanjiku.post(f"{url}vote/", {"choice": "yes"}, format="json").json() == {"choice": "yes"}
    changed = wanjiku.post(f"{url}vote/", {"choice": "no"}, format="json")
    assert changed.status_code == 200 and changed.json() == {"choice": "no"}
    assert Vote.objects.get(proposal=proposal, membership=club.wanjiku).choice == "no"  # still one vote
    for who, choice in ((club.otieno, "yes"), (club.achieng, "yes"), (club.kamau, "abstain")):
        assert api_as(who.user).post(f"{url}vote/", {"choice": choice}, format="json").status_code == 200

    open_view = wanjiku.get(url).json()
    assert open_view["my_vote"] == "no"
    assert open_view["status"] == "open" and open_view["tally"] is None and open_view["result"] == ""
    listed = results(wanjiku.get(f"{club.base}/proposals/"))
    assert [(row["id"], row["tally"], row["my_vote"]) for row in listed] == [(proposal.pk, None, "no")]

    services.proposal_close(proposal=proposal)

    # 4 votes of 7 eligible: 4 × 100 = 400 ≥ 50 × 7 = 350, a quorum; yes 2 > no 1: passed.
    closed = wanjiku.get(url).json()
    assert closed["status"] == "closed"
    assert closed["tally"] == {"yes": 2, "no": 1, "abstain": 1}
    assert closed["result"] == "passed"
    assert closed["my_vote"] == "no"

    late = api_as(club.chair.user).post(f"{url}vote/", {"choice": "yes"}, format="json")
    assert late.status_code == 400
    assert "Voting on this proposal is closed." in str(late.json())
    assert not Vote.objects.filter(proposal=proposal, membership=club.chair).exists()


def test_the_close_proposals_command_closes_voting_that_has_ended(club, api_as):
    proposal = proposal_open_now(club)
    for who in (club.wanjiku, club.otieno):
        services.vote_cast(proposal=proposal, membership=who, choice="yes")
    end_voting(proposal)

    out = StringIO()
    call_command("close_proposals", stdout=out)
    assert "0 opened, 1 closed." in out.getvalue()

    # 2 votes of 7 eligible: 2 × 100 = 200 < 50 × 7 = 350: no quorum, though both said yes.
    body = api_as(club.wanjiku.user).get(f"{club.base}/proposals/{proposal.pk}/").json()
    assert body["status"] == "closed"
    assert body["tally"] == {"yes": 2, "no": 0, "abstain": 0}
    assert body["result"] == "no_quorum"
    late = api_as(club.kamau.user).post(f"{club.base}/proposals/{proposal.pk}/vote/", {"choice": "yes"}, format="json")
    assert late.status_code == 400 and "Voting on this proposal is closed." in str(late.json())


def test_a_vote_with_an_unknown_choice_is_refused(club, api_as):
    proposal = proposal_open_now(club)
    response = api_as(club.wanjiku.user).post(
        f"{club.base}/proposals/{proposal.pk}/vote/", {"choice": "maybe"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["choice"] == ['"maybe" is not a valid choice.']
    assert not Vote.objects.exists()


def test_another_chamas_member_finds_neither_the_proposal_nor_the_meeting(club, other_chama, api_as):
    proposal = proposal_open_now(club)
    meeting = meeting_in(club, 5)
    outsider = api_as(member(other_chama))
    for base in (club.base, f"/api/v1/chamas/{other_chama.pk}"):
        assert outsider.get(f"{base}/proposals/{proposal.pk}/").status_code == 404
        assert (
            outsider.post(f"{base}/proposals/{proposal.pk}/vote/", {"choice": "yes"}, format="json").status_code == 404
        )
        assert outsider.get(f"{base}/meetings/{meeting.pk}/").status_code == 404
        assert (
            outsider.post(f"{base}/meetings/{meeting.pk}/rsvp/", {"response": "attending"}, format="json").status_code
            == 404
        )
    assert not Vote.objects.exists() and not Rsvp.objects.exists()


# --- the API: the cost of the meeting list --------------------------------------------------------


def busy_meetings(club, count):
    """`count` upcoming meetings, each with two agenda items, a resolution, an action item with an
    owner and two RSVPs."""
    for n in range(count):
        meeting = meeting_in(club, n + 1, agenda=["Minutes", "Contributions"])
        Resolution.objects.create(chama=club.chama, meeting=meeting, text=f"Resolution {n}")
        ActionItem.objects.create(chama=club.chama, meeting=meeting, description=f"Task {n}", owner=club.kamau)
        services.rsvp(meeting=meeting, membership=club.wanjiku, response="attending")
        services.rsvp(meeting=meeting, membership=club.otieno, response="apology", reason="Away")


# Per request: the caller, their roles, the chama, the page's count and rows (5), then one query
# each for agenda, attachments, resolutions, action items, their owners, the owners' users, RSVPs
# and the RSVPs' memberships (8), and the quorum's active members and policy (2): 15, however many
# meetings the page holds.
LIST_QUERIES = 15


@pytest.mark.parametrize("count", [2, 6])
def test_the_meeting_list_costs_the_same_for_few_or_many_meetings(club, api_as, django_assert_max_num_queries, count):
    busy_meetings(club, count)
    client = api_as(club.wanjiku.user)
    with django_assert_max_num_queries(LIST_QUERIES):
        response = client.get(f"{club.base}/meetings/")
    rows = results(response)
    assert len(rows) == count
    assert all(
        len(row["agenda"]) == 2 and len(row["action_items"]) == 1 and row["my_rsvp"] == "attending" for row in rows
    )
    assert all(row["action_items"][0]["owner"] == club.kamau.user.get_full_name() for row in rows)


# --- the admin: meetings -------------------------------------------------------------------------


def changelist_titles(response):
    return sorted(meeting.title for meeting in response.context["cl"].result_list)


def test_the_meeting_changelist_and_its_filters(club, client):
    held = meeting_in(club, -7, "Held one")
    hold(club, held, {club.wanjiku: "present", club.otieno: "late", club.kamau: "present"})
    meeting_in(club, 7, "Next regular")
    meeting_in(club, 14, "Special one", kind=Meeting.Kind.SPECIAL)
    client.force_login(club.secretary.user)
    url = reverse("admin:meetings_meeting_changelist")

    assert changelist_titles(client.get(url)) == ["Held one", "Next regular", "Special one"]
    by_status = client.get(url, {"status": "held"})
    assert by_status.status_code == 200 and changelist_titles(by_status) == ["Held one"]
    assert by_status.context["cl"].result_list[0].present_count == 3  # two present and one late
    by_kind = client.get(url, {"kind": "regular"})
    assert by_kind.status_code == 200 and changelist_titles(by_kind) == ["Held one", "Next regular"]
    by_chama = client.get(url, {"chama__id__exact": club.chama.pk, "kind": "special"})
    assert by_chama.status_code == 200 and changelist_titles(by_chama) == ["Special one"]


def test_the_change_page_shows_the_quorum(club, client):
    short = meeting_in(club, -7, "Short of a quorum")
    hold(club, short, {club.wanjiku: "present", club.otieno: "late", club.kamau: "present", club.achieng: "absent"})
    full = meeting_in(club, -1, "With a quorum")
    hold(club, full, {club.wanjiku: "present", club.otieno: "late", club.kamau: "present", club.chair: "present"})
    client.force_login(club.secretary.user)

    # 7 active members × 50% = 3.5 → 4 needed.
    short_page = client.get(reverse("admin:meetings_meeting_change", args=[short.pk]))
    assert short_page.status_code == 200
    assert "Quorum: 3 present of 4 needed — <strong>not met</strong>." in short_page.content.decode()
    full_page = client.get(reverse("admin:meetings_meeting_change", args=[full.pk])).content.decode()
    assert "Quorum: 4 present of 4 needed — <strong>met</strong>." in full_page
    assert reverse("admin:meetings_meeting_register", args=[full.pk]) in full_page


def test_the_register_page_lists_the_active_members_and_their_apologies(club, client):
    meeting = meeting_in(club, 3)
    services.rsvp(meeting=meeting, membership=club.achieng, response="apology", reason="Hospital visit")
    services.rsvp(meeting=meeting, membership=club.wanjiku, response="attending")
    client.force_login(club.secretary.user)

    response = client.get(reverse("admin:meetings_meeting_register", args=[meeting.pk]))

    assert response.status_code == 200
    lines = {line["membership"].pk: line for line in response.context["lines"]}
    assert set(lines) == {m.pk for m in club.active}  # the member who left is not listed
    assert club.gone.pk not in lines
    assert lines[club.achieng.pk]["status"] == "apology" and lines[club.achieng.pk]["note"] == "Hospital visit"
    assert lines[club.wanjiku.pk]["status"] == "" and lines[club.wanjiku.pk]["apology"] is None
    html = response.content.decode()
    index = [line["membership"] for line in response.context["lines"]].index(club.achieng)
    assert f'name="form-{index}-membership" value="{club.achieng.pk}"' in html and f'value="{club.gone.pk}"' not in html
    assert "(sent an apology)" in html
    assert response.context["may_edit"] is True


def register_form(club, changes=None):
    """The register page's form (a formset, a form per active member by member number): every
    member present, except Wanjiku late (14:20), Otieno absent and Achieng with an apology;
    `changes` ({membership: {field: value}}) replace single fields."""
    lines = {
        club.wanjiku: {"status": "late", "arrived_at": "14:20"},
        club.otieno: {"status": "absent"},
        club.achieng: {"status": "apology", "note": "Sick child"},
    }
    for membership, fields in (changes or {}).items():
        lines[membership] = {**lines.get(membership, {}), **fields}
    members = sorted(club.active, key=lambda m: m.member_number)
    data = {
        "held": "on",
        "form-TOTAL_FORMS": str(len(members)),
        "form-INITIAL_FORMS": str(len(members)),
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
    }
    for index, m in enumerate(members):
        line = {
            "membership": str(m.pk),
            "status": "present",
            "arrived_at": "",
            "left_at": "",
            "note": "",
            **lines.get(m, {}),
        }
        data.update({f"form-{index}-{name}": value for name, value in line.items()})
    return data


def test_saving_the_register_form_holds_the_meeting(club, client):
    meeting = meeting_in(club, -1)
    client.force_login(club.secretary.user)

    response = client.post(reverse("admin:meetings_meeting_register", args=[meeting.pk]), register_form(club))

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:meetings_meeting_change", args=[meeting.pk])
    statuses = dict(Attendance.objects.filter(meeting=meeting).values_list("membership_id", "status"))
    assert len(statuses) == 7
    assert statuses[club.wanjiku.pk] == "late" and statuses[club.otieno.pk] == "absent"
    assert statuses[club.achieng.pk] == "apology" and statuses[club.kamau.pk] == "present"
    late = Attendance.objects.get(meeting=meeting, membership=club.wanjiku)
    assert late.arrived_at == time(14, 20) and late.left_at is None
    assert Attendance.objects.get(meeting=meeting, membership=club.achieng).note == "Sick child"
    assert Meeting.objects.get(pk=meeting.pk).status == Meeting.Status.HELD
    assert fines(club.otieno) == [D("200.00")] and fines(club.wanjiku) == [D("50.00")]
    # 4 present and 1 late of 7 active: 5 ≥ 4, a quorum.
    page = client.get(response["Location"]).content.decode()
    assert "Quorum: 5 present of 4 needed — <strong>met</strong>." in page


def test_correcting_the_register_after_the_fines_points_to_the_fines_to_waive(club, client):
    meeting = meeting_in(club, -1)
    client.force_login(club.secretary.user)
    url = reverse("admin:meetings_meeting_register", args=[meeting.pk])
    client.post(url, register_form(club))

    # Otieno was there after all, and Wanjiku was on time: no new fine, both old ones are listed.
    response = client.post(
        url, register_form(club, {club.otieno: {"status": "present"}, club.wanjiku: {"status": "present"}}), follow=True
    )

    assert fines(club.otieno) == [D("200.00")] and fines(club.wanjiku) == [D("50.00")]
    warning = next(str(m) for m in response.context["messages"] if m.level_tag == "warning")
    otieno_fine = Due.objects.get(membership=club.otieno, kind=Due.Kind.FINE)
    assert f'<a href="{reverse("admin:finance_due_change", args=[otieno_fine.pk])}">' in warning
    assert "Otieno" in warning and "(200.00)" in warning and "(50.00)" in warning


def test_a_bad_time_on_the_register_form_saves_nothing(club, client):
    meeting = meeting_in(club, -1)
    client.force_login(club.secretary.user)

    response = client.post(
        reverse("admin:meetings_meeting_register", args=[meeting.pk]),
        register_form(club, {club.wanjiku: {"arrived_at": "25:99"}}),
    )

    assert response.status_code == 200
    lines = {line["membership"].pk: line for line in response.context["lines"]}
    assert lines[club.wanjiku.pk]["errors"] == ["'25:99' is not a time (e.g. 14:05)."]
    assert all(not line["errors"] for pk, line in lines.items() if pk != club.wanjiku.pk)
    assert "&#x27;25:99&#x27; is not a time (e.g. 14:05)." in response.content.decode()
    assert not Attendance.objects.exists()
    assert Meeting.objects.get(pk=meeting.pk).status == Meeting.Status.SCHEDULED
    assert fines(club.otieno) == []


def test_a_register_form_for_a_meeting_yet_to_start_saves_nothing(club, client):
    meeting = meeting_in(club, 2)
    client.force_login(club.secretary.user)

    response = client.post(reverse("admin:meetings_meeting_register", args=[meeting.pk]), register_form(club))

    assert response.status_code == 200
    assert response.context["errors"] == ["A meeting cannot be held before it starts."]
    assert not Attendance.objects.exists()
    assert Meeting.objects.get(pk=meeting.pk).status == Meeting.Status.SCHEDULED
    assert percentage_of(club.wanjiku) is None


def test_another_chamas_treasurer_cannot_open_the_register(club, other_chama, client):
    meeting = meeting_in(club, -1)
    client.force_login(member(other_chama, Role.TREASURER))
    url = reverse("admin:meetings_meeting_register", args=[meeting.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, register_form(club)).status_code == 404
    assert not Attendance.objects.exists()


def meeting_form(club, days, **fields):
    """The admin's meeting form for a physical regular meeting at 18:00 `days` from today, with
    empty inlines; `fields` replace single fields."""
    starts = timezone.localtime(timezone.now() + timedelta(days=days))
    data = {
        "chama": club.chama.pk,
        "title": "Evening meeting",
        "kind": "regular",
        "format": "physical",
        "location": "",
        "link": "",
        "starts_at_0": starts.strftime("%Y-%m-%d"),
        "starts_at_1": "18:00:00",
        "ends_at_0": "",
        "ends_at_1": "",
        "status": "scheduled",
        "minutes": "",
    }
    for prefix in ("agenda", "resolutions", "action_items", "attachments"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    data.update(fields)
    return data


def test_the_admin_refuses_a_virtual_meeting_without_its_link(club, client):
    client.force_login(club.secretary.user)
    data = meeting_form(club, 5, title="Zoom meeting", format="virtual")

    response = client.post(reverse("admin:meetings_meeting_add"), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["link"] == ["An online or hybrid meeting needs its link."]
    assert not Meeting.objects.exists()

    data["link"] = "https://meet.example.com/umoja"
    saved = client.post(reverse("admin:meetings_meeting_add"), data)
    assert saved.status_code == 302
    assert Meeting.objects.get().link == "https://meet.example.com/umoja"


def test_the_admin_form_cannot_mark_a_meeting_held_before_it_starts(club, client):
    meeting = meeting_in(club, 5, "Next week")
    client.force_login(club.secretary.user)

    added = client.post(reverse("admin:meetings_meeting_add"), meeting_form(club, 5, title="Not yet", status="held"))
    changed = client.post(
        reverse("admin:meetings_meeting_change", args=[meeting.pk]),
        meeting_form(club, 5, title="Next week", status="held"),
    )

    # The rule of meeting_set_status ("A meeting cannot be held before it starts.") holds here too.
    assert added.status_code == 200 and "status" in added.context["adminform"].form.errors
    assert changed.status_code == 200 and "status" in changed.context["adminform"].form.errors
    assert not Meeting.objects.filter(status=Meeting.Status.HELD).exists()


def meeting_change_form(meeting, **fields):
    """The admin's change form of `meeting` as it stands (its chama is not on it), `fields` replaced."""
    starts = timezone.localtime(meeting.starts_at)
    data = {
        "title": meeting.title,
        "kind": meeting.kind,
        "format": meeting.format,
        "location": meeting.location,
        "link": meeting.link,
        "starts_at_0": starts.strftime("%Y-%m-%d"),
        "starts_at_1": starts.strftime("%H:%M:%S"),
        "ends_at_0": "",
        "ends_at_1": "",
        "status": meeting.status,
        "minutes": meeting.minutes,
    }
    for prefix in ("agenda", "resolutions", "action_items", "attachments"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    data.update(fields)
    return data


def test_a_meeting_changed_in_the_admin_keeps_the_services_rules_beside_the_fields(club, client):
    meeting = meeting_in(club, 5, "Next week", location="Hall")
    client.force_login(club.secretary.user)
    url = reverse("admin:meetings_meeting_change", args=[meeting.pk])

    response = client.post(url, meeting_change_form(meeting, format="hybrid", location="Upstairs"))

    # The service's refusal comes back on the form, with what was typed.
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["link"] == ["An online or hybrid meeting needs its link."]
    assert form["location"].value() == "Upstairs"
    assert Meeting.objects.get(pk=meeting.pk).location == "Hall"

    saved = client.post(
        url, meeting_change_form(meeting, format="hybrid", link="https://meet.example.com/umoja", location="Upstairs")
    )

    assert saved.status_code == 302
    meeting.refresh_from_db()
    assert (meeting.format, meeting.link, meeting.location) == ("hybrid", "https://meet.example.com/umoja", "Upstairs")


def test_minutes_written_in_the_admin_are_recorded_as_the_officers(club, client):
    meeting = meeting_in(club, -1, "Last week")
    client.force_login(club.secretary.user)

    response = client.post(
        reverse("admin:meetings_meeting_change", args=[meeting.pk]),
        meeting_change_form(meeting, status="held", minutes="Agreed to buy a tent."),
    )

    assert response.status_code == 302
    meeting.refresh_from_db()
    assert (meeting.status, meeting.minutes, meeting.minutes_recorded_by) == (
        Meeting.Status.HELD,
        "Agreed to buy a tent.",
        club.secretary.user,
    )


def test_a_meeting_held_in_the_past_can_be_added_with_its_minutes(club, client):
    client.force_login(club.secretary.user)

    response = client.post(
        reverse("admin:meetings_meeting_add"),
        meeting_form(club, -3, title="From the paper book", status="held", minutes="Elected officers."),
    )

    assert response.status_code == 302
    meeting = Meeting.objects.get(title="From the paper book")
    assert (meeting.status, meeting.minutes_recorded_by) == (Meeting.Status.HELD, club.secretary.user)


def test_the_meeting_service_asks_the_authority_and_keeps_a_meeting_in_its_chama(club, other_chama):
    meeting = meeting_in(club, 5, "Next week")

    with pytest.raises(authority.Refused):
        services.meeting_update(meeting=meeting, by=club.treasurer.user, title="Moved")
    with pytest.raises(ValidationError):
        services.meeting_update(meeting=meeting, by=club.secretary.user, chama=other_chama)
    with pytest.raises(ValidationError) as held:
        services.meeting_update(meeting=meeting, by=club.secretary.user, status="held")
    assert held.value.message_dict == {"status": ["A meeting cannot be held before it starts."]}

    services.meeting_update(meeting=meeting, by=club.secretary.user, title="Moved", location="Church hall")

    meeting.refresh_from_db()
    assert (meeting.title, meeting.location, meeting.chama) == ("Moved", "Church hall", club.chama)


def test_a_meeting_added_with_its_agenda_and_minutes_attachment_keeps_them_through_the_services(club, client):
    client.force_login(club.secretary.user)
    data = meeting_form(club, -2, title="Last meeting", status="held", minutes="Agreed.")
    data.update(
        {
            "agenda-TOTAL_FORMS": "1",
            "agenda-0-position": "1",
            "agenda-0-title": "Savings",
            "agenda-0-notes": "",
            "attachments-TOTAL_FORMS": "1",
            "attachments-0-title": "Signed minutes",
            "attachments-0-document": SimpleUploadedFile("minutes.pdf", b"%PDF-1.4 minutes"),
        }
    )

    response = client.post(reverse("admin:meetings_meeting_add"), data)

    assert response.status_code == 302
    meeting = Meeting.objects.get(title="Last meeting")
    assert [(a.title, a.chama_id) for a in meeting.agenda.all()] == [("Savings", club.chama.pk)]
    assert [(a.title, a.chama_id) for a in meeting.attachments.all()] == [("Signed minutes", club.chama.pk)]


def test_the_minutes_rows_service_asks_the_authority_and_keeps_rows_in_their_meeting(club, other_chama):
    meeting = meeting_in(club, -1, "Last week")
    other = meeting_in(club, -8, "The week before")
    kept = Resolution.objects.create(chama=club.chama, meeting=other, text="Buy a tent")
    stranger = MembershipFactory(chama=other_chama)
    by = club.secretary.user

    with pytest.raises(authority.Refused):
        services.meeting_records_save(
            meeting=meeting, by=club.treasurer.user, saved=[Resolution(meeting=meeting, text="Buy chairs")]
        )
    with pytest.raises(ValidationError):
        services.meeting_records_save(meeting=meeting, by=by, deleted=[kept])
    with pytest.raises(ValidationError) as owner:
        services.meeting_records_save(
            meeting=meeting, by=by, saved=[ActionItem(meeting=meeting, description="Call", owner=stranger)]
        )
    assert "owner" in owner.value.message_dict

    services.meeting_records_save(
        meeting=meeting, by=by, saved=[ActionItem(meeting=meeting, description="Call", owner=club.wanjiku)]
    )

    assert Resolution.objects.filter(pk=kept.pk, meeting=other).exists()
    assert [(a.description, a.chama_id) for a in meeting.action_items.all()] == [("Call", club.chama.pk)]


# --- the admin: proposals ------------------------------------------------------------------------


def test_the_proposal_changelist_shows_live_vote_counts(club, client):
    tent = proposal_open_now(club, "Buy a tent")
    chairs = proposal_open_now(club, "Buy chairs")
    for who, choice in (
        (club.wanjiku, "yes"),
        (club.otieno, "yes"),
        (club.achieng, "no"),
        (club.kamau, "abstain"),
        (club.chair, "yes"),
    ):
        services.vote_cast(proposal=tent, membership=who, choice=choice)
    services.vote_cast(proposal=chairs, membership=club.kamau, choice="no")
    client.force_login(club.secretary.user)

    response = client.get(reverse("admin:meetings_proposal_changelist"))

    assert response.status_code == 200
    counts = {p.title: (p.yes, p.no, p.abstain) for p in response.context["cl"].result_list}
    assert counts == {"Buy a tent": (3, 1, 1), "Buy chairs": (0, 1, 0)}
    html = response.content.decode()
    assert (
        '<td class="field-live_yes">3</td><td class="field-live_no">1</td><td class="field-live_abstain">1</td>' in html
    )
    assert (
        '<td class="field-live_yes">0</td><td class="field-live_no">1</td><td class="field-live_abstain">0</td>' in html
    )


def test_a_proposal_added_in_the_admin_opens_through_the_service(club, client):
    client.force_login(club.secretary.user)
    opens = timezone.localtime(timezone.now() - timedelta(hours=1))
    closes = opens + timedelta(days=3)

    response = client.post(
        reverse("admin:meetings_proposal_add"),
        {
            "chama": club.chama.pk,
            "title": "Raise contributions to 600",
            "description": "From next month.",
            "kind": "constitution",
            "opens_at_0": opens.strftime("%Y-%m-%d"),
            "opens_at_1": opens.strftime("%H:%M:%S"),
            "closes_at_0": closes.strftime("%Y-%m-%d"),
            "closes_at_1": closes.strftime("%H:%M:%S"),
        },
    )

    assert response.status_code == 302
    proposal = Proposal.objects.get()
    assert proposal.title == "Raise contributions to 600" and proposal.kind == "constitution"
    assert proposal.status == Proposal.Status.OPEN and proposal.eligible_count == 7
    assert proposal.created_by == club.secretary.user
    assert (proposal.pass_threshold, proposal.quorum_percentage) == ("simple", D("50.00"))


def test_the_close_now_action_closes_voting_with_a_result(club, client):
    proposal = proposal_open_now(club)
    # 5 votes of 7: 500 ≥ 350, a quorum; yes 2 < no 3: rejected.
    for who, choice in (
        (club.wanjiku, "yes"),
        (club.otieno, "yes"),
        (club.achieng, "no"),
        (club.kamau, "no"),
        (club.chair, "no"),
    ):
        services.vote_cast(proposal=proposal, membership=who, choice=choice)
    client.force_login(club.secretary.user)

    response = client.post(
        reverse("admin:meetings_proposal_changelist"), {"action": "close_now", "_selected_action": [proposal.pk]}
    )

    assert response.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.CLOSED
    assert (proposal.yes_count, proposal.no_count, proposal.abstain_count) == (2, 3, 0)
    assert proposal.result == Proposal.Result.REJECTED
    messages = [str(m) for m in client.get(reverse("admin:meetings_proposal_changelist")).context["messages"]]
    assert "1 proposal(s) closed." in messages
