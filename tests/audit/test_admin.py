"""The audit trail's admin (audit/admin.py): on a table of hundreds of millions of rows its
search is exact and reads one indexed column, and it has no date drill-down."""

import datetime
import json
import re

import pytest
from django.db import connection, transaction
from django.db.models.expressions import RawSQL
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.admin import search_filter
from audit.models import Action
from audit.services import record

pytestmark = pytest.mark.django_db

URL = reverse("admin:audit_auditevent_changelist")
# What a LIKE, ILIKE or UPPER(...) LIKE of the admin's default search would put in the SQL.
PATTERN_MATCH = re.compile(r"\bI?LIKE\b", re.IGNORECASE)


def listed(response) -> list[int]:
    return [event.pk for event in response.context["cl"].result_list]


@pytest.fixture
def trail(alice, bob):
    """Two events each of alice and bob, one of them about a client, newest last."""
    return {
        "alice": [
            record(actor=alice, action=Action.VIEW, object_type="case", object_id=7),
            record(actor=alice, action=Action.VIEW, object_type="client", client_id=41),
        ],
        "bob": [
            record(actor=bob, action=Action.VIEW, object_type="case", object_id=8),
            record(actor=bob, action=Action.VIEW, object_type="client", client_id=42),
        ],
    }


def search(page, term: str):
    with CaptureQueriesContext(connection) as queries:
        response = page.get(URL, {"q": term})
    assert response.status_code == 200
    return response, [query["sql"] for query in queries.captured_queries]


class TestSearch:
    def test_a_username_finds_that_users_events(self, login, root, alice, trail):
        response, sql = search(login(root), "alice")
        assert listed(response) == [event.pk for event in reversed(trail["alice"])]
        # Through the user's id, resolved first: the trail is read by the (actor, at) index.
        trail_queries = [query for query in sql if "audit_auditevent" in query]
        assert trail_queries
        assert all(f'"actor_id" = {alice.pk}' in query for query in trail_queries)
        assert [query for query in sql if PATTERN_MATCH.search(query)] == []

    def test_a_user_id_finds_that_users_events(self, login, root, bob, trail):
        response, _ = search(login(root), str(bob.pk))
        assert listed(response) == [event.pk for event in reversed(trail["bob"])]

    def test_a_username_is_tried_before_a_user_id(self, login, root, alice, bob, trail):
        bob.username = str(alice.pk)
        bob.save()
        response, _ = search(login(root), str(alice.pk))
        assert listed(response) == [event.pk for event in reversed(trail["bob"])]

    @pytest.mark.parametrize("term", ["client:41", "Client: 41", " client:41 "])
    def test_client_and_an_id_finds_that_clients_events(self, login, root, trail, term):
        response, sql = search(login(root), term)
        assert listed(response) == [trail["alice"][1].pk]
        assert [query for query in sql if PATTERN_MATCH.search(query)] == []

    @pytest.mark.parametrize(
        "term",
        [
            "ali",  # part of a username
            "ALICE",  # usernames are exact
            "client",
            "client:",
            "client:alice",
            "client:-1",
            "/admin/",  # a path
            "0",
            "99999999999999999999999",  # past the largest id
        ],
    )
    def test_anything_else_finds_nothing_without_reading_the_trail(self, login, root, trail, term):
        response, sql = search(login(root), term)
        assert listed(response) == []
        assert [query for query in sql if PATTERN_MATCH.search(query)] == []
        # Nothing named: the trail is not read at all, let alone scanned for the text.
        assert [query for query in sql if "audit_auditevent" in query] == []

    def test_the_box_says_what_can_be_searched(self, login, root, trail):
        text = login(root).get(URL).content.decode()
        assert "An exact username or user id, or client:&lt;id&gt;" in text

    def test_an_empty_search_lists_everything(self, login, root, trail):
        response, _ = search(login(root), "  ")
        ours = {event.pk for events in trail.values() for event in events}
        assert ours <= set(listed(response))

    def test_search_filter_names_one_indexed_column(self, alice):
        assert search_filter("alice") == {"actor_id": alice.pk}
        assert search_filter("12") == {"actor_id": 12}
        assert search_filter("client:12") == {"client_id": 12}
        assert search_filter("al") is None


