"""Looking for clients outside one's caseload: only an exact whole name with the full date of
birth or phone finds one, for emergency access; fragments list nobody; lookups are rate
limited per user and audited without what was typed."""

import datetime

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent
from tests.cases.factories import CaseFactory, ClientFactory

SEARCH_URL = reverse("cases:client_search")
SUGGEST_URL = reverse("casework:client_suggest")
# Another team's clients: names sharing fragments, phones sharing digits.
OTHER_TEAM = [
    ("Marcus Bell", datetime.date(1980, 1, 1)),
    ("Marta Bellamy", datetime.date(1981, 2, 2)),
    ("Mario Belmonte", datetime.date(1982, 3, 3)),
    ("Mary Beltran", datetime.date(1983, 4, 4)),
    ("Marek Bellini", datetime.date(1984, 5, 5)),
    ("Maria Belov", datetime.date(1985, 6, 6)),
    ("Marla Belson", datetime.date(1986, 7, 7)),
    ("Marvin Belcher", datetime.date(1987, 8, 8)),
    ("Marisol Belton", datetime.date(1988, 9, 9)),
    ("Marco Belding", datetime.date(1989, 10, 10)),
    ("Marian Belford", datetime.date(1990, 11, 11)),
    ("Marjorie Belk", datetime.date(1991, 12, 12)),
    ("Martin Bellows", datetime.date(1992, 1, 13)),
    ("Marlon Belvin", datetime.date(1993, 2, 14)),
    ("Marina Belasco", datetime.date(1994, 3, 15)),
    ("Maribel Belger", datetime.date(1995, 4, 16)),
    ("Markus Belz", datetime.date(1996, 5, 17)),
]
FRAGMENTS = ["Mar", "Bel", "ari", "ell", "Mar Bel", "5550", "0142", "1980", "555-01"]


@pytest.fixture
def other_team(erin):
    """Erin's team's 17 clients, each with an open case: outside alice's caseload."""
    cases = []
    for index, (name, born) in enumerate(OTHER_TEAM):
        client = ClientFactory(
            agency=erin.agency,
            legal_name=name,
            date_of_birth=born,
            phone=f"541-555-01{index:02d}",
        )
        cases.append(CaseFactory(client=client, assigned_worker=erin))
    return cases


def outside_search(http, name="", born="", phone=""):
    return http.get(
        SEARCH_URL,
        {"outside-name": name, "outside-date_of_birth": born, "outside-phone": phone},
    )


def named_in(page: str, cases) -> list[str]:
    """The clients of `cases` the page names or links to."""
    return [case.client.legal_name for case in cases if case.client.legal_name in page] + [
        case.client.legal_name for case in cases if reached(page, case)
    ]


def reached(page: str, case) -> bool:
    """Whether the page offers a way to this case's client (emergency access, their page)."""
    return (
        reverse("casework:emergency_access", args=[case.pk]) in page
        or reverse("cases:client_detail", args=[case.client_id]) in page
    )


class TestAnotherTeamCannotBeListed:
    def test_fragments_of_names_and_phones_list_none_of_them(self, login, alice, other_team):
        http = login(alice)
        for fragment in FRAGMENTS:
            pages = [
                http.get(SEARCH_URL, {"q": fragment}),
                outside_search(http, name=fragment),
                outside_search(http, name=fragment, phone=fragment),
                http.get(SUGGEST_URL, {"legal_name": fragment}),
                http.get(SUGGEST_URL, {"legal_name": fragment, "phone": fragment}),
                http.get(SUGGEST_URL, {"phone": fragment, "estimated_age": "40"}),
            ]
            for response in pages:
                assert response.status_code == 200, fragment
                assert named_in(response.content.decode(), other_team) == [], fragment

    def test_a_first_name_with_the_date_of_birth_is_not_enough(self, login, alice, other_team):
        http = login(alice)
        for response in (
            outside_search(http, name="Marcus", born="1980-01-01"),
            http.get(SUGGEST_URL, {"legal_name": "Marcus", "date_of_birth": "1980-01-01"}),
        ):
            assert named_in(response.content.decode(), other_team) == []

    def test_the_whole_name_and_the_date_of_birth_find_exactly_the_one(
        self, login, alice, other_team
    ):
        response = outside_search(login(alice), name="marcus bell", born="1980-01-01")

        found = response.context["outside"]
        assert [s.client.pk for s in found] == [other_team[0].client_id]
        page = response.content.decode()
        assert reverse("casework:emergency_access", args=[other_team[0].pk]) in page
        # Nothing identifying beyond the name: no birth year, no phone digits.
        assert "Born" not in page and "555-0100" not in page and "…0100" not in page

    def test_the_whole_name_and_the_full_phone_find_the_one(self, login, alice, other_team):
        response = outside_search(login(alice), name="Bell Marcus", phone="(541) 555-0100")
        assert [s.client.pk for s in response.context["outside"]] == [other_team[0].client_id]

    def test_the_name_alone_asks_for_a_second_identifier_and_looks_nothing_up(
        self, login, alice, other_team
    ):
        response = outside_search(login(alice), name="Marcus Bell")

        assert response.context["outside"] is None
        assert "full date of birth or phone number" in response.content.decode()
        assert not any(reached(response.content.decode(), case) for case in other_team)
        assert not AuditEvent.objects.filter(actor=alice, detail__scope="outside").exists()

    def test_the_right_name_with_a_wrong_date_finds_no_one(self, login, alice, other_team):
        response = outside_search(login(alice), name="Marcus Bell", born="1980-01-02")
        assert response.context["outside"] == []
        assert "No other client of your agency matches exactly." in response.content.decode()

    def test_the_suggestions_name_an_exact_match_with_the_way_in_only(
        self, login, alice, other_team
    ):
        response = login(alice).get(
            SUGGEST_URL, {"legal_name": "Marcus Bell", "date_of_birth": "1980-01-01"}
        )
        page = response.content.decode()
        assert [c.client.legal_name for c in other_team if reached(page, c)] == ["Marcus Bell"]
        assert "Outside your caseload" in page
        assert reverse("casework:emergency_access", args=[other_team[0].pk]) in page
        assert "Use this client" not in page
        assert "Born" not in page and "…0100" not in page

    def test_another_agency_is_never_reached(self, login, alice, carol_case):
        response = outside_search(login(alice), name="Carol Client", born="1990-04-12")
        assert response.context["outside"] == []


