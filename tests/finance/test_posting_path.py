"""The posting path's cost and its announcement: a payment costs the same statements however many
dues it settles, a collection sheet's statements do not grow with the members' history, and
`journal_posted` is sent once per journal when (and only when) its transaction commits."""

from datetime import date
from decimal import Decimal as D

import pytest
from auditlog.models import LogEntry
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from chama.models import Notification
from chama.roles import Role
from finance.models import Due, Journal
from finance.services import collections
from finance.services import dues as dues_service
from finance.signals import journal_posted
from finance.tasks import send_receipts
from tests.factories import ChamaFactory, joined
from tests.helpers import today_is

pytestmark = pytest.mark.usefixtures("clock")

# What one payment may cost at most: the member's lock, the accounts in one read, the dues in
# one read and one update, the journal, its entries, the balances, the allocations (and the
# locks and checks around them). Counted on SQLite and PostgreSQL alike.
PAYMENT_STATEMENTS = 14


@pytest.fixture
def chama(db):
    """KES 1,000 due monthly on the 5th; dues raised for January to June 2026; today 30 June."""
    chama = ChamaFactory(
        policy={
            "contribution_amount": D("1000"),
            "contribution_frequency": "monthly",
            "contribution_due_day": 5,
            "grace_days": 3,
            "share_price": D("100"),
            "second_approval_threshold": D("1000000"),
        }
    )
    chama.treasurer = joined(chama, Role.TREASURER).user
    dues_service.contribution_plan_from_policy(chama, start_date=date(2026, 1, 1))
    return chama


def raise_dues(chama, months):
    for month in months:
        dues_service.generate_dues(period=(2026, month), chama=chama)


def pay(chama, membership, amount, **options):
    return dues_service.payment_record(
        membership=membership, amount=D(amount), method="cash", by=chama.treasurer, **options
    )


def statements(work):
    with CaptureQueriesContext(connection) as captured:
        work()
    return len(captured.captured_queries)


def test_a_payment_settling_five_dues_costs_the_statements_of_one_settling_one(chama, django_assert_max_num_queries):
    today_is(date(2026, 1, 6))
    one, five = joined(chama), joined(chama)
    raise_dues(chama, [1])
    pay(chama, one, "1000")  # both have paid before: their accounts exist
    pay(chama, five, "1000")
    today_is(date(2026, 6, 30))
    raise_dues(chama, range(2, 7))

    with django_assert_max_num_queries(PAYMENT_STATEMENTS):
        settling_one = statements(lambda: pay(chama, one, "1000"))
    settling_five = statements(lambda: pay(chama, five, "5000"))

    assert settling_one == settling_five
    assert Due.objects.filter(membership=one, status=Due.Status.PAID).count() == 2
    assert Due.objects.filter(membership=five, status=Due.Status.PAID).count() == 6


def test_a_payment_to_a_member_who_owes_nothing_is_no_dearer(chama, django_assert_max_num_queries):
    today_is(date(2026, 6, 30))
    member = joined(chama)
    pay(chama, member, "500")

    with django_assert_max_num_queries(PAYMENT_STATEMENTS):
        pay(chama, member, "500")


def sheet_statements(chama, members):
    rows = [{"membership": m.pk, "contribution": D("1000"), "shares": 1, "fines": D("100")} for m in members]
    with CaptureQueriesContext(connection) as captured:
        result = collections.collection_sheet_post(
            chama=chama, day=chama.today(), rows=rows, method="cash", by=chama.treasurer
        )
    assert len(result.journals) == 3 * len(members)
    return len(captured.captured_queries)


def test_a_collection_sheets_statements_do_not_grow_with_the_members_history(chama):
    today_is(date(2026, 1, 6))
    new = [joined(chama) for _ in range(3)]
    old = [joined(chama) for _ in range(3)]
    raise_dues(chama, [1])
    sheet_statements(chama, [*new, *old])  # every member's accounts are opened alike
    for month in range(2, 7):  # the old members pay every month but June; the new ones owe five months
        today_is(date(2026, month, 6))
        raise_dues(chama, [month])
        for membership in old if month < 6 else []:
            for _ in range(4):
                pay(chama, membership, "250")
    today_is(date(2026, 6, 30))

    assert sheet_statements(chama, new) == sheet_statements(chama, old)


