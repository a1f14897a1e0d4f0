"""The dispatch workflows: intake (requests recorded, posted by CAD, corrected), units
(shifts, service, shared positions, the nearest ones) and the timeline (sending a unit,
the one tap, releasing, closing unserved). Import from here."""

from dispatch.services.common import settings_for
from dispatch.services.intake import edit_request, record_cad_incident, record_request
from dispatch.services.timeline import (
    acknowledge,
    advance,
    assign_unit,
    close_not_served,
    link_contact,
    reassign_unit,
    release_unit,
)
from dispatch.services.units import (
    Suggestion,
    end_shift,
    purge_positions,
    record_position,
    return_to_service,
    set_position_sharing,
    start_shift,
    suggest_units,
    take_out_of_service,
)

__all__ = [
    "Suggestion",
    "acknowledge",
    "advance",
    "assign_unit",
    "close_not_served",
    "link_contact",
    "edit_request",
    "end_shift",
    "purge_positions",
    "reassign_unit",
    "record_cad_incident",
    "record_position",
    "record_request",
    "release_unit",
    "return_to_service",
    "set_position_sharing",
    "settings_for",
    "start_shift",
    "suggest_units",
    "take_out_of_service",
]
