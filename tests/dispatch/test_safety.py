"""Responder safety: the acknowledgement deadline, the check-in timer on scene, SOS, and
their escalation (dispatch.services.safety), each reaching the people who must know."""

import pytest
from django.core import mail

from dispatch import services
from dispatch.exceptions import InvalidTransition, NotAllowed, NotOnShift
from dispatch.models import Alert, AlertKind, UnitEvent, UnitEventKind
from dispatch.services import safety
from notifications.models import Channel, Kind, Notification

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def addresses(dex, sam, dana):
    """The people an alert reaches by email have an address (the factory gives none)."""
    for person in (dex, sam, dana):
        person.email = f"{person.username}@example.org"
        person.save(update_fields=["email"])


def alerts_to(user, kind=Kind.DISPATCH_ALERT):
    return Notification.objects.filter(recipient=user, kind=kind)


class TestAcknowledgementDeadline:
    def test_a_unit_late_to_acknowledge_alerts_the_dispatchers_once(
        self, request_at, dex, sam, frozen
    ):
        request = request_at("assigned")
        assert safety.sweep_safety(now=frozen.now)["unacknowledged"] == 0

        later = frozen.shift(seconds=121)  # the default deadline is 120 s
        assert safety.sweep_safety(now=later)["unacknowledged"] == 1
        assert safety.sweep_safety(now=later)["unacknowledged"] == 0

        alert = Alert.objects.get()
        assert (alert.kind, alert.request_id, alert.is_open) == (
            AlertKind.ACK_OVERDUE,
            request.pk,
            True,
        )
        assert alerts_to(dex).filter(channel=Channel.IN_APP).count() == 1
        # An assignment late to acknowledge is the dispatcher's to chase, not an email.
        assert not alerts_to(dex).filter(channel=Channel.EMAIL).exists()
        assert not alerts_to(sam).exists()

    def test_acknowledging_resolves_it(self, request_at, alice, frozen):
        request = request_at("assigned")
        safety.sweep_safety(now=frozen.shift(seconds=130))
        services.acknowledge(assignment=request.assignments.get(), actor=alice)

        alert = Alert.objects.get()
        assert alert.resolved_by == alice
        assert alert.resolution == "The unit acknowledged."

    def test_releasing_the_unit_resolves_it(self, request_at, dex, frozen):
        request = request_at("assigned")
        safety.sweep_safety(now=frozen.shift(seconds=130))
        services.release_unit(request=request, actor=dex, reason="diverted")

        assert Alert.objects.get().resolution == "Released: diverted"


class TestCheckIn:
    def test_arriving_on_scene_starts_the_timer(self, request_at, on_shift, frozen):
        request_at("on_scene")
        on_shift.refresh_from_db()
        assert (on_shift.check_in_due_at - frozen.now).total_seconds() == 20 * 60

    def test_leaving_the_scene_stops_it(self, request_at, on_shift, alice):
        request_at("on_scene")
        services.advance(unit=on_shift, actor=alice, to="back_in_service")
        on_shift.refresh_from_db()
        assert on_shift.check_in_due_at is None

    def test_checking_in_moves_the_next_one_on(self, request_at, on_shift, alice, frozen):
        request_at("on_scene")
        later = frozen.shift(minutes=15)
        safety.check_in(unit=on_shift, actor=alice)

        on_shift.refresh_from_db()
        assert (on_shift.check_in_due_at - later).total_seconds() == 20 * 60
        assert UnitEvent.objects.filter(unit=on_shift, kind=UnitEventKind.CHECKED_IN).exists()
        assert safety.sweep_safety(now=frozen.shift(minutes=10))["missed_check_ins"] == 0

    def test_a_missed_check_in_tells_dispatcher_and_supervisor_by_app_and_email(
        self, request_at, on_shift, dex, sam, frozen, django_capture_on_commit_callbacks
    ):
        request = request_at("on_scene")
        frozen.shift(minutes=20, seconds=1)
        with django_capture_on_commit_callbacks(execute=True):
            counts = safety.sweep_safety(now=frozen.now)
        assert counts["missed_check_ins"] == 1
        assert safety.sweep_safety(now=frozen.now)["missed_check_ins"] == 0

        alert = Alert.objects.get()
        assert (alert.kind, alert.request_id) == (AlertKind.CHECK_IN_MISSED, request.pk)
        for person in (dex, sam):  # sam supervises van 1's team
            assert set(alerts_to(person).values_list("channel", flat=True)) == {
                Channel.IN_APP,
                Channel.EMAIL,
            }
        # The delivery is recorded, and the email names the unit, never the client.
        email = alerts_to(sam).get(channel=Channel.EMAIL)
        email.refresh_from_db()
        assert email.status == "sent"
        sent = [m for m in mail.outbox if m.to == [sam.email]]
        assert sent and "Van 1 missed its check-in" in sent[0].subject
        assert "Skinner" not in sent[0].body and "541-555" not in sent[0].body

    def test_checking_in_answers_a_missed_one(self, request_at, on_shift, alice, frozen):
        request_at("on_scene")
        safety.sweep_safety(now=frozen.shift(minutes=21))
        safety.check_in(unit=on_shift, actor=alice)

        alert = Alert.objects.get()
        assert (alert.resolved_by, alert.resolution) == (alice, "The team checked in.")

    def test_only_the_crew_checks_in(self, request_at, on_shift, erin, dex):
        request_at("on_scene")
        for outsider in (erin, dex):
            with pytest.raises(NotAllowed):
                safety.check_in(unit=on_shift, actor=outsider)

    def test_there_is_no_check_in_off_the_scene(self, request_at, on_shift, alice):
        request_at("en_route")
        with pytest.raises(InvalidTransition):
            safety.check_in(unit=on_shift, actor=alice)