# --- journal_posted ----------------------------------------------------------------------------


@pytest.fixture
def posted():
    journals = []

    def listen(sender, journal, **kwargs):
        journals.append((sender, journal.pk))

    journal_posted.connect(listen, dispatch_uid="test.posted")
    yield journals
    journal_posted.disconnect(dispatch_uid="test.posted")


def test_journal_posted_is_sent_once_per_journal_when_it_commits(
    chama, posted, django_capture_on_commit_callbacks, mailoutbox
):
    today_is(date(2026, 6, 30))
    wanjiku = joined(chama)
    with django_capture_on_commit_callbacks(execute=True):
        journal = pay(chama, wanjiku, "1500")
        assert posted == []  # not before the commit
        replay = pay(chama, wanjiku, "1500")  # no key: a second payment
        assert Notification.objects.filter(user=wanjiku.user).count() == 0

    assert posted == [(Journal, journal.pk), (Journal, replay.pk)]
    receipts = Notification.objects.filter(user=wanjiku.user, kind=Notification.Kind.PAYMENT_RECEIPT)
    assert sorted(receipts.values_list("dedupe_key", flat=True)) == sorted(
        [f"receipt-{journal.pk}", f"receipt-{replay.pk}"]
    )
    assert [message.to for message in mailoutbox] == [[wanjiku.user.email]] * 2


def test_a_replayed_payment_is_not_announced_again(chama, posted, django_capture_on_commit_callbacks):
    today_is(date(2026, 6, 30))
    wanjiku = joined(chama)
    with django_capture_on_commit_callbacks(execute=True):
        first = pay(chama, wanjiku, "1500", idempotency_key="app-1")
    with django_capture_on_commit_callbacks(execute=True):
        again = pay(chama, wanjiku, "1500", idempotency_key="app-1")

    assert again.pk == first.pk
    assert posted == [(Journal, first.pk)]


def test_journal_posted_is_not_sent_for_a_journal_rolled_back(chama, posted, django_capture_on_commit_callbacks):
    today_is(date(2026, 6, 30))
    wanjiku = joined(chama)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            pay(chama, wanjiku, "1500")
            transaction.set_rollback(True)
        kept = pay(chama, wanjiku, "700")

    assert posted == [(Journal, kept.pk)]
    assert list(Notification.objects.filter(user=wanjiku.user).values_list("dedupe_key", flat=True)) == [
        f"receipt-{kept.pk}"
    ]


def test_a_receiver_that_fails_does_not_stop_the_receipt(chama, django_capture_on_commit_callbacks):
    today_is(date(2026, 6, 30))
    wanjiku = joined(chama)

    def broken(sender, journal, **kwargs):
        raise RuntimeError("a derived cache is down")

    journal_posted.connect(broken, dispatch_uid="test.broken")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            journal = pay(chama, wanjiku, "1500")
    finally:
        journal_posted.disconnect(dispatch_uid="test.broken")

    assert Notification.objects.get(user=wanjiku.user).dedupe_key == f"receipt-{journal.pk}"


