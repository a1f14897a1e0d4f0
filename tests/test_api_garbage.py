"""Garbage sent to any writable API endpoint answers 4xx with a JSON body that says what
is wrong (naming the field where there is one), never a 500.

Each endpoint is listed with a valid body and the kind of each field; every field is then
sent values of the wrong type, out of range, too long, with NUL characters (PostgreSQL
text cannot hold them), lone surrogates (no UTF-8 encoder can write them) and ids past the
bigint range.
"""

import datetime
import json
import random
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

HUGE = "x" * 100_001
NUL = "a\x00b"
SURROGATE = "a\ud800b"
BIG = 2**64

STRING = [{"a": 1}, ["a"], HUGE, NUL, SURROGATE]
BOOL = ["maybe", {"a": 1}, [True], 2, "\x00"]
DATETIME = [
    "yesterday",
    "2024-13-45T25:00:00Z",
    {"a": 1},
    [1],
    True,
    12345,
    "\x00",
    HUGE,
    SURROGATE,
    # Pages show times in the agency's zone, which these cannot be moved into.
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00+05:00",
]
DATE = ["12/31/1990", "1990-02-30", {"a": 1}, 19900101, "\x00", True, "0000-01-01"]
INT = ["old", -1, 1000, BIG, 1.5, {"a": 1}, "\x00"]
ID = ["abc", -1, 0, BIG, 2**63, 1.5, True, {"a": 1}, [1], "\x00", "9" * 40]
CHOICE = ["nope", {"a": 1}, ["911"], "\x00", None, 12345, HUGE, SURROGATE]
CODE = ["no-such-code", {"a": 1}, ["welfare-check"], "\x00", HUGE, 5, None, SURROGATE]
CODES = [
    "housing",
    {"a": 1},
    [{"a": 1}],
    ["\x00"],
    [None],
    5,
    ["no-such-code"],
    [HUGE],
    [SURROGATE],
]
USER = [{"a": 1}, BIG, -1, 0, "\x00", True, 1.5, "nobody", None, [1], HUGE, SURROGATE]
USERS = ["alice", [{"a": 1}], [BIG], ["\x00"], [True], [-1], 5, [HUGE], [SURROGATE]]
IDENTIFIERS = [
    "hmis",
    {"kind": "hmis", "value": "x"},
    [{"kind": "nope", "value": "x"}],
    [{"kind": "hmis", "value": "\x00"}],
    [{"kind": "hmis"}],
    [{"kind": "hmis", "value": "x" * 101}],
    [{"value": "x"}],
    [{}],
    [{"kind": "hmis", "value": SURROGATE}],
    [5],
]
NEW_CLIENT = [
    "Jordan",
    [1],
    5,
    {"legal_name": {"a": 1}},
    {"legal_name": "\x00"},
    {"legal_name": "J", "identifiers": "nope"},
    {"legal_name": "J", "date_of_birth": "soon"},
]
CHANGES = [
    "narrative",
    [1],
    5,
    None,
    {},
    {"narrative": {"a": 1}},
    {"received_at": "x"},
    {"\x00": 1},
    {"call_nature": "\x00"},
    {"source": None},
    {"disposition": []},
    {"x" * 1000: 1},
    {"recorded_by": 1},
    {SURROGATE: 1},
    {"narrative": SURROGATE},
    {"received_at": "0001-01-01T00:00:00Z"},
    {"cssrs_plan": "maybe"},
]

CLIENT_FIELDS: dict[str, list[Any]] = {
    "legal_name": STRING,
    "preferred_name": STRING,
    "date_of_birth": DATE,
    "estimated_age": INT,
    "pronouns": STRING,
    "preferred_language": STRING,
    "phone": STRING,
    "where_to_find": STRING,
}


def _contact_body(world):
    received = timezone.now() - datetime.timedelta(hours=1)
    return {
        "client": world["client"],
        "source": "911",
        "received_at": received.isoformat(),
        "on_scene_at": (received + datetime.timedelta(minutes=10)).isoformat(),
        "call_nature": "welfare-check",
        "disposition": "resolved",
        "narrative": "Calm.",
    }


