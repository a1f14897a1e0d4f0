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

CLIENT_FIELDS = {
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
ENDPOINTS = {
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
    username, method, url, _, _ = ENDPOINTS[name]
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


def valid_body(world, name):
    return ENDPOINTS[name][3](world)


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


@pytest.mark.parametrize("name", list(ENDPOINTS))
class TestMalformedBodies:
    @pytest.mark.parametrize(
        "raw",
        [
            '{"legal_name": ',
            "{bad json}",
            b"\xff\xfe\x00{",
            '{"a": NaN}',
            "[" * 100_000 + "]" * 100_000,
            '{"\\ud800": 1}',
            '"\\udfff"',
        ],
        ids=[
            "truncated",
            "not-json",
            "not-utf8",
            "nan",
            "deeply-nested",
            "lone-surrogate-name",
            "lone-surrogate-body",
        ],
    )
    def test_malformed_json_is_a_400(self, world, name, raw):
        response = send(world, name, raw=raw)

        assert response.status_code == 400
        assert_refused(response, "detail")

    @pytest.mark.parametrize(
        "payload",
        [[], [{"legal_name": "x"}], "a string", 42, None, True],
        ids=["empty-array", "array", "string", "number", "null", "true"],
    )
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
