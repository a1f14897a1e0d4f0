"""The exports PostgreSQL computes (reports/export_sql.py) are the Python writers' files:
the CSV byte for byte, the XLSX's sheet XML byte for byte, over referrals chosen to hit
every rule (every choice, names a spreadsheet or the CSV must guard, missing dates, times
across daylight saving, durations that round on a tie)."""

import datetime
import random
import sys
import zipfile
from types import SimpleNamespace

import pytest
from django.db import connection

from directory.models import NeedCategory
from referrals.models import Outcome, Referral, Status, Urgency
from reports import export_sql, exports
from reports.report import referral_rows
from tests.accounts.factories import AgencyFactory, TeamFactory, UserFactory
from tests.cases.factories import CaseFactory, ClientFactory
from tests.directory.factories import OrganizationFactory, ServiceFactory
from tests.referrals.factories import ReferralFactory

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL computes the exports; SQLite does not"
)

UTC = datetime.UTC
# Names a CSV must quote and a spreadsheet must not run.
AWKWARD = [
    'Ann "Nan" O\'Neil',
    "Smith, Jr.",
    "two\nlines",
    "carriage\rreturn",
    "crlf\r\nend",
    '=HYPERLINK("http://x")',
    "+1 541 555 0100",
    "-3",
    "@SUM(A1)",
    "\ttabbed",
    " spaced ",
    "Zoë Núñez",
    '"',
    ",",
]
# In Los Angeles, 2026-03-08 10:00Z is 03:00 PDT (02:00 PST never happens) and 2026-11-01
# 01:30 happens twice, at 08:30Z and 09:30Z.
DST_INSTANTS = [
    datetime.datetime(2026, 3, 8, 9, 59, 59, 999999, tzinfo=UTC),
    datetime.datetime(2026, 3, 8, 10, 0, tzinfo=UTC),
    datetime.datetime(2026, 11, 1, 8, 30, tzinfo=UTC),
    datetime.datetime(2026, 11, 1, 9, 30, tzinfo=UTC),
    datetime.datetime(2026, 1, 1, 7, 59, 59, 500000, tzinfo=UTC),
]
# Days to acceptance on a rounding tie (6 h: 0.25, 18 h: 0.75, 72 min: 0.05, 3.6 h: 0.15)
# and next to one, a negative span that rounds to -0.0, and spans of centuries.
SPANS = [
    datetime.timedelta(hours=6),
    datetime.timedelta(hours=18),
    datetime.timedelta(days=2, hours=6),
    datetime.timedelta(minutes=72),
    datetime.timedelta(minutes=72, microseconds=1),
    datetime.timedelta(minutes=72, microseconds=-1),
    datetime.timedelta(hours=3, minutes=36),
    datetime.timedelta(minutes=-1),
    datetime.timedelta(hours=-6),
    datetime.timedelta(days=3, microseconds=123457),
    datetime.timedelta(days=-365 * 1100),  # before the year 1000
]


def _cycle(values, i):
    return values[i % len(values)]


BASE = datetime.datetime(2026, 1, 5, 17, 0, 0, 250000, tzinfo=UTC)


@pytest.fixture
def varied(agency_a, agency_b):
    """Agency A's referrals in every status, outcome, need and urgency, with awkward text
    everywhere a name goes, and an agency admin who exports them."""
    people = _people(agency_a)
    rows = [_choices_row(agency_a, people, i) for i in range(120)]
    rng = random.Random(20260105)
    rows += [_tie_row(agency_a, people, rng, i) for i in range(200)]
    Referral.objects.bulk_create(rows)
    # Another agency's referral, never exported.
    ReferralFactory(
        case=CaseFactory(client=ClientFactory(agency=agency_b)),
        status=Status.REQUESTED,
        sent_at=BASE,
    )
    people.admin = UserFactory(agency=agency_a, role="agency_admin")
    people.agency = agency_a
    return people


