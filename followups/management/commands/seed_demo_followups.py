"""Demo follow-ups, for `make run`: each demo worker gets clients with an ER visit or a
crisis in the past weeks and the follow-ups that came of it, done in time, done late,
missed, overdue and due today, with attempts; so every worker has a Today list and the
supervisors' compliance view has real numbers. Alice also gets a check-in call whose
window opens about a minute after the seed runs, for a client who takes reminders by
text: with `make run` it falls due and its reminders go out (the text on the console).

Runs after seed_demo (which calls it) and is idempotent: a story is made only when its
client does not exist yet, and the check-in call only when the client has none still to
open.

Everything goes through the real services: record_contact (whose ER disposition records
the hospital visit and enrols the client), record_discharge, log_attempt and
complete_followup with back-dated times (`at`, or the completing contact's own time), so
windows, statuses, events and audit rows are the application's own. Follow-ups whose
windows had already closed when the seed ran are created missed by the services; their
events carry the seed's time, their completion times the story's. time-machine is not a
runtime dependency (requirements.txt), so no clock is moved.
"""

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from cases import services as case_services
from cases.models import CallNature, Case, CaseStatus, Client, Concern, Disposition
from followups import services
from followups.models import FollowUp, Status
from followups.protocols import install_standard_protocols

REMINDER_CLIENT = "Jamie Ellison"
REMINDER_TITLE = "Check-in call"

# C-SSRS answers giving a high risk (see cases/cssrs.py).
HIGH = {
    "cssrs_performed": True,
    "cssrs_wish_dead": True,
    "cssrs_suicidal_thoughts": True,
    "cssrs_method": True,
    "cssrs_intent": True,
    "cssrs_plan": False,
    "cssrs_behavior": False,
}

# Each story: a client whose first contact ended at the ER `days_ago` days ago (or was
# resolved on scene), then what the worker did: ("contact", day, outcome) a follow-up
# call recorded as a contact that completes the open follow-up of that step;
# ("attempt", day, outcome, step) an attempt; ("discharge", hours after arrival).
# Days count from the ER visit; `step` is the follow-up's position in the protocol.
STORIES: dict[str, list[dict[str, Any]]] = {
    "alice": [
        {
            "client": ("Morgan Reyes-Tate", "541-555-0301"),
            "days_ago": 26,
            "concerns": ["mental-health"],
            "then": [
                ("discharge", 7),
                ("done", 2, 1),
                ("attempt", 8, "no_answer", 2),
                ("done", 9, 2),
            ],
        },
        {
            "client": ("Casey Lindqvist", "541-555-0302"),
            "days_ago": 28,
            "concerns": ["mental-health"],
            "then": [("attempt", 2, "no_answer", 1), ("done", 6, 1)],
        },
        {
            "client": ("Robin Achebe", "541-555-0303"),
            "days_ago": 3,
            "screen": HIGH,
            "concerns": ["suicide-risk"],
            "then": [("discharge", 20), ("attempt", 2, "left_message", 1)],
        },
    ],
    "bob": [
        {
            "client": ("Terrence Oyelaran", "541-555-0311"),
            "days_ago": 18,
            "concerns": ["mental-health"],
            "then": [("done", 1, 1), ("done", 7, 2)],
        },
        {
            "client": ("Lena Marchetti", "541-555-0312"),
            "days_ago": 12,
            "concerns": ["substance-use"],
            "then": [("attempt", 3, "wrong_number", 1)],
        },
        {
            "client": ("Priya Holloway", "541-555-0313"),
            "days_ago": 2,
            "concerns": ["mental-health"],
            "then": [],
        },
    ],
    "erin": [
        {
            "client": ("Owen Fairbanks", "541-555-0321"),
            "days_ago": 33,
            "concerns": ["substance-use"],
            "then": [("done", 3, 1), ("done", 10, 2)],
        },
        {
            "client": ("Hazel Moreau", "541-555-0322"),
            "days_ago": 9,
            "concerns": ["mental-health"],
            "then": [("attempt", 1, "no_answer", 1), ("attempt", 2, "left_message", 1)],
        },
    ],
    "carol": [
        {
            "client": ("Diego Castellanos", "303-555-0331"),
            "days_ago": 21,
            "concerns": ["mental-health"],
            "then": [("done", 2, 1), ("attempt", 8, "declined", 2)],
        },
        {
            "client": ("Wren Halvorsen", "303-555-0332"),
            "days_ago": 4,
            "concerns": ["mental-health"],
            "then": [],
        },
    ],
}
# A one-off follow-up due later today, per worker, on their first story's case.
DUE_TODAY = "Call back about the housing appointment"


