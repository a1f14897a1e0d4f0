"""The safety plan's form: each step's rows as the page posts them, checked for shape and
handed to services.save_safety_plan as a PlanContent (which checks what they say)."""

from typing import Any

from django import forms
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext_lazy as _

from plans.models import LINE_SECTIONS, PEOPLE_SECTIONS, Section
from plans.services import MeansStep, PlanContent

# Rows one step may post (the service keeps up to 12 filled ones): what is past this is a
# forged form, not a plan.
MAX_ROWS = 40
# Empty rows shown under a step's entries, to write new ones in.
BLANK_ROWS = {"lines": 2, "people": 2, "means": 1}
# Rows a step shows at least, filled or not.
MIN_ROWS = {"lines": 3, "people": 2, "means": 2}


def _getlist(data: Any, name: str) -> list[str]:
    if isinstance(data, MultiValueDict):
        return [str(v) for v in data.getlist(name)]
    value = data.get(name)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


class RowsInput(forms.Widget):
    """A step's rows: inputs named `<name>` (one line each), or `<name>-<part>` (one
    input per part of each row, in row order). The template draws them."""

    def __init__(self, parts: tuple[str, ...] = (), attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.parts = parts

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        if not self.parts:
            return _getlist(data, name)[: MAX_ROWS + 1]
        columns = {part: _getlist(data, f"{name}-{part}") for part in self.parts}
        count = max(len(values) for values in columns.values())
        return [
            {part: values[i] if i < len(values) else "" for part, values in columns.items()}
            for i in range(min(count, MAX_ROWS + 1))
        ]

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return False


class MeansInput(RowsInput):
    """The lethal-means rows: a kind, the step, who does it, and a "done" box whose
    value is the row's index (an unticked box posts nothing)."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(("kind", "step", "who"), attrs)

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        rows = super().value_from_datadict(data, files, name)
        ticked = set(_getlist(data, f"{name}-confirmed"))
        return [{**row, "confirmed": str(i) in ticked} for i, row in enumerate(rows)]


class RowsField(forms.Field):
    """A list of rows; empty ones are dropped (the service checks what the rest say)."""

    def __init__(self, *, parts: tuple[str, ...] = (), **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", RowsInput(parts))
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> list[Any]:
        rows = list(value or [])
        if len(rows) > MAX_ROWS:
            raise forms.ValidationError(_("Too many rows."), code="too_many")
        return [row for row in rows if _filled(row)]


def _filled(row: Any) -> bool:
    if isinstance(row, dict):
        return any(str(v).strip() for k, v in row.items() if k not in ("kind", "confirmed"))
    return bool(str(row).strip())


class SafetyPlanForm(forms.Form):
    warning_signs = RowsField(label=Section.WARNING_SIGNS.label)
    coping = RowsField(label=Section.COPING.label)
    distractions = RowsField(label=Section.DISTRACTIONS.label, parts=("name", "phone"))
    help_people = RowsField(label=Section.HELP_PEOPLE.label, parts=("name", "phone"))
    professionals = RowsField(label=Section.PROFESSIONALS.label, parts=("name", "phone"))
    services = RowsField(label=_("Services from the directory"))
    means = RowsField(label=Section.MEANS.label, widget=MeansInput())
    reasons = RowsField(label=Section.REASONS.label)
    change_note = forms.CharField(
        label=_("What changed, and why (optional)"),
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def rows(self, name: str, *, more: int = 0) -> list[Any]:
        """The rows to draw for step `name`: what was posted (or the current version's),
        then empty ones to write new entries in."""
        shape = "means" if name == "means" else "people" if name in PEOPLE_NAMES else "lines"
        values = [row for row in (self[name].value() or []) if _filled(row)]
        blanks = max(BLANK_ROWS[shape] + more, MIN_ROWS[shape] - len(values))

        def empty() -> Any:
            if shape == "people":
                return {"name": "", "phone": ""}
            if shape == "means":
                return {"kind": "", "step": "", "who": "", "confirmed": False}
            return ""

        return values + [empty() for _ in range(blanks)]

    def content(self) -> PlanContent:
        """The plan as the service takes it (call after is_valid())."""
        data = self.cleaned_data
        return PlanContent(
            warning_signs=data["warning_signs"],
            coping=data["coping"],
            distractions=data["distractions"],
            help_people=data["help_people"],
            professionals=data["professionals"],
            service_ids=[s for s in data["services"] if s.strip()],
            means=[
                MeansStep(
                    kind=row["kind"], step=row["step"], who=row["who"], confirmed=row["confirmed"]
                )
                for row in data["means"]
            ],
            reasons=data["reasons"],
        )

    @staticmethod
    def initial_of(content: PlanContent) -> dict[str, Any]:
        """The form's initial data from a version's content (PlanContent.of)."""
        initial: dict[str, Any] = {
            name: list(getattr(content, name)) for name in LINE_NAMES + PEOPLE_NAMES
        }
        initial["services"] = list(content.service_ids)
        initial["means"] = [
            {"kind": m.kind, "step": m.step, "who": m.who, "confirmed": m.confirmed}
            for m in content.means
        ]
        return initial


LINE_NAMES = tuple(section.value for section in LINE_SECTIONS)
PEOPLE_NAMES = tuple(section.value for section in PEOPLE_SECTIONS)
