"""What every admin page shares: lists that answer an unusable query string as the
admin answers a bad filter (the list again, with its notice), not with an error page."""

import datetime
from typing import TYPE_CHECKING, Any

from django.contrib.admin.views.main import ERROR_FLAG
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

    _AdminBase = ModelAdmin[Any]
else:
    _AdminBase = object


def unusable_admin_query(request: HttpRequest, field: str | None) -> bool:
    """Whether the list's query string holds what the admin cannot handle and would
    answer with an error page rather than its "invalid filter" notice: a NUL (which
    PostgreSQL text cannot hold) in a filter, or a date drill-down (`field`) to a year
    past 9998 (the admin adds a day, a month or a year to the date asked for)."""
    if any("\x00" in value for values in request.GET.lists() for value in values[1]):
        return True
    if any("\x00" in key for key in request.GET):
        return True
    if not field:
        return False
    for value in request.GET.getlist(f"{field}__year"):
        try:
            year = int(value)
        except ValueError:
            continue  # the admin refuses it itself
        if year >= datetime.MAXYEAR:
            return True
    return False


class RefusesUnusableQueries(_AdminBase):
    """A ModelAdmin mixin: a list asked for with an unusable query string answers as the
    admin answers a bad filter (the list again, with its notice), not with an error."""

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if unusable_admin_query(request, self.date_hierarchy):
            return HttpResponseRedirect(f"{request.path}?{ERROR_FLAG}=1")
        return super().changelist_view(request, extra_context)
