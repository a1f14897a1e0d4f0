"""The protocols every agency starts with, each citing its evidence, and their install.

Agency admins edit them afterwards (a new version each time); installing again never
overwrites an agency's own versions. Offsets: see followups/schedule.py. Day 0 is the
anchor's date (the discharge when known), so "days 1-3" are the three dates after it.

Their texts are installed in English and marked with gettext_noop, so that makemessages
finds them: a text the product shipped shows in each reader's language, a text the
agency wrote shows as written (followups.texts.shipped).
"""

from typing import Any

from django.db import transaction
from django.utils.translation import gettext, gettext_noop

from accounts.models import Agency
from followups.models import (
    SAFETY_PLANNING_KEY,
    EndRule,
    Method,
    Performer,
    Protocol,
    ProtocolStep,
    ProtocolVersion,
    Trigger,
    Unit,
)


def _step(name, start, due, end, method=Method.PHONE, unit=Unit.DAYS, **repeat):
    return {
        "name": name,
        "unit": unit,
        "start": start,
        "due": due,
        "end": end,
        "method": method,
        "performer": Performer.ASSIGNED_WORKER,
        **repeat,
    }


# The change note of each protocol's first version.
SHIPPED_CHANGE_NOTE = gettext_noop("Standard protocol as shipped.")

STANDARD_PROTOCOLS: list[dict[str, Any]] = [
    {
        "key": "post-ed-discharge",
        "name": gettext_noop("Post-ER discharge contacts (Safe Care Transitions)"),
        "trigger": Trigger.ED_VISIT,
        "intensive": False,
        "end_rule": EndRule.STEPS_DONE,
        "description": gettext_noop(
            "Four phone contacts over the 90 days after an emergency department visit or "
            "hospital discharge, in days 1-3, 7-10, 30-60 and 60-90, after the University "
            "of Utah Huntsman Mental Health Institute's Safe Care Transitions programme. "
            "The anchor is the discharge when it is known, otherwise the visit."
        ),
        "steps": [
            _step(gettext_noop("Contact 1 (days 1-3)"), 1, 1, 3),
            _step(gettext_noop("Contact 2 (days 7-10)"), 7, 8, 10),
            _step(gettext_noop("Contact 3 (days 30-60)"), 30, 45, 60),
            _step(gettext_noop("Contact 4 (days 60-90)"), 60, 75, 90),
        ],
    },
    {
        "key": SAFETY_PLANNING_KEY,
        "name": gettext_noop("Safety Planning Intervention follow-up calls"),
        "trigger": Trigger.ED_VISIT,
        "intensive": True,
        "end_rule": EndRule.ENGAGED_IN_CARE,
        "description": gettext_noop(
            "Structured follow-up calls after the Safety Planning Intervention (Stanley, "
            "Brown et al., JAMA Psychiatry 2018;75(9):894-900: suicidal behaviour over 6 "
            "months 3.03% vs 5.29%, and twice the odds of attending mental health "
            "treatment). The first call within 72 hours of discharge, then weekly until "
            "the client has attended a mental health appointment or declines further "
            "calls. Each call checks risk, reviews the safety plan, discusses lethal "
            "means and helps with barriers to treatment. Used for a high C-SSRS risk."
        ),
        "steps": [
            _step(gettext_noop("First call (within 72 hours)"), 0, 72, 72, unit=Unit.HOURS),
            _step(gettext_noop("Weekly call"), 7, 8, 9, repeat_every=7, repeat_times=None),
        ],
    },
    {
        "key": "caring-contacts",
        "name": gettext_noop("Caring Contacts"),
        "trigger": Trigger.PSYCHIATRIC_DISCHARGE,
        "intensive": False,
        "end_rule": EndRule.STEPS_DONE,
        "description": gettext_noop(
            "Brief, caring, non-demanding messages that ask nothing of the client, after "
            "Motto and Bostrom (Psychiatric Services 2001): monthly for 4 months, every 2 "
            "months for 8 months, then every 3 months up to 5 years (24 contacts). The "
            "VA/DoD guideline suggests caring communications for 12-24 months after a "
            "psychiatric hospitalisation. A month is counted as 30 days from the "
            "discharge (days 30, 60, 90, 120; 180 to 360 every 60; 450 to 1800 every "
            "90), so the last message comes about 26 days before the fifth anniversary. "
            "Started by the discharge from a psychiatric (not medical) hospital stay."
        ),
        "steps": [
            _step(
                gettext_noop("Monthly message"),
                30,
                33,
                37,
                Method.LETTER,
                repeat_every=30,
                repeat_times=4,
            ),
            _step(
                gettext_noop("Two-monthly message"),
                180,
                183,
                187,
                Method.LETTER,
                repeat_every=60,
                repeat_times=4,
            ),
            _step(
                gettext_noop("Quarterly message"),
                450,
                453,
                457,
                Method.LETTER,
                repeat_every=90,
                repeat_times=16,
            ),
        ],
    },
    {
        "key": "post-crisis-check",
        "name": gettext_noop("Post-crisis check"),
        "trigger": Trigger.RESOLVED_ON_SCENE,
        "intensive": False,
        "end_rule": EndRule.STEPS_DONE,
        "description": gettext_noop(
            "One check-in 48 hours after a crisis contact resolved on scene: is the client "
            "safe, did the plan made on scene hold, is anything else needed. It follows "
            "up the 'someone to respond' of SAMHSA's National Guidelines for Behavioral "
            "Health Crisis Care (2020); the 48-hour interval is this programme's "
            "standard, not a published trial schedule. Open from 40 hours, closed at 72."
        ),
        # Open from 40 hours, so the worker can call during the day before it is due.
        "steps": [_step(gettext_noop("Check-in at 48 hours"), 40, 48, 72, unit=Unit.HOURS)],
    },
    {
        "key": "referral-check",
        "name": gettext_noop("Referral check"),
        "trigger": Trigger.REFERRAL_SENT,
        "intensive": False,
        "end_rule": EndRule.STEPS_DONE,
        "description": gettext_noop(
            "One check 7 days after a referral is sent: did the client get connected? "
            "Closing the loop on referrals (HL7 FHIR SDOH Clinical Care IG, Gravity "
            "Project). The 7 days are this programme's standard."
        ),
        "steps": [_step(gettext_noop("Referral check at 7 days"), 7, 7, 9)],
    },
]


