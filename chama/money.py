"""Money is Decimal with two places, rounded half-up in exactly one place: here."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.validators import MinValueValidator
from django.db import models

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_DIGITS = 14
DECIMAL_PLACES = 2


def to_money(value, rounding=ROUND_HALF_UP):
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


class MoneyField(models.DecimalField):
    """DecimalField(max_digits=14, decimal_places=2), the one column type for money."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", MAX_DIGITS)
        kwargs.setdefault("decimal_places", DECIMAL_PLACES)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        return name, "chama.money.MoneyField", args, kwargs


def non_negative():
    return [MinValueValidator(ZERO, "An amount cannot be negative.")]
