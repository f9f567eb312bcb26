"""Any file on disk, however damaged (issue 18): a realistic tree made by the CLI, one file
damaged at a time (deep nesting, NaN, truncation, a value of the wrong shape, byte flips,
invalid UTF-8), every reading command run in a real process. Each says one line naming
the file (never a traceback), `validate` reports it, and `repair` (`rebuild` for the
registry) mends it: `validate` is clean after, and every other file is byte for byte as
it was (backups/ apart)."""

from __future__ import annotations

import base64
import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from conductor_nb.engine import Engine
from conductor_nb.store.tree import JOURNAL_NAME

FIXTURE_SNAPSHOTS = (
    Path(__file__).resolve().parent / "fixtures" / "seed-conductor" / "conductor" / "context"
)
SNAPSHOT = "snap-auto-1795584028459-igoap7.json.gz"
DEEP = b"[" * 100_000 + b"]" * 100_000

# Every reading command: (arguments, the targets whose damage it must name when it reads them).
# "Beta" is paused with decisions, assumptions, runs and checkpoints; "Alpha" is active
# with a lease. The journal and the registry are read by every command of the registry.
EVERYWHERE = {"registry", "journal"}
READERS: list[tuple[tuple[str, ...], set[str]]] = [
    (("list",), EVERYWHERE),
    (("get-active",), EVERYWHERE),
    (("status",), EVERYWHERE),
    (("stats",), EVERYWHERE),
    (("board",), EVERYWHERE),
    (("show", "Beta"), EVERYWHERE | {"track", "decisions"}),
    (("decisions", "Beta"), EVERYWHERE | {"decisions"}),
    (("assumptions", "Beta"), EVERYWHERE | {"assumptions"}),
    (("context", "Beta"), EVERYWHERE | {"track", "decisions", "project"}),
    (("project",), {"project"}),
    (("run", "list", "--track", "Beta"), EVERYWHERE | {"run"}),
    (("checkpoints", "Beta"), EVERYWHERE | {"manifest"}),
    (("checkpoints",), EVERYWHERE | {"snapshot"}),
    (("detect",), EVERYWHERE | {"run", "lease"}),
]

# Values of a target that must be an object or a list (a scalar there is damage), by path.
CONTAINERS: dict[str, list[tuple]] = {
    "registry": [(), ("tracks",), ("tracks", "BETA"), ("tracks", "BETA", "progress")],
    "track": [(), ("context",), ("steps",), ("history",), ("progress",)],
    "decisions": [(), (0,)],
    "assumptions": [(), (0,)],
    "project": [(), ("rules",), ("stack",), ("agents",)],
    "run": [()],
    "manifest": [(), ("files",), ("files", 0), ("metadata",), ("decisions",)],
    "lease": [()],
    "journal": [(), ("writes",), ("writes", 0)],
    "snapshot": [()],
}


