"""Pages of a list (core.pagination): a page's ids first, then those rows with their joins."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.models import Case
from core.pagination import DeferredJoinPaginator
from tests.cases.factories import CaseFactory


@pytest.fixture
def cases(alice):
    return [CaseFactory(client__agency=alice.agency, assigned_worker=alice) for _ in range(7)]


def listed(pages: DeferredJoinPaginator, number: int) -> list[int]:
    return [case.pk for case in pages.page(number).object_list]


class TestDeferredJoinPaginator:
    def test_the_pages_hold_the_lists_rows_in_its_order(self, cases):
        rows = Case.objects.select_related("client").order_by("-pk")
        pages = DeferredJoinPaginator(rows, 3)

        assert [listed(pages, n) for n in (1, 2, 3)] == [
            [c.pk for c in reversed(cases)][i : i + 3] for i in (0, 3, 6)
        ]
        assert pages.num_pages == 3

    def test_the_joins_run_for_the_pages_rows_only(self, cases):
        rows = Case.objects.select_related("client").order_by("pk")
        pages = DeferredJoinPaginator(rows, 2)
        pages.count  # noqa: B018  (counted apart, as a list endpoint does)

        with CaptureQueriesContext(connection) as queries:
            page = pages.page(2)
            names = [case.client.legal_name for case in page.object_list]

        ids_query, rows_query = (q["sql"] for q in queries.captured_queries)
        assert "JOIN" not in ids_query and "LIMIT 2 OFFSET 2" in ids_query
        assert "JOIN" in rows_query and f"IN ({cases[2].pk}, {cases[3].pk})" in rows_query
        assert names == [cases[2].client.legal_name, cases[3].client.legal_name]

    def test_the_last_page_takes_the_orphans(self, cases):
        pages = DeferredJoinPaginator(Case.objects.order_by("pk"), 3, orphans=1)
        assert pages.num_pages == 2
        assert listed(pages, 2) == [c.pk for c in cases[3:]]

    def test_a_list_that_is_no_queryset_pages_as_before(self):
        pages = DeferredJoinPaginator(list(range(5)), 2)
        assert list(pages.page(3).object_list) == [4]
