"""The demo's dispatch: Lane County's units on shift in several statuses, requests waiting
and in progress (made through the services, as a dispatcher and the teams would), and four
weeks of past requests for the response measures. Run by seed_demo; idempotent: nothing is
added once the agency has units."""

import datetime
import random
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import Agency, Team, User
from cases.models import Client
from dispatch import services
from dispatch.models import (
    Assignment,
    Credential,
    NotServedReason,
    Priority,
    RequestReason,
    RequestSource,
    RequestStatus,
    Shift,
    ShiftMember,
    TeamRequest,
    Unit,
)
from dispatch.services.timeline import BACK_IN_SERVICE

AGENCY = "lane-county-crisis"
OTHER_AGENCY = "denver-star"
# call sign, team, base address, base latitude, base longitude (Eugene and Springfield, OR)
UNITS = [
    ("Van 1", "Mobile Crisis North", "CAHOOTS base, 1 W 8th Ave, Eugene", "44.0506", "-123.0917"),
    ("Van 2", "Mobile Crisis North", "Whitaker station, Eugene", "44.0610", "-123.1000"),
    ("Van 3", "Mobile Crisis South", "Springfield station, Main St", "44.0462", "-123.0220"),
    ("Van 4", "Mobile Crisis South", "Bethel station, Eugene", "44.0830", "-123.1520"),
]
PLACES = [
    ("Skinner Butte Park", "44.0566", "-123.0937"),
    ("5th Street Market", "44.0522", "-123.0861"),
    ("Amazon Park", "44.0339", "-123.0897"),
    ("Gateway Mall, Springfield", "44.0706", "-123.0260"),
    ("Downtown Library, 100 W 10th Ave", "44.0487", "-123.0936"),
    ("Bethel Community Park", "44.0790", "-123.1530"),
]
HISTORY_DAYS = 28


