"""Who is told when a contact is recorded on a case, when a case closes and when it changes
hands: written once, here and in `settings.CASE_FANOUT`.

`cases` sits below the apps that keep work on a case (follow-ups), so it cannot import them
(ARCHITECTURE.md). The list of who is told lives in the project's settings, which know every
app; each listed function is called in order, with keyword arguments, inside the transaction
of the change, so what it does commits or rolls back with the change itself.
"""

from django.conf import settings
from django.utils.module_loading import import_string


def contact_recorded(*, contact, actor, for_followup: bool) -> None:
    """A contact was recorded (`for_followup`: it completes a follow-up)."""
    _tell("contact_recorded", contact=contact, actor=actor, for_followup=for_followup)


def case_closed(*, case, actor, request=None) -> None:
    """The case was closed: work pending on it ends."""
    _tell("case_closed", case=case, actor=actor, request=request)


def case_reassigned(*, case, old_worker_id: int, new_worker, actor, request=None) -> None:
    """The case went from the worker `old_worker_id` to `new_worker`."""
    _tell(
        "case_reassigned",
        case=case,
        old_worker_id=old_worker_id,
        new_worker=new_worker,
        actor=actor,
        request=request,
    )


def _tell(change: str, **kwargs) -> None:
    for path in settings.CASE_FANOUT[change]:
        import_string(path)(**kwargs)
