"""HSDS 3.0 tabular data packages: validation, import and export of the directory.

A package is a folder or a zip holding `datapackage.json` and one CSV per table. Every
check is driven by the specification's own table schemas, shipped in directory/schemas/
(required and tabular_required fields, types, formats, enums), plus what a relational
load needs: ids unique in the package and not owned by another directory, and every
reference resolving to a row of the package or of the target directory. A row that
references a rejected row is rejected too, so a partial load never leaves a dangling id.

`import_package` upserts by HSDS id into one directory (the shared one, or an agency's
own) in one transaction; `export_package` writes a directory back so that importing it
again changes nothing and exporting again gives the same bytes.
"""

import csv
import datetime
import io
import json
import math
import re
import uuid
import zipfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q, QuerySet

from audit.models import Action
from audit.services import record
from core.text import without_nul
from directory.models import HSDS_MODELS, HsdsRecord, TaxonomyTerm
from directory.needs import guess_need_category

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
DATAPACKAGE = "datapackage.json"
CELL_TYPES = {"string", "number", "integer", "boolean"}

# Which table each reference column points to. link_id (attribute) and resource_id
# (metadata) may point to a row of any table; parent_id points into its own table.
REFERENCES = {
    "organization_id": "organization",
    "service_id": "service",
    "location_id": "location",
    "contact_id": "contact",
    "service_at_location_id": "service_at_location",
    "phone_id": "phone",
    "program_id": "program",
    "taxonomy_term_id": "taxonomy_term",
    "taxonomy_id": "taxonomy",
    "parent_organization_id": "organization",
}
ANY_TABLE = "*"
POLYMORPHIC_REFERENCES = {"link_id", "resource_id"}

# Parents before children, so that foreign keys resolve as rows are written; the tables
# kept in HsdsRecord have no foreign keys and come last.
MODEL_LOAD_ORDER = [
    "organization",
    "service",
    "location",
    "service_at_location",
    "address",
    "contact",
    "phone",
    "schedule",
    "taxonomy",
    "taxonomy_term",
    "attribute",
    "language",
    "service_area",
]
TABLE_MODELS = {model.hsds_table: model for model in HSDS_MODELS}


class PackageError(Exception):
    """The package cannot be read at all (no such path, not a zip, no datapackage.json).
    The message is one line, fit for the command line."""


# --- The schemas --------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # string, number, integer, boolean, date, time or datetime
    format: str  # uuid, email, uri or ""
    enum: tuple[str, ...]
    title: str
    description: str
    unique: bool


@dataclass(frozen=True)
class Table:
    name: str
    path: str
    order: int
    description: str
    required: frozenset[str]
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def model(self):
        return TABLE_MODELS.get(self.name, HsdsRecord)

    def reference_target(self, column: str) -> str | None:
        if column == "parent_id":
            return self.name
        if column in POLYMORPHIC_REFERENCES:
            return ANY_TABLE
        return REFERENCES.get(column)


def _column(prop: dict) -> Column:
    fmt = prop.get("format", "")
    kind = prop.get("datapackage_type") or ("datetime" if fmt == "date-time" else prop["type"])
    return Column(
        name=prop["name"],
        kind=kind,
        format="" if fmt == "date-time" else fmt,
        enum=tuple(prop.get("enum", ())),
        title=prop.get("title", ""),
        description=prop.get("description", ""),
        unique=bool(prop.get("constraints", {}).get("unique")),
    )


@cache
def tables() -> dict[str, Table]:
    """Every HSDS table, by name, in the specification's datapackage order."""
    found = []
    for path in SCHEMA_DIR.glob("*.json"):
        schema = json.loads(path.read_text(encoding="utf-8"))
        columns = tuple(
            _column(prop)
            for prop in schema["properties"].values()
            if prop.get("type") in CELL_TYPES  # arrays and $refs are nested forms
        )
        found.append(
            Table(
                name=schema["name"],
                path=schema["path"],
                order=schema["datapackage_metadata"]["order"],
                description=schema.get("description", ""),
                required=frozenset(schema.get("required", ()))
                | frozenset(schema.get("tabular_required", ())),
                columns=columns,
            )
        )
    return {t.name: t for t in sorted(found, key=lambda t: t.order)}


