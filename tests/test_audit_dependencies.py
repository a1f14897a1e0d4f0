"""bin/audit-dependencies: a known vulnerability fails the run; a package the advisory
service could not be asked about is reported as not checked, never as clean."""

import json
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "bin" / "audit-dependencies"


@pytest.fixture(scope="module")
def audit():
    loader = SourceFileLoader("audit_dependencies", str(SCRIPT))
    module = module_from_spec(spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


def pip_report(*dependencies):
    return json.dumps({"dependencies": list(dependencies), "fixes": []})


DJANGO_CHECKED = {"name": "django", "version": "5.2.19", "vulns": []}
DJANGO_VULNERABLE = {
    "name": "django",
    "version": "5.2.19",
    "vulns": [{"id": "PYSEC-2026-1", "fix_versions": ["5.2.20"], "description": "..."}],
}
DJANGO_SKIPPED = {
    "name": "django",
    "skip_reason": "Dependency not found on PyPI and could not be audited: django (5.2.19)",
}
NPM_CLEAN = {
    "auditReportVersion": 2,
    "vulnerabilities": {},
    "metadata": {
        "vulnerabilities": {"low": 0, "moderate": 0, "high": 0, "critical": 0, "total": 0},
        "dependencies": {"total": 12},
    },
}
NPM_VULNERABLE = {
    "auditReportVersion": 2,
    "vulnerabilities": {"htmx.org": {"severity": "high", "range": "<2.0.3"}},
    "metadata": {
        "vulnerabilities": {"low": 0, "moderate": 0, "high": 1, "critical": 0, "total": 1},
        "dependencies": {"total": 12},
    },
}
NPM_UNREACHABLE = {
    "message": "405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/...",
    "statusCode": 405,
}


def outcome(audit, capsys, monkeypatch, pip_output, npm_output):
    answers = {"pip-audit": pip_output, "npm": npm_output}
    monkeypatch.setattr(audit, "run", lambda command: answers[Path(command[0]).name])
    status = audit.main()
    return status, capsys.readouterr().out


class TestAuditDependencies:
    def test_a_known_vulnerability_fails_the_run_and_names_the_fix(
        self, audit, capsys, monkeypatch
    ):
        status, out = outcome(
            audit, capsys, monkeypatch, pip_report(DJANGO_VULNERABLE), json.dumps(NPM_CLEAN)
        )
        assert status == 1
        assert "VULNERABLE (pip-audit): django 5.2.19: PYSEC-2026-1 (fixed in 5.2.20)" in out

    def test_an_npm_advisory_fails_the_run(self, audit, capsys, monkeypatch):
        status, out = outcome(
            audit, capsys, monkeypatch, pip_report(DJANGO_CHECKED), json.dumps(NPM_VULNERABLE)
        )
        assert status == 1
        assert "VULNERABLE (npm audit): htmx.org <2.0.3: high" in out

    def test_packages_it_could_not_ask_about_are_not_called_clean(self, audit, capsys, monkeypatch):
        # pip-audit itself prints "No known vulnerabilities found" when it skipped them all.
        status, out = outcome(
            audit, capsys, monkeypatch, pip_report(DJANGO_SKIPPED), json.dumps(NPM_UNREACHABLE)
        )
        assert status == 0
        assert "WARNING (pip-audit): 1 package(s) NOT CHECKED" in out
        assert "django" in out
        assert "WARNING (npm audit): NOTHING CHECKED" in out
        assert "no known vulnerab" not in out.lower()

    def test_a_tool_that_gives_no_report_is_a_warning_not_a_pass(self, audit, capsys, monkeypatch):
        status, out = outcome(audit, capsys, monkeypatch, "", "")
        assert status == 0
        assert "WARNING (pip-audit): NOTHING CHECKED" in out
        assert "WARNING (npm audit): NOTHING CHECKED" in out
        assert "no known vulnerab" not in out.lower()

    def test_only_what_was_checked_is_called_clean(self, audit, capsys, monkeypatch):
        status, out = outcome(
            audit,
            capsys,
            monkeypatch,
            pip_report(DJANGO_CHECKED, {**DJANGO_SKIPPED, "name": "celery"}),
            json.dumps(NPM_CLEAN),
        )
        assert status == 0
        assert "pip-audit: no known vulnerability in the 1 package(s) checked" in out
        assert "WARNING (pip-audit): 1 package(s) NOT CHECKED" in out
        assert "npm audit: no known vulnerability in the 12 package(s) checked" in out