# name -> (user, method, url, valid body, {field: bad values})
# name -> (who sends it, method, its URL in the world, a valid body, {field: bad values}).
Endpoint = tuple[
    str | None,
    str,
    Callable[[Any], str],
    Callable[[Any], dict[str, Any]],
    dict[str, list[Any]],
]
ENDPOINTS: dict[str, Endpoint] = {
    "token": (
        None,
        "post",
        lambda w: "/api/v1/auth/token/",
        lambda w: {"username": "alice", "password": "wrong"},
        {"username": STRING, "password": STRING},
    ),
    "client create": (
        "alice",
        "post",
        lambda w: "/api/v1/clients/",
        lambda w: {"legal_name": "Jordan Rivers", "identifiers": []},
        {**CLIENT_FIELDS, "identifiers": IDENTIFIERS},
    ),
    # A partial change: nested identifiers must still be whole.
    "client update": (
        "alice",
        "patch",
        lambda w: f"/api/v1/clients/{w['client']}/",
        lambda w: {"phone": "541-555-0101"},
        {**CLIENT_FIELDS, "identifiers": IDENTIFIERS},
    ),
    "contact create": (
        "alice",
        "post",
        lambda w: "/api/v1/contacts/",
        _contact_body,
        {
            "client": ID,
            "new_client": NEW_CLIENT,
            "source": CHOICE,
            "received_at": DATETIME,
            "dispatched_at": DATETIME,
            "on_scene_at": DATETIME,
            "cleared_at": DATETIME,
            "call_nature": CODE,
            "location": STRING,
            "attended_by": USERS,
            "others_present": STRING,
            "presenting_concerns": CODES,
            "services_on_scene": CODES,
            "cssrs_performed": BOOL,
            "cssrs_wish_dead": BOOL,
            "cssrs_suicidal_thoughts": BOOL,
            "cssrs_method": BOOL,
            "cssrs_intent": BOOL,
            "cssrs_plan": BOOL,
            "cssrs_behavior": BOOL,
            "cssrs_behavior_recent": BOOL,
            "police_backup_requested": BOOL,
            "arrest": BOOL,
            "injury": BOOL,
            "disposition": CHOICE,
            "narrative": STRING,
        },
    ),
    "contact amend": (
        "alice",
        "post",
        lambda w: f"/api/v1/contacts/{w['contact']}/amend/",
        lambda w: {"reason": "Typo", "changes": {"narrative": "Corrected."}},
        {"reason": STRING, "changes": CHANGES},
    ),
    "case close": (
        "alice",
        "post",
        lambda w: f"/api/v1/cases/{w['case']}/close/",
        lambda w: {"reason": "stabilised", "note": "Settled."},
        {"reason": CHOICE, "note": STRING},
    ),
    "case reassign": (
        "sam",
        "post",
        lambda w: f"/api/v1/cases/{w['case']}/reassign/",
        lambda w: {"assigned_worker": "bob"},
        {"assigned_worker": USER},
    ),
    "case concerns": (
        "alice",
        "patch",
        lambda w: f"/api/v1/cases/{w['case']}/",
        lambda w: {"presenting_concerns": ["housing"]},
        {"presenting_concerns": CODES},
    ),
}
REQUIRED = {
    "token": ["username", "password"],
    "client create": ["legal_name"],
    "contact create": ["source", "received_at", "call_nature", "disposition", "client"],
    "contact amend": ["reason", "changes"],
    "case close": ["reason"],
    "case reassign": ["assigned_worker"],
    "case concerns": ["presenting_concerns"],
}
FIELD_CASES = [
    pytest.param(name, field, id=f"{name}-{field}")
    for name, (_, _, _, _, fields) in ENDPOINTS.items()
    for field in fields
]


@pytest.fixture
def world(alice, bob, sam, alice_case):
    return {
        "users": {"alice": alice, "sam": sam},
        "case": alice_case.pk,
        "client": alice_case.client_id,
        "contact": alice_case.contacts.get().pk,
    }


def _address():
    return f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def send(world, name, body=None, *, raw=None, content_type="application/json"):
    """One request to the endpoint `name`, as its user, from an address of its own (the
    token endpoint is rate-limited per address)."""
    username, method, url, _, _ = endpoint(name)
    api = APIClient(REMOTE_ADDR=_address())
    if username:
        api.force_authenticate(world["users"][username])
    data = raw if raw is not None else json.dumps(body)
    return getattr(api, method)(url(world), data=data, content_type=content_type)


def assert_refused(response, field=None):
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response.content[:300]
    body = response.json()
    assert body, "an empty error body"
    if field is not None:
        assert field in body, body


def endpoint(name):
    """(user, method, url, valid body, fields) of an endpoint of either table."""
    return ENDPOINTS[name] if name in ENDPOINTS else REFERRAL_ENDPOINTS[name]


def valid_body(world, name):
    return endpoint(name)[3](world)


class TestFieldValues:
    @pytest.mark.parametrize(("name", "field"), FIELD_CASES)
    def test_wrong_values_are_400s_naming_the_field(self, world, name, field):
        for value in ENDPOINTS[name][4][field]:
            body = {**valid_body(world, name), field: value}
            response = send(world, name, body)
            assert response.status_code == 400, (field, repr(value)[:80], response.content[:300])
            assert_refused(response, field)


class TestMissingFields:
    @pytest.mark.parametrize(
        ("name", "field"),
        [pytest.param(n, f, id=f"{n}-{f}") for n, fields in REQUIRED.items() for f in fields],
    )
    def test_a_missing_required_field_is_named(self, world, name, field):
        body = valid_body(world, name)
        body.pop(field, None)

        response = send(world, name, body)

        assert response.status_code == 400
        assert_refused(response, field)


