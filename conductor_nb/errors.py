"""The exception family users catch.

    ConductorError
     ├── TrackNotFound          (LookupError)
     ├── AmbiguousTrackRef      (LookupError)
     ├── InvalidTransition      (ValueError)
     ├── WaitingOnPrerequisites (ValueError)
     ├── ActiveTrackExists
     ├── DuplicateName          (ValueError)
     ├── InvalidInput           (ValueError)
     │    └── InvalidId
     ├── PathOutsideRoot        (ValueError)
     ├── LockTimeout            (TimeoutError)
     ├── CorruptFile
     ├── RegistryMissing
     ├── RootMissing
     └── FormatTooNew

Every error carries a message that says what went wrong and, where there is one,
the command that fixes it (``hint``). The CLI prints ``str(err)`` as one line;
the notebook layer turns it into a ``UsageError`` once.
"""

from __future__ import annotations

__all__ = [
    "ActiveTrackExists",
    "AmbiguousTrackRef",
    "ConductorError",
    "CorruptFile",
    "DuplicateName",
    "FormatTooNew",
    "InvalidId",
    "InvalidInput",
    "InvalidTransition",
    "LockTimeout",
    "PathOutsideRoot",
    "RegistryMissing",
    "RootMissing",
    "TrackNotFound",
    "WaitingOnPrerequisites",
    "track_label",
]


def track_label(track_id: str, name: str | None = None) -> str:
    """A track as users name it: ``'Docs refresh' (track-docs-refresh-1796038993944)``
    (the whole id, so it can be pasted); the id alone when the name is not known."""
    return f"'{name}' ({track_id})" if name else f"track {track_id}"


class ConductorError(Exception):
    """Base class of every error conductor_nb raises on purpose."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message

    def __reduce__(self):  # keep message and hint across pickling (multiprocessing)
        return _rebuild, (type(self), self.message, self.hint, self.__dict__)


def _rebuild(cls, message, hint, state):
    err = cls.__new__(cls)
    ConductorError.__init__(err, message, hint=hint)
    err.__dict__.update(state)
    return err


class TrackNotFound(ConductorError, LookupError):
    """No track matches the id, id prefix or name given."""

    def __init__(self, ref: str) -> None:
        super().__init__(f"no track matches {ref!r}", hint="see `conductor list`")
        self.ref = ref


class AmbiguousTrackRef(ConductorError, LookupError):
    """A prefix or name matches more than one track."""

    def __init__(self, ref: str, candidates: list[str]) -> None:
        shown = ", ".join(candidates[:5]) + (", ..." if len(candidates) > 5 else "")
        super().__init__(
            f"{ref!r} matches {len(candidates)} tracks: {shown}", hint="give more of the id"
        )
        self.ref = ref
        self.candidates = candidates


class InvalidTransition(ConductorError, ValueError):
    """The track's status does not allow the requested change."""

    def __init__(
        self, track_id: str, status: str, action: str, allowed: list[str], name: str | None = None
    ) -> None:
        allowed_text = ", ".join(allowed) if allowed else "none (the track is archived)"
        super().__init__(
            f"cannot {action} {track_label(track_id, name)}: it is {status}; "
            f"allowed from {status}: {allowed_text}"
        )
        self.track_id = track_id
        self.status = status
        self.action = action
        self.allowed = allowed


class ActiveTrackExists(ConductorError):
    """Another track is active and only one may be."""

    def __init__(self, active_id: str, wanted_id: str, active_name: str | None = None) -> None:
        super().__init__(
            f"{track_label(active_id, active_name)} is active; "
            "only one track can be active at a time",
            hint=f"use `conductor switch --to {wanted_id}` or `activate --force`",
        )
        self.active_id = active_id
        self.wanted_id = wanted_id


class DuplicateName(ConductorError, ValueError):
    """A track with that name exists already."""

    def __init__(self, name: str, existing_id: str) -> None:
        super().__init__(f"a track named {name!r} exists already: {existing_id}")
        self.name = name
        self.existing_id = existing_id


class InvalidInput(ConductorError, ValueError):
    """A value given by the user is not acceptable."""


class InvalidId(InvalidInput):
    """An id or file name is malformed or unsafe."""


class PathOutsideRoot(ConductorError, ValueError):
    """A path would resolve outside the conductor root."""


class LockTimeout(ConductorError, TimeoutError):
    """The registry lock could not be taken in time."""

    def __init__(self, lock_file: str, timeout: float, holder: str | None = None) -> None:
        who = f" (held by {holder})" if holder else ""
        super().__init__(
            f"could not lock {lock_file} within {timeout:g} s{who}",
            hint="another conductor command is running; retry, or raise CONDUCTOR_LOCK_TIMEOUT",
        )
        self.lock_file = lock_file
        self.timeout = timeout


class CorruptFile(ConductorError):
    """A file on disk cannot be parsed; it is never overwritten silently."""

    def __init__(self, path: str, reason: str, fix: str) -> None:
        super().__init__(f"{path} is corrupt: {reason}", hint=f"run `{fix}`")
        self.path = path
        self.reason = reason


class TrackIdMismatch(CorruptFile):
    """A track folder's track.json names another track (a copied folder). Writing it
    would land in the other track's folder and registry entry, so it is refused."""

    def __init__(self, path: str, named: object, track_id: str, fix: str) -> None:
        super().__init__(path, f"it names the track {named!r}, not {track_id}", fix)
        self.named = named


class RegistryMissing(ConductorError):
    """Track folders exist but the registry that indexes them does not."""

    def __init__(self, path: str) -> None:
        super().__init__(
            f"{path} is missing but track folders exist", hint="run `conductor rebuild`"
        )
        self.path = path


class RootMissing(ConductorError):
    """A command that reads tracks was given a root that does not exist."""

    def __init__(self, path: str, how: str) -> None:
        super().__init__(
            f"no conductor root at {path} ({how})",
            hint="`conductor create` makes one there, or give --root",
        )
        self.path = path


class WaitingOnPrerequisites(ConductorError, ValueError):
    """A track cannot become ready or active while a prerequisite is not done."""

    def __init__(self, change: str, pending: list[str], remove: str) -> None:
        what = pending[0] if len(pending) == 1 else f"{len(pending)} tracks: {'; '.join(pending)}"
        super().__init__(
            f"cannot {change}: it waits on {what}",
            hint=f"finish it first, or drop the dependency with `{remove}`",
        )
        self.pending = pending


class FormatTooNew(ConductorError):
    """The root was written in a newer format than this conductor_nb reads (see
    ``store.formats``): refused rather than misread."""

    def __init__(self, root: str, version: int, readable: int) -> None:
        super().__init__(
            f"{root} was written in conductor_nb format {version}; "
            f"this conductor_nb reads up to format {readable}",
            hint="upgrade conductor_nb: pip install -U conductor_nb",
        )
        self.root = root
        self.version = version
        self.readable = readable
