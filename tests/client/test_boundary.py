"""The trust boundary, made checkable: the client imports nothing from the vault or the pipeline.

A notebook user's kernel must never load vault code (it could open raw data or the
ledger if file permissions ever slipped) and ``import lab`` must stay cheap. These tests
read the client's source for imports and run fresh interpreters to see what loads.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import lab.client

CLIENT_DIR = Path(lab.client.__file__).parent
#: The only first-party modules the client may import: itself and the dependency-free error base.
ALLOWED_FIRST_PARTY = ("lab.client", "lab.errors")
FIRST_PARTY = ("lab", "synth")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: use absolute imports"
            names.append(node.module or "")
    return names


def test_client_source_imports_nothing_from_the_vault_or_synth():
    files = sorted(CLIENT_DIR.glob("*.py"))
    assert {f.name for f in files} >= {"connection.py", "errors.py", "query.py", "display.py", "twins.py"}
    offenders = [(f.name, name) for f in files for name in _imports(f)
                 if name.split(".")[0] in FIRST_PARTY
                 and not any(name == ok or name.startswith(ok + ".") for ok in ALLOWED_FIRST_PARTY)]
    assert offenders == []


def test_lab_package_init_only_reexports_lazily():
    source = (CLIENT_DIR.parent / "__init__.py").read_text(encoding="utf-8")
    imported = _imports(CLIENT_DIR.parent / "__init__.py")
    assert imported == ["__future__", "importlib", "typing"]
    assert "lab.client" in source


def _loaded_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True, cwd=CLIENT_DIR.parent.parent)
    return set(out.stdout.split())


def _heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[0] in ("synth", "sdv", "opendp", "sqlalchemy", "torch", "pydantic")
            or m.startswith("lab.vault") or m in ("lab.twins", "lab.settings", "lab.policies")}


def test_import_lab_is_cheap():
    loaded = _loaded_after("import lab")
    assert _heavy(loaded) == set()
    assert not {"pandas", "requests", "polars", "lab.client"} & loaded


def test_the_client_in_use_loads_no_vault_code():
    loaded = _loaded_after(
        "import lab\n"
        "q = lab.query('welfare').mean('household_income', bounds=(0, 100_000)).where('age', '>=', 66).by('region')\n"
        "q.to_spec(epsilon=0.2)\n"
        "c = lab.Connection(url='http://127.0.0.1:9/', token='t')\n"
        "lab.client.display.budgets_frame([])\n")
    assert "lab.client" in loaded and "requests" in loaded
    assert _heavy(loaded) == set()


def test_dir_lists_the_client_names():
    import lab

    assert {"datasets", "query", "load_twin", "budget", "history", "OverBudget"} <= set(dir(lab))
    assert set(lab.__all__) == set(lab.client.__all__)


def test_lab_reexports_exactly_the_clients_public_names():
    import lab
    import lab.client

    assert sorted(lab.__all__) == sorted(lab.client.__all__)
