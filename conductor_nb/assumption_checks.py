"""Assumptions that check themselves: running a track's checks and recording what they
found.

A check (``check_kinds``) runs outside the lock (a command may take its whole timeout);
its result is then written in one transaction, to an assumption whose check is still the
one that ran: ``evidence`` {holds, expected, found, checked_at}, and the status
``invalidated`` when it failed, ``validated`` when it holds. A check that was not run (not
approved here, or an expression without a kernel) changes nothing on disk.

Checks run on ``resume`` and ``switch`` once the change is on disk (a failure never
undoes it: it marks the assumption and says so on stderr), on
``conductor assumptions --check`` and from the panel's "check assumptions" button. In a
notebook the kernel sets ``evaluate`` so expression checks run in the user's namespace.
"""

from __future__ import annotations

import sys

from . import check_approvals, check_kinds
from .errors import ConductorError, InvalidInput, track_label
from .notes import ASSUMPTIONS
from .store.paths import project_dir
from .vocab import AssumptionStatus

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from .check_kinds import Evaluate, Result
    from .store.tree import Transaction
    from .trackstore import TrackStore

__all__ = ["AssumptionChecks", "attention", "checks_summary", "failed_checks"]


def failed_checks(assumptions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The assumptions whose check failed when last run (and still say so)."""
    return [
        a
        for a in assumptions
        if isinstance(a.get("evidence"), dict)
        and a["evidence"].get("holds") is False
        and a.get("status") == AssumptionStatus.INVALIDATED
    ]


def attention(assumptions: list[dict[str, Any]]) -> str:
    """ "assumption failed: ..." when a check failed (the first one, and how many more),
    else ""."""
    failed = failed_checks(assumptions)
    if not failed:
        return ""
    more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
    return f"assumption failed: {failed[0].get('statement')}{more}"


def checks_summary(rows: list[dict[str, Any]]) -> str:
    """One line of what a run of checks found."""
    if not rows:
        return "no assumption has a check"
    holds = sum(r["result"] == check_kinds.HOLDS for r in rows)
    failed = sum(r["result"] == check_kinds.FAILED for r in rows)
    return (
        f"{len(rows)} checked: {holds} hold, {failed} failed, {len(rows) - holds - failed} not run"
    )


class AssumptionChecks:
    """The checks of the assumptions of the tracks in a store."""

    def __init__(self, store: TrackStore) -> None:
        self.store = store
        self.tree = store.tree
        # How an expression is evaluated: set by a kernel; None elsewhere (not checked).
        self.evaluate: Evaluate | None = None

    @property
    def project(self) -> Path:
        return project_dir(self.store.root)

    def define_check(self, kind: str, value: str, *, timeout: float | None = None) -> dict:
        """A check of ``kind`` on ``value`` for an assumption of this project
        (``check_kinds.define``)."""
        return check_kinds.define(self.project, kind, value, timeout=timeout)

    def check_assumptions(self, ref: str | None) -> list[dict[str, Any]]:
        """Run the checks of a track's assumptions and record what they found; one row
        per assumption with a check: its result, expected, found and status."""
        track_id = self.store.resolve(ref)
        items = self.store.read_list(track_id, ASSUMPTIONS)
        ran: dict[str, tuple[str, Result]] = {}
        rows = []
        for item in items:
            check = item.get("check")
            if not isinstance(check, dict):
                continue
            result = self._run(check)
            if result.ran:
                ran[str(item.get("id"))] = (check_approvals.check_digest(check), result)
            rows.append(_row(track_id, item, result))
        if ran:
            recorded = self._record(track_id, ran)
            for row in rows:
                row["status"] = recorded.get(row["id"], row["status"])
        return rows

    def approve_check(self, ref: str | None, assumption_id: str) -> dict[str, Any]:
        """Approve, on this machine, the check of an assumption that arrived from
        elsewhere (it will run from now on, until its definition changes)."""
        track_id = self.store.resolve(ref)
        item = self._find(track_id, assumption_id)
        check = item.get("check")
        if not isinstance(check, dict):
            raise InvalidInput(f"{assumption_id} of {track_id} has no check to approve")
        label = f"{track_id}/{assumption_id}"
        check_approvals.approve(self.project, check, label=label, at=self.store.stamp())
        return {**item, "approved": True}

    def any_check(self, txn: Transaction, track_id: str) -> bool:
        """Whether a track has assumptions with a check (read in the transition's
        transaction, so a transition of a track without any costs nothing after it); a
        file that cannot be read counts as yes: ``after_transition`` says what is wrong."""
        try:
            items = self.store.read_list(track_id, ASSUMPTIONS, txn)
        except ConductorError:
            return True
        return any(isinstance(item.get("check"), dict) for item in items)

    def after_transition(self, track_id: str) -> list[dict[str, Any]]:
        """Run a track's checks after it became active (``resume``, ``switch``): a failure
        marks the assumption and prints a line on stderr; it never undoes the change."""
        try:
            rows = self.check_assumptions(track_id)
        except ConductorError as err:  # e.g. a damaged assumptions.json: say it, go on
            print(f"conductor: assumptions of {track_id} not checked: {err}", file=sys.stderr)
            return []
        for row in rows:
            if row["result"] == check_kinds.FAILED:
                print(
                    f"conductor: assumption failed: {row['id']} {row['statement']!r} "
                    f"(expected {row['expected']}, found {row['found']})",
                    file=sys.stderr,
                )
        return rows

    # -- inside -----------------------------------------------------------------------

    def _run(self, check: dict[str, Any]) -> Result:
        if not check_approvals.is_approved(self.project, check):
            return check_kinds.Result(check_kinds.NOT_APPROVED)
        return check_kinds.run(self.project, check, self.evaluate)

    def _find(self, track_id: str, assumption_id: str) -> dict[str, Any]:
        for item in self.store.read_list(track_id, ASSUMPTIONS):
            if item.get("id") == assumption_id:
                return item
        entry = self.store.entry(track_id)
        raise InvalidInput(
            f"{track_label(track_id, entry.get('name'))} has no assumption {assumption_id!r}"
        )

    def _record(self, track_id: str, ran: dict[str, tuple[str, Result]]) -> dict[str, str]:
        """Write what the checks found, to assumptions whose check did not change while
        it ran; the statuses written, by id."""
        statuses = {}
        with self.tree.transaction() as txn:
            track = self.store.load(txn, track_id)
            items = self.store.read_list(track_id, ASSUMPTIONS, txn)
            now = self.store.stamp()
            for item in items:
                digest, result = ran.get(str(item.get("id")), (None, None))
                check = item.get("check")
                if result is None or not isinstance(check, dict):
                    continue
                if check_approvals.check_digest(check) != digest:
                    continue  # edited meanwhile: what ran is not this check
                _mark(item, result, now)
                statuses[item["id"]] = item["status"]
            txn.write_json(self.tree.track_file(track_id, "context", ASSUMPTIONS), items)
            self.store.save(txn, track)
        return statuses


def _mark(item: dict[str, Any], result: Result, now: str) -> None:
    holds = result.state == check_kinds.HOLDS
    status = AssumptionStatus.VALIDATED if holds else AssumptionStatus.INVALIDATED
    if item.get("status") != status:
        item["status"] = status.value
        item["updated_at"] = now
    item["evidence"] = {
        "holds": holds,
        "expected": result.expected,
        "found": result.found,
        "checked_at": now,
    }


def _row(track_id: str, item: dict[str, Any], result: Result) -> dict[str, Any]:
    return {
        "track_id": track_id,
        "id": item.get("id"),
        "statement": item.get("statement"),
        "check": check_kinds.describe(item["check"]),
        "result": result.state,
        "expected": result.expected,
        "found": result.found,
        "status": item.get("status"),
    }
