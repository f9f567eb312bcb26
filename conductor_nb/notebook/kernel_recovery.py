"""When a kernel dies with a track active.

A kernel that makes a track active holds its lease (``lease_keeper``), and the lease
says which kernel it is: ``kind: "kernel"``, the kernel's id (from its connection file,
``kernel-<id>.json``) and the notebook it runs. If the kernel dies (killed, crashed, the
machine restarted), the lease goes stale: its pid is gone, or its heartbeat is older
than the threshold (``conductor_nb.recovery``, which finds it). The next kernel that
loads the extension shows, under the first cell it runs (a kernel starting up has no
cell to print into), one line naming the track, the notebook and when the dead kernel
was last seen, and a widget with two buttons:

- **resume here**: the track is recovered (``recover``: its files mended, the dead
  lease cleared) and this kernel holds it from now on;
- **mark failed**: the track is failed, with the reason, and the dead lease cleared.

Either way, runs the dead kernel left running in that track are marked interrupted.
"""

from __future__ import annotations

import os
import re
import sys
from datetime import UTC
from typing import Any

import ipywidgets as widgets

from ..errors import InvalidInput, track_label
from ..tracks import parse_time
from ..vocab import RunStatus, TrackStatus
from .controls import MessageLine, run_action
from .display import escape
from .switch_guard import kernel_notebook

__all__ = ["KERNEL_HOLDER", "KernelRecovery", "RecoveryNotice", "kernel_details", "kernel_id"]

KERNEL_HOLDER = "kernel"  # a lease's ``kind`` when a Jupyter kernel holds it
_CONNECTION_FILE = re.compile(r"kernel-(.+)\.json")


def kernel_id() -> str | None:
    """This kernel's id, from the name of its connection file (``kernel-<id>.json``; a
    file named otherwise gives its name), None outside a kernel."""
    if "ipykernel" not in sys.modules:  # not a kernel: nothing to import
        return None
    try:
        from ipykernel.connect import get_connection_file

        name = os.path.basename(get_connection_file())
    except (ImportError, RuntimeError, OSError):
        return None
    found = _CONNECTION_FILE.fullmatch(name)  # as Jupyter's server names it
    return found.group(1) if found else os.path.splitext(name)[0]


def kernel_details(shell: Any) -> tuple[str, dict[str, Any]]:
    """The lease's ``kind`` and what it records of this kernel: its id and notebook
    (a terminal IPython, with no kernel id, holds a plain ``python`` lease)."""
    # a kernel's shell has its kernel; a terminal IPython's has none (and importing
    # ipykernel there would replace the comm manager of the widgets already made)
    ident = kernel_id() if getattr(shell, "kernel", None) is not None else None
    if ident is None:
        return "python", {}
    notebook = kernel_notebook(shell)
    return KERNEL_HOLDER, {"kernel_id": ident, "notebook": str(notebook) if notebook else None}


def when(stamp: Any) -> str:
    moment = parse_time(stamp)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "never"


def notice_line(finding: dict[str, Any], *, buttons: bool = True) -> str:
    """The one line: which track, in which notebook, last seen when, and what to do
    (the buttons below it, or the commands where there are no widgets)."""
    holder = finding["holder"]
    where = holder.get("notebook") or f"kernel {holder.get('kernel_id')}"
    age = finding.get("age_minutes")
    ago = f", {age:g} min ago" if age is not None else ""
    track_id = finding["track_id"]
    todo = (
        f"resume it here or mark it failed, below (or %track recover {track_id})"
        if buttons
        else f"%track recover {track_id} resumes it here, %track fail {track_id} fails it"
    )
    return (
        f"conductor: the kernel of {where} died with {finding['label']} active (last seen "
        f"{when(finding['last_seen'])}{ago}; {finding['reason']}): {todo}"
    )


