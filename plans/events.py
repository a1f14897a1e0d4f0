"""Named constructors for the case timeline entries of the plans. Call inside the
transaction that made the change."""

from django.utils.translation import gettext_noop

from cases.models import CaseEvent, CaseEventKind
from core.i18n import StoredText


def on_timeline(*, case_id: int, actor, kind: str, text: StoredText, detail=None) -> CaseEvent:
    """A timeline entry: `text` (core.i18n.stored_text) in English as its summary, and as
    its message and arguments for each reader's language."""
    return CaseEvent.objects.create(
        case_id=case_id,
        actor=actor,
        kind=kind,
        summary=text.english[:300],
        detail={**(detail or {}), "i18n": text.data},
    )


SAFETY_PLAN = CaseEventKind.SAFETY_PLAN
CRISIS_PLAN = CaseEventKind.CRISIS_PLAN

# The entries' messages (gettext_noop: stored in English, read in each reader's language).
SAFETY_PLAN_MADE = gettext_noop("Safety plan made with the client")
SAFETY_PLAN_CHANGED = gettext_noop("Safety plan changed (version %(number)s)")
SAFETY_PLAN_LINK_SENT = gettext_noop("Safety plan link sent by %(channel)s")
SAFETY_PLAN_LINK_REVOKED = gettext_noop("Safety plan link revoked")
CRISIS_PLAN_SUBMITTED = gettext_noop("Crisis response plan version %(number)s sent for approval")
CRISIS_PLAN_RETURNED = gettext_noop("Crisis response plan version %(number)s returned: %(note)s")
CRISIS_PLAN_APPROVED = gettext_noop("Crisis response plan version %(number)s approved")
CRISIS_PLAN_REVIEWED = gettext_noop("Crisis response plan reviewed: still right")
CRISIS_PLAN_WITHDRAWN = gettext_noop("Crisis response plan version %(number)s withdrawn")
