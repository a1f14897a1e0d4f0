"""Who sees which case: the rule every page, endpoint, export and search builds on."""

import pytest

from cases import services
from cases.models import Case, Client, Contact


def visible(user):
    return set(Case.objects.visible_to(user).values_list("pk", flat=True))


@pytest.fixture
def all_cases(alice_case, bob_case, erin_case, carol_case):
    return {"alice": alice_case, "bob": bob_case, "erin": erin_case, "carol": carol_case}


class TestCaseVisibility:
    def test_a_worker_sees_their_own_and_their_teams_cases(self, alice, all_cases):
        assert visible(alice) == {all_cases["alice"].pk, all_cases["bob"].pk}

    def test_a_supervisor_sees_their_teams_cases(self, sam, all_cases):
        assert visible(sam) == {all_cases["alice"].pk, all_cases["bob"].pk}

    def test_an_agency_admin_sees_the_whole_agency(self, dana, all_cases):
        assert visible(dana) == {all_cases["alice"].pk, all_cases["bob"].pk, all_cases["erin"].pk}

    def test_another_agency_sees_nothing(self, carol, all_cases):
        assert visible(carol) == {all_cases["carol"].pk}

    def test_a_system_admin_sees_no_client_data(self, root, all_cases):
        assert visible(root) == set()
        assert not Client.objects.visible_to(root).exists()

    def test_access_follows_assignment_not_authorship(self, sam, alice, erin, alice_case):
        # alice recorded the case's contacts; once it moves to another team she no
        # longer sees it, and erin, its new worker, does.
        sam.supervised_teams.add(erin.team)
        services.reassign_case(actor=sam, case=alice_case, to_worker=erin)
        assert alice_case.pk in visible(erin)
        assert alice_case.pk not in visible(alice)

    def test_agency_admins_read_but_do_not_write(self, dana, all_cases):
        assert not Case.objects.writable_by(dana).exists()

    def test_clients_and_contacts_follow_their_cases(self, alice, all_cases):
        clients = set(Client.objects.visible_to(alice).values_list("pk", flat=True))
        assert clients == {all_cases["alice"].client_id, all_cases["bob"].client_id}
        contacts = set(Contact.objects.visible_to(alice).values_list("case_id", flat=True))
        assert contacts == {all_cases["alice"].pk, all_cases["bob"].pk}


class TestEmergencyAccessScope:
    def test_it_reads_and_records_but_does_not_change_others_work(self, erin, alice_case):
        services.grant_emergency_access(
            actor=erin, case=alice_case, reason="On scene, client in crisis"
        )
        assert alice_case.pk in visible(erin)
        assert Case.objects.contactable_by(erin).filter(pk=alice_case.pk).exists()
        assert not Case.objects.writable_by(erin).filter(pk=alice_case.pk).exists()

    def test_a_contact_recorded_under_it_does_not_outlive_it(
        self, erin, alice_case, record_contact_for
    ):
        import datetime

        import time_machine

        grant = services.grant_emergency_access(
            actor=erin, case=alice_case, reason="On scene, client in crisis"
        )
        record_contact_for(erin, client=alice_case.client)
        with time_machine.travel(grant.expires_at + datetime.timedelta(minutes=1)):
            assert alice_case.pk not in visible(erin)
            assert not Case.objects.contactable_by(erin).filter(pk=alice_case.pk).exists()
