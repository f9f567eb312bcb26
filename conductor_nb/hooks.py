"""Lifecycle hooks: commands a root's ``hooks.json`` runs before and after each
lifecycle event.

    {"timeout": 30,
     "pre-activate": ["./hooks/check-branch.sh"],
     "post-complete": ["python -m myteam.notify", "echo done >> hooks.log"]}

Keys are ``pre-EVENT`` and ``post-EVENT`` for the events in ``EVENTS``; each names a
command or a list of commands, run one after another by ``/bin/sh -c`` in the root, with
the event as JSON on stdin and ``CONDUCTOR_TRACK_ID``, ``CONDUCTOR_EVENT`` and
``CONDUCTOR_ROOT`` in the environment. A pre-hook that exits non-zero (or runs past the
timeout, then is stopped) refuses the change with the last line it wrote to stderr;
post-hooks run once the change is on disk, and a failing one is a warning line.

Hooks run only once this machine trusts the file: ``conductor hooks --trust`` records
its sha256 in ``$XDG_DATA_HOME/conductor_nb/trusted.json`` (``~/.local/share`` without
it), outside the tree, so hooks that arrive through git or a copied root do nothing
until someone here has read them. A file that changed since is not trusted again.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

from .errors import ConductorError, InvalidInput
from .lifecycle import ACTIONS, plan
from .store import files

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .trackstore import TrackStore

__all__ = [
    "DEFAULT_TIMEOUT",
    "EVENTS",
    "HOOKS_FILE",
    "HookConfig",
    "HookRefused",
    "Hooks",
    "PendingHooks",
    "hooks_report",
    "hooks_text",
    "is_trusted",
    "read_config",
    "run_hook",
    "trust_file",
    "trust_hooks",
]

HOOKS_FILE = "hooks.json"
EVENTS = ("create", *ACTIONS, "switch")
DEFAULT_TIMEOUT = 30.0
_KEYS = {f"{phase}-{event}" for phase in ("pre", "post") for event in EVENTS}
_FIX = "fix it, then `conductor hooks --trust`"


class HookRefused(ConductorError):
    """A pre-hook said no (exited non-zero or ran out of time): the change was not made."""


class HookConfig:
    """A parsed hooks.json: ``hooks`` (key -> commands), ``timeout``, and its sha256."""

    def __init__(self, path: Path, digest: str, hooks: dict[str, list[str]], timeout: float):
        self.path, self.digest, self.hooks, self.timeout = path, digest, hooks, timeout

    def listing(self) -> list[dict[str, str]]:
        return [{"hook": key, "command": c} for key, cmds in self.hooks.items() for c in cmds]


def trust_file() -> Path:
    """This machine's record of trusted hook files (never inside a root)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "conductor_nb" / "trusted.json"


