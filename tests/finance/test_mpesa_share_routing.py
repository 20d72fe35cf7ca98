"""Where a paybill payment's money goes once it has settled the member's dues: an advance (the
default) or, where the policy says so, whole shares at the share price. Amounts worked out by hand:
shares at KES 200, 1 to 5 a meeting, and KES 300 of dues open (November's contribution)."""

import json
from datetime import date
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.fields.files import FieldFile
from django.urls import reverse

from chama.roles import Role
from finance.models import Account, Due, Entry, Journal, MpesaChannel, MpesaReceipt, SharePurchase
from finance.selectors import savings as savings_reads
from finance.services import dues, mpesa, savings
from finance.services.reconcile import all_drift
from finance.services.reversals import journal_reverse
from groups import services as group_services
from groups.models import Chama, Policy
from tests.factories import ChamaFactory, joined
from tests.helpers import today_is

A = Account.Purpose
SHORTCODE = "600638"
PAID_ON = date(2026, 11, 22)  # the day of the payments' TransTime


@pytest.fixture(autouse=True)
def late_november(clock):
    today_is(date(2026, 11, 30))


def make_chama(kind=Chama.Kind.VSLA, **policy):
    chama = ChamaFactory(
        name="Umoja",
        kind=kind,
        policy={
            "contribution_amount": D("300"),
            "contribution_frequency": "monthly",
            "contribution_due_day": 5,
            "share_price": D("200"),
            "shares_min_per_meeting": 1,
            "shares_max_per_meeting": 5,
            "paybill_remainder": "shares",
            **policy,
        },
    )
    treasurer = joined(chama, Role.TREASURER)
    wanjiku = joined(chama, phone_number="+254712345678")
    dues.contribution_plan_from_policy(chama, start_date=date(2026, 10, 1))
    dues.generate_dues(period=(2026, 11), chama=chama)
    channel = MpesaChannel.objects.create(chama=chama, shortcode=SHORTCODE)
    return chama, channel, treasurer, wanjiku


@pytest.fixture
def umoja(db):
    """A VSLA whose paybill payments buy shares; Wanjiku (M002) owes November's KES 300."""
    return make_chama()


def pay(channel, amount, number="RKTQDM7W6S", reference="M002"):
    payload = {
        "TransactionType": "Pay Bill",
        "TransID": number,
        "TransTime": "20261122063845",
        "TransAmount": amount,
        "BusinessShortCode": SHORTCODE,
        "BillRefNumber": reference,
        "MSISDN": "2547 ***** 126",
        "FirstName": "Wanjiku",
    }
    return mpesa.receive_c2b_callback(channel=channel, payload=json.loads(json.dumps(payload)))


def balance(membership, purpose):
    account = Account.objects.filter(membership=membership, purpose=purpose).first()
    return account.normal_balance if account else D("0.00")


def chama_balance(chama, purpose):
    return Account.objects.get(chama=chama, purpose=purpose, membership__isnull=True).normal_balance


def member_money(membership):
    """(savings, shares, advance, shares held) of the member."""
    return (
        balance(membership, A.MEMBER_SAVINGS),
        balance(membership, A.MEMBER_SHARES),
        balance(membership, A.MEMBER_ADVANCE),
        savings_reads.shares_held(membership=membership),
    )


def entries_of(journal):
    return sorted(
        (entry.account.code.split("-")[0], entry.amount) for entry in journal.entries.select_related("account")
    )


# --- a VSLA whose policy says shares -------------------------------------------------------------


