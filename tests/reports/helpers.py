import csv
import io
import re
import zipfile
from xml.etree import ElementTree

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def read_csv(data: bytes) -> list[dict]:
    """The rows of a CSV export, checking it starts with the UTF-8 BOM."""
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def read_xlsx(data: bytes) -> list[dict]:
    """The first sheet's rows as dicts by header (values as text). Uses openpyxl when it
    is installed; else reads the sheet's XML (XlsxWriter's constant_memory mode writes
    inline strings)."""
    try:
        import openpyxl
    except ImportError:
        return _read_sheet_xml(data)
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    rows = [
        [("" if v is None else str(v)) for v in row] for row in sheet.iter_rows(values_only=True)
    ]
    return [dict(zip(rows[0], row, strict=False)) for row in rows[1:]]


def _read_sheet_xml(data: bytes) -> list[dict]:
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        assert "xl/worksheets/sheet1.xml" in book.namelist()
        root = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))  # noqa: S314
    rows = []
    for row in root.iterfind(".//m:sheetData/m:row", NS):
        values = {}
        for cell in row.iterfind("m:c", NS):
            column = re.match(r"[A-Z]+", cell.get("r", ""))
            assert column is not None
            text = cell.find("m:is/m:t", NS)
            stored = text if text is not None else cell.find("m:v", NS)
            assert stored is not None
            values[column.group()] = stored.text or ""
        rows.append(values)
    header = rows[0]
    return [{header[col]: row.get(col, "") for col in header} for row in rows[1:]]


def xlsx_cell(data: bytes, ref: str) -> tuple[str | None, str | None, str | None]:
    """One cell of the first sheet as Excel stores it: (its type attribute, None for a
    number or a date; the stored value; the number format its style gives it)."""
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        sheet = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))  # noqa: S314
        styles = ElementTree.fromstring(book.read("xl/styles.xml"))  # noqa: S314
    cell = sheet.find(f".//m:c[@r='{ref}']", NS)
    assert cell is not None, f"no cell {ref}"
    value = cell.find("m:v", NS)
    style = styles.findall("m:cellXfs/m:xf", NS)[int(cell.get("s", 0))]
    formats = {f.get("numFmtId"): f.get("formatCode") for f in styles.iterfind(".//m:numFmt", NS)}
    return (
        cell.get("t"),
        value.text if value is not None else "",
        formats.get(style.get("numFmtId"), ""),
    )
