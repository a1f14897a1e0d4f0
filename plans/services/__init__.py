"""The plans' workflows: the safety plan (safety), its link to the client (links) and the
crisis response plan (crisis)."""

from plans.services.crisis import (
    CrisisPlanContent,
    approve_crisis_plan,
    return_crisis_plan,
    review_crisis_plan,
    save_crisis_plan,
    submit_crisis_plan,
    withdraw_crisis_plan,
)
from plans.services.links import (
    issue_safety_plan_link,
    plan_link_audit_path,
    record_plan_link_use,
    resolve_safety_plan_link,
    revoke_safety_plan_link,
)
from plans.services.safety import MeansStep, PlanContent, save_safety_plan

__all__ = [
    "CrisisPlanContent",
    "MeansStep",
    "PlanContent",
    "approve_crisis_plan",
    "issue_safety_plan_link",
    "plan_link_audit_path",
    "record_plan_link_use",
    "resolve_safety_plan_link",
    "return_crisis_plan",
    "review_crisis_plan",
    "revoke_safety_plan_link",
    "save_crisis_plan",
    "save_safety_plan",
    "submit_crisis_plan",
    "withdraw_crisis_plan",
]
