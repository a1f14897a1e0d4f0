"""Demo agencies, users, clients, cases and contacts, for `make run` and for trying
casebook out. Idempotent: every record is looked up before it is made, so a second run
changes nothing.

Clients and their histories go through the real workflows (record_contact,
amend_contact, close_case, grant_emergency_access), so case timelines, risk levels and
the audit trail are what the application itself writes. Dates are relative to the day
of the first run: contacts fall in the preceding weeks.
"""

import datetime
import os

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.mfa import set_demo_authenticator
from accounts.models import Agency, Role, Team, User
from accounts.services import grant_agency_admin_permissions
from cases import services
from cases.models import (
    CallNature,
    Case,
    Client,
    CloseReason,
    Concern,
    EmergencyAccess,
    OnSceneService,
)

# Published demo logins, refused in production.
DEFAULT_PASSWORD = "casebook-demo"  # noqa: S105  # nosec B105

AGENCY_A = {
    "slug": "lane-county-crisis",
    "name": "Lane County Crisis Response",
    "tz": "America/Los_Angeles",
}
AGENCY_B = {"slug": "denver-star", "name": "Denver STAR", "tz": "America/Denver"}
TEAMS = {
    "north": (AGENCY_A, "Mobile Crisis North"),
    "south": (AGENCY_A, "Mobile Crisis South"),
    "star": (AGENCY_B, "STAR Van 1"),
}
# username: (first, last, role, agency, team, supervised teams)
USERS = {
    "alice": ("Alice", "Nguyen", Role.SOCIAL_WORKER, AGENCY_A, "north", ()),
    "bob": ("Bob", "Martinez", Role.SOCIAL_WORKER, AGENCY_A, "north", ()),
    "erin": ("Erin", "Walsh", Role.SOCIAL_WORKER, AGENCY_A, "south", ()),
    "sam": ("Sam", "Okafor", Role.SUPERVISOR, AGENCY_A, None, ("north",)),
    "sofia": ("Sofia", "Reyes", Role.SUPERVISOR, AGENCY_A, None, ("south",)),
    "dana": ("Dana", "Whitfield", Role.AGENCY_ADMIN, AGENCY_A, None, ()),
    "dex": ("Dex", "Moreau", Role.DISPATCHER, AGENCY_A, None, ()),
    "carol": ("Carol", "Jensen", Role.SOCIAL_WORKER, AGENCY_B, "star", ()),
    "dave": ("Dave", "Romero", Role.SUPERVISOR, AGENCY_B, None, ("star",)),
    "admin": ("System", "Admin", Role.SYSTEM_ADMIN, None, None, ()),
}
# A login that signs in with a second factor even in development: its authenticator's
# secret is published, so its codes come from `manage.py demo_totp maya` or oathtool.
SECOND_FACTOR_USER = ("maya", ("Maya", "Lindqvist", Role.SOCIAL_WORKER, AGENCY_A, "north", ()))
DEMO_TOTP_SECRET = "CASEBOOKDEMOTOTPCASEBOOKDEMOTOTP"  # noqa: S105  # nosec B105

# C-SSRS screener answers giving each triage level (see cases/cssrs.py).
SCREENS = {
    "none": {"cssrs_wish_dead": False, "cssrs_suicidal_thoughts": False, "cssrs_behavior": False},
    "low": {"cssrs_wish_dead": True, "cssrs_suicidal_thoughts": False, "cssrs_behavior": False},
    "moderate": {
        "cssrs_wish_dead": True,
        "cssrs_suicidal_thoughts": True,
        "cssrs_method": True,
        "cssrs_intent": False,
        "cssrs_plan": False,
        "cssrs_behavior": False,
    },
    "moderate-past-attempt": {
        "cssrs_wish_dead": False,
        "cssrs_suicidal_thoughts": False,
        "cssrs_behavior": True,
        "cssrs_behavior_recent": False,
    },
    "high": {
        "cssrs_wish_dead": True,
        "cssrs_suicidal_thoughts": True,
        "cssrs_method": True,
        "cssrs_intent": True,
        "cssrs_plan": False,
        "cssrs_behavior": True,
        "cssrs_behavior_recent": True,
    },
}


