"""The words of the seed schema: every enum, defined once and read by everything else."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "DONE_STEP_STATUSES",
    "FINISHED_STATUSES",
    "TYPICAL_DAYS",
    "AssumptionStatus",
    "CheckpointFrequency",
    "ExecutionMode",
    "OutcomeResult",
    "Priority",
    "RunStatus",
    "SourceType",
    "StepStatus",
    "StepType",
    "TrackStatus",
    "TrackType",
    "parse_choice",
]


class TrackStatus(StrEnum):
    DRAFT = "draft"
    READY = "ready"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ARCHIVED = "archived"


class TrackType(StrEnum):
    ONBOARDING = "onboarding"
    FEATURE = "feature"
    BUGFIX = "bugfix"
    REFACTOR = "refactor"
    MIGRATION = "migration"
    TESTING = "testing"
    DOCUMENTATION = "documentation"
    SECURITY = "security"
    PERFORMANCE = "performance"
    MAINTENANCE = "maintenance"
    LEARNING = "learning"
    EXPLORATION = "exploration"
    CUSTOM = "custom"


class Priority(StrEnum):
    P0 = "P0"
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"


class StepType(StrEnum):
    ACTION = "action"
    DECISION = "decision"
    REVIEW = "review"
    APPROVAL = "approval"
    WAIT = "wait"
    PARALLEL = "parallel"
    CONDITIONAL = "conditional"
    LOOP = "loop"
    CHECKPOINT = "checkpoint"


class StepStatus(StrEnum):
    PENDING = "pending"
    READY = "ready"
    IN_PROGRESS = "in-progress"
    WAITING = "waiting"
    COMPLETED = "completed"
    SKIPPED = "skipped"
    FAILED = "failed"
    BLOCKED = "blocked"


class AssumptionStatus(StrEnum):
    OPEN = "open"
    VALIDATED = "validated"
    INVALIDATED = "invalidated"


class RunStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class ExecutionMode(StrEnum):
    INTERACTIVE = "interactive"
    AUTONOMOUS = "autonomous"
    SEMI_AUTONOMOUS = "semi-autonomous"


class CheckpointFrequency(StrEnum):
    NEVER = "never"
    PER_STEP = "per-step"
    PER_MILESTONE = "per-milestone"
    HOURLY = "hourly"


class OutcomeResult(StrEnum):
    SUCCESS = "success"
    PARTIAL = "partial"
    FAILED = "failed"
    CANCELLED = "cancelled"


class SourceType(StrEnum):
    ANALYSIS = "analysis"
    USER_CREATED = "user-created"
    TEMPLATE = "template"
    SUGGESTION = "suggestion"
    WORKFLOW = "workflow"
    IMPORTED = "imported"
    AUTO_GENERATED = "auto-generated"


# Step statuses that count as done for progress.
DONE_STEP_STATUSES = frozenset({StepStatus.COMPLETED, StepStatus.SKIPPED})

# A track in one of these takes no more work: no new steps, step changes or runs. (A
# failed track is not here: it can be retried.)
FINISHED_STATUSES = frozenset({TrackStatus.COMPLETED, TrackStatus.CANCELLED, TrackStatus.ARCHIVED})

# Typical durations in days from the seed's table of track types (low, high); custom has none.
TYPICAL_DAYS: dict[TrackType, tuple[int, int] | None] = {
    TrackType.ONBOARDING: (1, 3),
    TrackType.FEATURE: (3, 14),
    TrackType.BUGFIX: (1, 5),
    TrackType.REFACTOR: (2, 7),
    TrackType.MIGRATION: (5, 21),
    TrackType.TESTING: (2, 7),
    TrackType.DOCUMENTATION: (1, 5),
    TrackType.SECURITY: (3, 14),
    TrackType.PERFORMANCE: (3, 10),
    TrackType.MAINTENANCE: (1, 3),
    TrackType.LEARNING: (1, 7),
    TrackType.EXPLORATION: (1, 14),
    TrackType.CUSTOM: None,
}


def parse_choice(enum: type[StrEnum], value: str, what: str) -> StrEnum:
    """Return ``enum(value)`` or raise InvalidInput listing the accepted values."""
    from .errors import InvalidInput

    try:
        return enum(value)
    except ValueError:
        from .grammar import suggest  # only on a mistake

        choices = [member.value for member in enum]
        hint = suggest(str(value), choices)
        if hint.startswith(": did"):
            raise InvalidInput(f"{what} {value!r}{hint}") from None
        raise InvalidInput(f"{what} must be one of: {', '.join(choices)} (got {value!r})") from None