def load_order() -> list[str]:
    return MODEL_LOAD_ORDER + [name for name in tables() if name not in TABLE_MODELS]


# --- Cells ------------------------------------------------------------------------------

UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
INTEGER_RE = re.compile(r"^[+-]?\d+$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIME_RE = re.compile(r"^\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$")
TIME_WITH_OFFSET_RE = re.compile(r"^\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})$")
URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
BOOLEANS = {"true": True, "false": False, "1": True, "0": False}


class CellError(ValueError):
    pass


def parse_cell(column: Column, cell: str):
    """The Python value of a non-empty CSV cell, or CellError saying why it is not one."""
    if column.enum and cell not in column.enum:
        raise CellError(f"{cell!r} is not one of {', '.join(column.enum)}")
    if column.kind == "number":
        return _parse_number(cell)
    if column.kind == "integer":
        return _parse_integer(cell)
    if column.kind == "boolean":
        return _parse_boolean(cell)
    if column.kind == "date":
        return _parse_date(cell)
    if column.kind == "time":
        return _parse_time(cell)
    if column.kind == "datetime":
        return _parse_datetime(cell)
    return _parse_string(column.format, cell)


def _parse_number(cell: str) -> float:
    if not NUMBER_RE.match(cell) or not math.isfinite(float(cell)):
        raise CellError(f"{cell!r} is not a number")
    return float(cell)


def _parse_integer(cell: str) -> int:
    if not INTEGER_RE.match(cell):
        raise CellError(f"{cell!r} is not an integer")
    return int(cell)


def _parse_boolean(cell: str) -> bool:
    if cell.lower() not in BOOLEANS:
        raise CellError(f"{cell!r} is not true or false")
    return BOOLEANS[cell.lower()]


def _parse_date(cell: str) -> datetime.date:
    try:
        if not DATE_RE.match(cell):
            raise ValueError
        return datetime.date.fromisoformat(cell)
    except ValueError:
        raise CellError(f"{cell!r} is not a date (YYYY-MM-DD)") from None


def _parse_time(cell: str) -> datetime.time:
    if TIME_WITH_OFFSET_RE.match(cell):
        # A time of day with an offset cannot be stored without losing the offset.
        raise CellError(
            f"{cell!r} has a UTC offset: give the local time and put the offset in "
            "the timezone column"
        )
    try:
        if not TIME_RE.match(cell):
            raise ValueError
        return datetime.time.fromisoformat(cell)
    except ValueError:
        raise CellError(f"{cell!r} is not a time (HH:MM:SS)") from None


def _parse_datetime(cell: str) -> datetime.datetime:
    try:
        value = datetime.datetime.fromisoformat(cell)
    except ValueError:
        raise CellError(f"{cell!r} is not a date-time (ISO 8601)") from None
    if value.tzinfo is None:
        raise CellError(f"{cell!r} has no time zone (end it with Z or an offset)")
    try:
        return value.astimezone(datetime.UTC)
    except OverflowError:
        raise CellError(f"{cell!r} is out of range") from None


def _parse_string(fmt: str, cell: str):
    """The cell itself, checked against its format; a UUID as a uuid.UUID."""
    if fmt == "uuid":
        if not UUID_RE.match(cell):
            raise CellError(f"{cell!r} is not a UUID")
        return uuid.UUID(cell)
    if fmt == "email":
        try:
            validate_email(cell)
        except ValidationError:
            raise CellError(f"{cell!r} is not an email address") from None
    if fmt == "uri" and not URI_RE.match(cell):
        raise CellError(f"{cell!r} is not a URI")
    return cell


def format_cell(value) -> str:
    """A stored value as a CSV cell that parse_cell turns back into the same value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime.datetime):
        value = value.astimezone(datetime.UTC)
        spec = "seconds"
        if value.microsecond:
            spec = "milliseconds" if value.microsecond % 1000 == 0 else "microseconds"
        return value.replace(tzinfo=None).isoformat(timespec=spec) + "Z"
    if isinstance(value, datetime.time):
        return value.isoformat(timespec="microseconds" if value.microsecond else "seconds")
    if isinstance(value, datetime.date | uuid.UUID):
        return str(value)
    return str(value)


# --- Reading a package ------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    row_id: str
    field: str
    reason: str
    error: bool = True

    def __str__(self):
        where = f"{self.file}:{self.line}" if self.line else self.file
        parts = [where]
        if self.row_id:
            parts.append(f"id {self.row_id}")
        if self.field:
            parts.append(self.field)
        kind = "" if self.error else "warning: "
        return f"{' '.join(parts)}: {kind}{self.reason}"


@dataclass
class Row:
    table: Table
    file: str
    line: int
    cells: dict[str, str]  # every column of the schema, "" when absent
    values: dict = field(default_factory=dict)  # column -> Python value, None when empty
    problems: list[Problem] = field(default_factory=list)

    @property
    def row_id(self) -> str:
        return self.cells.get("id", "")

    @property
    def pk(self):
        return self.values.get("id")

    @property
    def rejected(self) -> bool:
        return bool(self.problems)

    def reject(self, column: str, reason: str):
        self.problems.append(Problem(self.file, self.line, self.row_id, column, reason))


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


class _Budget:
    """What a package may hold once uncompressed (settings.HSDS_MAX_FILE_BYTES and
    HSDS_MAX_TOTAL_BYTES): checked against each file's declared size before it is read,
    and against the bytes actually read, since a zip's declared sizes can lie."""

    CHUNK = 64 * 1024

    def __init__(self):
        self.per_file = settings.HSDS_MAX_FILE_BYTES
        self.total = settings.HSDS_MAX_TOTAL_BYTES
        self.used = 0

    def check_declared(self, name: str, size: int):
        if size > self.per_file:
            raise PackageError(
                f"{name}: larger than {_megabytes(self.per_file)} uncompressed "
                "(the limit per file, HSDS_MAX_FILE_BYTES)"
            )
        if self.used + size > self.total:
            raise PackageError(
                f"{name}: the package is larger than {_megabytes(self.total)} uncompressed "
                "(the limit for a package, HSDS_MAX_TOTAL_BYTES)"
            )

    def read(self, name: str, stream) -> bytes:
        """The stream's bytes, read in chunks, refused as soon as a limit is passed."""
        parts, size = [], 0
        while chunk := stream.read(self.CHUNK):
            size += len(chunk)
            self.check_declared(name, size)
            parts.append(chunk)
        self.used += size
        return b"".join(parts)


def _open_source(path: Path):
    """read(name) -> bytes | None for the files of a folder or a zip (None: no such file).
    Raises PackageError for a zip of too many members, or a file or package past the size
    limits (_Budget)."""
    budget = _Budget()
    if path.is_dir():
        root = path.resolve()

        def read_dir(name):
            target = (root / name).resolve()
            if not target.is_relative_to(root) or not target.is_file():
                return None
            budget.check_declared(name, target.stat().st_size)
            with target.open("rb") as stream:
                return budget.read(name, stream)

        return read_dir
    if not path.exists():
        raise PackageError(f"{path}: no such file or folder")
    try:
        archive = zipfile.ZipFile(path)
        infos = {info.filename: info for info in archive.infolist()}
    except (zipfile.BadZipFile, OSError) as e:
        raise PackageError(f"{path}: not a folder or a readable zip file ({e})") from None
    if len(infos) > settings.HSDS_MAX_MEMBERS:
        raise PackageError(
            f"{path}: {len(infos)} files in the zip, more than {settings.HSDS_MAX_MEMBERS} "
            "(the limit, HSDS_MAX_MEMBERS)"
        )
    names = set(infos)
    # The package may sit at the root of the zip or in its one top-level folder.
    prefix = ""
    if DATAPACKAGE not in names:
        nested = [n for n in names if PurePosixPath(n).name == DATAPACKAGE and n.count("/") == 1]
        if len(nested) == 1:
            prefix = nested[0][: -len(DATAPACKAGE)]

    def read_zip(name):
        full = str(PurePosixPath(prefix + name))
        if full not in names:
            return None
        budget.check_declared(name, infos[full].file_size)
        try:
            with archive.open(infos[full]) as stream:
                return budget.read(name, stream)
        except (zipfile.BadZipFile, OSError, RuntimeError, ValueError):
            return None

    return read_zip


def _inside_package(name: str) -> bool:
    """A resource path names a file of the package: relative, no "..", no drive or
    backslash (a zip member or a file outside the package is never read)."""
    path = PurePosixPath(name)
    return (
        bool(name)
        and not path.is_absolute()
        and ".." not in path.parts
        and "\\" not in name
        and ":" not in name
    )


def read_descriptor(read) -> dict:
    raw = read(DATAPACKAGE)
    if raw is None:
        raise PackageError(f"{DATAPACKAGE} is missing")
    try:
        descriptor = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as e:
        raise PackageError(f"{DATAPACKAGE} is not valid JSON ({e})") from None
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("resources"), list):
        raise PackageError(f"{DATAPACKAGE} has no list of resources")
    return descriptor


