"""What the worker's pages share."""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from audit.services import refuse


def require_worker(request, page: str):
    """Recording contacts and breaking the glass are for people who carry a caseload."""
    if not request.user.works_cases:
        refuse(request, page, "Only social workers and supervisors can do this.")


def add_service_errors(exc: ValidationError, *forms):
    """Show a service's ValidationError on the form field it names (the first form that
    has the field), or at the top of the last form."""
    errors = exc.error_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.messages}
    last = forms[-1]
    for name, messages in errors.items():
        messages = ValidationError(messages).messages
        target = next((form for form in forms if name in form.fields), None)
        if target is None:
            label = "" if name == NON_FIELD_ERRORS else f"{name.replace('_', ' ').capitalize()}: "
            for message in messages:
                last.add_error(None, label + message)
        else:
            for message in messages:
                target.add_error(name, message)
