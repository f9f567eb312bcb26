"""A track's decisions and assumptions (``context/decisions.json``, ``assumptions.json``)."""

from __future__ import annotations

from .check_approvals import approve
from .errors import InvalidInput, track_label
from .inputs import check_text
from .store.paths import project_dir
from .tracks import next_number
from .vocab import AssumptionStatus, parse_choice

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from .store.tree import Transaction
    from .tracks import TrackDoc
    from .trackstore import TrackStore

__all__ = ["ASSUMPTIONS", "DECISIONS", "Notes"]

DECISIONS, ASSUMPTIONS = "decisions.json", "assumptions.json"


class Notes:
    """Decisions and assumptions of the tracks in a store."""

    def __init__(self, store: TrackStore) -> None:
        self.store = store
        self.tree = store.tree

    def decisions(self, ref: str | None) -> list[dict[str, Any]]:
        return self.store.read_list(self.store.resolve(ref), DECISIONS)

    def assumptions(self, ref: str | None) -> list[dict[str, Any]]:
        return self.store.read_list(self.store.resolve(ref), ASSUMPTIONS)

    def decide(
        self,
        ref: str | None,
        summary: str,
        *,
        rationale: str | None = None,
        alternatives: Iterable[str] = (),
        tags: Iterable[str] = (),
    ) -> dict[str, Any]:
        summary = check_text(summary, "summary", 1000).strip()
        if not summary:
            raise InvalidInput("a decision needs a summary")
        with self.tree.transaction() as txn:
            track, items = self._open(txn, ref, DECISIONS)
            decision = {
                "id": f"decision-{next_number(items, 'decision-')}",
                "timestamp": self.store.stamp(),
                "summary": summary,
            }
            if rationale:
                decision["rationale"] = check_text(rationale, "rationale")
            decision["alternatives"] = [check_text(a, "alternative") for a in alternatives]
            decision["tags"] = [check_text(t, "tag", 100) for t in tags]
            decision["actor"] = self.store.actor
            items.append(decision)
            self._write(txn, track, DECISIONS, items)
        return decision

    def assume(
        self,
        ref: str | None,
        statement: str,
        *,
        status: str = "open",
        note: str | None = None,
        check: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Record an assumption; ``check``: how it checks itself (``check_kinds.define``),
        approved on this machine since the user wrote it here."""
        statement = check_text(statement, "assumption", 1000).strip()
        if not statement:
            raise InvalidInput("an assumption needs a statement")
        status = parse_choice(AssumptionStatus, status, "assumption status").value
        with self.tree.transaction() as txn:
            track, items = self._open(txn, ref, ASSUMPTIONS)
            assumption = {
                "id": f"assumption-{next_number(items, 'assumption-')}",
                "timestamp": self.store.stamp(),
                "statement": statement,
                "status": status,
            }
            if note:
                assumption["note"] = check_text(note, "note")
            if check:
                assumption["check"] = check
            assumption["actor"] = self.store.actor
            items.append(assumption)
            self._write(txn, track, ASSUMPTIONS, items)
        if check:
            label = f"{track['track_id']}/{assumption['id']}"
            approve(project_dir(self.store.root), check, label=label, at=assumption["timestamp"])
        return assumption

    def set_assumption(
        self, ref: str | None, assumption_id: str, status: str, *, note: str | None = None
    ) -> dict[str, Any]:
        status = parse_choice(AssumptionStatus, status, "assumption status").value
        with self.tree.transaction() as txn:
            track, items = self._open(txn, ref, ASSUMPTIONS)
            found = next((a for a in items if a.get("id") == assumption_id), None)
            if found is None:
                raise InvalidInput(
                    f"{track_label(track['track_id'], track.get('name'))} "
                    f"has no assumption {assumption_id!r}"
                )
            found["status"] = status
            found["updated_at"] = self.store.stamp()
            if note:
                found["note"] = check_text(note, "note")
            self._write(txn, track, ASSUMPTIONS, items)
        return found

    def _open(
        self, txn: Transaction, ref: str | None, name: str
    ) -> tuple[TrackDoc, list[dict[str, Any]]]:
        """The track and its list ``name``, read for a change in ``txn`` (the track is
        loaded first: a damaged track refuses the change)."""
        track_id = self.store.resolve(ref, txn.registry)
        track = self.store.load(txn, track_id)
        return track, self.store.read_list(track_id, name, txn)

    def _write(
        self, txn: Transaction, track: TrackDoc, name: str, items: list[dict[str, Any]]
    ) -> None:
        """Write the list and save the track (its updated_at says something changed)."""
        txn.write_json(self.tree.track_file(track["track_id"], "context", name), items)
        self.store.save(txn, track)
