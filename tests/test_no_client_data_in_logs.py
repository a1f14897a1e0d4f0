"""A canary: a client with a name and phone number found nowhere else is recorded through
the pages, then looked for through every page that carries such things in its query
string. Neither the audit trail, as the system admin reads it in the admin, nor the log
output may hold the name or the number afterwards."""

import logging
import re

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from cases.models import Client
from tests.casework.test_contact_form import NEW_URL, SUGGEST_URL, form_data

GIVEN, FAMILY = "Quillon", "Marchbanks"
NAME = f"{GIVEN} {FAMILY}"
PHONE = "(541) 555-0187"
CANARIES = (GIVEN, FAMILY, "541) 555-0187", "541-555-0187", "5415550187", "555-0187", "5550187")


def leaks(text: str) -> list[str]:
    """The canaries in `text`, however cased."""
    return [canary for canary in CANARIES if canary.casefold() in text.casefold()]


@pytest.fixture
def searched(alice, sam, login, caplog):
    """Alice records the client, then she and her supervisor search for them every way
    the pages allow. Returns the new client."""
    caplog.set_level(logging.DEBUG)
    page = login(alice)
    response = page.post(NEW_URL, form_data(legal_name=NAME, preferred_name="", phone=PHONE))
    client = Client.objects.filter(legal_name=NAME).first()
    assert client is not None, (response.status_code, response.get("Location"))
    case = client.cases.get()
    walks = [
        (SUGGEST_URL, {"legal_name": NAME, "phone": PHONE}),
        (SUGGEST_URL, {"phone": PHONE}),
        (reverse("cases:client_search"), {"q": NAME}),
        (reverse("cases:client_search"), {"q": PHONE, "page": "1"}),
        (reverse("cases:client_merge", args=[client.pk]), {"q": FAMILY}),
        (reverse("casework:caseload"), {"show": "mine", "q": NAME}),
        (reverse("casework:case_detail", args=[case.pk]), {"from": NAME}),
        ("/api/v1/clients/", {"q": NAME}),
        ("/api/v1/contacts/", {"legal_name": NAME}),
        # Refused and missing pages are logged: their lines keep the path only.
        (reverse("casework:case_detail", args=[10**9]), {"q": NAME}),
    ]
    for url, query in walks:
        assert page.get(url, query).status_code < 500, url
    supervisor = login(sam)
    for url in (reverse("supervision:case_list"), reverse("supervision:team")):
        assert supervisor.get(url, {"q": NAME, "legal_name": NAME, "status": "open"}).status_code
    return client


class TestNoClientDataInTheAuditTrailOrTheLogs:
    def test_the_canary_is_really_in_the_database(self, searched):
        # Else the searches below could find nothing and the test could not fail.
        assert searched.legal_name == NAME and searched.phone
        assert AuditEvent.objects.filter(path__startswith=f"{SUGGEST_URL}?").count() == 2
        assert AuditEvent.objects.filter(client_id=searched.pk).exists()

    def test_the_audit_rows_hold_neither_name_nor_phone(self, searched):
        rows = AuditEvent.objects.values_list("path", "detail")
        assert rows
        assert [row for row in rows if leaks(str(row))] == []
        suggest_paths = AuditEvent.objects.filter(path__startswith=f"{SUGGEST_URL}?").values_list(
            "path", flat=True
        )
        # The trail still says how the search was made: the parameters' names.
        assert sorted(suggest_paths) == [
            f"{SUGGEST_URL}?legal_name&phone",
            f"{SUGGEST_URL}?phone",
        ]

    def test_the_admin_shows_neither_name_nor_phone(self, searched, root, client):
        client.force_login(root)
        changelist = reverse("admin:audit_auditevent_changelist")
        # The trail searched for the client's events: rows that name them, by id only.
        pages = [changelist, f"{changelist}?all=&q=client:{searched.pk}"]
        assert client.get(pages[1]).context["cl"].result_count > 0
        pages += [
            reverse("admin:audit_auditevent_change", args=[pk])
            for pk in AuditEvent.objects.values_list("pk", flat=True)
        ]
        for url in pages:
            response = client.get(url)
            assert response.status_code == 200, url
            text = response.content.decode()
            assert leaks(text) == [], url
        # The detail pages did show the rows' paths (the test looked where they are).
        last = client.get(
            reverse(
                "admin:audit_auditevent_change",
                args=[AuditEvent.objects.filter(path__startswith=f"{SUGGEST_URL}?").first().pk],
            )
        )
        assert f"{SUGGEST_URL}?" in last.content.decode()

    def test_the_log_output_holds_neither_name_nor_phone(self, searched, caplog):
        # The searches ran while the fixture was set up.
        records = caplog.get_records("setup") + caplog.get_records("call")
        lines = [f"{record.name} {record.getMessage()} {record.args!r}" for record in records]
        assert [line for line in lines if leaks(line)] == []
        assert any(re.search(r"GET /cases/1000000000/ 404", line) for line in lines), lines
