"""The layout rules of DESIGN §2 hold: import-linter contracts, and the docs name every setting and command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from survey.settings import setting_names

ROOT = Path(__file__).resolve().parents[1]


def test_dependency_direction_contracts_hold():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken" in result.stdout


def test_readme_documents_every_setting():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in setting_names() if name not in readme]
    assert not missing, f"README.md does not document: {missing}"


def test_readme_documents_every_cli_command():
    from survey.cli import COMMANDS, build_parser

    build_parser()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in COMMANDS if f"hailong {name}" not in readme]
    assert not missing, f"README.md does not document: {missing}"


def test_readme_starts_with_the_two_commands():
    head = (ROOT / "README.md").read_text(encoding="utf-8")[:1500]
    assert "make run" in head and "make test" in head