def _trusted() -> dict[str, str]:
    try:
        data = json.loads(trust_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def is_trusted(path: Path, digest: str) -> bool:
    return _trusted().get(str(path)) == digest


def trust_hooks(root: Path) -> HookConfig:
    """Record the root's hooks.json as trusted here (it must be well formed)."""
    config = read_config(root)
    if config is None:
        raise InvalidInput(f"no {HOOKS_FILE} in {root}: nothing to trust")
    record = _trusted()
    record[str(config.path)] = config.digest
    path = trust_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    files.atomic_write(path, json.dumps(record, indent=2, sort_keys=True))
    return config


def _raw(root: Path) -> tuple[Path, bytes] | None:
    name = os.path.abspath(os.path.join(root, HOOKS_FILE))  # looked for at every change
    try:
        with open(name, "rb") as source:
            return Path(name), source.read()
    except FileNotFoundError:
        return None


def read_config(root: Path) -> HookConfig | None:
    """The root's hooks.json (None when there is none); a malformed one is InvalidInput."""
    found = _raw(root)
    return None if found is None else _parse(*found)


def _parse(path: Path, raw: bytes) -> HookConfig:
    data = files.parse_json(raw, path, fix=_FIX, shape=dict)
    timeout = data.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise InvalidInput(f"{path}: timeout takes seconds (a positive number), not {timeout!r}")
    hooks = {}
    for key, value in data.items():
        if key == "timeout":
            continue
        if key not in _KEYS:
            raise InvalidInput(
                f"{path}: unknown key {key!r} (keys: pre-EVENT and post-EVENT for EVENT "
                f"one of {', '.join(EVENTS)}, and timeout)"
            )
        commands = [value] if isinstance(value, str) else value
        if not isinstance(commands, list) or not all(isinstance(c, str) for c in commands):
            raise InvalidInput(f"{path}: {key} takes a command or a list of commands")
        hooks[key] = commands
    return HookConfig(path, files.sha256_hex(raw), hooks, float(timeout))


def _warn(line: str) -> None:
    print(line, file=sys.stderr)


class Hooks:
    """The hooks of the tracks in a store: ``before`` an event runs its pre-hooks and
    returns what runs its post-hooks (``PendingHooks.after``)."""

    def __init__(self, store: TrackStore, report: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.report = report or _warn  # where warnings go (a line each)

    def config(self) -> HookConfig | None:
        """The trusted hooks.json of the root; None when there is none or it is not
        trusted here (then it says so, once per call)."""
        found = _raw(self.store.root)
        if found is None:
            return None
        path, raw = found
        if not is_trusted(path, files.sha256_hex(raw)):
            self.report(f"hooks in {path} are not trusted: run conductor hooks --trust")
            return None
        return _parse(path, raw)

    def before(self, event: str, ref: str | None = None, **details: Any) -> PendingHooks:
        """Run the pre-hooks of ``event`` on the track ``ref`` (none for create): the first
        that fails raises HookRefused. A change the lifecycle refuses runs no hook."""
        return self._before(self.config(), event, ref, details)

    def before_each(self, event: str, changes: list[dict[str, Any]]) -> list[PendingHooks]:
        """``before`` for several changes of one event made together (a bundle's tracks,
        each created): hooks.json is read once, and the first pre-hook that fails raises
        HookRefused, refusing them all. ``changes``: each change's details."""
        config = self.config()
        return [self._before(config, event, None, dict(details)) for details in changes]

    def _before(
        self, config: HookConfig | None, event: str, ref: str | None, details: dict[str, Any]
    ) -> PendingHooks:
        if config is None or not {f"pre-{event}", f"post-{event}"} & config.hooks.keys():
            return PendingHooks(self.report, None, event, {})
        track = track_id = None
        if event != "create":
            track_id = self.store.resolve(ref)
            track = self.store.read_track(track_id)
            if event in ACTIONS:
                plan(track_id, track["status"], event, track.get("name"))
        if event == "switch":  # the track it suspends
            details["from_track"] = self.store.registry().active_track
        payload = {"event": event, "track_id": track_id, "root": str(self.store.root), **details}
        key = f"pre-{event}"
        for command in config.hooks.get(key, ()):
            failure = run_hook(
                command, key, {**payload, "track": track}, config, track_id, says="refused"
            )
            if failure:
                raise HookRefused(failure)
        return PendingHooks(self.report, config, event, payload)


class PendingHooks:
    """The post-hooks of one change, run by ``after`` once it is on disk."""

    def __init__(
        self,
        report: Callable[[str], None],
        config: HookConfig | None,
        event: str,
        payload: dict[str, Any],
    ) -> None:
        self.report, self.config, self.event, self.payload = report, config, event, payload

    def after(self, track: dict[str, Any] | None) -> None:
        if self.config is None:
            return
        key = f"post-{self.event}"
        track_id = track.get("track_id") if isinstance(track, dict) else None
        payload = {**self.payload, "track_id": track_id, "track": track}
        for command in self.config.hooks.get(key, ()):
            failure = run_hook(command, key, payload, self.config, track_id)
            if failure:
                self.report(f"warning: {failure}")


def run_hook(
    command: str,
    key: str,
    payload: dict[str, Any],
    config: HookConfig,
    track_id: str | None,
    *,
    says: str = "failed",
) -> str | None:
    """Run one hook; None when it succeeded, else a line saying how it failed (the hook
    ``says`` "failed", or "refused" for a pre-hook)."""
    import signal
    import subprocess

    root = config.path.parent
    env = {
        **os.environ,
        "CONDUCTOR_TRACK_ID": track_id or "",
        "CONDUCTOR_EVENT": key,
        "CONDUCTOR_ROOT": str(root),
    }
    stdin = json.dumps({**payload, "hook": key}, ensure_ascii=False).encode()
    proc = subprocess.Popen(
        ["/bin/sh", "-c", command],
        cwd=root,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: a timeout stops its children too
    )
    try:
        out, err = proc.communicate(stdin, timeout=config.timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):  # a child that left the group
            proc.communicate(timeout=5)
        return f"{key} hook `{command}` {says}: still running after {config.timeout:g} s (stopped)"
    if proc.returncode == 0:
        return None
    said = _last_line(err) or _last_line(out) or "(no message)"
    return f"{key} hook `{command}` {says} (exit {proc.returncode}): {said}"


def _last_line(data: bytes) -> str:
    lines = [line.strip() for line in data.decode("utf-8", "replace").splitlines()]
    return next((line for line in reversed(lines) if line), "")


def hooks_report(root: Path, *, trust: bool = False) -> dict[str, Any]:
    """What ``conductor hooks`` shows: the file, its hooks, whether this machine trusts
    it (``trust``: record it as trusted first)."""
    path = Path(os.path.abspath(root / HOOKS_FILE))
    config = trust_hooks(root) if trust else read_config(root)
    if config is None:
        return {"file": str(path), "exists": False, "trusted": False, "hooks": []}
    return {
        "file": str(path),
        "exists": True,
        "trusted": is_trusted(config.path, config.digest),
        "timeout": config.timeout,
        "hooks": config.listing(),
        "trust_record": str(trust_file()),
    }


def hooks_text(data: dict[str, Any]) -> str:
    if not data["exists"]:
        return f"no hooks: {data['file']} does not exist"
    lines = [f"{h['hook']:<16} {h['command']}" for h in data["hooks"]] or ["(no hooks listed)"]
    if data["trusted"]:
        state = f"trusted on this machine (recorded in {data['trust_record']})"
    else:
        state = "not trusted on this machine: they do not run (`conductor hooks --trust`)"
    lines.append(f"{data['file']}: timeout {data['timeout']:g} s, {state}")
    return "\n".join(lines)
