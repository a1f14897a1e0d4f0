"""Plans made through their services, as a worker makes them."""

from typing import Any

from plans import services
from plans.services import CrisisPlanContent, MeansStep, PlanContent


def plan_content(**overrides: Any) -> PlanContent:
    fields: dict[str, Any] = {
        "warning_signs": ["Not sleeping", "Staying in my room"],
        "coping": ["Walk the dog", "Music"],
        "distractions": [{"name": "The library on 5th", "phone": ""}],
        "help_people": [{"name": "My sister Ana", "phone": "541-555-0101"}],
        "professionals": [{"name": "Dr Lee", "phone": "541-555-0199"}],
        "means": [
            MeansStep(kind="medications", step="Pharmacy keeps the refill", who="Ana"),
        ],
        "reasons": ["My kids"],
    }
    fields.update(overrides)
    return PlanContent(**fields)


def make_safety_plan(worker, case, **overrides):
    """The first (or next) version of the case's client's safety plan."""
    return services.save_safety_plan(actor=worker, case=case, content=plan_content(**overrides))


def crisis_content(**overrides: Any) -> CrisisPlanContent:
    fields: dict[str, Any] = {
        "triggers": "Loud arguments; anniversaries of his brother's death",
        "helps": "Speak slowly, offer water, let him sit outside",
        "avoid": "Do not stand between him and the door",
        "contacts": [{"name": "Ana Ruiz", "relation": "sister", "phone": "541-555-0101"}],
        "preferred_care": "Riverbend crisis centre",
        "hazards": "Large dog in the yard",
    }
    fields.update(overrides)
    return CrisisPlanContent(**fields)


def make_approved_crisis_plan(author, approver, case, **overrides):
    plan = services.save_crisis_plan(actor=author, case=case, content=crisis_content(**overrides))
    services.submit_crisis_plan(actor=author, plan=plan)
    return services.approve_crisis_plan(actor=approver, plan=plan)
