"""The rows of a referral export and the writers that put them in a file or a stream.

Every writer takes an iterator of rows and holds one row at a time, so memory stays flat
whatever the number of referrals: the queryset is read with .iterator(chunk_size=2000),
the CSV goes straight to its file or to the response, and XlsxWriter runs in
constant_memory mode (it flushes each row as the next begins).

Values read as the pages show them and as a spreadsheet takes them: statuses, outcomes,
needs and urgencies by their labels ("Sent", not "requested"; the report's "No outcome
yet"), times in the agency's zone named in the column's header ("Sent at (Los Angeles
time)"), in the CSV as "YYYY-MM-DD HH:MM:SS" and in the XLSX as date cells. The numbers
are those the report counts (report.durations), so a spreadsheet summed by hand gives the
report's numbers.

These rows and writers are SQLite's, and the reference: on PostgreSQL reports/export_sql.py
computes the same files in the database.
"""

import csv
import datetime
import hashlib
import hmac
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import xlsxwriter

from reports.report import NO_OUTCOME_LABEL, durations

CHUNK_SIZE = 2000
PROGRESS_EVERY = 1000
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOM = "\ufeff"
DATETIME_WIDTH = len("2026-01-31 21:00:00")
# The rows' order in every export: as sent, ties by id.
ORDER = ("sent_at", "pk")
CLIENT_KEY_LENGTH = 16
# A cell starting with one of these is a formula to a spreadsheet (see defused).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# "{zone}" is the agency's zone as people say it ("Los Angeles time").
COLUMNS = [
    "Referral ID",
    "Sent at ({zone})",
    "Status",
    "Outcome",
    "Need",
    "Urgency",
    "Team",
    "Worker",
    "Organization",
    "Service",
    "Accepted at ({zone})",
    "Service date",
    "Closed at ({zone})",
    "Days to acceptance",
    "Days to first service",
    "Loop closed",
]
IDENTIFIED_COLUMNS = ["Client name", "Client date of birth", "Client phone"]
DEIDENTIFIED_COLUMNS = ["Client key"]


def columns(deidentified: bool, *, agency) -> list[str]:
    """The header row, with the agency's zone in the names of the time columns."""
    names = COLUMNS + (DEIDENTIFIED_COLUMNS if deidentified else IDENTIFIED_COLUMNS)
    return [name.format(zone=agency.zone_label) for name in names]


def client_key(secret: str, client_id: int) -> str:
    """A pseudonym for a client: the same for every export of one agency, and nothing
    anyone without the agency's secret can link back to the client or to another
    agency's key for the same id."""
    digest = hmac.new(secret.encode(), str(client_id).encode(), hashlib.sha256)
    return digest.hexdigest()[:CLIENT_KEY_LENGTH]


def export_queryset(rows, deidentified: bool):
    """`rows` (report.referral_rows) with what the export rows read joined in."""
    related = ["case__team", "created_by", "service__organization"]
    if not deidentified:
        related.append("client")
    return rows.select_related(*related).order_by(*ORDER)


def export_rows(rows, *, agency, deidentified: bool) -> Iterator[list]:
    """One list of typed values per referral of `rows`, in columns() order:
    dates and datetimes (aware, in the agency's zone), numbers, booleans and text (choices
    by their labels)."""
    tz = agency.zone
    secret = agency.client_key_secret
    for referral in export_queryset(rows, deidentified).iterator(chunk_size=CHUNK_SIZE):
        yield referral_row(referral, tz=tz, secret=secret, deidentified=deidentified)


def referral_row(referral, *, tz, secret: str, deidentified: bool) -> list:
    to_accept, to_service, _ = durations(
        referral.sent_at,
        referral.accepted_at,
        referral.service_date,
        referral.closed_at,
        tz,
    )
    service = referral.service
    case = referral.case
    row = [
        referral.pk,
        referral.sent_at.astimezone(tz) if referral.sent_at else None,
        referral.get_status_display(),
        referral.get_outcome_display() if referral.outcome else NO_OUTCOME_LABEL,
        referral.get_need_category_display(),
        referral.get_urgency_display(),
        case.team.name if case.team_id else "",
        _person(referral.created_by),
        service.organization.name if service else "",
        service.name if service else referral.provider_name,
        referral.accepted_at.astimezone(tz) if referral.accepted_at else None,
        referral.service_date,
        referral.closed_at.astimezone(tz) if referral.closed_at else None,
        round(to_accept, 1) if to_accept is not None else None,
        to_service,
        referral.closed_at is not None,
    ]
    if deidentified:
        row.append(client_key(secret, referral.client_id))
    else:
        client = referral.client
        row += [client.legal_name, client.date_of_birth, client.phone]
    return row