def test_a_payment_settles_the_dues_then_buys_whole_shares_and_keeps_the_rest_as_an_advance(umoja):
    chama, channel, _, wanjiku = umoja

    receipt = pay(channel, "1050.00")

    # 1,050 = 300 to November's due + 3 shares × 200 (600) + 150, too little for a fourth share.
    assert (receipt.status, receipt.membership) == (MpesaReceipt.Status.POSTED, wanjiku)
    journal = receipt.journal
    assert (journal.kind, journal.amount, journal.value_date) == (Journal.Kind.PAYMENT, D("1050.00"), PAID_ON)
    assert entries_of(journal) == [
        ("1020", D("1050.00")),  # M-Pesa in
        ("2000", D("-300.00")),  # the due, into her savings
        ("2100", D("-150.00")),  # advance
        ("3000", D("-600.00")),  # shares
    ]
    assert journal.memo == (
        "M-Pesa RKTQDM7W6S from unknown phone: 300.00 to dues, 3 shares at 200.00 (600.00), 150.00 held as advance"
    )
    assert member_money(wanjiku) == (D("300.00"), D("600.00"), D("150.00"), 3)
    [purchase] = SharePurchase.objects.filter(membership=wanjiku)
    assert (purchase.journal, purchase.shares, purchase.share_price, purchase.value_date) == (
        journal,
        3,
        D("200.00"),
        PAID_ON,
    )
    assert Due.objects.get(membership=wanjiku).status == Due.Status.PAID
    assert chama_balance(chama, A.MOBILE_MONEY) == D("1050.00")
    assert all_drift(chama) == []


def test_a_replay_of_the_transid_buys_nothing_more(umoja):
    chama, channel, _, wanjiku = umoja
    first = pay(channel, "1050.00")
    counts = (Journal.objects.count(), Entry.objects.count(), SharePurchase.objects.count())

    again = pay(channel, "1050.00")

    assert again.pk == first.pk
    assert (Journal.objects.count(), Entry.objects.count(), SharePurchase.objects.count()) == counts
    assert member_money(wanjiku) == (D("300.00"), D("600.00"), D("150.00"), 3)
    assert chama_balance(chama, A.MOBILE_MONEY) == D("1050.00")
    assert all_drift(chama) == []


def test_a_payment_that_just_covers_the_dues_buys_no_shares(umoja):
    _, channel, _, wanjiku = umoja

    receipt = pay(channel, "300")

    assert member_money(wanjiku) == (D("300.00"), D("0.00"), D("0.00"), 0)
    assert not SharePurchase.objects.exists()
    assert receipt.journal.memo == "M-Pesa RKTQDM7W6S from unknown phone: 300.00 to dues"


def test_a_payment_without_dues_open_buys_shares_with_all_of_it(umoja):
    _, channel, _, wanjiku = umoja
    pay(channel, "300", number="RKTQDM7W60")

    receipt = pay(channel, "450", number="RKTQDM7W61")

    # No dues left: 450 = 2 shares (400) + 50 held. Two shares on 22 Nov in all.
    assert receipt.journal.memo.endswith(": 2 shares at 200.00 (400.00), 50.00 held as advance")
    assert member_money(wanjiku) == (D("300.00"), D("400.00"), D("50.00"), 2)


@pytest.mark.parametrize(
    "bought_at_the_meeting, shares, advance",
    [
        (0, 5, D("450.00")),  # 1,450 after the dues would buy 7: the maximum of 5 (1,000), 450 held
        (2, 3, D("850.00")),  # 2 bought at that day's meeting: 3 more (600), 850 held
        (5, 0, D("1450.00")),  # the day's maximum reached: it all waits as an advance
    ],
)
def test_shares_stop_at_the_maximum_per_meeting_of_the_payments_day(umoja, bought_at_the_meeting, shares, advance):
    chama, channel, treasurer, wanjiku = umoja
    if bought_at_the_meeting:
        savings.share_purchase(
            membership=wanjiku, shares=bought_at_the_meeting, method="cash", by=treasurer.user, value_date=PAID_ON
        )

    pay(channel, "1750")

    assert balance(wanjiku, A.MEMBER_ADVANCE) == advance
    assert balance(wanjiku, A.MEMBER_SHARES) == D(200 * (bought_at_the_meeting + shares)).quantize(D("0.01"))
    assert savings_reads.shares_held(membership=wanjiku) == bought_at_the_meeting + shares
    assert all_drift(chama) == []


