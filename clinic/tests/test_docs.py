"""The repository explains itself: what docs/clinical-rules.md names exists in the code, and every rule
the code cites is defined there."""

import importlib
import re
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
RULES = ROOT / "docs" / "clinical-rules.md"
APPS = ("clinic", "patients", "treatments", "scheduling", "outbox", "consents", "photos")
# "rule `name`", "rules `a`, `b`" (a comment may continue on the next line after its "#").
CITATION = re.compile(r"\brules?\s+(?:#\s*)?(`[a-z0-9-]+`(?:[,;\s]+(?:#\s*)?`[a-z0-9-]+`)*)")
CODE_REFERENCE = re.compile(r"`((?:" + "|".join(APPS) + r")\.[A-Za-z_][\w.]*)`")


def _python_files():
    for app in (*APPS, "tests_e2e", "bench"):
        yield from (ROOT / app).rglob("*.py")


def _defined_rules() -> set[str]:
    return set(re.findall(r"^### `([a-z0-9-]+)`$", RULES.read_text(), re.M))


def _resolves(dotted: str) -> bool:
    """`app.module.name` (or `app.module`): import the longest module prefix, then look up the rest."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            if not hasattr(target, name):
                return False
            target = getattr(target, name)
        return True
    return False


def test_every_rule_the_code_cites_is_defined_in_the_clinical_rules():
    defined = _defined_rules()
    cited = {}
    for path in _python_files():
        text = path.read_text()
        for citation in CITATION.findall(text):
            for name in re.findall(r"`([a-z0-9-]+)`", citation):
                if "-" in name:
                    cited.setdefault(name, path.relative_to(ROOT))
    assert cited, "no rule citations found: the pattern no longer matches the code"
    assert {name: where for name, where in cited.items() if name not in defined} == {}


def test_every_code_reference_in_the_clinical_rules_resolves():
    names = CODE_REFERENCE.findall(RULES.read_text())
    assert names
    assert [name for name in names if not _resolves(name)] == []


def test_every_test_the_clinical_rules_name_exists():
    cited = set(re.findall(r"\b(test_\w+)`", RULES.read_text()))
    defined = set()
    for path in ROOT.rglob("test_*.py"):
        if ".venv" not in path.parts:
            defined.update(re.findall(r"^\s*def (test_\w+)", path.read_text(), re.M))
    assert cited
    assert sorted(cited - defined) == []


def test_every_docs_page_the_code_points_to_exists():
    pointed = set()
    for path in _python_files():
        pointed.update(re.findall(r"\bdocs/[\w-]+\.md\b", path.read_text()))
    assert pointed
    assert sorted(page for page in pointed if not (ROOT / page).exists()) == []
