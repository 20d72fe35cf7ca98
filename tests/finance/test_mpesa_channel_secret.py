"""The M-Pesa channel's callback secret: made by the server, shown once (after saving a new channel
or rotating the secret), stored only as a keyed hash, never in the audit log nor in the request logs."""

import json
import logging
from decimal import Decimal as D

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.urls import reverse

from chama import authority
from chama.roles import Role
from finance.log_filters import redact
from finance.models import Journal, MpesaChannel, MpesaReceipt
from finance.models.mpesa import hash_secret
from finance.services import mpesa
from groups.models import SecurityEvent
from tests.factories import ChamaFactory, joined
from tests.finance.test_money_admin import messages_of

C2B = {
    "TransactionType": "Pay Bill",
    "TransID": "RKTQDM7W6S",
    "TransTime": "20261122063845",
    "TransAmount": "1000.00",
    "BusinessShortCode": "600638",
    "BillRefNumber": "M001",
    "MSISDN": "254708374149",
}


@pytest.fixture
def umoja(db, settings):
    settings.MPESA_CALLBACK_BASE_URL = "https://chama.example.co.ke"
    chama = ChamaFactory(name="Umoja")
    treasurer = joined(chama, Role.TREASURER)
    secretary = joined(chama, Role.SECRETARY)
    return chama, treasurer.user, secretary.user


def shown_secret(response):
    """The secret in the one URL the page shows (the last path segment)."""
    [(_, url)] = response.context["rows"]
    return url.rstrip("/").rsplit("/", 1)[1]


def callback(client, chama, secret, body=C2B):
    return client.post(
        f"/api/v1/chamas/{chama.pk}/mpesa/c2b/{secret}/", json.dumps(body), content_type="application/json"
    )


def add_channel(client, chama):
    return client.post(reverse("admin:finance_mpesachannel_add"), {"chama": chama.pk, "shortcode": "600638"})


def test_a_new_channel_shows_its_callback_url_once_and_keeps_only_a_hash(client, umoja):
    chama, treasurer, _ = umoja
    client.force_login(treasurer)

    response = add_channel(client, chama)

    assert response.status_code == 200  # the page itself, not a redirect: the secret never sits in the session
    assert "no-store" in response["Cache-Control"]
    secret = shown_secret(response)
    url = f"https://chama.example.co.ke/api/v1/chamas/{chama.pk}/mpesa/c2b/{secret}/"
    assert url in response.content.decode()
    assert len(secret) >= 43  # 32 random bytes
    channel = MpesaChannel.objects.get(chama=chama)
    assert channel.callback_secret_hash == hash_secret(secret) and secret not in channel.callback_secret_hash
    assert "callback_secret" not in {field.name for field in MpesaChannel._meta.fields}
    assert mpesa.channel_for(chama.pk, secret) == channel

    # The channel's page never shows it again, nor its hash.
    page = client.get(reverse("admin:finance_mpesachannel_change", args=[channel.pk])).content.decode()
    assert secret not in page and channel.callback_secret_hash not in page
    assert f"/api/v1/chamas/{chama.pk}/mpesa/c2b/SECRET/" in page
    assert reverse("admin:finance_mpesachannel_rotate", args=[channel.pk]) in page
    assert callback(client, chama, secret).status_code == 200


def test_rotating_the_secret_shows_the_new_url_once_and_the_old_secret_stops_at_once(client, umoja):
    chama, treasurer, _ = umoja
    joined(chama, Role.MEMBER)  # M003 ...
    channel = MpesaChannel.objects.create(chama=chama, shortcode="600638")
    old = channel.new_secret
    client.force_login(treasurer)
    rotate_url = reverse("admin:finance_mpesachannel_rotate", args=[channel.pk])

    asked = client.get(rotate_url)
    assert asked.status_code == 200 and "Yes, rotate the secret" in asked.content.decode()
    assert mpesa.channel_for(chama.pk, old) == channel  # asking changes nothing

    response = client.post(rotate_url, {"confirm": "yes"})

    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    new = shown_secret(response)
    assert new != old
    assert mpesa.channel_for(chama.pk, old) is None
    assert mpesa.channel_for(chama.pk, new) == channel
    # A callback forged with the old secret, a wrong one or the stored hash posts nothing.
    for forged in (old, "not-the-secret", MpesaChannel.objects.get().callback_secret_hash):
        assert callback(client, chama, forged).status_code == 404
    assert not Journal.objects.exists() and not MpesaReceipt.objects.exists()
    answer = callback(client, chama, new)
    assert answer.json() == {"ResultCode": 0, "ResultDesc": "Accepted"}
    assert MpesaReceipt.objects.get().membership.user == treasurer  # M001
    assert Journal.objects.get().amount == D("1000.00")


