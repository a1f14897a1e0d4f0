"""The Columbia Suicide Severity Rating Scale, screen version (C-SSRS screener).

Questions and skip logic are the screener's own; the triage is the one the screener's
emergency-department version uses (Columbia Lighthouse Project; see shared DOMAIN notes):

- yes to 1 or 2 only -> low
- yes to 3, or to 6 more than 3 months ago -> moderate
- yes to 4 or 5, or to 6 within the past 3 months -> high

Questions 1-5 ask about the past month. Question 2 gates 3-5: if 2 is no, the screener
skips to 6. Question 6 is always asked; if yes, 6b asks whether it was in the past 3 months.
"""

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

QUESTIONS = {
    "cssrs_wish_dead": _(
        "1. In the past month, have you wished you were dead or wished you "
        "could go to sleep and not wake up?"
    ),
    "cssrs_suicidal_thoughts": _(
        "2. In the past month, have you actually had any thoughts of killing yourself?"
    ),
    "cssrs_method": _("3. Have you been thinking about how you might do this?"),
    "cssrs_intent": _("4. Have you had these thoughts and had some intention of acting on them?"),
    "cssrs_plan": _(
        "5. Have you started to work out or worked out the details of how to kill "
        "yourself? Do you intend to carry out this plan?"
    ),
    "cssrs_behavior": _(
        "6. Have you ever done anything, started to do anything, or prepared to "
        "do anything to end your life?"
    ),
    "cssrs_behavior_recent": _("6b. If yes: was this within the past 3 months?"),
}
GATED = ("cssrs_method", "cssrs_intent", "cssrs_plan")


class RiskLevel(models.TextChoices):
    NOT_SCREENED = "not_screened", _("Not screened")
    NONE = "none", _("No risk identified")
    LOW = "low", _("Low")
    MODERATE = "moderate", _("Moderate")
    HIGH = "high", _("High")


# Higher number, higher risk: used to sort caseloads.
RISK_ORDER: dict[str, int] = {
    RiskLevel.NOT_SCREENED: 0,
    RiskLevel.NONE: 1,
    RiskLevel.LOW: 2,
    RiskLevel.MODERATE: 3,
    RiskLevel.HIGH: 4,
}


def skip_logic_errors(answers: dict) -> dict:
    """Field -> message for answers that break the screener's skip logic.

    `answers` maps the keys of QUESTIONS to True, False or None (not asked).
    """
    errors = {}
    for key in ("cssrs_wish_dead", "cssrs_suicidal_thoughts", "cssrs_behavior"):
        if answers.get(key) is None:
            errors[key] = gettext("This question is always asked.")
    if answers.get("cssrs_suicidal_thoughts") is True:
        for key in GATED:
            if answers.get(key) is None:
                errors[key] = gettext("Asked when question 2 is yes.")
    elif answers.get("cssrs_suicidal_thoughts") is False:
        for key in GATED:
            if answers.get(key) is not None:
                errors[key] = gettext("Skipped when question 2 is no: leave it blank.")
    if answers.get("cssrs_behavior") is True and answers.get("cssrs_behavior_recent") is None:
        errors["cssrs_behavior_recent"] = gettext("Asked when question 6 is yes.")
    if answers.get("cssrs_behavior") is False and answers.get("cssrs_behavior_recent") is not None:
        errors["cssrs_behavior_recent"] = gettext("Skipped when question 6 is no: leave it blank.")
    return errors


def risk_level(answers: dict) -> RiskLevel:
    """The screener's triage for a complete, valid set of answers."""
    yes = {key for key, value in answers.items() if value is True}
    if {"cssrs_intent", "cssrs_plan"} & yes or {"cssrs_behavior", "cssrs_behavior_recent"} <= yes:
        return RiskLevel.HIGH
    if "cssrs_method" in yes or ("cssrs_behavior" in yes and "cssrs_behavior_recent" not in yes):
        return RiskLevel.MODERATE
    if {"cssrs_wish_dead", "cssrs_suicidal_thoughts"} & yes:
        return RiskLevel.LOW
    return RiskLevel.NONE
