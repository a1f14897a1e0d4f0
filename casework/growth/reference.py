"""The reference rows the grown rows point to, made with the ORM when missing, and the
query parameters the statements take."""

import json
from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.base import CommandError
from django.db import connection
from django.utils import translation

from accounts.models import Agency, Role, Team, User
from accounts.services import grant_agency_admin_permissions
from cases.models import CallNature, Case, Client, Concern, Contact
from cases.models import name_key as client_name_key
from cases.names import NICKNAME_GROUPS, name_tokens, plain, sound
from casework.growth.pools import (
    AREA_CODES,
    CALL_NATURES,
    CLOSE_REASONS,
    CONCERNS,
    DISPOSITIONS,
    FACILITIES,
    FIRST_NAMES,
    LAST_NAMES,
    LOCATIONS,
    NARRATIVES,
    NEEDS,
    OLDER_REFERRALS,
    ONE_OFFS,
    RECENT_REFERRALS,
    RISKS,
    SERVICES_PER_NEED,
    SOURCES,
    UNIDENTIFIED,
    URGENCIES,
    VISIT_REASONS,
    ZONES,
    S,
)
from directory.models import Organization, Service
from followups.models import SAFETY_PLANNING_KEY, Enrolment, HospitalVisit, Protocol, ProtocolStep
from followups.protocols import install_standard_protocols
from referrals.models import OUTCOMES_FOR_STATUS, STALE_AFTER, STALE_AFTER_DEFAULT

# --- Reference rows, with the ORM --------------------------------------------------------


def scale_agencies(count: int) -> list[Agency]:
    return [
        Agency.objects.get_or_create(
            slug=f"scale-agency-{n}",
            defaults={"name": f"Scale agency {n}", "timezone": ZONES[(n - 1) % len(ZONES)]},
        )[0]
        for n in range(1, count + 1)
    ]


def scale_staff(
    agencies: Sequence[Agency], teams_per_agency: int, workers: int
) -> tuple[list[Team], list[User]]:
    """The agencies' teams, and their social workers team by team (`workers` a team).
    Each team also has a supervisor (of no team of their own) who supervises it, and each
    agency an agency admin. Made when missing, with an unusable password."""
    teams: list[Team] = []
    wanted: dict[str, dict[str, Any]] = {}
    supervised: dict[str, Team] = {}
    for agency in agencies:
        wanted[f"{agency.slug}-admin"] = {"agency": agency, "role": Role.AGENCY_ADMIN}
        for t in range(1, teams_per_agency + 1):
            team = Team.objects.get_or_create(agency=agency, name=f"Crisis team {t}")[0]
            teams.append(team)
            prefix = f"{agency.slug}-team{t}"
            for w in range(1, workers + 1):
                wanted[f"{prefix}-worker{w}"] = {
                    "agency": agency,
                    "team": team,
                    "role": Role.SOCIAL_WORKER,
                }
            wanted[f"{prefix}-supervisor"] = {"agency": agency, "role": Role.SUPERVISOR}
            supervised[f"{prefix}-supervisor"] = team
    users = ensure_users(wanted)
    through = User.supervised_teams.through
    through.objects.bulk_create(
        [through(user_id=users[name].pk, team_id=team.pk) for name, team in supervised.items()],
        ignore_conflicts=True,
    )
    social_workers = [
        name for name, fields in wanted.items() if fields["role"] == Role.SOCIAL_WORKER
    ]
    return teams, [users[name] for name in social_workers]


def ensure_users(wanted: Mapping[str, Mapping[str, Any]]) -> dict[str, User]:
    """Username -> user, each made when missing with a name from the pools."""
    have = set(User.objects.filter(username__in=list(wanted)).values_list("username", flat=True))
    made = User.objects.bulk_create(
        User(
            username=username,
            password=make_password(None),
            first_name=FIRST_NAMES[n * 7 % len(FIRST_NAMES)],
            last_name=LAST_NAMES[n * 13 % len(LAST_NAMES)],
            **fields,
        )
        for n, (username, fields) in enumerate(wanted.items())
        if username not in have
    )
    for user in made:
        if user.role == Role.AGENCY_ADMIN:
            grant_agency_admin_permissions(user=user)
    return User.objects.in_bulk(list(wanted), field_name="username")


