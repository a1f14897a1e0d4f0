"""The referral exports as the export job, the direct CSV and the API make them: on
PostgreSQL computed by the database, elsewhere by exports' Python writers.

On PostgreSQL the CSV is one `COPY (SELECT ...) TO STDOUT WITH (FORMAT csv)` read through
psycopg's cursor.copy() and handed on a chunk at a time, in constant memory. The SELECT is
the queryset of report.referral_rows itself (its filters and joins compiled by the ORM,
its parameters bound by psycopg on the client as Django's own queries are), in
exports.ORDER, and each cell is an SQL expression giving the text exports.as_text gives
exports.referral_row's value: choice labels from the model fields' choices, times in the
agency's zone, report.durations' days, Excel-safe text (exports.FORMULA_STARTS) and the
client key (exports.client_key by pgcrypto's hmac(), the agency's secret read by the
query, never written into the statement). tests/reports/test_export_sql.py holds the
file to the Python writer's, byte for byte.

The XLSX reads the same cells as typed values (numbers, labels, and local times and dates
as Excel date numbers), which Python hands to the writer (rustpy-xlsxwriter) unchanged:
fetching the rows and the writer's own work are most of the time.

Exports' Python writers make the files on SQLite (the embedded default), and for an agency
whose zone name PostgreSQL reads as a fixed-offset abbreviation (CET, EST, ...), where
`AT TIME ZONE` would miss the zone's summer time.
"""

from collections.abc import Callable, Iterator
from typing import Any, cast

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import (
    BooleanField,
    Case,
    F,
    Field,
    FloatField,
    IntegerField,
    Subquery,
    TextField,
    Value,
    When,
)
from django.utils import translation

from accounts.models import Agency
from referrals.models import Referral
from reports import exports
from reports.report import NO_OUTCOME_LABEL, Days, Sql, days_to_service, local_time

# What str.strip() strips (str.isspace()): User.get_full_name() strips the full name.
PYTHON_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# The CSV is handed on in pieces of about this size.
CHUNK_BYTES = 256 * 1024


class _LocalText(Sql):
    # as_text's "%Y-%m-%d %H:%M:%S" is the ISO DateStyle's text of the whole seconds, but
    # that glibc's %Y does not pad a year before 1000. (psycopg reads timestamps in the ISO
    # DateStyle only, so a connection Django can use has it; to_char takes half as long
    # again.)
    template = "ltrim(date_trunc('second', {0})::text, '0')"
    output_field = TextField()


class _Defused(Sql):
    """{0} as exports.defused makes it: a leading formula character behind a quote."""

    template = (
        "CASE WHEN left({0}, 1) IN ("
        + ", ".join(f"chr({ord(char)})" for char in exports.FORMULA_STARTS)
        + ") THEN '''' || {0} ELSE {0} END"
    )
    output_field = TextField()


class _Blank(Sql):
    # COPY writes NULL as nothing and quotes an empty string (""), which the csv module
    # writes as nothing: an empty text becomes NULL.
    template = "NULLIF({0}, '')"
    output_field = TextField()


class _FullName(Sql):
    """User.get_full_name() or the username: "first last" stripped as str.strip() does."""

    template = "COALESCE(NULLIF(btrim({0} || ' ' || {1}, {3}), ''), {2})"
    output_field = TextField()


class _OneDecimal(Sql):
    # str(round(days, 1)): glibc's printf rounds the double exactly, ties to even, as
    # Python's round() does; 11 digits before the point are far more than any span.
    template = "to_char({0}, 'FM99999999990.0')"
    output_field = TextField()


class _ClientKey(Sql):
    """exports.client_key: HMAC-SHA256 of the client id's digits keyed by the agency's
    secret, hex, cut to CLIENT_KEY_LENGTH (pgcrypto, reports migration 0002)."""

    template = (
        f"left(encode(hmac({{0}}::text, {{1}}, 'sha256'), 'hex'), {exports.CLIENT_KEY_LENGTH})"
    )
    output_field = TextField()


def _label(field: str, for_csv: bool, empty_label: Any = None) -> Case:
    """Referral.get_<field>_display() in SQL, from the field's own choices; the stored
    value when it is not one of them. `empty_label` stands for an empty value."""
    text = exports.defused if for_csv else str
    whens = [When(**{field: ""}, then=Value(text(str(empty_label))))] if empty_label else []
    whens += [
        When(**{field: value}, then=Value(text(str(label))))
        for value, label in cast(Field, Referral._meta.get_field(field)).flatchoices
    ]
    default = _Defused(F(field)) if for_csv else F(field)
    return Case(*whens, default=default, output_field=TextField())


