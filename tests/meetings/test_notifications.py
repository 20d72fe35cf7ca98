"""Notifications end to end, against values worked out by hand.

- `chama.notify.notify`: the in-app row at once, email and SMS only after the transaction
  commits (nothing on rollback), each dedupe key once, the person's email/SMS preferences, and a
  failing SMS gateway that must not stop other deliveries nor fail committed work;
- payment receipts from the ledger: payments, savings deposits and share purchases give the payer
  one receipt (amount and receipt number), fines give none, other members get nothing, a
  rolled-back payment sends nothing and a replayed payment sends one receipt only;
- meeting reminders (service and `send_meeting_reminders` command): the 48-hour window, active
  members of the meeting's chama only, once per meeting;
- the regular-meeting scheduler (service and `schedule_meetings` command): dates from the policy,
  the chama's time zone, idempotence, dry run and bad options;
- the `close_proposals` command output;
- the notifications API: listing, unread filter, marking read, read-all, other people's
  notifications, and the notification preferences.
"""

from datetime import date, datetime, time, timedelta
from decimal import Decimal as D
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from chama.models import Notification, NotificationPreference
from chama.notify import notify
from chama.roles import MembershipStatus, Role
from chama.sms import MemoryBackend
from finance.models import Journal
from finance.services import dues as dues_service
from finance.services import savings as savings_service
from groups.models import Chama
from groups.services import membership_change_status
from meetings import services as meeting_services
from meetings.models import Meeting, Proposal
from tests.factories import ChamaFactory, MembershipFactory, UserFactory, member
from tests.helpers import SmsGatewayDownFor, results, today_is

NAIROBI = ZoneInfo("Africa/Nairobi")
LONDON = ZoneInfo("Europe/London")
UTC = ZoneInfo("UTC")
RECEIPT = Notification.Kind.PAYMENT_RECEIPT
REMINDER = Notification.Kind.MEETING_REMINDER


@pytest.fixture(autouse=True)
def sms_outbox():
    MemoryBackend.outbox.clear()
    yield MemoryBackend.outbox
    MemoryBackend.outbox.clear()


@pytest.fixture
def gateway_down_for(settings):
    settings.SMS_BACKEND = "tests.helpers.SmsGatewayDownFor"

    def down_for(user):
        SmsGatewayDownFor.number = str(user.phone_number)

    yield down_for
    SmsGatewayDownFor.number = ""


def sms_to(user):
    return [text for phone, text in MemoryBackend.outbox if phone == str(user.phone_number)]


def emails_to(user, mailoutbox):
    return [message for message in mailoutbox if message.to == [user.email]]


# --- notify() ------------------------------------------------------------------------------------


