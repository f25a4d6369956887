"""Source files: CSV and Parquet read cleanly; bad files give a clear error."""

from __future__ import annotations

import pytest

from synth.errors import DataLoadError
from synth.loading import load_table


def test_csv_and_parquet_read_the_same_rows(claims, tmp_path):
    claims.to_csv(tmp_path / "claims.csv", index=False)
    claims.to_parquet(tmp_path / "claims.parquet", index=False)
    from_csv = load_table(tmp_path / "claims.csv", "claims")
    from_parquet = load_table(tmp_path / "claims.parquet", "claims")
    assert list(from_csv.columns) == list(from_parquet.columns)
    assert len(from_csv) == len(from_parquet) == len(claims)


def test_malformed_csv_names_the_line(tmp_path):
    path = tmp_path / "claims.csv"
    path.write_text("claim_id,age\n1,40\n2,41,extra,fields\n3,42\n")
    with pytest.raises(DataLoadError) as caught:
        load_table(path, "claims")
    assert "not a well-formed CSV file" in caught.value.message
    assert "line 3" in caught.value.message
    assert "Fix:" in caught.value.message


def test_empty_file(tmp_path):
    path = tmp_path / "claims.csv"
    path.write_text("")
    with pytest.raises(DataLoadError, match="is empty"):
        load_table(path, "claims")


def test_missing_file_points_to_the_policy(tmp_path):
    with pytest.raises(DataLoadError, match="does not exist"):
        load_table(tmp_path / "nowhere.parquet", "claims")


def test_corrupt_parquet(tmp_path):
    path = tmp_path / "claims.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DataLoadError, match="not a readable Parquet file"):
        load_table(path, "claims")


def test_not_utf8(tmp_path):
    path = tmp_path / "claims.csv"
    path.write_bytes("claim_id,name\n1,Zo\xeb\n".encode("latin-1"))
    with pytest.raises(DataLoadError, match="not UTF-8"):
        load_table(path, "claims")
