"""`to_money`, the one place money is rounded: half-up to the cent, halves away from zero on both
sides, floats refused, and the other types it documents (Decimal, int, numeric string) accepted."""

from decimal import ROUND_HALF_EVEN
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from chama.money import (
    CENT,
    MAX_AMOUNT,
    ZERO,
    MoneyField,
    MoneyFormField,
    non_negative,
    parse_money,
    positive_money,
    to_money,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.005", "0.01"),
        ("0.015", "0.02"),  # half-even would give 0.02 too; 0.025 below tells them apart
        ("0.025", "0.03"),
        ("2.675", "2.68"),  # as a Decimal; the float 2.675 is 2.67499… and would round down
        ("-0.005", "-0.01"),  # a half goes away from zero on the negative side as well
        ("-2.675", "-2.68"),
        ("0.004", "0.00"),
        ("0.0049999", "0.00"),
        ("1.994", "1.99"),
        ("1.995", "2.00"),
        ("-1.994", "-1.99"),
    ],
)
def test_rounds_half_up_to_the_cent(value, expected):
    result = to_money(D(value))
    assert result == D(expected)
    assert str(result) == expected  # two places, always


def test_another_rounding_mode_can_be_asked_for():
    # Loan products may round half-even; the default stays half-up.
    assert to_money(D("0.025"), ROUND_HALF_EVEN) == D("0.02")
    assert to_money(D("0.035"), ROUND_HALF_EVEN) == D("0.04")
    assert to_money(D("0.025")) == D("0.03")


@pytest.mark.parametrize("value", [0.1, 2.675, 0.0, -1.5, float("nan"), float("inf")])
def test_floats_are_refused(value):
    with pytest.raises(TypeError, match=r"^Money must not be a float; pass a Decimal, an int or a string\.$"):
        to_money(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1500, "1500.00"),
        (0, "0.00"),
        (-3, "-3.00"),
        ("1500", "1500.00"),
        ("1500.5", "1500.50"),
        (" 12.345 ", "12.35"),  # surrounding spaces are stripped
        ("-0.005", "-0.01"),
        (D("7"), "7.00"),
        (D("1E+2"), "100.00"),
    ],
)
def test_ints_strings_and_decimals_are_accepted(value, expected):
    result = to_money(value)
    assert isinstance(result, D)
    assert str(result) == expected


@pytest.mark.parametrize(
    "value", ["", "abc", "1,500", "12 shillings", None, D("NaN"), D("Infinity"), "-Infinity", "NaN"]
)
def test_what_is_no_amount_is_a_value_error_naming_it(value):
    with pytest.raises(ValueError, match="is not an amount of money") as exc_info:
        to_money(value)
    assert repr(value) in str(exc_info.value)


def test_the_constants_are_what_the_columns_hold():
    assert (D("0.01"), D("0.00"), D("9999999999.99")) == (CENT, ZERO, MAX_AMOUNT)
    assert str(ZERO) == "0.00"


def test_the_money_column_and_its_form_field_have_fourteen_digits_and_two_places():
    field = MoneyField()
    assert (field.max_digits, field.decimal_places) == (14, 2)
    name, path, args, kwargs = field.deconstruct()
    assert path == "chama.money.MoneyField"
    assert (kwargs["max_digits"], kwargs["decimal_places"]) == (14, 2)
    form_field = field.formfield()
    assert isinstance(form_field, MoneyFormField)
    assert (form_field.max_digits, form_field.decimal_places) == (14, 2)
    assert MoneyField(max_digits=20, decimal_places=4).max_digits == 20
    assert MoneyField("amount paid").verbose_name == "amount paid"


def test_the_form_field_reads_typed_text_with_the_strict_parser():
    field = MoneyFormField()
    assert (field.max_digits, field.decimal_places) == (14, 2)
    assert field.to_python("1,500.50") == D("1500.50")
    assert field.to_python(D("3.1")) == D("3.1")  # set by code: passed through as is
    assert field.to_python("") is None
    assert field.to_python(None) is None


def test_non_negative_refuses_a_cent_below_zero_with_a_sentence():
    (validator,) = non_negative()
    validator(ZERO)
    validator(CENT)
    with pytest.raises(ValidationError) as exc_info:
        validator(-CENT)
    assert exc_info.value.messages == ["An amount cannot be negative."]


def test_positive_money_rounds_then_refuses_what_is_not_more_than_zero_naming_it():
    assert positive_money("0.005") == CENT  # half a cent rounds up to one: accepted
    assert positive_money(D("1500")) == D("1500.00")
    for value in ("0.004", 0, "-1"):
        with pytest.raises(ValidationError) as exc_info:
            positive_money(value, what="A deposit")
        assert exc_info.value.message_dict == {"amount": ["A deposit must be more than zero."]}


# --- what parse_money says when it refuses (the API and the admin show these sentences) -----------


def refusal(text, **kwargs):
    with pytest.raises(ValidationError) as exc_info:
        parse_money(text, **kwargs)
    (error,) = exc_info.value.error_list
    return error.code, error.message


def test_thousands_commas_only_where_grouping_is_asked_for():
    assert parse_money("1,500.50", grouping=True) == D("1500.50")
    assert refusal("1,500")[0] == "invalid"  # M-Pesa and the API send plain digits


def test_refusals_carry_a_code_and_a_sentence():
    assert refusal(1500) == ("invalid", "Enter the amount as digits, for example 1500.00.")
    assert refusal("12.345") == (
        "invalid",
        "'12.345' is not an amount: use digits with at most two decimals, for example 1500 or 1500.50.",
    )
    assert parse_money("9999999999.99") == MAX_AMOUNT  # the largest amount is itself accepted
    assert refusal("10000000000") == (
        "max_value",
        "'10000000000' is too large: the largest amount accepted is 9,999,999,999.99.",
    )


def test_a_long_paste_is_quoted_cut_to_twenty_characters():
    exactly_24 = "x" * 24
    assert refusal(exactly_24)[1].startswith(f"'{exactly_24}' is not an amount")
    assert refusal("y" * 25)[1].startswith("'" + "y" * 20 + "…' is not an amount")
