"""The rows of a referral export and the writers that put them in a file or a stream.

Every writer takes an iterator of rows and holds one row at a time, so memory stays flat
whatever the number of referrals: the queryset is read with .iterator(chunk_size=2000),
the CSV goes straight to its file or to the response, and XlsxWriter runs in
constant_memory mode (it flushes each row as the next begins).

Values are those the report counts (report.durations, the same status and outcome
codes), so a spreadsheet summed by hand gives the report's numbers.
"""

import csv
import datetime
import hashlib
import hmac
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import xlsxwriter

from reports.report import agency_zone, durations

CHUNK_SIZE = 2000
PROGRESS_EVERY = 1000
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOM = "\ufeff"

COLUMNS = [
    "referral_id",
    "sent_date",
    "status",
    "outcome",
    "need_category",
    "urgency",
    "team",
    "worker",
    "organization",
    "service",
    "accepted_at",
    "service_date",
    "closed_at",
    "days_to_acceptance",
    "days_to_first_service",
    "loop_closed",
]
IDENTIFIED_COLUMNS = ["client_name", "client_date_of_birth", "client_phone"]
DEIDENTIFIED_COLUMNS = ["client_key"]


def columns(deidentified: bool) -> list[str]:
    return COLUMNS + (DEIDENTIFIED_COLUMNS if deidentified else IDENTIFIED_COLUMNS)


def client_key(secret: str, client_id: int) -> str:
    """A pseudonym for a client: the same for every export of one agency, and nothing
    anyone without the agency's secret can link back to the client or to another
    agency's key for the same id."""
    digest = hmac.new(secret.encode(), str(client_id).encode(), hashlib.sha256)
    return digest.hexdigest()[:16]


def export_queryset(rows, deidentified: bool):
    """`rows` (report.referral_rows) with what the export rows read joined in."""
    related = ["case__team", "created_by", "service__organization"]
    if not deidentified:
        related.append("client")
    return rows.select_related(*related).order_by("sent_at", "pk")


def export_rows(rows, *, agency, deidentified: bool) -> Iterator[list]:
    """One list of typed values per referral of `rows`, in columns(deidentified) order:
    dates and datetimes (aware, in the agency's zone), numbers, booleans and text."""
    tz = agency_zone(agency)
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
        referral.sent_at.astimezone(tz).date() if referral.sent_at else None,
        referral.status,
        referral.outcome,
        referral.need_category,
        referral.urgency,
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
        return "yes" if value else "no"
    if isinstance(value, datetime.datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str):
        return _defused(value)
    return str(value)


def _defused(text: str) -> str:
    # A cell starting with =, +, - or @ is a formula to a spreadsheet (CSV injection):
    # a typed-in provider name must not run as one when the export is opened.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


class _Echo:
    """A file-like object whose write returns what it was given (csv to a stream)."""

    def write(self, value):
        return value


def csv_stream(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    """The CSV, one line at a time, BOM first (Excel then reads UTF-8, accents intact):
    for a StreamingHttpResponse."""
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow(header)
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
        date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
        datetime_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        sheet.write_row(0, 0, header, bold)
        sheet.freeze_panes(1, 0)
        count = 0
        for row in rows:
            count += 1
            for col, value in enumerate(row):
                _write_cell(sheet, count, col, value, date_format, datetime_format)
            if progress and count % PROGRESS_EVERY == 0:
                progress(count)
    finally:
        workbook.close()
    return count


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