def test_notify_creates_the_in_app_notification_and_sends_nothing_before_commit(
    plain_member, mailoutbox, sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        notification = notify(plain_member, title="Contributions", body="Pay by the 5th.")

    assert Notification.objects.filter(user=plain_member).count() == 1
    stored = Notification.objects.get(user=plain_member)
    assert stored == notification
    assert (stored.kind, stored.title, stored.body, stored.dedupe_key, stored.read_date, stored.expires_date) == (
        Notification.Kind.GENERAL,
        "Contributions",
        "Pay by the 5th.",
        "",
        None,
        None,
    )
    assert len(callbacks) == 1
    assert mailoutbox == [] and sms_outbox == []


def test_notify_sends_one_email_and_one_sms_when_the_transaction_commits(
    plain_member, mailoutbox, sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notify(plain_member, title="Contributions", body="Pay by the 5th.")
        assert mailoutbox == [] and sms_outbox == []

    assert len(mailoutbox) == 1
    assert (mailoutbox[0].subject, mailoutbox[0].body, mailoutbox[0].to) == (
        "Contributions",
        "Pay by the 5th.",
        [plain_member.email],
    )
    assert sms_outbox == [(str(plain_member.phone_number), "Contributions: Pay by the 5th.")]


def test_long_titles_are_cut_to_150_characters(plain_member):
    notification = notify(plain_member, title="x" * 200, body="Long.")
    notification.refresh_from_db()
    assert notification.title == "x" * 150


@pytest.mark.django_db(transaction=True)
def test_email_and_sms_wait_for_the_real_commit(mailoutbox, sms_outbox):
    person = member(ChamaFactory(name="Umoja"))
    with transaction.atomic():
        notify(person, title="Welcome", body="Welcome to Umoja.")
        assert Notification.objects.filter(user=person).count() == 1
        assert mailoutbox == [] and sms_outbox == []

    assert [message.to for message in mailoutbox] == [[person.email]]
    assert sms_outbox == [(str(person.phone_number), "Welcome: Welcome to Umoja.")]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_notification_is_neither_kept_nor_sent(mailoutbox, sms_outbox):
    person = member(ChamaFactory(name="Umoja"))
    with pytest.raises(RuntimeError), transaction.atomic():
        notify(person, title="Welcome", body="Welcome to Umoja.")
        raise RuntimeError("the admission failed")

    assert Notification.objects.filter(user=person).count() == 0
    assert mailoutbox == [] and sms_outbox == []


def test_a_dedupe_key_is_sent_once_per_person(
    chama, plain_member, mailoutbox, sms_outbox, django_capture_on_commit_callbacks
):
    neighbour = member(chama)
    with django_capture_on_commit_callbacks(execute=True):
        first = notify(plain_member, title="AGM", body="The AGM is on 28 March.", dedupe_key="agm-2026")
        second = notify(plain_member, title="AGM again", body="Reminder.", dedupe_key="agm-2026")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        third = notify(plain_member, title="AGM once more", body="Reminder.", dedupe_key="agm-2026")
        for_neighbour = notify(neighbour, title="AGM", body="The AGM is on 28 March.", dedupe_key="agm-2026")

    assert first is not None and second is None and third is None
    assert for_neighbour is not None
    assert len(callbacks) == 1  # the neighbour's only
    assert list(Notification.objects.filter(user=plain_member).values_list("title", flat=True)) == ["AGM"]
    assert sms_to(plain_member) == ["AGM: The AGM is on 28 March."]
    assert len(emails_to(plain_member, mailoutbox)) == 1
    assert sms_to(neighbour) == ["AGM: The AGM is on 28 March."]


def test_without_a_key_every_call_is_sent(plain_member, sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notify(plain_member, title="Hello", body="One.")
        notify(plain_member, title="Hello", body="One.")

    assert Notification.objects.filter(user=plain_member).count() == 2
    assert sms_to(plain_member) == ["Hello: One.", "Hello: One."]


def test_email_turned_off_sends_the_sms_only(plain_member, mailoutbox, sms_outbox, django_capture_on_commit_callbacks):
    NotificationPreference.objects.create(user=plain_member, email=False)
    with django_capture_on_commit_callbacks(execute=True):
        notify(plain_member, title="Loan approved", body="Your loan of KES 5,000.00 is approved.")

    assert mailoutbox == []
    assert sms_to(plain_member) == ["Loan approved: Your loan of KES 5,000.00 is approved."]
    assert Notification.objects.filter(user=plain_member).count() == 1


def test_sms_turned_off_sends_the_email_only(plain_member, mailoutbox, sms_outbox, django_capture_on_commit_callbacks):
    NotificationPreference.objects.create(user=plain_member, sms=False)
    with django_capture_on_commit_callbacks(execute=True):
        notify(plain_member, title="Loan approved", body="Your loan of KES 5,000.00 is approved.")

    assert sms_outbox == []
    assert [message.to for message in mailoutbox] == [[plain_member.email]]


def test_both_turned_off_keeps_the_in_app_notification_only(
    plain_member, mailoutbox, sms_outbox, django_capture_on_commit_callbacks
):
    NotificationPreference.objects.create(user=plain_member, sms=False, email=False)
    with django_capture_on_commit_callbacks(execute=True):
        notify(plain_member, title="Loan approved", body="Approved.")

    assert sms_outbox == [] and mailoutbox == []
    assert Notification.objects.filter(user=plain_member).count() == 1


def test_a_person_without_email_gets_the_sms_only(chama, mailoutbox, sms_outbox, django_capture_on_commit_callbacks):
    no_email = member(chama, email=None)
    with django_capture_on_commit_callbacks(execute=True):
        notify(no_email, title="Welcome", body="Welcome to Umoja.")

    assert mailoutbox == []
    assert sms_to(no_email) == ["Welcome: Welcome to Umoja."]


@pytest.mark.django_db(transaction=True)
def test_one_failing_sms_does_not_stop_the_other_deliveries(gateway_down_for, mailoutbox, sms_outbox):
    chama = ChamaFactory(name="Umoja")
    amina, baraka = member(chama), member(chama)
    gateway_down_for(amina)

    with transaction.atomic():
        notify(amina, title="AGM", body="The AGM is on 28 March.")
        notify(baraka, title="AGM", body="The AGM is on 28 March.")

    assert sms_to(baraka) == ["AGM: The AGM is on 28 March."]
    assert len(emails_to(baraka, mailoutbox)) == 1


# --- payment receipts ----------------------------------------------------------------------------


@pytest.fixture
def wanjiku(chama):
    return MembershipFactory(chama=chama, user=UserFactory(first_name="Wanjiku", last_name="Kamau"))


def receipts(user):
    return list(Notification.objects.filter(user=user, kind=RECEIPT))


def test_a_payment_sends_the_payer_one_receipt(
    clock, chama, treasurer, plain_member, wanjiku, mailoutbox, sms_outbox, django_capture_on_commit_callbacks
):
    today_is(date(2026, 3, 2))
    with django_capture_on_commit_callbacks(execute=True):
        journal = dues_service.payment_record(
            membership=wanjiku, amount="1500", method="cash", by=treasurer, value_date=date(2026, 3, 2)
        )
        assert sms_outbox == [] and mailoutbox == []

    assert journal.amount == D("1500.00")
    [receipt] = receipts(wanjiku.user)
    assert receipt.title == "Umoja: KES 1,500.00 received"
    assert receipt.body == (
        f"Umoja recorded KES 1,500.00 from you on 02 Mar 2026: Payment by {wanjiku.member_number} (cash). "
        f"Receipt no. {journal.pk}."
    )
    assert receipt.dedupe_key == f"receipt-{journal.pk}"
    assert sms_outbox == [(str(wanjiku.user.phone_number), f"{receipt.title}: {receipt.body}")]
    assert [(message.subject, message.to) for message in mailoutbox] == [(receipt.title, [wanjiku.user.email])]
    assert Notification.objects.exclude(user=wanjiku.user).count() == 0
    assert sms_to(treasurer) == [] and sms_to(plain_member) == []


def test_a_payment_that_settles_dues_is_receipted_in_full(
    clock, treasurer, wanjiku, sms_outbox, django_capture_on_commit_callbacks
):
    chama = wanjiku.chama
    policy = chama.policy
    policy.contribution_amount = D("1000")
    policy.save()
    dues_service.contribution_plan_from_policy(chama, start_date=date(2026, 1, 1))
    dues_service.generate_dues(period=(2026, 1), chama=chama)

    today_is(date(2026, 1, 4))
    with django_capture_on_commit_callbacks(execute=True):
        journal = dues_service.payment_record(
            membership=wanjiku, amount="1250.50", method="mpesa", by=treasurer, value_date=date(2026, 1, 4)
        )

    [receipt] = receipts(wanjiku.user)
    # 1,000 settles January's due and 250.50 is kept as an advance: the receipt is for all 1,250.50.
    assert receipt.title == "Umoja: KES 1,250.50 received"
    assert (
        f"KES 1,250.50 from you on 04 Jan 2026: Payment by {wanjiku.member_number} (mpesa). Receipt no. {journal.pk}."
        in receipt.body
    )
    assert len(sms_to(wanjiku.user)) == 1


def test_a_savings_deposit_sends_a_receipt(clock, treasurer, wanjiku, sms_outbox, django_capture_on_commit_callbacks):
    today_is(date(2026, 3, 9))
    with django_capture_on_commit_callbacks(execute=True):
        journal = savings_service.savings_deposit(
            membership=wanjiku, amount="2000", method="mpesa", by=treasurer, value_date=date(2026, 3, 9)
        )

    [receipt] = receipts(wanjiku.user)
    assert receipt.title == "Umoja: KES 2,000.00 received"
    assert receipt.body == (
        f"Umoja recorded KES 2,000.00 from you on 09 Mar 2026: Regular savings deposit (mpesa). "
        f"Receipt no. {journal.pk}."
    )
    assert sms_to(wanjiku.user) == [f"{receipt.title}: {receipt.body}"]


def test_a_share_purchase_sends_a_receipt(clock, treasurer, wanjiku, sms_outbox, django_capture_on_commit_callbacks):
    policy = wanjiku.chama.policy
    policy.share_price = D("100")
    policy.save()
    today_is(date(2026, 3, 9))
    with django_capture_on_commit_callbacks(execute=True):
        journal = savings_service.share_purchase(
            membership=wanjiku, shares=3, method="cash", by=treasurer, value_date=date(2026, 3, 9)
        )

    [receipt] = receipts(wanjiku.user)
    assert receipt.title == "Umoja: KES 300.00 received"
    assert receipt.body.endswith(f"on 09 Mar 2026: 3 share(s) at 100.00. Receipt no. {journal.pk}.")
    assert len(sms_to(wanjiku.user)) == 1


def test_a_fine_is_not_money_paid_in_and_gets_no_receipt(
    treasurer, wanjiku, mailoutbox, sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        fine = dues_service.fine_charge(
            membership=wanjiku, amount="200", reason="Absent from the March meeting", by=treasurer
        )

    assert fine.amount == D("200.00")
    assert Notification.objects.count() == 0
    assert sms_outbox == [] and mailoutbox == []


def test_each_payer_gets_only_their_own_receipt(
    chama, treasurer, wanjiku, sms_outbox, django_capture_on_commit_callbacks
):
    otieno = MembershipFactory(chama=chama)
    with django_capture_on_commit_callbacks(execute=True):
        first = dues_service.payment_record(membership=wanjiku, amount="1500", method="cash", by=treasurer)
        second = dues_service.payment_record(membership=otieno, amount="700", method="cash", by=treasurer)

    assert [r.dedupe_key for r in receipts(wanjiku.user)] == [f"receipt-{first.pk}"]
    assert [r.dedupe_key for r in receipts(otieno.user)] == [f"receipt-{second.pk}"]
    assert [text.split(":")[1] for text in sms_to(wanjiku.user)] == [" KES 1,500.00 received"]
    assert [text.split(":")[1] for text in sms_to(otieno.user)] == [" KES 700.00 received"]
    assert len(sms_outbox) == 2


@pytest.fixture
def payer(db):
    chama = ChamaFactory(name="Umoja")
    treasurer = member(chama, Role.TREASURER)
    return treasurer, MembershipFactory(chama=chama)


def nothing_sent(membership, mailoutbox):
    return (
        Notification.objects.filter(user=membership.user).count() == 0
        and MemoryBackend.outbox == []
        and mailoutbox == []
    )


@pytest.mark.django_db(transaction=True)
def test_a_payment_that_fails_inside_the_service_sends_no_receipt(payer, monkeypatch, mailoutbox):
    treasurer, wanjiku = payer

    def fail(*args, **kwargs):
        raise RuntimeError("could not allocate the payment")

    monkeypatch.setattr(dues_service, "record_allocations", fail)
    with pytest.raises(RuntimeError):
        dues_service.payment_record(membership=wanjiku, amount="1500", method="cash", by=treasurer)

    assert Journal.objects.filter(membership=wanjiku).count() == 0
    assert nothing_sent(wanjiku, mailoutbox)


@pytest.mark.django_db(transaction=True)
def test_a_payment_rolled_back_by_the_caller_sends_no_receipt(payer, mailoutbox):
    treasurer, wanjiku = payer
    with pytest.raises(RuntimeError), transaction.atomic():
        dues_service.payment_record(membership=wanjiku, amount="1500", method="cash", by=treasurer)
        # The receipt is written when the payment commits (journal_posted): nothing yet.
        assert receipts(wanjiku.user) == []
        assert MemoryBackend.outbox == [] and mailoutbox == []
        raise RuntimeError("the bank slip did not match")

    assert Journal.objects.filter(membership=wanjiku).count() == 0
    assert nothing_sent(wanjiku, mailoutbox)


@pytest.mark.django_db(transaction=True)
def test_a_payment_marked_for_rollback_sends_no_receipt_and_a_later_one_does(payer, mailoutbox):
    treasurer, wanjiku = payer
    with transaction.atomic():
        dues_service.payment_record(membership=wanjiku, amount="1500", method="cash", by=treasurer)
        transaction.set_rollback(True)
    assert nothing_sent(wanjiku, mailoutbox)

    journal = dues_service.payment_record(membership=wanjiku, amount="900", method="cash", by=treasurer)

    assert [(r.title, r.dedupe_key) for r in receipts(wanjiku.user)] == [
        ("Umoja: KES 900.00 received", f"receipt-{journal.pk}")
    ]
    assert len(sms_to(wanjiku.user)) == 1
    assert len(mailoutbox) == 1


def test_a_payment_replayed_with_the_same_idempotency_key_sends_one_receipt(
    treasurer, wanjiku, mailoutbox, sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = dues_service.payment_record(
            membership=wanjiku, amount="1500", method="cash", by=treasurer, idempotency_key="app-7f3c"
        )
    with django_capture_on_commit_callbacks(execute=True):
        again = dues_service.payment_record(
            membership=wanjiku, amount="1500", method="cash", by=treasurer, idempotency_key="app-7f3c"
        )

    assert again.pk == first.pk
    assert Journal.objects.filter(membership=wanjiku).count() == 1
    assert len(receipts(wanjiku.user)) == 1
    assert len(sms_to(wanjiku.user)) == 1
    assert len(mailoutbox) == 1


def test_a_payment_replayed_with_the_same_reference_sends_one_receipt(
    treasurer, wanjiku, mailoutbox, sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = dues_service.payment_record(
            membership=wanjiku, amount="1500", method="mpesa", by=treasurer, reference="QK41XYZ7"
        )
        again = dues_service.payment_record(
            membership=wanjiku, amount="1500", method="mpesa", by=treasurer, reference="QK41XYZ7"
        )
    with django_capture_on_commit_callbacks(execute=True):
        deposit = savings_service.savings_deposit(
            membership=wanjiku, amount="500", method="mpesa", by=treasurer, reference="QK41ABC1"
        )
        deposit_again = savings_service.savings_deposit(
            membership=wanjiku, amount="500", method="mpesa", by=treasurer, reference="QK41ABC1"
        )

    assert (again.pk, deposit_again.pk) == (first.pk, deposit.pk)
    assert sorted(r.dedupe_key for r in receipts(wanjiku.user)) == sorted(
        [f"receipt-{first.pk}", f"receipt-{deposit.pk}"]
    )
    assert len(sms_to(wanjiku.user)) == 2
    assert len(mailoutbox) == 2


@pytest.mark.django_db(transaction=True)
def test_a_failing_sms_does_not_fail_a_committed_payment(payer, gateway_down_for, mailoutbox):
    treasurer, wanjiku = payer
    gateway_down_for(wanjiku.user)

    journal = dues_service.payment_record(membership=wanjiku, amount="1500", method="cash", by=treasurer)

    assert Journal.objects.get(membership=wanjiku) == journal
    assert len(receipts(wanjiku.user)) == 1


# --- meeting reminders ---------------------------------------------------------------------------


@pytest.fixture
def club(chama, secretary):
    """Umoja: the secretary, Amina and Baraka are active, Chebet has left; Tujenge has Daudi."""
    amina = MembershipFactory(chama=chama, user=UserFactory(first_name="Amina"))
    baraka = MembershipFactory(chama=chama, user=UserFactory(first_name="Baraka"))
    chebet = MembershipFactory(chama=chama, user=UserFactory(first_name="Chebet"))
    membership_change_status(membership=chebet, status=MembershipStatus.EXITED, by=secretary, reason="Moved away")
    daudi = MembershipFactory(chama=ChamaFactory(name="Tujenge"), user=UserFactory(first_name="Daudi"))
    return {
        "secretary": secretary,
        "amina": amina.user,
        "baraka": baraka.user,
        "chebet": chebet.user,
        "daudi": daudi.user,
    }


def meeting(chama, secretary, starts_at, title="Monthly meeting", location=""):
    return meeting_services.meeting_create(
        chama=chama, by=secretary, title=title, starts_at=starts_at, location=location
    )


def test_reminders_go_to_active_members_of_meetings_within_48_hours(
    chama, club, sms_outbox, django_capture_on_commit_callbacks
):
    secretary = club["secretary"]
    now = datetime(2030, 3, 5, 10, 0, tzinfo=NAIROBI)
    soon = meeting(chama, secretary, datetime(2030, 3, 6, 17, 30, tzinfo=NAIROBI), "March meeting", "Community hall")
    at_the_edge = meeting(chama, secretary, now + timedelta(hours=48), "Welfare committee")
    too_far = meeting(chama, secretary, now + timedelta(hours=48, minutes=1))
    cancelled = meeting(chama, secretary, now + timedelta(hours=5))
    meeting_services.meeting_set_status(meeting=cancelled, status=Meeting.Status.CANCELLED, by=secretary)
    started = meeting(chama, secretary, now - timedelta(minutes=30))
    elsewhere = meeting(
        Chama.objects.get(name="Tujenge"),
        member(Chama.objects.get(name="Tujenge"), Role.SECRETARY),
        now + timedelta(days=10),
    )

    with django_capture_on_commit_callbacks(execute=True):
        sent = meeting_services.send_meeting_reminders(now=now)

    assert {m.pk for m in sent} == {soon.pk, at_the_edge.pk}
    active = [club["secretary"], club["amina"], club["baraka"]]
    for person in active:
        reminders = Notification.objects.filter(user=person)
        assert sorted(reminders.values_list("dedupe_key", flat=True)) == sorted(
            [f"meeting-reminder-{soon.pk}", f"meeting-reminder-{at_the_edge.pk}"]
        )
        assert set(reminders.values_list("kind", flat=True)) == {REMINDER}
        assert len(sms_to(person)) == 2
    for person in (club["chebet"], club["daudi"]):
        assert Notification.objects.filter(user=person).count() == 0 and sms_to(person) == []
    assert Notification.objects.count() == 6 and len(sms_outbox) == 6

    amina_soon = Notification.objects.get(user=club["amina"], dedupe_key=f"meeting-reminder-{soon.pk}")
    assert amina_soon.title == "Umoja: meeting on Wed 06 Mar, 17:30"
    assert amina_soon.body == (
        "March meeting, Wednesday 06 March 2030 at 17:30, Community hall. Reply in the app if you cannot come."
    )
    amina_edge = Notification.objects.get(user=club["amina"], dedupe_key=f"meeting-reminder-{at_the_edge.pk}")
    assert amina_edge.title == "Umoja: meeting on Thu 07 Mar, 10:00"
    assert amina_edge.body == (
        "Welfare committee, Thursday 07 March 2030 at 10:00, the usual place. Reply in the app if you cannot come."
    )

    reminded = {m.pk: m.reminder_sent_date for m in Meeting.objects.all()}
    assert reminded[soon.pk] == now and reminded[at_the_edge.pk] == now
    assert [reminded[m.pk] for m in (too_far, cancelled, started, elsewhere)] == [None] * 4


def test_reminders_are_sent_once_per_meeting(chama, club, sms_outbox, mailoutbox, django_capture_on_commit_callbacks):
    soon = meeting(chama, club["secretary"], timezone.now() + timedelta(hours=24))

    with django_capture_on_commit_callbacks(execute=True):
        first = meeting_services.send_meeting_reminders()
    with django_capture_on_commit_callbacks(execute=True):
        again = meeting_services.send_meeting_reminders()
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_meeting_reminders", stdout=out)

    assert [m.pk for m in first] == [soon.pk] and again == []
    assert out.getvalue() == "0 meeting(s) reminded.\n"
    assert Notification.objects.filter(kind=REMINDER).count() == 3
    assert len(sms_outbox) == 3 and len(mailoutbox) == 3
    soon.refresh_from_db()
    assert soon.reminder_sent_date is not None


def test_the_reminder_command_reminds_and_reports(chama, club, sms_outbox, django_capture_on_commit_callbacks):
    soon = meeting(chama, club["secretary"], timezone.now() + timedelta(hours=30), "April meeting")
    later = meeting(chama, club["secretary"], timezone.now() + timedelta(hours=60), "Welfare committee")

    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_meeting_reminders", stdout=out)
    assert out.getvalue() == f"Umoja: reminded the members of {soon}\n1 meeting(s) reminded.\n"
    assert len(sms_outbox) == 3

    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_meeting_reminders", "--hours", "72", stdout=out)
    assert out.getvalue() == f"Umoja: reminded the members of {later}\n1 meeting(s) reminded.\n"
    assert len(sms_outbox) == 6

    out = StringIO()
    call_command("send_meeting_reminders", "--hours", "72", stdout=out)
    assert out.getvalue() == "0 meeting(s) reminded.\n"


@pytest.mark.parametrize("hours", ["0", "-5"])
def test_the_reminder_command_refuses_a_window_under_one_hour(db, hours):
    with pytest.raises(CommandError, match="--hours: give at least 1"):
        call_command("send_meeting_reminders", "--hours", hours, stdout=StringIO())


@pytest.mark.django_db(transaction=True)
def test_one_failing_sms_does_not_lose_the_other_members_reminders(gateway_down_for, mailoutbox):
    chama = ChamaFactory(name="Umoja")
    secretary = member(chama, Role.SECRETARY)
    amina, baraka = member(chama), member(chama)
    soon = meeting(chama, secretary, timezone.now() + timedelta(hours=24))
    gateway_down_for(amina)

    sent = meeting_services.send_meeting_reminders()

    assert [m.pk for m in sent] == [soon.pk]
    assert len(sms_to(secretary)) == 1 and len(sms_to(baraka)) == 1
    assert len(emails_to(baraka, mailoutbox)) == 1


# --- scheduling regular meetings -----------------------------------------------------------------


def monthly_chama(name="Pamoja", day=5, at=time(17, 30), minutes=90, **fields):
    return ChamaFactory(
        name=name,
        policy={
            "meeting_frequency": "monthly",
            "meeting_day": day,
            "meeting_time": at,
            "meeting_duration_minutes": minutes,
        },
        **fields,
    )


def local_starts(chama, zone=NAIROBI):
    return [
        m.starts_at.astimezone(zone).replace(tzinfo=None)
        for m in Meeting.objects.filter(chama=chama).order_by("starts_at")
    ]


@pytest.mark.parametrize(
    ("day", "today", "months", "expected"),
    [
        # The 31st is clamped to each month's end; 15 Jan + 3 months ends before 15 Apr.
        (31, date(2026, 1, 15), 3, [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)]),
        # Today's meeting counts; the window ends before the same day three months on.
        (5, date(2026, 3, 5), 3, [date(2026, 3, 5), date(2026, 4, 5), date(2026, 5, 5)]),
        # This month's meeting is past: April, May and June.
        (5, date(2026, 3, 10), 3, [date(2026, 4, 5), date(2026, 5, 5), date(2026, 6, 5)]),
        # A leap year: 29 Feb 2028 exists; 29 Jan is before 30 Jan.
        (29, date(2028, 1, 30), 2, [date(2028, 2, 29), date(2028, 3, 29)]),
        (30, date(2026, 11, 30), 1, [date(2026, 11, 30)]),
    ],
)
def test_schedule_meetings_creates_the_policy_days(db, day, today, months, expected):
    pamoja = monthly_chama(day=day)

    report = meeting_services.schedule_meetings(months=months, chama=pamoja, today=today)

    assert [(each, len(new)) for each, new in report] == [(pamoja, len(expected))]
    assert local_starts(pamoja) == [datetime.combine(d, time(17, 30)) for d in expected]


def test_scheduled_meetings_start_at_the_policy_time_and_last_its_duration(db):
    pamoja = monthly_chama(day=31)

    meeting_services.schedule_meetings(months=3, chama=pamoja, today=date(2026, 1, 15))

    meetings = list(Meeting.objects.filter(chama=pamoja).order_by("starts_at"))
    # 17:30 in Nairobi (UTC+3) is 14:30 UTC; 90 minutes later is 19:00 local.
    assert [m.starts_at.astimezone(UTC) for m in meetings] == [
        datetime(2026, 1, 31, 14, 30, tzinfo=UTC),
        datetime(2026, 2, 28, 14, 30, tzinfo=UTC),
        datetime(2026, 3, 31, 14, 30, tzinfo=UTC),
    ]
    assert [m.ends_at - m.starts_at for m in meetings] == [timedelta(minutes=90)] * 3
    assert [m.title for m in meetings] == [
        "Regular meeting 31 Jan 2026",
        "Regular meeting 28 Feb 2026",
        "Regular meeting 31 Mar 2026",
    ]
    assert {(m.kind, m.status) for m in meetings} == {(Meeting.Kind.REGULAR, Meeting.Status.SCHEDULED)}


def test_scheduled_meetings_are_in_the_chamas_time_zone(db):
    london = monthly_chama(name="Harambee UK", day=5, at=time(18, 0), minutes=120, timezone="Europe/London")

    meeting_services.schedule_meetings(months=2, chama=london, today=date(2026, 3, 1))

    meetings = list(Meeting.objects.filter(chama=london).order_by("starts_at"))
    # 18:00 in London: GMT (UTC) on 5 March, summer time (UTC+1) from 29 March, so 17:00 UTC on 5 April.
    assert [m.starts_at.astimezone(LONDON).replace(tzinfo=None) for m in meetings] == [
        datetime(2026, 3, 5, 18, 0),
        datetime(2026, 4, 5, 18, 0),
    ]
    assert [m.starts_at.astimezone(UTC) for m in meetings] == [
        datetime(2026, 3, 5, 18, 0, tzinfo=UTC),
        datetime(2026, 4, 5, 17, 0, tzinfo=UTC),
    ]


def test_weekly_meetings_fall_on_the_policy_weekday(db):
    weekly = ChamaFactory(
        name="Jumamosi", policy={"meeting_frequency": "weekly", "meeting_day": 6, "meeting_time": time(9, 0)}
    )

    meeting_services.schedule_meetings(months=1, chama=weekly, today=date(2026, 3, 4))

    # Wednesday 4 March to (not including) Saturday 4 April: the four Saturdays of March.
    assert local_starts(weekly) == [datetime(2026, 3, d, 9, 0) for d in (7, 14, 21, 28)]


def test_schedule_meetings_twice_creates_nothing_more(db):
    pamoja = monthly_chama(day=31)
    meeting_services.schedule_meetings(months=3, chama=pamoja, today=date(2026, 1, 15))

    again = meeting_services.schedule_meetings(months=3, chama=pamoja, today=date(2026, 1, 15))
    assert [(each, new) for each, new in again] == [(pamoja, [])]
    assert Meeting.objects.filter(chama=pamoja).count() == 3

    # A month later the window reaches one month further: only 30 April is new.
    later = meeting_services.schedule_meetings(months=3, chama=pamoja, today=date(2026, 2, 1))
    assert [m.starts_at.astimezone(NAIROBI).date() for _, new in later for m in new] == [date(2026, 4, 30)]
    assert Meeting.objects.filter(chama=pamoja).count() == 4


def test_schedule_meetings_dry_run_and_inactive_chamas(db):
    pamoja = monthly_chama(day=5)
    suspended = monthly_chama(name="Dormant", day=5, status=Chama.Status.SUSPENDED)

    dry = meeting_services.schedule_meetings(months=2, today=date(2026, 3, 1), dry_run=True)
    assert [(each, [m.starts_at.astimezone(NAIROBI).date() for m in new]) for each, new in dry] == [
        (pamoja, [date(2026, 3, 5), date(2026, 4, 5)])
    ]
    assert Meeting.objects.count() == 0

    meeting_services.schedule_meetings(months=2, today=date(2026, 3, 1))
    assert Meeting.objects.filter(chama=pamoja).count() == 2
    assert Meeting.objects.filter(chama=suspended).count() == 0


def next_fifths(today, count=3):
    """The 5th of the month from today on (today included), `count` of them."""
    year, month = today.year, today.month + (1 if today.day > 5 else 0)
    days = []
    for _ in range(count):
        if month > 12:
            year, month = year + 1, month - 12
        days.append(date(year, month, 5))
        month += 1
    return days


def test_the_schedule_command_dry_run_creates_nothing_then_creates_once(db):
    pamoja = monthly_chama(day=5)
    expected = next_fifths(timezone.localdate(timezone=NAIROBI))

    out = StringIO()
    call_command("schedule_meetings", "--dry-run", "--chama", str(pamoja.pk), stdout=out)
    assert Meeting.objects.count() == 0
    assert out.getvalue().splitlines()[0] == (
        f"Pamoja: would create 3 meeting(s), {expected[0]:%d %b} to {expected[-1]:%d %b %Y}"
    )
    assert "Dry run: 3 meeting(s)" in out.getvalue()

    out = StringIO()
    call_command("schedule_meetings", "--chama", str(pamoja.pk), stdout=out)
    assert out.getvalue() == (
        f"Pamoja: created 3 meeting(s), {expected[0]:%d %b} to {expected[-1]:%d %b %Y}\n3 meeting(s) created.\n"
    )
    assert local_starts(pamoja) == [datetime.combine(d, time(17, 30)) for d in expected]

    out = StringIO()
    call_command("schedule_meetings", "--chama", str(pamoja.pk), stdout=out)
    assert out.getvalue() == "Pamoja: created 0 meeting(s)\n0 meeting(s) created.\n"
    assert Meeting.objects.count() == 3


@pytest.mark.parametrize("months", ["0", "25"])
def test_the_schedule_command_refuses_months_out_of_range(db, months):
    monthly_chama()
    with pytest.raises(CommandError, match="--months: give 1 to 24"):
        call_command("schedule_meetings", "--months", months, stdout=StringIO())
    assert Meeting.objects.count() == 0


def test_the_schedule_command_refuses_an_unknown_chama(db):
    pamoja = monthly_chama()
    missing = pamoja.pk + 1000
    with pytest.raises(CommandError, match=f"There is no chama with id {missing}"):
        call_command("schedule_meetings", "--chama", str(missing), stdout=StringIO())
    assert Meeting.objects.count() == 0


# --- close_proposals -----------------------------------------------------------------------------


def test_the_close_proposals_command_opens_and_closes(chama, secretary):
    amina, baraka, chebet = (MembershipFactory(chama=chama) for _ in range(3))
    now = timezone.now()
    tent = meeting_services.proposal_create(
        chama=chama,
        by=secretary,
        title="Buy a tent",
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=1),
    )
    for voter, choice in ((amina, "yes"), (baraka, "yes"), (chebet, "no")):
        meeting_services.vote_cast(proposal=tent, membership=voter, choice=choice)
    Proposal.objects.filter(pk=tent.pk).update(closes_at=now - timedelta(minutes=1))
    tank = meeting_services.proposal_create(
        chama=chama,
        by=secretary,
        title="Water tank",
        opens_at=now + timedelta(hours=1),
        closes_at=now + timedelta(days=3),
    )
    assert tank.status == Proposal.Status.SCHEDULED
    Proposal.objects.filter(pk=tank.pk).update(opens_at=now - timedelta(minutes=1))

    out = StringIO()
    call_command("close_proposals", stdout=out)

    # Four eligible (the secretary and three members); 3 votes ≥ 50 % of 4; yes 2 > no 1.
    assert out.getvalue().splitlines() == [
        "Umoja: voting opened on Water tank (4 eligible)",
        "Umoja: Buy a tent — Passed (yes 2, no 1, abstain 0)",
        "1 opened, 1 closed.",
    ]
    tent.refresh_from_db()
    tank.refresh_from_db()
    assert (tent.status, tent.result, tent.yes_count, tent.no_count, tent.abstain_count) == (
        Proposal.Status.CLOSED,
        Proposal.Result.PASSED,
        2,
        1,
        0,
    )
    assert (tank.status, tank.eligible_count, tank.result) == (Proposal.Status.OPEN, 4, "")

    out = StringIO()
    call_command("close_proposals", stdout=out)
    assert out.getvalue() == "0 opened, 0 closed.\n"


def test_the_close_proposals_command_reports_no_quorum(chama, secretary):
    amina, *_ = (MembershipFactory(chama=chama) for _ in range(3))
    now = timezone.now()
    tent = meeting_services.proposal_create(
        chama=chama,
        by=secretary,
        title="Buy a tent",
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=1),
    )
    meeting_services.vote_cast(proposal=tent, membership=amina, choice="yes")
    Proposal.objects.filter(pk=tent.pk).update(closes_at=now - timedelta(minutes=1))

    out = StringIO()
    call_command("close_proposals", stdout=out)

    # 1 vote of 4 eligible is 25 %, under the 50 % quorum.
    assert out.getvalue().splitlines() == [
        "Umoja: Buy a tent — No quorum (yes 1, no 0, abstain 0)",
        "0 opened, 1 closed.",
    ]


# --- the notifications API -----------------------------------------------------------------------


NOTIFICATIONS = "/api/v1/notifications/"
PREFERENCES = "/api/v1/me/notification-preferences/"


@pytest.fixture
def inbox(plain_member, treasurer):
    """Three visible notifications for the member, one expired, and one for the treasurer."""
    rows = {title: notify(plain_member, title=title, body=f"{title} body.") for title in ("First", "Second")}
    rows["Third"] = notify(
        plain_member, title="Third", body="Third body.", expires_date=timezone.now() + timedelta(days=1)
    )
    rows["Old news"] = notify(
        plain_member, title="Old news", body="Gone.", expires_date=timezone.now() - timedelta(minutes=1)
    )
    rows["Not yours"] = notify(treasurer, title="Not yours", body="For the treasurer.")
    return rows


def titles(response):
    return [row["title"] for row in results(response)]


def test_the_list_shows_my_unexpired_notifications_newest_first(api_as, plain_member, inbox):
    response = api_as(plain_member).get(NOTIFICATIONS)

    assert response.status_code == 200
    assert titles(response) == ["Third", "Second", "First"]
    assert response.json()["count"] == 3
    third = results(response)[0]
    assert third["id"] == inbox["Third"].pk
    assert (third["kind"], third["body"], third["read_date"], third["unread"]) == ("general", "Third body.", None, True)
    assert third["expires_date"] is not None


def test_an_expired_or_foreign_notification_cannot_be_read_directly(api_as, plain_member, inbox):
    client = api_as(plain_member)
    assert client.get(f"{NOTIFICATIONS}{inbox['First'].pk}/").status_code == 200
    assert client.get(f"{NOTIFICATIONS}{inbox['Old news'].pk}/").status_code == 404
    assert client.get(f"{NOTIFICATIONS}{inbox['Not yours'].pk}/").status_code == 404


def test_marking_one_read_and_filtering_unread(api_as, plain_member, inbox):
    client = api_as(plain_member)
    second = inbox["Second"]

    response = client.post(f"{NOTIFICATIONS}{second.pk}/read/")
    assert response.status_code == 200
    assert response.json()["unread"] is False and response.json()["read_date"] is not None
    second.refresh_from_db()
    read_at = second.read_date
    assert read_at is not None

    # Reading it again keeps the first time it was read.
    assert client.post(f"{NOTIFICATIONS}{second.pk}/read/").status_code == 200
    second.refresh_from_db()
    assert second.read_date == read_at

    assert titles(client.get(NOTIFICATIONS, {"unread": "true"})) == ["Third", "First"]
    assert titles(client.get(NOTIFICATIONS, {"unread": "1"})) == ["Third", "First"]
    everything = client.get(NOTIFICATIONS)
    assert titles(everything) == ["Third", "Second", "First"]
    assert [row["unread"] for row in results(everything)] == [True, False, True]


def test_read_all_marks_my_visible_unread_notifications(api_as, plain_member, treasurer, inbox):
    client = api_as(plain_member)
    client.post(f"{NOTIFICATIONS}{inbox['First'].pk}/read/")

    response = client.post(f"{NOTIFICATIONS}read-all/")
    assert response.status_code == 200
    assert response.json() == {"marked_read": 2}  # Second and Third; First was read, Old news is expired
    assert client.post(f"{NOTIFICATIONS}read-all/").json() == {"marked_read": 0}
    assert titles(client.get(NOTIFICATIONS, {"unread": "true"})) == []
    assert Notification.objects.get(pk=inbox["Not yours"].pk).read_date is None
    assert Notification.objects.get(pk=inbox["Old news"].pk).read_date is None


def test_another_persons_notification_is_not_found(api_as, plain_member, inbox):
    foreign = inbox["Not yours"]

    response = api_as(plain_member).post(f"{NOTIFICATIONS}{foreign.pk}/read/")

    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.read_date is None


def test_the_notifications_api_needs_a_login(api, inbox):
    assert api.get(NOTIFICATIONS).status_code == 401
    assert api.post(f"{NOTIFICATIONS}read-all/").status_code == 401


def test_preferences_default_to_email_and_sms_and_can_be_changed(
    api_as, plain_member, mailoutbox, sms_outbox, django_capture_on_commit_callbacks
):
    client = api_as(plain_member)
    response = client.get(PREFERENCES)
    assert response.status_code == 200
    assert response.json() == {"email": True, "sms": True}

    response = client.patch(PREFERENCES, {"sms": False}, format="json")
    assert response.status_code == 200
    assert response.json() == {"email": True, "sms": False}
    assert client.get(PREFERENCES).json() == {"email": True, "sms": False}
    stored = NotificationPreference.objects.get(user=plain_member)
    assert (stored.email, stored.sms) == (True, False)

    with django_capture_on_commit_callbacks(execute=True):
        notify(plain_member, title="Contributions", body="Pay by the 5th.")
    assert sms_outbox == []
    assert [message.to for message in mailoutbox] == [[plain_member.email]]


def test_preferences_are_per_person(api_as, plain_member, treasurer):
    api_as(plain_member).patch(PREFERENCES, {"email": False}, format="json")

    assert api_as(treasurer).get(PREFERENCES).json() == {"email": True, "sms": True}
    assert NotificationPreference.objects.get(user=plain_member).email is False
