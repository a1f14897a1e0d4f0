"""Writes to the directory from the pages: an agency admin edits their agency's own rows,
the system admin the shared directory. Each service checks that the actor may, changes
the rows in one transaction and leaves a CREATE or UPDATE audit row."""

import datetime
from collections.abc import Collection, Iterable, Mapping
from typing import Any, TypeVar, cast

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from audit.models import Action
from audit.services import record as audit
from directory.models import (
    Address,
    Attribute,
    HsdsModel,
    Language,
    Location,
    NeedCategory,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceAtLocation,
    TaxonomyTerm,
)
from directory.needs import NEED_TERM_IDS, NEEDS_TAXONOMY_ID, NEEDS_TAXONOMY_NAME

_Row = TypeVar("_Row", bound=HsdsModel)

NEEDS_TAXONOMY = NEEDS_TAXONOMY_NAME
ORGANIZATION_FIELDS = ["name", "alternate_name", "description", "email", "website"]
SERVICE_FIELDS = [
    "organization",
    "name",
    "alternate_name",
    "description",
    "status",
    "email",
    "url",
    "eligibility_description",
    "minimum_age",
    "maximum_age",
    "application_process",
    "fees_description",
]
LOCATION_FIELDS = ["organization", "name", "description", "latitude", "longitude"]
ADDRESS_FIELDS = ["address_1", "city", "state_province", "postal_code", "country"]

# ISO 639-1 codes of the languages most asked for, to turn "es" into "Spanish" and back.
LANGUAGES = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "pt": "Portuguese",
    "it": "Italian",
    "zh": "Chinese",
    "vi": "Vietnamese",
    "ko": "Korean",
    "ja": "Japanese",
    "tl": "Tagalog",
    "ru": "Russian",
    "uk": "Ukrainian",
    "ar": "Arabic",
    "fa": "Persian",
    "hi": "Hindi",
    "pa": "Punjabi",
    "so": "Somali",
    "am": "Amharic",
    "sw": "Swahili",
    "ht": "Haitian Creole",
    "pl": "Polish",
    "ase": "American Sign Language",
}
NAMES = {name.lower(): code for code, name in LANGUAGES.items()}
# The names people type for American Sign Language.
NAMES["asl"] = "ase"


def parse_languages(text: str) -> list[tuple[str, str]]:
    """[(code, name), ...] from "es, Vietnamese, asl"; an unknown word is kept as a name
    (or a code, when it looks like one)."""
    found: dict[str, tuple[str, str]] = {}
    for raw in (text or "").replace(";", ",").split(","):
        word = " ".join(raw.split())[:60]
        if not word:
            continue
        lower = word.lower()
        if lower in LANGUAGES:
            code, name = lower, LANGUAGES[lower]
        elif lower in NAMES:
            code = NAMES[lower]
            name = LANGUAGES[code]
        elif len(word) <= 3 and word.isalpha():
            code, name = lower, word
        else:
            code, name = "", word
        found.setdefault((code or name).lower(), (code, name))
    return list(found.values())


def _editor_agency_id(actor: User) -> int | None:
    """The agency new rows belong to: the admin's agency, or None (the shared directory)
    for the system admin. Anyone else may not edit."""
    if actor.is_system_admin:
        return None
    if actor.is_agency_admin and actor.agency_id:
        return actor.agency_id
    raise PermissionDenied(_("Only agency admins and the system admin edit the directory."))


def _locked(model: type[_Row], obj: _Row, actor: User) -> _Row:
    # Through the model's own manager: `model.objects` types as the base model's.
    row = cast(
        _Row | None,
        model.objects.editable_by(actor).select_for_update().filter(pk=obj.pk).first(),
    )
    if row is None:
        raise PermissionDenied(_cannot_change(model))
    return row


def _cannot_change(model: type[HsdsModel]) -> str:
    """The refusal of a row the actor may not change, as a whole sentence."""
    name = model._meta.model_name
    if name == "organization":
        return _("You may not change this organization.")
    if name == "service":
        return _("You may not change this service.")
    if name == "location":
        return _("You may not change this location.")
    return _("You may not change this %(kind)s.") % {"kind": model._meta.verbose_name}


def _apply(obj: models.Model, data: dict[str, Any], fields: Iterable[str]) -> list[str]:
    changed: list[str] = []
    for name in fields:
        if name not in data:
            continue
        value = data[name]
        if value is None and name not in ("minimum_age", "maximum_age", "latitude", "longitude"):
            # `fields` name columns (Field), never reverse relations.
            value = (
                cast("models.Field[Any, Any]", obj._meta.get_field(name)).get_default()
                if name != "organization"
                else None
            )
        current = getattr(obj, f"{name}_id" if name == "organization" else name)
        new = value.pk if name == "organization" and value is not None else value
        if current != new:
            setattr(obj, name, value)
            changed.append(name)
    return changed


