"""The registry's index (``tracks/.conductor-cache/registry-index``): a process that wrote
the registry leaves it at exit; the next one, if nobody has written the registry since,
reads ids, statuses, names and parents from it and decodes only the entries it reads.
Anything else (another program's write, a damaged or foreign index) is a full read, with
damage reported as before."""

from __future__ import annotations

import json
import marshal
import os
import random
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conductor_nb.engine import Engine
from conductor_nb.errors import ConductorError, DuplicateName
from conductor_nb.store.registry_index import SEP, IndexedTracks, index_path

NAMES = ["Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta"]


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONDUCTOR_ROOT": str(root)}
    return subprocess.run(
        [sys.executable, "-m", "conductor_nb.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _fresh(root: Path) -> Engine:
    """An engine that reads the registry from disk, as a new process does."""
    engine = Engine(root)
    engine.tree.registry.invalidate()
    return engine


def _full_read(root: Path) -> dict:
    return json.loads((root / "tracks" / "track-registry.json").read_text(encoding="utf-8"))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / ".claude" / "conductor"
    engine = Engine(root)
    ids = [engine.create(name, goal=f"goal of {name}")["track_id"] for name in NAMES]
    engine.set_parent(ids[1], ids[0])
    engine.transition(ids[2], "activate")
    engine.tree.registry.write_index()  # what this process leaves at exit
    return root


def test_a_cli_write_leaves_an_index_and_the_next_command_reads_through_it(tmp_path: Path):
    root = tmp_path / ".claude" / "conductor"
    for name in NAMES[:3]:
        assert _cli(root, "create", "--name", name, "--goal", "g").returncode == 0
    assert index_path(root / "tracks").is_file()
    with_index = _cli(root, "show", "Beta", "--json")
    listed = _cli(root, "list", "--json")
    index_path(root / "tracks").unlink()
    assert _cli(root, "show", "Beta", "--json").stdout == with_index.stdout
    assert _cli(root, "list", "--json").stdout == listed.stdout
    assert not index_path(root / "tracks").exists()  # a reader leaves none behind


def test_the_index_is_rewritten_in_place_and_a_shorter_one_is_read(root: Path):
    """Written over the last one (no temp file: a cache whose checksum rejects a torn
    one), cut to its new length: a shorter index after a longer one is read whole."""
    path = index_path(root / "tracks")
    inode, longer = path.stat().st_ino, path.stat().st_size
    engine = _fresh(root)
    engine.update("Epsilon", "name", "Eps")  # names shorter by four characters
    engine.tree.registry.write_index()
    assert path.stat().st_ino == inode
    assert path.stat().st_size < longer
    fresh = _fresh(root)
    assert isinstance(fresh.registry().tracks, IndexedTracks)
    assert fresh.registry().ids_named("Eps") == engine.registry().ids_named("Eps") != []
    assert fresh.registry().ids_named("Epsilon") == []


def test_a_torn_index_is_ignored(root: Path):
    """What a reader sees while the index is written, or a power cut leaves: the new
    text's start over the old text's rest."""
    path = index_path(root / "tracks")
    old = path.read_bytes()
    engine = _fresh(root)
    engine.create("Eta", goal="g")
    engine.tree.registry.write_index()
    new = path.read_bytes()
    assert len(new) > len(old)
    for cut in (len(old) // 3, len(old) // 2, len(old) - 1):
        path.write_bytes(new[:cut] + old[cut:])
        fresh = _fresh(root)
        assert not isinstance(fresh.registry().tracks, IndexedTracks)
        assert "Eta" in [e["name"] for e in fresh.list()]


def test_reading_one_track_decodes_one_entry(root: Path):
    engine = _fresh(root)
    tracks = engine.registry().tracks
    assert isinstance(tracks, IndexedTracks)
    beta = engine.resolve("Beta")  # by name: from the index
    track = engine.track(beta)
    assert track["name"] == "Beta"
    assert tracks.decoded == 1
    family = engine.family(beta)  # parents from the index
    assert family["parent_entry"]["name"] == "Alpha"
    assert tracks.decoded == 2
    assert engine.stats()["by_status"]["active"] == 1
    assert len(engine.list()) == len(NAMES)  # a listing decodes the rest once


def test_writes_through_a_lazily_read_registry_equal_a_full_read(root: Path):
    """Random verbs on a registry read through its index, each followed by the file
    compared with what a full read of it says and a fresh index read of it."""
    seed = random.randrange(1 << 30)
    print(f"seed {seed}")
    chosen = random.Random(seed)
    engine = _fresh(root)
    ids = [entry["track_id"] for entry in engine.list()]
    engine = _fresh(root)
    for step in range(12):
        track_id = chosen.choice(ids)
        verb = chosen.choice(["activate", "pause", "ready", "create", "rename", "step"])
        try:
            if verb == "create":
                ids.append(engine.create(f"New {step}", goal="g")["track_id"])
            elif verb == "rename":
                engine.update(track_id, "name", f"Renamed {step}")
            elif verb == "step":
                engine.add_step(track_id, f"Step {step}")
            else:
                engine.transition(track_id, verb, force=verb == "activate")
        except ConductorError:
            pass  # a verb this state refuses: refused as on any registry
        full = _full_read(root)
        assert engine.registry().encode() == json.dumps(full, indent=2, ensure_ascii=False)
        engine.tree.registry.write_index()
        again = _fresh(root)
        assert isinstance(again.registry().tracks, IndexedTracks)
        assert {e["track_id"]: e for e in again.list()} == full["tracks"]
        assert again.validate() == []
        engine = _fresh(root)  # the next step through the index again


def test_another_programs_write_is_read_in_full(root: Path):
    registry_path = root / "tracks" / "track-registry.json"
    doc = _full_read(root)
    beta = next(tid for tid, e in doc["tracks"].items() if e["name"] == "Beta")
    doc["tracks"][beta]["name"] = "Beta by hand"
    registry_path.write_text(json.dumps(doc, indent=2))  # in place, as an editor saves
    engine = _fresh(root)
    assert not isinstance(engine.registry().tracks, IndexedTracks)
    assert engine.resolve("Beta by hand") == beta


def test_a_registry_damaged_after_its_index_is_reported_as_before(root: Path):
    registry_path = root / "tracks" / "track-registry.json"
    text = registry_path.read_bytes()
    registry_path.write_bytes(text.replace(b'"Gamma"', b'"Gam\xffma"'))
    done = _cli(root, "show", "Alpha")
    assert done.returncode != 0
    assert "track-registry.json" in done.stderr and "conductor rebuild" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) // 2],  # cut short
        lambda raw: raw[:-9] + bytes(b ^ 0x5A for b in raw[-9:]),  # bytes flipped
        lambda raw: b"not an index",
        lambda raw: raw.replace(b"conductor registry index", b"conductor registry indey"),
        lambda raw: b"",
    ],
    ids=["truncated", "flipped", "garbage", "foreign header", "empty"],
)
def test_a_damaged_index_is_ignored(root: Path, damage):
    path = index_path(root / "tracks")
    path.write_bytes(damage(path.read_bytes()))
    engine = _fresh(root)
    assert not isinstance(engine.registry().tracks, IndexedTracks)
    assert [e["name"] for e in engine.list()] != []
    done = _cli(root, "show", "Beta", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["name"] == "Beta"


def test_an_index_of_an_older_registry_is_never_used(root: Path):
    stale = index_path(root / "tracks").read_bytes()
    engine = _fresh(root)
    engine.create("Eta", goal="g")
    index_path(root / "tracks").write_bytes(stale)  # a process that exited late
    assert not isinstance(_fresh(root).registry().tracks, IndexedTracks)
    assert "Eta" in [e["name"] for e in _fresh(root).list()]


def test_no_index_is_left_when_the_registry_changed_since(root: Path, monkeypatch):
    engine = _fresh(root)
    engine.create("Eta", goal="g")
    before = index_path(root / "tracks").read_bytes()
    registry_path = root / "tracks" / "track-registry.json"
    registry_path.write_text(registry_path.read_text() + "\n")  # another program wrote since
    engine.tree.registry.write_index()
    assert index_path(root / "tracks").read_bytes() == before


def test_no_index_is_written_while_another_writer_holds_the_lock(root: Path):
    engine = _fresh(root)
    engine.create("Eta", goal="g")
    before = index_path(root / "tracks").read_bytes()
    holder_code = (
        "import sys, time; from pathlib import Path;"
        "from conductor_nb.store.locking import lock_for;"
        "lock = lock_for(Path(sys.argv[1])); lock.acquire(); print('held', flush=True);"
        "time.sleep(30)"
    )
    command = [sys.executable, "-c", holder_code, str(root / "tracks")]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout.readline().strip() == "held"
            engine.tree.registry.write_index()  # gives up at once: an index is only a cache
        finally:
            holder.kill()
    assert index_path(root / "tracks").read_bytes() == before


def test_an_index_with_a_good_checksum_but_foreign_content_is_ignored(root: Path):
    """Made by hand or by another tool: checked field by field before use."""
    path = index_path(root / "tracks")
    raw = path.read_bytes()
    magic = raw[: raw.index(b"\n") + 1]
    signature, span, count, ids, statuses, names, parents = marshal.loads(raw[len(magic) + 4 :])
    assert count == len(NAMES) and ids.count(SEP) == count - 1 and list(parents.values())
    beta = ids.split(SEP)[1]
    for fields in (
        (signature, span, str(count), ids, statuses, names, parents),  # a count that is text
        (signature, span, count + 1, ids, statuses, names, parents),  # more than there are
        (signature, span, count, ids, statuses + SEP + "draft", names, parents),
        (signature, span, count, ids, statuses, names.split(SEP), parents),  # not one text
        (signature, span, count, ids.replace(beta, ids.split(SEP)[0]), statuses, names, parents),
        (signature, span, count, ids, statuses, names, {"track-unknown": beta}),
        (signature, span, count, ids, statuses, names, {beta: 7}),
        (signature, span, count, ids, statuses, names),  # a field missing
    ):
        body = marshal.dumps(fields)
        path.write_bytes(magic + zlib.crc32(body).to_bytes(4, "big") + body)
        engine = _fresh(root)
        assert not isinstance(engine.registry().tracks, IndexedTracks), fields
        assert engine.resolve("Beta")


def test_no_index_is_written_for_a_name_holding_its_separator(root: Path):
    """A name with the index's separator (a NUL, only by hand): no index, a full read."""
    registry_path = root / "tracks" / "track-registry.json"
    doc = _full_read(root)
    first = next(iter(doc["tracks"]))
    doc["tracks"][first]["name"] = "nul\u0000inside"
    registry_path.write_text(json.dumps(doc, indent=2))
    engine = _fresh(root)
    engine.registry()
    before = index_path(root / "tracks").read_bytes()
    engine.tree.registry.write_index()
    assert index_path(root / "tracks").read_bytes() == before  # left as it was: stale
    fresh = _fresh(root)
    assert not isinstance(fresh.registry().tracks, IndexedTracks)
    assert fresh.registry().ids_named("nul\x00inside") == [first]


def test_names_and_statuses_from_the_index_answer_as_a_full_read_does(root: Path):
    engine = _fresh(root)
    assert isinstance(engine.registry().tracks, IndexedTracks)
    with pytest.raises(DuplicateName):
        engine.create("Alpha", goal="again")  # a taken name, found without decoding
    gamma = engine.resolve("Gamma")
    assert engine.get_active()["track_id"] == gamma
    assert engine.registry().count("active") == 1 and engine.registry().count("draft") == 5
    engine.update(gamma, "name", "Gamma renamed")
    engine.create("Gamma", goal="the name is free now")
    assert {e["name"] for e in _full_read(root)["tracks"].values()} >= {"Gamma", "Gamma renamed"}
    assert engine.registry().count("draft") == 6


def test_list_json_cut_from_the_indexed_text_is_what_encoding_the_entries_gives(
    tmp_path: Path,
) -> None:
    """``conductor list --json`` on an indexed registry copies each entry's text from the
    file (re-indented as a list item) rather than encoding it: byte for byte the same,
    filtered and ordered as the listing is, names of any text included."""
    from conductor_nb.store.jsontext import dumps_indented

    root = tmp_path / ".claude" / "conductor"
    engine = Engine(root)
    names = ['Quote " and \\ slash', "Ünïcode 名前 \u2028", "Plain one"]
    goal = 'two lines:\n    "indented", as a goal may be'
    ids = [engine.create(name, goal=goal)["track_id"] for name in names]
    engine.transition(ids[1], "activate")
    engine.tree.registry.write_index()
    for args in ((), ("--status", "draft"), ("--status", "active")):
        fresh = _fresh(root)
        expected = dumps_indented(fresh.list(status=args[1] if args else None))
        registry = fresh.registry()
        assert isinstance(registry.tracks, IndexedTracks)
        listed = fresh.list(status=args[1] if args else None)
        assert registry.entries_json(listed) == expected.encode()
        done = _cli(root, "list", "--json", *args)
        assert done.returncode == 0, done.stderr
        assert done.stdout == expected + "\n"


def test_list_json_of_a_changed_registry_is_encoded_and_of_an_unindexed_one_cut(
    root: Path,
) -> None:
    """Cut from the text whenever the text is laid out as this code lays it out, index
    or not; encoded once the text no longer says the entries, or is laid out otherwise."""
    from conductor_nb.store.jsontext import dumps_indented

    engine = _fresh(root)
    registry = engine.registry()
    entries = engine.list()
    assert registry.entries_json(entries) == dumps_indented(entries).encode()
    registry.set_entry(entries[0]["track_id"], {**entries[0], "name": "Changed here"})
    assert registry.entries_json(engine.list()) is None  # the text no longer says it
    index_path(root / "tracks").unlink()
    again = _fresh(root)
    assert not isinstance(again.registry().tracks, IndexedTracks)
    listed = again.list()
    assert again.registry().entries_json(listed) == dumps_indented(listed).encode()
    done = _cli(root, "list", "--json")
    assert done.stdout == dumps_indented(_fresh(root).list()) + "\n"

    registry_path = root / "tracks" / "track-registry.json"
    registry_path.write_text(json.dumps(_full_read(root), indent=4))  # laid out otherwise
    other = _fresh(root)
    assert other.registry().entries_json(other.list()) is None
    done = _cli(root, "list", "--json")
    assert done.stdout == dumps_indented(_fresh(root).list()) + "\n"


def test_list_json_of_the_original_tools_registry_is_what_encoding_gives(tmp_path: Path):
    """The original tool lays JSON out as json.dumps(indent=2) does: its registry is cut."""
    import shutil

    from conductor_nb.store.jsontext import dumps_indented

    fixture = Path(__file__).resolve().parent / "fixtures" / "seed-conductor" / "conductor"
    shutil.copytree(fixture, tmp_path / "conductor")
    engine = Engine(tmp_path / "conductor")
    listed = engine.list()
    cut = engine.registry().entries_json(listed)
    assert cut is not None and cut == dumps_indented(listed).encode()
    assert json.loads(cut) == listed


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
    st.sampled_from(["\u2028", 'é\x00\x1f"\\/', ',\n    "', '": ']),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=12,
)
_ENTRIES = st.dictionaries(
    st.text(min_size=1, max_size=12),
    st.fixed_dictionaries(
        {"name": st.text(max_size=8), "progress": st.none() | st.just({"percent": 5})},
        optional={"x": _VALUES},
    ),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(_ENTRIES, st.booleans(), st.sampled_from([2, 4]), st.randoms(use_true_random=False))
def test_entries_cut_from_any_text_are_what_encoding_gives(
    tracks, ascii_only, indent, random
) -> None:
    """Whatever the ids and values hold (quotes, separators, line breaks as text), a cut
    listing is byte for byte the encoded one, in any order and any subset. A text laid
    out as this code lays it out without escapes is cut; one with escapes (where
    encoders differ) or laid out otherwise is encoded."""
    from conductor_nb.store.jsontext import dumps_indented
    from conductor_nb.store.registry import parse

    doc = {"version": "1.0", "tracks": tracks, "metadata": {"total_tracks": len(tracks)}}
    raw = json.dumps(doc, indent=indent, ensure_ascii=ascii_only).encode()
    registry = parse(raw, Path("track-registry.json"))
    entries = list(registry.tracks.values())
    random.shuffle(entries)
    chosen = entries[: random.randint(0, len(entries))]
    cut = registry.entries_json(chosen)
    if cut is not None:
        assert cut == dumps_indented(chosen).encode()
    ours = raw == dumps_indented(doc).encode()
    assert cut is not None or not (chosen and indent == 2 and ours and b"\\" not in raw)
