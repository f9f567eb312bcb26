"""git merge drivers for a conductor root shared through git (``conductor git-setup``
installs them).

git calls a driver with the common ancestor (``%O``), our version (``%A``, which the
driver overwrites with the result) and theirs (``%B``). Instead of merging lines, these
merge the JSON documents: the registry entry by entry, track.json and the decisions and
assumptions field by field (``merging``). A clean merge exits 0; a real conflict (both
sides changed the same field to different values) exits 1, so git reports the file as
conflicted (see ``driver``).

This package imports nothing heavy: git runs a driver per file of a merge.
"""

from __future__ import annotations

__all__ = ["DRIVERS"]

# driver name in .git/config -> (the kind ``python -m conductor_nb.gitmerge`` takes,
# what it merges)
DRIVERS = {
    "conductor-registry": ("registry", "the track registry, entry by entry"),
    "conductor-track": ("track", "track.json, field by field"),
    "conductor-notes": ("notes", "decisions.json and assumptions.json, item by item"),
}