def staff_params(options: Mapping[str, Any]) -> dict[str, Any]:
    agencies = scale_agencies(options["agencies"])
    teams, workers = scale_staff(agencies, options["teams"], options["workers"])
    return {
        "agencies": len(agencies),
        "teams": options["teams"],
        "workers": options["workers"],
        "agency_ids": [agency.pk for agency in agencies],
        "zones": [agency.timezone for agency in agencies],
        "area_codes": [AREA_CODES[n % len(AREA_CODES)] for n in range(len(agencies))],
        "team_ids": [team.pk for team in teams],
        "worker_ids": [worker.pk for worker in workers],
        "usernames": [worker.username for worker in workers],
        "worker_names": [str(worker) for worker in workers],
        **protocol_params(agencies),
    }


# The protocols the rows enrol in, by the parameter that lists their versions per agency.
PROTOCOLS = {
    "crisis_versions": "post-crisis-check",
    "post_ed_versions": "post-ed-discharge",
    "safety_versions": SAFETY_PLANNING_KEY,
}


def step_title(protocol: Protocol, step: ProtocolStep) -> str:
    """The title of the step's first follow-up, as followups.services.enrolment gives it."""
    name = step.name
    if step.repeat_every:
        name += f" 1 of {step.repeat_times}" if step.repeat_times else " 1"
    return f"{protocol.name}: {name}"[:200]


def protocol_params(agencies: Sequence[Agency]) -> dict[str, list]:
    """Per agency the current version of each of PROTOCOLS (the standard protocols are
    installed where missing), and those versions' steps."""
    params: dict[str, list] = {name: [] for name in PROTOCOLS}
    steps: list[tuple[Protocol, ProtocolStep]] = []
    for agency in agencies:
        install_standard_protocols(agency.pk)
        for name, key in PROTOCOLS.items():
            protocol = Protocol.objects.get(agency=agency, key=key)
            version = protocol.current_version()
            if version is None:
                raise CommandError(f"The protocol {protocol} of {agency} has no version.")
            params[name].append(version.pk)
            steps += [(protocol, step) for step in version.steps.order_by("position")]
    columns = {
        "step_ids": "pk",
        "step_versions": "version_id",
        "step_positions": "position",
        "step_units": "unit",
        "step_starts": "start",
        "step_dues": "due",
        "step_ends": "end",
        "step_methods": "method",
    }
    for name, attribute in columns.items():
        params[name] = [getattr(step, attribute) for _, step in steps]
    params["step_titles"] = [step_title(protocol, step) for protocol, step in steps]
    return params


def reference_params() -> dict[str, Any]:
    """Call natures, concerns and the shared directory's services (SERVICES_PER_NEED for
    each need, in NEEDS' order), made when missing."""
    natures = [
        CallNature.objects.get_or_create(code=code, defaults={"label": label})[0]
        for code, (label, _) in CALL_NATURES.items()
    ]
    concerns = [
        Concern.objects.get_or_create(code=code, defaults={"label": label})[0]
        for code, label in CONCERNS.items()
    ]
    services = []
    for need in NEEDS:
        for n in range(1, SERVICES_PER_NEED + 1):
            organization = Organization.objects.get_or_create(
                agency=None,
                name=f"Scale {need.label.lower()} provider {n}",
                defaults={"description": f"A community provider of {need.label.lower()}."},
            )[0]
            services.append(
                Service.objects.get_or_create(
                    organization=organization, name=f"{need.label} programme {n}"
                )[0]
            )
    return {
        **weighted("natures", {code: weight for code, (_, weight) in CALL_NATURES.items()}),
        "nature_ids": [nature.pk for nature in natures],
        "natures_labels": [nature.label for nature in natures],
        "concern_ids": [concern.pk for concern in concerns],
        "concern_count": len(concerns),
        "service_ids": [service.pk for service in services],
        "service_names": [service.name for service in services],
        "services_per_need": SERVICES_PER_NEED,
    }


# --- Query parameters -------------------------------------------------------------------


def weighted(name: str, weights: Mapping[Any, float]) -> dict[str, list]:
    """Query parameters for a weighted choice in SQL: `name` (the values), `name_labels`
    and `name_at`, the thresholds for `width_bucket(u, name_at)`, which gives the 1-based
    index of the value a uniform u in [0, 1) falls on."""
    total = sum(weights.values())
    thresholds, running = [], 0.0
    for weight in weights.values():
        thresholds.append(running / total)
        running += weight
    # The labels in English, as the rows store them (their translations are shown).
    with translation.override("en"):
        labels = [str(getattr(value, "label", value)) for value in weights]
    return {
        name: [str(value) for value in weights],
        f"{name}_labels": labels,
        f"{name}_at": thresholds,
    }


