"""The demo directory and referrals, for `make run`: the HSDS specification's example
imported into the shared directory, each demo agency's own services, consents (one under
42 CFR Part 2, one revoked) and referrals in every status.

Runs after seed_demo (which calls it) and is idempotent: directory rows have fixed ids,
and a referral is made only when its case has none to the same provider for the same
reason. Referrals go through the real services; afterwards their times are moved back to
spread them over the past weeks, so the report and the stale flags have something to show.
"""

import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import Agency
from cases.models import Case, CaseEvent, CaseStatus
from directory import hsds
from directory.models import (
    Address,
    Attribute,
    Language,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceAtLocation,
)
from directory.needs import NEED_TERM_IDS
from referrals import services
from referrals.demo_directory import ORGANIZATIONS, demo_id
from referrals.models import (
    ConsentMethod,
    EventVia,
    Outcome,
    Referral,
    ReferralEvent,
    ShareItem,
    Status,
)

EXAMPLE_PACKAGE = settings.BASE_DIR / "directory" / "data" / "hsds-example"
EXAMPLE_ORGANIZATION_ID = "d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610"
BASIC_SHARE = [ShareItem.NAME, ShareItem.PHONE, ShareItem.REASON, ShareItem.CONCERNS]

# (client, worker, organization, service, need, days ago sent, steps, reason)
# A step is (days after sending, to status, via, extra); via "staff" is the worker's own
# move, "provider" what the provider did through its link, "reported" what the provider
# reported by phone to the worker.
SCENARIOS_A = [
    (
        "Marcus Bell",
        "alice",
        "Riverbend Housing Collective",
        "Housing navigation",
        "housing",
        6,
        [],
        "Needs help with the coordinated entry application.",
    ),
    (
        "Marcus Bell",
        "alice",
        "Lane Food Share",
        "Food pantry",
        "food",
        12,
        [
            (1, Status.ACCEPTED, "provider", {}),
            (3, Status.COMPLETED, "provider", {"service_days": 3}),
        ],
        "No food at camp this week.",
    ),
    (
        "José Álvarez Núñez",
        "alice",
        "Willow Street Counselling",
        "Walk-in counselling",
        "mental_health",
        5,
        [(1, Status.ACCEPTED, "provider", {"appointment_days": 4})],
        "Wants to talk to a counsellor in Spanish after the crisis last week.",
    ),
    (
        "Devon Price",
        "bob",
        "Cascade Recovery Center",
        "Withdrawal management (detox)",
        "substance_use",
        4,
        [
            (0, Status.ACCEPTED, "provider", {}),
            (1, Status.IN_PROGRESS, "provider", {"service_days": 1}),
        ],
        "Asked for a detox bed after the overdose reversal on Tuesday.",
    ),
    (
        "Tamika Jones",
        "bob",
        "Riverbend Housing Collective",
        "Emergency shelter",
        "housing",
        9,
        [(1, Status.REJECTED, "provider", {"outcome": Outcome.NO_CAPACITY})],
        "Needs a bed tonight; her car was towed.",
    ),
    (
        "Riley Chen",
        "alice",
        "WorkBridge Lane",
        "Benefits enrolment",
        "financial",
        20,
        [(2, Status.ACCEPTED, "reported", {}), (6, Status.ON_HOLD, "reported", {})],
        "SNAP and OHP applications lapsed.",
    ),
    (
        "Dwayne Harris",
        "bob",
        "Southtown Legal Aid",
        "Eviction defence",
        "legal",
        15,
        [
            (1, Status.ACCEPTED, "provider", {}),
            (4, Status.CANCELLED, "staff", {"outcome": Outcome.DECLINED}),
        ],
        "Eviction notice received; wants advice.",
    ),
    (
        "Aisha Rahman",
        "alice",
        "Valley Community Clinic",
        "Walk-in primary care",
        "medical",
        25,
        [
            (1, Status.ACCEPTED, "provider", {"appointment_days": 3}),
            (5, Status.FAILED, "provider", {"outcome": Outcome.DID_NOT_ATTEND}),
        ],
        "Wound on her foot needs looking at.",
    ),
    (
        "Harold Lee",
        "bob",
        "RideLine",
        "Appointment rides",
        "transportation",
        3,
        [(0, Status.ENTERED_IN_ERROR, "staff", {})],
        "Ride to the clinic (sent for the wrong client).",
    ),
    (
        "Brianna Scott",
        "alice",
        "Safe Harbor",
        "Domestic violence advocacy and shelter",
        "domestic_violence",
        None,
        [],
        "Wants to talk to an advocate about a safety plan.",
    ),
    (
        "Luis Ortega",
        "alice",
        "Willow Street Counselling",
        "Walk-in counselling",
        "mental_health",
        30,
        [
            (2, Status.ACCEPTED, "provider", {}),
            (9, Status.COMPLETED, "provider", {"service_days": 8}),
        ],
        "Follow-up counselling after the crisis contact.",
    ),
    (
        "Karen O'Malley",
        "bob",
        "Cascade Recovery Center",
        "Outpatient treatment",
        "substance_use",
        18,
        [
            (3, Status.ACCEPTED, "provider", {}),
            (10, Status.COMPLETED, "reported", {"service_days": 10}),
        ],
        "Wants to start medication for opioid use disorder.",
    ),
    (
        "Ethan Brooks",
        "bob",
        "WorkBridge Lane",
        "Job search help",
        "employment",
        8,
        [(1, Status.ACCEPTED, "provider", {})],
        "Lost his job after the hospital stay; wants help finding work.",
    ),
    (
        "Samuel Greene",
        "alice",
        "Community Counselling",
        None,
        "mental_health",
        2,
        [],
        "Counselling near his daughter's home in MyCity.",
    ),
]
# Clients who withdrew their consent after their referral went out: the provider's link
# now reveals nothing.
REVOKED_AFTER = {"Ethan Brooks"}

