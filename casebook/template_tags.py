"""Template tags every page uses (`{% load casebook %}`, registered in settings.TEMPLATES).

`error_summary` is the one error summary of the site: base.html shows it at the top of
every page, so that an error far down a long form is not missed."""

from django import template
from django.forms import BaseForm, BaseFormSet

register = template.Library()


@register.inclusion_tag("_error_summary.html", takes_context=True)
def error_summary(context):
    """Every error of every form on the page that the view validated (the form's own
    first, then its fields' in their order): a field's error links to its input (`target`, an element id; `name`
    lets the page script find a control rendered with ids of its own)."""
    errors = []
    seen = set()
    for value in context.flatten().values():
        for form in _validated_forms(value):
            if id(form) in seen:
                continue
            seen.add(id(form))
            errors += _errors_of(form)
    request = context.get("request")
    return {
        "form_errors": errors,
        # A page whose form saves nothing says so in its own words (the login page).
        "intro": context.get("error_summary_intro"),
        "after_post": request is not None and request.method == "POST",
    }


def _validated_forms(value):
    if isinstance(value, BaseFormSet):
        # A formset validates its forms when it is validated itself.
        if value.is_bound and value._errors is not None:
            yield value
            yield from value.forms
    elif isinstance(value, BaseForm) and value.is_bound and value._errors is not None:
        yield value


def _errors_of(form):
    if isinstance(form, BaseFormSet):
        return [{"message": message} for message in form.non_form_errors()]
    errors = [{"message": message} for message in form.non_field_errors()]
    for name in form.fields:
        messages = form.errors.get(name)
        if not messages:
            continue
        field = form[name]
        target = "" if field.is_hidden else _target(field)
        errors += [
            {"label": field.label, "message": message, "target": target, "name": field.html_name}
            for message in messages
        ]
    return errors


def _target(field):
    """The id of the field's (first) input: a radio or checkbox list has none for its
    label, but its first option is `<id>_0`."""
    id_ = field.field.widget.attrs.get("id") or field.auto_id
    if not id_:
        return ""
    return field.id_for_label or f"{id_}_0"