class TestSos:
    def test_it_alerts_at_once_with_the_position_given(
        self, request_at, on_shift, alice, dex, sam, frozen
    ):
        request = request_at("on_scene")
        alert = safety.raise_sos(
            unit=on_shift, actor=alice, latitude="44.051234", longitude="-123.091234"
        )

        assert (alert.kind, alert.raised_by, alert.request_id) == (
            AlertKind.SOS,
            alice,
            request.pk,
        )
        assert (str(alert.latitude), str(alert.longitude)) == ("44.051234", "-123.091234")
        assert alert.position_at == frozen.now
        assert alerts_to(dex).filter(subject="SOS from Van 1").count() == 2  # app and email
        assert alerts_to(sam).filter(subject="SOS from Van 1").count() == 2
        assert UnitEvent.objects.filter(unit=on_shift, kind=UnitEventKind.SOS).exists()

    def test_without_a_position_it_gives_the_last_shared_one(self, on_shift, alice, dex, frozen):
        services.set_position_sharing(unit=on_shift, actor=alice, shares=True)
        services.record_position(unit=on_shift, actor=alice, latitude="44.1", longitude="-123.2")
        frozen.shift(minutes=3)
        alert = safety.raise_sos(unit=on_shift, actor=alice)

        assert (str(alert.latitude), str(alert.longitude)) == ("44.100000", "-123.200000")
        assert (frozen.now - alert.position_at).total_seconds() == 180
        notice = alerts_to(dex).get(channel=Channel.IN_APP)
        assert "Last known position 44.100000, -123.200000" in notice.body

    def test_off_shift_there_is_no_one_to_send(self, van, alice):
        with pytest.raises(NotOnShift):
            safety.raise_sos(unit=van, actor=alice)

    def test_only_the_crew_sends_one(self, on_shift, carol):
        with pytest.raises(NotAllowed):
            safety.raise_sos(unit=on_shift, actor=carol)


class TestEscalation:
    def test_an_unanswered_sos_reaches_every_supervisor_and_admin(
        self, on_shift, alice, sam, dana, frozen
    ):
        alert = safety.raise_sos(unit=on_shift, actor=alice)
        assert not alerts_to(dana).exists()
        assert safety.sweep_safety(now=frozen.shift(minutes=4))["escalated"] == 0

        assert safety.sweep_safety(now=frozen.shift(minutes=1))["escalated"] == 1
        assert safety.sweep_safety(now=frozen.now)["escalated"] == 0
        alert.refresh_from_db()
        assert alert.escalated_at == frozen.now
        assert alerts_to(dana).filter(subject="Unanswered: SOS from Van 1").count() == 2

    def test_a_resolved_alert_is_not_escalated(self, on_shift, alice, dex, frozen):
        alert = safety.raise_sos(unit=on_shift, actor=alice)
        safety.resolve_alert(alert=alert, actor=dex, resolution="Called the team: all well")
        assert safety.sweep_safety(now=frozen.shift(minutes=10))["escalated"] == 0

    def test_an_acknowledgement_alert_is_not_escalated(self, request_at, frozen):
        request_at("assigned")
        safety.sweep_safety(now=frozen.shift(minutes=3))
        assert safety.sweep_safety(now=frozen.shift(minutes=30))["escalated"] == 0


class TestResolveAlert:
    def test_a_dispatcher_resolves_with_how(self, on_shift, alice, dex):
        alert = safety.raise_sos(unit=on_shift, actor=alice)
        safety.resolve_alert(alert=alert, actor=dex, resolution="  Police on their way  ")
        alert.refresh_from_db()
        assert (alert.resolved_by, alert.resolution) == (dex, "Police on their way")

    def test_how_is_required(self, on_shift, alice, dex):
        alert = safety.raise_sos(unit=on_shift, actor=alice)
        with pytest.raises(InvalidTransition):
            safety.resolve_alert(alert=alert, actor=dex, resolution=" ")

    def test_not_by_the_crew_nor_another_agency(self, on_shift, alice, bea):
        alert = safety.raise_sos(unit=on_shift, actor=alice)
        for outsider in (alice, bea):
            with pytest.raises(NotAllowed):
                safety.resolve_alert(alert=alert, actor=outsider, resolution="done")

    def test_not_twice(self, on_shift, alice, dex):
        alert = safety.raise_sos(unit=on_shift, actor=alice)
        safety.resolve_alert(alert=alert, actor=dex, resolution="done")
        with pytest.raises(InvalidTransition):
            safety.resolve_alert(alert=alert, actor=dex, resolution="again")
