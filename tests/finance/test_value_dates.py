"""The one rule for value dates, through every door: the API, the back office, M-Pesa and the
commands. Today is 30 Nov 2026 in Umoja (founded 1 Jan 2025; backdating window 31 days)."""

import io
import json
from datetime import date, datetime
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from chama.roles import Role
from finance.models import Due, Expense, Journal, MpesaChannel, MpesaReceipt
from finance.services import books, dues, mpesa, savings
from groups.models import Membership, Policy
from meetings import services as meeting_services
from meetings.models import Meeting
from tests.factories import ChamaFactory, backdating_approved, joined
from tests.helpers import register_data, today_is

NAIROBI = ZoneInfo("Africa/Nairobi")
TODAY = date(2026, 11, 30)
OUTSIDE_THE_WINDOW = (
    "The value date 2026-10-29 is 32 days back; the policy allows 31 days. Ask the chairperson and "
    "a second officer to approve backdating."
)


@pytest.fixture(autouse=True)
def end_of_november(clock):
    today_is(TODAY)


@pytest.fixture
def umoja(db):
    chama = ChamaFactory(
        name="Umoja",
        policy={
            "contribution_amount": D("1000"),
            "contribution_due_day": 5,
            "grace_days": 3,
            "late_fine_amount": D("100"),
        },
    )
    return chama, joined(chama, Role.CHAIRPERSON), joined(chama, Role.TREASURER), joined(chama)


def pay(client, chama, member, day):
    return client.post(
        f"/api/v1/chamas/{chama.pk}/payments/",
        {"membership": member.pk, "amount": "500", "method": "cash", "value_date": day},
        format="json",
    )


# --- the API ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "message"),
    [
        (
            "2027-01-01",
            "The value date 2027-01-01 is in the future: today is 2026-11-30 in Umoja's time zone (Africa/Nairobi).",
        ),
        (
            "2026-12-01",
            "The value date 2026-12-01 is in the future: today is 2026-11-30 in Umoja's time zone (Africa/Nairobi).",
        ),
        ("2024-12-31", "The value date 2024-12-31 is before Umoja started (2025-01-01)."),
        ("2026-10-29", OUTSIDE_THE_WINDOW),
        ("0001-01-01", "Give a date between 1900-01-01 and 2200-12-31."),
        ("9999-12-31", "Give a date between 1900-01-01 and 2200-12-31."),
    ],
)
def test_a_payment_dated_where_the_rule_refuses_is_a_400_on_its_date(umoja, api_as, day, message):
    chama, _, treasurer, member = umoja

    response = pay(api_as(treasurer.user), chama, member, day)

    assert response.status_code == 400
    assert response.json() == {"value_date": [message]}
    assert not Journal.objects.exists()


def test_today_and_the_last_day_of_the_window_post(umoja, api_as):
    chama, _, treasurer, member = umoja
    client = api_as(treasurer.user)

    assert pay(client, chama, member, "2026-11-30").status_code == 201
    assert pay(client, chama, member, "2026-10-30").status_code == 201  # 31 days back

    assert sorted(Journal.objects.values_list("value_date", flat=True)) == [date(2026, 10, 30), TODAY]


def test_an_approval_in_force_lets_money_be_dated_back_to_its_earliest_day_and_no_further(umoja, api_as):
    chama, _, treasurer, member = umoja
    backdating_approved(chama, date(2026, 9, 1))
    backdating_approved(ChamaFactory(name="Tujenge"), date(2026, 1, 1))  # another chama's approval counts for nothing
    client = api_as(treasurer.user)

    assert pay(client, chama, member, "2026-09-01").status_code == 201
    refused = pay(client, chama, member, "2026-08-31")

    assert refused.status_code == 400
    assert refused.json()["value_date"] == [
        "The value date 2026-08-31 is 91 days back; the policy allows 31 days. Ask the chairperson and a second "
        "officer to approve backdating."
    ]


