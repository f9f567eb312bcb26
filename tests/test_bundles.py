"""Bundles through the engine: a round trip keeps every field of every file, ids in use
are renamed with the references to them, checkpoints travel and still restore, and a
bundle that is wrong in any way is refused with one line while the root stays byte for
byte as it was."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest
from bundle_archives import manifest, picture, regular, sha, special, write, write_with_bomb

from conductor_nb.bundles import BundleRefused
from conductor_nb.bundles.landing import IMPORT_PAUSE
from conductor_nb.engine import Engine
from conductor_nb.tracks import reconstruct_history

ACTIVE = "track-search-refactor-1795583994875"  # active in the seed's registry and track.json
PAYMENT = "track-payment-retry-bugfix-1795583994663"


def _files(root: Path, track_id: str) -> dict[str, bytes]:
    folder = root / "tracks" / track_id
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _registry(root: Path) -> dict:
    return json.loads((root / "tracks" / "track-registry.json").read_text())


def _with_unknown_fields(root: Path) -> str:
    """A track of our own in the seed's root, with fields no model knows in track.json,
    its registry entry, a decision, a run and an artifact."""
    engine = Engine(root)
    track_id = engine.create("Bundle probe", goal="travel well")["track_id"]
    engine.decide(track_id, "Keep it all", rationale="nothing is dropped")
    run = engine.create_run(track_id, "load")
    engine.set_run_status(track_id, run["run_id"], "running")
    engine.log_metrics(track_id, run["run_id"], {"rows": 12})
    engine.set_run_status(track_id, run["run_id"], "completed")
    source = root.parent / "report.txt"
    source.write_text("an artifact\n")
    engine.add_artifact(track_id, "report.txt", source=str(source))
    long_name = "notes/" + "é" * 120 + "/" + "résumé-" + "x" * 200 + ".txt"  # pax headers
    engine.add_artifact(track_id, long_name, source=str(source))
    track_path = root / "tracks" / track_id / "track.json"
    track = json.loads(track_path.read_text())
    track["x_custom"] = {"nested": [1, 2.5, None, "é"]}
    track["context"]["x_context_note"] = "kept"
    track["context"]["prerequisites"] = [PAYMENT]
    track_path.write_text(json.dumps(track, indent=2))
    decisions_path = root / "tracks" / track_id / "context" / "decisions.json"
    decisions = json.loads(decisions_path.read_text())
    decisions[0]["x_reviewer"] = "ana"
    decisions_path.write_text(json.dumps(decisions, indent=2))
    registry = _registry(root)
    registry["tracks"][track_id]["x_board_colour"] = "teal"
    (root / "tracks" / "track-registry.json").write_text(json.dumps(registry, indent=2))
    return track_id


def test_round_trip_keeps_every_field_of_every_file(seed_root: Path, tmp_path: Path) -> None:
    """Export every track of the seed (plus one with unknown fields), import into an empty
    root: every file is byte for byte the same and every registry entry field is kept,
    except that the active track comes in paused (its track.json says so, with history)."""
    probe = _with_unknown_fields(seed_root)
    source = Engine(seed_root)
    ids = [entry["track_id"] for entry in source.list()]
    bundle = tmp_path / "all.tar.zst"
    exported = source.export_bundle(ids, bundle)
    assert sorted(exported["tracks"]) == sorted(ids) and exported["compressed_bytes"] > 0

    target_root = tmp_path / "elsewhere" / "conductor"  # does not exist yet
    done = Engine(target_root).import_bundle(bundle)
    assert done["renamed"] == {} and done["paused"] == [ACTIVE]
    assert sorted(t["track_id"] for t in done["tracks"]) == sorted(ids)

    before, after = _registry(seed_root)["tracks"], _registry(target_root)["tracks"]
    assert after[probe]["x_board_colour"] == "teal"
    for track_id in ids:
        old_files, new_files = _files(seed_root, track_id), _files(target_root, track_id)
        assert sorted(new_files) == sorted(old_files), track_id
        if track_id != ACTIVE:
            assert new_files == old_files, track_id
            assert after[track_id] == before[track_id], track_id
    # the active track: paused, and nothing else changed
    old = json.loads(_files(seed_root, ACTIVE)["track.json"])
    new = json.loads(_files(target_root, ACTIVE)["track.json"])
    assert (new["status"], new["pause_reason"]) == ("paused", IMPORT_PAUSE)
    assert new["history"][:-1] == old.get("history", reconstruct_history(old))
    assert new["history"][-1]["from"] == "active" and new["history"][-1]["to"] == "paused"
    changed = {"status", "paused_at", "pause_reason", "updated_at", "history"}
    assert {k: v for k, v in new.items() if k not in changed} == {
        k: v for k, v in old.items() if k not in changed
    }
    assert after[ACTIVE]["status"] == "paused"
    assert {k: v for k, v in after[ACTIVE].items() if k not in changed} == {
        k: v for k, v in before[ACTIVE].items() if k not in changed
    }
    assert _registry(target_root)["active_track"] is None


def test_an_id_in_use_gets_a_new_one_and_references_follow(seed_root: Path, tmp_path: Path):
    """Importing tracks back into their own root renames each; the references between
    them (prerequisites, blocks, related tracks, parent track, a run's track) follow,
    and files that name no renamed track keep their bytes."""
    engine = Engine(seed_root)
    probe = _with_unknown_fields(seed_root)  # its prerequisites name PAYMENT
    path = seed_root / "tracks" / PAYMENT / "track.json"
    payment = json.loads(path.read_text())
    payment["context"].update(blocks=[probe], related_tracks=[probe, "track-elsewhere-1"])
    payment["parent_track"] = probe
    path.write_text(json.dumps(payment, indent=2))
    bundle = tmp_path / "two.tar.zst"
    engine.export_bundle([probe, PAYMENT], bundle)

    done = engine.import_bundle(bundle)
    renamed = done["renamed"]
    assert set(renamed) == {probe, PAYMENT} and not set(renamed.values()) & {probe, PAYMENT}
    new_probe, new_payment = renamed[probe], renamed[PAYMENT]
    assert new_probe.startswith("track-bundle-probe-")
    track = engine.track(new_probe)
    assert track["track_id"] == new_probe
    assert track["context"]["prerequisites"] == [new_payment]
    assert track["x_custom"] == {"nested": [1, 2.5, None, "é"]}
    other = engine.track(new_payment)
    assert other["context"]["blocks"] == [new_probe]
    assert other["context"]["related_tracks"] == [new_probe, "track-elsewhere-1"]
    assert other["parent_track"] == new_probe
    [run] = engine.runs(new_probe)
    assert run["track_id"] == new_probe
    assert (
        _files(seed_root, new_probe)["context/decisions.json"]
        == (_files(seed_root, probe)["context/decisions.json"])
    )
    entry = engine.registry().tracks[new_probe]
    assert (entry["track_id"], entry["path"], entry["x_board_colour"]) == (
        new_probe,
        new_probe,
        "teal",
    )
    # the originals are untouched
    assert engine.track(probe)["context"]["prerequisites"] == [PAYMENT]


def test_checkpoints_travel_and_restore_under_a_new_id(seed_root: Path, tmp_path: Path):
    """With checkpoints, a renamed track's checkpoints verify and restore as itself."""
    engine = Engine(seed_root)
    probe = _with_unknown_fields(seed_root)
    engine.create_checkpoint(probe, reason="before")
    engine.decide(probe, "Later decision")
    without = tmp_path / "plain.tar.zst"
    engine.export_bundle([probe], without)
    bundle = tmp_path / "with.tar.zst"
    engine.export_bundle([probe], bundle, checkpoints=True)

    fresh = Engine(tmp_path / "fresh")
    assert fresh.import_bundle(without)["tracks"][0]["track_id"] == probe
    assert fresh.checkpoints(probe) == []
    new_id = engine.import_bundle(bundle)["renamed"][probe]
    [manifest_doc] = engine.checkpoints(new_id)
    assert manifest_doc["track_id"] == new_id
    assert engine.verify_checkpoint(new_id, "last") == []
    engine.restore_checkpoint(new_id, "checkpoint-001")
    assert [d["summary"] for d in engine.decisions(new_id)] == ["Keep it all"]
    assert engine.track(new_id)["track_id"] == new_id
    assert not [p for p in engine.validate() if p.track_id == new_id]


# -- refusals: a handcrafted archive for each, and the root unchanged -------------------------


def _good(seed_root: Path) -> tuple[dict[str, bytes], list[str]]:
    files = {f"tracks/{PAYMENT}/{rel}": data for rel, data in _files(seed_root, PAYMENT).items()}
    return files, [PAYMENT]


def _plain(files: dict[str, bytes], ids: list[str], **overrides) -> list:
    return [regular("manifest.json", manifest(files, ids, **overrides))] + [
        regular(name, data) for name, data in files.items()
    ]


TRACK_JSON = f"tracks/{PAYMENT}/track.json"
EXTRA = f"tracks/{PAYMENT}/context/extra.txt"


def _case(name: str, files: dict[str, bytes], ids: list[str]) -> tuple[list, str]:
    """The members of a bad archive, and what the refusal must say."""
    good = _plain(files, ids)
    if name == "dotdot":
        return [*good, regular(f"tracks/{PAYMENT}/../../../evil.sh", b"x")], "climbs out"
    if name == "absolute":
        return [*good, regular("/tmp/evil.sh", b"x")], "'/tmp/evil.sh' is an absolute path"
    if name == "symlink":
        return [*good, special(EXTRA, tarfile.SYMTYPE, "/etc/passwd")], "symbolic link"
    if name == "hardlink":
        return [*good, special(EXTRA, tarfile.LNKTYPE, TRACK_JSON)], "hard link"
    if name == "device":
        return [*good, special(EXTRA, tarfile.CHRTYPE)], "is a device file"
    if name == "fifo":
        return [*good, special(EXTRA, tarfile.FIFOTYPE)], "is a fifo"
    if name == "duplicate":
        return [*good, regular(TRACK_JSON, files[TRACK_JSON])], f"{TRACK_JSON!r} appears twice"
    if name == "beyond-manifest":
        bigger = {**files, TRACK_JSON: files[TRACK_JSON] + b" " * 4096}
        members = [regular("manifest.json", manifest(files, ids))]
        members += [regular(n, d) for n, d in bigger.items()]
        return members, "more than the"
    if name == "checksum":
        tampered = files[TRACK_JSON].replace(b"P0", b"P3")
        members = [regular("manifest.json", manifest(files, ids))]
        members += [regular(n, tampered if n == TRACK_JSON else d) for n, d in files.items()]
        return members, f"{TRACK_JSON!r} does not match its sha256"
    if name == "no-manifest":
        return [regular(n, d) for n, d in files.items()], "not manifest.json"
    if name == "not-in-manifest":
        return [*good, regular(EXTRA, b"smuggled")], f"{EXTRA!r} is not in the manifest"
    if name == "missing-entry":
        members = [regular("manifest.json", manifest({**files, EXTRA: b"promised"}, ids))]
        members += [regular(n, d) for n, d in files.items()]
        return members, f"{EXTRA!r} is in the manifest, not in the archive"
    if name == "wrong-track":
        track = json.loads(files[TRACK_JSON])
        track["track_id"] = ACTIVE
        wrong = {**files, TRACK_JSON: json.dumps(track).encode()}
        return _plain(wrong, ids), "names the track"
    if name == "newer-root-format":
        return _plain(files, ids, root_format=99), "in format 99; this conductor_nb reads up to"
    if name == "lease":
        leased = {**files, f"tracks/{PAYMENT}/lease.json": b'{"pid": 1}'}
        return _plain(leased, ids), "describes another machine"
    if name == "newer-version":
        return _plain(files, ids, version=2), "made by a newer conductor_nb"
    raise AssertionError(name)


CASES = [
    "dotdot",
    "absolute",
    "symlink",
    "hardlink",
    "device",
    "fifo",
    "duplicate",
    "beyond-manifest",
    "checksum",
    "no-manifest",
    "not-in-manifest",
    "missing-entry",
    "wrong-track",
    "newer-version",
    "lease",
    "newer-root-format",
]


@pytest.mark.parametrize("case", CASES)
def test_a_bad_archive_is_refused_and_the_root_is_unchanged(
    case: str, seed_root: Path, tmp_path: Path
) -> None:
    files, ids = _good(seed_root)
    members, expected = _case(case, files, ids)
    bundle = write(tmp_path / f"{case}.tar.zst", members)
    before = picture(seed_root)
    with pytest.raises(BundleRefused) as refused:
        Engine(seed_root).import_bundle(bundle)
    message = str(refused.value)
    assert expected in message and message.startswith(str(bundle))
    assert "\n" not in message and message.rstrip().endswith("nothing was imported")
    assert picture(seed_root) == before


def test_the_good_archive_of_those_cases_is_accepted(seed_root: Path, tmp_path: Path) -> None:
    """The cases above differ from an archive that imports by their one fault."""
    files, ids = _good(seed_root)
    bundle = write(tmp_path / "good.tar.zst", _plain(files, ids))
    done = Engine(seed_root).import_bundle(bundle)
    assert list(done["renamed"]) == [PAYMENT]


def test_a_zstd_bomb_before_the_manifest_stops_at_the_cap(seed_root, tmp_path) -> None:
    """80 MB of zeros behind a pax header (a few kB compressed): refused, not read whole."""
    bundle = write_with_bomb(tmp_path / "bomb.tar.zst", [], 80 << 20)
    assert bundle.stat().st_size < 1 << 20
    before = picture(seed_root)
    with pytest.raises(BundleRefused, match="more data than its manifest declares"):
        Engine(seed_root).import_bundle(bundle)
    assert picture(seed_root) == before


def test_a_bomb_after_the_manifest_stops_at_what_it_declares(seed_root, tmp_path) -> None:
    files, ids = _good(seed_root)
    members = _plain(files, ids)[:2]  # the manifest and one file: the cap is their size
    bundle = write_with_bomb(tmp_path / "bomb.tar.zst", members, 16 << 20)
    before = picture(seed_root)
    with pytest.raises(BundleRefused, match="more data than its manifest declares"):
        Engine(seed_root).import_bundle(bundle)
    assert picture(seed_root) == before


def test_a_manifest_declaring_more_than_the_limit_is_refused(seed_root, tmp_path) -> None:
    files, ids = _good(seed_root)
    bundle = write(tmp_path / "big.tar.zst", _plain(files, ids))
    total = sum(len(d) for d in files.values())
    with pytest.raises(BundleRefused, match=f"declares {total} bytes, more than the 100 bytes"):
        Engine(seed_root).import_bundle(bundle, limit=100)


def test_not_a_bundle_at_all(seed_root: Path, tmp_path: Path) -> None:
    """A missing file, plain text, a zstd file that is no tar: one line each, and a root
    that did not exist is not created."""
    nowhere = tmp_path / "new" / "conductor"
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    import zstandard

    not_tar = tmp_path / "x.tar.zst"
    not_tar.write_bytes(zstandard.ZstdCompressor().compress(b"just text, no tar" * 40))
    for path, what in [
        (tmp_path / "missing.tar.zst", "there is no such file"),
        (text, "not zstd-compressed"),
        (not_tar, "not a readable tar archive"),
    ]:
        with pytest.raises(BundleRefused, match=what):
            Engine(nowhere).import_bundle(path)
    assert not (tmp_path / "new").exists()


def test_export_refuses_a_target_inside_the_root(seed_root: Path, tmp_path: Path) -> None:
    from conductor_nb.errors import InvalidInput, RootMissing

    with pytest.raises(InvalidInput, match="inside the root"):
        Engine(seed_root).export_bundle([PAYMENT], seed_root / "tracks" / "b.tar.zst")
    assert not (seed_root / "tracks" / "b.tar.zst").exists()
    with pytest.raises(RootMissing):
        Engine(tmp_path / "none" / "conductor").export_bundle([PAYMENT], tmp_path / "b.tzst")
    assert not (tmp_path / "none").exists() and not (tmp_path / "b.tzst").exists()


def test_a_registry_entry_with_an_unknown_status_is_made_from_track_json(seed_root, tmp_path):
    """An exported entry the lifecycle could not work with (a hand-edited registry) is
    rebuilt from track.json, keeping its other fields."""
    files, ids = _good(seed_root)
    entry = {"track_id": PAYMENT, "status": "someday", "x_note": "kept"}
    bundle = write(
        tmp_path / "odd.tar.zst",
        _plain(files, ids, tracks=[{"track_id": PAYMENT, "registry_entry": entry}]),
    )
    target = tmp_path / "target"
    Engine(target).import_bundle(bundle)
    landed = _registry(target)["tracks"][PAYMENT]
    assert (landed["status"], landed["x_note"], landed["path"]) == ("paused", "kept", PAYMENT)


def test_the_manifest_is_first_and_vouches_for_every_entry(seed_root, tmp_path) -> None:
    bundle = tmp_path / "b.tar.zst"
    Engine(seed_root).export_bundle([PAYMENT, ACTIVE], bundle)
    import zstandard

    with (
        open(bundle, "rb") as raw,
        zstandard.ZstdDecompressor().stream_reader(raw) as reader,
        tarfile.open(fileobj=reader, mode="r|") as tar,
    ):
        members = [(m.name, tar.extractfile(m).read()) for m in tar]
    assert members[0][0] == "manifest.json"
    doc = json.loads(members[0][1])
    assert (doc["format"], doc["version"], doc["checkpoints"]) == ("conductor-bundle", 1, False)
    assert [t["track_id"] for t in doc["tracks"]] == [PAYMENT, ACTIVE]
    assert doc["files"] == [
        {"path": name, "sha256": sha(data), "size": len(data)} for name, data in members[1:]
    ]


def test_export_and_import_report_progress(seed_root: Path, tmp_path: Path) -> None:
    """Long exports and imports report as files go by (the CLI and the magic draw bars)."""
    seen: list[tuple[str, int, int]] = []
    bundle = tmp_path / "b.tar.zst"
    done = Engine(seed_root).export_bundle(
        [PAYMENT, ACTIVE], bundle, progress=lambda *report: seen.append(report)
    )
    count = done["files"]
    assert ("hash files", 0, count) in seen and ("hash files", count, count) in seen
    assert seen[-1] == ("write bundle", count, count)
    seen.clear()
    Engine(tmp_path / "target").import_bundle(bundle, progress=lambda *r: seen.append(r))
    assert seen[0] == ("read bundle", 0, count) and seen[-1] == ("read bundle", count, count)
    assert len(seen) == count + 1