class Command(BaseCommand):
    help = "Demo follow-ups for the demo workers (run by seed_demo; safe to run again)."

    def handle(self, *args, **options):
        self.now = timezone.now()
        self.natures = {n.code: n for n in CallNature.objects.all()}
        self.concerns = {c.code: c for c in Concern.objects.all()}
        made = 0
        for username, stories in STORIES.items():
            worker = User.objects.filter(username=username).select_related("agency").first()
            if worker is None:
                raise CommandError(f"Run seed_demo first: user {username} is missing.")
            install_standard_protocols(worker.agency_id)
            for story in stories:
                made += self._story(worker, story)
            self._due_today(worker, stories[0])
        self._reminder_followup(User.objects.get(username="alice"))
        self.stdout.write(
            f"Demo follow-ups ready: {FollowUp.objects.count()} follow-ups "
            f"({made} stories added now)."
        )

    def _at(self, worker, days_ago, hour, minute=0):
        agency = worker.agency
        day = agency.today(self.now) - datetime.timedelta(days=days_ago)
        return agency.at(day, datetime.time(hour, minute))

    def _contact_data(self, received, disposition, narrative, *, concerns=(), screen=None):
        data = {
            "source": "911",
            "received_at": received,
            "dispatched_at": received + datetime.timedelta(minutes=2),
            "on_scene_at": received + datetime.timedelta(minutes=16),
            "cleared_at": received + datetime.timedelta(minutes=70),
            "call_nature": self.natures.get("mental-health-crisis")
            or self.natures["welfare-check"],
            "disposition": disposition,
            "narrative": narrative,
            "presenting_concerns": [self.concerns[c] for c in concerns if c in self.concerns],
        }
        data.update(screen or {})
        return data

    @transaction.atomic
    def _story(self, worker, story) -> int:
        name, phone = story["client"]
        if Client.objects.filter(agency_id=worker.agency_id, legal_name=name).exists():
            return 0
        arrived = self._at(worker, story["days_ago"], 15, 30)
        first = case_services.record_contact(
            actor=worker,
            new_client_data={"legal_name": name, "phone": phone},
            contact_data=self._contact_data(
                arrived,
                Disposition.EMERGENCY_ROOM,
                "Client in acute distress; agreed to go to the ER. Transported by the team.",
                concerns=story.get("concerns", ()),
                screen=story.get("screen"),
            ),
        )
        case = first.case
        visit = case.hospital_visits.get(source_contact=first)
        anchor = visit.arrived_at
        for item in story["then"]:
            if item[0] == "discharge":
                anchor = min(visit.arrived_at + datetime.timedelta(hours=item[1]), self.now)
                visit = services.record_discharge(actor=worker, visit=visit, discharged_at=anchor)
            elif item[0] == "done":
                self._done(worker, case, anchor + datetime.timedelta(days=item[1]), item[2])
            elif item[0] == "attempt":
                fu = self._step_followup(case, item[3])
                at = anchor + datetime.timedelta(days=item[1])
                if fu is not None and at < self.now:
                    services.log_attempt(actor=worker, followup=fu, outcome=item[2], at=at)
        return 1

    def _step_followup(self, case, position):
        return (
            FollowUp.objects.filter(case=case, step__position=position)
            .exclude(status__in=[Status.COMPLETED, Status.CANCELLED])
            .order_by("-created_at", "occurrence")
            .first()
        )

    def _done(self, worker, case, at, position):
        """A follow-up call at `at`, recorded as a contact that completes the step."""
        fu = self._step_followup(case, position)
        if fu is None or at >= self.now:
            return
        call = case_services.record_contact(
            actor=worker,
            client=case.client,
            contact_data={
                **self._contact_data(
                    at, Disposition.REFERRED, "Follow-up call: safety plan reviewed; doing okay."
                ),
                "source": "phone",
                "dispatched_at": None,
                "on_scene_at": None,
                "cleared_at": at + datetime.timedelta(minutes=20),
            },
        )
        # The call's note says so: the safety plan was reviewed and still holds.
        asked = FollowUp.objects.asking_plan_review().filter(pk=fu.pk).exists()
        answers = {"plan_reviewed": True, "plan_changed": False} if asked else {}
        services.complete_followup(actor=worker, followup=fu, contact=call, **answers)

    def _due_today(self, worker, story):
        case = Case.objects.filter(
            client__agency_id=worker.agency_id,
            client__legal_name=story["client"][0],
            status=CaseStatus.OPEN,
        ).first()
        if case is None or FollowUp.objects.filter(case=case, title=DUE_TODAY).exists():
            return
        end_of_day = self._at(worker, -1, 0)
        due = min(
            self.now + datetime.timedelta(hours=3), end_of_day - datetime.timedelta(minutes=5)
        )
        if due <= self.now:
            due = self.now + datetime.timedelta(minutes=5)
        services.create_followup(
            actor=worker,
            case=case,
            due_at=due,
            title=DUE_TODAY,
            reason="Client asked for a call once the shelter confirms the appointment",
        )

    @transaction.atomic
    def _reminder_followup(self, alice):
        """A client who takes reminders by text, and a check-in call whose window opens a
        minute from now: with the app running it falls due, and alice and the client get
        their reminders within about a minute."""
        client = Client.objects.filter(
            agency_id=alice.agency_id, legal_name=REMINDER_CLIENT
        ).first()
        if client is None:
            contact = case_services.record_contact(
                actor=alice,
                new_client_data={"legal_name": REMINDER_CLIENT, "phone": "541-555-0399"},
                contact_data=self._contact_data(
                    self._at(alice, 1, 11),
                    Disposition.REFERRED,
                    "Worried about losing housing; linked to the tenants' clinic. Asked for a "
                    "check-in call and reminders by text.",
                    concerns=["mental-health"],
                ),
            )
            client = contact.client
        # The client's recorded preference (the contact form's reminder choice).
        Client.objects.filter(pk=client.pk).update(reminder_channel="text")
        case = client.cases.filter(status=CaseStatus.OPEN).first()
        if case is None:
            return
        waiting = FollowUp.objects.filter(
            case=case, title=REMINDER_TITLE, status=Status.SCHEDULED, window_start__gt=self.now
        )
        if waiting.exists():
            return
        now = timezone.now()
        services.create_followup(
            actor=alice,
            case=case,
            title=REMINDER_TITLE,
            reason="Client asked for a check-in call about the tenants' clinic",
            window_start=now + datetime.timedelta(minutes=1),
            due_at=now + datetime.timedelta(hours=2),
            window_end=now + datetime.timedelta(hours=8),
        )