def test_an_expense_waiting_for_a_second_officer_is_judged_on_the_day_it_was_recorded(umoja):
    chama, chair, treasurer, member = umoja
    dues.payment_record(membership=member, amount="20000", method="cash", by=treasurer.user)
    with pytest.raises(ValidationError) as refused:
        books.expense_record(
            chama=chama,
            category="other",
            amount="50",
            description="Tea",
            by=treasurer.user,
            value_date=date(2026, 10, 29),
        )
    assert refused.value.message_dict == {"value_date": [OUTSIDE_THE_WINDOW]}
    # Dated 30 days back and above the threshold (10,000): it waits, nothing is posted.
    pending = books.expense_record(
        chama=chama,
        category="meeting",
        amount="12000",
        description="AGM hall",
        by=treasurer.user,
        value_date=date(2026, 10, 31),
    )
    assert pending.status == Expense.Status.PENDING
    Expense.objects.filter(pk=pending.pk).update(created_date=datetime(2026, 11, 30, 10, 0, tzinfo=NAIROBI))

    # Approved 5 days later (35 days after its value date): still judged on the day it was recorded.
    today_is(date(2026, 12, 5))
    approved = books.cashbook_approve(record=pending, by=chair.user)

    assert (approved.status, approved.journal.value_date) == (Expense.Status.POSTED, date(2026, 10, 31))


