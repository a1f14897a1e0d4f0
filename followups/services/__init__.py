"""Follow-up workflows: enrolment from what is recorded, one-off follow-ups, attempts,
completion, moving a due date, cancelling, and what closing or reassigning a case does.

Every write that creates follow-ups runs in the transaction of the event that causes it
(a contact, a hospital visit, a sent referral), so a follow-up exists exactly when its
cause does. Time-driven status changes belong to the engine (followups/engine/).

Callers import from here (`from followups import services`); the submodules hold the
code by concern. A test that patches a function patches it in the submodule that calls
it (`followups.services.enrolment.enrol`), not here.
"""

from followups.services.case_changes import cancel_for_closed_case, move_to_new_worker
from followups.services.common import REASON_MAX
from followups.services.enrolment import (
    MAX_OPEN_ENDED_OCCURRENCES,
    end_enrolment,
    enrol,
    schedule_next_occurrence,
)
from followups.services.followups import (
    MAX_DUE_AHEAD,
    UNDO_SHOWN_SECONDS,
    UNDO_WINDOW,
    cancel_followup,
    check_plan_answers,
    complete_followup,
    create_followup,
    log_attempt,
    move_followup,
    undo_attempt,
)
from followups.services.protocols import (
    MAX_OFFSET,
    MAX_STEPS,
    STEP_FIELDS,
    protocols_for,
    save_protocol_version,
    set_protocol_active,
)
from followups.services.triggers import (
    end_engaged_in_care,
    enrol_from_contact,
    enrol_from_referral,
)
from followups.services.visits import reason_from_concerns, record_discharge, record_hospital_visit

__all__ = [
    "MAX_DUE_AHEAD",
    "MAX_OFFSET",
    "MAX_OPEN_ENDED_OCCURRENCES",
    "MAX_STEPS",
    "REASON_MAX",
    "STEP_FIELDS",
    "UNDO_SHOWN_SECONDS",
    "UNDO_WINDOW",
    "cancel_followup",
    "cancel_for_closed_case",
    "check_plan_answers",
    "complete_followup",
    "create_followup",
    "end_engaged_in_care",
    "end_enrolment",
    "enrol",
    "enrol_from_contact",
    "enrol_from_referral",
    "log_attempt",
    "move_followup",
    "move_to_new_worker",
    "protocols_for",
    "reason_from_concerns",
    "record_discharge",
    "record_hospital_visit",
    "save_protocol_version",
    "schedule_next_occurrence",
    "set_protocol_active",
    "undo_attempt",
]
