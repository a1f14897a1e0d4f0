"""The demo's plans, made through the services as the workers would: Lane County's
crisis line; Riley Chen's safety plan (a lethal-means step confirmed at the next call);
Karen O'Malley's approved crisis plan, its review overdue; and Marcus Bell's crisis plan
waiting for sam's approval. Pepe (José Álvarez Núñez) has none: the demo's walkthrough
makes his. Run by seed_demo; idempotent."""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import Agency, User
from cases.models import Case, CaseStatus
from plans import services
from plans.models import CrisisPlan, MeansKind, SafetyPlan, SafetyPlanVersion
from plans.services import CrisisPlanContent, MeansStep, PlanContent

AGENCY = "lane-county-crisis"
# A fictional number (555-01xx): the demo's own line, printed beside 988.
CRISIS_LINE = "541-555-0100"


def _riley_plan(confirmed: bool) -> PlanContent:
    return PlanContent(
        warning_signs=[
            "Skipping meals",
            "Staying in bed past noon",
            "Thinking nobody would notice",
        ],
        coping=["Walk to the river path", "Draw in my sketchbook", "Cold shower"],
        distractions=[
            {"name": "Downtown Library", "phone": ""},
            {"name": "Cousin Jo", "phone": "541-555-0123"},
        ],
        help_people=[{"name": "Mom", "phone": "541-555-0131"}],
        professionals=[{"name": "Counsellor at the student clinic", "phone": "541-555-0160"}],
        means=[
            MeansStep(
                kind=MeansKind.MEDICATIONS,
                step="Mom keeps the prescription bottles; a week's supply at a time",
                who="Mom",
                confirmed=confirmed,
            )
        ],
        reasons=["My little brother", "Finishing the art course"],
    )


class Command(BaseCommand):
    help = "Add the demo's safety plans and crisis response plans (after seed_demo)."

    def handle(self, *args, **options):
        agency = Agency.objects.filter(slug=AGENCY).first()
        if agency is None:
            raise CommandError(f"Run seed_demo first: agency {AGENCY} is missing.")
        if not agency.crisis_line:
            agency.crisis_line = CRISIS_LINE
            agency.save(update_fields=["crisis_line"])
        if (
            SafetyPlan.objects.filter(agency=agency).exists()
            or CrisisPlan.objects.filter(agency=agency).exists()
        ):
            self.stdout.write("Demo plans already in place.")
            return
        users = {u.username: u for u in User.objects.filter(agency=agency)}
        cases = {
            c.client.legal_name: c
            for c in Case.objects.filter(agency=agency, status=CaseStatus.OPEN).select_related(
                "client"
            )
        }
        now = timezone.now()
        with transaction.atomic():
            riley = cases["Riley Chen"]
            first = services.save_safety_plan(
                actor=users["alice"], case=riley, content=_riley_plan(confirmed=False)
            )
            # Made three days ago, at the contact that screened Riley.
            SafetyPlanVersion.objects.filter(pk=first.pk).update(
                created_at=now - datetime.timedelta(days=3)
            )
            services.save_safety_plan(
                actor=users["bob"],
                case=riley,
                content=_riley_plan(confirmed=True),
                change_note="Mom confirmed she holds the medications.",
            )

            karen = cases["Karen O'Malley"]
            plan = services.save_crisis_plan(
                actor=users["erin"],
                case=karen,
                content=CrisisPlanContent(
                    triggers="Crowds and sirens; being touched without warning.",
                    helps="One worker speaks, quietly; offer to sit in the van with the door open.",
                    avoid="Uniforms close by; raised voices.",
                    contacts=[
                        {"name": "Liam O'Malley", "relation": "son", "phone": "541-555-0187"}
                    ],
                    preferred_care="Riverbend crisis centre",
                    hazards="Keeps a kitchen knife in her bag for protection.",
                ),
            )
            services.submit_crisis_plan(actor=users["erin"], plan=plan)
            services.approve_crisis_plan(actor=users["sofia"], plan=plan)
            # Approved 100 days ago: its 90-day review is overdue.
            approved = now - datetime.timedelta(days=100)
            CrisisPlan.objects.filter(pk=plan.pk).update(
                created_at=approved,
                updated_at=approved,
                submitted_at=approved,
                approved_at=approved,
                review_due_at=approved + datetime.timedelta(days=agency.crisis_plan_review_days),
            )

            marcus = cases["Marcus Bell"]
            plan = services.save_crisis_plan(
                actor=users["alice"],
                case=marcus,
                content=CrisisPlanContent(
                    triggers="Cold nights without sleep; people going through his tent.",
                    helps="Water and a blanket first; talk about his dog, Pilot.",
                    avoid="Do not move his belongings; do not come up behind him.",
                    contacts=[
                        {"name": "Darnell Bell", "relation": "brother", "phone": "541-555-0142"}
                    ],
                    preferred_care="Day centre housing navigator; Riverbend crisis centre",
                    hazards="Pilot (large dog) is protective of the tent.",
                ),
            )
            services.submit_crisis_plan(actor=users["alice"], plan=plan)
        self.stdout.write(
            "Demo plans ready: a safety plan (Riley Chen), an approved crisis plan due for "
            "review (Karen O'Malley), one waiting for sam's approval (Marcus Bell)."
        )