def _resource_table(resource, by_path) -> Table | None:
    if not isinstance(resource, dict):
        return None
    name, path = resource.get("name"), resource.get("path")
    if name in tables():
        return tables()[name]
    if isinstance(path, str):
        return by_path.get(PurePosixPath(path).name)
    return None


def read_rows(path) -> tuple[list[Row], list[Problem]]:
    """Every row of the package, parsed and checked on its own (required fields, types,
    formats, enums), and the problems of the package's files. Raises PackageError when
    the package cannot be read at all."""
    read = _open_source(Path(path))
    descriptor = read_descriptor(read)
    by_path = {t.path: t for t in tables().values()}
    rows, problems, seen = [], [], set()
    for index, resource in enumerate(descriptor["resources"]):
        table = _resource_table(resource, by_path)
        label = resource.get("path") if isinstance(resource, dict) else None
        label = label if isinstance(label, str) else f"resource {index + 1}"
        if table is None:
            problems.append(
                Problem(DATAPACKAGE, None, "", "", f"{label}: not an HSDS table, ignored", False)
            )
            continue
        if table.name in seen:
            problems.append(Problem(DATAPACKAGE, None, "", "", f"{table.name} listed twice"))
            continue
        seen.add(table.name)
        file = resource.get("path")
        if isinstance(file, str) and not _inside_package(file):
            problems.append(Problem(file, None, "", "", "the path leads outside the package"))
            continue
        raw = read(file) if isinstance(file, str) else None
        if raw is None:
            problems.append(Problem(str(file), None, "", "", "the file is missing"))
            continue
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            problems.append(Problem(file, None, "", "", "the file is not UTF-8 text"))
            continue
        rows.extend(_parse_csv(table, file, text, problems))
    return rows, problems


