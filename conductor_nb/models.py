"""Pydantic models of everything on disk: the seed's track schema (every field and enum),
the registry, decisions, assumptions and workflow runs.

Every model keeps fields it does not declare (``extra="allow"``), so a file written by the
original tool, or by a newer version of ours, survives a read-modify-write.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from .vocab import (
    AssumptionStatus,
    CheckpointFrequency,
    ExecutionMode,
    OutcomeResult,
    Priority,
    RunStatus,
    SourceType,
    StepStatus,
    StepType,
    TrackStatus,
    TrackType,
)

__all__ = [
    "Artifact",
    "Assumption",
    "Branch",
    "Decision",
    "Display",
    "EntryProgress",
    "Execution",
    "HistoryEvent",
    "Lease",
    "Metrics",
    "Outcomes",
    "Progress",
    "Registry",
    "RegistryEntry",
    "RegistryMetadata",
    "Run",
    "RunOutcome",
    "Source",
    "Step",
    "StepAction",
    "StepError",
    "StepInput",
    "StepOutput",
    "StepRetry",
    "StepTiming",
    "StepValidation",
    "StepsStatus",
    "Timestamp",
    "Track",
    "TrackContext",
    "TrackMetadata",
    "track_json_schema",
]


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


Timestamp = Annotated[datetime, PlainSerializer(_iso, return_type=str, when_used="json")]
"""An aware datetime, written as the original tool writes it: ``2026-01-15T10:00:00.000Z``."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, use_enum_values=False)

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON document, without the optional fields that were never set."""
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)


# -- track -----------------------------------------------------------------------------


class Source(_Model):
    type: SourceType | None = None
    analysis_id: str | None = None
    template_id: str | None = None
    suggestion_id: str | None = None
    created_by: str | None = None


class TrackContext(_Model):
    goal: str = ""
    success_criteria: list[str] = Field(default_factory=list)
    target_files: list[str] = Field(default_factory=list)
    target_directories: list[str] | None = None
    prerequisites: list[str] = Field(default_factory=list)
    blocks: list[str] | None = None
    related_tracks: list[str] | None = None


class Branch(_Model):
    condition: str
    next_step: str


class StepAction(_Model):
    type: (
        Annotated[
            str,
            Field(
                pattern="^(spawn-agent|run-workflow|run-command|edit-file|create-file|review"
                "|manual|wait-for-input|conditional-branch)$"
            ),
        ]
        | None
    ) = None
    agent: str | None = None
    workflow: str | None = None
    command: str | None = None
    task_template: dict[str, Any] | None = None
    condition: str | None = None
    branches: list[Branch] | None = None


_IO_TYPE = "^(string|number|boolean|file|artifact|decision)$"


class StepInput(_Model):
    name: str
    type: Annotated[str, Field(pattern=_IO_TYPE)]
    required: bool = True
    from_step: str | None = None
    default_value: Any = None


class StepOutput(_Model):
    name: str
    type: Annotated[str, Field(pattern=_IO_TYPE)]
    path: str | None = None


class StepValidation(_Model):
    required: bool = True
    type: Annotated[str, Field(pattern="^(auto|manual|gate|schema)$")] | None = None
    schema_ref: str | None = None
    gate_ref: str | None = None
    success_criteria: list[str] | None = None


class StepTiming(_Model):
    estimated_duration_minutes: Annotated[int, Field(ge=1)] | None = None
    started_at: Timestamp | None = None
    completed_at: Timestamp | None = None
    actual_duration_ms: Annotated[int, Field(ge=0)] | None = None
    timeout_minutes: Annotated[int, Field(ge=1)] | None = None


class StepRetry(_Model):
    max_attempts: Annotated[int, Field(ge=1)] = 3
    current_attempt: Annotated[int, Field(ge=1)] | None = None
    backoff_strategy: Annotated[str, Field(pattern="^(none|linear|exponential)$")] | None = None


class StepError(_Model):
    message: str | None = None
    code: str | None = None
    occurred_at: Timestamp | None = None
    recoverable: bool | None = None


class Step(_Model):
    step_id: Annotated[str, Field(pattern=r"^step-[a-z0-9-]+$")]
    name: Annotated[str, Field(max_length=100)]
    description: Annotated[str, Field(max_length=500)] | None = None
    type: StepType
    status: StepStatus
    order: Annotated[int, Field(ge=0)] | None = None
    action: StepAction | None = None
    inputs: list[StepInput] | None = None
    outputs: list[StepOutput] | None = None
    validation: StepValidation | None = None
    timing: StepTiming | None = None
    retry: StepRetry | None = None
    notes: str | None = None
    error: StepError | None = None


class StepsStatus(_Model):
    pending: Annotated[int, Field(ge=0)] = 0
    completed: Annotated[int, Field(ge=0)] = 0
    failed: Annotated[int, Field(ge=0)] = 0
    skipped: Annotated[int, Field(ge=0)] = 0


class Progress(_Model):
    current_step: Annotated[int, Field(ge=0)] = 0
    current_step_id: str | None = None
    completed_steps: Annotated[int, Field(ge=0)] = 0
    # The schema says >= 1, but every track the original tool writes has 0: accept it.
    total_steps: Annotated[int, Field(ge=0)] = 0
    percentage: Annotated[float, Field(ge=0, le=100)] = 0
    steps_status: StepsStatus | None = None


class Execution(_Model):
    mode: ExecutionMode = ExecutionMode.INTERACTIVE
    auto_advance: bool = False
    pause_on_failure: bool = True
    require_approval: bool | None = None
    parallel_limit: Annotated[int, Field(ge=1)] | None = None
    checkpoint_frequency: CheckpointFrequency | None = None


class Outcomes(_Model):
    result: OutcomeResult | None = None
    artifacts_created: list[str] = Field(default_factory=list)
    files_modified: list[str] = Field(default_factory=list)
    suggestions_generated: list[str] = Field(default_factory=list)
    next_tracks: list[str] = Field(default_factory=list)
    summary: str = ""
    lessons_learned: list[str] = Field(default_factory=list)


class Metrics(_Model):
    total_duration_ms: Annotated[int, Field(ge=0)] | None = None
    active_duration_ms: Annotated[int, Field(ge=0)] | None = None
    pause_count: Annotated[int, Field(ge=0)] | None = None
    retry_count: Annotated[int, Field(ge=0)] | None = None
    agents_used: list[str] | None = None
    tokens_consumed: Annotated[int, Field(ge=0)] | None = None
    snapshots_created: Annotated[int, Field(ge=0)] | None = None


class Display(_Model):
    icon: str | None = None
    color: str | None = None
    group: str | None = None
    collapsed: bool = False


class TrackMetadata(_Model):
    manager_version: str | None = None
    project_id: str | None = None
    session_id: str | None = None
    tags: list[str] | None = None
    labels: dict[str, str] | None = None
    notes: str | None = None


class HistoryEvent(_Model):
    """One lifecycle transition; ``from`` is None for the creation event."""

    from_status: TrackStatus | None = Field(default=None, alias="from")
    to: TrackStatus
    at: Timestamp
    reason: str | None = None
    actor: str | None = None


class Track(_Model):
    """A track: the seed's schema plus ``history`` (every transition, kept forever)."""

    track_id: Annotated[str, Field(pattern=r"^track-[a-z0-9-]+$")]
    name: str
    description: Annotated[str, Field(max_length=1000)] | None = None
    type: TrackType
    status: TrackStatus
    priority: Priority = Priority.P2
    created_at: Timestamp
    updated_at: Timestamp | None = None
    started_at: Timestamp | None = None
    completed_at: Timestamp | None = None
    ready_at: Timestamp | None = None
    paused_at: Timestamp | None = None
    pause_reason: str | None = None
    resumed_at: Timestamp | None = None
    failed_at: Timestamp | None = None
    failure_reason: str | None = None
    cancelled_at: Timestamp | None = None
    cancel_reason: str | None = None
    archived_at: Timestamp | None = None
    last_checkpoint: str | None = None
    last_checkpoint_at: Timestamp | None = None
    source: Source | None = None
    context: TrackContext = Field(default_factory=TrackContext)
    steps: list[Step] = Field(default_factory=list)
    progress: Progress = Field(default_factory=Progress)
    execution: Execution = Field(default_factory=Execution)
    outcomes: Outcomes | None = None
    metrics: Metrics | None = None
    display: Display | None = None
    metadata: TrackMetadata | None = None
    history: list[HistoryEvent] = Field(default_factory=list)
    parent_track: str | None = None  # a sub-track's parent (ours; see hierarchy)
    # the track's estimate (ours, named as a step's timing names it; see estimates)
    estimated_duration_minutes: Annotated[int, Field(ge=1)] | None = None