def _texts(for_csv: bool) -> dict[str, Any]:
    """The text cells, with what the Python rows read (exports.referral_row)."""
    service = Case(
        When(service__isnull=True, then=F("provider_name")),
        default=F("service__name"),
        output_field=TextField(),
    )
    worker = _FullName(
        F("created_by__first_name"),
        F("created_by__last_name"),
        F("created_by__username"),
        Value(PYTHON_WHITESPACE),
    )
    texts = {
        "status": _label("status", for_csv),
        "outcome": _label("outcome", for_csv, empty_label=NO_OUTCOME_LABEL),
        "need": _label("need_category", for_csv),
        "urgency": _label("urgency", for_csv),
        "team": F("case__team__name"),
        "worker": worker,
        "organization": F("service__organization__name"),
        "service": service,
        "client_name": F("client__legal_name"),
        "client_phone": F("client__phone"),
    }
    for name in ("team", "worker", "organization", "service", "client_name", "client_phone"):
        texts[name] = _Defused(texts[name]) if for_csv else texts[name]
    return {name: _Blank(value) for name, value in texts.items()}


def _secret(agency) -> Subquery:
    # Read once by the query (an InitPlan), never sent in the statement's text.
    return Subquery(Agency.objects.filter(pk=agency.pk).order_by().values("client_key_secret"))


def csv_cells(agency, deidentified: bool) -> list:
    """exports.columns' cells as the CSV has them (text, or numbers COPY writes as Python
    does)."""
    zone = agency.timezone
    text = _texts(for_csv=True)
    cells = [
        F("pk"),
        _LocalText(local_time("sent_at", zone)),
        text["status"],
        text["outcome"],
        text["need"],
        text["urgency"],
        text["team"],
        text["worker"],
        text["organization"],
        text["service"],
        _LocalText(local_time("accepted_at", zone)),
        # date.isoformat() is the ISO DateStyle's text of a date.
        F("service_date"),
        _LocalText(local_time("closed_at", zone)),
        _OneDecimal(Days(F("accepted_at"), F("sent_at"))),
        days_to_service(zone),
        Sql(
            F("closed_at"),
            template="CASE WHEN {0} IS NULL THEN 'No' ELSE 'Yes' END",
            output_field=TextField(),
        ),
    ]
    if deidentified:
        return [*cells, _ClientKey(F("client_id"), _secret(agency))]
    return [
        *cells,
        text["client_name"],
        F("client__date_of_birth"),
        text["client_phone"],
    ]


def xlsx_cells(agency, deidentified: bool) -> list:
    """exports.columns' cells as the XLSX has them (exports.xlsx_row's values): numbers,
    labels and text cut at exports.XLSX_TEXT_MAX, True/False, and the local times and
    dates as Excel's serial numbers (exports.excel_date), so that Python only hands the
    rows to the writer."""
    zone = agency.timezone
    day_0, leap_bug_from = Value(exports.EXCEL_DAY_0), Value(exports.EXCEL_LEAP_BUG_FROM)

    def excel_date(date) -> Sql:
        # exports.excel_date of a date: whole days (proleptic Gregorian, as Python's).
        return Sql(
            date,
            day_0,
            leap_bug_from,
            template="{0} - {1} + ({0} >= {2})::int",
            output_field=IntegerField(),
        )

    def excel_time(field: str) -> Sql:
        # exports.excel_date of the wall-clock time: its date's days, then the whole
        # seconds of its day over 86400 added as Python adds them (int + float8 / int:
        # the same IEEE doubles).
        return Sql(
            local_time(field, zone),
            day_0,
            leap_bug_from,
            template=(
                "{0}::date - {1} + ({0}::date >= {2})::int"
                " + floor(extract(epoch FROM {0}::time))::float8 / 86400"
            ),
            output_field=FloatField(),
        )

    text = {
        name: Sql(value, template=f"left({{0}}, {exports.XLSX_TEXT_MAX})", output_field=TextField())
        for name, value in _texts(for_csv=False).items()
    }
    days = Sql(
        _OneDecimal(Days(F("accepted_at"), F("sent_at"))),
        template="{0}::float8",
        output_field=FloatField(),
    )
    cells = [
        F("pk"),
        excel_time("sent_at"),
        text["status"],
        text["outcome"],
        text["need"],
        text["urgency"],
        text["team"],
        text["worker"],
        text["organization"],
        text["service"],
        excel_time("accepted_at"),
        excel_date(F("service_date")),
        excel_time("closed_at"),
        days,
        days_to_service(zone),
        Sql(F("closed_at"), template="{0} IS NOT NULL", output_field=BooleanField()),
    ]
    if deidentified:
        return [*cells, _ClientKey(F("client_id"), _secret(agency))]
    return [
        *cells,
        text["client_name"],
        excel_date(F("client__date_of_birth")),
        text["client_phone"],
    ]


def _values(rows, cells: list):
    """`rows` (report.referral_rows) in the export's order, each row the tuple of `cells`."""
    names = [f"cell{i}" for i in range(len(cells))]
    return (
        rows.order_by(*exports.ORDER)
        .annotate(**dict(zip(names, cells, strict=True)))
        .values_list(*names)
    )