@transaction.atomic
def save_organization(
    *,
    actor: User,
    organization: Organization | None = None,
    data: dict[str, Any],
    request: HttpRequest | None = None,
) -> Organization:
    agency_id = _editor_agency_id(actor)
    creating = organization is None
    if organization is None:
        organization = Organization(agency_id=agency_id, name="", description="")
    else:
        organization = _locked(Organization, organization, actor)
    changed = _apply(organization, data, ORGANIZATION_FIELDS)
    organization.full_clean(exclude=["parent_organization"])
    organization.save()
    audit(
        request=request,
        actor=actor,
        action=Action.CREATE if creating else Action.UPDATE,
        obj=organization,
        detail={"changed": changed},
    )
    return organization


def need_terms(categories: Collection[str]) -> dict[str, TaxonomyTerm]:
    """{category: its "casebook needs" term} (made by migration 0002 with the fixed ids of
    directory/needs.py; remade here if someone deleted one)."""
    terms = {
        term.need_category: term
        for term in TaxonomyTerm.objects.filter(pk__in=[NEED_TERM_IDS[c] for c in categories])
    }
    for category in categories:
        if category not in terms:
            # The term is data: named in English, whoever's language the request speaks.
            with translation.override("en"):
                label = str(NeedCategory(category).label)
            terms[category] = TaxonomyTerm.objects.create(
                id=NEED_TERM_IDS[category],
                taxonomy=NEEDS_TAXONOMY,
                taxonomy_id=NEEDS_TAXONOMY_ID,
                code=category,
                name=label,
                description=label,
                need_category=category,
            )
    return terms


# The rows the _set_* helpers read and replace are those of the edited row's own
# directory: an agency's own rows hung on a shared row are that agency's, never changed
# (nor shown) by an edit of the shared row. They filter on `agency=` the row's agency id:
# None, a shared row's, selects the shared directory's rows (IS NULL).


def _set_needs(service: Service, categories: Iterable[str]) -> bool:
    current = Attribute.objects.filter(
        agency=service.agency_id,
        link_entity="service",
        link_id=service.pk,
        taxonomy_term__taxonomy=NEEDS_TAXONOMY,
    ).select_related("taxonomy_term")
    have = {a.taxonomy_term.need_category: a for a in current}
    wanted = set(categories)
    stale = [a.pk for category, a in have.items() if category not in wanted]
    Attribute.objects.filter(pk__in=stale).delete()
    terms = need_terms(sorted(wanted - have.keys()))
    for term in terms.values():
        Attribute.objects.create(
            agency_id=service.agency_id,
            link_entity="service",
            link_id=service.pk,
            taxonomy_term=term,
        )
    return bool(stale or terms)


def _set_languages(service: Service, languages: list[tuple[str, str]]) -> bool:
    mine = Language.objects.filter(
        agency=service.agency_id, service=service, location__isnull=True, phone__isnull=True
    )
    current = sorted(mine.values_list("code", "name"))
    if current == sorted(languages):
        return False
    mine.delete()
    Language.objects.bulk_create(
        Language(agency_id=service.agency_id, service=service, code=code, name=name)
        for code, name in languages
    )
    return True


def _set_phone(service: Service, number: str) -> bool:
    phone = Phone.objects.filter(agency=service.agency_id, service=service).order_by("pk").first()
    number = (number or "").strip()
    if not number:
        if phone is None:
            return False
        phone.delete()
        return True
    if phone is None:
        Phone.objects.create(agency_id=service.agency_id, service=service, number=number)
        return True
    if phone.number != number:
        phone.number = number
        phone.save(update_fields=["number"])
        return True
    return False


def _set_weekly_schedule(
    service: Service,
    days: Iterable[str] | None,
    opens_at: datetime.time | None,
    closes_at: datetime.time | None,
) -> bool:
    """The service's one simple weekly opening (its other schedules are left as they
    are). No days removes it."""
    schedule = (
        Schedule.objects.filter(
            agency=service.agency_id,
            service=service,
            freq="WEEKLY",
            location__isnull=True,
            service_at_location__isnull=True,
        )
        .order_by("pk")
        .first()
    )
    byday = ",".join(days or [])
    if not byday:
        if schedule is None:
            return False
        schedule.delete()
        return True
    if schedule is None:
        schedule = Schedule(agency_id=service.agency_id, service=service, freq="WEEKLY")
    elif (schedule.byday, schedule.opens_at, schedule.closes_at) == (byday, opens_at, closes_at):
        return False
    schedule.byday, schedule.opens_at, schedule.closes_at = byday, opens_at, closes_at
    schedule.save()
    return True