def _people(agency):
    teams = [TeamFactory(agency=agency, name=name) for name in ("=SUM(1)", "Crisis, east")]
    names = [
        ("Ann", 'O"Neil'),
        ("", ""),  # no name: the username
        ("\u00a0", " \t"),  # only white space: the username
        ("-Dee", ""),
        ("Li", "Wu,\nJr."),
        (" Zoë", "Núñez "),
    ]
    workers = [
        UserFactory(agency=agency, team=teams[0], first_name=first, last_name=last)
        for first, last in names
    ]
    clients = [
        ("José Núñez", "541-555-0111", datetime.date(1984, 2, 29)),
        ("=cmd|' /C calc'!A0", "+1 (541) 555-0112", None),
        ("", "", datetime.date(999, 3, 4)),
        ('Ann "Nan", O\'Neil', "@555", datetime.date(1900, 1, 1)),
        ("two\r\nlines", "-", datetime.date(1900, 2, 28)),
        ("Plain Name", "541-555-0113", datetime.date(1900, 3, 1)),
    ]
    cases = [
        CaseFactory(
            client=ClientFactory(
                agency=agency,
                legal_name=name,
                phone=phone,
                date_of_birth=born,
                is_unidentified=not name,
                description="" if name else "Man, about 40",
            ),
            assigned_worker=workers[i],
            team=teams[i % 2] if i % 3 else None,
        )
        for i, (name, phone, born) in enumerate(clients)
    ]
    services = [
        ServiceFactory(organization=OrganizationFactory(name=org), name=name)
        for org, name in [
            ("Shelter, Inc.", '"Beds" now'),
            ("=Org", "+Plus service"),
            ("Plain org", "Plain service"),
        ]
    ]
    return SimpleNamespace(teams=teams, workers=workers, cases=cases, services=services)


