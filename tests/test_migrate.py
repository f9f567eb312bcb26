"""Format versions and `conductor migrate`, on copies of the original tool's tree: a dry run
writes nothing, a real run keeps every field (the documented normalisations aside) and
leaves `validate` clean, a second run changes nothing, and a root from a newer format is
refused in one line by the CLI and the API."""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import os
from pathlib import Path

import pytest
from cli_process import conductor_in

from conductor_nb import Conductor, ConductorError, FormatTooNew, migrations
from conductor_nb.engine import Engine
from conductor_nb.errors import CorruptFile
from conductor_nb.store import formats

ONBOARDING = "track-onboarding-flow-1795583995315"  # registry ready, track.json draft
AUTH = "track-user-authentication-1795583994454"  # links the original tool's snapshot
DISAGREEING = {  # registry status, track.json status, as the original tool left them
    ONBOARDING: ("ready", "draft"),
    "track-cache-warmup-experiment-1795583995521": ("failed", "draft"),
    "track-legacy-export-removal-1795583995727": ("cancelled", "draft"),
    "track-release-1-0-checklist-1795583995935": ("archived", "completed"),
    "track-metrics-dashboard-1795583996140": ("draft", "active"),
}


def snapshot(top: Path) -> dict[str, tuple]:
    """Every path under ``top`` (folders too) with its kind, size and mtime, and each
    folder's listing: anything created, removed, written or touched shows."""
    found = {}
    for folder, names, filenames in os.walk(top):
        here = Path(folder)
        st = here.stat()
        found[str(here)] = ("dir", st.st_mtime_ns, tuple(sorted(names + filenames)))
        for name in filenames:
            st = (here / name).stat()
            found[str(here / name)] = ("file", st.st_size, st.st_mtime_ns, st.st_ino)
    return found


def json_files(root: Path) -> dict[str, object]:
    return {
        p.relative_to(root).as_posix(): json.loads(p.read_text())
        for p in sorted(root.rglob("*.json"))
    }


def leaves(value: object, path: tuple = ()) -> dict[tuple, object]:
    """Every leaf of a JSON document by its key path (lists are leaves)."""
    if isinstance(value, dict) and value:
        found: dict[tuple, object] = {}
        for key, item in value.items():
            found.update(leaves(item, (*path, key)))
        return found
    return {path: value}


def migrate(root: Path, *args: str):
    return conductor_in(root.parent, "migrate", "--root", str(root), *args)


# -- the registry of steps -------------------------------------------------------------------


def test_the_steps_climb_one_format_at_a_time_up_to_the_current_one() -> None:
    steps = migrations.STEPS
    assert steps[0].source == formats.ORIGINAL_FORMAT == 1
    assert all(later.source == earlier.target for earlier, later in itertools.pairwise(steps))
    assert all(step.target == step.source + 1 and step.description for step in steps)
    assert steps[-1].target == formats.CURRENT_FORMAT
    assert migrations.steps_from(formats.CURRENT_FORMAT) == []


def test_a_later_format_is_one_more_step(seed_root: Path, monkeypatch) -> None:
    """A step added after the first is planned on what the first would write, and
    migrate runs both and records the last format."""

    def add_owner(reader):
        changes = []
        for track_id in reader.registry()["tracks"]:
            track = reader.track(track_id)
            assert "history" in track  # the step before it has run (or is planned)
            after = {**track, "owner": "team-a"}
            fields = migrations.field_changes(track, after)
            changes.append(migrations.FileChange(reader.track_path(track_id), after, fields, False))
        return changes

    step = migrations.Step(2, 3, "every track gets an owner", add_owner)
    monkeypatch.setattr(migrations, "STEPS", (*migrations.STEPS, step))
    monkeypatch.setattr(formats, "CURRENT_FORMAT", 3)
    planned = Engine(seed_root).migrate(dry_run=True)
    assert [(s["from"], s["to"]) for s in planned["steps"]] == [(1, 2), (2, 3)]
    assert {c["field"] for c in planned["changes"] if c["step"] == "2->3"} == {"owner"}
    assert not (seed_root / formats.FORMAT_NAME).exists()

    done = Engine(seed_root).migrate()
    assert done["from"] == 1 and done["to"] == 3
    assert json.loads((seed_root / formats.FORMAT_NAME).read_text())["format"] == 3
    track = json.loads((seed_root / "tracks" / AUTH / "track.json").read_text())
    assert track["owner"] == "team-a" and track["history"]