MALFORMED_JSON = [
    '{"legal_name": ',
    "{bad json}",
    b"\xff\xfe\x00{",
    '{"a": NaN}',
    "[" * 100_000 + "]" * 100_000,
    '{"\\ud800": 1}',
    '"\\udfff"',
]
MALFORMED_JSON_IDS = [
    "truncated",
    "not-json",
    "not-utf8",
    "nan",
    "deeply-nested",
    "lone-surrogate-name",
    "lone-surrogate-body",
]
NOT_OBJECTS = [[], [{"legal_name": "x"}], "a string", 42, None, True]
NOT_OBJECT_IDS = ["empty-array", "array", "string", "number", "null", "true"]


@pytest.mark.parametrize("name", list(ENDPOINTS))
class TestMalformedBodies:
    @pytest.mark.parametrize("raw", MALFORMED_JSON, ids=MALFORMED_JSON_IDS)
    def test_malformed_json_is_a_400(self, world, name, raw):
        response = send(world, name, raw=raw)

        assert response.status_code == 400
        assert_refused(response, "detail")

    @pytest.mark.parametrize("payload", NOT_OBJECTS, ids=NOT_OBJECT_IDS)
    def test_json_that_is_not_an_object_is_a_400(self, world, name, payload):
        response = send(world, name, payload)

        assert response.status_code == 400
        assert_refused(response)

    def test_a_body_of_three_megabytes_is_refused_as_too_large(self, world, name):
        body = {**valid_body(world, name), "narrative": "x" * 3_000_000}

        response = send(world, name, body)

        assert response.status_code == 413
        assert_refused(response, "detail")

    def test_a_large_form_body_is_refused_as_too_large(self, world, name):
        response = send(
            world,
            name,
            raw="narrative=" + "x" * 3_000_000,
            content_type="application/x-www-form-urlencoded",
        )

        assert response.status_code == 413
        assert_refused(response, "detail")

    def test_an_unsupported_content_type_is_a_415(self, world, name):
        response = send(world, name, raw="<xml/>", content_type="application/xml")

        assert response.status_code == 415
        assert_refused(response, "detail")


DETAIL_ROUTES = [
    ("alice", "get", "/api/v1/clients/{}/"),
    ("alice", "patch", "/api/v1/clients/{}/"),
    ("alice", "get", "/api/v1/cases/{}/"),
    ("alice", "patch", "/api/v1/cases/{}/"),
    ("alice", "post", "/api/v1/cases/{}/close/"),
    ("sam", "post", "/api/v1/cases/{}/reassign/"),
    ("alice", "get", "/api/v1/cases/{}/timeline/"),
    ("alice", "get", "/api/v1/contacts/{}/"),
    ("alice", "post", "/api/v1/contacts/{}/amend/"),
    ("alice", "get", "/api/v1/contacts/{}/amendments/"),
]
BAD_IDS = [
    "abc",
    "-1",
    "0",
    "99999999999999999999",
    "9" * 50,
    "%00",
    "%E2%82%AC",
    "1e3",
    " 1",
    "0.5",
    "1.0",
    "1.json",
    "9" * 5000,
]


class TestInvalidIdsInUrls:
    @pytest.mark.parametrize(("username", "method", "url"), DETAIL_ROUTES)
    def test_invalid_ids_answer_404(self, world, username, method, url):
        api = APIClient()
        api.force_authenticate(world["users"][username])
        for bad in BAD_IDS:
            response = getattr(api, method)(url.format(bad), {}, format="json")
            assert response.status_code == 404, (bad, response.content[:200])
            assert response["Content-Type"].startswith("application/json"), bad


LIST_URLS = ["/api/v1/clients/", "/api/v1/cases/", "/api/v1/contacts/"]
BAD_QUERIES = [
    {"page": "abc"},
    {"page": "-1"},
    {"page": str(BIG)},
    {"page_size": "-5"},
    {"page_size": str(BIG)},
    {"q": "\x00"},
    {"q": HUGE},
    {"client": str(BIG)},
    {"client": "-1"},
    {"case": "abc"},
    {"assigned_worker": "1.5"},
    {"team": "\x00"},
    {"status": "\x00"},
    {"opened_after": "yesterday"},
    {"received_before": "2024-13-45"},
    {"received_after": "\x00"},
    {"has_open_case": "maybe"},
    {"has_open_case": "2"},
    # PostgreSQL refuses offsets past 15:59; Python reads them, and years that overflow UTC.
    {"received_after": "0360-03-17T18:23:26-19:50"},
    {"opened_after": "2024-01-01T00:00:00+23:59"},
    {"received_before": "0001-01-01T00:00:00+05:00"},
    {"opened_before": "9999-12-31T23:59:59-05:00"},
    {"page_size": "null"},
    {"page_size": "0"},
    {"page_size": "9" * 5000},
    {"page": "9" * 5000},
]


class TestListQueryGarbage:
    @pytest.mark.parametrize("url", LIST_URLS)
    def test_garbage_query_parameters_never_500(self, world, url):
        api = APIClient()
        api.force_authenticate(world["users"]["alice"])
        for params in BAD_QUERIES:
            response = api.get(url, params)
            assert response.status_code in (200, 400, 404), (params, response.content[:200])
            assert response["Content-Type"].startswith("application/json")