def _cli(root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "conductor_nb.cli", *args],
        env={**os.environ, "CONDUCTOR_ROOT": str(root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def conductor(root: Path, *args: str) -> tuple[int, str, str]:
    process = _cli(root, *args)
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err


def _in_parallel(root: Path, commands: list[tuple[str, ...]]) -> list[tuple[int, str, str]]:
    """Run read-only commands two at a time (the machine may have two cores)."""
    results = []
    for start in range(0, len(commands), 2):
        running = [_cli(root, *args) for args in commands[start : start + 2]]
        for process in running:
            out, err = process.communicate(timeout=60)
            results.append((process.returncode, out, err))
    return results


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> tuple[Path, dict[str, Path], bytes]:
    """The tree, made by the CLI, the file of each target in it, and a journal's text."""
    root = tmp_path_factory.mktemp("pristine") / ".claude" / "conductor"
    steps = [
        ("create", "--name", "Alpha", "--type", "feature", "--goal", "Sign in"),
        ("create", "--name", "Beta", "--type", "bugfix", "--goal", "Fix it"),
        ("create", "--name", "Gamma", "--goal", "g"),
        ("create", "--name", "Delta", "--goal", "d"),
        ("activate", "Beta"),
        ("decide", "Use PKCE", "--rationale", "no secret in the browser"),
        ("assume", "Users have an email address"),
        ("run", "create", "nightly"),
        ("run", "start", "1"),
        ("run", "finish", "1"),
        ("run", "create", "second"),
        ("checkpoint", "--reason", "first"),
        ("pause", "--reason", "lunch"),
        ("activate", "Alpha"),
        ("decide", "Alpha decision"),
        ("step", "add", "Write it"),
        ("ready", "Gamma"),
        ("cancel", "Delta", "--reason", "not needed"),
        ("project", "--add-rule", "Be kind", "--add-stack", "python"),
    ]
    for args in steps:
        code, _, err = conductor(root, *args)
        assert code == 0, (args, err)
    engine = Engine(root)
    alpha, beta = engine.resolve("Alpha"), engine.resolve("Beta")
    engine.take_lease(alpha)
    snapshots = root / "context" / "snapshots"
    snapshots.mkdir(parents=True)
    shutil.copy(FIXTURE_SNAPSHOTS / "snapshots" / SNAPSHOT, snapshots / SNAPSHOT)
    tracks = root / "tracks"
    targets = {
        "registry": tracks / "track-registry.json",
        "track": tracks / beta / "track.json",
        "decisions": tracks / beta / "context" / "decisions.json",
        "assumptions": tracks / beta / "context" / "assumptions.json",
        "project": root / "project.json",
        "run": tracks / beta / "workflows" / engine.runs(beta)[0]["run_id"] / "run.json",
        "manifest": tracks / beta / "checkpoints" / "checkpoint-001.json",
        "lease": tracks / alpha / "lease.json",
        "journal": tracks / JOURNAL_NAME,
        "snapshot": snapshots / SNAPSHOT,
    }
    # A journal a killed writer left before its commit point (its registry checksum does
    # not match): sound, it is dropped; damaged, it must be reported, never dropped.
    journal = {
        "registry_crc": "1:00000000",
        "writes": [
            {
                "path": targets["decisions"].relative_to(engine.tree.base).as_posix(),
                "data": base64.b64encode(b"[]").decode("ascii"),
            }
        ],
        "deletes": [],
    }
    code, out, _ = conductor(root, "validate")
    assert code == 0, out
    return root, targets, json.dumps(journal, indent=2).encode()


def _files(root: Path) -> dict[str, bytes]:
    """Every regular file of a tree but backups/, lock files, the write-ahead log (each
    commit appends to it) and the registry's index (a cache of the registry: a rebuilt
    registry has a new one), by relative path."""
    found = {}
    for path in root.rglob("*"):
        relative = path.relative_to(root).as_posix()
        internal = ".lock" in path.name or path.name.startswith(".conductor-wal")
        internal = internal or relative == "tracks/.conductor-cache/registry-index"
        if path.is_file() and not relative.startswith("backups/") and not internal:
            found[relative] = path.read_bytes()
    return found


# -- damage ---------------------------------------------------------------------------


def _set(doc, where: tuple, value, *, inside: bool = False):
    """``doc`` with the value at ``where`` replaced (the whole doc for ()); ``inside``:
    added into the object or list found there instead."""
    if inside:
        found = doc
        for key in where:
            found = found[key]
        if isinstance(found, dict):
            found["x"] = value
            return doc
        if isinstance(found, list):
            found.append(value)
            return doc
    if not where:
        return value
    holder = doc
    for key in where[:-1]:
        holder = holder[key]
    holder[where[-1]] = value
    return doc


def _resolve(where: tuple, beta: str) -> tuple:
    return tuple(beta if key == "BETA" else key for key in where)


@st.composite
def damage(draw, text: bytes, target: str, beta: str) -> tuple[str, bytes]:
    """(how, damaged bytes) of a JSON file's ``text``."""
    how = draw(st.sampled_from(["deep", "nan", "truncate", "shape", "flip", "utf8"]))
    doc = json.loads(text)
    if how == "deep":
        where = _resolve(draw(st.sampled_from(CONTAINERS[target])), beta)
        return how, json.dumps(_set(doc, where, "DEEP")).encode().replace(b'"DEEP"', DEEP)
    if how == "nan":
        where = _resolve(draw(st.sampled_from(CONTAINERS[target])), beta)
        value = draw(st.sampled_from([float("nan"), float("inf"), float("-inf")]))
        return how, json.dumps(_set(doc, where, value, inside=True)).encode()
    if how == "truncate":
        return how, text[: draw(st.integers(0, len(text) - 1))]
    if how == "shape":
        where = _resolve(draw(st.sampled_from(CONTAINERS[target])), beta)
        # null stands for "none" inside a file (no progress, no rules): wrong only at the top
        value = draw(st.sampled_from([7, "text", True, 1.5] + ([None] if not where else [])))
        return how, json.dumps(_set(doc, where, value)).encode()
    data = bytearray(text)
    if how == "utf8":
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80"]))
        return how, bytes(data)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data) - 1))
        data[at] ^= 1 << draw(st.integers(0, 7))
    return how, bytes(data)


def _unreadable(how: str, raw: bytes) -> bool:
    """Whether the damage leaves a file no strict JSON reader can use (a flip may not)."""
    if how != "flip":
        return True

    def refuse(name: str):
        raise ValueError(name)

    try:
        json.loads(raw.decode("utf-8"), parse_constant=refuse)
    except (ValueError, RecursionError):
        return True
    return False


