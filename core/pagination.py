"""Pages of a list, for the pages and the API."""

from django.core.paginator import Page, Paginator
from django.db import models


class DeferredJoinPaginator(Paginator):
    """Reads a page in two queries: the page's ids, from the rows' own table in the list's
    order, then those rows with their joins. In one query PostgreSQL joins every row of
    the list (every follow-up of a worker's scope, thousands) before sorting out the page,
    as it cannot move a LIMIT below the joins."""

    def page(self, number: int | str) -> Page:
        if not isinstance(self.object_list, models.QuerySet):
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        ids = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        rows = {row.pk: row for row in self.object_list.filter(pk__in=ids).order_by()}
        return Page([rows[pk] for pk in ids if pk in rows], number, self)
