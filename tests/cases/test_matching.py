import datetime

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

    def test_without_birth_date_the_same_name_is_offered(self, agency_a):
        client = ClientFactory(agency=agency_a, legal_name="María López", date_of_birth=None)
        ClientFactory(agency=agency_a, legal_name="Maria Lopez Garcia")
        found = find_likely_clients(agency=agency_a, legal_name="maria lopez")
        assert [s.client for s in found] == [client]
        assert found[0].reasons == ["same name (no date of birth given)"]

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
