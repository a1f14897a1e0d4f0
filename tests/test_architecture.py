"""The floors of ARCHITECTURE.md, kept: imports between the project's top-level packages
only go down, counting imports inside functions, so no two packages depend on each other."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

GROUND = "core"
# The apps, lowest first: each may import the ones before it (and the ground floor).
APPS = [
    "audit",
    "accounts",
    "cases",
    "directory",
    "notifications",
    "plans",
    "followups",
    "referrals",
    "attachments",
    "dispatch",
    "metrics",
    "reports",
    "supervision",
    "casework",
]
TOP = "casebook"
FLOORS = [GROUND, *APPS, TOP]


def project_packages() -> set[str]:
    return {path.parent.name for path in ROOT.glob("*/__init__.py")} - {"tests", "bench"}


def imported_packages(path: Path, packages: set[str]) -> list[tuple[int, str]]:
    """(line, package) for each import of another project package in `path`, wherever the
    import statement is (module level, inside a function, under TYPE_CHECKING)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, name.split(".")[0]) for name in names]
    return [(line, package) for line, package in found if package in packages]


def upward_imports(package: str, packages: set[str]) -> list[str]:
    """Every import in `package` of a package on its own floor or above."""
    rank = FLOORS.index(package)
    wrong = []
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for line, target in imported_packages(path, packages):
            if target != package and FLOORS.index(target) >= rank:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    return wrong


class TestFloors:
    def test_every_package_has_a_floor(self):
        assert project_packages() == set(FLOORS)

    @pytest.mark.parametrize("package", FLOORS)
    def test_imports_only_go_down(self, package):
        assert upward_imports(package, set(FLOORS)) == []

    def test_it_sees_an_import_inside_a_function(self, tmp_path):
        module = tmp_path / "late.py"
        module.write_text("def f():\n    from followups import services\n    return services\n")
        assert imported_packages(module, {"followups"}) == [(2, "followups")]

    def test_it_names_an_upward_import(self, tmp_path, monkeypatch):
        (tmp_path / "cases").mkdir()
        (tmp_path / "cases" / "views.py").write_text("import followups.models\n")
        monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
        assert upward_imports("cases", {"cases", "followups"}) == [
            "cases/views.py:1 imports followups"
        ]