def _parse_csv(table: Table, file: str, text: str, problems: list[Problem]) -> list[Row]:
    reader = csv.reader(io.StringIO(without_nul(text), newline=""))
    try:
        header = next(reader, None)
    except csv.Error as e:
        problems.append(Problem(file, 1, "", "", f"unreadable CSV ({e})"))
        return []
    if not header:
        problems.append(Problem(file, 1, "", "", "the file has no header row"))
        return []
    header = [h.strip() for h in header]
    known = set(table.column_names)
    for name in header:
        if name not in known:
            problems.append(
                Problem(file, 1, "", name, "not a column of this HSDS table, ignored", False)
            )
    rows: list[Row] = []
    line = reader.line_num + 1
    limit = settings.HSDS_MAX_ROWS_PER_TABLE
    while True:
        if len(rows) > limit:
            raise PackageError(
                f"{file}: more than {limit} rows (the limit per table, HSDS_MAX_ROWS_PER_TABLE)"
            )
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            problems.append(Problem(file, line, "", "", f"unreadable CSV ({e})"))
            break
        if cells:  # blank lines are not rows
            row = Row(table, file, line, {c: "" for c in table.column_names})
            row.cells.update({h: v for h, v in zip(header, cells, strict=False) if h in known})
            if len(cells) != len(header):
                row.reject("", f"{len(cells)} cells where the header has {len(header)}")
            _check_cells(row)
            rows.append(row)
        line = reader.line_num + 1
    return rows


def _check_cells(row: Row):
    for column in row.table.columns:
        cell = row.cells[column.name]
        if not cell.strip():
            row.values[column.name] = None
            if column.name in row.table.required:
                row.reject(column.name, "is required")
            continue
        try:
            row.values[column.name] = parse_cell(column, cell)
        except CellError as e:
            row.reject(column.name, str(e))


# --- Checking a package against itself and the directory ---------------------------------