# -- registry --------------------------------------------------------------------------


class EntryProgress(_Model):
    current_step: int = 0
    completed_steps: int = 0
    total_steps: int = 0
    percentage: float = 0


class RegistryEntry(_Model):
    track_id: str
    name: str
    type: TrackType
    status: TrackStatus
    priority: Priority = Priority.P2
    created_at: Timestamp
    updated_at: Timestamp | None = None
    started_at: Timestamp | None = None
    completed_at: Timestamp | None = None
    path: str | None = None
    progress: EntryProgress = Field(default_factory=EntryProgress)
    last_checkpoint: str | None = None
    parent_track: str | None = None
    estimated_duration_minutes: int | None = None


class RegistryMetadata(_Model):
    total_tracks: int = 0
    active_count: int = 0
    completed_count: int = 0
    last_updated: Timestamp | None = None


class Registry(_Model):
    version: str = "1.0"
    active_track: str | None = None
    tracks: dict[str, RegistryEntry] = Field(default_factory=dict)
    metadata: RegistryMetadata = Field(default_factory=RegistryMetadata)


# -- context and runs ------------------------------------------------------------------


class Decision(_Model):
    id: str
    timestamp: Timestamp
    summary: str
    rationale: str | None = None
    alternatives: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    actor: str | None = None


class Assumption(_Model):
    id: str
    timestamp: Timestamp
    statement: str
    status: AssumptionStatus = AssumptionStatus.OPEN
    note: str | None = None
    updated_at: Timestamp | None = None
    actor: str | None = None


class Artifact(_Model):
    name: str
    size: int
    sha256: str
    modified_at: Timestamp | None = None


class Lease(_Model):
    pid: int
    host: str
    process_start: str | None = None
    since: Timestamp | None = None


class RunOutcome(_Model):
    result: RunStatus
    error_type: str | None = None
    message: str | None = None


class Run(_Model):
    run_id: str
    track_id: str
    name: str
    workflow: str | None = None
    status: RunStatus
    created_at: Timestamp
    updated_at: Timestamp | None = None
    started_at: Timestamp | None = None
    finished_at: Timestamp | None = None
    heartbeat_at: Timestamp | None = None
    duration_ms: int | None = None
    outcome: RunOutcome | None = None
    holder: Lease | None = None
    # Written by tracked runs (conductor_nb.tracking); the original tool has none of them.
    parent_run_id: str | None = None
    parent_track_id: str | None = None
    params: dict[str, Any] | None = None
    metrics: dict[str, float] | None = None  # the latest value of each, once finished
    artifacts: list[Artifact] | None = None


def track_json_schema() -> dict[str, Any]:
    """The JSON Schema of a track as this package reads and writes it."""
    return Track.model_json_schema(by_alias=True, mode="serialization")