# --- Directory, referrals and reports ----------------------------------------------------

UUID = [
    "not-a-uuid",
    5,
    {"a": 1},
    ["00000000-0000-0000-0000-000000000000"],
    "\x00",
    True,
    "00000000-0000-0000-0000-000000000000",
    HUGE,
    SURROGATE,
]
EMAIL = ["not-an-email", {"a": 1}, ["a@b.example"], "\x00", "a\x00@b.example", 5, None, HUGE]
SHARE_ITEMS = CODES + [[], "name", ["name", "no-such-item"]]
FILTERS = [
    "sent_to=2026-01-01",
    [1],
    5,
    None,
    {"sent_from": "2026-02-30"},
    # The period is moved into UTC: the last day of the calendar cannot be.
    {"sent_to": "9999-12-31"},
    {"sent_from": "0001-01-01"},
    {"sent_from": "2026-02-01", "sent_to": "2026-01-01"},
    {"team": BIG},
    {"team": "\x00"},
    {"worker": [1]},
    {"organization": "not-a-uuid"},
    {"service": {"a": 1}},
    {"status": "draft"},
    {"outcome": "\x00"},
    {"need_category": SURROGATE},
]


def _referral_body(world):
    return {
        "case": world["case"],
        "provider_name": "Eugene Mission",
        "provider_email": "intake@mission.example",
        "need_category": "housing",
        "reason": "Needs a bed tonight.",
        "shared_items": ["name", "phone"],
    }


def _consent_body(world):
    return {
        "client": world["client"],
        "case": world["case"],
        "method": "verbal",
        "scope": ["name", "phone"],
        "recipients": "Any provider I am referred to",
        "purpose": "Referral for services",
    }


# name -> (user, method, url, valid body, {field: bad values}), as ENDPOINTS.
REFERRAL_ENDPOINTS: dict[str, Endpoint] = {
    "referral create": (
        "alice",
        "post",
        lambda w: "/api/v1/referrals/",
        _referral_body,
        {
            "case": ID,
            "service": [v for v in UUID if v is not None],
            "location": UUID,
            "provider_name": STRING,
            "provider_email": EMAIL,
            "provider_phone": STRING,
            "need_category": CHOICE,
            "urgency": CHOICE,
            "reason": STRING,
            "shared_items": SHARE_ITEMS,
            "consent": ID,
            "send": BOOL,
        },
    ),
    "referral transition": (
        "alice",
        "post",
        lambda w: f"/api/v1/referrals/{w['sent']}/transition/",
        lambda w: {"status": "accepted", "via": "staff_for_provider", "note": "Phoned."},
        {
            "status": CHOICE,
            "via": CHOICE,
            "outcome": CHOICE,
            "note": STRING,
            "service_date": DATE,
        },
    ),
    "referral appointment": (
        "alice",
        "post",
        lambda w: f"/api/v1/referrals/{w['sent']}/appointment/",
        lambda w: {
            "appointment_at": (timezone.now() + datetime.timedelta(days=2)).isoformat(),
            "via": "staff",
        },
        {"appointment_at": DATETIME, "via": CHOICE, "note": STRING},
    ),
    "provider link": (
        "alice",
        "post",
        lambda w: f"/api/v1/referrals/{w['sent']}/provider-links/",
        lambda w: {"email": "intake@mission.example"},
        {"email": EMAIL},
    ),
    "provider link revoke": (
        "alice",
        "post",
        lambda w: f"/api/v1/referrals/{w['sent']}/revoke-link/",
        lambda w: {"link": w["link"]},
        {"link": ID},
    ),
    "consent create": (
        "alice",
        "post",
        lambda w: "/api/v1/consents/",
        _consent_body,
        {
            "client": ID,
            "case": ID,
            "method": CHOICE,
            "scope": SHARE_ITEMS,
            "recipients": STRING,
            "purpose": STRING,
            "recipient_organization": UUID,
            "expires_on": DATE,
            "expiry_event": STRING,
            "is_part2": BOOL,
            "discloser": STRING,
            "information_description": STRING,
            "right_to_revoke_explained": BOOL,
            "signed_by": STRING,
            "signed_on": DATE,
            "note": STRING,
            "obtained_at": DATETIME,
        },
    ),
    "consent revoke": (
        "alice",
        "post",
        lambda w: f"/api/v1/consents/{w['consent']}/revoke/",
        lambda w: {"note": "Asked us to stop sharing."},
        {"note": STRING},
    ),
    "export request": (
        "dana",
        "post",
        lambda w: "/api/v1/reports/exports/",
        lambda w: {"format": "csv", "deidentified": True, "filters": {"status": "requested"}},
        {"format": CHOICE, "deidentified": BOOL, "filters": FILTERS},
    ),
}
REFERRAL_REQUIRED = {
    "referral create": ["case", "need_category", "reason", "shared_items"],
    "referral transition": ["status", "via"],
    "referral appointment": ["appointment_at"],
    "provider link revoke": ["link"],
    "consent create": ["client", "method", "scope", "recipients", "purpose"],
    "export request": ["format"],
}