def nickname(first: str) -> str:
    """The usual nickname of a formal first name ("Bill" for William), or ""."""
    for group in NICKNAME_GROUPS:
        if group[0] == plain(first):
            return group[1].capitalize()
    return ""


def name_params() -> dict[str, Any]:
    """The name pools, with each name's search key and sound as cases.models computes
    them (Client.refresh_search_keys), picked in SQL by index."""
    nicknames = [nickname(first) for first in FIRST_NAMES]
    return {
        "first_names": list(FIRST_NAMES),
        "first_keys": [client_name_key(first) for first in FIRST_NAMES],
        "first_sounds": [sound(name_tokens(first)[0]) for first in FIRST_NAMES],
        "first_count": len(FIRST_NAMES),
        "nicknames": nicknames,
        "nickname_keys": [client_name_key(nick) for nick in nicknames],
        "last_names": list(LAST_NAMES),
        "last_keys": [client_name_key(last) for last in LAST_NAMES],
        "last_sounds": [sound(name_tokens(last)[0]) for last in LAST_NAMES],
        "last_count": len(LAST_NAMES),
        "descriptions": list(UNIDENTIFIED),
        "description_count": len(UNIDENTIFIED),
    }


def choice_params() -> dict[str, Any]:
    outcomes = {
        f"outcomes_{status}": list(OUTCOMES_FOR_STATUS[status])
        for status in (S.COMPLETED, S.REJECTED, S.FAILED, S.CANCELLED)
    }
    needs = weighted("needs", NEEDS)
    stale_after = [STALE_AFTER.get(need, STALE_AFTER_DEFAULT) for need in needs["needs"]]
    return {
        **needs,
        "needs_accept_days": [accept for accept, _ in stale_after],
        "needs_connect_days": [connect for _, connect in stale_after],
        **weighted("sources", SOURCES),
        **weighted("dispositions", DISPOSITIONS),
        **weighted("risks", RISKS),
        **weighted("close_reasons", CLOSE_REASONS),
        **weighted("visit_reasons", VISIT_REASONS),
        **weighted("urgencies", URGENCIES),
        **weighted("recent", RECENT_REFERRALS),
        **weighted("older", OLDER_REFERRALS),
        **outcomes,
        **{f"{name}_n": len(values) for name, values in outcomes.items()},
        "shared_items": json.dumps(["name", "phone", "reason"]),
        "one_off_titles": [title for title, _, _ in ONE_OFFS],
        "one_off_methods": [method for _, method, _ in ONE_OFFS],
        "one_off_reasons": [reason for _, _, reason in ONE_OFFS],
        "one_off_count": len(ONE_OFFS),
        "locations": list(LOCATIONS),
        "location_count": len(LOCATIONS),
        "narratives": list(NARRATIVES),
        "narrative_count": len(NARRATIVES),
        "facilities": list(FACILITIES),
        "facility_count": len(FACILITIES),
    }


def sequence_params() -> dict[str, str]:
    """The id sequences of the tables whose ids the rows of a chunk point to before they
    are inserted (taken with nextval in the temporary tables)."""
    models_by_name = {
        "client_seq": Client,
        "case_seq": Case,
        "contact_seq": Contact,
        "visit_seq": HospitalVisit,
        "enrolment_seq": Enrolment,
    }
    sequences = {}
    with connection.cursor() as cursor:
        for name, model in models_by_name.items():
            cursor.execute(
                "SELECT pg_get_serial_sequence(%s, %s)",
                [model._meta.db_table, model._meta.pk.column],
            )
            sequences[name] = cursor.fetchone()[0]
    return sequences


def run_params(have: int, target: int, agencies: int) -> dict[str, int]:
    """The run's last case number and its count, over which its cases are spread in time,
    and how many cases back a returning client's earlier case is (about 45 days)."""
    per_day = (target - have) / 1094.25
    return {
        "last": target,
        "span": target - have,
        "return_offset": agencies * max(1, round(per_day * 45 / agencies)),
    }