def test_the_rotate_secret_action_asks_first_then_rotates_each_selected_channel(client, umoja):
    chama, treasurer, _ = umoja
    channel = MpesaChannel.objects.create(chama=chama, shortcode="600638")
    old = channel.new_secret
    client.force_login(treasurer)
    changelist = reverse("admin:finance_mpesachannel_changelist")

    asked = client.post(changelist, {"action": "rotate_secret", "_selected_action": [channel.pk]})
    assert asked.status_code == 200 and "The current secret stops working at once" in asked.content.decode()
    assert mpesa.channel_for(chama.pk, old) == channel

    response = client.post(changelist, {"action": "rotate_secret", "_selected_action": [channel.pk], "confirm": "yes"})

    new = shown_secret(response)
    assert mpesa.channel_for(chama.pk, old) is None and mpesa.channel_for(chama.pk, new) == channel


def test_an_officer_without_the_right_may_not_rotate(client, umoja):
    chama, _, secretary = umoja
    channel = MpesaChannel.objects.create(chama=chama, shortcode="600638")
    secret = channel.new_secret
    client.force_login(secretary)

    response = client.post(reverse("admin:finance_mpesachannel_rotate", args=[channel.pk]), {"confirm": "yes"})

    assert response.status_code == 302
    assert messages_of(response) == ["Only the chairperson or treasurer of Umoja may set up the M-Pesa channel."]
    changelist = client.get(reverse("admin:finance_mpesachannel_changelist"))
    assert changelist.status_code == 200 and "rotate_secret" not in changelist.content.decode()
    with pytest.raises(authority.Refused):
        mpesa.channel_secret_rotate(channel=channel, by=secretary)
    assert mpesa.channel_for(chama.pk, secret) == channel


def test_the_audit_log_records_who_set_and_rotated_the_secret_but_never_the_secret_or_its_hash(client, umoja):
    chama, treasurer, _ = umoja
    client.force_login(treasurer)
    first = shown_secret(add_channel(client, chama))
    channel = MpesaChannel.objects.get()
    first_hash = channel.callback_secret_hash
    rotated = shown_secret(
        client.post(reverse("admin:finance_mpesachannel_rotate", args=[channel.pk]), {"confirm": "yes"})
    )
    channel.refresh_from_db()

    entries = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(MpesaChannel), object_pk=str(channel.pk)
    )

    assert [(entry.action, entry.actor) for entry in entries.order_by("pk")] == [
        (LogEntry.Action.CREATE, treasurer),
        (LogEntry.Action.UPDATE, treasurer),
    ]
    assert entries.order_by("pk").last().changes["callback_secret_hash"] == ["(hidden)", "(hidden)"]
    stored = " ".join(json.dumps([entry.changes, entry.changes_text, entry.serialized_data]) for entry in entries)
    for secret in (first, first_hash, rotated, channel.callback_secret_hash):
        assert secret not in stored
    # Nor anywhere else in the log (an STK push's own secret is masked the same way).
    assert not LogEntry.objects.filter(changes__icontains=channel.callback_secret_hash).exists()
    # The rotation is a security event of the chama, for its chairperson, with who rotated it.
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.SECRET_ROTATED)
    assert (event.chama_id, event.user) == (chama.pk, treasurer) and rotated not in event.detail