@pytest.fixture
def referral_world(world, alice, dana, alice_case, settings, tmp_path):
    from tests.referrals.factories import give_consent, sent_referral

    settings.EXPORT_DIR = tmp_path / "exports"
    consent = give_consent(alice, alice_case)
    sent = sent_referral(alice, alice_case, consent=consent)
    return {
        **world,
        "users": {**world["users"], "dana": dana},
        "consent": consent.pk,
        "sent": sent.pk,
        "link": sent.links.get().pk,
    }


class TestReferralFieldValues:
    @pytest.mark.parametrize(
        ("name", "field"),
        [
            pytest.param(name, field, id=f"{name}-{field}")
            for name, (_, _, _, _, fields) in REFERRAL_ENDPOINTS.items()
            for field in fields
        ],
    )
    def test_wrong_values_are_400s_naming_the_field(self, referral_world, name, field):
        for value in REFERRAL_ENDPOINTS[name][4][field]:
            body = {**valid_body(referral_world, name), field: value}
            response = send(referral_world, name, body)
            assert response.status_code == 400, (field, repr(value)[:80], response.content[:300])
            assert_refused(response, field)

    @pytest.mark.parametrize("name", list(REFERRAL_ENDPOINTS))
    def test_the_valid_body_is_accepted(self, referral_world, name):
        response = send(referral_world, name, valid_body(referral_world, name))

        assert response.status_code in (200, 201), response.content[:300]


class TestReferralMissingFields:
    @pytest.mark.parametrize(
        ("name", "field"),
        [
            pytest.param(n, f, id=f"{n}-{f}")
            for n, fields in REFERRAL_REQUIRED.items()
            for f in fields
        ],
    )
    def test_a_missing_required_field_is_named(self, referral_world, name, field):
        body = valid_body(referral_world, name)
        body.pop(field, None)

        response = send(referral_world, name, body)

        assert response.status_code == 400
        assert_refused(response, field)


@pytest.mark.parametrize("name", list(REFERRAL_ENDPOINTS))
class TestReferralMalformedBodies:
    @pytest.mark.parametrize("raw", MALFORMED_JSON, ids=MALFORMED_JSON_IDS)
    def test_malformed_json_is_a_400(self, referral_world, name, raw):
        response = send(referral_world, name, raw=raw)

        assert response.status_code == 400
        assert_refused(response, "detail")

    @pytest.mark.parametrize("payload", NOT_OBJECTS, ids=NOT_OBJECT_IDS)
    def test_json_that_is_not_an_object_is_a_400(self, referral_world, name, payload):
        response = send(referral_world, name, payload)

        assert response.status_code == 400
        assert_refused(response)

    def test_a_body_of_three_megabytes_is_refused_as_too_large(self, referral_world, name):
        body = {**valid_body(referral_world, name), "reason": "x" * 3_000_000}

        response = send(referral_world, name, body)

        assert response.status_code == 413
        assert_refused(response, "detail")

    def test_an_unsupported_content_type_is_a_415(self, referral_world, name):
        response = send(referral_world, name, raw="<xml/>", content_type="application/xml")

        assert response.status_code == 415
        assert_refused(response, "detail")


REFERRAL_DETAIL_ROUTES = [
    ("alice", "get", "/api/v1/referrals/{}/"),
    ("alice", "get", "/api/v1/referrals/{}/events/"),
    ("alice", "post", "/api/v1/referrals/{}/send/"),
    ("alice", "post", "/api/v1/referrals/{}/transition/"),
    ("alice", "post", "/api/v1/referrals/{}/appointment/"),
    ("alice", "get", "/api/v1/referrals/{}/provider-links/"),
    ("alice", "post", "/api/v1/referrals/{}/revoke-link/"),
    ("alice", "get", "/api/v1/consents/{}/"),
    ("alice", "post", "/api/v1/consents/{}/revoke/"),
    ("alice", "get", "/api/v1/directory/organizations/{}/"),
    ("alice", "get", "/api/v1/directory/services/{}/"),
    ("alice", "get", "/api/v1/directory/locations/{}/"),
    ("dana", "get", "/api/v1/reports/exports/{}/"),
    ("dana", "get", "/api/v1/reports/exports/{}/download/"),
]


class TestReferralInvalidIdsInUrls:
    @pytest.mark.parametrize(("username", "method", "url"), REFERRAL_DETAIL_ROUTES)
    def test_invalid_ids_answer_404(self, referral_world, username, method, url):
        api = APIClient()
        api.force_authenticate(referral_world["users"][username])
        for bad in [*BAD_IDS, "00000000-0000-0000-0000-000000000000", "%ED%A0%80"]:
            response = getattr(api, method)(url.format(bad), {}, format="json")
            assert response.status_code == 404, (bad, response.content[:200])
            assert response["Content-Type"].startswith("application/json"), bad