def _scope(agency):
    """Rows a package loaded into `agency`'s directory may reference: that directory and
    the shared one (whose rows every agency sees)."""
    if agency is None:
        return Q(agency__isnull=True)
    return Q(agency__isnull=True) | Q(agency=agency)


def _existing(table_name: str, pks, agency=None, anywhere=False) -> dict:
    """{pk: (agency id, table)} of the rows of `table_name` (ANY_TABLE: of any table kept
    in HsdsRecord) with those ids, in `agency`'s scope or, with `anywhere`, in any
    directory."""
    if not pks:
        return {}
    model = TABLE_MODELS.get(table_name, HsdsRecord)
    qs: QuerySet[Any] = model.objects.filter(pk__in=pks)
    if not anywhere:
        qs = qs.filter(_scope(agency))
    if model is HsdsRecord:
        if table_name != ANY_TABLE:
            qs = qs.filter(table=table_name)
        return {pk: (a, t) for pk, a, t in qs.values_list("pk", "agency_id", "table")}
    return {pk: (a, table_name) for pk, a in qs.values_list("pk", "agency_id")}


def check_rows(rows: list[Row], agency=None) -> None:
    """Reject the rows that cannot be loaded into `agency`'s directory (None: the shared
    one) together with the others: duplicate ids, ids of another directory, references
    to nothing, and references to rejected rows."""
    agency_id = agency.pk if agency is not None else None
    same_id: dict[tuple, list[Row]] = {}
    for row in rows:
        if row.pk is not None:
            # The tables kept in HsdsRecord share one primary key.
            space = row.table.name if row.table.model is not HsdsRecord else ANY_TABLE
            same_id.setdefault((space, row.pk), []).append(row)
    by_table: dict[str, dict] = {}
    for dupes in same_id.values():
        for row in dupes:
            by_table.setdefault(row.table.name, {}).setdefault(row.pk, row)
        if len(dupes) > 1:
            places = ", ".join(f"{r.file} line {r.line}" for r in dupes)
            for row in dupes:
                row.reject("id", f"the id is used more than once ({places})")

    for table_name, keyed in by_table.items():
        space = table_name if table_name in TABLE_MODELS else ANY_TABLE
        found = _existing(space, list(keyed), anywhere=True)
        for pk, (owner, found_table) in found.items():
            row = keyed[pk]
            if owner != agency_id:
                row.reject("id", "the id belongs to another directory")
            elif found_table != table_name:
                row.reject("id", f"the id is already a {found_table} row")

    _check_references(rows, by_table, agency)


def _check_references(rows, by_table, agency):
    references = [
        (row, column, target, pk, _package_row(by_table, target, pk))
        for row, column, target, pk in _reference_cells(rows)
    ]
    in_directory = _ids_in_directory(references, agency)
    for row, column, target, pk, referenced in references:
        if referenced is None and pk not in in_directory.get(target, set()):
            row.reject(
                column,
                f"references {_target_label(target)} {pk}, which is neither in the package "
                "nor in the directory",
            )
    _reject_references_to_rejected(references)


def _reference_cells(rows):
    """(row, column, target table or ANY_TABLE, id) of every reference a row makes."""
    for row in rows:
        for column in row.table.column_names:
            target = row.table.reference_target(column)
            pk = row.values.get(column)
            if target and isinstance(pk, uuid.UUID):
                yield row, column, target, pk


def _package_row(by_table, target, pk) -> Row | None:
    if target != ANY_TABLE:
        return by_table.get(target, {}).get(pk)
    for keyed in by_table.values():
        if pk in keyed:
            return keyed[pk]
    return None


def _ids_in_directory(references, agency) -> dict[str, set]:
    """{target: the referenced ids found in `agency`'s scope}, one query per target table
    (per table of the models and HsdsRecord for ANY_TABLE)."""
    wanted: dict[str, set] = {}
    for _row, _column, target, pk, _referenced in references:
        wanted.setdefault(target, set()).add(pk)
    in_directory: dict[str, set] = {}
    for target, pks in wanted.items():
        names = [*TABLE_MODELS, ANY_TABLE] if target == ANY_TABLE else [target]
        in_directory[target] = set().union(*(_existing(name, pks, agency) for name in names))
    return in_directory


def _target_label(target: str) -> str:
    return "a row" if target == ANY_TABLE else target