@pytest.mark.django_db(transaction=True)
def test_the_migration_hashes_the_plain_secrets_which_keep_working_and_masks_them_in_the_audit_log():
    chama = ChamaFactory()
    before, after = [("finance", "0007_documents_private")], [("finance", "0008_mpesa_channel_secret_hash")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old_apps = executor.loader.project_state(before).apps
        OldChannel = old_apps.get_model("finance", "MpesaChannel")
        channel = OldChannel.objects.create(
            chama_id=chama.pk, shortcode="600638", callback_secret="plain-secret-from-before"
        )
        content_type = ContentType.objects.get_for_model(MpesaChannel)
        LogEntry.objects.create(
            content_type=content_type,
            object_pk=str(channel.pk),
            object_repr="Paybill 600638",
            action=LogEntry.Action.CREATE,
            changes={"callback_secret": ["None", "plain-secret-from-before"], "shortcode": ["None", "600638"]},
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())

    assert after[0] in MigrationRecorder(connection).applied_migrations()
    assert mpesa.channel_for(chama.pk, "plain-secret-from-before").pk == channel.pk
    entry = LogEntry.objects.get(content_type=content_type)
    assert entry.changes == {"callback_secret": ["", "(hidden)"], "shortcode": ["None", "600638"]}


# --- the request logs ----------------------------------------------------------------------------


def test_a_failing_callback_is_logged_with_its_secret_redacted(client, umoja, caplog):
    chama, *_ = umoja
    secret = MpesaChannel.objects.create(chama=chama, shortcode="600638").new_secret
    caplog.set_level(logging.INFO)

    malformed = client.post(
        f"/api/v1/chamas/{chama.pk}/mpesa/c2b/{secret}/", "{not json", content_type="application/json"
    )
    wrong = callback(client, chama, "a-guess-at-the-secret")

    assert (malformed.status_code, wrong.status_code) == (400, 404)
    logged = [record for record in caplog.records if record.name == "django.request"]
    assert [record.getMessage() for record in logged] == [
        f"Bad Request: /api/v1/chamas/{chama.pk}/mpesa/c2b/***/",
        f"Not Found: /api/v1/chamas/{chama.pk}/mpesa/c2b/***/",
    ]
    assert not any(secret in record.getMessage() or "a-guess" in record.getMessage() for record in caplog.records)


def test_runservers_request_lines_are_redacted_too():
    logger = logging.getLogger("django.server")
    record = logger.makeRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        ("POST /api/v1/chamas/7/mpesa/stk/Zx_9-secret/ HTTP/1.1", 200, 33),
        None,
    )

    assert logger.filter(record)

    assert record.getMessage() == '"POST /api/v1/chamas/7/mpesa/stk/***/ HTTP/1.1" 200 33'


@pytest.mark.parametrize(
    "line, expected",
    [
        ("POST /api/v1/chamas/7/mpesa/c2b/abc-DEF_123/ HTTP/1.1", "POST /api/v1/chamas/7/mpesa/c2b/***/ HTTP/1.1"),
        (
            "POST /api/v1/chamas/7/mpesa/c2b/?secret=abc HTTP/1.1",
            "POST /api/v1/chamas/7/mpesa/c2b/?secret=*** HTTP/1.1",
        ),
        ("POST /api/v1/chamas/7/mpesa/c2b/ HTTP/1.1", "POST /api/v1/chamas/7/mpesa/c2b/ HTTP/1.1"),
        ("GET /api/v1/chamas/7/journals/ HTTP/1.1", "GET /api/v1/chamas/7/journals/ HTTP/1.1"),
    ],
)
def test_redact_hides_the_secret_segment_and_nothing_else(line, expected):
    assert redact(line) == expected


def test_the_retired_query_string_address_is_refused_with_a_pointer_and_posts_nothing(client, umoja):
    chama, *_ = umoja
    secret = MpesaChannel.objects.create(chama=chama, shortcode="600638").new_secret

    response = client.post(
        f"/api/v1/chamas/{chama.pk}/mpesa/c2b/?secret={secret}", json.dumps(C2B), content_type="application/json"
    )

    assert response.status_code == 404
    assert "the secret now goes in the path" in response.json()["detail"]
    assert not MpesaReceipt.objects.exists() and not Journal.objects.exists()
