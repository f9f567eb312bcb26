"""The REST API of the JupyterLab extension, through a real Jupyter server (the one the
browser tests start): the server's own auth guards it, every verb reaches the files,
errors are one JSON line, and a change made by another process changes the signature
the front end polls."""

from __future__ import annotations

import http.cookiejar
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from browser.labserver import running_lab
from cli_process import conductor_in

from conductor_nb.engine import Engine


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A server whose tracks are in ``lab.tracks_root``: "Alpha" active with a step,
    "Beta" ready, "Gamma" paused."""
    base = tmp_path_factory.mktemp("lab-api")
    root = base / "tracks-root"
    engine = Engine(root)
    ids = {}
    for name in ("Alpha", "Beta", "Gamma"):
        ids[name] = engine.create(name=name, type="feature")["track_id"]
    engine.transition("Gamma", "activate")
    engine.transition("Gamma", "pause")
    engine.transition("Alpha", "activate")
    engine.transition("Beta", "ready")
    engine.add_step("Alpha", "write the parser")
    with running_lab(base, {"CONDUCTOR_ROOT": str(root)}) as server:
        server.tracks_root, server.ids = root, ids
        yield server


def call(lab, path: str, body=None, *, token: bool = True, method: str | None = None):
    """(status, JSON answer) of ``/conductor/api/<path>``."""
    headers = {"Authorization": f"token {lab.token}"} if token else {}
    data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{lab.url}/conductor/api/{path}", data=data, headers=headers, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        with err:
            return err.code, json.loads(err.read() or b"{}")


def on_disk(lab, track_id: str) -> dict:
    return json.loads((lab.tracks_root / "tracks" / track_id / "track.json").read_text())


def test_without_the_token_nothing_is_answered_or_changed(lab):
    beta = lab.ids["Beta"]
    assert call(lab, "tracks", token=False)[0] == 403
    assert call(lab, f"tracks/{beta}", token=False)[0] == 403
    assert call(lab, "signature", token=False)[0] == 403
    assert call(lab, f"tracks/{beta}/cancel", {}, token=False)[0] == 403
    assert call(lab, f"tracks/{beta}/decisions", {"summary": "x"}, token=False)[0] == 403
    assert on_disk(lab, beta)["status"] == "ready"


def test_a_post_with_the_login_cookie_but_no_xsrf_token_is_refused(lab):
    """A page of another site cannot make the browser post with the user's cookie."""
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    browser.open(f"{lab.url}/lab?token={lab.token}", timeout=60).close()  # logged in
    assert any(cookie.name.startswith("username-") for cookie in jar)
    with browser.open(f"{lab.url}/conductor/api/tracks", timeout=30) as response:
        assert json.loads(response.read())["total"] == 3  # the cookie works for reading
    beta = lab.ids["Beta"]
    post = urllib.request.Request(
        f"{lab.url}/conductor/api/tracks/{beta}/cancel", data=b"{}", method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        browser.open(post, timeout=30)
    with refused.value as answer:
        assert answer.code == 403
        assert "_xsrf" in json.loads(answer.read())["message"]
    assert on_disk(lab, beta)["status"] == "ready"


def test_the_board_lists_tracks_with_their_transitions_and_filters(lab):
    status, board = call(lab, "tracks")
    assert status == 200
    assert board["root"] == str(lab.tracks_root)
    assert board["active"]["name"] == "Alpha"
    assert board["active"]["verbs"] == ["pause", "complete", "fail"]
    by_name = {t["name"]: t for t in board["tracks"]}
    assert set(by_name) == {"Alpha", "Beta", "Gamma"}
    assert by_name["Gamma"]["verbs"] == ["resume", "fail", "cancel"]
    assert by_name["Alpha"]["progress"]["total_steps"] == 1
    paused = call(lab, "tracks?status=paused,ready")[1]
    assert {t["name"] for t in paused["tracks"]} == {"Beta", "Gamma"}
    assert paused["active"]["name"] == "Alpha"  # the active track whatever the filters
    assert [t["name"] for t in call(lab, "tracks?search=%20GAM")[1]["tracks"]] == ["Gamma"]
    status, answer = call(lab, "tracks?status=sleeping")
    assert status == 400 and "sleeping" in answer["error"]


def test_show_a_track_and_the_errors_are_one_json_line(lab):
    alpha = lab.ids["Alpha"]
    status, shown = call(lab, f"tracks/{alpha}")
    assert status == 200
    assert shown["track"]["name"] == "Alpha" and shown["verbs"] == ["pause", "complete", "fail"]
    status, missing = call(lab, "tracks/track-nothing-here")
    assert status == 404
    assert set(missing) == {"error"} and "track-nothing-here" in missing["error"]
    assert "\n" not in missing["error"]
    status, refused = call(lab, f"tracks/{lab.ids['Beta']}/complete", {})
    assert status == 409 and "cannot complete" in refused["error"]
    status, unknown = call(lab, f"tracks/{alpha}/explode", {})
    assert status == 400 and "unknown action 'explode'" in unknown["error"]
    status, bad = call(lab, f"tracks/{alpha}/decisions", b"{not json")
    assert status == 400 and bad == {"error": "the request body is not JSON"}
    assert on_disk(lab, lab.ids["Beta"])["status"] == "ready"


def test_steps_decisions_and_checkpoints_are_listed_and_created(lab):
    alpha = lab.ids["Alpha"]
    status, added = call(lab, f"tracks/{alpha}/steps", {"name": "test the parser"})
    assert status == 201 and added["step"]["name"] == "test the parser"
    steps = call(lab, f"tracks/{alpha}/steps")[1]["steps"]
    assert [s["name"] for s in steps] == ["write the parser", "test the parser"]
    status, done = call(lab, f"tracks/{alpha}/steps/1/complete", {})
    assert status == 200 and done["step"]["status"] == "completed"
    assert on_disk(lab, alpha)["steps"][0]["status"] == "completed"

    for summary in ("Use PEG", "Keep <b>tokens</b> small"):
        status, _ = call(lab, f"tracks/{alpha}/decisions", {"summary": summary})
        assert status == 201
    latest = call(lab, f"tracks/{alpha}/decisions?latest=1")[1]["decisions"]
    assert [d["summary"] for d in latest] == ["Keep <b>tokens</b> small"]
    decisions_file = lab.tracks_root / "tracks" / alpha / "context" / "decisions.json"
    assert "Use PEG" in decisions_file.read_text()
    status, answer = call(lab, f"tracks/{alpha}/decisions", {"rationale": "no summary"})
    assert status == 400 and "summary" in answer["error"]

    status, made = call(lab, f"tracks/{alpha}/checkpoints", {"reason": "before the rewrite"})
    assert status == 201
    checkpoint_id = made["checkpoint"]["checkpoint_id"]
    listed = call(lab, f"tracks/{alpha}/checkpoints")[1]["checkpoints"]
    assert listed[0]["checkpoint_id"] == checkpoint_id  # newest first
    assert listed[0]["reason"] == "before the rewrite"
    manifest = lab.tracks_root / "tracks" / alpha / "checkpoints" / f"{checkpoint_id}.json"
    assert json.loads(manifest.read_text())["reason"] == "before the rewrite"


def test_lifecycle_verbs_reach_the_disk_and_switch_makes_room(lab):
    alpha, beta, gamma = (lab.ids[n] for n in ("Alpha", "Beta", "Gamma"))
    status, refused = call(lab, f"tracks/{beta}/activate", {})
    assert status == 409 and "only one track can be active" in refused["error"]
    status, switched = call(lab, f"tracks/{beta}/switch", {"reason": "urgent"})
    assert status == 200 and switched["track"]["status"] == "active"
    assert on_disk(lab, alpha)["status"] == "paused"
    assert on_disk(lab, beta)["status"] == "active"
    status, paused = call(lab, f"tracks/{beta}/pause", {"reason": "lunch"})
    assert status == 200 and paused["message"] == "Beta is now paused"
    status, _ = call(lab, f"tracks/{gamma}/cancel", {"reason": "not needed"})
    assert status == 200 and on_disk(lab, gamma)["status"] == "cancelled"
    status, _ = call(lab, f"tracks/{beta}/resume", {})
    assert status == 200 and on_disk(lab, beta)["status"] == "active"
    assert call(lab, "tracks")[1]["active"]["track_id"] == beta


def test_the_signature_changes_when_another_process_changes_a_track(lab, tmp_path: Path):
    first = call(lab, "signature")[1]["signature"]
    assert call(lab, "signature")[1]["signature"] == first  # nothing changed: the same
    done = conductor_in(tmp_path, "decide", "Chosen from a terminal", env_root=lab.tracks_root)
    assert done.returncode == 0, done.stderr
    second = call(lab, "signature")[1]["signature"]
    assert second != first  # a decision of the active track: not in the registry
    done = conductor_in(tmp_path, "pause", env_root=lab.tracks_root)
    assert done.returncode == 0, done.stderr
    assert call(lab, "signature")[1]["signature"] not in (first, second)
    assert call(lab, "tracks")[1]["active"] is None


READ_ONLY_AUTHORIZER = """
from jupyter_server.auth import Authorizer


class ReadOnlyTracks(Authorizer):
    def is_authorized(self, handler, user, action, resource):
        return not (resource == "conductor" and action == "write")
"""


@pytest.fixture(scope="module")
def read_only_lab(tmp_path_factory):
    """A server whose authorizer lets users read tracks but not change them."""
    base = tmp_path_factory.mktemp("lab-api-read-only")
    (base / "modules").mkdir()
    (base / "modules" / "read_only_tracks.py").write_text(READ_ONLY_AUTHORIZER)
    config = base / "JUPYTER_CONFIG_DIR"
    config.mkdir()
    (config / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"authorizer_class": "read_only_tracks.ReadOnlyTracks"}})
    )
    root = base / "tracks-root"
    track_id = Engine(root).create(name="Alpha", type="feature")["track_id"]
    env = {"CONDUCTOR_ROOT": str(root), "PYTHONPATH": str(base / "modules")}
    with running_lab(base, env) as server:
        server.tracks_root, server.ids = root, {"Alpha": track_id}
        yield server


def test_the_servers_authorizer_decides_who_may_change_tracks(read_only_lab):
    lab, alpha = read_only_lab, read_only_lab.ids["Alpha"]
    status, board = call(lab, "tracks")
    assert status == 200 and [t["name"] for t in board["tracks"]] == ["Alpha"]
    assert call(lab, f"tracks/{alpha}/ready", {})[0] == 403
    assert call(lab, f"tracks/{alpha}/decisions", {"summary": "no"})[0] == 403
    assert on_disk(lab, alpha)["status"] == "draft"
    assert Engine(lab.tracks_root).decisions(alpha) == []
