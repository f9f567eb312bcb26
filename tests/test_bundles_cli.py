"""`conductor export` and `conductor import` as a user runs them: real processes, a
bundle file named relative to the working directory, --json, and one line on stderr
(exit code 1) for a bundle that is refused."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from bundle_archives import manifest, picture, regular, special, write
from cli_process import conductor_in

PAYMENT = "track-payment-retry-bugfix-1795583994663"
ACTIVE = "track-search-refactor-1795583994875"


def test_export_then_import_into_another_root(seed_root: Path, tmp_path: Path) -> None:
    exported = conductor_in(
        tmp_path, "--root", str(seed_root), "export", "Payment retry bugfix", ACTIVE, "-o", "b.tzst"
    )
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.startswith("exported 2 tracks (")
    assert (tmp_path / "b.tzst").is_file()

    other = tmp_path / "other" / "conductor"
    first = conductor_in(tmp_path, "import", "b.tzst", "--json", env_root=other)
    assert first.returncode == 0, first.stderr
    done = json.loads(first.stdout)
    assert sorted(t["track_id"] for t in done["tracks"]) == sorted([PAYMENT, ACTIVE])
    assert (done["renamed"], done["paused"]) == ({}, [ACTIVE])

    second = conductor_in(tmp_path, "import", "b.tzst", env_root=other)
    assert second.returncode == 0, second.stderr
    assert second.stdout.count("(its id was in use)") == 2
    assert f"{PAYMENT} is now track-payment-retry-bugfix-" in second.stdout
    listed = json.loads(conductor_in(tmp_path, "list", "--json", env_root=other).stdout)
    assert len(listed) == 4 and {t["status"] for t in listed} == {"paused"}


def test_checkpoints_come_along_when_asked(seed_root: Path, tmp_path: Path) -> None:
    made = conductor_in(tmp_path, "--root", str(seed_root), "checkpoint", PAYMENT)
    assert made.returncode == 0, made.stderr
    for flag, count in (("--checkpoints", 1), (None, 0)):
        bundle = tmp_path / f"b{count}.tar.zst"
        args = ["export", PAYMENT, "-o", str(bundle)] + ([flag] if flag else [])
        assert conductor_in(tmp_path, "--root", str(seed_root), *args).returncode == 0
        target = tmp_path / f"root{count}"
        assert conductor_in(tmp_path, "import", str(bundle), env_root=target).returncode == 0
        listed = conductor_in(tmp_path, "checkpoints", PAYMENT, "--json", env_root=target)
        ours = [c for c in json.loads(listed.stdout) if c.get("checkpoint_id", "").startswith("c")]
        assert len(ours) == count


def test_a_refused_bundle_is_one_line_and_writes_nothing(seed_root: Path, tmp_path: Path):
    track_json = (seed_root / "tracks" / PAYMENT / "track.json").read_bytes()
    files = {f"tracks/{PAYMENT}/track.json": track_json}
    link = f"tracks/{PAYMENT}/context/notes.md"
    bundle = write(
        tmp_path / "evil.tar.zst",
        [
            regular("manifest.json", manifest(files, [PAYMENT])),
            *[regular(n, d) for n, d in files.items()],
            special(link, tarfile.SYMTYPE, "/etc/shadow"),
        ],
    )
    before = picture(seed_root)
    refused = conductor_in(tmp_path, "--root", str(seed_root), "import", bundle.name)
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert f"entry {link!r} is a symbolic link" in refused.stderr
    assert picture(seed_root) == before
    fresh = tmp_path / "fresh" / "conductor"
    assert conductor_in(tmp_path, "import", bundle.name, env_root=fresh).returncode == 1
    assert not (tmp_path / "fresh").exists()


def test_export_mistakes_are_one_line(seed_root: Path, tmp_path: Path) -> None:
    no_output = conductor_in(tmp_path, "--root", str(seed_root), "export", PAYMENT)
    assert no_output.returncode == 2 and "-o/--output" in no_output.stderr
    unknown = conductor_in(tmp_path, "--root", str(seed_root), "export", "nope", "-o", "x.tzst")
    assert unknown.returncode == 1 and "nope" in unknown.stderr
    assert not (tmp_path / "x.tzst").exists()
