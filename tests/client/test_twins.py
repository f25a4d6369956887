"""Loading twins from the twins folder: the released layout, a flat copy, versions, tables."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

import lab
from lab.client.twins import find_twin, twins_dir


def _bundle(folder: Path, tables: dict[str, pd.DataFrame], *, version: str | None = None,
            main_table: str | None = None, csv_only: bool = False, flat: bool = False) -> Path:
    data = folder if flat else folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(data / f"{name}.csv", index=False)
        if not csv_only:
            frame.to_parquet(data / f"{name}.parquet", index=False)
    manifest = {"dataset": folder.parent.name, "main_table": main_table or next(iter(tables))}
    if version:
        manifest["version"] = version
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def _claims(n: int) -> pd.DataFrame:
    return pd.DataFrame({"age": list(range(20, 20 + n)), "region": ["wales"] * n})


@pytest.fixture
def released(tmp_path: Path) -> Path:
    root = tmp_path / "twins"
    _bundle(root / "welfare" / "v0001", {"claims": _claims(3)}, version="v0001")
    _bundle(root / "welfare" / "v0002", {"claims": _claims(5)}, version="v0002")
    (root / "welfare" / "v0003").mkdir()  # incomplete: no manifest, never read
    os.symlink("v0002", root / "welfare" / "latest")
    return root


def test_released_layout_reads_latest(released, monkeypatch):
    monkeypatch.setenv("LAB_TWINS_DIR", str(released))
    frame = lab.load_twin("welfare")
    assert isinstance(frame, pd.DataFrame) and len(frame) == 5
    assert find_twin("welfare").version == "v0002"


def test_without_a_latest_link_the_newest_complete_release_wins(released):
    (released / "welfare" / "latest").unlink()
    assert find_twin("welfare", directory=released).version == "v0002"


def test_an_older_version_on_request(released):
    assert len(lab.load_twin("welfare", version="v0001", directory=released)) == 3
    with pytest.raises(lab.TwinNotFound, match="use one of: v0001, v0002"):
        lab.load_twin("welfare", version="v0003", directory=released)


def test_polars(released):
    pl = pytest.importorskip("polars")
    frame = lab.load_twin("welfare", as_="polars", directory=released)
    assert isinstance(frame, pl.DataFrame) and frame.height == 5
    with pytest.raises(lab.BadQuery, match="as_='pandas' or as_='polars'"):
        lab.load_twin("welfare", as_="spark", directory=released)


@pytest.mark.parametrize("flat", [False, True], ids=["data-folder", "files-in-dataset-folder"])
def test_flat_copy(tmp_path, flat):
    _bundle(tmp_path / "welfare", {"claims": _claims(4)}, flat=flat)
    assert len(lab.load_twin("welfare", directory=tmp_path)) == 4
    assert find_twin("welfare", directory=tmp_path).path == tmp_path / "welfare"


def test_csv_when_there_is_no_parquet(tmp_path):
    _bundle(tmp_path / "welfare", {"claims": _claims(2)}, csv_only=True)
    assert lab.load_twin("welfare", directory=tmp_path)["age"].tolist() == [20, 21]


def test_multi_table_needs_table(tmp_path):
    _bundle(tmp_path / "census" / "v0001", {"households": _claims(2), "persons": _claims(6)}, main_table="persons")
    os.symlink("v0001", tmp_path / "census" / "latest")
    with pytest.raises(lab.BadTable) as caught:
        lab.load_twin("census", directory=tmp_path)
    assert str(caught.value) == ("the twin of 'census' has 2 tables: households, persons (people are counted in "
                                 "'persons'). Fix: name one, e.g. lab.load_twin('census', table='persons')")
    assert len(lab.load_twin("census", table="persons", directory=tmp_path)) == 6
    with pytest.raises(lab.BadTable, match="use one of: households, persons"):
        lab.load_twin("census", table="people", directory=tmp_path)


def test_missing_twin_lists_what_is_there(released):
    with pytest.raises(lab.TwinNotFound) as caught:
        lab.load_twin("tax", directory=released)
    assert str(caught.value) == f"no twin of 'tax' in {released}. Fix: use one of: welfare"
    with pytest.raises(lab.TwinNotFound, match="the folder does not exist"):
        lab.load_twin("tax", directory=released / "nowhere")
    with pytest.raises(lab.TwinNotFound):
        lab.load_twin("../welfare", directory=released / "welfare")


def test_the_twins_folder_defaults_to_home(monkeypatch, tmp_path):
    assert twins_dir({"LAB_TWINS_DIR": str(tmp_path)}) == tmp_path
    monkeypatch.setenv("HOME", str(tmp_path))
    assert twins_dir({}) == tmp_path / "twins"


def test_reading_needs_no_write_access(released):
    for path in sorted(released.rglob("*"), reverse=True):
        if not path.is_symlink():
            path.chmod(0o555 if path.is_dir() else 0o444)
    released.chmod(0o555)
    try:
        assert len(lab.load_twin("welfare", directory=released)) == 5
    finally:
        for path in [released, *released.rglob("*")]:
            if not path.is_symlink():
                path.chmod(0o755 if path.is_dir() else 0o644)