class TestDates:
    def test_there_is_no_date_drill_down_and_no_distinct_dates_query(self, login, root, trail):
        with CaptureQueriesContext(connection) as queries:
            response = login(root).get(URL)
        assert response.context["cl"].date_hierarchy is None
        assert not [q["sql"] for q in queries.captured_queries if "DATE_TRUNC" in q["sql"].upper()]

    def test_a_date_range_filter_takes_the_events_of_the_range(self, login, root, alice, trail):
        at = trail["alice"][0].at
        day = datetime.timedelta(days=1)
        page = login(root)
        response = page.get(URL, {"at__gte": at - day, "at__lt": at + day, "q": "alice"})
        assert sorted(listed(response)) == sorted(event.pk for event in trail["alice"])
        response = page.get(URL, {"at__gte": at + day, "q": "alice"})
        assert listed(response) == []

    @pytest.mark.parametrize("year", ["9999", "10000"])
    def test_a_drill_down_link_past_the_last_year_is_a_bad_filter(self, login, root, year):
        response = login(root).get(URL, {"at__year": year, "at__month": "12"})
        assert response.status_code == 302
        assert response.url.endswith("?e=1")


class TestCounts:
    def test_it_never_counts_the_filters_choices(self, login, root, trail):
        with CaptureQueriesContext(connection) as queries:
            response = login(root).get(URL, {"_facets": "True"})
        assert response.status_code == 200
        assert not [
            q["sql"]
            for q in queries.captured_queries
            if "COUNT(" in q["sql"].upper() and "FILTER" in q["sql"].upper()
        ]


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="The trail is partitioned on PostgreSQL only"
)
class TestPlans:
    @pytest.fixture
    def busy_trail(self, alice, bob):
        """Thousands of events in the current month's partition, one in twenty of alice's,
        and the planner's statistics of them."""
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO audit_auditevent (at, actor_id, actor_username, action, "
                "object_type, object_id, path, detail, client_id) SELECT now() - n * "
                "interval '1 second', CASE WHEN n %% 20 = 0 THEN %s ELSE %s END, '', "
                "'view', 'case', '', '/', '{}', n %% 500 FROM generate_series(0, 3999) n",
                [alice.pk, bob.pk],
            )
            cursor.execute("ANALYZE audit_auditevent")

    @pytest.mark.parametrize(("term", "column"), [("alice", "actor_id"), ("client:7", "client_id")])
    def test_a_search_reads_the_trail_by_index(self, login, root, busy_trail, term, column):
        shown = login(root).get(URL, {"q": term}).context["cl"].queryset
        holding = set(
            shown.annotate(partition=RawSQL("tableoid::regclass::text", ()))
            .values_list("partition", flat=True)
            .distinct()
        )
        assert holding
        with transaction.atomic(), connection.cursor() as cursor:
            # On a few thousand rows a sequential scan is cheapest; millions would say no.
            cursor.execute("SET LOCAL enable_seqscan = off")
            plan = json.loads(shown[:100].explain(format="json"))
        nodes = list(walk(plan[0]["Plan"]))
        assert "Seq Scan" not in {node for node, _, _ in nodes}
        # The months that hold the rows are read by the searched column's index (the empty
        # ones, by whichever index: they have nothing to read).
        indexes = {index for _, _, index in nodes if index}
        for month in holding:
            assert {i for i in indexes if i.startswith(f"{month}_")} == {f"{month}_{column}_at_idx"}


def walk(node):
    yield node["Node Type"], node.get("Relation Name", ""), node.get("Index Name", "")
    for child in node.get("Plans", []):
        yield from walk(child)
