"""Shared by the tests that keep one broken file per kind of error (tests/flows/,
tests/data_files/): each file's first line is `# error: <the exact message>`."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def at_project_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # messages name paths relative to where the command runs


def expected_message(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# error: "), f"{path} must start with '# error: <message>'"
    return first.removeprefix("# error: ")