def contact(
    worker,
    days_ago,
    at,
    source,
    nature,
    disposition,
    narrative,
    *,
    screen=None,
    concerns=(),
    services_given=("counselling",),
    with_=(),
    location="",
    response=14,
    police=False,
):
    """One crisis contact of a demo story. `at` is the local time as "HH:MM"."""
    return {
        "worker": worker,
        "days_ago": days_ago,
        "at": at,
        "source": source,
        "nature": nature,
        "disposition": disposition,
        "narrative": narrative,
        "screen": screen,
        "concerns": concerns,
        "services": services_given,
        "with": with_,
        "location": location,
        "response": response,
        "police": police,
    }


# Agency A: Lane County. Each story is one client; the first contact's worker opens the case.
STORIES_A = [
    {
        "client": {
            "legal_name": "Marcus Bell",
            "date_of_birth": datetime.date(1987, 3, 14),
            "pronouns": "he/him",
            "phone": "541-555-0142",
            "where_to_find": "Camp under the Washington Jefferson St bridge, blue tent.",
        },
        "identifiers": [("hmis", "HMIS-204311")],
        "contacts": [
            contact(
                "alice",
                19,
                "22:40",
                "911",
                "welfare-check",
                "resolved",
                "Caller reported a man shouting near the bridge. Found Marcus cold and "
                "agitated; calmed after water and a blanket. Declined shelter tonight.",
                screen="none",
                concerns=("housing", "mental-health"),
                services_given=("counselling", "supplies"),
                with_=("bob",),
                location="W 6th Ave and Washington St",
            ),
            contact(
                "alice",
                6,
                "14:05",
                "outreach",
                "housing-need",
                "referred",
                "Outreach visit. Marcus asked about the shelter waitlist; referred to "
                "the day centre housing navigator.",
                screen="low",
                concerns=("housing",),
                services_given=("information-referral", "supplies"),
            ),
        ],
    },
    {
        "client": {
            "legal_name": "José Álvarez Núñez",
            "preferred_name": "Pepe",
            "date_of_birth": datetime.date(1979, 11, 2),
            "pronouns": "he/him",
            "preferred_language": "Spanish",
            "phone": "(541) 555-0178",
        },
        "identifiers": [("county", "LC-88412")],
        "contacts": [
            contact(
                "alice",
                12,
                "18:20",
                "988",
                "suicidal",
                "crisis_centre",
                "988 transfer. Pepe said he had thoughts of ending his life after losing "
                "his job. Safety plan started in Spanish; voluntary transport to the "
                "crisis centre.",
                screen="high",
                concerns=("suicide-risk", "financial"),
                services_given=("counselling", "safety-planning", "transport"),
                with_=("bob",),
                location="River Rd apartments",
                response=21,
            ),
            contact(
                "alice",
                4,
                "10:30",
                "phone",
                "suicidal",
                "referred",
                "Follow-up call after crisis centre discharge. Thoughts still present "
                "but no intent; reviewed the safety plan, appointment booked.",
                screen="moderate",
                concerns=("suicide-risk",),
                services_given=("safety-planning", "information-referral"),
                response=0,
            ),
        ],
        "amend": {
            "contact": 0,
            "by": "alice",
            "changes": {"location": "River Rd apartments, building C"},
            "reason": "Building letter missing from the location.",
        },
    },
    {
        "client": {
            "legal_name": "Dwayne Harris",
            "estimated_age": 45,
            "where_to_find": "Usually at the Amtrak station benches, mornings.",
        },
        "contacts": [
            contact(
                "alice",
                9,
                "07:50",
                "police",
                "disorientation",
                "er",
                "Police asked for a check on a disoriented man at the station. Gave his "
                "name but not his date of birth; confused about date and place. Transported to ER for "
                "medical evaluation.",
                concerns=("medical", "mental-health"),
                services_given=("first-aid", "transport"),
                location="Eugene Amtrak station",
                police=True,
            ),
        ],
    },
    {
        "client": {
            "legal_name": "Tamika Jones",
            "date_of_birth": datetime.date(1995, 6, 30),
            "pronouns": "she/her",
            "phone": "541-555-0119",
        },
        "identifiers": [("hmis", "HMIS-209877")],
        "contacts": [
            contact(
                "alice",
                16,
                "01:15",
                "911",
                "conflict",
                "referred",
                "Domestic dispute; partner had left before arrival. Tamika shaken; safety "
                "planning and the DV hotline number given.",
                screen="low",
                concerns=("domestic-violence", "family-conflict"),
                services_given=("counselling", "safety-planning", "information-referral"),
            ),
            contact(
                "bob",
                3,
                "16:45",
                "phone",
                "welfare-check",
                "resolved",
                "Check-in call. Staying with her sister; has an appointment with the DV "
                "advocate on Friday.",
                concerns=("domestic-violence",),
                response=0,
            ),
        ],
    },
    {
        "client": {
            "legal_name": "Riley Chen",
            "date_of_birth": datetime.date(2006, 1, 22),
            "pronouns": "they/them",
            "phone": "541-555-0163",
        },
        "contacts": [
            contact(
                "alice",
                2,
                "23:10",
                "988",
                "suicidal",
                "hospitalised",
                "988 caller with a plan and access to means. Parents present. Voluntary "
                "admission after ER evaluation.",
                screen="high",
                concerns=("suicide-risk", "mental-health"),
                services_given=("counselling", "family-support", "transport"),
                with_=("bob",),
                response=18,
            ),
        ],
    },
    {
        "client": {
            "legal_name": "Gloria Whitman",
            "date_of_birth": datetime.date(1948, 8, 5),
            "pronouns": "she/her",
            "phone": "541-555-0107",
            "where_to_find": "Lives alone, 2nd floor, buzzer 2B.",
        },
        "contacts": [
            contact(
                "alice",
                24,
                "11:00",
                "mobile_crisis",
                "welfare-check",
                "referred",
                "Neighbour worried. Gloria well oriented but had not eaten for two days; "
                "groceries brought and referred to meals on wheels.",
                screen="none",
                concerns=("food", "medical"),
                services_given=("supplies", "information-referral"),
            ),
        ],
        "close": {
            "by": "alice",
            "reason": CloseReason.CONNECTED,
            "note": "Meals on wheels started; her daughter visits weekly.",
        },
    },
    {
        "client": {
            "legal_name": "Devon Price",
            "date_of_birth": datetime.date(1990, 9, 9),
            "pronouns": "he/him",
            "phone": "541-555-0151",
        },
        "identifiers": [("hmis", "HMIS-211450")],
        "contacts": [
            contact(
                "bob",
                14,
                "20:30",
                "911",
                "intoxication",
                "crisis_centre",
                "Intoxicated and unsteady outside a bar. Transported to the sobering centre.",
                concerns=("substance-use",),
                services_given=("first-aid", "transport"),
                location="W Broadway",
            ),
            contact(
                "bob",
                5,
                "19:55",
                "911",
                "intoxication",
                "declined",
                "Again intoxicated, alert and oriented. Declined transport and services.",
                screen="moderate-past-attempt",
                concerns=("substance-use",),
                services_given=("counselling", "supplies"),
                location="W Broadway",
            ),
        ],
        "amend": {
            "contact": 1,
            "by": "bob",
            "changes": {
                "narrative": "Again intoxicated, alert and oriented. Declined transport and "
                "services. Said he made an attempt two years ago; screen recorded."
            },
            "reason": "Added what he said about a past attempt.",
        },
    },
    {
        "client": {
            "legal_name": "Aisha Rahman",
            "date_of_birth": datetime.date(1999, 2, 17),
            "pronouns": "she/her",
            "preferred_language": "Arabic",
            "phone": "541-555-0188",
        },
        "contacts": [
            contact(
                "bob",
                11,
                "15:20",
                "walk_in",
                "mental-health-crisis",
                "referred",
                "Walked in with panic symptoms; interpreter by phone. Breathing exercises, "
                "referred to the community clinic.",
                screen="low",
                concerns=("mental-health",),
                services_given=("counselling", "information-referral"),
                response=0,
            ),
        ],
    },
    {
        "client": {
            "legal_name": "Harold Lee",
            "date_of_birth": datetime.date(1961, 12, 1),
            "pronouns": "he/him",
            "phone": "541-555-0133",
        },
        "identifiers": [("medicaid", "OR-MCD-4471902")],
        "contacts": [
            contact(
                "bob",
                8,
                "09:40",
                "hospital",
                "mental-health-crisis",
                "referred",
                "ER social worker asked for a warm hand-off after an overnight stay. "
                "Agreed to outpatient follow-up.",
                screen="moderate",
                concerns=("mental-health", "suicide-risk"),
                services_given=("safety-planning", "information-referral"),
                response=30,
            ),
        ],
    },
    {
        "client": {
            "legal_name": "Brianna Scott",
            "date_of_birth": datetime.date(2001, 4, 4),
            "phone": "541-555-0170",
        },
        "contacts": [
            contact(
                "bob",
                1,
                "13:35",
                "911",
                "trespass",
                "unable_to_locate",
                "Report of a woman sleeping in a store doorway; gone on arrival. Area checked.",
                concerns=("housing",),
                services_given=(),
                response=25,
            ),
        ],
    },
    {
        "client": {
            "legal_name": "Luis Ortega",
            "date_of_birth": datetime.date(1983, 7, 19),
            "pronouns": "he/him",
            "preferred_language": "Spanish",
            "phone": "541-555-0191",
        },
        "identifiers": [("hmis", "HMIS-198004")],
        "contacts": [
            contact(
                "erin",
                13,
                "17:05",
                "mobile_crisis",
                "mental-health-crisis",
                "resolved",
                "Family called about paranoid thoughts. De-escalated at home; family "
                "support given.",
                screen="low",
                concerns=("mental-health", "family-conflict"),
                services_given=("counselling", "family-support"),
                location="Springfield",
            ),
        ],
    },
    {
        "client": {
            "legal_name": "Karen O'Malley",
            "date_of_birth": datetime.date(1972, 10, 27),
            "pronouns": "she/her",
            "phone": "541-555-0125",
        },
        "contacts": [
            contact(
                "erin",
                7,
                "21:50",
                "988",
                "suicidal",
                "er",
                "Took extra medication an hour earlier. Medical transport to ER.",
                screen="high",
                concerns=("suicide-risk", "medical"),
                services_given=("first-aid", "transport"),
                response=12,
            ),
        ],
    },
    {
        "client": {
            "legal_name": "Samuel Greene",
            "date_of_birth": datetime.date(1993, 5, 8),
            "phone": "541-555-0147",
        },
        "contacts": [
            contact(
                "erin",
                10,
                "12:15",
                "outreach",
                "housing-need",
                "referred",
                "Outreach at the river path. Needs ID replacement for housing; referred "
                "to legal aid.",
                concerns=("housing", "legal"),
                services_given=("supplies", "information-referral"),
            ),
            contact(
                "erin",
                2,
                "12:40",
                "outreach",
                "welfare-check",
                "resolved",
                "Doing well; ID appointment booked.",
                screen="none",
                concerns=("housing",),
                services_given=("supplies",),
            ),
        ],
    },
    {
        "client": {
            "legal_name": "Nadia Petrova",
            "date_of_birth": datetime.date(1988, 3, 3),
            "pronouns": "she/her",
            "preferred_language": "Russian",
            "phone": "541-555-0166",
        },
        "contacts": [
            contact(
                "erin",
                21,
                "03:30",
                "police",
                "conflict",
                "police_custody",
                "Dispute with a landlord escalated; police took custody before the team "
                "could engage. Card left for follow-up.",
                concerns=("housing", "legal"),
                services_given=(),
                police=True,
                response=22,
            ),
        ],
        "close": {
            "by": "erin",
            "reason": CloseReason.UNABLE_TO_CONTACT,
            "note": "Three follow-up calls unanswered.",
        },
    },
    {
        "client": {
            "legal_name": "Ethan Brooks",
            "date_of_birth": datetime.date(2003, 8, 12),
            "pronouns": "he/him",
            "phone": "541-555-0114",
        },
        "contacts": [
            contact(
                "bob",
                5,
                "08:55",
                "phone",
                "mental-health-crisis",
                "referred",
                "Called the team line in distress after a breakup; youth services referral.",
                screen="low",
                concerns=("mental-health", "family-conflict"),
                services_given=("counselling", "information-referral"),
                response=0,
            ),
        ],
    },
]

