"""Where a run's results go, so that finished work is never lost to a bad path.

Every output path (--rtsent-records, --benchmark-json, --rtsent-save) is checked when pytest starts,
by writing a probe there; files are written atomically (rtsent.schema.records.write_atomic) and, when a write
still fails (a full disk, a read-only mount), kept in the system temp folder under a name the one
warning line gives. One records file is written by one run at a time (an advisory lock beside it), and
a records file only ever gains or replaces records. No torch here.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rtsent.schema.records import RecordsError, new_mode, read_document, records_of, write_atomic

PROBE_BYTES = 4096  # one block: a full disk refuses it (an empty file would still be created)


def _reason(error: BaseException) -> str:
    """An OSError's words ("No space left on device"), without the path the message names already."""
    return getattr(error, "strerror", None) or str(error)


def check_writable(option: str, path: str | Path, *, folder: bool = False) -> None:
    """RecordsError (one line naming the option and the path) unless a file can be written at `path`, or
    (`folder`) inside the folder `path`, created if missing: a missing folder, a folder where a file goes,
    a read-only file system, no space or no permission show now, not after the training."""
    target = Path(path)
    if folder:
        if target.exists() and not target.is_dir():
            raise RecordsError(f"{option}={str(path)!r} is a file; give a folder (created if missing)")
        where = target
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise RecordsError(f"{option}={str(path)!r}: the folder cannot be created ({_reason(error)})") from None
    else:
        if target.is_dir():
            raise RecordsError(f"{option}={str(path)!r} is a folder; give a file's path")
        where = target.parent
        if not where.is_dir():
            raise RecordsError(
                f"{option}={str(path)!r}: folder {str(where)!r} does not exist; create it or give another path"
            )
    try:
        with tempfile.NamedTemporaryFile(dir=where, prefix=".rtsent-probe-") as probe:
            probe.write(b"\0" * PROBE_BYTES)
            probe.flush()
            os.fsync(probe.fileno())  # a full disk may accept the write into the page cache and refuse it here
    except OSError as error:
        raise RecordsError(
            f"{option}={str(path)!r} cannot be written ({_reason(error)} in {str(where)!r}); give a writable path"
        ) from None


def fallback_path(option: str, path: str | Path) -> Path:
    """Where `write_kept` keeps a file it could not write to `path`: the system temp folder, one name per
    run and option (so each rewrite replaces the last)."""
    return Path(tempfile.gettempdir()) / f"rtsent-{os.getpid()}-{option.strip('-')}-{Path(path).name}"


def write_kept(option: str, path: str | Path, text: str) -> str | None:
    """Write `text` to `path` atomically; None when done. When that fails, write it to `fallback_path`
    and return the one line that says so (what failed, why, and where the finished cases are)."""
    try:
        write_atomic(path, text)
        return None
    except (OSError, RecordsError) as error:
        reason = _reason(error)
    kept = fallback_path(option, path)
    try:
        write_atomic(kept, text)
    except (OSError, RecordsError) as error:
        return f"rtsent: {option}={str(path)!r} not written ({reason}), nor its copy {str(kept)!r} ({_reason(error)})"
    return f"rtsent: {option}={str(path)!r} not written ({reason}); every finished case is in {str(kept)!r}"


def earlier_records(path: str | Path) -> list[dict[str, Any]]:
    """The records already in the records file `path`, kept when this run rewrites it; none when it does
    not exist or is empty. RecordsError (one line) when it holds anything else: it is not overwritten."""
    target = Path(path)
    if not target.is_file() or target.stat().st_size == 0:
        return []
    try:
        return records_of(read_document(target))
    except RecordsError as error:
        raise RecordsError(
            f"--rtsent-records: {error}; rtsent would replace it: move it away or give another file"
        ) from None


def lock_records(path: str | Path) -> Callable[[], None]:
    """Hold an advisory lock (fcntl.flock) on PATH.lock for the session, the holder's pid in it; returns
    the function that releases it. RecordsError (one line naming the file and the holder's pid) when another
    run holds it: two runs rewriting one records file would each drop the other's records."""
    lock = Path(f"{path}.lock")
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, new_mode())
        except OSError as error:
            reason = _reason(error)
            raise RecordsError(f"--rtsent-records={str(path)!r}: cannot create {str(lock)!r} ({reason})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RecordsError(
                f"--rtsent-records={str(path)!r} is being written by another run (pid {holder}, which holds "
                f"{str(lock)!r}); wait for it to end or give another file"
            ) from None
        with contextlib.suppress(FileNotFoundError):
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                break
        os.close(fd)  # its holder removed that file as this run opened it: lock the new one
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())

    def release() -> None:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()  # before unlocking: a run waiting on this file then sees it gone and retries
        os.close(fd)

    return release


# What says whose artifacts a --rtsent-save case folder holds: the weights and the evaluation splits (the
# training split's hash also follows --rtsent-max-train, which does not make the data another data).
ARTIFACT_IDENTITY = ("model_identity", "split_hashes.validation", "split_hashes.test")


def check_save_folder(folder: str | Path, current: dict[str, Any]) -> None:
    """RecordsError (one line naming both) when a case folder under `folder` (--rtsent-save) holds the
    artifacts of another model or data than `current` (a record's `model`, `data`, `model_identity` and
    `split_hashes`): this run would overwrite them silently, or leave a folder of mixed origins."""
    for saved_file in sorted(Path(folder).glob("*/record.json")):
        if saved_file.parent.name.startswith("."):
            continue  # a staging or replaced folder a killed run left (.CASE.partial-PID): no saved case
        try:
            saved = json.loads(saved_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # not a record rtsent wrote: nothing says whose it is
        if not isinstance(saved, dict):
            continue
        differs = [key for key in ARTIFACT_IDENTITY if _dig(saved, key) not in (None, _dig(current, key))]
        if differs:
            raise RecordsError(
                f"--rtsent-save={str(folder)!r} holds another model's or data's artifacts: {str(saved_file)!r} is "
                f"{_origin(saved)}, this run is {_origin(current)}; give another folder or empty this one"
            )


def _dig(record: dict[str, Any], dotted: str) -> Any:
    value: Any = record
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _origin(record: dict[str, Any]) -> str:
    """E.g. "model 'random:tiny' (config:8c0e41d2a9f1b3c7) on data 'rt-polarity' (validation 5bab47e1645c)"."""
    identity = record.get("model_identity")
    validation = str(_dig(record, "split_hashes.validation"))[:12]
    return f"model {record.get('model')!r} ({identity}) on data {record.get('data')!r} (validation {validation})"
