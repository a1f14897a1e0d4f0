import datetime

from django import forms

from accounts.models import Role, Team, User

PRESETS = (7, 30, 90)
DEFAULT_DAYS = 30
# A longer period is a report (reports app), not a page: this bounds the page's work.
MAX_PERIOD_DAYS = 366


class TeamChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class WorkerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return str(obj)


def scope_teams(user):
    """The teams whose numbers `user` may see: a supervisor's supervised teams, every team
    of an agency admin's agency."""
    teams = Team.objects.filter(agency_id=user.agency_id)
    if user.role != Role.AGENCY_ADMIN:
        teams = teams.filter(supervisors=user)
    return teams.order_by("name")


class MetricsFilterForm(forms.Form):
    """The period and the team or worker whose numbers the page shows. `days` (a preset)
    sets the period to the last 7, 30 or 90 days ending today; without it, `start` and
    `end` (the agency's dates, both included)."""

    days = forms.TypedChoiceField(
        choices=[("", "Custom")] + [(str(d), f"Last {d} days") for d in PRESETS],
        coerce=int,
        empty_value=None,
        required=False,
        label="Period",
    )
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    team = TeamChoiceField(queryset=Team.objects.none(), required=False, empty_label="All teams")
    worker = WorkerChoiceField(queryset=User.objects.none(), required=False, empty_label="Everyone")

    def __init__(self, *args, user, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        teams = scope_teams(user)
        self.fields["team"].queryset = teams
        self.fields["worker"].queryset = User.objects.filter(
            agency_id=user.agency_id,
            team__in=teams,
            role__in=[Role.SOCIAL_WORKER, Role.SUPERVISOR],
        ).order_by("first_name", "last_name", "username")

    def clean(self):
        data = super().clean()
        days = data.get("days")
        if days:
            data["end"] = self.today
            data["start"] = self.today - datetime.timedelta(days=days - 1)
            return data
        start, end = data.get("start"), data.get("end")
        if start is None and end is None:
            data["end"] = self.today
            data["start"] = self.today - datetime.timedelta(days=DEFAULT_DAYS - 1)
            return data
        if start is None:
            self.add_error("start", "Give the first day of the period.")
        if end is None:
            self.add_error("end", "Give the last day of the period.")
        if start and end:
            if end < start:
                self.add_error("end", "The period ends before it starts.")
            elif (end - start).days + 1 > MAX_PERIOD_DAYS:
                self.add_error("start", f"Choose a period of at most {MAX_PERIOD_DAYS} days.")
            elif start.year < 1990 or end > self.today + datetime.timedelta(days=366):
                self.add_error("start", "Check the years of the period.")
        return data

    def filters(self) -> dict:
        """The valid filters as the query functions take them."""
        data = self.cleaned_data
        team, worker = data.get("team"), data.get("worker")
        return {
            "start": data["start"],
            "end": data["end"],
            "team": team,
            "worker": worker,
        }


def default_filters(today) -> dict:
    return {
        "start": today - datetime.timedelta(days=DEFAULT_DAYS - 1),
        "end": today,
        "team": None,
        "worker": None,
    }
