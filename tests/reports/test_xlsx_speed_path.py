"""The XLSX as its writer (rustpy-xlsxwriter) leaves it, on PostgreSQL (cells computed in
SQL) and on SQLite (exports' Python rows): typed cells, text that never runs, Excel's
dates, and memory that stays flat. test_export_sql.py holds the two paths' sheets equal."""

import datetime
import io
import os
import zipfile
from pathlib import Path

import pytest

from accounts.models import Agency
from referrals.models import Status
from reports import export_sql, exports
from reports.report import referral_rows
from tests.accounts.factories import TeamFactory
from tests.cases.factories import CaseFactory, ClientFactory
from tests.directory.factories import OrganizationFactory, ServiceFactory
from tests.referrals.factories import ReferralFactory
from tests.reports.helpers import read_xlsx, xlsx_cell

UTC = datetime.UTC
DAY = datetime.timedelta(days=1)
# Excel's serial number of a date after February 1900: days since 1899-12-30.
EXCEL_EPOCH = datetime.datetime(1899, 12, 30)
LONG_NAME = "Shelter " + "x" * 40_000


def serial(moment: datetime.datetime) -> float:
    return (moment - EXCEL_EPOCH) / DAY


@pytest.fixture
def awkward(agency_a, dana):
    """Two referrals of agency A: one with every cell filled and formula-looking text
    wherever a name goes, one with nothing but what a new referral has."""
    team = TeamFactory(agency=agency_a, name="=SUM(1)")
    formula = ClientFactory(
        agency=agency_a,
        legal_name="=cmd|' /C calc'!A0",
        phone="+1 (541) 555-0112",
        date_of_birth=datetime.date(1900, 3, 1),
    )
    service = ServiceFactory(organization=OrganizationFactory(name=LONG_NAME), name="-Beds")
    full = ReferralFactory(
        case=CaseFactory(client=formula, assigned_worker=dana, team=team),
        created_by=dana,
        service=service,
        # 17:00:59.999999Z is 09:00:59.999999 in Los Angeles: the cell has 09:00:59.
        sent_at=datetime.datetime(2026, 1, 5, 17, 0, 59, 999999, tzinfo=UTC),
        accepted_at=datetime.datetime(2026, 1, 5, 23, 0, tzinfo=UTC),
        service_date=datetime.date(2026, 1, 8),
        closed_at=datetime.datetime(2026, 1, 8, 17, tzinfo=UTC),
        status=Status.COMPLETED,
        outcome="got_help",
    )
    old = ClientFactory(
        agency=agency_a, legal_name="Old Record", phone="", date_of_birth=datetime.date(999, 3, 4)
    )
    bare = ReferralFactory(
        case=CaseFactory(client=old, assigned_worker=dana, team=None),
        created_by=dana,
        service=None,
        provider_name="@SUM(A1)",
        sent_at=datetime.datetime(2026, 1, 6, 17, tzinfo=UTC),
        status=Status.REQUESTED,
    )
    return full, bare


def write(tmp_path, user, deidentified=False, **filters) -> bytes:
    path = tmp_path / "referrals.xlsx"
    rows = referral_rows(user, filters)
    count = export_sql.write_xlsx(
        path, rows, agency=user.agency, deidentified=deidentified, progress=None
    )
    assert count == rows.count()
    return path.read_bytes()


