"""The safety plan's pages: writing it on a case, reading it and its versions, the print
page and the PDF, and its card on the case page."""

import re

import pytest
from django.urls import reverse
from django.utils import translation

from audit.models import Action, AuditEvent
from cases import services as case_services
from cases.models import CloseReason
from plans import pdf
from plans.models import PROMPTS, SafetyPlan, SafetyPlanVersion, Section
from plans.services import save_safety_plan
from tests.directory.factories import PhoneFactory, ServiceFactory
from tests.followups.factories import due_followup
from tests.plans.factories import make_safety_plan, plan_content

pytestmark = pytest.mark.django_db


def edit_url(case, **query):
    url = reverse("plans:safety_plan_edit", args=[case.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def plan_url(name, case, *args):
    return reverse(f"plans:{name}", args=[case.client_id, *args])


def form_data(**overrides):
    """The form as a worker fills it in: each step's boxes, empty ones included."""
    data = {
        "warning_signs": ["Not sleeping", "Staying in my room", ""],
        "coping": ["Walk the dog", "", ""],
        "distractions-name": ["The library on 5th", ""],
        "distractions-phone": ["", ""],
        "help_people-name": ["My sister Ana", ""],
        "help_people-phone": ["541-555-0101", ""],
        "professionals-name": ["Dr Lee", ""],
        "professionals-phone": ["541-555-0199", ""],
        "means-kind": ["medications", ""],
        "means-step": ["Pharmacy keeps the refill", ""],
        "means-who": ["Ana", ""],
        "reasons": ["My kids", ""],
        "change_note": "",
    }
    data.update(overrides)
    return data


def html_of(response):
    return response.content.decode()


def fieldset(html, name):
    """The form's fieldset of one step."""
    match = re.search(rf'<fieldset[^>]*id="step-{name}".*?</fieldset>', html, re.S)
    assert match, f"step {name} is on the form"
    return match.group()


def audited(action, obj, **detail):
    events = AuditEvent.objects.filter(
        action=action, object_type=obj._meta.model_name, object_id=str(obj.pk)
    )
    return [e for e in events if all(e.detail.get(k) == v for k, v in detail.items())]


class TestWritingThePlan:
    def test_the_page_asks_each_step_in_our_words_with_988_and_the_agency_line(
        self, login, alice, alice_case
    ):
        alice.agency.crisis_line = "541-555-0000"
        alice.agency.save()

        html = html_of(login(alice).get(edit_url(alice_case)))

        for section in Section:
            step = fieldset(html, section.value)
            assert str(section.label) in step
            assert str(PROMPTS[section]) in step
        assert "988" in fieldset(html, "professionals")
        assert "541-555-0000" in fieldset(html, "professionals")
        assert "optional" in fieldset(html, "reasons")

    def test_a_teammate_saves_the_first_version_and_is_back_on_the_case(
        self, login, alice, bob, alice_case
    ):
        response = login(bob).post(edit_url(alice_case), form_data(change_note="First plan"))

        assert response.status_code == 302
        assert response.url == reverse("casework:case_detail", args=[alice_case.pk])
        version = SafetyPlan.objects.get(client=alice_case.client).current
        assert (version.number, version.created_by, version.change_note) == (1, bob, "First plan")
        assert version.warning_signs == ["Not sleeping", "Staying in my room"]
        assert version.help_people == [{"name": "My sister Ana", "phone": "541-555-0101"}]
        means = version.means.get()
        assert (means.kind, means.step, means.who, means.is_confirmed) == (
            "medications",
            "Pharmacy keeps the refill",
            "Ana",
            False,
        )
        assert audited(Action.CREATE, version.plan, version=1)

    def test_the_form_starts_from_the_current_version(self, login, alice, alice_case):
        make_safety_plan(alice, alice_case)

        html = html_of(login(alice).get(edit_url(alice_case)))

        assert 'value="Walk the dog"' in fieldset(html, "coping")
        assert 'value="My sister Ana"' in fieldset(html, "help_people")
        assert 'value="Pharmacy keeps the refill"' in fieldset(html, "means")
        assert "Starting from version 1" in html

    def test_a_ticked_done_box_confirms_its_own_row(self, login, alice, alice_case):
        data = form_data(
            **{
                "means-kind": ["firearms", "medications"],
                "means-step": ["Guns to my brother's safe", "Pharmacy keeps the refill"],
                "means-who": ["Sam", "Ana"],
                "means-confirmed": ["1"],
            }
        )

        login(alice).post(edit_url(alice_case), data)

        version = SafetyPlan.objects.get(client=alice_case.client).current
        assert [(m.kind, m.is_confirmed) for m in version.means.all()] == [
            ("firearms", False),
            ("medications", True),
        ]
        assert version.means.get(kind="medications").confirmed_by == alice

    def test_a_refusal_lands_beside_its_step_and_keeps_everything_typed(
        self, login, alice, alice_case
    ):
        data = form_data(warning_signs=["", "", ""], change_note="Talked it over")

        response = login(alice).post(edit_url(alice_case), data)

        assert response.status_code == 200
        html = html_of(response)
        assert "Write at least one entry" in fieldset(html, "warning_signs")
        assert "Write at least one entry" not in fieldset(html, "coping")
        # The summary at the top names the step and leads to its first box.
        assert (
            f'href="#id_warning_signs" data-field="warning_signs">{Section.WARNING_SIGNS.label}:'
            in html
        )
        assert 'id="id_warning_signs"' in fieldset(html, "warning_signs")
        assert 'value="Walk the dog"' in html
        assert 'value="541-555-0101"' in html
        assert 'value="Pharmacy keeps the refill"' in html
        assert 'value="Talked it over"' in html
        assert not SafetyPlan.objects.exists()

    def test_a_means_step_without_who_is_refused_at_step_six_keeping_its_box(
        self, login, alice, alice_case
    ):
        data = form_data(
            **{"means-who": ["", ""], "means-confirmed": ["0"], "reasons": ["My kids", "Art"]}
        )

        html = html_of(login(alice).post(edit_url(alice_case), data))

        step = fieldset(html, "means")
        assert "Say who will do each step." in step
        assert re.search(r'name="means-confirmed" value="0" checked', step)
        assert '<option value="medications" selected>' in step
        assert 'value="Art"' in fieldset(html, "reasons")

    def test_a_version_is_linked_to_the_contact_it_was_made_during(self, login, alice, alice_case):
        contact = alice_case.contacts.get()

        page = login(alice).get(edit_url(alice_case, contact=contact.pk))
        login(alice).post(edit_url(alice_case, contact=contact.pk), form_data())

        assert "Made during the contact" in html_of(page)
        assert SafetyPlan.objects.get(client=alice_case.client).current.contact == contact

    def test_and_to_the_followup_call(self, login, alice, alice_case):
        followup = due_followup(alice_case)

        login(alice).post(edit_url(alice_case, followup=followup.pk), form_data())

        assert SafetyPlan.objects.get(client=alice_case.client).current.followup == followup

    def test_a_contact_or_followup_of_another_case_is_404(self, login, alice, alice_case, bob_case):
        other_contact = bob_case.contacts.get()
        other_followup = due_followup(bob_case)
        worker = login(alice)

        assert worker.get(edit_url(alice_case, contact=other_contact.pk)).status_code == 404
        assert (
            worker.post(edit_url(alice_case, followup=other_followup.pk), form_data()).status_code
            == 404
        )
        assert worker.get(edit_url(alice_case, contact="x")).status_code == 404
        assert not SafetyPlan.objects.exists()
        assert AuditEvent.objects.filter(
            action=Action.DENIED, object_type="contact", object_id=str(other_contact.pk)
        ).exists()

    def test_services_are_picked_from_the_directory(self, login, alice, alice_case):
        ours = ServiceFactory(agency=alice.agency, name="Riverbend warmline")
        PhoneFactory(service=ours, number="541-555-0333")

        page = html_of(login(alice).get(edit_url(alice_case)))
        login(alice).post(edit_url(alice_case), form_data(services=[str(ours.pk)]))

        assert "Riverbend warmline" in fieldset(page, "professionals")
        version = SafetyPlan.objects.get(client=alice_case.client).current
        assert version.services == [
            {"service_id": str(ours.pk), "name": "Riverbend warmline", "phone": "541-555-0333"}
        ]

    def test_finding_services_saves_nothing_and_keeps_what_was_typed(
        self, login, alice, carol, alice_case
    ):
        ServiceFactory(agency=alice.agency, name="Riverbend warmline")
        ServiceFactory(agency=alice.agency, name="Food pantry")
        ServiceFactory(agency=carol.agency, name="Riverbend in another agency")
        data = form_data(action="find_services", service_q="riverbend", warning_signs=[""])

        response = login(alice).post(edit_url(alice_case), data)

        html = html_of(response)
        results = re.search(r'<div id="service-results".*?</div>\s*\n', html, re.S).group()
        assert "Riverbend warmline" in results
        assert "Food pantry" not in results
        assert "another agency" not in results
        assert "Write at least one entry" not in html
        assert 'value="Walk the dog"' in html
        assert not SafetyPlan.objects.exists()

    def test_an_unchanged_plan_is_a_form_error(self, login, alice, alice_case):
        make_safety_plan(alice, alice_case)
        content = plan_content()
        data = form_data(
            coping=content.coping,
            **{"distractions-name": ["The library on 5th"], "distractions-phone": [""]},
        )

        response = login(alice).post(edit_url(alice_case), data)

        assert response.status_code == 200
        assert "Nothing in the plan changed." in html_of(response)
        assert SafetyPlanVersion.objects.count() == 1

    def test_queries_do_not_grow_with_the_services_chosen_and_offered(
        self, login, alice, alice_case, django_assert_max_num_queries
    ):
        services = [ServiceFactory(agency=alice.agency) for _ in range(3)]
        make_safety_plan(alice, alice_case, service_ids=[str(s.pk) for s in services[:1]])
        client = login(alice)
        client.get(edit_url(alice_case))
        with django_assert_max_num_queries(14) as few:
            client.get(edit_url(alice_case))
        more = [ServiceFactory(agency=alice.agency) for _ in range(20)]
        for service in services + more:
            PhoneFactory(service=service)
        make_safety_plan(alice, alice_case, service_ids=[str(s.pk) for s in services + more[:5]])
        with django_assert_max_num_queries(len(few.captured_queries)):
            assert client.get(edit_url(alice_case)).status_code == 200

    def test_a_closed_case_says_where_to_write_it(self, login, alice, alice_case):
        case_services.close_case(actor=alice, case=alice_case, reason=CloseReason.STABILISED)

        html = html_of(login(alice).get(edit_url(alice_case)))

        assert "This case is closed" in html
        assert 'id="safety-plan-form"' not in html

    @pytest.mark.parametrize("persona", ["erin", "carol"])
    def test_anyone_off_the_case_gets_404_audited(self, request, login, persona, alice_case):
        user = request.getfixturevalue(persona)
        client = login(user)

        assert client.get(edit_url(alice_case)).status_code == 404
        assert client.post(edit_url(alice_case), form_data()).status_code == 404
        assert not SafetyPlan.objects.exists()
        assert (
            AuditEvent.objects.filter(
                action=Action.DENIED, actor=user, object_type="case", object_id=str(alice_case.pk)
            ).count()
            == 2
        )

    def test_the_agency_admin_reads_but_may_not_write(self, login, dana, alice_case):
        client = login(dana)

        assert client.get(edit_url(alice_case)).status_code == 403
        assert client.post(edit_url(alice_case), form_data()).status_code == 403
        assert not SafetyPlan.objects.exists()
        assert AuditEvent.objects.filter(
            action=Action.DENIED, actor=dana, detail__reason="read only"
        ).exists()


class TestReadingThePlan:
    def test_the_page_shows_the_current_version_and_every_version(
        self, login, alice, bob, alice_case
    ):
        make_safety_plan(alice, alice_case)
        contact = alice_case.contacts.get()
        plan = SafetyPlan.objects.get()
        save_safety_plan(
            actor=bob,
            case=alice_case,
            content=plan_content(coping=["Walk the dog", "Call Ana"]),
            contact=contact,
            change_note="Added calling Ana",
        )

        response = login(alice).get(plan_url("safety_plan", alice_case))

        html = html_of(response)
        assert "Call Ana" in html
        versions = re.search(r'<ul[^>]*id="plan-versions".*?</ul>', html, re.S).group()
        assert versions.index('data-version="2"') < versions.index('data-version="1"')
        assert "Added calling Ana" in versions
        assert "Made during the contact" in versions
        assert str(bob) in versions and str(alice) in versions
        assert "plan-links" in html  # the client's links (plans/_safety_plan_links.html)
        assert reverse("plans:safety_plan_edit", args=[alice_case.pk]) in html
        assert audited(Action.VIEW, plan)

    def test_the_agency_admin_reads_it_without_a_way_to_change_it(
        self, login, alice, dana, alice_case
    ):
        make_safety_plan(alice, alice_case)

        response = login(dana).get(plan_url("safety_plan", alice_case))

        assert response.status_code == 200
        assert reverse("plans:safety_plan_edit", args=[alice_case.pk]) not in html_of(response)

    @pytest.mark.parametrize("name", ["safety_plan", "safety_plan_print", "safety_plan_pdf"])
    @pytest.mark.parametrize("persona", ["erin", "carol"])
    def test_anyone_off_the_case_gets_404_audited(
        self, request, login, alice, alice_case, name, persona
    ):
        make_safety_plan(alice, alice_case)
        plan = SafetyPlan.objects.get()
        user = request.getfixturevalue(persona)

        assert login(user).get(plan_url(name, alice_case)).status_code == 404
        assert AuditEvent.objects.filter(
            action=Action.DENIED, actor=user, object_type="safetyplan", object_id=str(plan.pk)
        ).exists()
        assert not AuditEvent.objects.filter(actor=user, action__in=[Action.VIEW, Action.EXPORT])

    def test_a_client_without_a_plan_is_404(self, login, alice, alice_case):
        assert login(alice).get(plan_url("safety_plan", alice_case)).status_code == 404

    def test_queries_do_not_grow_with_the_versions(
        self, login, alice, alice_case, django_assert_max_num_queries
    ):
        make_safety_plan(alice, alice_case)
        client = login(alice)
        url = plan_url("safety_plan", alice_case)
        client.get(url)
        with django_assert_max_num_queries(14) as few:
            client.get(url)
        for n in range(2, 8):
            make_safety_plan(alice, alice_case, reasons=[f"Reason {n}"])
        with django_assert_max_num_queries(len(few.captured_queries)):
            assert client.get(url).status_code == 200

    def test_an_earlier_version_shows_what_changed_after_it(self, login, alice, alice_case):
        make_safety_plan(alice, alice_case)
        make_safety_plan(alice, alice_case, coping=["Walk the dog", "Call Ana"])
        plan = SafetyPlan.objects.get()
        client = login(alice)

        second = html_of(client.get(plan_url("safety_plan_version", alice_case, 2)))
        first = html_of(client.get(plan_url("safety_plan_version", alice_case, 1)))

        assert re.search(r'class="sp-step[^"]* sp-changed" id="step-coping"', second)
        assert not re.search(r'sp-changed" id="step-warning_signs"', second)
        assert "The first version of the plan." in first
        assert "An earlier version" in first
        assert "Call Ana" not in first
        assert audited(Action.VIEW, plan, version=1)
        assert client.get(plan_url("safety_plan_version", alice_case, 9)).status_code == 404


class TestPrintAndPdf:
    def test_the_print_page_is_the_clients_plan_without_navigation(self, login, alice, alice_case):
        alice_case.client.preferred_name = "Ali"
        alice_case.client.save()
        make_safety_plan(alice, alice_case)
        plan = SafetyPlan.objects.get()

        response = login(alice).get(plan_url("safety_plan_print", alice_case))

        html = html_of(response)
        assert response["Content-Language"] == "en"
        assert "navbar" not in html
        assert "Ali" in html
        assert "Walk the dog" in html and "988" in html
        assert f"#{alice_case.pk}" not in html
        assert "risk" not in html.lower()
        assert audited(Action.EXPORT, plan, format="print", language="en")

    def test_it_speaks_the_clients_language_unless_asked(self, login, alice, alice_case):
        alice_case.client.preferred_language = "Spanish"
        alice_case.client.save()
        make_safety_plan(alice, alice_case)
        client = login(alice)

        spanish = client.get(plan_url("safety_plan_print", alice_case))
        english = client.get(plan_url("safety_plan_print", alice_case) + "?lang=en")

        assert spanish["Content-Language"] == "es"
        with translation.override("es"):
            assert str(Section.COPING.label) in html_of(spanish)
        assert str(Section.COPING.label) in html_of(english)

    def test_the_pdf_is_inline_not_stored_and_audited(self, login, alice, alice_case):
        make_safety_plan(alice, alice_case)
        plan = SafetyPlan.objects.get()

        response = login(alice).get(plan_url("safety_plan_pdf", alice_case) + "?lang=es")

        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == 'inline; filename="safety-plan.pdf"'
        assert "no-store" in response["Cache-Control"]
        assert response.content.startswith(b"%PDF")
        assert audited(Action.EXPORT, plan, format="pdf", language="es")

    def test_without_weasyprints_libraries_the_print_page_answers_503(
        self, login, alice, alice_case, monkeypatch
    ):
        make_safety_plan(alice, alice_case)

        def no_pango(name):
            raise OSError("cannot load library 'libpango-1.0-0'")

        monkeypatch.setattr(pdf, "import_module", no_pango)

        response = login(alice).get(plan_url("safety_plan_pdf", alice_case))

        assert response.status_code == 503
        html = html_of(response)
        assert "The PDF cannot be made on this server right now" in html
        assert "Walk the dog" in html


class TestTheCaseCard:
    def card(self, response):
        html = html_of(response)
        return re.search(r'<section[^>]*id="case-safety-plan".*?</section>', html, re.S).group()

    def test_without_a_plan_the_worker_is_offered_to_make_one(self, login, alice, dana, alice_case):
        url = reverse("casework:case_detail", args=[alice_case.pk])

        assert "Make a safety plan" in self.card(login(alice).get(url))
        assert "Make a safety plan" not in self.card(login(dana).get(url))

    def test_it_shows_the_version_the_warning_signs_and_the_steps_to_confirm(
        self, login, alice, alice_case
    ):
        step = plan_content().means[0]
        done = plan_content().means[0]
        done.step, done.confirmed = "Guns at my brother's", True
        make_safety_plan(alice, alice_case, means=[step, done])

        card = self.card(login(alice).get(reverse("casework:case_detail", args=[alice_case.pk])))

        assert "Version 1" in card
        assert "Not sleeping; Staying in my room" in card
        assert "1 lethal-means step to confirm" in card
        assert reverse("plans:safety_plan_print", args=[alice_case.client_id]) in card
        assert reverse("plans:safety_plan_edit", args=[alice_case.pk]) in card