class Command(BaseCommand):
    help = "Add the demo's dispatch units and requests (after seed_demo)."

    def handle(self, *args, **options):
        agency = Agency.objects.filter(slug=AGENCY).first()
        if agency is None:
            raise CommandError(f"Run seed_demo first: agency {AGENCY} is missing.")
        if Unit.objects.filter(agency=agency).exists():
            self.stdout.write("Demo dispatch already in place.")
            return
        users = {u.username: u for u in User.objects.filter(agency=agency)}
        with transaction.atomic():
            units = self._units(agency)
            self._history(agency, units, users)
            self._now(units, users)
        other = Agency.objects.filter(slug=OTHER_AGENCY).first()
        if other is not None:
            Unit.objects.get_or_create(agency=other, call_sign="STAR Van 1")
        self.stdout.write(
            f"Demo dispatch ready: {len(units)} units, "
            f"{TeamRequest.objects.filter(agency=agency).count()} requests."
        )

    def _units(self, agency):
        teams = {t.name: t for t in Team.objects.filter(agency=agency)}
        return {
            call_sign: Unit.objects.create(
                agency=agency,
                call_sign=call_sign,
                team=teams.get(team),
                base_address=address,
                base_latitude=Decimal(lat),
                base_longitude=Decimal(lon),
            )
            for call_sign, team, address, lat, lon in UNITS
        }

    def _request(self, dex, minutes_ago, priority, reason, place, **extra):
        name, lat, lon = place
        return services.record_request(
            actor=dex,
            data={
                "received_at": timezone.now() - datetime.timedelta(minutes=minutes_ago),
                "source": extra.pop("source", RequestSource.TEAM_LINE),
                "priority": priority,
                "reason": reason,
                "location_text": name,
                "latitude": Decimal(lat),
                "longitude": Decimal(lon),
                **extra,
            },
        )

    def _now(self, units, users):
        """Van 1 (alice and maya) available, Van 2 (bob) en route, Van 3 (erin) on scene,
        Van 4 off shift; two requests waiting."""
        dex = users["dex"]
        crews = {
            "Van 1": [
                (users["alice"], Credential.LICENSED_CLINICIAN),
                (users["maya"], Credential.PEER_SPECIALIST),
            ],
            "Van 2": [(users["bob"], Credential.EMT_PARAMEDIC)],
            "Van 3": [(users["erin"], Credential.LICENSED_CLINICIAN)],
        }
        for call_sign, members in crews.items():
            services.start_shift(
                unit=units[call_sign], members=members, actor=dex, shares_position=True
            )
        for call_sign, (lat, lon) in {
            "Van 1": ("44.0512", "-123.0905"),
            "Van 2": ("44.0560", "-123.0950"),
            "Van 3": ("44.0700", "-123.0300"),
        }.items():
            crew_member = crews[call_sign][0][0]
            services.record_position(
                unit=units[call_sign], actor=crew_member, latitude=lat, longitude=lon
            )

        en_route = self._request(
            dex,
            14,
            Priority.EMERGENT,
            RequestReason.SUICIDAL,
            PLACES[0],
            source=RequestSource.LIFELINE_988,
            centre_name="Lines for Life (988)",
            centre_call_id="LFL-20931",
            warm_transfer=True,
            line_open_until_arrival=True,
            active_rescue="none",
            weapons=False,
            violence_history=False,
            access_notes="Meet by the east stairs.",
        )
        services.assign_unit(request=en_route, unit=units["Van 2"], actor=dex)
        services.advance(unit=units["Van 2"], actor=users["bob"])

        on_scene = self._request(
            dex,
            45,
            Priority.URGENT,
            RequestReason.WELFARE_CHECK,
            PLACES[3],
            source=RequestSource.CAD_911,
            cad_incident_number="LC-26-118204",
            animals=True,
            hazard_notes="Dog on the property.",
            police_requested=False,
        )
        services.assign_unit(request=on_scene, unit=units["Van 3"], actor=dex)
        services.advance(unit=units["Van 3"], actor=users["erin"])
        services.advance(unit=units["Van 3"], actor=users["erin"])

        self._request(
            dex,
            6,
            Priority.EMERGENT,
            RequestReason.MENTAL_HEALTH_CRISIS,
            PLACES[1],
            callback_number="541-555-0142",
            weapons=None,
            reason_notes="Caller's brother is shouting in the street, not sleeping for days.",
            # A known client: his crisis response plan (seed_demo_plans) reaches the team
            # sent to him, once a supervisor has approved it.
            client=Client.objects.filter(agency=dex.agency, legal_name="Marcus Bell").first(),
        )
        self._request(
            dex,
            33,
            Priority.URGENT,
            RequestReason.INTOXICATION,
            PLACES[4],
            source=RequestSource.POLICE,
            police_requested=True,
            violence_history=False,
        )

    def _history(self, agency, units, users):
        """Four weeks of past requests with their stamps, for the measures: made as rows
        (the services stamp the present), each served one with its team's make-up."""
        # The same demo on every machine: not for secrets.
        rng = random.Random(20261207)  # noqa: S311  # nosec B311
        now = timezone.now()
        start = now - datetime.timedelta(days=HISTORY_DAYS)
        dex = users["dex"]
        crews = [
            [("alice", Credential.LICENSED_CLINICIAN), ("maya", Credential.PEER_SPECIALIST)],
            [("bob", Credential.EMT_PARAMEDIC)],
            [("erin", Credential.LICENSED_CLINICIAN), ("bob", Credential.PEER_SPECIALIST)],
        ]
        shifts = {}
        for index, call_sign in enumerate(["Van 1", "Van 2", "Van 3"]):
            shift = Shift.objects.create(
                unit=units[call_sign],
                started_at=start,
                ended_at=now - datetime.timedelta(hours=20),
                started_by=dex,
                ended_by=dex,
            )
            ShiftMember.objects.bulk_create(
                ShiftMember(shift=shift, user=users[name], credential=credential)
                for name, credential in crews[index]
            )
            shifts[call_sign] = (
                shift,
                [
                    {
                        "user_id": users[name].pk,
                        "name": users[name].get_full_name(),
                        "credential": credential,
                    }
                    for name, credential in crews[index]
                ],
            )
        reasons = list(RequestReason.values)
        sources = (
            [RequestSource.TEAM_LINE] * 5
            + [RequestSource.LIFELINE_988] * 2
            + [
                RequestSource.CAD_911,
                RequestSource.CAD_911,
                RequestSource.POLICE,
                RequestSource.SELF,
            ]
        )
        for day in range(HISTORY_DAYS, 0, -1):
            for _ in range(rng.randint(4, 9)):
                received = now - datetime.timedelta(days=day, minutes=rng.randint(0, 24 * 60 - 1))
                self._past_request(
                    agency,
                    dex,
                    rng,
                    received,
                    rng.choice(reasons),
                    rng.choice(sources),
                    shifts[rng.choice(list(shifts))],
                )

    def _past_request(self, agency, dex, rng, received, reason, source, shift_and_crew):
        shift, members = shift_and_crew
        minutes = lambda low, high: datetime.timedelta(minutes=rng.randint(low, high))  # noqa: E731
        priority = Priority.EMERGENT if rng.random() < 0.4 else Priority.URGENT
        place = rng.choice(PLACES)
        request = TeamRequest(
            agency=agency,
            received_at=received,
            source=source,
            priority=priority,
            reason=reason,
            location_text=place[0],
            latitude=Decimal(place[1]),
            longitude=Decimal(place[2]),
            created_by=dex,
            created_at=received,
            police_requested=rng.random() < 0.08,
            police_present=rng.random() < 0.05,
        )
        if source == RequestSource.LIFELINE_988:
            request.centre_name = "Lines for Life (988)"
            request.warm_transfer = rng.random() < 0.7
            request.line_open_until_arrival = rng.random() < 0.5
            request.active_rescue = "involuntary" if rng.random() < 0.05 else "none"
        if source == RequestSource.CAD_911:
            request.cad_incident_number = f"LC-H-{received:%y%m%d%H%M%S}-{rng.randint(0, 999)}"
        if rng.random() < 0.12:
            request.status = RequestStatus.NOT_SERVED
            request.not_served_reason = rng.choice(NotServedReason.values)
            request.closed_at = received + minutes(5, 90)
            request.save()
            return
        request.dispatched_at = received + minutes(1, 25)
        request.acknowledged_at = request.en_route_at = request.dispatched_at + minutes(0, 2)
        request.on_scene_at = request.en_route_at + minutes(
            6, 70 if priority == Priority.URGENT else 45
        )
        request.left_scene_at = request.on_scene_at + minutes(15, 80)
        if rng.random() < 0.2:
            request.destination = rng.choice(["Crisis centre", "Emergency department", "Shelter"])
            request.at_destination_at = request.left_scene_at + minutes(8, 30)
            request.transfer_of_care_at = request.at_destination_at + minutes(5, 25)
            request.back_in_service_at = request.transfer_of_care_at + minutes(1, 10)
            request.involuntary_hold = rng.random() < 0.15
            request.involuntary_transport = request.involuntary_hold
        else:
            request.back_in_service_at = request.left_scene_at
            request.involuntary_hold = request.involuntary_transport = False
        request.closed_at = request.back_in_service_at
        request.status = RequestStatus.COMPLETED
        request.save()
        Assignment.objects.create(
            request=request,
            unit=shift.unit,
            shift=shift,
            assigned_at=request.dispatched_at,
            assigned_by=dex,
            acknowledge_by=request.dispatched_at + datetime.timedelta(minutes=2),
            acknowledged_at=request.acknowledged_at,
            released_at=request.closed_at,
            released_by=dex,
            release_reason=BACK_IN_SERVICE.english,
            release_reason_i18n=BACK_IN_SERVICE.data,
            members=members,
        )