def computed_in_sql(rows, agency) -> bool:
    """Whether PostgreSQL computes this export: on PostgreSQL, unless the agency's zone
    name is also one of its time zone abbreviations (fixed offsets, which AT TIME ZONE
    reads first)."""
    connection = connections[rows.db]
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_timezone_abbrevs WHERE lower(abbrev) = lower(%s))",
            [agency.timezone],
        )
        row = cursor.fetchone()
    return not (row and row[0])


def copy_csv(rows, *, agency, deidentified: bool) -> Iterator[tuple[bytes, int]]:
    """The CSV's rows (no header) in chunks of about CHUNK_BYTES: (bytes, rows in them).
    One COPY on `rows`' connection, which it holds until the last chunk is taken: run no
    other query on it in between. PostgreSQL only."""
    try:
        select, params = (
            _values(rows, csv_cells(agency, deidentified)).query.get_compiler(rows.db).as_sql()
        )
    except EmptyResultSet:
        return
    statement = f"COPY ({select}) TO STDOUT WITH (FORMAT csv)"
    with connections[rows.db].cursor() as cursor, cursor.cursor.copy(statement, params) as copy:
        lines: list = []
        size = 0
        for data in copy:
            # One piece per row: PostgreSQL's protocol sends one message per row.
            lines.append(data)
            size += len(data)
            if size >= CHUNK_BYTES:
                yield _crlf(b"".join(lines)), len(lines)
                lines, size = [], 0
        if lines:
            yield _crlf(b"".join(lines)), len(lines)


def _crlf(rows: bytes) -> bytes:
    r"""Whole CSV rows as COPY ends them (\n) ended as the csv module ends them (\r\n). A
    \n inside a quoted field is kept, as the csv module keeps it: between an even and an
    odd double quote (an escaped quote, "", encloses nothing)."""
    if b'"' not in rows:
        return rows.replace(b"\n", b"\r\n")
    parts = rows.split(b'"')
    parts[::2] = [part.replace(b"\n", b"\r\n") for part in parts[::2]]
    return b'"'.join(parts)


# --- the entry points ------------------------------------------------------------------
# An export reads the same whoever asks for it and in whatever language: agencies'
# pipelines read its headers and cells, so its labels (statuses, outcomes, needs, "No
# outcome yet") are the English ones, also in a Spanish reader's direct CSV.

ProgressFn = Callable[[int], None]
_END = object()


def _in_english(pieces: Iterator[bytes]) -> Iterator[bytes]:
    """`pieces`, each made with English active (and the reader's language back in
    between: a streamed response is read a piece at a time, maybe each in a thread of its
    own under ASGI)."""
    while True:
        with translation.override("en"):
            piece = next(pieces, _END)
        if piece is _END:
            return
        yield cast(bytes, piece)


@translation.override("en")
def write_csv(path, rows, *, agency, deidentified: bool, progress: ProgressFn | None = None):
    """Write the CSV export of `rows` (report.referral_rows) to `path`; returns the number
    of rows. Through COPY, `progress` is not called: the COPY holds the connection, and
    is done in seconds where the Python writer takes minutes."""
    header = exports.columns(deidentified, agency=agency)
    if not computed_in_sql(rows, agency):
        data = exports.export_rows(rows, agency=agency, deidentified=deidentified)
        return exports.write_csv(path, header, data, progress)
    count = 0
    with open(path, "wb") as out:
        out.write(exports.csv_header(header).encode())
        for chunk, lines in copy_csv(rows, agency=agency, deidentified=deidentified):
            out.write(chunk)
            count += lines
    return count


def csv_stream(rows, *, agency, deidentified: bool) -> Iterator[bytes]:
    """The CSV export of `rows` in pieces (UTF-8), for a StreamingHttpResponse. Its
    query runs when the response is read."""
    return _in_english(_csv_stream(rows, agency=agency, deidentified=deidentified))


def _csv_stream(rows, *, agency, deidentified: bool) -> Iterator[bytes]:
    header = exports.columns(deidentified, agency=agency)
    if not computed_in_sql(rows, agency):
        data = exports.export_rows(rows, agency=agency, deidentified=deidentified)
        for line in exports.csv_stream(header, data):
            yield line.encode()
        return
    yield exports.csv_header(header).encode()
    for chunk, _ in copy_csv(rows, agency=agency, deidentified=deidentified):
        yield chunk


@translation.override("en")
def write_xlsx(path, rows, *, agency, deidentified: bool, progress: ProgressFn | None = None):
    """Write the XLSX export of `rows` to `path` in constant memory; returns the number
    of rows."""
    header = exports.columns(deidentified, agency=agency)
    if not computed_in_sql(rows, agency):
        data = exports.export_rows(rows, agency=agency, deidentified=deidentified)
        return exports.write_xlsx(path, header, data, progress)
    values = _values(rows, xlsx_cells(agency, deidentified))
    return exports.write_xlsx_cells(
        path, header, values.iterator(chunk_size=exports.CHUNK_SIZE), progress
    )
