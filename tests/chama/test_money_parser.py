"""The one money parser: what people and M-Pesa may send as an amount, and every door it guards —
the API, the admin's forms, the collection sheet and the M-Pesa callback. Whatever falls outside
"ASCII digits, an optional dot, one or two decimals, at most MAX_AMOUNT" is a clear refusal, never a
silent reading (Decimal() takes "1e3", "1_000", "+5", ".5" and other scripts' digits) nor a 500."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from chama.money import MAX_AMOUNT, MoneyFormField, parse_money
from finance.models import Expense, Journal, MpesaChannel, MpesaReceipt
from tests.finance.test_money_admin import as_treasurer, open_sheet, payment_data, posting_counts, sheet_url, w  # noqa: F401
from tests.finance.test_money_api import books, pay  # noqa: F401
from tests.helpers import sheet_data

# Decimal() reads each of these as a number; the parser must not.
NOT_AMOUNTS = [
    "1e3",
    "1E3",
    "1_000",
    "+5",
    "-5",
    ".5",
    "5.",
    "١٠٠",
    "１００",
    "१००",
    "1.005",
    "NaN",
    "Infinity",
    "0x10",
    "1,50",
    "1 000",
    "",
    " ",
    "5..0",
    "1.2.3",
    "٥.٠٠",
    "\u200b5",
]
TOO_LARGE = [str(MAX_AMOUNT + D("0.01")), "999999999999.99", "1000000000000", "9" * 40]

amounts = st.decimals(min_value=0, max_value=MAX_AMOUNT, places=2, allow_nan=False, allow_infinity=False)


# --- the parser ------------------------------------------------------------------------------------


@given(amounts)
def test_every_amount_in_range_reads_back_as_itself(amount):
    assert parse_money(format(amount, ".2f")) == amount
    assert parse_money(format(amount, "f")) == amount  # "1500", "1500.5" as typed


@given(st.text(alphabet="0123456789", min_size=1, max_size=10), st.text(alphabet="0123456789", max_size=2))
def test_ascii_digits_with_up_to_two_decimals_are_accepted(whole, cents):
    text = f"{whole}.{cents}" if cents else whole
    assert parse_money(text) == D(text)


@given(st.text(max_size=16))
def test_anything_outside_the_grammar_is_refused(text):
    stripped = text.strip()
    whole, _, cents = stripped.partition(".")
    in_grammar = (
        whole.isascii()
        and whole.isdigit()
        and (cents == "" and "." not in stripped or (cents.isascii() and cents.isdigit() and len(cents) <= 2))
    )
    if in_grammar and D(stripped) <= MAX_AMOUNT:
        assert parse_money(text) == D(stripped)
    else:
        with pytest.raises(ValidationError):
            parse_money(text)


PREFIXES = ["+", "-", ".", "_", "0x", "e", "\u0660", "\uff10", "KES "]
SUFFIXES = ["e0", "E+0", "_0", "0", "1", ".", ",", "\u0660", "\uff10", "%"]


@given(
    amounts,
    st.one_of(st.tuples(st.sampled_from(PREFIXES), st.just("")), st.tuples(st.just(""), st.sampled_from(SUFFIXES))),
)
def test_an_amount_with_a_sign_exponent_third_decimal_or_foreign_mark_is_refused(amount, marks):
    prefix, suffix = marks
    with pytest.raises(ValidationError):
        parse_money(prefix + format(amount, ".2f") + suffix)


@given(
    st.text(
        alphabet="\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"
        "\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19\u0966\u0967\u0968",
        min_size=1,
        max_size=8,
    )
)
def test_digits_of_other_scripts_are_refused(text):
    with pytest.raises(ValidationError):
        parse_money(text)


@given(
    st.decimals(
        min_value=MAX_AMOUNT + D("0.01"), max_value=D(10) ** 30, places=2, allow_nan=False, allow_infinity=False
    )
)
def test_amounts_above_the_maximum_are_refused_with_the_maximum_named(amount):
    with pytest.raises(ValidationError) as caught:
        parse_money(format(amount, ".2f"))
    assert "largest amount accepted is 9,999,999,999.99" in caught.value.messages[0]


@pytest.mark.parametrize("text", NOT_AMOUNTS)
def test_strings_decimal_would_take_are_refused(text):
    with pytest.raises(ValidationError) as caught:
        parse_money(text)
    assert "is not an amount" in caught.value.messages[0]


def test_the_maximum_leaves_the_columns_room_for_balances():
    assert D("9999999999.99") == MAX_AMOUNT
    assert parse_money("9999999999.99") == MAX_AMOUNT
    for text in TOO_LARGE:
        with pytest.raises(ValidationError, match="too large"):
            parse_money(text)


def test_surrounding_spaces_are_forgiven_and_thousands_commas_only_where_asked():
    assert parse_money(" 1500.5 \n") == D("1500.50")
    assert parse_money("1,500.00", grouping=True) == D("1500.00")
    assert parse_money("1,234,567", grouping=True) == D("1234567")
    for text in ["1,500.00", "1,5,00"]:
        with pytest.raises(ValidationError):
            parse_money(text, grouping=text == "1,5,00")


def test_a_model_money_column_gets_the_strict_form_field():
    field = Expense._meta.get_field("amount").formfield()
    assert isinstance(field, MoneyFormField)
    assert field.clean("1,500.50") == D("1500.50")
    with pytest.raises(ValidationError):
        field.clean("1e3")


# --- the API ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["1e3", "1_000", "+5", ".5", "١٠٠", "１００", "999999999999.99"])
def test_api_payment_with_an_amount_decimal_would_take_is_a_400_on_amount(books, api_as, amount):  # noqa: F811
    chama, treasurer, _, wanjiku = books
    client = api_as(treasurer.user)

    response = pay(client, chama, wanjiku, amount=amount)
    deposit = client.post(
        f"/api/v1/chamas/{chama.pk}/deposits/",
        {"membership": wanjiku.pk, "amount": amount, "method": "cash"},
        format="json",
    )

    for answer in (response, deposit):
        assert answer.status_code == 400, answer.content
        assert list(answer.json()) == ["amount"]
        assert "amount" in answer.json()["amount"][0]
    assert Journal.objects.count() == 0


# --- the admin -------------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["1e3", "+5", ".5", "１００", "999999999999.99"])
def test_admin_record_payment_shows_the_parsers_sentence(as_treasurer, w, amount):  # noqa: F811
    before = posting_counts()

    response = as_treasurer.post(reverse("admin:finance_journal_record_payment"), payment_data(w.wanjiku, amount))

    assert response.status_code == 200
    assert "amount" in response.context["form"].errors["amount"][0]
    assert posting_counts() == before


@pytest.mark.parametrize(
    "value, error",
    [
        ("1_000", "is not an amount"),
        ("١٠٠", "is not an amount"),
        ("999999999999.99", "largest amount accepted is 9,999,999,999.99"),
    ],
)
def test_collection_sheet_cell_is_refused_by_the_parser(as_treasurer, w, value, error):  # noqa: F811
    sheet = open_sheet(as_treasurer, w.chama)
    before = posting_counts()

    response = as_treasurer.post(
        sheet_url(w.chama), sheet_data(sheet, {w.wanjiku: {"contribution": "1,000"}, w.otieno: {"repayment": value}})
    )

    assert response.status_code == 200
    rows = {row["membership"].pk: row for row in response.context["sheet"].rows}
    assert len(rows[w.otieno.pk]["errors"]) == 1 and error in rows[w.otieno.pk]["errors"][0]
    assert posting_counts() == before


# --- M-Pesa ----------------------------------------------------------------------------------------


C2B = {
    "TransactionType": "Pay Bill",
    "TransID": "RKTQDM7W6S",
    "TransTime": "20261122063845",
    "TransAmount": "1000.00",
    "BusinessShortCode": "600638",
    "BillRefNumber": "",
    "MSISDN": "254708374149",
    "FirstName": "Jane",
}


@pytest.mark.parametrize("amount", ["1e3", 1e12, 1e16, "1000000000000", 10**30, True, None, "١٠٠"])
def test_mpesa_callback_with_an_amount_out_of_grammar_is_refused_not_a_500(books, client, amount):  # noqa: F811
    chama = books[0]
    channel = MpesaChannel.objects.create(chama=chama, shortcode="600638")
    client.raise_request_exception = False

    response = client.post(
        f"/api/v1/chamas/{chama.pk}/mpesa/c2b/{channel.new_secret}/",
        {**C2B, "TransAmount": amount},
        content_type="application/json",
    )

    assert response.status_code == 400, response.content
    assert "amount" in response.json()
    assert not MpesaReceipt.objects.exists() and not Journal.objects.exists()


@pytest.mark.parametrize(
    "amount, expected",
    [("1500.00", D("1500.00")), (1500, D("1500.00")), (1500.5, D("1500.50")), (1500.0, D("1500.00"))],
)
def test_mpesa_callback_reads_safaricoms_strings_and_json_numbers(books, client, amount, expected):  # noqa: F811
    chama = books[0]
    channel = MpesaChannel.objects.create(chama=chama, shortcode="600638")

    response = client.post(
        f"/api/v1/chamas/{chama.pk}/mpesa/c2b/{channel.new_secret}/",
        {**C2B, "TransAmount": amount},
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    assert MpesaReceipt.objects.get().amount == expected