def _choices_row(agency, people, i):
    """The i-th of the referrals that go through every choice and awkward name."""
    status = _cycle(Status.values, i)
    sent = _cycle(DST_INSTANTS, i) if i % 3 == 0 else BASE + datetime.timedelta(hours=7 * i)
    service_date = (sent - datetime.timedelta(hours=9) + datetime.timedelta(days=i % 5)).date()
    service = None if i % 4 == 0 else _cycle(people.services, i)
    case = _cycle(people.cases, i)
    return Referral(
        agency=agency,
        case=case,
        client=case.client,
        created_by=_cycle(people.workers, i // 2),
        service=service,
        provider_name=_cycle(AWKWARD, i) if service is None else "unused",
        need_category=_cycle(NeedCategory.values, i),
        urgency=_cycle(Urgency.values, i),
        reason="Needs help.",
        status=status,
        outcome=_cycle(["", *Outcome.values], i // 3),
        sent_at=None if status == Status.DRAFT and i % 2 else sent,
        accepted_at=sent + _cycle(SPANS, i) if i % 4 != 3 else None,
        service_date=None if status != Status.COMPLETED and i % 3 == 1 else service_date,
        closed_at=sent + datetime.timedelta(days=i % 9, minutes=i) if i % 2 else None,
    )


def _tie_row(agency, people, rng, i):
    """A referral accepted after a random span, or within a microsecond of a rounding tie
    (an odd number of 72 minutes: 0.05 days)."""
    sent = BASE + datetime.timedelta(seconds=rng.uniform(0, 3e7))
    span = datetime.timedelta(
        minutes=72 * rng.randrange(1, 2000, 2), microseconds=rng.choice([-1, 0, 1])
    )
    if i % 2:
        span = datetime.timedelta(seconds=rng.uniform(-1e5, 5e6))
    case = people.cases[0]
    return Referral(
        agency=agency,
        case=case,
        client=case.client,
        created_by=people.workers[0],
        provider_name="Random",
        need_category="other",
        reason="Needs help.",
        status=Status.ACCEPTED,
        sent_at=sent,
        accepted_at=sent + span,
    )


def python_csv(tmp_path, rows, agency, deidentified):
    header = exports.columns(deidentified, agency=agency)
    path = tmp_path / "python.csv"
    data = exports.export_rows(rows, agency=agency, deidentified=deidentified)
    count = exports.write_csv(path, header, data)
    return path.read_bytes(), count


def sheet_xml(path):
    with zipfile.ZipFile(path) as book:
        return book.read("xl/worksheets/sheet1.xml"), book.read("xl/styles.xml")


FILTERS = [
    {},
    {"sent_from": "2026-03-08", "sent_to": "2026-11-01", "status": "accepted"},
    {"team": "first", "need_category": "food"},
    {"worker": "first", "outcome": "no_capacity"},
]


def _filters(varied, filters):
    named = {"team": varied.teams[0].pk, "worker": varied.workers[0].pk}
    return {
        key: named.get(key, value) if value == "first" else value for key, value in filters.items()
    }


@postgresql_only
class TestCopyCsv:
    @pytest.mark.parametrize("deidentified", [True, False])
    @pytest.mark.parametrize("filters", FILTERS)
    def test_the_copy_csv_is_the_python_csv_byte_for_byte(
        self, varied, tmp_path, deidentified, filters
    ):
        rows = referral_rows(varied.admin, _filters(varied, filters))
        expected, count = python_csv(tmp_path, rows, varied.agency, deidentified)
        assert export_sql.computed_in_sql(rows, varied.agency)

        path = tmp_path / "copy.csv"
        written = export_sql.write_csv(path, rows, agency=varied.agency, deidentified=deidentified)

        assert count > 0 and written == count
        assert path.read_bytes() == expected
        streamed = b"".join(
            export_sql.csv_stream(rows, agency=varied.agency, deidentified=deidentified)
        )
        assert streamed == expected

    def test_the_data_set_has_every_awkward_case(self, varied, tmp_path):
        rows = referral_rows(varied.admin, {})
        data, count = python_csv(tmp_path, rows, varied.agency, True)

        # Drafts and records entered in error are left out, other agencies' too.
        assert count == rows.count() > 250
        assert b"'=SUM(1)" in data and b'"two\nlines"' in data and b"\r\n" in data

    def test_chunks_are_whole_rows(self, varied, tmp_path, monkeypatch):
        rows = referral_rows(varied.admin, {})
        expected, count = python_csv(tmp_path, rows, varied.agency, False)
        monkeypatch.setattr(export_sql, "CHUNK_BYTES", 1)

        chunks = list(export_sql.copy_csv(rows, agency=varied.agency, deidentified=False))

        assert [n for _, n in chunks] == [1] * count
        header = exports.csv_header(exports.columns(False, agency=varied.agency)).encode()
        assert header + b"".join(chunk for chunk, _ in chunks) == expected

    def test_no_rows_is_the_header_alone(self, varied, tmp_path):
        rows = referral_rows(varied.admin, {"sent_from": "2030-01-01"})
        expected, _ = python_csv(tmp_path, rows, varied.agency, True)

        streamed = b"".join(export_sql.csv_stream(rows, agency=varied.agency, deidentified=True))

        assert streamed == expected and streamed.count(b"\r\n") == 1

    def test_a_user_of_no_agency_gets_the_header_alone(self, varied, root):
        rows = referral_rows(root, {})

        assert list(export_sql.copy_csv(rows, agency=varied.agency, deidentified=True)) == []

    def test_a_zone_named_like_an_abbreviation_is_left_to_python(self, db, tmp_path):
        # PostgreSQL reads "CET" as the fixed UTC+1, not as the zone with summer time.
        agency = AgencyFactory(timezone="CET")
        admin = UserFactory(agency=agency, role="agency_admin")
        client = ClientFactory(agency=agency)
        ReferralFactory(
            case=CaseFactory(client=client, assigned_worker=admin, team=None),
            status=Status.REQUESTED,
            sent_at=datetime.datetime(2026, 7, 1, 12, tzinfo=UTC),
        )
        rows = referral_rows(admin, {})
        expected, _ = python_csv(tmp_path, rows, agency, True)

        assert not export_sql.computed_in_sql(rows, agency)
        streamed = b"".join(export_sql.csv_stream(rows, agency=agency, deidentified=True))
        assert streamed == expected and b"2026-07-01 14:00:00" in streamed
        assert export_sql.write_csv(tmp_path / "job.csv", rows, agency=agency, deidentified=True)
        assert (tmp_path / "job.csv").read_bytes() == expected


@postgresql_only
class TestTypedXlsx:
    @pytest.mark.parametrize("deidentified", [True, False])
    def test_the_sheet_is_the_python_writers_byte_for_byte(
        self, varied, tmp_path, deidentified, monkeypatch
    ):
        rows = referral_rows(varied.admin, {})
        header = exports.columns(deidentified, agency=varied.agency)
        data = exports.export_rows(rows, agency=varied.agency, deidentified=deidentified)
        count = exports.write_xlsx(tmp_path / "python.xlsx", header, data)
        monkeypatch.setattr(exports, "PROGRESS_EVERY", 100)
        done = []

        written = export_sql.write_xlsx(
            tmp_path / "sql.xlsx",
            rows,
            agency=varied.agency,
            deidentified=deidentified,
            progress=done.append,
        )

        assert written == count > 250
        assert sheet_xml(tmp_path / "sql.xlsx") == sheet_xml(tmp_path / "python.xlsx")
        assert done == list(range(100, count + 1, 100))


def test_python_whitespace_is_what_str_strip_strips():
    assert (
        "".join(char for char in map(chr, range(sys.maxunicode + 1)) if char.isspace())
        == export_sql.PYTHON_WHITESPACE
    )


def test_copy_row_ends_become_crlf_and_quoted_line_breaks_stay():
    assert export_sql._crlf(b"1,a\n2,b\n") == b"1,a\r\n2,b\r\n"
    copied = b'1,"a\nb",""""\n2,"x""\ny",z\n'
    assert export_sql._crlf(copied) == b'1,"a\nb",""""\r\n2,"x""\ny",z\r\n'
