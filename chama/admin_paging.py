from django.core.paginator import Paginator
from django.utils.functional import cached_property


class CappedCountPaginator(Paginator):
    """Counts at most CAP rows, so a changelist over millions of rows never runs a full COUNT(*).

    The admin shows "CAP+" pages' worth; filters and search narrow the list to what matters.
    """

    CAP = 10_000

    @cached_property
    def count(self):
        return self.object_list[: self.CAP + 1].count()
