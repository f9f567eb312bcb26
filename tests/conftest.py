"""Shared fixtures: a fresh root per test, the original tool's fixture tree, a fake clock,
and the run's seed for randomised tests."""

from __future__ import annotations

import os
import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conductor_nb.engine import Engine

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "seed-conductor"
SEED_ENV = "CONDUCTOR_TEST_SEED"


def _run_seed() -> int:
    raw = os.environ.get(SEED_ENV, "").strip()
    if not raw:
        return random.SystemRandom().randrange(10**6)
    try:
        return int(raw)
    except ValueError:
        raise pytest.UsageError(f"{SEED_ENV} must be an integer, not {raw!r}") from None


# One seed for the whole run, shown in the header: set it to replay a run's random choices.
RUN_SEED = _run_seed()


def pytest_report_header() -> str:
    return f"{SEED_ENV}={RUN_SEED} (set it to replay the randomised tests)"


@pytest.fixture(scope="session")
def run_seed() -> int:
    """The seed of every randomised (non-Hypothesis) test of this run."""
    return RUN_SEED


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / ".claude" / "conductor"


@pytest.fixture
def engine(root: Path) -> Engine:
    return Engine(root)


@pytest.fixture
def seed_root(tmp_path: Path) -> Path:
    """A copy of the tree the original Node.js tool wrote (its conductor/ folder)."""
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
