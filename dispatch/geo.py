"""Distances on the Earth's surface, for suggesting the nearest unit."""

import math
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

# The mean Earth radius (IUGG), in kilometres.
EARTH_RADIUS_KM = 6371.0088
SIX_PLACES = Decimal("0.000001")


def distance_km(
    lat1: Decimal | float, lon1: Decimal | float, lat2: Decimal | float, lon2: Decimal | float
) -> float:
    """The great-circle (haversine) distance between two points given in degrees: within
    0.5% of the distance on the ellipsoid, plenty to rank units by."""
    phi1, phi2 = math.radians(float(lat1)), math.radians(float(lat2))
    dphi = phi2 - phi1
    dlambda = math.radians(float(lon2) - float(lon1))
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def as_degrees(value: Decimal | float | str | None, limit: int) -> Decimal | None:
    """`value` as stored degrees (6 places), or None for None; ValueError when it is not a
    number within ±`limit`."""
    if value is None:
        return None
    try:
        degrees = Decimal(str(value)).quantize(SIX_PLACES)
    except (InvalidOperation, ValueError):
        raise ValueError(
            _("%(value)s is not a number of degrees.") % {"value": repr(value)}
        ) from None
    if not degrees.is_finite() or abs(degrees) > limit:
        raise ValueError(
            _("%(value)s is not between -%(limit)s and %(limit)s degrees.")
            % {"value": value, "limit": limit}
        )
    return degrees
