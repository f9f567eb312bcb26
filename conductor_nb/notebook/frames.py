"""The DataFrames ``%track`` returns, under this module's earlier name (``tables`` is the
one to use): code written against it, such as the peers benchmark, keeps working."""

from __future__ import annotations

from .tables import records_frame, tracks_frame, tree_frame

__all__ = ["records_frame", "tracks_frame", "tree_frame"]