# Agency B: Denver STAR.
STORIES_B = [
    {
        "client": {
            "legal_name": "Jamal Washington",
            "date_of_birth": datetime.date(1985, 2, 11),
            "pronouns": "he/him",
            "phone": "303-555-0121",
        },
        "identifiers": [("hmis", "DEN-HMIS-55012")],
        "contacts": [
            contact(
                "carol",
                15,
                "10:10",
                "911",
                "welfare-check",
                "resolved",
                "Man lying on a bench on Colfax; awake and fine, wanted water and socks.",
                screen="none",
                concerns=("housing",),
                services_given=("supplies",),
                location="E Colfax Ave",
            ),
            contact(
                "carol",
                3,
                "11:25",
                "911",
                "housing-need",
                "referred",
                "Asked for shelter; referred to the day shelter and bus pass given.",
                concerns=("housing",),
                services_given=("information-referral", "transport"),
                location="E Colfax Ave",
            ),
        ],
    },
    {
        "client": {
            "legal_name": "María Fernández",
            "preferred_name": "Mari",
            "date_of_birth": datetime.date(1991, 12, 24),
            "pronouns": "she/her",
            "preferred_language": "Spanish",
            "phone": "303-555-0158",
        },
        "contacts": [
            contact(
                "carol",
                9,
                "16:00",
                "988",
                "suicidal",
                "crisis_centre",
                "988 transfer; thoughts of suicide with a method in mind. Transported to "
                "the walk-in crisis centre.",
                screen="moderate",
                concerns=("suicide-risk", "mental-health"),
                services_given=("counselling", "safety-planning", "transport"),
            ),
        ],
    },
    {
        "client": {
            "legal_name": "Linda Moore",
            "estimated_age": 60,
            "where_to_find": "Civic Center Park, east side.",
        },
        "contacts": [
            contact(
                "carol",
                6,
                "14:45",
                "911",
                "disorientation",
                "er",
                "Confused and dehydrated in the heat; age estimated. Transported to Denver Health.",
                concerns=("medical",),
                services_given=("first-aid", "transport"),
            ),
        ],
    },
    {
        "client": {
            "legal_name": "Tyler Novak",
            "date_of_birth": datetime.date(1997, 6, 6),
            "phone": "303-555-0139",
        },
        "contacts": [
            contact(
                "carol",
                12,
                "22:05",
                "911",
                "intoxication",
                "crisis_centre",
                "Intoxicated, unable to stand. Taken to the withdrawal management centre.",
                concerns=("substance-use",),
                services_given=("first-aid", "transport"),
            ),
        ],
        "close": {"by": "carol", "reason": CloseReason.STABILISED, "note": ""},
    },
    {
        "client": {
            "legal_name": "Grace Kim",
            "date_of_birth": datetime.date(2000, 10, 10),
            "pronouns": "she/her",
            "phone": "303-555-0186",
        },
        "contacts": [
            contact(
                "carol",
                4,
                "19:30",
                "police",
                "mental-health-crisis",
                "resolved",
                "Police requested STAR for a panic attack at a light-rail stop. Resolved "
                "on scene; no police involvement needed.",
                screen="low",
                concerns=("mental-health",),
                services_given=("counselling",),
            ),
        ],
    },
    {
        "client": {
            "legal_name": "Robert Yazzie",
            "date_of_birth": datetime.date(1968, 4, 1),
            "pronouns": "he/him",
            "phone": "303-555-0102",
        },
        "identifiers": [("county", "DEN-7719")],
        "contacts": [
            contact(
                "carol",
                8,
                "09:15",
                "mobile_crisis",
                "welfare-check",
                "referred",
                "Family worried after he stopped answering. Low mood; referred to the "
                "community mental health centre.",
                screen="low",
                concerns=("mental-health",),
                services_given=("counselling", "information-referral"),
                with_=("dave",),
            ),
        ],
    },
]

