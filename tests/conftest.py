"""Shared fixtures: a fresh root per test, the original tool's fixture tree, a fake clock."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conductor_nb.engine import Engine

FIXTURE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "seed-conductor"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / ".claude" / "conductor"


@pytest.fixture
def engine(root: Path) -> Engine:
    return Engine(root)


@pytest.fixture
def seed_root(tmp_path: Path) -> Path:
    """A copy of the tree the original Node.js tool wrote (its conductor/ folder)."""
    if not FIXTURE.is_dir():
        pytest.skip(f"fixture tree not found at {FIXTURE}")
    target = tmp_path / "seed" / "conductor"
    shutil.copytree(FIXTURE / "conductor", target)
    return target


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
