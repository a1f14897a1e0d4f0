import datetime

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Team, User
from metrics.response import period_problem, response_period
from metrics.scope import fill_period, in_calendar, period_error, scope_teams, scope_workers

PRESETS = (7, 30, 90)


def _last_days(n: int) -> str:
    return ngettext("Last %(n)s day", "Last %(n)s days", n) % {"n": n}


# "Last 7 days", in the reader's language when shown.
_last = lazy(_last_days, str)


def _presets(days) -> list:
    """The period's choices: custom, or the last N days."""
    return [("", _("Custom"))] + [(str(d), _last(d)) for d in days]


class TeamChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class WorkerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return str(obj)


class MetricsFilterForm(forms.Form):
    """The period and the team or worker whose numbers the page shows. `days` (a preset)
    sets the period to the last 7, 30 or 90 days ending today; without it, `start` and
    `end` (the agency's dates, both included), by default the last DEFAULT_DAYS days
    (metrics.scope). `cleaned_data` holds the inputs of metrics.scope.resolve_scope."""

    days = forms.TypedChoiceField(
        choices=_presets(PRESETS),
        coerce=int,
        empty_value=None,
        required=False,
        label=_("Period"),
    )
    start = forms.DateField(
        label=_("Start"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("End"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    team = TeamChoiceField(
        label=_("Team"),
        queryset=Team.objects.none(),
        required=False,
        empty_label=_("All teams"),
    )
    worker = WorkerChoiceField(
        label=_("Worker"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Everyone"),
    )

    def __init__(self, *args, user, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["team"].queryset = scope_teams(user)
        self.fields["worker"].queryset = scope_workers(user).order_by(
            "first_name", "last_name", "username"
        )

    def clean(self):
        data = super().clean()
        days = data.get("days")
        if days:
            data["end"] = self.today
            data["start"] = self.today - datetime.timedelta(days=days - 1)
            return data
        start, end = data.get("start"), data.get("end")
        if start is None and end is None:
            data["start"], data["end"] = fill_period(None, None, self.today)
            return data
        if start is None:
            self.add_error("start", gettext("Give the first day of the period."))
        if end is None:
            self.add_error("end", gettext("Give the last day of the period."))
        if start and end:
            error = period_error(start, end)
            if error:
                self.add_error(*error)
            elif not (in_calendar(start, self.today) and in_calendar(end, self.today)):
                self.add_error("start", gettext("Check the years of the period."))
        return data

    def refused_choices(self) -> dict:
        """The team or worker asked for outside the user's scope (an unknown choice here):
        name -> the value asked for, for metrics.scope.audit_refused."""
        return {
            name: self[name].value()
            for name in ("team", "worker")
            if self.is_bound and self.has_error(name, "invalid_choice")
        }


RESPONSE_PRESETS = (7, 28, 90, 365)


class ResponsePeriodForm(forms.Form):
    """The period of the response measures: `days` (a preset) ends today; else `start`
    and `end` (the agency's dates, both included), by default the last 28 days
    (metrics.response.response_period). `cleaned_data` holds the period's two days."""

    days = forms.TypedChoiceField(
        choices=_presets(RESPONSE_PRESETS),
        coerce=int,
        empty_value=None,
        required=False,
        label=_("Period"),
    )
    start = forms.DateField(
        label=_("Start"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("End"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self):
        data = super().clean()
        if data.get("days"):
            data["end"] = self.today
            data["start"] = self.today - datetime.timedelta(days=data["days"] - 1)
            return data
        if self.errors:
            return data
        problem = period_problem(data.get("start"), data.get("end"), self.today)
        if problem:
            self.add_error(*problem)
            return data
        data["start"], data["end"] = response_period(data.get("start"), data.get("end"), self.today)
        return data