def sheet(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        return book.read("xl/worksheets/sheet1.xml").decode()


class TestXlsxCells:
    def test_times_are_date_cells_of_the_wall_clocks_whole_second(self, tmp_path, dana, awkward):
        data = write(tmp_path, dana)

        kind, value, number_format = xlsx_cell(data, "B2")  # sent at
        assert kind is None and number_format == "yyyy-mm-dd hh:mm:ss"
        assert float(value) == serial(datetime.datetime(2026, 1, 5, 9, 0, 59))
        kind, value, number_format = xlsx_cell(data, "K2")  # accepted at, 15:00 local
        assert float(value) == serial(datetime.datetime(2026, 1, 5, 15)) == 46027.625
        kind, value, number_format = xlsx_cell(data, "L2")  # the service date
        assert kind is None and number_format == "yyyy-mm-dd"
        assert float(value) == serial(datetime.datetime(2026, 1, 8))

    def test_dates_count_excels_29_february_1900_and_older_ones_do_not_fail(
        self, tmp_path, dana, awkward
    ):
        data = write(tmp_path, dana)

        # Excel's day 60 is the 29 February 1900 it believes in: 1 March 1900 is 61.
        kind, value, number_format = xlsx_cell(data, "R2")
        assert kind is None and float(value) == 61 and number_format == "yyyy-mm-dd"
        # Before 1900 Excel has no dates: a number below 1, which it shows as ####.
        kind, value, _ = xlsx_cell(data, "R3")
        assert kind is None
        assert float(value) == (datetime.date(999, 3, 4) - datetime.date(1899, 12, 31)).days

    def test_numbers_and_yes_no_are_typed_cells(self, tmp_path, dana, awkward):
        full, bare = awkward
        data = write(tmp_path, dana)

        kind, value, _ = xlsx_cell(data, "A2")
        assert kind is None and float(value) == full.pk
        assert xlsx_cell(data, "N2")[1] == "0.2"  # days to acceptance: 5 h 59 min
        assert float(xlsx_cell(data, "O2")[1]) == 3  # days to first service
        assert xlsx_cell(data, "P2")[:2] == ("b", "1") and xlsx_cell(data, "P3")[:2] == ("b", "0")
        # What a referral does not have yet is no cell at all, not an empty text.
        assert '<c r="K3"' not in sheet(data) and '<c r="G3"' not in sheet(data)

    def test_formula_looking_text_stays_text_as_typed(self, tmp_path, dana, awkward):
        data = write(tmp_path, dana)
        full, bare = read_xlsx(data)

        assert "<f>" not in sheet(data)
        assert xlsx_cell(data, "G2")[0] == "inlineStr" and full["Team"] == "=SUM(1)"
        assert full["Client name"] == "=cmd|' /C calc'!A0"
        assert full["Client phone"] == "+1 (541) 555-0112"
        assert full["Service"] == "-Beds"
        assert bare["Service"] == "@SUM(A1)"

    def test_text_past_excels_limit_is_cut_not_refused(self, tmp_path, dana, awkward):
        data = write(tmp_path, dana)

        organization = read_xlsx(data)[0]["Organization"]
        assert len(organization) == exports.XLSX_TEXT_MAX == 32767
        assert LONG_NAME.startswith(organization)

    def test_a_file_with_no_rows_has_its_header(self, tmp_path, dana, awkward):
        data = write(tmp_path, dana, True, sent_from="2030-01-01")

        assert read_xlsx(data) == []
        kind, _, _ = xlsx_cell(data, "Q1")
        assert kind == "inlineStr" and "Client key" in sheet(data)
        assert '<pane ySplit="1"' in sheet(data)  # the header row stays in view

    def test_the_writers_temporary_files_go_beside_the_file(
        self, tmp_path, dana, awkward, monkeypatch
    ):
        monkeypatch.setattr(exports, "PROGRESS_EVERY", 1)
        monkeypatch.setenv("TMPDIR", "/elsewhere")
        seen = []
        folder = tmp_path / "exports"
        folder.mkdir()

        export_sql.write_xlsx(
            folder / "referrals.xlsx",
            referral_rows(dana, {}),
            agency=dana.agency,
            deidentified=True,
            progress=lambda done: seen.append((done, os.environ["TMPDIR"])),
        )

        assert seen == [(1, str(folder)), (2, str(folder))]
        assert os.environ["TMPDIR"] == "/elsewhere"
        assert [path.name for path in folder.iterdir()] == ["referrals.xlsx"]

    def test_openpyxl_reads_dates_numbers_and_text(self, tmp_path, dana, awkward):
        openpyxl = pytest.importorskip("openpyxl")
        write(tmp_path, dana)

        book = openpyxl.load_workbook(tmp_path / "referrals.xlsx", read_only=True)
        header, full, bare = book.worksheets[0].iter_rows(values_only=True)

        cells = dict(zip(header, full, strict=True))
        assert cells["Sent at (Los Angeles time)"] == datetime.datetime(2026, 1, 5, 9, 0, 59)
        assert cells["Service date"] == datetime.datetime(2026, 1, 8)
        assert cells["Referral ID"] == awkward[0].pk and cells["Days to acceptance"] == 0.2
        assert cells["Loop closed"] is True and cells["Team"] == "=SUM(1)"


def synthetic_rows(n):
    now = datetime.datetime(2026, 1, 5, 9, tzinfo=UTC)
    for i in range(n):
        yield [
            i, now, "Completed", "Got help", "Housing and shelter", "Routine", "Mobile crisis 1",
            "Alice Worker", "Shelter Network", f"Emergency shelter {i}", now, now.date(), now,
            1.5, 3, True, "José Núñez", now.date(), "541-555-0100",
        ]  # fmt: skip


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.mark.slow
@pytest.mark.skipif(not os.access("/proc/self/clear_refs", os.W_OK), reason="Linux's peak RSS")
class TestXlsxConstantMemory:
    ROWS = 200_000
    LIMIT_MB = 40

    def test_the_writer_holds_one_row_at_a_time(self, tmp_path):
        # The writer's memory is Rust's, out of tracemalloc's sight: the process's peak
        # RSS, reset first ("5" to clear_refs), grows by far less than the sheet's data.
        header = exports.columns(False, agency=Agency(timezone="America/Los_Angeles"))
        Path("/proc/self/clear_refs").write_text("5")
        before = peak_rss_mb()

        written = exports.write_xlsx(tmp_path / "big.xlsx", header, synthetic_rows(self.ROWS))

        assert written == self.ROWS
        assert peak_rss_mb() - before < self.LIMIT_MB
        assert (tmp_path / "big.xlsx").stat().st_size > 20 * self.ROWS