def _damage(draw, path: Path, target: str, beta: str, journal: bytes) -> tuple[str, bool]:
    """Damage the target's file at ``path`` (in a copy of the pristine tree): how, and
    whether it is now unreadable for sure."""
    if target == "journal":
        text = journal
    elif target == "snapshot":
        text = gzip.decompress(path.read_bytes())
    else:
        text = path.read_bytes()
    how, raw = draw(damage(text, target, beta))
    unreadable = _unreadable(how, raw)
    if target == "snapshot":
        raw = gzip.compress(raw, mtime=0)
    path.write_bytes(raw)
    return how, unreadable


# -- the test -------------------------------------------------------------------------


def _check_readers(root: Path, path: Path, target: str, unreadable: bool) -> None:
    results = _in_parallel(root, [args for args, _ in READERS])
    for (args, names), (code, _, err) in zip(READERS, results, strict=True):
        what = f"conductor {' '.join(args)} with {target} damaged"
        assert "Traceback" not in err, f"{what}: {err}"
        assert code in (0, 1), f"{what}: exit {code}: {err}"
        if code:
            assert err.startswith("error: ") and err.count("\n") == 1, f"{what}: {err!r}"
        else:
            assert err == "", f"{what}: {err!r}"
        if unreadable and target in names:
            assert code == 1 and str(path) in err, f"{what} does not name {path}: {err!r}"


def _check_mended(root: Path, path: Path, target: str, unreadable: bool, before) -> None:
    code, out, err = conductor(root, "validate", "--json")
    assert "Traceback" not in err and code in (0, 1), err
    if unreadable:
        assert code == 1 and any(str(path) in p["message"] for p in json.loads(out)), out
    fix = "rebuild" if target == "registry" else "repair"
    code, out, err = conductor(root, fix)
    assert (code, err) == (0, ""), f"{fix}: {err}"
    code, out, err = conductor(root, "validate", "--json")
    assert (code, json.loads(out), err) == (0, [], ""), f"after {fix}: {out} {err}"
    after = _files(root)
    changed = {rel for rel in before.keys() | after.keys() if before.get(rel) != after.get(rel)}
    allowed = {path.relative_to(root).as_posix()}
    if target == "track" and not unreadable:  # a readable track.json is saved with its entry
        allowed.add("tracks/track-registry.json")
    assert changed <= allowed, f"{fix} after {target} damage changed {sorted(changed - allowed)}"
    kept = list((root / "backups").iterdir()) if (root / "backups").is_dir() else []
    assert kept or not unreadable, "nothing kept in backups/"


def test_any_damaged_file_gives_one_line_and_repair_mends_it(
    pristine, tmp_path_factory, run_seed
) -> None:
    """Hypothesis draws the file and the damage (seeded from the run's seed)."""
    source, targets, journal = pristine
    before = _files(source)
    beta = targets["track"].parent.name

    @seed(run_seed)
    @settings(
        max_examples=int(os.environ.get("CONDUCTOR_DAMAGE_EXAMPLES", "18")),
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(data=st.data(), target=st.sampled_from(sorted(targets)))
    def one_damaged_file(data, target: str) -> None:
        root = tmp_path_factory.mktemp("damaged") / ".claude" / "conductor"
        shutil.copytree(source, root)
        path = root / targets[target].relative_to(source)
        how, unreadable = _damage(data.draw, path, target, beta, journal)
        try:
            _check_readers(root, path, target, unreadable)
            _check_mended(root, path, target, unreadable, before)
        except AssertionError as err:
            raise AssertionError(f"{target} damaged by {how}: {err}") from None
        shutil.rmtree(root.parents[1])

    one_damaged_file()


@pytest.mark.parametrize("target", ["registry", "track", "decisions", "project", "run", "manifest"])
def test_deep_nesting_in_any_file_is_one_line_everywhere(pristine, tmp_path, target) -> None:
    """The issue's first report, for each file it names: 100,000 levels of nesting."""
    source, targets, _ = pristine
    root = tmp_path / ".claude" / "conductor"
    shutil.copytree(source, root)
    path = root / targets[target].relative_to(source)
    path.write_bytes(DEEP)
    _check_readers(root, path, target, unreadable=True)


# -- the reading path, in process ---------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shape", "reason"),
    [
        (DEEP, None, "nested too deeply"),
        (b'{"a": NaN}', dict, "NaN"),
        (b"[Infinity]", list, "Infinity"),
        (b'{"a": -Infinity}', dict, "-Infinity"),
        (b'{"a": "\xff"}', dict, "utf-8"),
        (b"\xff\xfe{\x00}\x00", dict, "utf-8"),  # UTF-16 is not accepted by guessing
        (b'{"a": 1', dict, "Expecting"),
        (b"", dict, "Expecting value"),
        (b"[]", dict, "not an object but a list"),
        (b"{}", list, "not a list but an object"),
        (b"null", dict, "not an object but null"),
        (b"1" * 5000, None, "limit"),  # beyond Python's integer-string limit
    ],
)
def test_the_one_reader_refuses_what_it_cannot_use(tmp_path, raw, shape, reason) -> None:
    from conductor_nb.errors import CorruptFile
    from conductor_nb.store import files

    path = tmp_path / "some.json"
    path.write_bytes(raw)
    with pytest.raises(CorruptFile) as refused:
        files.read_json(path, fix="conductor repair", shape=shape)
    line = str(refused.value)
    assert reason in refused.value.reason and str(path) in line and "\n" not in line
    assert line.endswith("(run `conductor repair`)")