def _person(user) -> str:
    return user.get_full_name() or user.username


def as_text(value) -> str:
    """How a value reads in a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime.datetime):
        # The wall-clock time, as Excel reads a date and time; the zone is in the header.
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str):
        return defused(value)
    return str(value)


def defused(text: str) -> str:
    # A cell starting with =, +, - or @ is a formula to a spreadsheet (CSV injection):
    # a typed-in provider name must not run as one when the export is opened.
    if text[:1] in FORMULA_STARTS:
        return "'" + text
    return text


class _Echo:
    """A file-like object whose write returns what it was given (csv to a stream)."""

    def write(self, value):
        return value


def csv_header(header: list[str]) -> str:
    """The CSV's first line: the BOM (Excel then reads UTF-8, accents intact) and the
    header row."""
    return BOM + csv.writer(_Echo()).writerow(header)


def csv_stream(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    """The CSV, one line at a time, BOM first: for a StreamingHttpResponse."""
    writer = csv.writer(_Echo())
    yield csv_header(header)
    for row in rows:
        yield writer.writerow([as_text(value) for value in row])


ProgressFn = Callable[[int], None]


def write_csv(path, header: list[str], rows: Iterable[list], progress: ProgressFn | None = None):
    """Write the CSV to `path` (UTF-8 with BOM); returns the number of rows written.
    `progress(n)` is called every PROGRESS_EVERY rows."""
    count = 0
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for row in rows:
            writer.writerow([as_text(value) for value in row])
            count += 1
            if progress and count % PROGRESS_EVERY == 0:
                progress(count)
    return count


def write_xlsx(path, header: list[str], rows: Iterable[list], progress: ProgressFn | None = None):
    """Write the XLSX to `path` in constant memory; returns the number of rows written."""
    with xlsx_sheet(path, header) as (sheet, formats):
        count = 0
        for row in rows:
            count += 1
            for col, value in enumerate(row):
                _write_cell(sheet, count, col, value, formats.date, formats.datetime)
            if progress and count % PROGRESS_EVERY == 0:
                progress(count)
    return count


class XlsxFormats:
    def __init__(self, workbook):
        self.date = workbook.add_format({"num_format": "yyyy-mm-dd"})
        self.datetime = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})


@contextmanager
def xlsx_sheet(path, header: list[str]):
    """(sheet, XlsxFormats) of a new constant-memory workbook at `path` whose first row is
    `header`; the workbook is written out when the block ends."""
    workbook = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            # Its temporary sheet data (several times the final file) goes beside the
            # file, on the disk meant for exports, not in the system's temp directory.
            "tmpdir": str(Path(path).parent),
        },
    )
    try:
        sheet = workbook.add_worksheet("Referrals")
        bold = workbook.add_format({"bold": True})
        formats = XlsxFormats(workbook)
        # Wide enough for each header and for a date and time (else Excel shows ####).
        for col, name in enumerate(header):
            sheet.set_column(col, col, max(len(name), DATETIME_WIDTH) + 2)
        sheet.write_row(0, 0, header, bold)
        sheet.freeze_panes(1, 0)
        yield sheet, formats
    finally:
        workbook.close()


def _write_cell(sheet, row, col, value, date_format, datetime_format):
    if value is None or value == "":
        return
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, datetime.datetime):
        # Excel has no time zones: the agency's local time, as the page shows it.
        sheet.write_datetime(row, col, value.replace(tzinfo=None), datetime_format)
    elif isinstance(value, datetime.date):
        sheet.write_datetime(row, col, value, date_format)
    elif isinstance(value, int | float):
        sheet.write_number(row, col, value)
    else:
        sheet.write_string(row, col, str(value))