# --- the back office -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "message"),
    [
        ("0001-01-01", "Give a date between 1900-01-01 and 2200-12-31."),
        ("9999-12-31", "Give a date between 1900-01-01 and 2200-12-31."),
        (
            "2027-01-01",
            "The value date 2027-01-01 is in the future: today is 2026-11-30 in Umoja's time zone (Africa/Nairobi).",
        ),
        ("2026-10-29", OUTSIDE_THE_WINDOW),
    ],
)
def test_the_record_payment_form_shows_the_date_error_on_its_field(umoja, client, day, message):
    chama, _, treasurer, member = umoja
    client.force_login(treasurer.user)

    response = client.post(
        reverse("admin:finance_journal_record_payment"),
        {
            "membership": member.pk,
            "amount": "500",
            "method": "cash",
            "reference": "",
            "value_date": day,
            "apply_to": "all",
            "memo": "",
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {"value_date": [message]}
    assert not Journal.objects.exists()


@pytest.mark.parametrize(
    ("day", "message"),
    [
        ("0001-01-01", "Give a date between 1900-01-01 and 2200-12-31."),
        ("2026-10-29", OUTSIDE_THE_WINDOW),
    ],
)
def test_the_expense_form_shows_the_date_error_on_its_field(umoja, client, day, message):
    chama, _, treasurer, member = umoja
    dues.payment_record(membership=member, amount="1000", method="cash", by=treasurer.user)
    client.force_login(treasurer.user)

    response = client.post(
        reverse("admin:finance_expense_add"),
        {
            "chama": chama.pk,
            "category": "stationery",
            "amount": "300",
            "description": "Receipt books",
            "paid_through": "cash",
            "value_date": day,
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"value_date": [message]}
    assert not Expense.objects.exists()


def test_the_collection_sheet_refuses_a_meeting_day_in_the_future_once(umoja, client):
    chama, _, treasurer, _ = umoja
    client.force_login(treasurer.user)

    response = client.get(reverse("admin:finance_journal_collection_sheet"), {"chama": chama.pk, "date": "2026-12-05"})

    assert response.status_code == 200 and "sheet" not in response.context
    assert response.context["picker"].errors == {
        "date": [
            "The value date 2026-12-05 is in the future: today is 2026-11-30 in Umoja's time zone (Africa/Nairobi)."
        ]
    }


def test_a_meeting_dated_off_the_calendar_in_the_admin_is_a_form_error(umoja, db, client):
    chama, chair, _, _ = umoja
    client.force_login(chair.user)

    response = client.post(
        reverse("admin:meetings_meeting_add"),
        {
            "chama": chama.pk,
            "title": "AGM",
            "kind": "regular",
            "format": "in_person",
            "starts_at_0": "0001-01-01",
            "starts_at_1": "14:00:00",
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["starts_at"] == ["Give a date between 1900-01-01 and 2200-12-31."]
    assert not Meeting.objects.exists()


def test_a_register_whose_fines_would_be_dated_beyond_the_window_saves_nothing_and_says_why(umoja, client):
    chama, chair, _, member = umoja
    policy = chama.policy
    policy.absence_fine_amount = D("50")
    policy.save()
    meeting = meeting_services.meeting_create(
        chama=chama, by=chair.user, title="October meeting", starts_at=datetime(2026, 10, 20, 14, 0, tzinfo=NAIROBI)
    )
    client.force_login(chair.user)

    url = reverse("admin:meetings_meeting_register", args=[meeting.pk])
    lines = client.get(url).context["lines"]
    response = client.post(
        url,
        register_data(
            lines, {**{line["membership"]: {"status": "present"} for line in lines}, member: {"status": "absent"}}
        ),
    )

    assert response.status_code == 200
    assert response.context["errors"] == [
        "The value date 2026-10-20 is 41 days back; the policy allows 31 days. Ask the chairperson and a second officer "
        "to approve backdating."
    ]
    meeting.refresh_from_db()
    assert (meeting.status, meeting.attendance.count(), Journal.objects.count()) == (Meeting.Status.SCHEDULED, 0, 0)


# --- M-Pesa ----------------------------------------------------------------------------------------


@pytest.fixture
def paybill(umoja):
    chama, *_, member = umoja
    return MpesaChannel.objects.create(chama=chama, shortcode="600638"), member


def receive(channel, member, receipt_number, trans_time):
    payload = {
        "TransID": receipt_number,
        "TransTime": trans_time,
        "TransAmount": "1500.00",
        "BusinessShortCode": "600638",
        "BillRefNumber": member.member_number,
        "MSISDN": "254700000000",
        "FirstName": "John",
        "LastName": "Doe",
    }
    return mpesa.receive(
        channel=channel, source=MpesaReceipt.Source.C2B, fields=mpesa.parse_c2b(payload), payload=payload
    )


def test_an_mpesa_time_in_2099_posts_the_money_dated_the_day_received_and_keeps_the_time(paybill):
    channel, member = paybill

    receipt = receive(channel, member, "RKTQ2099", "20990101093000")

    assert receipt.status == MpesaReceipt.Status.POSTED
    assert receipt.transaction_time == datetime(2099, 1, 1, 9, 30, tzinfo=NAIROBI)
    assert receipt.journal.value_date == TODAY
    assert receipt.journal.memo == (
        "M-Pesa RKTQ2099 from +254700000000; dated the day received, not its M-Pesa time 2099-01-01 09:30 (The value "
        "date 2099-01-01 is in the future: today is 2026-11-30 in Umoja's time zone (Africa/Nairobi).)"
    )


def test_an_mpesa_clock_a_little_ahead_counts_as_today_and_a_past_time_dates_the_money(paybill):
    channel, member = paybill

    ahead = receive(channel, member, "RKTQAHEAD", "20261201001500")  # 15 minutes past our midnight
    earlier = receive(channel, member, "RKTQEARLY", "20261122063845")

    assert (ahead.journal.value_date, earlier.journal.value_date) == (TODAY, date(2026, 11, 22))
    assert "dated the day received" not in ahead.journal.memo + earlier.journal.memo


def test_an_mpesa_time_further_back_than_the_window_dates_the_money_the_day_received(paybill):
    channel, member = paybill

    receipt = receive(channel, member, "RKTQOLD", "20260901120000")

    assert receipt.journal.value_date == TODAY
    assert receipt.transaction_time == datetime(2026, 9, 1, 12, 0, tzinfo=NAIROBI)


@pytest.mark.parametrize("trans_time", ["00010101000000", "99991231235959", "not a time"])
def test_an_mpesa_time_off_the_calendar_is_no_time_and_the_money_still_posts(paybill, trans_time):
    channel, member = paybill

    receipt = receive(channel, member, "RKTQBAD", trans_time)

    assert (receipt.transaction_time, receipt.journal.value_date) == (None, TODAY)
    assert receipt.payload["TransTime"] == trans_time  # what Safaricom sent is kept


# --- the commands -----------------------------------------------------------------------------------


def run(*args):
    call_command(*args, stdout=io.StringIO())


@pytest.mark.parametrize(
    ("day", "message"),
    [
        ("2027-01-01", "2027-01-01 is in the future: today is 2026-11-30 in Umoja's time zone (Africa/Nairobi)."),
        ("0001-01-01", "Give a date between 1900-01-01 and 2200-12-31."),
    ],
)
def test_apply_penalties_on_a_day_the_rule_refuses_stops_with_a_sentence(umoja, day, message):
    chama, *_ = umoja
    dues.contribution_plan_from_policy(chama, start_date=date(2026, 11, 1))
    dues.generate_dues(period=(2026, 11), chama=chama)  # due 5 Nov, late after 8 Nov

    with pytest.raises(CommandError) as refused:
        run("apply_penalties", "--as-of", day)

    assert str(refused.value) == message
    assert not Due.objects.filter(status=Due.Status.OVERDUE).exists() and not Journal.objects.exists()


def test_late_fines_dated_further_back_than_the_window_need_an_approval(umoja):
    chama, *_ = umoja
    dues.contribution_plan_from_policy(chama, start_date=date(2026, 9, 1))
    dues.generate_dues(period=(2026, 9), chama=chama)  # due 5 Sep, late after 8 Sep

    with pytest.raises(CommandError, match="The value date 2026-09-09 is 82 days back; the policy allows 31 days"):
        run("apply_penalties", "--as-of", "2026-09-09")
    assert not Due.objects.filter(kind=Due.Kind.FINE).exists()

    backdating_approved(chama, date(2026, 9, 1))
    run("apply_penalties", "--as-of", "2026-09-09")

    assert Due.objects.filter(kind=Due.Kind.FINE).count() == 3  # chairperson, treasurer and member: 100 each
    assert set(Journal.objects.filter(kind=Journal.Kind.FINE_CHARGE).values_list("value_date", flat=True)) == {
        date(2026, 9, 9)
    }


# --- the window and the chama's start --------------------------------------------------------------


def test_the_policys_window_is_how_far_back_money_may_be_dated(umoja):
    chama, _, treasurer, member = umoja
    policy = chama.policy
    policy.backdating_window_days = 0
    policy.save()

    with pytest.raises(ValidationError, match="The value date 2026-11-29 is 1 days back; the policy allows 0 days"):
        savings.savings_deposit(
            membership=member, amount="100", method="cash", by=treasurer.user, value_date=date(2026, 11, 29)
        )
    savings.savings_deposit(membership=member, amount="100", method="cash", by=treasurer.user, value_date=TODAY)

    policy.backdating_window_days = 31
    policy.save()
    member = Membership.objects.get(pk=member.pk)  # as the next request would load it
    savings.savings_deposit(
        membership=member, amount="100", method="cash", by=treasurer.user, value_date=date(2026, 10, 30)
    )

    assert sorted(Journal.objects.values_list("value_date", flat=True)) == [date(2026, 10, 30), TODAY]


@pytest.mark.parametrize("days", [-1, 32])
def test_the_window_is_31_days_by_default_and_a_policy_may_only_narrow_it(db, days):
    policy = ChamaFactory().policy
    assert policy.backdating_window_days == 31

    policy.backdating_window_days = days
    with pytest.raises(ValidationError) as refused:
        policy.full_clean()
    assert "backdating_window_days" in refused.value.message_dict
    assert Policy._meta.get_field("backdating_window_days").help_text.startswith("Money may be dated at most")


def test_a_chama_without_a_founding_date_starts_the_day_it_was_added(db):
    chama = ChamaFactory(name="Tujenge", founded_date=None)
    treasurer, member = joined(chama, Role.TREASURER), joined(chama)
    added = today_is(chama.created_date.astimezone(NAIROBI).date())

    assert chama.start_date == added
    with pytest.raises(ValidationError) as refused:
        dues.payment_record(
            membership=member,
            amount="100",
            method="cash",
            by=treasurer.user,
            value_date=date.fromordinal(added.toordinal() - 1),
        )
    assert refused.value.messages == [
        f"The value date {date.fromordinal(added.toordinal() - 1)} is before Tujenge started ({added})."
    ]


def test_a_chama_cannot_be_founded_in_the_future(db):
    chama = ChamaFactory()
    chama.founded_date = date(2026, 12, 1)

    with pytest.raises(ValidationError) as refused:
        chama.full_clean()

    assert refused.value.message_dict["founded_date"] == ["A chama cannot be founded in the future."]


def test_the_api_shows_the_policy_window_and_the_founding_date(umoja, api_as):
    chama, *_, member = umoja

    body = api_as(member.user).get(f"/api/v1/chamas/{chama.pk}/").json()

    assert (body["founded_date"], body["policy"]["backdating_window_days"]) == ("2025-01-01", 31)


def test_the_transtime_parser_reads_kenyan_time(db):
    fields = mpesa.parse_c2b(
        json.loads(json.dumps({"TransID": "X1", "TransAmount": "10", "TransTime": "20261122063845"}))
    )
    assert fields["transaction_time"] == datetime(2026, 11, 22, 6, 38, 45, tzinfo=NAIROBI)
