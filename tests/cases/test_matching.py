import datetime

import pytest

from cases.matching import find_likely_clients
from tests.accounts.factories import AgencyFactory
from tests.cases.factories import ClientFactory


class TestFindLikelyClients:
    def test_same_birth_date_and_similar_name(self, agency_a):
        maria = ClientFactory(
            agency=agency_a, legal_name="María López", date_of_birth=datetime.date(1988, 3, 2)
        )
        ClientFactory(
            agency=agency_a, legal_name="Peter Smith", date_of_birth=datetime.date(1988, 3, 2)
        )
        found = find_likely_clients(
            agency=agency_a, legal_name="Maria Lopes", date_of_birth=datetime.date(1988, 3, 2)
        )
        assert [s.client for s in found] == [maria]
        assert "same date of birth and a similar name" in found[0].reasons

    def test_names_in_another_order_match(self, agency_a):
        client = ClientFactory(
            agency=agency_a, legal_name="Lopez, Maria", date_of_birth=datetime.date(1988, 3, 2)
        )
        found = find_likely_clients(
            agency=agency_a, legal_name="Maria Lopez", date_of_birth=datetime.date(1988, 3, 2)
        )
        assert [s.client for s in found] == [client]

    def test_preferred_name_matches(self, agency_a):
        client = ClientFactory(
            agency=agency_a,
            legal_name="Robert Jones",
            preferred_name="Bobby Jones",
            date_of_birth=datetime.date(1970, 1, 1),
        )
        found = find_likely_clients(
            agency=agency_a, legal_name="Bobby Jones", date_of_birth=datetime.date(1970, 1, 1)
        )
        assert [s.client for s in found] == [client]

    def test_same_phone_whatever_the_format(self, agency_a):
        client = ClientFactory(agency=agency_a, legal_name="Sam Lee", phone="(541) 555-0199")
        found = find_likely_clients(agency=agency_a, legal_name="Unknown", phone="+1 541 555 0199")
        assert [s.client for s in found] == [client]
        assert found[0].reasons == ["same phone number"]

    def test_same_identifier(self, agency_a):
        client = ClientFactory(agency=agency_a, legal_name="Kim Park")
        client.identifiers.create(agency=agency_a, kind="hmis", value="HMIS-42")
        found = find_likely_clients(
            agency=agency_a, legal_name="K. Park", identifiers=[("hmis", "hmis-42")]
        )
        assert [s.client for s in found] == [client]

    def test_different_name_same_birth_date_is_not_offered(self, agency_a):
        ClientFactory(
            agency=agency_a, legal_name="Peter Smith", date_of_birth=datetime.date(1988, 3, 2)
        )
        assert (
            find_likely_clients(
                agency=agency_a, legal_name="Ana Ruiz", date_of_birth=datetime.date(1988, 3, 2)
            )
            == []
        )

    def test_another_agencys_clients_are_never_offered(self, agency_a):
        other = AgencyFactory()
        ClientFactory(
            agency=other,
            legal_name="María López",
            date_of_birth=datetime.date(1988, 3, 2),
            phone="541-555-0111",
        )
        found = find_likely_clients(
            agency=agency_a,
            legal_name="Maria Lopez",
            date_of_birth=datetime.date(1988, 3, 2),
            phone="541-555-0111",
        )
        assert found == []

    def test_without_birth_date_the_same_name_is_offered_first(self, agency_a):
        client = ClientFactory(agency=agency_a, legal_name="María López", date_of_birth=None)
        longer = ClientFactory(agency=agency_a, legal_name="Maria Lopez Garcia")
        found = find_likely_clients(agency=agency_a, legal_name="maria lopez")
        # A second surname taken or dropped is still likely the same person.
        assert [s.client for s in found] == [client, longer]
        assert found[0].reasons == ["same name (no date of birth given)"]
        assert found[1].reasons == ["similar name"]

    def test_nothing_to_match_on_returns_nothing(self, agency_a):
        ClientFactory(agency=agency_a, legal_name="Maria Lopez")
        assert find_likely_clients(agency=agency_a, legal_name="Ana Ruiz") == []


class TestFieldCases:
    def test_a_preferred_name_matches_without_birth_date(self, agency_a):
        client = ClientFactory(
            agency=agency_a, legal_name="Robert Jones", preferred_name="Bobby", date_of_birth=None
        )
        assert [s.client for s in find_likely_clients(agency=agency_a, legal_name="Bobby")] == [
            client
        ]
        assert [
            s.client for s in find_likely_clients(agency=agency_a, legal_name="robert jones")
        ] == [client]

    def test_an_estimated_age_client_is_offered_for_a_close_birth_date(self, agency_a):
        import datetime

        client = ClientFactory(
            agency=agency_a,
            legal_name="Maria Lopez",
            date_of_birth=None,
            estimated_age=40,
            estimated_age_on=datetime.date(2026, 1, 1),
        )
        ClientFactory(
            agency=agency_a,
            legal_name="Maria Lopez",
            date_of_birth=None,
            estimated_age=70,
            estimated_age_on=datetime.date(2026, 1, 1),
        )
        found = find_likely_clients(
            agency=agency_a, legal_name="Maria Lopes", date_of_birth=datetime.date(1987, 6, 2)
        )
        assert [s.client for s in found] == [client]
        assert found[0].reasons == ["similar name, age estimated close to this date of birth"]