@transaction.atomic
def save_service(
    *,
    actor: User,
    service: Service | None = None,
    data: dict[str, Any],
    need_categories: Iterable[str] = (),
    languages: Iterable[tuple[str, str]] = (),
    phone: str = "",
    schedule_days: Iterable[str] = (),
    opens_at: datetime.time | None = None,
    closes_at: datetime.time | None = None,
    request: HttpRequest | None = None,
) -> Service:
    """Create or change a service with its needs (attributes to the "casebook needs"
    terms), languages, one phone and one weekly schedule."""
    agency_id = _editor_agency_id(actor)
    _check_service_input(
        actor=actor, data=data, schedule_days=schedule_days, opens_at=opens_at, closes_at=closes_at
    )
    creating = service is None
    if service is None:
        service = Service(agency_id=agency_id, name="")
    else:
        service = _locked(Service, service, actor)
    changed = _apply(service, data, SERVICE_FIELDS)
    if service.organization_id is None:
        raise ValidationError({"organization": _("Choose the organization.")})
    service.last_modified = timezone.now()
    service.full_clean(exclude=["organization", "program_id"])
    service.save()
    if _set_needs(service, need_categories):
        changed.append("need_categories")
    if _set_languages(service, list(languages)):
        changed.append("languages")
    if _set_phone(service, phone):
        changed.append("phone")
    if _set_weekly_schedule(service, schedule_days, opens_at, closes_at):
        changed.append("schedule")
    audit(
        request=request,
        actor=actor,
        action=Action.CREATE if creating else Action.UPDATE,
        obj=service,
        detail={"changed": changed},
    )
    return service


def _check_service_input(
    *,
    actor: User,
    data: dict[str, Any],
    schedule_days: Iterable[str],
    opens_at: datetime.time | None,
    closes_at: datetime.time | None,
) -> None:
    """Raises ValidationError for an organization the actor may not edit, a maximum age
    below the minimum, or schedule days without both times."""
    organization = data.get("organization")
    if organization is not None and not (
        Organization.objects.editable_by(actor).filter(pk=organization.pk).exists()
    ):
        raise ValidationError({"organization": _("Choose an organization you may edit.")})
    minimum, maximum = data.get("minimum_age"), data.get("maximum_age")
    if minimum is not None and maximum is not None and minimum > maximum:
        raise ValidationError({"maximum_age": _("The maximum age is below the minimum age.")})
    if schedule_days and (opens_at is None or closes_at is None):
        raise ValidationError({"opens_at": _("Give the opening and closing times.")})


@transaction.atomic
def save_location(
    *,
    actor: User,
    location: Location | None = None,
    data: dict[str, Any],
    address: Mapping[str, str | None],
    services: Iterable[Service] | None = None,
    request: HttpRequest | None = None,
) -> Location:
    """Create or change a location, its (first physical) address, and which of the
    actor's editable services are offered there (`services`: None leaves them)."""
    agency_id = _editor_agency_id(actor)
    organization = data.get("organization")
    if organization is not None and not (
        Organization.objects.editable_by(actor).filter(pk=organization.pk).exists()
    ):
        raise ValidationError({"organization": _("Choose an organization you may edit.")})
    if (data.get("latitude") is None) != (data.get("longitude") is None):
        raise ValidationError({"longitude": _("Give both latitude and longitude, or neither.")})
    creating = location is None
    location = (
        Location(agency_id=agency_id) if location is None else _locked(Location, location, actor)
    )
    changed = _apply(location, data, LOCATION_FIELDS)
    location.full_clean(exclude=["organization"])
    location.save()
    if _set_address(location, address):
        changed.append("address")
    if services is not None and _set_services(location, services, actor):
        changed.append("services")
    audit(
        request=request,
        actor=actor,
        action=Action.CREATE if creating else Action.UPDATE,
        obj=location,
        detail={"changed": changed},
    )
    return location


def _set_address(location: Location, values: Mapping[str, str | None]) -> bool:
    values = {name: (values.get(name) or "").strip() for name in ADDRESS_FIELDS}
    current = (
        Address.objects.filter(agency=location.agency_id, location=location)
        .order_by("address_type", "pk")
        .first()
    )
    if not any(values.values()):
        return False
    if current is None:
        current = Address(agency_id=location.agency_id, location=location, address_type="physical")
    elif all(getattr(current, name) == value for name, value in values.items()):
        return False
    for name, value in values.items():
        setattr(current, name, value)
    current.save()
    return True


def _set_services(location: Location, services: Iterable[Service], actor: User) -> bool:
    editable = Service.objects.editable_by(actor)
    wanted = {s.pk for s in services}
    if wanted - set(editable.filter(pk__in=wanted).values_list("pk", flat=True)):
        raise ValidationError({"services": _("Choose services you may edit.")})
    links = ServiceAtLocation.objects.filter(
        agency=location.agency_id, location=location, service__in=editable
    )
    have = set(links.values_list("service_id", flat=True))
    removed = links.exclude(service_id__in=wanted).delete()[0]
    ServiceAtLocation.objects.bulk_create(
        ServiceAtLocation(agency_id=location.agency_id, service_id=pk, location=location)
        for pk in sorted(wanted - have)
    )
    return bool(removed or wanted - have)
