"""Money is Decimal with two places, rounded half-up in exactly one place: here. Amounts typed by
people or sent by M-Pesa are read by one strict parser, also here."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_DIGITS = 14
DECIMAL_PLACES = 2
# One amount may use at most 10 of the column's 12 whole digits, so that the balances and totals
# that add many amounts up still fit the same column: 9,999,999,999.99.
HEADROOM_DIGITS = 2
MAX_AMOUNT = Decimal(10) ** (MAX_DIGITS - DECIMAL_PLACES - HEADROOM_DIGITS) - CENT

_PLAIN = re.compile(r"[0-9]+(?:\.[0-9]{1,2})?", re.ASCII)
_GROUPED = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]{1,2})?", re.ASCII)


def to_money(value: Decimal | int | str, rounding: str = ROUND_HALF_UP) -> Decimal:
    """`value` (Decimal, int or numeric string; never float) as a Decimal rounded to the cent."""
    if isinstance(value, float):
        raise TypeError("Money must not be a float; pass a Decimal, an int or a string.")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"{value!r} is not an amount of money.") from exc
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not an amount of money.")
    return amount.quantize(CENT, rounding=rounding)


def positive_money(value: Decimal | int | str, *, what: str = "The amount") -> Decimal:
    """`value` as money (`to_money`), refused for the `amount` field unless it is more than zero."""
    amount = to_money(value)
    if amount <= 0:
        raise ValidationError({"amount": f"{what} must be more than zero."})
    return amount


def shown(amount: Decimal | int | str, currency: str | None = None) -> str:
    """An amount as people read it: `1,500.00`, or `KES 1,500.00` with the chama's currency
    (rounded by `to_money`: a Decimal's own format would round half to even)."""
    text = f"{to_money(amount):,.2f}"
    return f"{currency} {text}" if currency else text


def _quoted(text: str) -> str:
    """The typed text as the error quotes it; a long paste is cut so the message stays readable."""
    return repr(text if len(text) <= 24 else text[:20] + "…")


def parse_money(text: object, *, grouping: bool = False) -> Decimal:
    """An amount typed by a person or sent by M-Pesa, as a Decimal. Only ASCII digits with an
    optional dot and one or two decimals ("1500", "1500.5", "1500.50"): no sign, exponent,
    underscore, other scripts' digits, "NaN" or ".5", which Decimal() would all take silently.
    `grouping` also takes thousands commas in their places ("1,500.00"), for forms people type in.
    Refused with a ValidationError whose sentence a treasurer can act on."""
    if not isinstance(text, str):
        raise ValidationError("Enter the amount as digits, for example 1500.00.", code="invalid")
    stripped = text.strip()
    if _PLAIN.fullmatch(stripped):
        digits = stripped
    elif grouping and _GROUPED.fullmatch(stripped):
        digits = stripped.replace(",", "")
    else:
        raise ValidationError(
            f"{_quoted(text)} is not an amount: use digits with at most two decimals, for example 1500 or 1500.50.",
            code="invalid",
        )
    amount = Decimal(digits)
    if amount > MAX_AMOUNT:
        raise ValidationError(
            f"{_quoted(text)} is too large: the largest amount accepted is {shown(MAX_AMOUNT)}.", code="max_value"
        )
    return amount.quantize(CENT)


class MoneyFormField(forms.DecimalField):
    """A form's money input, read by `parse_money` (thousands commas allowed); a Decimal set by code passes."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", MAX_DIGITS)
        kwargs.setdefault("decimal_places", DECIMAL_PLACES)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Decimal | None:
        if value in self.empty_values:
            return None
        if isinstance(value, Decimal):
            return value
        return parse_money(str(value), grouping=True)


class MoneyField(models.DecimalField):
    """DecimalField(max_digits=14, decimal_places=2), the one column type for money."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", MAX_DIGITS)
        kwargs.setdefault("decimal_places", DECIMAL_PLACES)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[str, str, Sequence[Any], dict[str, Any]]:
        name, path, args, kwargs = super().deconstruct()
        return name, "chama.money.MoneyField", args, kwargs

    def formfield(self, **kwargs: Any) -> forms.Field | None:
        """Admin and model forms read money with the one strict parser."""
        return super().formfield(**{"form_class": MoneyFormField, **kwargs})


def non_negative() -> list[MinValueValidator]:
    return [MinValueValidator(ZERO, "An amount cannot be negative.")]
