"""The safety plan on paper: the print page's context, and its PDF.

The PDF is the print page (templates/plans/safety_plan_print.html) laid out by WeasyPrint,
in the language asked for and the agency's time zone, so that the browser's print and the
PDF read the same. WeasyPrint needs Pango, a system library: where it cannot be loaded
the PDF is unavailable (PdfUnavailable) and the page offers the print view instead.
"""

import logging
from importlib import import_module
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import timezone, translation

from plans.models import LIFELINE, SafetyPlan, SafetyPlanVersion

logger = logging.getLogger(__name__)

STYLESHEET = "css/plans.css"


class PdfUnavailable(Exception):
    """WeasyPrint or the system libraries it needs cannot be loaded here."""


def languages() -> list[tuple[str, str]]:
    """The languages a plan is printed in, each named in its own language."""
    return [(code, str(name)) for code, name in settings.LANGUAGES]


def print_context(plan: SafetyPlan, version: SafetyPlanVersion) -> dict[str, Any]:
    """What the print page and the PDF show: the version, its lethal-means steps, and
    the client by the name they go by. Nothing clinical, no case number."""
    client = plan.client
    return {
        "version": version,
        "means": list(version.means.all()),
        "agency_name": plan.agency.name,
        "client_name": client.preferred_name or client.legal_name,
        "client_id": plan.client_id,
        "lifeline": LIFELINE,
        "languages": languages(),
    }


def _weasyprint() -> Any:
    try:
        return import_module("weasyprint")
    except (OSError, ImportError) as exc:
        # OSError: the module is there but Pango or its fonts are not (see `make pango`).
        logger.warning("The safety plan's PDF is unavailable: %s", exc)
        raise PdfUnavailable(str(exc)) from exc


def _stylesheet() -> str:
    found = finders.find(STYLESHEET)
    path = found[0] if isinstance(found, list) else found
    return Path(path).read_text(encoding="utf-8") if path else ""


def _fetch_nothing(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The page names no image or file: WeasyPrint fetches nothing, from the disk or
    the network, whatever a plan's text says."""
    raise ValueError(f"not fetched: {url[:80]}")


def safety_plan_pdf(version: SafetyPlanVersion, language: str) -> bytes:
    """The version as a PDF of one or two pages, in `language`, its dates the agency's.
    Raises PdfUnavailable when WeasyPrint cannot run here."""
    weasyprint = _weasyprint()
    plan = version.plan
    with translation.override(language), timezone.override(plan.agency.zone):
        html = render_to_string(
            "plans/safety_plan_print.html", {**print_context(plan, version), "for_pdf": True}
        )
    document = weasyprint.HTML(string=html, url_fetcher=_fetch_nothing)
    pdf: bytes = document.write_pdf(stylesheets=[weasyprint.CSS(string=_stylesheet())])
    return pdf
