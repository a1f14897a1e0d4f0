"""Searching the directory: the one query behind the search page and the search API.

Results are service-at-location rows (a service at one of its places, with a distance when
the worker gave a place), then the services that have no location. Only rows the user may
see (`visible_to`: the shared directory and their own agency's) and services that are
active or temporarily closed (those last, with a badge); inactive and defunct services
never appear.

`search()` returns a lazy SearchResults that Django's Paginator (pages) and DRF's
pagination (API) page through; only the page asked for is loaded, with a fixed number of
queries whatever its size.
"""

import datetime
import unicodedata
import uuid
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import (
    Case,
    Exists,
    F,
    FloatField,
    Func,
    IntegerField,
    OrderBy,
    OuterRef,
    Prefetch,
    Q,
    TextField,
    Value,
    When,
)
from django.db.models.expressions import Combinable
from django.db.models.functions import Cos, Radians, Sqrt
from django.utils import timezone

from audit.models import Action
from audit.services import record as audit
from directory import schedules as hours
from directory.models import (
    Address,
    Attribute,
    Language,
    Location,
    NeedCategory,
    Phone,
    Schedule,
    Service,
    ServiceAtLocation,
    ServiceStatus,
)

PAGE_SIZE = 20
EARTH_RADIUS_KM = 6371.0
# "Open now" is decided in Python from the schedules (iCalendar rules do not translate to
# SQL), so it runs over the candidates the other filters leave, nearest/first ones first,
# up to this many service-at-location rows and as many location-less services. Beyond
# that the results say the check was cut short (SearchResults.open_now_truncated).
OPEN_NOW_CANDIDATES = 1000
MAX_WORDS = 8
SEARCHABLE_STATUSES = [ServiceStatus.ACTIVE, ServiceStatus.TEMPORARILY_CLOSED]

# Accented Latin letters and their plain forms, for accent-insensitive text search in
# PostgreSQL without the unaccent extension (translate() is built in).
ACCENTED = "áàâäãåāăąçćĉčďéèêëēĕėęěğĝģíìîïĩīĭįıĵķĺļľłñńņňóòôöõōŏőŕřśŝşšţťúùûüũūŭůűųŵýÿŷźżž"
PLAIN = "".join(unicodedata.normalize("NFKD", c)[0] for c in ACCENTED)


def fold(text: str) -> str:
    """Lower case, and without accents where the database can fold them too."""
    text = text.lower()
    if connection.vendor == "postgresql":
        text = text.translate(str.maketrans(ACCENTED, PLAIN))
    return text


class Folded(Func):
    """lower(text), and without accents on PostgreSQL: compared with fold(query)."""

    output_field = TextField()

    def as_sql(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function="LOWER", **extra_context)

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"translate(lower({sql}), %s, %s)", (*params, ACCENTED, PLAIN)


@dataclass
class SearchParams:
    need: str = ""
    q: str = ""
    language: str = ""
    age: int | None = None
    open_now: bool = False
    lat: float | None = None
    lng: float | None = None

    @property
    def near(self) -> bool:
        return self.lat is not None and self.lng is not None

    def for_audit(self) -> dict:
        """What was searched for. Where (possibly the client's home) is not kept, only
        whether a place was given."""
        return {
            "need": self.need,
            "q": self.q,
            "language": self.language,
            "age": self.age,
            "open_now": self.open_now,
            "near": self.near,
        }


@dataclass
class Result:
    """One search result: a service, at a location when it has one."""

    service: Service
    location: Location | None = None
    at_location: ServiceAtLocation | None = None
    distance_km: float | None = None
    open_status: str = hours.UNKNOWN
    phones: list = field(default_factory=list)
    languages: list = field(default_factory=list)
    address: Address | None = None
    need_categories: list = field(default_factory=list)

    @property
    def temporarily_closed(self) -> bool:
        return self.service.status == ServiceStatus.TEMPORARILY_CLOSED

    @property
    def open_now(self) -> bool | None:
        return None if self.open_status == hours.UNKNOWN else self.open_status == hours.OPEN