class RecoveryNotice(widgets.VBox):
    """The notice of one track left by a dead kernel: its line and two buttons."""

    def __init__(self, magics: Any, engine: Any, finding: dict[str, Any]) -> None:
        self.magics, self.engine, self.finding = magics, engine, finding
        self.track_id = finding["track_id"]
        self.text = widgets.HTML(f"<b>{escape(finding['label'])}</b>, left by a dead kernel:")
        self.resume_button = widgets.Button(description="resume here", button_style="success")
        self.fail_button = widgets.Button(description="mark failed", button_style="danger")
        for button, action in ((self.resume_button, self.resume), (self.fail_button, self.fail)):
            button.add_class("conductor-recovery-" + button.description.split()[0])
            button.on_click(lambda _, action=action: self._act(action))
        self.message = MessageLine()
        buttons = widgets.HBox([self.text, self.resume_button, self.fail_button])
        super().__init__([buttons, self.message])
        self.add_class("conductor-recovery")

    def _act(self, action) -> None:
        if run_action(self.message, action):
            self.resume_button.disabled = self.fail_button.disabled = True

    def _still_dead(self) -> None:
        """Refuse if someone took the track over since the notice was shown."""
        lease = self.engine.lease_of(self.track_id)
        dead = self.finding["holder"]
        if self.engine.entry(self.track_id)["status"] != TrackStatus.ACTIVE:
            raise InvalidInput(f"{self.finding['label']} is no longer active: nothing to do")
        if lease is not None and (lease.get("pid"), lease.get("host")) != (
            dead.get("pid"),
            dead.get("host"),
        ):
            raise InvalidInput(
                f"{self.finding['label']} was taken over meanwhile (pid {lease.get('pid')})"
            )

    def resume(self) -> str:
        """Recover the track and hold it from this kernel."""
        self._still_dead()
        done = self.engine.recover_track(self.track_id)
        self._interrupt_runs()
        self.magics._keep_leases(self.engine, took_over=True)
        actions = "; ".join(done["actions"]) or "nothing to mend"
        return f"{self.finding['label']} resumed in this kernel ({actions})"

    def fail(self) -> str:
        """Mark the track failed, saying why, and clear the dead lease."""
        self._still_dead()
        holder = self.finding["holder"]
        where = holder.get("notebook") or f"kernel {holder.get('kernel_id')}"
        reason = f"its kernel died ({where}, last seen {when(self.finding['last_seen'])})"
        self.engine.transition(self.track_id, "fail", reason=reason)
        self.engine.leases.clear(self.track_id)
        self._interrupt_runs()
        return f"{self.finding['label']} marked failed: {reason}"

    def _interrupt_runs(self) -> None:
        for run_id in self.finding["runs"]:
            if self.engine.run(self.track_id, run_id).get("status") == RunStatus.RUNNING:
                self.engine.recover_run(self.track_id, run_id, abandon=True)


class KernelRecovery:
    """Finds the tracks dead kernels left active (at load) and shows their notices under
    the next cell that runs."""

    def __init__(self, magics: Any) -> None:
        self.magics = magics
        self.shell: Any = None
        self.pending: list[dict[str, Any]] = []
        self.notices: list[RecoveryNotice] = []

    def register(self, shell: Any) -> None:
        self.shell = shell

    def unregister(self) -> None:
        self._stop_waiting()

    def take_dead_kernels(self, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Keep the findings of ``detect`` about tracks a kernel held (their notice waits
        for the next cell); return the others, announced as before."""
        dead = [f for f in found if f["type"] == "track" and _held_by_kernel(f)]
        if not dead:
            return found
        handled = set()
        for finding in dead:
            pid = finding["holder"].get("pid")
            runs = [
                f["id"]
                for f in found
                if f["type"] == "run"
                and f["track_id"] == finding["track_id"]
                and (f.get("holder") or {}).get("pid") == pid
            ]
            handled.update((finding["track_id"], run_id) for run_id in runs)
            entry = self.magics.engine().entry(finding["track_id"])
            label = track_label(finding["track_id"], entry.get("name"))
            self.pending.append({**finding, "runs": runs, "label": label})
        if self.shell is not None:
            self.shell.events.register("pre_run_cell", self._show)
            self.shell.events.register("post_run_cell", self._show)
        return [f for f in found if f not in dead and (f["track_id"], f["id"]) not in handled]

    def _show(self, *_: Any) -> None:
        """Show the waiting notices, once (the first cell event after load: the
        ``%load_ext`` cell's end, or the first cell of a kernel that loaded at start)."""
        from IPython.display import display

        self._stop_waiting()
        pending, self.pending = self.pending, []
        engine = self.magics.engine()
        in_kernel = kernel_id() is not None  # a terminal IPython shows no widgets
        for finding in pending:
            print(notice_line(finding, buttons=in_kernel))
            if in_kernel:
                notice = RecoveryNotice(self.magics, engine, finding)
                self.notices.append(notice)
                display(notice)

    def _stop_waiting(self) -> None:
        for event in ("pre_run_cell", "post_run_cell"):
            try:
                self.shell.events.unregister(event, self._show)
            except (ValueError, AttributeError):
                continue


def _held_by_kernel(finding: dict[str, Any]) -> bool:
    holder = finding.get("holder")
    return isinstance(holder, dict) and holder.get("kind") == KERNEL_HOLDER