class TestOutsideLookupsAreAudited:
    def test_each_attempt_is_a_row_saying_whether_it_matched_without_what_was_typed(
        self, login, alice, other_team
    ):
        http = login(alice)
        outside_search(http, name="Marcus Bell", born="1980-01-01")
        outside_search(http, name="Marcus Bell", phone="541-555-9999")

        rows = AuditEvent.objects.filter(actor=alice, detail__scope="outside").order_by("pk")
        assert [(r.action, r.detail["matched"]) for r in rows] == [
            (Action.SEARCH, True),
            (Action.SEARCH, False),
        ]
        assert rows[0].detail["ids"] == [other_team[0].client_id]
        for row in rows:
            text = str(row.detail).lower() + row.path.lower()
            assert "marcus" not in text and "5559999" not in text and "1980" not in text

    def test_my_own_search_is_not_an_outside_attempt(self, login, alice, alice_case):
        login(alice).get(SEARCH_URL, {"q": "Alice"})
        assert not AuditEvent.objects.filter(actor=alice, detail__scope="outside").exists()


class TestOutsideLookupsAreRateLimited:
    @pytest.fixture(autouse=True)
    def three_an_hour(self, settings):
        settings.OUTSIDE_SCOPE_LOOKUP_RATE = "3/h"

    def test_past_the_limit_the_search_says_so_with_429_and_it_is_audited_once(
        self, login, alice, other_team
    ):
        http = login(alice)
        for _ in range(3):
            assert outside_search(http, name="Marcus Bell", born="1980-01-01").status_code == 200

        for _ in range(3):
            response = outside_search(http, name="Marcus Bell", born="1980-01-01")
            assert response.status_code == 429
            page = response.content.decode()
            assert "looked for clients outside your caseload too often" in page
            assert not any(reached(page, case) for case in other_team)

        denied = AuditEvent.objects.filter(actor=alice, action=Action.DENIED)
        assert [row.detail for row in denied] == [
            {"reason": "rate limit", "scope": "outside", "page": "client search"}
        ]
        assert AuditEvent.objects.filter(actor=alice, detail__scope="outside").count() == 4

    def test_past_the_limit_the_suggestions_keep_my_own_clients_and_say_why(
        self, login, alice, alice_case, erin_case
    ):
        http = login(alice)
        query = {"legal_name": "Erin Client", "date_of_birth": "1990-04-12"}
        for _ in range(3):
            assert "Erin Client" in http.get(SUGGEST_URL, query).content.decode()

        response = http.get(SUGGEST_URL, query)
        page = response.content.decode()
        assert response.status_code == 200
        assert "Erin Client" not in page
        assert f'data-use-client="{alice_case.client_id}"' in page
        assert "too often" in page

    def test_the_limit_is_per_user(self, login, alice, bob, other_team):
        http = login(alice)
        for _ in range(4):
            outside_search(http, name="Marcus Bell", born="1980-01-01")
        response = outside_search(login(bob), name="Marcus Bell", born="1980-01-01")
        assert response.status_code == 200
        assert [s.client.pk for s in response.context["outside"]] == [other_team[0].client_id]

    def test_in_scope_search_is_not_limited(self, login, alice, alice_case):
        http = login(alice)
        for _ in range(6):
            assert http.get(SEARCH_URL, {"q": "Alice"}).status_code == 200


class TestTheApiFollowsTheSameRules:
    def test_a_likely_match_outside_scope_needs_the_exact_name_and_date(
        self, api, alice, other_team
    ):
        api.force_login(alice)
        exact = {"legal_name": "Marcus Bell", "date_of_birth": "1980-01-01"}
        response = api.post("/api/v1/clients/", exact, format="json")
        assert response.status_code == 400
        message = response.json()["confirm_new"][0]
        assert "Marcus Bell" in message and "outside your caseload" in message
        assert "1980" not in message

        fragment = {"legal_name": "Marc Bel", "estimated_age": 46}
        response = api.post("/api/v1/clients/", fragment, format="json")
        assert response.status_code == 201, response.json()
