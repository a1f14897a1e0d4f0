"""An empty POST changes nothing: every page URL that takes a POST, sent an empty body by
each persona (and by nobody, for the provider link), leaves every row of every table as
it was. A form whose missing field means a value ("off", "none", "no reason") would
change something here. The audit trail is left out: a refusal is written there."""

import pytest
from django.apps import apps
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import Role
from cases import services as case_services
from dispatch import services as dispatch_services
from dispatch.services import safety
from followups import services as followup_services
from followups.models import AttemptOutcome, Protocol
from followups.protocols import install_standard_protocols
from notifications.models import Notification
from plans import services as plan_services
from plans.models import LinkChannel
from reports import services as report_services
from tests.accounts.factories import UserFactory
from tests.attachments.factories import attach
from tests.directory.factories import LocationFactory, OrganizationFactory, ServiceFactory
from tests.dispatch.factories import UnitFactory
from tests.followups.factories import due_followup, ed_visit
from tests.plans.factories import crisis_content, make_safety_plan
from tests.referrals.factories import give_consent, sent_referral

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

PERSONAS = ["alice", "bob", "sam", "dana", "erin", "carol", "root"]
# Not pages of the apps: Django's own sign-in, sign-out and admin, and the token API.
SKIPPED_PREFIXES = ("admin/", "api/", "accounts/", "healthz", "favicon.ico")
# What an empty POST may write without changing anything a person relies on.
UNWATCHED = {"audit.auditevent", "sessions.session", "axes.accessattempt", "axes.accesslog"}
# The POSTs that are an action in themselves, a bare button with no form and nothing to
# choose ("mark all as read", "release this follow-up back to the team", "revoke this
# link"). A form whose fields may all be left blank is not one: its button sends an
# explicit value (`confirm`), so that an empty POST is not taken for "done, no note".
ACTIONS_WITHOUT_FIELDS = {
    "notifications:mark_all_read",
    "notifications:mark_read",
    "followups:release",
    "followups:undo_attempt",
    "referrals:send",
    "referrals:link_revoke",
    # The team phone's one-tap buttons: each is the action (the step forks only on scene,
    # where its button names the branch).
    "dispatch:unit_acknowledge",
    "dispatch:unit_step",
    "dispatch:unit_check_in",
    "dispatch:unit_sos",
    "dispatch:unit_end_shift",
    "plans:safety_plan_link_revoke",
    # Submit, approve, review, withdraw: the button is the move (return asks for a note).
    "plans:crisis_plan_act",
}


