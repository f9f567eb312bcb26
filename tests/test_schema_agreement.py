"""The track schema is written in three places: the pydantic models (``models``), the
dict builders (``tracks``) and the fields the analytics decode (``analytics.reading``).
These tests compare their key sets, so a field added to one and not the others fails
here until it is added to the rest or to one of the commented lists of what each place
deliberately leaves out."""

from __future__ import annotations

from pydantic import BaseModel

from conductor_nb import models, tracks
from conductor_nb.analytics.extracts import Extracts
from conductor_nb.analytics.reading import DOC_KEYS, TrackFields
from conductor_nb.vocab import TrackStatus

NOW = "2026-01-15T10:00:00.000Z"


def _fields(model: type[BaseModel]) -> set[str]:
    """A model's keys as they are on disk (``from``, not ``from_status``)."""
    return {field.alias or name for name, field in model.model_fields.items()}


def _new_track() -> dict:
    """A track with every optional argument of ``new_track`` given."""
    return tracks.new_track(
        "track-schema",
        "Schema",
        type="feature",
        priority="P2",
        goal="goal",
        now=NOW,
        actor="tester",
        description="description",
        success_criteria=["criterion"],
        tags=["tag"],
    )


def _stamped() -> set[str]:
    """Every key ``apply_transition`` may add to a new track, over every move."""
    added: set[str] = set()
    for source in TrackStatus:
        for target in TrackStatus:
            track = _new_track()
            tracks.apply_transition(
                track, source.value, target.value, now=NOW, actor="tester", reason="why"
            )
            added |= set(track)
    return added - set(_new_track())


TRACK_MODEL = _fields(models.Track)
BUILT = set(_new_track())
STAMPED = _stamped()
WRITTEN = TRACK_MODEL | BUILT | STAMPED
READ = set(TrackFields.__struct_fields__)

# Track fields that new_track does not write, because something else does later.
NOT_IN_NEW_TRACK = {
    "started_at",  # the transitions stamp these (apply_transition)
    "completed_at",
    "paused_at",
    "pause_reason",
    "resumed_at",
    "ready_at",
    "failed_at",
    "failure_reason",
    "cancelled_at",
    "cancel_reason",
    "archived_at",
    "last_checkpoint",  # the checkpoints set these two
    "last_checkpoint_at",
    "outcomes",  # set when the track closes
    "metrics",  # computed when the track is read (compute_metrics); retries count there
    "display",  # the original tool's display hints: read and kept, never written by us
    "parent_track",  # set when a track becomes a sub-track (create --parent, update --parent)
    "estimated_duration_minutes",  # set by create --estimate and `estimate` (estimates)
}

# Keys written to track.json that the analytics do not decode (msgspec skips them).
NOT_READ_BY_ANALYTICS = {
    "track_id",  # the registry's key names the track
    "description",
    "source",
    "context",
    "progress",  # counted from the steps instead
    "execution",
    "metrics",  # recomputed from the history
    "display",
    "metadata",
    "last_checkpoint",  # checkpoints are counted from their folder
    "last_checkpoint_at",
    "paused_at",  # the history has every pause, resume and readiness
    "pause_reason",
    "resumed_at",
    "ready_at",
    "archived_at",
    "failure_reason",
    "cancel_reason",
    "parent_track",  # the hierarchy is read from the registry entries
    "estimated_duration_minutes",  # analytics.estimate_frames reads it from track.json
}

# Keys of track.json the analytics read that the registry entry cannot stand in for.
NOT_IN_REGISTRY_ENTRY = {
    "failed_at",  # the entry mirrors only started_at and completed_at
    "cancelled_at",
}


def test_new_track_writes_the_model_s_fields_but_those_set_later() -> None:
    assert not BUILT - TRACK_MODEL, "new_track writes a field the Track model lacks"
    assert TRACK_MODEL - BUILT == NOT_IN_NEW_TRACK


def test_the_transitions_stamp_only_fields_the_model_declares() -> None:
    assert not STAMPED - TRACK_MODEL, "a transition writes a field the Track model lacks"
    assert STAMPED & TRACK_MODEL <= NOT_IN_NEW_TRACK  # stamped later, as that list says


def test_the_analytics_read_written_fields_and_skip_only_the_listed_ones() -> None:
    assert not READ - WRITTEN, "the analytics read a field nothing writes"
    assert WRITTEN - READ == NOT_READ_BY_ANALYTICS


def test_registry_entry_model_and_builder_have_the_same_keys() -> None:
    track = _new_track()
    for key in tracks.ENTRY_FIELDS:  # give the builder every field the entry mirrors
        track[key] = NOW if key.endswith("_at") else "checkpoint-001"
    entry = tracks.registry_entry(track, None)
    assert set(entry) == _fields(models.RegistryEntry)
    assert set(entry["progress"]) == _fields(models.EntryProgress) == set(tracks.ENTRY_PROGRESS)


def test_the_registry_entry_stands_in_for_the_keys_the_analytics_read() -> None:
    """Where track.json lacks one of DOC_KEYS, loading takes the registry entry's."""
    assert set(DOC_KEYS) - _fields(models.RegistryEntry) == NOT_IN_REGISTRY_ENTRY


def test_history_events_have_one_shape_everywhere() -> None:
    track = _new_track()
    tracks.apply_transition(track, "draft", "ready", now=NOW, actor="tester", reason=None)
    created, moved = track["history"]
    assert set(created) == set(moved) == _fields(models.HistoryEvent)
    assert set(Extracts.EVENT_COLUMNS) == _fields(models.HistoryEvent)