def _reject_references_to_rejected(references):
    """A row that references a rejected row is rejected too, and so on down the chain."""
    changed = True
    while changed:
        changed = False
        for row, column, target, pk, referenced in references:
            if referenced is not None and referenced.rejected and not row.rejected:
                row.reject(
                    column,
                    f"references {_target_label(target)} {pk}, which is rejected "
                    f"({referenced.file} line {referenced.line})",
                )
                changed = True


# --- Import -------------------------------------------------------------------------------


@dataclass
class ImportReport:
    counts: dict[str, dict[str, int]]  # table -> created / updated / unchanged
    problems: list[Problem]
    rows: int
    rejected: int
    loaded: bool

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.error]


def import_package(
    path, *, agency=None, load_valid: bool = False, dry_run: bool = False, actor=None
) -> ImportReport:
    """Validate the package at `path` and upsert its rows by HSDS id into `agency`'s
    directory (None: the shared directory), in one transaction.

    With any error nothing changes, unless `load_valid`: then the valid rows are loaded
    and the rejected ones reported. `dry_run` checks and counts, then rolls back. Rows
    whose values are unchanged are not written. Writes one IMPORT audit row. Raises
    PackageError when the package cannot be read at all.
    """
    with transaction.atomic():
        rows, problems = read_rows(path)
        check_rows(rows, agency)
        for row in rows:
            problems.extend(row.problems)
        has_errors = any(p.error for p in problems)
        counts = {}
        if not has_errors or load_valid:
            counts = _load([r for r in rows if not r.rejected], agency)
        if dry_run:
            transaction.set_rollback(True)
    report = ImportReport(
        counts=counts,
        problems=problems,
        rows=len(rows),
        rejected=sum(r.rejected for r in rows),
        loaded=bool(counts) and not dry_run,
    )
    record(
        actor=actor,
        action=Action.IMPORT,
        object_type="hsds_package",
        agency=agency,
        detail={
            "package": Path(path).name,
            "counts": counts,
            "rows": report.rows,
            "rejected": report.rejected,
            "errors": len(report.errors),
            "loaded": report.loaded,
            "load_valid": load_valid,
            "dry_run": dry_run,
        },
    )
    return report


def _model_columns(table: Table) -> list[str]:
    attnames = {f.attname for f in table.model._meta.concrete_fields}
    return [c for c in table.column_names if c != "id" and c in attnames]


def _load(rows: list[Row], agency) -> dict[str, dict[str, int]]:
    agency_id = agency.pk if agency is not None else None
    grouped: dict[str, list[Row]] = {}
    for row in rows:
        grouped.setdefault(row.table.name, []).append(row)
    return {
        name: _load_table(tables()[name], grouped[name], agency_id)
        for name in load_order()
        if name in grouped
    }


def _load_table(table: Table, rows: list[Row], agency_id) -> dict[str, int]:
    model = table.model
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    existing = model.objects.in_bulk([r.pk for r in rows])
    self_refs = [c for c in table.column_names if table.reference_target(c) == table.name]
    new, deferred = [], []
    for row in rows:
        values = _row_values(table, row)
        later = {c: values.pop(c) for c in self_refs}
        obj = existing.get(row.pk)
        if obj is None:
            obj = _new_object(model, row.pk, agency_id, values, later)
            new.append(obj)
            counts["created"] += 1
        else:
            counts[_update_existing(model, obj, values, later)] += 1
        if any(getattr(obj, k) != v for k, v in later.items()):
            deferred.append((row.pk, later))
    model.objects.bulk_create(new, batch_size=500)
    # Self-references in a second pass: the parent may come later in the file.
    for pk, later in deferred:
        model.objects.filter(pk=pk).update(**later)
    return counts


def _row_values(table: Table, row: Row) -> dict:
    """The row's values by model attribute; an HsdsRecord keeps the whole row as data."""
    if table.model is HsdsRecord:
        return {"table": table.name, "data": dict(row.cells)}
    return {c: _model_value(row, c) for c in _model_columns(table)}


def _new_object(model, pk, agency_id, values: dict, later: dict):
    """An unsaved object of the row, its self-references (`later`) left empty for the
    second pass."""
    obj = model(id=pk, agency_id=agency_id, **values)
    for column in later:
        setattr(obj, column, None)
    if model is TaxonomyTerm:
        obj.need_category = guess_need_category(obj)
    return obj