SEARCH_QUERIES = [
    {"lat": "abc", "lng": "1"},
    {"lat": "nan", "lng": "nan"},
    {"lat": "inf", "lng": "-inf"},
    {"lat": "1e400", "lng": "0"},
    {"lat": "91", "lng": "0"},
    {"lat": "45"},
    {"age": "-1"},
    {"age": "1e3"},
    {"age": str(BIG)},
    {"need": "\x00"},
    {"need": "nope"},
    {"q": "\x00"},
    {"q": HUGE},
    "q=%ED%A0%80",
    {"language": "\x00"},
    {"address": "\x00"},
    {"address": HUGE},
    {"address": "91,181"},
    {"case": str(BIG)},
    {"case": "\x00"},
    {"open_now": "maybe"},
    {"page": "9" * 5000},
    {"page_size": "0"},
]
REPORT_QUERIES = [
    {"sent_from": "2024-02-30"},
    {"sent_to": "9999-12-31"},
    {"sent_from": "9999-12-31"},
    {"sent_from": "0001-01-01"},
    {"sent_from": "\x00"},
    {"sent_from": "2026-02-01", "sent_to": "2026-01-01"},
    {"team": str(BIG)},
    {"team": "-1"},
    {"worker": "\x00"},
    {"organization": "not-a-uuid"},
    {"service": "\x00"},
    {"status": "draft"},
    "outcome=%ED%A0%80",
    "status=%FF",
    {"need_category": "nope"},
    {"format": "pdf"},
    {"format": "\x00"},
    {"deidentified": "maybe"},
]
REFERRAL_LIST_QUERIES = [
    {"page": "abc"},
    {"page": str(BIG)},
    {"page_size": "-5"},
    {"page_size": "9" * 5000},
    {"case": str(BIG)},
    {"case": "abc"},
    {"client": "-1"},
    {"client": "\x00"},
    {"status": "\x00"},
    {"need_category": "nope"},
]
REFERRAL_LISTS = [
    ("alice", "/api/v1/directory/search/", SEARCH_QUERIES),
    ("alice", "/api/v1/directory/organizations/", REFERRAL_LIST_QUERIES),
    ("alice", "/api/v1/directory/services/", REFERRAL_LIST_QUERIES),
    ("alice", "/api/v1/directory/locations/", REFERRAL_LIST_QUERIES),
    ("alice", "/api/v1/referrals/", REFERRAL_LIST_QUERIES),
    ("alice", "/api/v1/consents/", REFERRAL_LIST_QUERIES),
    ("dana", "/api/v1/reports/referrals/", REPORT_QUERIES),
    ("dana", "/api/v1/reports/exports/", REFERRAL_LIST_QUERIES),
]


class TestReferralListQueryGarbage:
    @pytest.mark.parametrize(
        ("username", "url", "queries"), REFERRAL_LISTS, ids=[url for _, url, _ in REFERRAL_LISTS]
    )
    def test_garbage_query_parameters_never_500(self, referral_world, username, url, queries):
        api = APIClient()
        api.force_authenticate(referral_world["users"][username])
        for params in queries:
            # A string is sent as the query string itself (bytes that are not UTF-8).
            response = (
                api.get(url, params) if isinstance(params, dict) else api.get(f"{url}?{params}")
            )
            assert response.status_code in (200, 400, 404), (params, response.content[:200])
            assert response["Content-Type"].startswith("application/json"), params


class TestReportPeriodBounds:
    """Regression: a period ending on the calendar's last day could not be moved into UTC
    (the report answered 500)."""

    def test_the_report_names_a_day_it_cannot_use(self, referral_world):
        api = APIClient()
        api.force_authenticate(referral_world["users"]["dana"])

        response = api.get("/api/v1/reports/referrals/", {"sent_to": "9999-12-31"})

        assert response.status_code == 400
        assert_refused(response, "sent_to")

    def test_an_export_names_the_filter_it_cannot_use(self, referral_world):
        body = {"format": "csv", "filters": {"sent_to": "9999-12-31"}}

        response = send(referral_world, "export request", body)

        assert response.status_code == 400
        assert "sent_to" in response.json()["filters"]

    def test_the_report_page_shows_the_error_on_the_field(self, referral_world, client):
        client.force_login(referral_world["users"]["dana"])

        response = client.get("/reports/referrals/", {"sent_to": "9999-12-31"})

        assert response.status_code == 200
        assert response.context["form"].errors["sent_to"]


# --- Follow-ups, hospital visits and metrics ---------------------------------------------


def _later(**delta):
    return (timezone.now() + datetime.timedelta(**delta)).isoformat()


