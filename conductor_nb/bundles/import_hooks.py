"""The create hooks of an import: each track of a bundle is a track created in this
root, so the ``pre-create`` hooks may refuse the import (then nothing lands) and the
``post-create`` hooks run for each track once every one is on disk."""

from __future__ import annotations

import json

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

    from ..hooks import PendingHooks
    from ..trackstore import TrackStore
    from .reading import Bundle

__all__ = ["create_details", "run_post_hooks"]


def create_details(bundle: Bundle, where: str) -> list[dict[str, Any]]:
    """What a create hook is told of each track of ``bundle`` (the fields ``create``
    passes, the bundle file and the id the track has in it), in landing order."""
    details = []
    for track_id in bundle.expected.track_ids:
        track = json.loads(bundle.tracks[track_id]["track.json"])  # checked: an object
        context = track.get("context") if isinstance(track.get("context"), dict) else {}
        details.append(
            {
                "name": track.get("name"),
                "type": track.get("type"),
                "priority": track.get("priority"),
                "goal": context.get("goal", ""),
                "bundle": where,
                "bundle_track_id": track_id,
            }
        )
    return details


def run_post_hooks(
    store: TrackStore, pending: list[PendingHooks], landed: list[dict[str, Any]]
) -> None:
    """Each track's post-create hooks, with the track as it landed (its id in this root)."""
    for hooks, track in zip(pending, landed, strict=True):
        hooks.after(store.read_track(track["track_id"]))