EMERGENCY_ACCESS = {
    "by": "erin",
    "client": "José Álvarez Núñez",
    "reason": "Pepe called the South team line at night asking for Alice; checked his "
    "safety plan before calling back.",
}


class Command(BaseCommand):
    help = "Load demo agencies, users and client records (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Load demo logins even where DEBUG is off and DEMO_DATA_ALLOWED is false.",
        )

    def handle(self, *args, allow_production=False, **options):
        if not getattr(settings, "DEMO_DATA_ALLOWED", True) and not allow_production:
            raise CommandError(
                "Refusing to load demo logins with a published password in production "
                "(pass --allow-production for a staging copy)."
            )
        password = os.environ.get("DEMO_PASSWORD") or DEFAULT_PASSWORD
        self.now = timezone.now()
        agencies = {spec["slug"]: self._agency(spec) for spec in (AGENCY_A, AGENCY_B)}
        teams = {
            key: Team.objects.get_or_create(agency=agencies[spec["slug"]], name=name)[0]
            for key, (spec, name) in TEAMS.items()
        }
        self.users = {
            username: self._user(username, spec, agencies, teams, password)
            for username, spec in USERS.items()
        }
        username, spec = SECOND_FACTOR_USER
        set_demo_authenticator(
            user=self._user(username, spec, agencies, teams, password), secret=DEMO_TOTP_SECRET
        )
        self.concerns = {c.code: c for c in Concern.objects.all()}
        self.natures = {n.code: n for n in CallNature.objects.all()}
        self.on_scene = {s.code: s for s in OnSceneService.objects.all()}

        made = 0
        for agency, stories in (
            (agencies[AGENCY_A["slug"]], STORIES_A),
            (agencies[AGENCY_B["slug"]], STORIES_B),
        ):
            for story in stories:
                made += self._story(agency, story)
        self._emergency_access(agencies[AGENCY_A["slug"]])
        self.stdout.write(
            f"Demo data ready: {len(self.users)} users, "
            f"{Client.objects.filter(agency__in=agencies.values()).count()} clients "
            f"({made} added now)."
        )
        self.stdout.write(
            f"{username} signs in with a second factor: the code is printed by "
            f"`manage.py demo_totp {username}` (or `oathtool --totp -b {DEMO_TOTP_SECRET}`)."
        )
        call_command("seed_demo_referrals", stdout=self.stdout)
        call_command("seed_demo_followups", stdout=self.stdout)
        call_command("seed_demo_plans", stdout=self.stdout)
        call_command("seed_demo_dispatch", stdout=self.stdout)

    def _agency(self, spec):
        agency, _ = Agency.objects.get_or_create(
            slug=spec["slug"], defaults={"name": spec["name"], "timezone": spec["tz"]}
        )
        return agency

    def _user(self, username, spec, agencies, teams, password):
        first, last, role, agency_spec, team_key, supervises = spec
        system_admin = role == Role.SYSTEM_ADMIN
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@example.org",
                "role": role,
                "agency": agencies[agency_spec["slug"]] if agency_spec else None,
                "team": teams[team_key] if team_key else None,
                "is_staff": system_admin,
                "is_superuser": system_admin,
            },
        )
        # A changed DEMO_PASSWORD takes effect on the next run; an unchanged one writes nothing.
        if created or not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
        if supervises:
            user.supervised_teams.add(*(teams[key] for key in supervises))
        if role == Role.AGENCY_ADMIN:
            grant_agency_admin_permissions(user=user)
        return user

    def _when(self, agency, days_ago, at):
        hour, minute = (int(part) for part in at.split(":"))
        day = agency.today(self.now) - datetime.timedelta(days=days_ago)
        return agency.at(day, datetime.time(hour, minute))

    def _contact_data(self, agency, spec):
        received = self._when(agency, spec["days_ago"], spec["at"])
        on_scene = received + datetime.timedelta(minutes=spec["response"])
        data = {
            "source": spec["source"],
            "received_at": received,
            "dispatched_at": received + datetime.timedelta(minutes=min(2, spec["response"])),
            "on_scene_at": on_scene,
            "cleared_at": on_scene + datetime.timedelta(minutes=45),
            "call_nature": self.natures[spec["nature"]],
            "location": spec["location"],
            "disposition": spec["disposition"],
            "narrative": spec["narrative"],
            "police_backup_requested": spec["police"],
            "presenting_concerns": [self.concerns[c] for c in spec["concerns"]],
            "services_on_scene": [self.on_scene[s] for s in spec["services"]],
            "attended_by": [self.users[spec["worker"]]] + [self.users[u] for u in spec["with"]],
        }
        if spec["screen"]:
            data["cssrs_performed"] = True
            data.update(SCREENS[spec["screen"]])
        return data

    @transaction.atomic
    def _story(self, agency, story):
        """One client's history. Returns 1 when it was created now, 0 when it existed."""
        if Client.objects.filter(agency=agency, legal_name=story["client"]["legal_name"]).exists():
            return 0
        contacts = []
        client = None
        for spec in story["contacts"]:
            recorded = services.record_contact(
                actor=self.users[spec["worker"]],
                client=client,
                new_client_data=None if client else story["client"],
                new_client_identifiers=() if client else story.get("identifiers", ()),
                contact_data=self._contact_data(agency, spec),
            )
            client = recorded.client
            contacts.append(recorded)
        if "amend" in story:
            amend = story["amend"]
            services.amend_contact(
                actor=self.users[amend["by"]],
                contact=contacts[amend["contact"]],
                changes=amend["changes"],
                reason=amend["reason"],
            )
        if "close" in story:
            close = story["close"]
            services.close_case(
                actor=self.users[close["by"]],
                case=contacts[-1].case,
                reason=close["reason"],
                note=close["note"],
            )
        return 1

    def _emergency_access(self, agency):
        worker = self.users[EMERGENCY_ACCESS["by"]]
        case = Case.objects.filter(
            agency=agency, client__legal_name=EMERGENCY_ACCESS["client"]
        ).first()
        if case is None or EmergencyAccess.objects.filter(user=worker, case=case).exists():
            return
        services.grant_emergency_access(actor=worker, case=case, reason=EMERGENCY_ACCESS["reason"])