# -- recording the format ----------------------------------------------------------------------


def test_the_original_tools_tree_is_format_1_and_ordinary_writes_keep_it(seed_root: Path) -> None:
    assert not (seed_root / formats.FORMAT_NAME).exists()
    assert formats.read_format(seed_root) == 1
    Engine(seed_root).decide(AUTH, "Keep the tree as the original tool wrote it")
    assert not (seed_root / formats.FORMAT_NAME).exists()  # only migrate upgrades it


def test_a_root_we_create_records_the_current_format_once(root: Path) -> None:
    engine = Engine(root)
    engine.create("First track", type="feature", priority="P2", goal="a")
    path = root / formats.FORMAT_NAME
    recorded = json.loads(path.read_text())
    assert recorded == formats.format_document(formats.CURRENT_FORMAT)
    assert recorded["format"] == 2 and recorded["written_by"].startswith("conductor_nb ")
    before = path.stat()
    engine.create("Second track", type="bugfix", priority="P1", goal="b")
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    # what we write is format 2 already: migrate has nothing to do
    assert engine.migrate(dry_run=True)["changes"] == []
    assert engine.validate() == []


def test_a_root_written_before_formats_existed_only_gets_its_version(root: Path) -> None:
    """Our own writes were canonical already: migrating such a root records format 2
    and changes nothing else (no checkpoint is needed)."""
    engine = Engine(root)
    track_id = engine.create("Older track", goal="g")["track_id"]
    engine.add_step(track_id, "Write it")
    engine.transition(track_id, "activate")
    (root / formats.FORMAT_NAME).unlink()
    before = _data_files(root)
    done = engine.migrate()
    assert [(c["file"], c["change"]) for c in done["changes"]] == [(formats.FORMAT_NAME, "add")]
    assert done["checkpoints"] == []
    after = _data_files(root)
    assert after.pop(root / formats.FORMAT_NAME)
    assert after == before


def _data_files(root: Path) -> dict[Path, bytes]:
    """The tree's files, without the commit machinery's own (the lock, the log)."""
    return {
        p: p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".conductor")
    }


def test_a_first_change_that_fails_leaves_no_root_and_no_format_file(tmp_path: Path) -> None:
    root = tmp_path / "new" / ".claude" / "conductor"
    engine = Engine(root)
    with pytest.raises(RuntimeError), engine.tree.transaction():
        raise RuntimeError("the command failed")
    with engine.tree.transaction():
        pass  # a command that wrote nothing
    assert not (tmp_path / "new").exists()
    result = conductor_in(tmp_path, "create", "--name", "x", "--root", str(root))
    assert result.returncode == 1 and not (tmp_path / "new").exists()


# -- newer formats are refused -----------------------------------------------------------------


def test_a_newer_format_is_refused_by_every_command_in_one_line(seed_root: Path) -> None:
    (seed_root / formats.FORMAT_NAME).write_text('{"format": 3, "written_by": "conductor_nb 9"}')
    before = snapshot(seed_root.parent)
    for command in (
        ["list"],
        ["show", AUTH],
        ["create", "--name", "Not here"],
        ["migrate"],
        ["migrate", "--dry-run", "--json"],
        ["validate"],
        ["root"],
    ):
        result = conductor_in(seed_root.parent, *command, "--root", str(seed_root))
        assert result.returncode == 1, command
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        assert "format 3" in lines[0] and "reads up to format 2" in lines[0]
        assert "pip install -U conductor_nb" in lines[0]
    assert snapshot(seed_root.parent) == before


def test_a_newer_format_is_refused_by_the_api(seed_root: Path) -> None:
    (seed_root / formats.FORMAT_NAME).write_text('{"format": 7}')
    with pytest.raises(FormatTooNew) as caught:
        Engine(seed_root)
    assert isinstance(caught.value, ConductorError)
    assert (caught.value.version, caught.value.readable) == (7, 2)
    assert "\n" not in str(caught.value)
    with pytest.raises(FormatTooNew):
        Conductor(root=seed_root)


def test_analytics_refuses_a_newer_format_too(seed_root: Path) -> None:
    from conductor_nb import analytics

    assert len(analytics.load(seed_root, cache=False).tracks()) == 9
    (seed_root / formats.FORMAT_NAME).write_text('{"format": 3}')
    with pytest.raises(FormatTooNew):
        analytics.load(seed_root, cache=False)