def test_the_receipt_is_queued_and_written_by_the_worker(chama, settings, django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    today_is(date(2026, 6, 30))
    wanjiku = joined(chama)
    with django_capture_on_commit_callbacks(execute=True):
        journal = pay(chama, wanjiku, "1500")

    queued = DBTaskResult.objects.get()
    assert (queued.task_path, queued.args_kwargs) == (
        "finance.tasks.send_receipts",
        {"args": [[journal.pk]], "kwargs": {}},
    )
    assert not Notification.objects.filter(user=wanjiku.user).exists()  # nothing written inside the request

    assert send_receipts.call([journal.pk]) == 1
    assert send_receipts.call([journal.pk]) == 0  # a task run twice still writes one receipt

    receipt = Notification.objects.get(user=wanjiku.user)
    assert (receipt.kind, receipt.dedupe_key) == (Notification.Kind.PAYMENT_RECEIPT, f"receipt-{journal.pk}")
    assert receipt.title == f"{chama.name}: KES 1,500.00 received"
    assert f"Receipt no. {journal.pk}." in receipt.body


def test_a_queue_that_cannot_take_the_receipt_gets_it_written_at_once(
    chama, settings, django_capture_on_commit_callbacks, caplog
):
    today_is(date(2026, 6, 30))
    wanjiku = joined(chama)
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/5"}}  # nothing answers there
    with django_capture_on_commit_callbacks(execute=True):
        journal = pay(chama, wanjiku, "1500")

    assert Notification.objects.get(user=wanjiku.user).dedupe_key == f"receipt-{journal.pk}"
    assert f"Could not queue the receipts of journals [{journal.pk}]" in caplog.text


def test_a_payment_is_audited_by_its_journal_and_the_register_still_by_the_audit_log(
    chama, django_capture_on_commit_callbacks
):
    today_is(date(2026, 1, 6))
    wanjiku = joined(chama)
    raise_dues(chama, [1])
    with django_capture_on_commit_callbacks(execute=True):
        journal = pay(chama, wanjiku, "1500")

    money = ["journal", "entry", "dueallocation", "due"]
    assert not LogEntry.objects.filter(content_type__app_label="finance", content_type__model__in=money).exists()
    assert not LogEntry.objects.filter(content_type__app_label="chama", content_type__model="notification").exists()
    assert Notification.objects.filter(user=wanjiku.user).count() == 1
    # Who did what is on the journal itself.
    assert (journal.created_by, journal.created_date is not None) == (chama.treasurer, True)
    assert LogEntry.objects.get_for_object(wanjiku).filter(action=LogEntry.Action.CREATE).exists()


def test_a_collection_sheet_writes_its_entries_in_one_insert_and_its_balances_in_one_update(chama):
    from itertools import accumulate

    from finance.models import Account, Entry
    from finance.services import ledger, reconcile

    today_is(date(2026, 1, 6))
    members = [joined(chama) for _ in range(3)]
    raise_dues(chama, [1])
    sheet_statements(chama, members)  # the first meeting opens the members' accounts
    today_is(date(2026, 2, 6))
    raise_dues(chama, [2])
    rows = [{"membership": m.pk, "contribution": D("1000"), "shares": 1, "fines": D("100")} for m in members]

    with CaptureQueriesContext(connection) as captured:
        collections.collection_sheet_post(chama=chama, day=chama.today(), rows=rows, method="cash", by=chama.treasurer)

    sql = [query["sql"] for query in captured.captured_queries]
    assert sum(statement.startswith('INSERT INTO "finance_entry"') for statement in sql) == 1
    assert sum(statement.startswith('UPDATE "finance_account"') for statement in sql) == 1
    # By hand: each meeting, each of 3 members hands in 1,000 + a 100 share + 100 of fines.
    cash = ledger.chama_account(chama, Account.Purpose.CASH)
    cash.refresh_from_db()
    assert cash.balance == D("7200.00")
    running = list(Entry.objects.filter(account=cash).order_by("id").values_list("amount", "balance_after"))
    assert len(running) == 18
    assert [after for _, after in running] == list(accumulate(amount for amount, _ in running))
    assert reconcile.account_drift(chama) == [] and reconcile.unbalanced_journal_ids(chama) == []


@pytest.mark.django_db(transaction=True)
def test_a_collection_sheets_receipts_are_queued_as_one_task(settings):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    chama = ChamaFactory(policy={"contribution_amount": D("1000"), "share_price": D("100")})
    treasurer = joined(chama, Role.TREASURER).user
    members = [joined(chama) for _ in range(3)]
    rows = [{"membership": m.pk, "contribution": D("1000"), "shares": 1, "fines": D("100")} for m in members]

    result = collections.collection_sheet_post(chama=chama, day=chama.today(), rows=rows, method="cash", by=treasurer)

    queued = DBTaskResult.objects.get()  # committed: one push to the queue for the whole sheet
    assert queued.task_path == "finance.tasks.send_receipts"
    assert sorted(queued.args_kwargs["args"][0]) == sorted(journal.pk for journal in result.journals)
    assert len(result.journals) == 9  # three members × contribution, share and fines
    assert send_receipts.call(queued.args_kwargs["args"][0]) == 9
    assert Notification.objects.filter(kind=Notification.Kind.PAYMENT_RECEIPT).count() == 9
