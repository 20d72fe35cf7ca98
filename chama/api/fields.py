from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from rest_framework import serializers

from chama import money
from chama.dates import DATE_RANGE_MESSAGE, in_range
from chama.money import DECIMAL_PLACES, MAX_DIGITS, parse_money


class MoneyField(serializers.DecimalField):
    """Money in and out as a string ("1500.00"); a JSON number is refused, since floats lose cents.
    A string is read by the one strict parser (`chama.money.parse_money`); a Decimal given by code passes."""

    default_error_messages = {"not_a_string": 'Send money as a string, for example "1500.00".'}

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", MAX_DIGITS)
        kwargs.setdefault("decimal_places", DECIMAL_PLACES)
        kwargs.setdefault("coerce_to_string", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, (str, Decimal)):
            self.fail("not_a_string")
        if isinstance(data, Decimal):
            return super().to_internal_value(data)
        try:
            return parse_money(data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages, code=exc.code) from None


class IdRelatedField(serializers.PrimaryKeyRelatedField):
    """A related row by its id: a whole number (or a string of digits), never 1.5, true or 1e999."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, str)) or (isinstance(data, str) and not data.isdigit()):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


class DateField(serializers.DateField):
    """A date between 1900 and 2200 (every date the API takes)."""

    default_error_messages = {"out_of_range": DATE_RANGE_MESSAGE}

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        if not in_range(day):
            self.fail("out_of_range")
        return day


class DateTimeField(serializers.DateTimeField):
    """A moment between 1900 and 2200, checked before it is moved into a time zone (which overflows
    at the calendar's ends)."""

    default_error_messages = {"out_of_range": DATE_RANGE_MESSAGE}

    def enforce_timezone(self, value):
        if not in_range(value.date()):
            self.fail("out_of_range")
        return super().enforce_timezone(value)


def map_model_fields():
    """Model serializers map money columns to `MoneyField` and date columns to the bounded fields
    (called once, at start-up): a serializer declares a money or date field only to change more
    than whether it is read-only (that is `read_only_fields`)."""
    serializers.ModelSerializer.serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        money.MoneyField: MoneyField,
        models.DateField: DateField,
        models.DateTimeField: DateTimeField,
    }
