"""The exports list names each export's filters as people know them ("Team: Mobile crisis
1"), never as the stored ids ("team=1")."""

import pytest
from django.urls import reverse

from reports.models import ExportJob
from tests.directory.factories import OrganizationFactory, ServiceFactory

EXPORTS = reverse("reports:exports")

pytestmark = pytest.mark.django_db


@pytest.fixture
def filtered_export(sam, team_a, alice):
    service = ServiceFactory(
        name="Walk-in counselling", organization=OrganizationFactory(name="Lane Behavioral")
    )
    alice.first_name, alice.last_name = "Alice", "Moreno"
    alice.save()
    filters = {
        "sent_from": "2026-12-05",
        "team": team_a.pk,
        "worker": alice.pk,
        "need_category": "mental_health",
        "organization": str(service.organization_id),
        "service": str(service.pk),
        "status": "completed",
        "outcome": "got_help",
    }
    return ExportJob.objects.create(
        agency_id=sam.agency_id, requested_by=sam, format="csv", filters=filters
    )


class TestExportFilters:
    def test_each_filter_is_shown_by_its_name(self, login, sam, filtered_export):
        html = login(sam).get(EXPORTS).content.decode()

        for shown in [
            "Sent from: Sat 5 Dec 2026",
            "Team: Mobile crisis 1",
            "Worker: Alice Moreno",
            "Need: Counselling and mental health",
            "Organization: Lane Behavioral",
            "Service: Walk-in counselling",
            "Status: Completed",
            "Outcome: Got help",
        ]:
            assert shown in html
        assert "team=" not in html

    def test_the_row_polled_while_it_runs_names_them_too(self, login, sam, filtered_export):
        response = login(sam).get(reverse("reports:export_status", args=[filtered_export.pk]))

        assert "Team: Mobile crisis 1" in response.content.decode()

    def test_the_list_names_them_in_fixed_queries(
        self, login, sam, filtered_export, django_assert_max_num_queries
    ):
        for _ in range(5):
            ExportJob.objects.create(
                agency_id=sam.agency_id,
                requested_by=sam,
                format="csv",
                filters=filtered_export.filters,
            )
        web = login(sam)

        # The page's 9 (tests/reports/test_views.py), and one per kind of name.
        with django_assert_max_num_queries(13):
            response = web.get(EXPORTS)

        assert response.content.decode().count("Team: Mobile crisis 1") == 6