def test_unknown_keys_and_deep_but_sane_values_are_no_damage(tmp_path) -> None:
    from conductor_nb.store import files

    path = tmp_path / "track.json"
    doc = {"track_id": "t", "mine": {"nested": [[[[1, "x", None, 1.5e300]]]]}}
    path.write_text(json.dumps(doc))
    assert files.read_json(path, fix="conductor repair", shape=dict) == doc


def test_a_damaged_journal_is_refused_then_kept_in_backups_not_dropped(root) -> None:
    """It may hold the only copy of a committed change: every reading refuses it with one
    line until repair sets it aside (a copy in backups/) and says so."""
    from conductor_nb.errors import CorruptFile

    engine = Engine(root)
    engine.create("Journaled", goal="g")
    journal = engine.tree.journal_path
    damaged = b'{"registry_crc": null, "writes": [{"path": "x", "data": "%%"}]}'
    journal.write_bytes(damaged)
    with pytest.raises(CorruptFile) as refused:
        Engine(root).list()
    assert refused.value.path == str(journal) and "conductor repair" in str(refused.value)
    problems = Engine(root).validate()
    assert [(p.kind, p.fix) for p in problems] == [("corrupt-file", "conductor repair")]
    assert str(journal) in problems[0].message
    done = Engine(root).repair()
    assert len(done) == 1 and "journal" in done[0] and "not replayed" in done[0]
    assert not journal.exists()
    assert [p.read_bytes() for p in (root / "backups").iterdir()] == [damaged]
    assert Engine(root).validate() == []


def test_a_sound_journal_is_still_rolled_forward(root) -> None:
    """The commit protocol is unchanged: a journal whose registry checksum matches (here:
    none, a commit of small files only) is replayed by the next reader."""
    engine = Engine(root)
    track_id = engine.create("Journaled", goal="g")["track_id"]
    decisions = engine.tree.track_file(track_id, "context", "decisions.json")
    journal = {
        "registry_crc": None,
        "writes": [
            {
                "path": decisions.relative_to(engine.tree.base).as_posix(),
                "data": base64.b64encode(b'[{"id": "decision-1"}]').decode("ascii"),
            }
        ],
        "deletes": [],
    }
    engine.tree.journal_path.write_text(json.dumps(journal))
    assert Engine(root).decisions(track_id) == [{"id": "decision-1"}]
    assert not engine.tree.journal_path.exists()


def test_repair_says_what_it_put_in_place_of_each_kind(root) -> None:
    """A run with no checkpoint becomes an interrupted run record; a lease and a manifest
    are removed (the checkpoint said to be unusable); each is kept in backups/ first."""
    engine = Engine(root)
    track_id = engine.create("Mended", goal="g")["track_id"]
    engine.transition(track_id, "activate")
    run_id = engine.create_run(track_id, "lonely")["run_id"]
    engine.take_lease(track_id)
    engine.create_checkpoint(track_id, reason="r")
    tree = engine.tree
    damaged = {
        tree.track_file(track_id, "workflows", run_id, "run.json"): b'{"run_id": "run-9-x"}',
        tree.track_file(track_id, "lease.json"): b"[]",
        tree.track_file(track_id, "checkpoints", "checkpoint-001.json"): b'{"a": NaN}',
    }
    # the one checkpoint holding this run.json is damaged too: the run becomes a record
    for path, data in damaged.items():
        path.write_bytes(data)
    kinds = [p.kind for p in Engine(root).validate()]
    assert kinds == ["corrupt-file"] * 3
    done = Engine(root).repair()
    assert any("rebuilt from nothing: an interrupted run record" in line for line in done)
    assert any("lease.json was unreadable" in line and "removed" in line for line in done)
    assert any("can no longer be restored" in line for line in done)
    run = Engine(root).run(track_id, run_id)
    assert (run["run_id"], run["status"]) == (run_id, "interrupted")
    assert [path.exists() for path in damaged] == [True, False, False]
    kept = sorted(p.read_bytes() for p in (root / "backups").iterdir())
    assert kept == sorted(damaged.values())
    assert Engine(root).validate() == []