def routes():
    """(url name, route, argument names) of every page URL pattern of the project."""

    def walk(resolver, prefix="", namespace=""):
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
                yield from walk(pattern, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                route = prefix + str(pattern.pattern)
                if not route.startswith(SKIPPED_PREFIXES):
                    names = list(pattern.pattern.converters)
                    yield namespace + pattern.name, route, names

    return list(walk(get_resolver()))


def snapshot() -> str:
    """A digest of every row of every watched table, in one query."""
    tables = sorted(
        {
            connection.ops.quote_name(model._meta.db_table)
            for model in apps.get_models(include_auto_created=True)
            if model._meta.managed and model._meta.label_lower not in UNWATCHED
        }
    )
    rows = " UNION ALL ".join(
        f"SELECT '{table}' || t::text AS row FROM {table} t"  # noqa: S608 - table names only
        for table in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT md5(string_agg(row, '|' ORDER BY row)) FROM ({rows}) s")  # noqa: S608
        return cursor.fetchone()[0]


@pytest.fixture
def world(alice, bob, sam, dana, erin, carol, alice_case, bob_case, erin_case):
    """One of everything a page URL may name, in alice's agency."""
    install_standard_protocols(dana.agency_id)
    followup = due_followup(alice_case)
    attempted = due_followup(alice_case, reason="Second check")
    attempt = followup_services.log_attempt(
        actor=alice, followup=attempted, outcome=AttemptOutcome.NO_ANSWER
    )
    visit = ed_visit(alice_case)
    consent = give_consent(alice, alice_case)
    referral = sent_referral(alice, alice_case, consent=consent)
    link = referral.links.first()
    attachment = attach(alice, case=alice_case, consent=consent, label="Form 12, page 1")
    organization = OrganizationFactory(agency=dana.agency)
    service = ServiceFactory(agency=dana.agency, organization=organization)
    location = LocationFactory(agency=dana.agency, organization=organization)
    grant = case_services.grant_emergency_access(
        actor=bob, case=erin_case, reason="Client called in crisis, needs history"
    )
    export = report_services.request_export(actor=sam, format="csv", deidentified=True, filters={})
    notification = Notification.objects.filter(recipient=alice).first()
    request, unit, alert = dispatch_world(alice.agency, erin)
    make_safety_plan(alice, alice_case)
    plan_link = plan_services.issue_safety_plan_link(
        actor=alice,
        plan=alice_case.client.safety_plan,
        channel=LinkChannel.TEXT,
        address="541-555-0101",
    )
    crisis_plan = plan_services.save_crisis_plan(
        actor=alice, case=alice_case, content=crisis_content()
    )
    ids = {
        "plans:safety_plan_edit": alice_case.pk,
        "plans:safety_plan": alice_case.client_id,
        "plans:safety_plan_version": (alice_case.client_id, 1),
        "plans:safety_plan_print": alice_case.client_id,
        "plans:safety_plan_pdf": alice_case.client_id,
        "plans:safety_plan_link_send": alice_case.client_id,
        "plans:safety_plan_link_revoke": plan_link.pk,
        "plans:crisis_plan_edit": alice_case.pk,
        "plans:crisis_plan": alice_case.client_id,
        "plans:crisis_plan_act": (crisis_plan.pk, "submit"),
        "plan_link:link": plan_link.token(),
        "dispatch:request": request.pk,
        "dispatch:request_edit": request.pk,
        "dispatch:request_assign": request.pk,
        "dispatch:request_release": request.pk,
        "dispatch:request_not_served": request.pk,
        "dispatch:unit_service": unit.pk,
        "dispatch:alert_resolve": alert.pk,
        "metrics:response_requests": "served",
        "casework:case_detail": alice_case.pk,
        "casework:case_close": alice_case.pk,
        "casework:case_concerns": alice_case.pk,
        "casework:case_note": alice_case.pk,
        "casework:emergency_access": alice_case.pk,
        "casework:followup_add": alice_case.pk,
        "casework:visit_add": alice_case.pk,
        "casework:visit_discharge": visit.pk,
        "casework:enrolment_end": alice_case.enrolments.order_by("pk").first().pk,
        "cases:contact_detail": alice_case.contacts.get().pk,
        "cases:contact_amend": alice_case.contacts.get().pk,
        "cases:client_detail": alice_case.client_id,
        "cases:client_edit": alice_case.client_id,
        "cases:client_merge": alice_case.client_id,
        "cases:client_merge_confirm": (alice_case.client_id, bob_case.client_id),
        "supervision:reassign_case": alice_case.pk,
        "supervision:emergency_access_review": grant.pk,
        "directory:service_detail": service.pk,
        "directory:organization_edit": organization.pk,
        "directory:service_edit": service.pk,
        "directory:location_edit": location.pk,
        "referrals:detail": referral.pk,
        "referrals:send": referral.pk,
        "referrals:status": referral.pk,
        "referrals:appointment": referral.pk,
        "referrals:link_new": referral.pk,
        "referrals:link_revoke": (referral.pk, link.pk),
        "referrals:consent_detail": consent.pk,
        "referrals:consent_revoke": consent.pk,
        "attachments:case": alice_case.pk,
        "attachments:client": alice_case.client_id,
        "attachments:contact": alice_case.contacts.get().pk,
        "attachments:consent": consent.pk,
        "attachments:file": attachment.pk,
        "attachments:in_error": attachment.pk,
        "provider:link": link.token(),
        "reports:export_status": export.pk,
        "reports:export_download": export.pk,
        "followups:detail": followup.pk,
        "followups:attempt": followup.pk,
        "followups:undo_attempt": (attempted.pk, attempt.pk),
        "followups:complete": followup.pk,
        "followups:move": followup.pk,
        "followups:cancel": followup.pk,
        "followups:release": followup.pk,
        "followups:protocol_detail": Protocol.objects.filter(agency=dana.agency).first().pk,
        "followups:protocol_edit": Protocol.objects.filter(agency=dana.agency).first().pk,
        "followups:protocol_active": Protocol.objects.filter(agency=dana.agency).first().pk,
        "metrics:drilldown": "followups-due",
    }
    if notification is not None:
        ids["notifications:mark_read"] = notification.pk
    return ids


def dispatch_world(agency, crew):
    """A unit on shift (crewed by `crew`) sent to a request, and an SOS from it."""
    dex = UserFactory(username="dex", agency=agency, role=Role.DISPATCHER)
    unit = UnitFactory(agency=agency, call_sign="Van 1")
    dispatch_services.start_shift(
        unit=unit, members=[(crew, "licensed_clinician")], actor=dex, shares_position=True
    )
    request = dispatch_services.record_request(
        actor=dex,
        data={"source": "team_line", "priority": "urgent", "reason": "other", "location_text": "x"},
    )
    dispatch_services.assign_unit(request=request, unit=unit, actor=dex)
    return request, unit, safety.raise_sos(unit=unit, actor=crew)


def url_of(name, arguments, ids):
    if not arguments:
        return reverse(name)
    if name not in ids:
        return None
    value = ids[name]
    return reverse(name, args=list(value) if isinstance(value, tuple) else [value])


def changed_by_empty_posts(client, users, ids):
    """{(persona, url name): status} for each empty POST that changed a watched row."""
    changed = {}
    for persona in [*PERSONAS, None]:
        client.logout()
        if persona is not None:
            client.force_login(users[persona])
        for name, _route, arguments in routes():
            if name in ACTIONS_WITHOUT_FIELDS:
                continue
            url = url_of(name, arguments, ids)
            if url is None:
                continue
            before = snapshot()
            response = client.post(url, {})
            assert response.status_code < 500, (persona, name, response.status_code)
            if snapshot() != before:
                changed[(persona, name)] = response.status_code
    return changed


def test_an_empty_post_to_any_page_changes_no_row(client, world, request):
    users = {persona: request.getfixturevalue(persona) for persona in PERSONAS}

    assert changed_by_empty_posts(client, users, world) == {}


def test_every_page_taking_arguments_is_covered(world):
    uncovered = {
        name
        for name, _route, arguments in routes()
        if arguments and name not in world and name not in ACTIONS_WITHOUT_FIELDS
    }
    assert uncovered == set()


def test_the_pages_buttons_send_the_explicit_value(client, world, alice, sam):
    """The forms whose fields may all be blank carry `confirm`, so their buttons still work."""
    client.force_login(alice)
    pages = {
        reverse("followups:detail", args=[world["followups:complete"]]): "followups:complete",
        reverse("referrals:consent_detail", args=[world["referrals:consent_revoke"]]): (
            "referrals:consent_revoke"
        ),
        reverse("referrals:detail", args=[world["referrals:link_new"]]): "referrals:link_new",
    }
    for page, action in pages.items():
        html = client.get(page).content.decode()
        form = html[html.index(f'action="{url_of(action, ["pk"], world)}"') :]
        form = form[: form.index("</form>")]
        assert 'name="confirm"' in form and 'value="True"' in form, action
    client.force_login(sam)
    html = client.get(reverse("supervision:emergency_access")).content.decode()
    review = url_of("supervision:emergency_access_review", ["pk"], world)
    form = html[html.index(f'action="{review}"') :]
    assert '<input type="hidden" name="confirm" value="True">' in form[: form.index("</form>")]