def test_fewer_shares_than_the_minimum_per_meeting_wait_as_an_advance(db):
    _, channel, _, wanjiku = make_chama(shares_min_per_meeting=2)

    pay(channel, "650")  # 300 to dues; 350 buys one share, below the minimum of 2

    assert member_money(wanjiku) == (D("300.00"), D("0.00"), D("350.00"), 0)


def test_reversing_the_payment_takes_its_shares_back(umoja):
    chama, channel, treasurer, wanjiku = umoja
    receipt = pay(channel, "1050")

    journal_reverse(journal=receipt.journal, reason="Paid to the wrong chama", by=treasurer.user)

    assert member_money(wanjiku) == (D("0.00"), D("0.00"), D("0.00"), 0)
    assert Due.objects.get(membership=wanjiku).status != Due.Status.PAID
    assert all_drift(chama) == []


def test_an_stk_push_payment_is_routed_like_a_paybill_one(umoja):
    _, channel, _, wanjiku = umoja
    fields = {
        "receipt_number": "NLJ7RT61SV",
        "amount": D("1050.00"),
        "phone_number": "+254712345678",
        "payer_msisdn": "254712345678",
        "account_reference": "",
        "payer_name": "",
        "transaction_time": None,
    }

    mpesa.receive(channel=channel, source=MpesaReceipt.Source.STK, fields=fields, payload={}, membership=wanjiku)

    assert member_money(wanjiku) == (D("300.00"), D("600.00"), D("150.00"), 3)


# --- where the policy keeps the advance -------------------------------------------------------------


def test_by_default_the_rest_of_a_payment_waits_as_an_advance(db):
    _, channel, _, wanjiku = make_chama(paybill_remainder="advance")

    receipt = pay(channel, "1050")

    assert member_money(wanjiku) == (D("300.00"), D("0.00"), D("750.00"), 0)
    assert receipt.journal.memo == "M-Pesa RKTQDM7W6S from unknown phone"
    assert Policy._meta.get_field("paybill_remainder").default == Policy.PaybillRemainder.ADVANCE
    assert ChamaFactory(name="Tujenge").policy.paybill_remainder == "advance"


def test_a_chama_that_sells_no_shares_keeps_the_rest_as_an_advance(db):
    _, channel, _, wanjiku = make_chama(kind=Chama.Kind.WELFARE)

    pay(channel, "1050")

    assert member_money(wanjiku) == (D("300.00"), D("0.00"), D("750.00"), 0)


# --- suspense assigned later ----------------------------------------------------------------------


def test_a_receipt_assigned_from_suspense_is_routed_like_a_matched_one(umoja, api_as):
    chama, channel, treasurer, wanjiku = umoja
    receipt = pay(channel, "1050", reference="nobody")
    assert receipt.status == MpesaReceipt.Status.SUSPENSE
    api = api_as(treasurer.user)

    assigned = api.post(
        f"/api/v1/chamas/{chama.pk}/mpesa-receipts/{receipt.pk}/assign/", {"membership": wanjiku.pk}, format="json"
    )
    again = api.post(
        f"/api/v1/chamas/{chama.pk}/mpesa-receipts/{receipt.pk}/assign/", {"membership": wanjiku.pk}, format="json"
    )

    assert assigned.status_code == 200, assigned.content
    assert again.status_code == 400
    receipt.refresh_from_db()
    journal = receipt.assignment_journal
    assert journal.memo == (
        "M-Pesa RKTQDM7W6S assigned from suspense: 300.00 to dues, 3 shares at 200.00 (600.00), 150.00 held as advance"
    )
    assert entries_of(journal) == [
        ("2000", D("-300.00")),
        ("2100", D("-150.00")),
        ("2900", D("1050.00")),
        ("3000", D("-600.00")),
    ]
    # Assigned today (30 Nov): the shares are that day's.
    assert list(SharePurchase.objects.values_list("shares", "value_date")) == [(3, date(2026, 11, 30))]
    assert member_money(wanjiku) == (D("300.00"), D("600.00"), D("150.00"), 3)
    assert chama_balance(chama, A.SUSPENSE) == D("0.00")
    assert all_drift(chama) == []