# Every text above that pages show, in English: each reader reads them in their own
# language (followups.texts.shipped).
SHIPPED_TEXTS = frozenset(
    [SHIPPED_CHANGE_NOTE]
    + [spec[field] for spec in STANDARD_PROTOCOLS for field in ("name", "description")]
    + [step["name"] for spec in STANDARD_PROTOCOLS for step in spec["steps"]]
)


def as_shipped(text: str) -> str:
    """`text` to store: the English of a shipped text that comes back as the reader reads
    it (the edit form shows them in the reader's language), so that a version saved
    without changing it keeps a text each reader reads in their own language; any other
    text as it is. Call it in the reader's language."""
    plain = " ".join(text.split())
    translated = {" ".join(gettext(shipped).split()): shipped for shipped in SHIPPED_TEXTS}
    return translated.get(plain, text)


@transaction.atomic
def install_standard_protocols(agency_id: int) -> list[Protocol]:
    """Give the agency each standard protocol it does not have yet (by key), in a few
    set-based queries whatever their number. The agency's row is locked first, so that
    two first contacts at once install them once."""
    list(Agency.objects.select_for_update().filter(pk=agency_id).values_list("pk"))
    have = set(Protocol.objects.filter(agency_id=agency_id).values_list("key", flat=True))
    specs = [spec for spec in STANDARD_PROTOCOLS if spec["key"] not in have]
    if not specs:
        return []
    protocols = Protocol.objects.bulk_create(
        Protocol(
            agency_id=agency_id,
            key=spec["key"],
            name=spec["name"],
            trigger=spec["trigger"],
            intensive=spec["intensive"],
        )
        for spec in specs
    )
    versions = ProtocolVersion.objects.bulk_create(
        ProtocolVersion(
            protocol=protocol,
            number=1,
            description=spec["description"],
            end_rule=spec["end_rule"],
            change_note=SHIPPED_CHANGE_NOTE,
        )
        for protocol, spec in zip(protocols, specs, strict=True)
    )
    ProtocolStep.objects.bulk_create(
        ProtocolStep(version=version, position=i, **step)
        for version, spec in zip(versions, specs, strict=True)
        for i, step in enumerate(spec["steps"], start=1)
    )
    return protocols
