"""A paginator for lists that can hold a province."""

from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property


class CappedPaginator(Paginator):
    """Counts at most `cap` rows and pages through those only.

    Counting every match of an empty search or of "van" at a million members is
    most of the page's time, and page 5,000 of a list is never what anyone
    wants: beyond `cap` the page says there are more than `cap` and asks for a
    narrower search. The count reads at most cap + 1 rows (a LIMIT inside the
    COUNT), so it costs the same at any size; below the cap it is exact.
    """

    def __init__(self, object_list: QuerySet, per_page: int, *, cap: int, **kwargs: Any) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.cap = cap
        # Kept as the queryset it is: the base class types object_list as any sequence.
        self._queryset = object_list

    @cached_property
    def _counted(self) -> int:
        # Unordered: any cap + 1 matching rows will do for counting.
        return self._queryset.order_by()[: self.cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.cap)

    @property
    def capped(self) -> bool:
        """More rows match than were counted."""
        return self._counted > self.cap


# The admin's lists count as the registry's own do: exactly up to the cap, then
# "more than" (templates/admin/pagination.html). 50 pages of the admin's 100 rows.
ADMIN_COUNT_CAP = 5000


class AdminPaginator(CappedPaginator):
    """CappedPaginator with the signature the admin calls (ModelAdmin.get_paginator
    passes orphans and allow_empty_first_page by position)."""

    def __init__(self, object_list, per_page, orphans=0, allow_empty_first_page=True):
        super().__init__(
            object_list,
            per_page,
            cap=ADMIN_COUNT_CAP,
            orphans=orphans,
            allow_empty_first_page=allow_empty_first_page,
        )
