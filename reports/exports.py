"""The rows of a referral export and the writers that put them in a file or a stream.

Every writer takes an iterator of rows and holds one row at a time, so memory stays flat
whatever the number of referrals: the queryset is read with .iterator(chunk_size=2000),
the CSV goes straight to its file or to the response, and the XLSX's writer
(rustpy-xlsxwriter: rust_xlsxwriter in constant-memory mode) takes the rows from a
generator and writes each to its temporary sheet file as the next begins.

Values read as the pages show them and as a spreadsheet takes them: statuses, outcomes,
needs and urgencies by their labels ("Sent", not "requested"; the report's "No outcome
yet"), times in the agency's zone named in the column's header ("Sent at (Los Angeles
time)"), in the CSV as "YYYY-MM-DD HH:MM:SS" and in the XLSX as date cells of the same
whole second (excel_date). The numbers are those the report counts (report.durations), so
a spreadsheet summed by hand gives the report's numbers.

These rows and writers are SQLite's, and the reference: on PostgreSQL reports/export_sql.py
computes the same files in the database.
"""

import csv
import datetime
import hashlib
import hmac
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import rustpy_xlsxwriter

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
# The XLSX's number formats that make a number a date cell, and Excel's limit on the
# characters of a cell's text (rust_xlsxwriter counts code points and refuses more).
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
DATE_FORMAT = "yyyy-mm-dd"
XLSX_TEXT_MAX = 32767
# Excel's day 0 is 1899-12-31, and it counts a 29 February 1900 that never was: its
# serial numbers from 1 March 1900 on are one more than the days since day 0.
EXCEL_DAY_0 = datetime.date(1899, 12, 31)
EXCEL_LEAP_BUG_FROM = datetime.date(1900, 3, 1)
_DAY_0 = EXCEL_DAY_0.toordinal()
_LEAP_BUG_FROM = EXCEL_LEAP_BUG_FROM.toordinal()

# Each column: its name ("{zone}" is the agency's zone as people say it, "Los Angeles
# time") and, for the times and dates, the XLSX's number format that makes them dates.
COLUMNS: list[tuple[str, str | None]] = [
    ("Referral ID", None),
    ("Sent at ({zone})", DATETIME_FORMAT),
    ("Status", None),
    ("Outcome", None),
    ("Need", None),
    ("Urgency", None),
    ("Team", None),
    ("Worker", None),
    ("Organization", None),
    ("Service", None),
    ("Accepted at ({zone})", DATETIME_FORMAT),
    ("Service date", DATE_FORMAT),
    ("Closed at ({zone})", DATETIME_FORMAT),
    ("Days to acceptance", None),
    ("Days to first service", None),
    ("Loop closed", None),
]
IDENTIFIED_COLUMNS: list[tuple[str, str | None]] = [
    ("Client name", None),
    ("Client date of birth", DATE_FORMAT),
    ("Client phone", None),
]
DEIDENTIFIED_COLUMNS: list[tuple[str, str | None]] = [("Client key", None)]


def _columns(deidentified: bool) -> list[tuple[str, str | None]]:
    return COLUMNS + (DEIDENTIFIED_COLUMNS if deidentified else IDENTIFIED_COLUMNS)


def columns(deidentified: bool, *, agency) -> list[str]:
    """The header row, with the agency's zone in the names of the time columns."""
    return [name.format(zone=agency.zone_label) for name, _ in _columns(deidentified)]


def xlsx_formats(header: list[str]) -> list[str | None]:
    """The XLSX's number format of each column of `header` (columns()'s; None: the cell
    as its value is). Its length tells the de-identified columns from the identified."""
    deidentified = len(header) == len(COLUMNS) + len(DEIDENTIFIED_COLUMNS)
    formats = [number_format for _, number_format in _columns(deidentified)]
    if len(formats) != len(header):
        raise ValueError(f"{len(header)} columns: not an export's header")
    return formats


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
        referral.get_outcome_display() if referral.outcome else str(NO_OUTCOME_LABEL),
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
    """Write the XLSX of export_rows' `rows` to `path` in constant memory; returns the
    number of rows written."""
    return write_xlsx_cells(path, header, (xlsx_row(row) for row in rows), progress)


def xlsx_row(row: list) -> list:
    """export_rows' `row` as the XLSX's cells: dates and times as Excel's serial numbers
    (their number formats make them dates), text cut at XLSX_TEXT_MAX."""
    return [_xlsx_cell(value) for value in row]


def _xlsx_cell(value):
    if isinstance(value, datetime.date):
        return excel_date(value)
    if isinstance(value, str):
        return value[:XLSX_TEXT_MAX]
    return value


def excel_date(value: datetime.date) -> int | float:
    """A date, or a date and time to the whole second of its wall clock (as the CSV and
    the pages show it; Excel has no time zones), as Excel's serial number: days since
    EXCEL_DAY_0 (one more from EXCEL_LEAP_BUG_FROM on), the time as a fraction of the
    day. Before 1900 the number is 0 or less, which Excel shows as ####."""
    ordinal = value.toordinal()
    days = ordinal - _DAY_0 + (ordinal >= _LEAP_BUG_FROM)
    if isinstance(value, datetime.datetime):
        # export_sql computes the same float with the same two IEEE double operations.
        return days + (value.hour * 3600 + value.minute * 60 + value.second) / 86400
    return days


def write_xlsx_cells(
    path, header: list[str], rows: Iterable[list | tuple], progress: ProgressFn | None = None
) -> int:
    """Write the XLSX whose columns are columns()' `header` and whose cells are `rows`
    (xlsx_row's: numbers, serial dates, text and booleans; None or "" leaves the cell
    empty) to `path`, holding one row at a time; returns the number of rows written.
    `progress(n)` is called every PROGRESS_EVERY rows.

    Text is always a text cell, never a formula or a link: "=SUM(A1)" stays as typed."""
    formats = xlsx_formats(header)
    count = 0

    def records() -> Iterator[dict]:
        nonlocal count
        for row in rows:
            count += 1
            yield dict(zip(header, row, strict=True))
            if progress and count % PROGRESS_EVERY == 0:
                progress(count)
        if not count:
            # The writer takes the header from the first row: an empty one gives it.
            yield dict.fromkeys(header)

    with _temporary_files_in(Path(path).parent):
        rustpy_xlsxwriter.write_worksheet(
            records(),
            str(path),
            sheet_name="Referrals",
            freeze_row=1,
            bold_headers=True,
            # Wide enough for each header and for a date and time (else Excel shows ####).
            column_widths=[max(len(name), DATETIME_WIDTH) + 2 for name in header],
            column_formats=[_number_format(number_format) for number_format in formats],
        )
    return count


def _number_format(number_format: str | None) -> rustpy_xlsxwriter.Format:
    cell_format = rustpy_xlsxwriter.Format()
    return cell_format.set_num_format(number_format) if number_format else cell_format


@contextmanager
def _temporary_files_in(folder: Path) -> Iterator[None]:
    """The writer's temporary sheet data (several times the final file) made in `folder`,
    beside the file, on the disk meant for exports (SECURITY.md), not in the system's
    temp directory. rust_xlsxwriter makes it in $TMPDIR and has no option for it, so
    TMPDIR is `folder` for the writer's call: a setting of the whole process, where one
    export runs at a time (a Celery prefork child, a gunicorn sync worker)."""
    saved = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(folder.resolve())
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TMPDIR"]
        else:
            os.environ["TMPDIR"] = saved