def test_an_engine_opened_before_an_upgrade_refuses_afterwards(seed_root: Path) -> None:
    engine = Engine(seed_root)
    assert len(engine.list()) == 9
    (seed_root / formats.FORMAT_NAME).write_text('{"format": 3}')
    before = snapshot(seed_root.parent)
    with pytest.raises(FormatTooNew):
        engine.list()
    with pytest.raises(FormatTooNew):
        engine.decide(AUTH, "Not written")
    assert snapshot(seed_root.parent) == before


def test_the_format_is_read_again_only_when_its_file_changes(seed_root: Path) -> None:
    path = seed_root / formats.FORMAT_NAME
    path.write_text('{"format": 2}')
    assert formats.check_format(seed_root) == 2
    path.write_text('{"format": 5, "pad": 1}')  # another size, another mtime: read again
    with pytest.raises(FormatTooNew):
        formats.check_format(seed_root)


def test_a_damaged_format_file_is_one_line_naming_it(seed_root: Path) -> None:
    (seed_root / formats.FORMAT_NAME).write_text('{"format": "two"}')
    with pytest.raises(CorruptFile) as caught:
        Engine(seed_root).list()  # read after the recovery a crash may call for
    assert formats.FORMAT_NAME in str(caught.value) and "conductor migrate" in str(caught.value)
    result = conductor_in(seed_root.parent, "list", "--root", str(seed_root))
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1


# -- the dry run -------------------------------------------------------------------------------


def test_a_dry_run_lists_every_change_and_writes_nothing(seed_root: Path) -> None:
    before = snapshot(seed_root.parent)
    table = migrate(seed_root, "--dry-run")
    as_json = migrate(seed_root, "--dry-run", "--json")
    planned = Engine(seed_root).migrate(dry_run=True)
    assert snapshot(seed_root.parent) == before  # no lock, temp folder or format file
    assert table.returncode == as_json.returncode == 0, table.stderr + as_json.stderr
    assert "dry run: nothing written" in table.stdout
    report = json.loads(as_json.stdout)
    assert report["dry_run"] is True and (report["from"], report["to"]) == (1, 2)
    assert len(report["checkpoints"]) == 9  # every track gains a history
    changes = {(c["file"], c["field"]): c for c in report["changes"]}
    status = changes[(f"tracks/{ONBOARDING}/track.json", "status")]
    assert (status["change"], status["before"], status["after"]) == ("set", "draft", "ready")
    history = changes[(f"tracks/{ONBOARDING}/track.json", "history")]
    assert history["change"] == "add" and history["after"][0]["to"] == "draft"
    assert changes[("tracks/track-registry.json", "metadata.completed_count")]["after"] == 1
    assert changes[(formats.FORMAT_NAME, "format")] | {"step": None} == {
        "step": None,
        "track_id": None,
        "file": formats.FORMAT_NAME,
        "field": "format",
        "change": "add",
        "before": None,
        "after": 2,
    }
    backups = [c["after"] for c in report["changes"] if c["change"] == "backup"]
    assert sorted(backups) == sorted(f"tracks/{t}/track.json" for t in DISAGREEING)
    rows = [(c["file"], c["field"], c["change"]) for c in report["changes"]]
    assert [(c["file"], c["field"], c["change"]) for c in planned["changes"]] == rows
    for key in changes:  # the table names each change too
        assert key[1].split(".")[-1] in table.stdout


# -- the real run ------------------------------------------------------------------------------


