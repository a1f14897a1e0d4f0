"""Building HSDS packages for the import tests."""

import csv
import json
from pathlib import Path

from directory import models
from directory.hsds import datapackage, tables

DATA = Path(__file__).resolve().parent / "data"
RAW_EXAMPLE = DATA / "hsds-example-raw"
EXAMPLE = Path(__file__).resolve().parents[2] / "directory" / "data" / "hsds-example"

ORG = "11111111-1111-4111-8111-111111111111"
ORG_2 = "11111111-1111-4111-8111-111111111112"
SERVICE = "22222222-2222-4222-8222-222222222221"
SERVICE_2 = "22222222-2222-4222-8222-222222222222"
LOCATION = "33333333-3333-4333-8333-333333333331"
PHONE = "44444444-4444-4444-8444-444444444441"


def organization(id=ORG, **cells):
    return {"id": id, "name": "Lane Shelter Network", "description": "Shelters.", **cells}


def service(id=SERVICE, organization_id=ORG, **cells):
    return {
        "id": id,
        "organization_id": organization_id,
        "name": "Night shelter",
        "status": "active",
        **cells,
    }


def write_package(folder: Path, tables_rows: dict[str, list[dict]], extra_resources=()):
    """An HSDS package in `folder`: one CSV per table named (columns: the union of the
    rows' keys, in first-seen order) and a datapackage.json listing them."""
    folder.mkdir(parents=True, exist_ok=True)
    descriptor = datapackage("test")
    descriptor["resources"] = [r for r in descriptor["resources"] if r["name"] in tables_rows]
    descriptor["resources"] += list(extra_resources)
    for name, rows in tables_rows.items():
        header = []
        for row in rows:
            header += [k for k in row if k not in header]
        with open(folder / tables()[name].path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=header or ["id"])
            writer.writeheader()
            writer.writerows(rows)
    (folder / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    return folder


DIRECTORY_MODELS = [
    models.Attribute,
    models.Language,
    models.Phone,
    models.Contact,
    models.Schedule,
    models.ServiceArea,
    models.Address,
    models.ServiceAtLocation,
    models.Service,
    models.Location,
    models.Organization,
    models.TaxonomyTerm,
    models.Taxonomy,
    models.HsdsRecord,
]


def directory_snapshot():
    """Every directory row's values, to show that an import changed nothing."""
    return {
        model.__name__: sorted(
            (tuple(str(v) for v in row) for row in model.objects.values_list()), key=str
        )
        for model in DIRECTORY_MODELS
    }


def empty_directory():
    """Delete every directory row (children first)."""
    for model in DIRECTORY_MODELS:
        model.objects.all().delete()


def read_folder(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