# name -> (user, method, url, valid body, {field: bad values}), as ENDPOINTS. A field that
# may be null leaves None out of its bad values.
NULLABLE_USER = [v for v in USER if v is not None]
FOLLOWUP_ENDPOINTS: dict[str, Endpoint] = {
    "followup create": (
        "alice",
        "post",
        lambda w: "/api/v1/followups/",
        lambda w: {"case": w["case"], "due_at": _later(days=1), "reason": "Check in"},
        {
            "case": ID,
            "due_at": DATETIME,
            "reason": STRING,
            "method": CHOICE,
            "title": STRING,
            "window_end": DATETIME,
            "assigned_to": NULLABLE_USER,
        },
    ),
    "followup attempt": (
        "alice",
        "post",
        lambda w: f"/api/v1/followups/{w['followup']}/attempts/",
        lambda w: {"outcome": "no_answer", "note": "Voicemail"},
        {
            "outcome": CHOICE,
            "method": [v for v in CHOICE if v is not None],
            "note": STRING,
            "at": DATETIME,
            "contact": ID,
        },
    ),
    "followup complete": (
        "alice",
        "post",
        lambda w: f"/api/v1/followups/{w['followup']}/complete/",
        lambda w: {"note": "Talked"},
        {"note": STRING, "contact": ID, "at": DATETIME},
    ),
    "followup move": (
        "alice",
        "post",
        lambda w: f"/api/v1/followups/{w['followup']}/move/",
        lambda w: {"due_at": _later(days=2), "reason": "Client asked"},
        {"due_at": DATETIME, "reason": STRING},
    ),
    "followup cancel": (
        "alice",
        "post",
        lambda w: f"/api/v1/followups/{w['followup']}/cancel/",
        lambda w: {"reason": "Duplicate"},
        {"reason": STRING},
    ),
    "hospital visit create": (
        "alice",
        "post",
        lambda w: "/api/v1/hospital-visits/",
        lambda w: {"case": w["case"], "reason": "mental_health", "arrived_at": _later(hours=-3)},
        {
            "case": ID,
            "kind": CHOICE,
            "reason": CHOICE,
            "arrived_at": DATETIME,
            "discharged_at": DATETIME,
            "admitted": BOOL,
            "facility": STRING,
        },
    ),
    "hospital visit discharge": (
        "alice",
        "post",
        lambda w: f"/api/v1/hospital-visits/{w['visit']}/discharge/",
        lambda w: {"discharged_at": _later(hours=-1)},
        {"discharged_at": DATETIME, "admitted": BOOL},
    ),
}
FOLLOWUP_REQUIRED = {
    "followup create": ["case", "due_at", "reason"],
    "followup attempt": ["outcome"],
    "followup move": ["due_at", "reason"],
    "followup cancel": ["reason"],
    "hospital visit create": ["case", "reason", "arrived_at"],
    "hospital visit discharge": ["discharged_at"],
}


@pytest.fixture
def followup_world(world, alice, alice_case):
    from tests.followups.factories import due_followup, ed_visit

    visit = ed_visit(alice_case, arrived_at=timezone.now() - datetime.timedelta(hours=8))
    return {**world, "followup": due_followup(alice_case).pk, "visit": visit.pk}


def send_followup(world, name, body=None, *, raw=None, content_type="application/json"):
    username, method, url, _, _ = FOLLOWUP_ENDPOINTS[name]
    api = APIClient(REMOTE_ADDR=_address())
    api.force_authenticate(world["users"][username])
    data = raw if raw is not None else json.dumps(body)
    return getattr(api, method)(url(world), data=data, content_type=content_type)


def followup_body(world, name):
    return FOLLOWUP_ENDPOINTS[name][3](world)


class TestFollowUpFieldValues:
    @pytest.mark.parametrize(
        ("name", "field"),
        [
            pytest.param(name, field, id=f"{name}-{field}")
            for name, (_, _, _, _, fields) in FOLLOWUP_ENDPOINTS.items()
            for field in fields
        ],
    )
    def test_wrong_values_are_400s_naming_the_field(self, followup_world, name, field):
        for value in FOLLOWUP_ENDPOINTS[name][4][field]:
            body = {**followup_body(followup_world, name), field: value}
            response = send_followup(followup_world, name, body)
            assert response.status_code == 400, (field, repr(value)[:80], response.content[:300])
            assert_refused(response, field)

    @pytest.mark.parametrize("name", list(FOLLOWUP_ENDPOINTS))
    def test_the_valid_body_is_accepted(self, followup_world, name):
        response = send_followup(followup_world, name, followup_body(followup_world, name))

        assert response.status_code in (200, 201), response.content[:300]


class TestFollowUpMissingFields:
    @pytest.mark.parametrize(
        ("name", "field"),
        [
            pytest.param(n, f, id=f"{n}-{f}")
            for n, fields in FOLLOWUP_REQUIRED.items()
            for f in fields
        ],
    )
    def test_a_missing_required_field_is_named(self, followup_world, name, field):
        body = followup_body(followup_world, name)
        body.pop(field, None)

        response = send_followup(followup_world, name, body)

        assert response.status_code == 400
        assert_refused(response, field)