SCENARIOS_B = [
    (
        "Jamal Washington",
        "carol",
        "Mile High Shelter",
        "Overnight shelter",
        "housing",
        3,
        [(0, Status.ACCEPTED, "provider", {})],
        "Needs a bed tonight.",
    ),
    (
        "María Fernández",
        "carol",
        "Front Range Recovery",
        "Detox and outpatient treatment",
        "substance_use",
        16,
        [
            (1, Status.ACCEPTED, "provider", {}),
            (4, Status.COMPLETED, "provider", {"service_days": 4}),
        ],
        "Asked for help to stop drinking.",
    ),
]


class Command(BaseCommand):
    help = "Load the demo directory, consents and referrals (idempotent; after seed_demo)."

    def handle(self, *args, **options):
        # Imported once: a re-import would change nothing but still leave an audit row.
        if not Organization.objects.filter(id=EXAMPLE_ORGANIZATION_ID).exists():
            report = hsds.import_package(EXAMPLE_PACKAGE)
            if report.errors:
                raise CommandError(
                    f"The demo HSDS example did not import: {report.errors[0]} "
                    f"({len(report.errors)} problems)."
                )
        made = 0
        for slug, organizations in ORGANIZATIONS.items():
            agency = Agency.objects.filter(slug=slug).first()
            if agency is None:
                raise CommandError(f"Run seed_demo first: agency {slug} is missing.")
            with transaction.atomic():
                for spec in organizations:
                    self._organization(agency, spec)
            scenarios = SCENARIOS_A if slug == "lane-county-crisis" else SCENARIOS_B
            for scenario in scenarios:
                made += self._scenario(agency, scenario)
        self.stdout.write(
            f"Demo directory and referrals ready: {Service.objects.count()} services, "
            f"{Referral.objects.count()} referrals ({made} added now)."
        )

    # --- Directory ------------------------------------------------------------------

    def _organization(self, agency, spec):
        name, description, email, phone, address, lat, lng, service_specs = spec
        org, _ = Organization.objects.get_or_create(
            id=demo_id(agency.slug, name),
            defaults={"agency": agency, "name": name, "description": description, "email": email},
        )
        location, _ = Location.objects.get_or_create(
            id=demo_id(agency.slug, name, "location"),
            defaults={
                "agency": agency,
                "organization": org,
                "name": name,
                "latitude": lat,
                "longitude": lng,
            },
        )
        street, city, state, postal = address
        Address.objects.get_or_create(
            id=demo_id(agency.slug, name, "address"),
            defaults={
                "agency": agency,
                "location": location,
                "address_1": street,
                "city": city,
                "state_province": state,
                "postal_code": postal,
                "country": "US",
                "address_type": "physical",
            },
        )
        Phone.objects.get_or_create(
            id=demo_id(agency.slug, name, "phone"),
            defaults={"agency": agency, "organization": org, "number": phone, "type": "voice"},
        )
        for item in service_specs:
            self._service(agency, org, location, item)

    def _service(self, agency, org, location, item):
        key = (agency.slug, org.name, item["name"])
        minimum, maximum = item["ages"]
        service, _ = Service.objects.get_or_create(
            id=demo_id(*key),
            defaults={
                "agency": agency,
                "organization": org,
                "name": item["name"],
                "description": item["description"],
                "status": "active",
                "email": org.email,
                "eligibility_description": item["eligibility"],
                "minimum_age": minimum,
                "maximum_age": maximum,
            },
        )
        ServiceAtLocation.objects.get_or_create(
            id=demo_id(*key, "at"),
            defaults={"agency": agency, "service": service, "location": location},
        )
        days, opens, closes = item["hours"]
        Schedule.objects.get_or_create(
            id=demo_id(*key, "schedule"),
            defaults={
                "agency": agency,
                "service": service,
                "freq": "WEEKLY",
                "byday": days,
                "opens_at": opens,
                "closes_at": closes,
                "description": f"{days.replace(',', ' ')} {opens}–{closes}",
            },
        )
        for code in item["languages"]:
            Language.objects.get_or_create(
                id=demo_id(*key, "language", code),
                defaults={
                    "agency": agency,
                    "service": service,
                    "code": code,
                    "name": LANGUAGE_NAMES[code],
                },
            )
        for need in item["needs"]:
            Attribute.objects.get_or_create(
                id=demo_id(*key, "need", need),
                defaults={
                    "agency": agency,
                    "link_id": service.id,
                    "link_entity": "service",
                    "link_type": "need",
                    "taxonomy_term_id": NEED_TERM_IDS[need],
                },
            )

    # --- Referrals ------------------------------------------------------------------

    def _scenario(self, agency, scenario):
        client_name, username, org_name, service_name, need, days_ago, steps, reason = scenario
        case = (
            Case.objects.filter(
                agency=agency, client__legal_name=client_name, status=CaseStatus.OPEN
            )
            .select_related("client")
            .first()
        )
        if case is None:
            return 0
        services_qs = Service.objects.filter(organization__name=org_name)
        if service_name:
            services_qs = services_qs.filter(name=service_name)
        else:
            services_qs = Service.objects.filter(name=org_name)
        service = services_qs.first()
        if service is None:
            return 0
        if Referral.objects.filter(case=case, service=service, reason=reason).exists():
            return 0
        # The case's own worker makes the referral (`username` documents who that is).
        worker = case.assigned_worker
        with transaction.atomic():
            referral = self._make(agency, case, worker, service, need, days_ago, steps, reason)
            if client_name in REVOKED_AFTER:
                services.revoke_consent(
                    actor=worker,
                    consent=referral.consent,
                    note="Client asked us to stop sharing his information.",
                )
        if days_ago is not None:
            self._backdate(referral, days_ago, steps)
        return 1

    def _make(self, agency, case, worker, service, need, days_ago, steps, reason):
        part2 = need == "substance_use"
        share = [*BASIC_SHARE, ShareItem.SUBSTANCE_USE] if part2 else BASIC_SHARE
        consent = self._consent(case, worker, service, part2, share)
        referral = services.create_referral(
            actor=worker,
            case=case,
            service=service,
            need_category=need,
            reason=reason,
            shared_items=share,
            consent=consent,
            urgency="urgent" if need in ("substance_use", "housing") else "routine",
        )
        if days_ago is None:
            return referral
        referral = services.send_referral(actor=worker, referral=referral)
        today = case.agency.today()
        for _offset, status, via, extra in steps:
            if "appointment_days" in extra:
                services.record_appointment(
                    actor=None,
                    referral=referral,
                    via=EventVia.PROVIDER_LINK,
                    appointment_at=timezone.now() + datetime.timedelta(days=1),
                    note="Booked by the intake team.",
                )
            via_value, actor, note = {
                "staff": (EventVia.STAFF, worker, ""),
                "provider": (EventVia.PROVIDER_LINK, None, ""),
                "reported": (
                    EventVia.STAFF_FOR_PROVIDER,
                    worker,
                    "The provider's intake worker told me by phone.",
                ),
            }[via]
            referral = services.transition_referral(
                actor=actor,
                referral=referral,
                to_status=status,
                via=via_value,
                outcome=extra.get("outcome", ""),
                note=note or extra.get("note", ""),
                service_date=today if "service_days" in extra else None,
            )
        return referral

    def _consent(self, case, worker, service, part2, share):
        client = case.client
        existing = [
            c
            for c in client.consents.active(case.agency)
            if c.is_part2 == part2
            and set(share) <= set(c.scope)
            and (c.recipient_organization_id in (None, service.organization_id))
        ]
        if existing:
            return existing[0]
        if not part2:
            return services.record_consent(
                actor=worker,
                client=client,
                case=case,
                method=ConsentMethod.VERBAL,
                scope=list(ShareItem.values[:5]),
                recipients="Any provider I am referred to",
                purpose="To connect me with the services I asked for.",
                expires_on=case.agency.today() + datetime.timedelta(days=365),
            )
        return services.record_consent(
            actor=worker,
            client=client,
            case=case,
            method=ConsentMethod.WRITTEN,
            scope=share,
            recipient_organization=service.organization,
            recipients=service.organization.name,
            is_part2=True,
            purpose="Treatment referral and coordination of care.",
            discloser=case.agency.name,
            information_description="My name and phone, the reason for referral, my "
            "presenting concerns and my substance use history as recorded by the crisis team.",
            right_to_revoke_explained=True,
            signed_by=client.legal_name,
            signed_on=case.agency.today(),
            expiry_event="One year from signing, or when I finish treatment there",
            expires_on=case.agency.today() + datetime.timedelta(days=365),
        )

    def _backdate(self, referral, days_ago, steps):
        """Spread the referral's history over the past: sent `days_ago`, each step the
        given number of days later (the services ran a moment ago, at "now")."""
        sent = timezone.now() - datetime.timedelta(days=days_ago)
        events = list(referral.events.order_by("at", "pk"))
        status_events = [e for e in events if e.kind == "status" and e.to_status != "requested"]
        when = {}
        for (offset, _status, _via, extra), event in zip(steps, status_events, strict=False):
            when[event.pk] = sent + datetime.timedelta(days=offset, hours=2)
            if "service_days" in extra:
                referral.service_date = referral.agency.day_of(
                    sent + datetime.timedelta(days=extra["service_days"])
                )
        for event in events:
            at = when.get(event.pk, sent)
            ReferralEvent.objects.filter(pk=event.pk).update(at=at)
        accepted = [when[e.pk] for e in status_events if e.to_status == "accepted" and e.pk in when]
        last = max(when.values(), default=sent)
        fields = {
            "created_at": sent - datetime.timedelta(minutes=10),
            "sent_at": sent,
            "last_activity_at": last,
            "accepted_at": accepted[0] if accepted else None,
            "service_date": referral.service_date,
        }
        if referral.closed_at is not None:
            fields["closed_at"] = last
        if referral.appointment_at is not None:
            fields["appointment_at"] = sent + datetime.timedelta(days=3, hours=10)
        # Stale as a referral idle since `last` is, and flagged as the sweep would have.
        referral.last_activity_at = last
        for name in referral.refresh_staleness(timezone.now()):
            fields[name] = getattr(referral, name)
        Referral.objects.filter(pk=referral.pk).update(**fields)
        referral.disclosures.update(disclosed_at=sent)
        referral.links.update(created_at=sent)
        CaseEvent.objects.filter(case=referral.case, detail__referral_id=referral.pk).update(
            at=sent
        )


LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "vi": "Vietnamese"}
