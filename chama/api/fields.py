from decimal import Decimal

from rest_framework import serializers

from chama.money import DECIMAL_PLACES, MAX_DIGITS


class MoneyField(serializers.DecimalField):
    """Money in and out as a string ("1500.00"); a JSON number is refused, since floats lose cents."""

    default_error_messages = {"not_a_string": 'Send money as a string, for example "1500.00".'}

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", MAX_DIGITS)
        kwargs.setdefault("decimal_places", DECIMAL_PLACES)
        kwargs.setdefault("coerce_to_string", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, (str, Decimal)):
            self.fail("not_a_string")
        return super().to_internal_value(data)