@pytest.mark.parametrize("name", list(FOLLOWUP_ENDPOINTS))
class TestFollowUpMalformedBodies:
    @pytest.mark.parametrize("raw", MALFORMED_JSON, ids=MALFORMED_JSON_IDS)
    def test_malformed_json_is_a_400(self, followup_world, name, raw):
        response = send_followup(followup_world, name, raw=raw)

        assert response.status_code == 400
        assert_refused(response, "detail")

    @pytest.mark.parametrize("payload", NOT_OBJECTS, ids=NOT_OBJECT_IDS)
    def test_json_that_is_not_an_object_is_a_400(self, followup_world, name, payload):
        response = send_followup(followup_world, name, payload)

        assert response.status_code == 400
        assert_refused(response)

    def test_a_body_of_three_megabytes_is_refused_as_too_large(self, followup_world, name):
        body = {**followup_body(followup_world, name), "note": "x" * 3_000_000}

        response = send_followup(followup_world, name, body)

        assert response.status_code == 413
        assert_refused(response, "detail")

    def test_an_unsupported_content_type_is_a_415(self, followup_world, name):
        response = send_followup(followup_world, name, raw="<xml/>", content_type="application/xml")

        assert response.status_code == 415
        assert_refused(response, "detail")


FOLLOWUP_DETAIL_ROUTES = [
    ("alice", "get", "/api/v1/followups/{}/"),
    ("alice", "post", "/api/v1/followups/{}/attempts/"),
    ("alice", "post", "/api/v1/followups/{}/complete/"),
    ("alice", "post", "/api/v1/followups/{}/move/"),
    ("alice", "post", "/api/v1/followups/{}/cancel/"),
    ("alice", "get", "/api/v1/hospital-visits/{}/"),
    ("alice", "post", "/api/v1/hospital-visits/{}/discharge/"),
    ("alice", "get", "/api/v1/protocols/{}/"),
]


class TestFollowUpInvalidIdsInUrls:
    @pytest.mark.parametrize(("username", "method", "url"), FOLLOWUP_DETAIL_ROUTES)
    def test_invalid_ids_answer_404(self, followup_world, username, method, url):
        api = APIClient()
        api.force_authenticate(followup_world["users"][username])
        for bad in [*BAD_IDS, "%ED%A0%80"]:
            response = getattr(api, method)(url.format(bad), {}, format="json")
            assert response.status_code == 404, (bad, response.content[:200])
            assert response["Content-Type"].startswith("application/json"), bad


FOLLOWUP_LIST_QUERIES = [
    {"page": "abc"},
    {"page": str(BIG)},
    {"page_size": "-5"},
    {"page_size": "9" * 5000},
    {"status": "\x00"},
    {"status": "lost"},
    {"case": str(BIG)},
    {"case": "abc"},
    {"client": "-1"},
    {"assigned_to": "you"},
    {"assigned_to": str(BIG)},
    {"assigned_to": "\x00"},
    {"due_before": "yesterday"},
    {"due_after": "0360-03-17T18:23:26-19:50"},
    {"due_before": "0001-01-01T00:00:00+05:00"},
    {"due_after": "9999-12-31T23:59:59-05:00"},
    {"arrived_after": "\x00"},
    {"kind": "spa"},
    {"overdue": "maybe"},
    {"overdue": "2"},
    "status=%ED%A0%80",
    "assigned_to=%FF",
]
METRICS_QUERIES = [
    {"start": "yesterday"},
    {"start": "2024-02-30"},
    {"end": "9999-12-31"},
    {"start": "0001-01-01"},
    {"start": "\x00"},
    {"start": "2026-02-01", "end": "2026-01-01"},
    {"start": "2000-01-01", "end": "2026-01-01"},
    {"team": str(BIG)},
    {"team": "-1"},
    {"team": "\x00"},
    {"worker": "abc"},
    {"worker": str(BIG)},
    {"weeks": "0"},
    {"weeks": "9" * 5000},
    {"weeks": "\x00"},
    "start=%ED%A0%80",
    "team=%FF",
]
FOLLOWUP_LISTS = [
    ("alice", "/api/v1/followups/", FOLLOWUP_LIST_QUERIES),
    ("alice", "/api/v1/followups/today/", FOLLOWUP_LIST_QUERIES),
    ("alice", "/api/v1/hospital-visits/", FOLLOWUP_LIST_QUERIES),
    ("alice", "/api/v1/protocols/", FOLLOWUP_LIST_QUERIES),
    *[
        ("sam", f"/api/v1/metrics/{name}/", METRICS_QUERIES)
        for name in ("compliance", "fum", "fua", "drop-off", "no-contact", "programme", "trend")
    ],
]


class TestFollowUpListQueryGarbage:
    @pytest.mark.parametrize(
        ("username", "url", "queries"), FOLLOWUP_LISTS, ids=[url for _, url, _ in FOLLOWUP_LISTS]
    )
    def test_garbage_query_parameters_never_500(self, followup_world, username, url, queries):
        api = APIClient()
        api.force_authenticate(followup_world["users"][username])
        for params in queries:
            response = (
                api.get(url, params) if isinstance(params, dict) else api.get(f"{url}?{params}")
            )
            assert response.status_code in (200, 400, 404), (params, response.content[:200])
            assert response["Content-Type"].startswith("application/json"), params
