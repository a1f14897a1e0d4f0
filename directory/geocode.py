"""Turning what a worker typed ("near") into coordinates.

GEOCODER = "directory" (the default) sends nothing anywhere: the typed address's postal
code, else its city, is matched against the directory's own Address rows, and the mean
coordinates of their locations are used. GEOCODER = "nominatim" asks GEOCODER_URL (a
Nominatim-compatible /search endpoint) over HTTP with a 5 second timeout. Every failure is
a GeocodeError with a message fit to show the worker, never an exception past the view.
"""

import json
import logging
import re
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings
from django.db.models import Avg, Q
from django.utils.translation import gettext_lazy

from directory.models import Address

logger = logging.getLogger(__name__)

NOT_FOUND = gettext_lazy(
    "Could not find that address. Try a postal code or a city, or use your location."
)
TIMEOUT_SECONDS = 5
# Postal codes: digits with an optional suffix (97401, 97401-1234), or alphanumeric
# groups as in Canada and the UK (K1A 0B1, SW1A 1AA).
POSTAL_CODE = re.compile(
    r"\b(\d{4,6}(?:-\d{3,4})?|[A-Z]\d[A-Z] ?\d[A-Z]\d|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})\b",
    re.IGNORECASE,
)
COORDINATES = re.compile(r"^\s*(-?\d{1,3}(?:\.\d+)?)\s*,\s*(-?\d{1,3}(?:\.\d+)?)\s*$")


class GeocodeError(Exception):
    def __init__(self, message=NOT_FOUND):
        # In the language of the request that raised it (a lazy message is read now).
        message = str(message)
        super().__init__(message)
        self.message = message


def valid_coordinates(lat, lng) -> bool:
    return -90 <= lat <= 90 and -180 <= lng <= 180


def parse_coordinates(text: str) -> tuple[float, float] | None:
    """(lat, lng) from "44.05,-123.09"; None when the text is not a coordinate pair in
    range."""
    match = COORDINATES.match(text or "")
    if not match:
        return None
    lat, lng = float(match.group(1)), float(match.group(2))
    return (lat, lng) if valid_coordinates(lat, lng) else None


def geocode(address: str, user) -> tuple[float, float]:
    """(lat, lng) for a typed address, with the configured geocoder; GeocodeError when it
    cannot be found."""
    address = (address or "").replace("\x00", "").strip()[:300]
    if not address:
        raise GeocodeError()
    coordinates = parse_coordinates(address)
    if coordinates:
        return coordinates
    if settings.GEOCODER == "nominatim":
        return _nominatim(address)
    return _from_directory(address, user)


def _mean(addresses):
    mean = addresses.filter(
        location__latitude__isnull=False, location__longitude__isnull=False
    ).aggregate(lat=Avg("location__latitude"), lng=Avg("location__longitude"))
    if mean["lat"] is None or not valid_coordinates(mean["lat"], mean["lng"]):
        return None
    return (mean["lat"], mean["lng"])


def _from_directory(address: str, user) -> tuple[float, float]:
    addresses = Address.objects.visible_to(user)
    for code in POSTAL_CODE.findall(address):
        code = code.strip()
        # 97401 also matches 97401-1234 in the directory, and 97401-1234 matches 97401.
        base = code.split("-")[0]
        found = _mean(addresses.filter(postal_code__iexact=code)) if "-" in code else None
        found = found or _mean(
            addresses.filter(Q(postal_code__iexact=base) | Q(postal_code__istartswith=f"{base}-"))
        )
        if found:
            return found
    # The city: each comma-separated part, and the part's words before a state or code.
    parts = [part.strip() for part in address.split(",") if part.strip()]
    candidates = []
    for part in parts:
        candidates.append(part)
        words = POSTAL_CODE.sub("", part).split()
        candidates.extend(" ".join(words[:n]) for n in range(len(words) - 1, 0, -1))
    for city in dict.fromkeys(c for c in candidates if c):
        found = _mean(addresses.filter(city__iexact=city))
        if found:
            return found
    raise GeocodeError()


def _nominatim(address: str) -> tuple[float, float]:
    base = settings.GEOCODER_URL
    if not base.startswith(("https://", "http://")):
        logger.error("GEOCODER_URL is not an http(s) URL")
        raise GeocodeError()
    query = urllib.parse.urlencode({"q": address, "format": "jsonv2", "limit": 1})
    url = f"{base}{'&' if '?' in base else '?'}{query}"
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url, headers={"User-Agent": "casebook directory search", "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310  # nosec B310
            data = json.loads(response.read(1_000_000).decode("utf-8"))
        first = data[0]
        lat, lng = float(first["lat"]), float(first["lon"])
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        # urllib.error.URLError and socket timeouts are OSErrors; bad JSON a ValueError.
        logger.warning("Geocoding failed: %s", exc.__class__.__name__)
        raise GeocodeError() from exc
    if not valid_coordinates(lat, lng):
        raise GeocodeError()
    return (lat, lng)