def test_the_back_office_assignment_takes_the_same_route(umoja, client):
    chama, channel, treasurer, wanjiku = umoja
    receipt = pay(channel, "1050", reference="nobody")
    client.force_login(treasurer.user)

    response = client.post(reverse("admin:finance_mpesareceipt_assign", args=[receipt.pk]), {"membership": wanjiku.pk})

    assert response.status_code == 302
    assert member_money(wanjiku) == (D("300.00"), D("600.00"), D("150.00"), 3)


# --- the policy setting ----------------------------------------------------------------------------


def test_shares_need_a_share_price(db):
    policy = ChamaFactory(policy={"share_price": D("0")}).policy
    policy.paybill_remainder = Policy.PaybillRemainder.SHARES

    with pytest.raises(ValidationError) as refused:
        policy.full_clean()

    assert refused.value.message_dict == {
        "paybill_remainder": ["Set a share price above zero first: M-Pesa payments buy shares at that price."]
    }
    with pytest.raises(ValidationError) as refused:
        group_services.chama_create(
            name="Bila Bei",
            kind=Chama.Kind.VSLA,
            category=Chama.Category.SAVINGS,
            policy={"paybill_remainder": "shares"},
        )
    assert "paybill_remainder" in refused.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        Policy.objects.filter(pk=policy.pk).update(paybill_remainder="shares")  # the database holds the rule too


def change_form_data(page):
    """What the browser sends back for the chama's change form as shown (the policy inline included)."""
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    for each in page.context["inline_admin_formsets"]:
        formset = each.formset
        for name in formset.management_form.fields:
            data[formset.management_form.add_prefix(name)] = formset.management_form[name].value()
        for inline_form in formset.forms:
            for name in inline_form.fields:
                data[inline_form.add_prefix(name)] = inline_form[name].value()
    # An upload is sent only when a new file is picked: the one on record (or none) is left out.
    return {name: "" if value is None else value for name, value in data.items() if not isinstance(value, FieldFile)}


def test_the_back_office_refuses_shares_without_a_price_and_shows_the_setting_under_shares(umoja, client):
    chama, _, treasurer, _ = umoja
    client.force_login(treasurer.user)
    url = reverse("admin:groups_chama_change", args=[chama.pk])
    page = client.get(url)
    [policy_inline] = [each for each in page.context["inline_admin_formsets"] if each.formset.model is Policy]
    [shares_fieldset] = [fieldset for fieldset in policy_inline.fieldsets if fieldset[0] == "Shares"]
    assert "paybill_remainder" in shares_fieldset[1]["fields"]
    data = change_form_data(page)
    data["policy-0-share_price"] = "0"

    response = client.post(url, data)

    assert response.status_code == 200
    [policy_form] = [each.formset.forms[0] for each in response.context["inline_admin_formsets"]]
    assert policy_form.errors["paybill_remainder"] == [
        "Set a share price above zero first: M-Pesa payments buy shares at that price."
    ]
    assert Policy.objects.get(chama=chama).share_price == D("200.00")

    data["policy-0-paybill_remainder"] = "advance"
    assert client.post(url, data).status_code == 302
    assert (Policy.objects.get(chama=chama).share_price, Policy.objects.get(chama=chama).paybill_remainder) == (
        D("0.00"),
        "advance",
    )


def test_the_api_shows_where_paybill_payments_go(umoja, api_as):
    chama, _, _, wanjiku = umoja

    body = api_as(wanjiku.user).get(f"/api/v1/chamas/{chama.pk}/").json()

    assert body["policy"]["paybill_remainder"] == "shares"