def test_a_real_run_keeps_every_field_and_leaves_validate_clean(seed_root: Path) -> None:
    original = json_files(seed_root)
    raw = {p: p.read_bytes() for p in seed_root.rglob("*") if p.is_file()}
    result = migrate(seed_root, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["dry_run"] is False and len(report["checkpoints"]) == 9
    assert json.loads((seed_root / formats.FORMAT_NAME).read_text())["format"] == 2

    after = json_files(seed_root)
    registry = after["tracks/track-registry.json"]["tracks"]
    for name, document in original.items():
        kept = leaves(after[name])
        for key, value in leaves(document).items():
            if _normalised(name, key, registry):
                continue
            assert kept.get(key, "<missing>") == value, (name, key)
    for track_id, (registry_status, _) in DISAGREEING.items():
        track = after[f"tracks/{track_id}/track.json"]
        assert track["status"] == registry_status == registry[track_id]["status"]
        assert track["history"][-1]["reason"] == migrations.BROUGHT_IN_LINE
    assert all("history" in after[f"tracks/{t}/track.json"] for t in registry)
    # the files it does not normalise are byte for byte as they were
    for path, data in raw.items():
        if path.name not in ("track.json", "track-registry.json"):
            assert path.read_bytes() == data, path
    validate = conductor_in(seed_root.parent, "validate", "--root", str(seed_root))
    assert validate.returncode == 0, validate.stdout


def _normalised(name: str, key: tuple, registry: dict) -> bool:
    """The documented normalisations of format 2 (see README: Format versions)."""
    if name == "tracks/track-registry.json":
        return key in {("metadata", "completed_count"), ("metadata", "last_updated")}
    track_id = name.split("/")[1]
    return key == ("status",) and track_id in DISAGREEING


def test_the_original_tool_still_reads_the_migrated_tree(seed_root: Path) -> None:
    """Its registry format (version, entries, formatting) and track.json layout stay."""
    assert migrate(seed_root).returncode == 0
    text = (seed_root / "tracks" / "track-registry.json").read_text()
    registry = json.loads(text)
    assert text == json.dumps(registry, indent=2, ensure_ascii=False)  # JSON.stringify(_, null, 2)
    assert registry["version"] == "1.0"
    required = {"track_id", "name", "type", "status", "priority", "created_at", "updated_at"}
    for track_id, entry in registry["tracks"].items():
        assert required | {"path", "progress"} <= set(entry)
        assert entry["path"] == track_id
        track_text = (seed_root / "tracks" / track_id / "track.json").read_text()
        assert track_text == json.dumps(json.loads(track_text), indent=2, ensure_ascii=False)


def test_each_changed_track_is_checkpointed_first(seed_root: Path) -> None:
    originals = {t: (seed_root / "tracks" / t / "track.json").read_bytes() for t in DISAGREEING}
    done = Engine(seed_root).migrate()
    engine = Engine(seed_root)
    for item in done["checkpoints"]:
        manifest = engine.checkpoint(item["track_id"], item["checkpoint_id"])
        assert manifest["kind"] == "migration" and manifest["pinned"] is True
        assert engine.verify_checkpoint(item["track_id"], item["checkpoint_id"]) == []
        if item["track_id"] in originals:  # it holds track.json as it was before
            entry = next(f for f in manifest["files"] if f["path"] == "track.json")
            expected = hashlib.sha256(originals[item["track_id"]]).hexdigest()
            assert entry["sha256"] == expected
    # a copy of each track.json whose status changed is in backups/, as it was
    kept = sorted(p.read_bytes() for p in (seed_root / "backups").iterdir())
    assert kept == sorted(originals.values())  # one copy each
    # the link to the original tool's snapshot stays
    assert [s["checkpoint_id"] for s in engine.legacy_snapshots(AUTH)] == [
        "snap-checkpoint-1795584001500-4vbhdw"
    ]
    snapshot_file = (
        seed_root / "context" / "snapshots" / "snap-checkpoint-1795584001500-4vbhdw.json.gz"
    )
    assert json.loads(gzip.decompress(snapshot_file.read_bytes()))


def test_a_second_run_changes_nothing(seed_root: Path) -> None:
    assert migrate(seed_root).returncode == 0
    before = snapshot(seed_root.parent)
    again = migrate(seed_root)
    assert again.returncode == 0, again.stderr
    assert "nothing to migrate" in again.stdout
    assert json.loads(migrate(seed_root, "--json").stdout)["changes"] == []
    assert snapshot(seed_root.parent) == before


def test_a_tree_with_damage_migrate_does_not_mend_is_refused(seed_root: Path) -> None:
    (seed_root / "tracks" / AUTH / "context" / "decisions.json").write_text("[{")
    before = snapshot(seed_root.parent)
    for args in (["--dry-run"], []):
        result = migrate(seed_root, *args)
        assert result.returncode == 1
        assert len(result.stderr.splitlines()) == 1
        assert "conductor repair" in result.stderr and "decisions.json" in result.stderr
    assert snapshot(seed_root.parent) == before
    # once repaired, it migrates
    assert conductor_in(seed_root.parent, "repair", "--root", str(seed_root)).returncode == 0
    assert migrate(seed_root).returncode == 0
    assert conductor_in(seed_root.parent, "validate", "--root", str(seed_root)).returncode == 0


def test_migrate_needs_a_root(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = migrate(missing, "--dry-run")
    assert result.returncode == 1 and "no conductor root" in result.stderr
    assert not missing.exists()
