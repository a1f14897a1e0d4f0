from datetime import timedelta

from django import forms
from django.db.models import Count, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from accounts.models import Role, Team, User
from cases.cssrs import RiskLevel
from cases.models import Case, CaseStatus
from core.dates import start_of_day

OPEN_CASES = Q(assigned_cases__status=CaseStatus.OPEN)


def team_members(supervisor):
    """Users who are members of the teams `supervisor` supervises, in their agency."""
    return User.objects.filter(
        agency_id=supervisor.agency_id, team__in=supervisor.supervised_teams.all()
    ).select_related("team")


def assignable_workers(supervisor):
    """Who a supervisor may hand cases to: active workers of the teams they supervise."""
    return (
        team_members(supervisor)
        .filter(is_active=True, role__in=[Role.SOCIAL_WORKER, Role.SUPERVISOR])
        .annotate(open_case_count=Count("assigned_cases", filter=OPEN_CASES))
        .order_by("first_name", "last_name", "username")
    )


def movable_cases(supervisor, worker):
    """The open cases of `worker` that a caseload reassignment by `supervisor` moves.

    The same selection as `cases.services.reassign_caseload`."""
    return Case.objects.open().filter(
        agency_id=supervisor.agency_id,
        assigned_worker=worker,
        team__in=supervisor.supervised_teams.all(),
    )


class WorkerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        count = getattr(obj, "open_case_count", None)
        if obj.team_id and count is not None:
            return _("%(worker)s, %(team)s — %(count)s open") % {
                "worker": obj,
                "team": obj.team.name,
                "count": count,
            }
        if count is not None:
            return _("%(worker)s — %(count)s open") % {"worker": obj, "count": count}
        if obj.team_id:
            return f"{obj}, {obj.team.name}"
        return str(obj)


class TeamChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        # Every choice is of the user's agency: the name alone, without a query for it.
        return obj.name


class TeamFilterForm(forms.Form):
    """The team page's filter: one worker's cases."""

    worker = WorkerChoiceField(
        label=gettext_lazy("Worker"),
        queryset=User.objects.none(),
        required=False,
        empty_label=gettext_lazy("Everyone"),
    )

    def __init__(self, *args, supervisor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["worker"].queryset = team_members(supervisor).order_by(
            "first_name", "last_name", "username"
        )


class ReassignCaseForm(forms.Form):
    to_worker = WorkerChoiceField(
        queryset=User.objects.none(),
        label=gettext_lazy("New worker"),
        empty_label=gettext_lazy("Choose a worker"),
    )

    def __init__(self, *args, supervisor, case, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_worker"].queryset = assignable_workers(supervisor).exclude(
            pk=case.assigned_worker_id
        )


class ReassignCaseloadForm(forms.Form):
    from_worker = WorkerChoiceField(
        queryset=User.objects.none(),
        label=gettext_lazy("Move the open cases of"),
        empty_label=gettext_lazy("Choose the departing worker"),
    )
    to_worker = WorkerChoiceField(
        queryset=User.objects.none(),
        label=pgettext_lazy("reassign the cases to", "To"),
        empty_label=gettext_lazy("Choose who takes them"),
    )

    def __init__(self, *args, supervisor, **kwargs):
        super().__init__(*args, **kwargs)
        self.supervisor = supervisor
        # A departing worker may already be deactivated; their cases still need a home.
        self.fields["from_worker"].queryset = (
            team_members(supervisor)
            .annotate(
                open_case_count=Count(
                    "assigned_cases",
                    filter=OPEN_CASES
                    & Q(assigned_cases__team__in=supervisor.supervised_teams.all()),
                )
            )
            .order_by("first_name", "last_name", "username")
        )
        self.fields["to_worker"].queryset = assignable_workers(supervisor)

    def clean(self):
        data = super().clean()
        from_worker, to_worker = data.get("from_worker"), data.get("to_worker")
        if from_worker and to_worker:
            if from_worker.pk == to_worker.pk:
                self.add_error("to_worker", _("Choose a different worker to take the caseload."))
            elif not movable_cases(self.supervisor, from_worker).exists():
                self.add_error(
                    "from_worker",
                    _("%(worker)s has no open cases in the teams you supervise.")
                    % {"worker": from_worker},
                )
        return data


class EmergencyAccessReviewForm(forms.Form):
    note = forms.CharField(
        max_length=500,
        required=False,
        label=gettext_lazy("Review note"),
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("Optional note")}),
    )
    # Sent by the page's button: a POST without it (an empty one) changes nothing.
    confirm = forms.BooleanField(
        widget=forms.HiddenInput,
        initial=True,
        error_messages={"required": gettext_lazy("Use the Mark reviewed button.")},
    )


class CaseListFilterForm(forms.Form):
    """Filters of the "All cases" list. Every field is optional."""

    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        choices=[("", gettext_lazy("Any status")), *CaseStatus.choices],
        required=False,
    )
    team = TeamChoiceField(
        label=gettext_lazy("Team"),
        queryset=Team.objects.none(),
        required=False,
        empty_label=gettext_lazy("Any team"),
    )
    worker = forms.ModelChoiceField(
        label=gettext_lazy("Worker"),
        queryset=User.objects.none(),
        required=False,
        empty_label=gettext_lazy("Any worker"),
    )
    risk = forms.ChoiceField(
        choices=[("", gettext_lazy("Any risk level")), *RiskLevel.choices],
        required=False,
        label=gettext_lazy("Risk level"),
    )
    opened_from = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        label=gettext_lazy("Opened from"),
    )
    opened_to = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        label=gettext_lazy("Opened to"),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # An agency admin chooses among the agency's teams and workers; a supervisor among
        # those their list can show (their own team and those they supervise), not the
        # hundreds of a statewide agency's.
        teams = Team.objects.filter(agency_id=user.agency_id)
        workers = User.objects.filter(
            agency_id=user.agency_id, role__in=[Role.SOCIAL_WORKER, Role.SUPERVISOR]
        )
        if user.role != Role.AGENCY_ADMIN:
            teams = teams.filter(
                Q(pk=user.team_id) | Q(pk__any_of=user.supervised_teams.values("pk"))
            )
            workers = workers.filter(Q(pk=user.pk) | Q(team_id__any_of=teams.values("pk")))
        self.fields["team"].queryset = teams.order_by("name")
        self.fields["worker"].queryset = workers.order_by("first_name", "last_name", "username")

    def clean(self):
        data = super().clean()
        start, end = data.get("opened_from"), data.get("opened_to")
        if start and end and start > end:
            self.add_error("opened_to", _("The end date is before the start date."))
        return data

    def filter(self, queryset):
        """Apply the valid filters to a case queryset. Call after is_valid()."""
        data = self.cleaned_data
        if data.get("status"):
            queryset = queryset.filter(status=data["status"])
        if data.get("team"):
            queryset = queryset.filter(team=data["team"])
        if data.get("worker"):
            queryset = queryset.filter(assigned_worker=data["worker"])
        if data.get("risk"):
            queryset = queryset.filter(risk_level=data["risk"])
        # `__date` compares in the active time zone: the agency's.
        if data.get("opened_from"):
            queryset = queryset.filter(opened_at__gte=start_of_day(data["opened_from"]))
        if data.get("opened_to"):
            queryset = queryset.filter(
                opened_at__lt=start_of_day(data["opened_to"] + timedelta(days=1))
            )
        return queryset