def _visible(user, prefix: str) -> Q:
    """Q for rows (reached through `prefix`) that the user may see, as visible_to."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    shared = Q(**{f"{prefix}agency__isnull": True})
    if not user.agency_id:
        return shared
    return shared | Q(**{f"{prefix}agency_id": user.agency_id})


def _service_filters(queryset, user, params: SearchParams, service: str, location: str | None):
    """The filters on the service (reached through `service`, "" or "service__") and, for
    languages, on its location (`location`, None when there is none)."""
    service_pk = OuterRef(f"{service}pk" if service else "pk")
    queryset = queryset.filter(**{f"{service}status__in": SEARCHABLE_STATUSES})
    if params.need:
        tagged = Attribute.objects.visible_to(user).filter(
            Q(taxonomy_term__need_category=params.need)
            | Q(taxonomy_term__parent__need_category=params.need),
            link_entity="service",
            link_id=service_pk,
        )
        queryset = queryset.filter(Exists(tagged))
    words = fold(params.q).split()[:MAX_WORDS]
    if words:
        queryset = queryset.alias(
            _name=Folded(f"{service}name"),
            _alternate=Folded(f"{service}alternate_name"),
            _description=Folded(f"{service}description"),
            _organization=Folded(f"{service}organization__name"),
        )
        for word in words:
            queryset = queryset.filter(
                Q(_name__contains=word)
                | Q(_alternate__contains=word)
                | Q(_description__contains=word)
                | Q(_organization__contains=word)
            )
    if params.language:
        value = params.language.strip()
        spoken = Language.objects.visible_to(user).filter(
            Q(code__iexact=value) | Q(name__iexact=value) | Q(code__istartswith=f"{value}-")
        )
        condition: Q | Combinable = Exists(spoken.filter(service_id=service_pk))
        if location:
            condition |= Exists(spoken.filter(location_id=OuterRef(f"{location}pk")))
        queryset = queryset.filter(condition)
    if params.age is not None:
        queryset = queryset.filter(
            Q(**{f"{service}minimum_age__isnull": True})
            | Q(**{f"{service}minimum_age__lte": params.age}),
            Q(**{f"{service}maximum_age__isnull": True})
            | Q(**{f"{service}maximum_age__gte": params.age}),
        )
    return queryset.annotate(
        closed_rank=Case(
            When(**{f"{service}status": ServiceStatus.TEMPORARILY_CLOSED}, then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        )
    )


def distance_km(lat: float, lng: float, prefix: str = "location__"):
    """Kilometres from (lat, lng) to the row's coordinates, by the equirectangular
    approximation (within 0.1% up to a few hundred km; across the antimeridian it
    overstates). NULL when the row has no coordinates or impossible ones."""
    row_lat, row_lng = F(f"{prefix}latitude"), F(f"{prefix}longitude")
    dy = Radians(row_lat - Value(lat))
    dx = Radians(row_lng - Value(lng)) * Cos(Radians((row_lat + Value(lat)) / Value(2.0)))
    return Case(
        When(
            Q(**{f"{prefix}latitude__range": (-90, 90), f"{prefix}longitude__range": (-180, 180)}),
            then=Value(EARTH_RADIUS_KM) * Sqrt(dx * dx + dy * dy),
        ),
        default=None,
        output_field=FloatField(),
    )


def search(user, params: SearchParams, *, now: datetime.datetime | None = None):
    return SearchResults(user, params, now=now)


class SearchResults:
    """The results of one search, loaded a slice at a time (`results[20:40]` is a list of
    Result); `count()` counts without loading them."""

    def __init__(self, user, params: SearchParams, *, now=None):
        self.user = user
        self.params = params
        self.now = now or timezone.now()
        self.zone = hours.agency_zone(user)
        self.open_now_truncated = False
        self._count: tuple[int, int] | None = None

        at_locations = ServiceAtLocation.objects.filter(
            _visible(user, ""), _visible(user, "service__"), _visible(user, "location__")
        )
        at_locations = _service_filters(at_locations, user, params, "service__", "location__")
        order: list[str | OrderBy] = ["closed_rank"]
        if params.lat is not None and params.lng is not None:
            at_locations = at_locations.annotate(distance_km=distance_km(params.lat, params.lng))
            order.append(F("distance_km").asc(nulls_last=True))
        else:
            at_locations = at_locations.annotate(distance_km=Value(None, FloatField()))
        self.at_locations = at_locations.order_by(
            *order, "service__name", "location__name", "service_id", "pk"
        )

        located = ServiceAtLocation.objects.filter(
            _visible(user, ""), _visible(user, "location__"), service_id=OuterRef("pk")
        )
        services = Service.objects.visible_to(user).filter(~Exists(located))
        services = _service_filters(services, user, params, "", None)
        self.services = services.order_by("closed_rank", "name", "pk")

        if params.open_now:
            self._keep_open_only()

    def _keep_open_only(self):
        rows = list(
            self.at_locations.values_list("pk", "service_id", "location_id")[
                : OPEN_NOW_CANDIDATES + 1
            ]
        )
        service_ids = list(self.services.values_list("pk", flat=True)[: OPEN_NOW_CANDIDATES + 1])
        if len(rows) > OPEN_NOW_CANDIDATES or len(service_ids) > OPEN_NOW_CANDIDATES:
            self.open_now_truncated = True
            rows, service_ids = rows[:OPEN_NOW_CANDIDATES], service_ids[:OPEN_NOW_CANDIDATES]
        all_services = {service_id for _, service_id, _ in rows} | set(service_ids)
        locations = {location_id for _, _, location_id in rows}
        found = Schedule.objects.visible_to(self.user).filter(
            Q(service_at_location_id__in=[pk for pk, _, _ in rows])
            | Q(service_id__in=all_services)
            | Q(location_id__in=locations)
        )
        by_key = {}
        for schedule in found:
            for key in (
                ("sal", schedule.service_at_location_id),
                ("service", schedule.service_id),
                ("location", schedule.location_id),
            ):
                if key[1]:
                    by_key.setdefault(key, []).append(schedule)

        def is_open(*groups):
            chosen = hours.applicable(*(by_key.get(key, []) for key in groups))
            return hours.open_status(chosen, self.now, self.zone) == hours.OPEN

        open_rows = [
            pk
            for pk, service_id, location_id in rows
            if is_open(("sal", pk), ("service", service_id), ("location", location_id))
        ]
        open_services = [pk for pk in service_ids if is_open(("service", pk))]
        self.at_locations = self.at_locations.filter(pk__in=open_rows)
        self.services = self.services.filter(pk__in=open_services)

    def counts(self) -> tuple[int, int]:
        if self._count is None:
            self._count = (self.at_locations.count(), self.services.count())
        return self._count

    def count(self) -> int:
        return sum(self.counts())

    def __len__(self):
        return self.count()

    def __getitem__(self, key):
        if not isinstance(key, slice):
            return self[key : key + 1][0]
        located_count, _ = self.counts()
        start, stop = key.start or 0, key.stop if key.stop is not None else self.count()
        rows = []
        if start < located_count:
            rows += self._load_located(start, min(stop, located_count))
        if stop > located_count:
            rows += self._load_services(max(start - located_count, 0), stop - located_count)
        self._add_needs(rows)
        return rows

    def _visible(self, model):
        return model.objects.visible_to(self.user)

    def _load_located(self, start, stop):
        if stop <= start:
            return []
        page = list(
            self.at_locations.select_related("service__organization", "location").prefetch_related(
                Prefetch("service__phones", queryset=self._visible(Phone)),
                Prefetch("service__languages", queryset=self._visible(Language)),
                Prefetch("service__schedules", queryset=self._visible(Schedule)),
                Prefetch("location__phones", queryset=self._visible(Phone)),
                Prefetch("location__languages", queryset=self._visible(Language)),
                Prefetch("location__schedules", queryset=self._visible(Schedule)),
                Prefetch("location__addresses", queryset=self._visible(Address)),
                Prefetch("schedules", queryset=self._visible(Schedule)),
            )[start:stop]
        )
        results = []
        for row in page:
            service, location = row.service, row.location
            chosen = hours.applicable(
                row.schedules.all(), service.schedules.all(), location.schedules.all()
            )
            addresses = list(location.addresses.all())
            physical = [a for a in addresses if a.address_type == "physical"]
            languages = {lang.name or lang.code: lang for lang in service.languages.all()}
            for lang in location.languages.all():
                languages.setdefault(lang.name or lang.code, lang)
            results.append(
                Result(
                    service=service,
                    location=location,
                    at_location=row,
                    distance_km=row.distance_km,
                    open_status=hours.open_status(chosen, self.now, self.zone),
                    phones=list(service.phones.all()) or list(location.phones.all()),
                    languages=list(languages.values()),
                    address=(physical or addresses or [None])[0],
                )
            )
        return results

    def _load_services(self, start, stop):
        if stop <= start:
            return []
        page = self.services.select_related("organization").prefetch_related(
            Prefetch("phones", queryset=self._visible(Phone)),
            Prefetch("languages", queryset=self._visible(Language)),
            Prefetch("schedules", queryset=self._visible(Schedule)),
        )[start:stop]
        return [
            Result(
                service=service,
                open_status=hours.open_status(service.schedules.all(), self.now, self.zone),
                phones=list(service.phones.all()),
                languages=list(service.languages.all()),
            )
            for service in page
        ]

    def _add_needs(self, rows):
        needs = need_categories_for(self.user, [row.service.pk for row in rows])
        for row in rows:
            row.need_categories = needs.get(row.service.pk, [])
            row.need_labels = [NeedCategory(c).label for c in row.need_categories]


def need_categories_for(user, service_ids) -> dict:
    """{service id: [NeedCategory value, ...]} from the services' taxonomy attributes (a
    term's own category, else its parent's). One query."""
    if not service_ids:
        return {}
    found: dict[uuid.UUID, list[str]] = {}
    links = (
        Attribute.objects.visible_to(user)
        .filter(link_entity="service", link_id__in=service_ids)
        .values_list(
            "link_id", "taxonomy_term__need_category", "taxonomy_term__parent__need_category"
        )
    )
    for link_id, own, parent in links:
        category = own or parent
        if category and category not in found.setdefault(link_id, []):
            found[link_id].append(category)
    return {pk: sorted(categories) for pk, categories in found.items()}


def audit_search(request, params: SearchParams, rows, *, page_number=1, case_id=None):
    """One SEARCH row per search: what was asked and which services were shown. No client
    data is involved; the case a worker is referring from is noted."""
    detail = {
        **params.for_audit(),
        "page": page_number,
        "service_ids": [str(row.service.pk) for row in rows],
    }
    if case_id is not None:
        detail["case_id"] = case_id
    audit(request=request, action=Action.SEARCH, object_type="service", detail=detail)