# 2026-12-06 03:00 UTC is still 5 December in the agency's zone (America/Los_Angeles).
NOW = datetime.datetime(2026, 12, 6, 3, 0, tzinfo=datetime.UTC)


@pytest.fixture
def at_now(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def marcus(agency_a, at_now):
    return ClientFactory(
        agency=agency_a,
        legal_name="Marcus Bell",
        date_of_birth=None,
        estimated_age=39,
        estimated_age_on=datetime.date(2026, 11, 1),
        phone="",
    )


def offered(agency, **criteria):
    return [s.client for s in find_likely_clients(agency=agency, **criteria)]


class TestFuzzyNames:
    @pytest.mark.parametrize(
        "typed", ["Marcus Bel", "Marcos Bell", "Marcus", "Bell", "bell marcus"]
    )
    def test_a_misspelt_partial_or_reordered_name_is_offered(self, agency_a, marcus, typed):
        assert offered(agency_a, legal_name=typed) == [marcus]

    def test_a_close_estimated_age_is_a_reason(self, agency_a, marcus):
        found = find_likely_clients(agency=agency_a, legal_name="Marcus Bel", estimated_age=39)
        assert [s.client for s in found] == [marcus]
        assert found[0].reasons == ["similar name, close in age"]

    def test_an_age_far_apart_is_another_person(self, agency_a, marcus):
        assert offered(agency_a, legal_name="Marcus Bel", estimated_age=70) == []
        assert (
            offered(agency_a, legal_name="Marcus Bell", date_of_birth=datetime.date(1950, 1, 1))
            == []
        )

    def test_one_shared_word_of_two_is_not_enough(self, agency_a, marcus):
        assert offered(agency_a, legal_name="Marcus Jones") == []

    @pytest.mark.parametrize(
        ("stored", "typed"),
        [
            ("William Smith", "Bill Smith"),
            ("Robert Jones", "Bob Jones"),
            ("Elizabeth Young", "Liz Young"),
            ("José Álvarez", "Jose Alvarez"),
            ("Jose Alvarez", "José Álvarez"),
            ("Catherine Smith", "Kathryn Smyth"),
        ],
    )
    def test_nicknames_accents_and_sounds(self, agency_a, stored, typed):
        client = ClientFactory(agency=agency_a, legal_name=stored, date_of_birth=None)
        assert offered(agency_a, legal_name=typed) == [client]

    def test_a_nickname_as_preferred_name(self, agency_a):
        client = ClientFactory(agency=agency_a, legal_name="Smith, William", date_of_birth=None)
        assert offered(agency_a, legal_name="Billy Smith") == [client]

    def test_same_birth_date_and_one_name_word_in_common(self, agency_a):
        client = ClientFactory(
            agency=agency_a, legal_name="Alice Client", date_of_birth=datetime.date(1990, 4, 12)
        )
        found = find_likely_clients(
            agency=agency_a, legal_name="Elin Client", date_of_birth=datetime.date(1990, 4, 12)
        )
        assert [s.client for s in found] == [client]

    def test_merged_records_and_the_client_itself_are_not_offered(self, agency_a, marcus):
        merged = ClientFactory(agency=agency_a, legal_name="Marcus Bell", date_of_birth=None)
        merged.merged_into = marcus
        merged.save()
        assert offered(agency_a, legal_name="Marcus Bell") == [marcus]
        assert offered(agency_a, legal_name="Marcus Bell", exclude_pk=marcus.pk) == []

    def test_unidentified_people_are_not_offered_by_name(self, agency_a):
        ClientFactory(
            agency=agency_a,
            legal_name="",
            is_unidentified=True,
            description="man, about 40, red jacket",
            date_of_birth=None,
        )
        assert offered(agency_a, legal_name="Red Jacket") == []


class TestSuggestionQueries:
    def test_the_number_of_queries_does_not_grow_with_the_candidates(
        self, agency_a, django_assert_max_num_queries
    ):
        for _ in range(12):
            ClientFactory(agency=agency_a, legal_name="Marcus Bell", date_of_birth=None)
        # Exact-key branch, identifier branch, names, the rows, their identifiers.
        with django_assert_max_num_queries(5):
            found = find_likely_clients(
                agency=agency_a,
                legal_name="Marcus Bel",
                phone="541 555 0000",
                identifiers=[("hmis", "X-1")],
            )
        assert len(found) == 5

    def test_another_agencys_clients_are_never_offered_by_name(self, agency_a):
        ClientFactory(agency=AgencyFactory(), legal_name="Marcus Bell", date_of_birth=None)
        assert offered(agency_a, legal_name="Marcus Bell") == []
