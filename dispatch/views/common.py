"""What the dispatch pages share: who may open them, and a service's refusal shown as a
message on the page it came from."""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _

from audit.models import Action
from audit.services import record as audit
from core.exceptions import DomainError, NotPermitted


def require_dispatcher_page(request: HttpRequest, page: str) -> None:
    """The board and the request pages' actions: dispatchers and supervisors of an agency
    (User.can_dispatch). A refusal is audited."""
    user = request.user
    if not (user.is_authenticated and user.can_dispatch):
        audit(request=request, action=Action.DENIED, object_type=page, detail={"reason": "role"})
        raise PermissionDenied(_("Only a dispatcher or a supervisor opens the dispatch board."))


def attempt(request: HttpRequest, work: Callable[[], Any], done: str = "") -> bool:
    """Run a service; its refusal (a DomainError, a ValidationError) becomes an error
    message on the page, never a 500. Returns whether it went through."""
    try:
        work()
    except NotPermitted as exc:
        raise PermissionDenied(str(exc)) from exc
    except DomainError as exc:
        messages.error(request, str(exc))
        return False
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
        return False
    if done:
        messages.success(request, done)
    return True