def _update_existing(model, obj, values: dict, later: dict) -> str:
    """Write the values that differ to the object's row: "updated", or "unchanged" when
    nothing differs and no self-reference (written in the second pass) moves."""
    changes = {k: v for k, v in values.items() if getattr(obj, k) != v}
    if model is TaxonomyTerm and not obj.need_category:
        for k, v in changes.items():
            setattr(obj, k, v)
        if guess := guess_need_category(obj):
            changes["need_category"] = guess
    moved = any(getattr(obj, k) != v for k, v in later.items())
    if changes:
        model.objects.filter(pk=obj.pk).update(**changes)
    return "updated" if changes or moved else "unchanged"


def _model_value(row: Row, column: str):
    value = row.values.get(column)
    if value is None:
        model = row.table.model
        return None if model._meta.get_field(_attname_map(model)[column]).null else ""
    return value


@cache
def _attname_map(model) -> dict[str, str]:
    return {f.attname: f.name for f in model._meta.concrete_fields}


# --- Export -------------------------------------------------------------------------------


def _resource(table: Table) -> dict:
    fields = []
    for column in table.columns:
        spec: dict[str, Any] = {"name": column.name, "type": column.kind}
        if column.format:
            spec["format"] = column.format
        spec["title"] = column.title
        spec["description"] = column.description
        constraints: dict[str, Any] = {"required": column.name in table.required}
        if column.unique:
            constraints["unique"] = True
        if column.enum:
            constraints["enum"] = list(column.enum)
        spec["constraints"] = constraints
        fields.append(spec)
    return {
        "name": table.name,
        "path": table.path,
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "description": table.description,
        "schema": {"fields": fields, "primaryKey": ["id"]},
    }


def datapackage(name: str = "casebook-directory") -> dict:
    """The datapackage.json of an HSDS 3.0 package: one tabular-data-resource per table,
    in the specification's order."""
    return {
        "name": name,
        "title": "Human Services Data Specification (HSDS) 3.0 package",
        "profile": "tabular-data-package",
        "resources": [_resource(t) for t in tables().values()],
    }


def _csv_bytes(header: list[str], rows) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def table_rows(table: Table, agency=None) -> list[list[str]]:
    """The CSV cells of `agency`'s rows (None: the shared directory) of one table, in
    schema column order, ordered by id."""
    scope = Q(agency=agency) if agency is not None else Q(agency__isnull=True)
    qs = table.model.objects.filter(scope)
    others = table.column_names[1:]
    if table.model is HsdsRecord:
        rows = [
            [format_cell(r.id)] + [r.data.get(c, "") for c in others]
            for r in qs.filter(table=table.name)
        ]
    else:
        columns = set(_model_columns(table))
        rows = [
            [format_cell(r.id)]
            + [format_cell(getattr(r, c)) if c in columns else "" for c in others]
            for r in qs
        ]
    return sorted(rows, key=lambda r: r[0])


def package_files(agency=None) -> tuple[dict[str, bytes], dict[str, int]]:
    """({file name: content}, {table: rows}) of `agency`'s directory (None: the shared
    one) as an HSDS package: every table, header only when empty."""
    files, counts = {}, {}
    for table in tables().values():
        rows = table_rows(table, agency)
        files[table.path] = _csv_bytes(table.column_names, rows)
        counts[table.name] = len(rows)
    name = f"casebook-{agency.slug}" if agency is not None else "casebook-directory"
    text = json.dumps(datapackage(name), indent=2, ensure_ascii=False) + "\n"
    files[DATAPACKAGE] = text.encode("utf-8")
    return files, counts


# A fixed time stamp: exporting twice gives the same zip, byte for byte.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def export_package(path, *, agency=None, as_zip: bool = False) -> dict[str, int]:
    """Write `agency`'s directory (None: the shared one) to `path`, a folder (made if
    missing) or, with `as_zip`, a zip file. Returns {table: rows written}."""
    files, counts = package_files(agency)
    path = Path(path)
    if as_zip:
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w") as archive:
            for name in sorted(files):
                info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, files[name])
    else:
        path.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            (path / name).write_bytes(content)
    return counts
