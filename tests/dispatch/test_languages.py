"""Why a unit was released and how an alert was resolved, in each reader's language: the
product's own words are stored in English with their message (core.i18n.stored_text) and
read in the reader's language; what a dispatcher typed reads as typed, and so does a row
written before its message was stored."""

import pytest
from django.urls import reverse
from django.utils import translation

from dispatch import services
from dispatch.models import Alert, Assignment, Step
from dispatch.services import safety

pytestmark = pytest.mark.django_db


def shown(row, attribute, language):
    with translation.override(language):
        return getattr(row, attribute)


class TestReleaseReason:
    def test_back_in_service(self, request_at):
        assignment = request_at("completed").assignments.get()

        assert assignment.release_reason == "back in service"
        assert assignment.release_reason_i18n == {"m": "back in service", "a": {}}
        assert shown(assignment, "display_release_reason", "en") == "back in service"
        assert shown(assignment, "display_release_reason", "es") == "de nuevo en servicio"

    def test_not_served_names_its_reason_as_a_label(self, request_at, dex):
        request = request_at("en_route")
        services.close_not_served(request=request, reason="no_one_found", actor=dex)

        assignment = request.assignments.get()
        assert assignment.release_reason == "not served: no one found"
        assert assignment.release_reason_i18n == {
            "m": "not served: %(reason)s",
            "a": {"reason": {"t": "no one found"}},
        }
        assert shown(assignment, "display_release_reason", "en") == "not served: no one found"
        assert shown(assignment, "display_release_reason", "es") == (
            "no atendida: no se encontró a nadie"
        )

    def test_a_reason_the_dispatcher_typed_reads_as_typed(self, request_at, dex):
        request = request_at("en_route")
        services.release_unit(request=request, actor=dex, reason="Diverted to a higher priority")

        assignment = request.assignments.get()
        assert assignment.release_reason_i18n is None
        assert shown(assignment, "display_release_reason", "es") == (
            "Diverted to a higher priority"
        )

    def test_a_row_written_before_keeps_its_english(self, request_at):
        assignment = request_at("completed").assignments.get()
        Assignment.objects.filter(pk=assignment.pk).update(release_reason_i18n=None)
        assignment.refresh_from_db()

        assert shown(assignment, "display_release_reason", "es") == "back in service"

    @pytest.mark.parametrize(
        ("language", "expected", "absent"),
        [("es", "de nuevo en servicio", "(back in service)"), ("en", "back in service", None)],
    )
    def test_the_request_page_shows_it_in_the_readers_language(
        self, client, dex, request_at, language, expected, absent
    ):
        request = request_at("completed")
        dex.language = language
        dex.save(update_fields=["language"])
        client.force_login(dex)

        page = client.get(reverse("dispatch:request", args=[request.pk])).content.decode()

        assert f"({expected})" in page
        if absent:
            assert absent not in page


class TestTeamsSent:
    @pytest.mark.parametrize(
        ("language", "clinician", "peer"),
        [
            ("en", "Licensed clinician", "Peer specialist"),
            ("es", "Profesional clínico con licencia", "Especialista de apoyo entre pares"),
        ],
    )
    def test_each_member_is_named_with_their_credential_in_words(
        self, client, dex, request_at, language, clinician, peer
    ):
        request = request_at("on_scene")
        dex.language = language
        dex.save(update_fields=["language"])
        client.force_login(dex)

        page = client.get(reverse("dispatch:request", args=[request.pk])).content.decode()

        assert f"({clinician})" in page and f"({peer})" in page
        assert "licensed_clinician" not in page


class TestAlertResolution:
    def test_a_check_in(self, request_at, on_shift, alice, frozen):
        request_at("on_scene")
        safety.sweep_safety(now=frozen.shift(minutes=21))
        safety.check_in(unit=on_shift, actor=alice)

        alert = Alert.objects.get()
        assert alert.resolution == "The team checked in."
        assert shown(alert, "display_resolution", "en") == "The team checked in."
        assert shown(alert, "display_resolution", "es") == "El equipo reportó su estado."

    def test_a_step_the_team_recorded_names_it_as_a_label(
        self, request_at, on_shift, alice, frozen
    ):
        request_at("on_scene")
        safety.sweep_safety(now=frozen.shift(minutes=21))
        services.advance(
            unit=on_shift, actor=alice, to=Step.TRANSPORTING, destination="Crisis centre"
        )

        alert = Alert.objects.get()
        assert alert.resolution == "The team recorded: Left scene, transporting."
        assert shown(alert, "display_resolution", "es") == (
            "El equipo registró: Salió del lugar, en traslado."
        )

    def test_an_acknowledgement(self, request_at, alice, frozen):
        request = request_at("assigned")
        safety.sweep_safety(now=frozen.shift(seconds=130))
        services.acknowledge(assignment=request.assignments.get(), actor=alice)

        alert = Alert.objects.get()
        assert shown(alert, "display_resolution", "en") == "The unit acknowledged."
        assert shown(alert, "display_resolution", "es") == "La unidad confirmó la recepción."

    def test_a_release_keeps_the_reason_the_dispatcher_typed(self, request_at, dex, frozen):
        request = request_at("assigned")
        safety.sweep_safety(now=frozen.shift(seconds=130))
        services.release_unit(request=request, actor=dex, reason="diverted")

        alert = Alert.objects.get()
        assert alert.resolution == "Released: diverted"
        assert shown(alert, "display_resolution", "es") == "Liberada: diverted"

    def test_a_release_the_product_wrote_reads_whole_in_the_readers_language(
        self, request_at, dex, frozen
    ):
        request = request_at("assigned")
        safety.sweep_safety(now=frozen.shift(seconds=130))
        services.close_not_served(request=request, reason="cancelled_before_arrival", actor=dex)

        alert = Alert.objects.get()
        assert alert.resolution == "Released: not served: cancelled before arrival"
        assert shown(alert, "display_resolution", "es") == (
            "Liberada: no atendida: cancelada antes de llegar"
        )

    def test_a_resolution_a_dispatcher_typed_reads_as_typed(self, request_at, dex, frozen):
        request_at("on_scene")
        safety.sweep_safety(now=frozen.shift(minutes=21))
        alert = safety.resolve_alert(
            alert=Alert.objects.get(), actor=dex, resolution="Called the team: all well"
        )

        alert.refresh_from_db()
        assert alert.resolution_i18n is None
        assert shown(alert, "display_resolution", "es") == "Called the team: all well"

    def test_a_row_written_before_keeps_its_english(self, request_at, on_shift, alice, frozen):
        request_at("on_scene")
        safety.sweep_safety(now=frozen.shift(minutes=21))
        safety.check_in(unit=on_shift, actor=alice)
        Alert.objects.update(resolution_i18n=None)

        assert shown(Alert.objects.get(), "display_resolution", "es") == "The team checked in."
