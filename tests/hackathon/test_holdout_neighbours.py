"""The holdout is sound for DP: adding or removing one person moves no one else.

A score is an OpenDP measurement priced for neighbouring datasets (one person added or
removed). That price only holds if the rows that score each part of the leaderboard are
chosen row by row; here every other row's membership, in the holdout and in the
public/private split, must be the same on both neighbours.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lab.demo import write_demo_datasets
from lab.hackathon import load_event
from lab.policies import load_policies
from lab.vault.hackathon.holdout import (
    held_out_mask,
    holdout_key,
    identity_columns,
    load_holdout,
    public_mask,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def welfare(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("neighbours")
    shutil.copytree(REPO / "policies", root / "policies")
    write_demo_datasets(root / "data", rows=3000, seed=1, datasets=["welfare"], progress=False)
    policies = load_policies(root / "policies")
    event = load_event(root / "policies" / "events" / "welfare-challenge.yaml", policies)
    policy = policies["welfare"]
    path = root / "data" / policy.tables[event.task.table].path
    return root, event, policy, path


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)


def _write(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False) if path.suffix == ".csv" else frame.to_parquet(path, index=False)


def _parts(frame: pd.DataFrame, event, policy, key: bytes) -> dict[object, str]:
    """Each person's part: 'public', 'private' or 'out' (not held out), by their identity."""
    columns = identity_columns(event, policy)
    ids = list(zip(*(frame[c] for c in columns)))
    held = held_out_mask(key, ids, policy.synthesis.holdout_fraction)
    public = public_mask(key, ids, event.holdout.public_fraction)
    return {i: ("public" if p else "private") if h else "out" for i, h, p in zip(ids, held, public)}


def test_the_identity_is_the_primary_key_and_the_key_is_private_and_stable(welfare, tmp_path):
    _, event, policy, _ = welfare
    assert identity_columns(event, policy) == ["claimant_id"]
    key = holdout_key(tmp_path / "event")
    mode = (tmp_path / "event" / "holdout.key").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600 and len(key) == 32
    assert holdout_key(tmp_path / "event") == key, "the key never changes once made"
    assert holdout_key(tmp_path / "other") != key, "each event has its own key"


@pytest.mark.parametrize("change", ["remove-first", "remove-middle", "add-first", "add-last"])
def test_one_person_more_or_less_changes_no_one_elses_membership(welfare, tmp_path, change):
    _, event, policy, path = welfare
    key = holdout_key(tmp_path / "event")
    real = _read(path)
    if change == "remove-first":
        neighbour = real.iloc[1:]
    elif change == "remove-middle":
        neighbour = real.drop(index=len(real) // 2)
    else:
        person = real.iloc[[7]].copy()
        numeric = real["claimant_id"].dtype != object
        person["claimant_id"] = real["claimant_id"].max() + 1 if numeric else "NEW-PERSON-0001"
        neighbour = pd.concat([person, real] if change == "add-first" else [real, person], ignore_index=True)
    before, after = _parts(real, event, policy, key), _parts(neighbour, event, policy, key)
    common = before.keys() & after.keys()
    assert len(common) >= len(real) - 1
    assert all(before[i] == after[i] for i in common), "someone else's part changed"
    counts = Counter(before.values())
    share = policy.synthesis.holdout_fraction
    assert abs(counts["public"] / len(real) - share * event.holdout.public_fraction) < 0.03
    assert abs(counts["private"] / len(real) - share * (1 - event.holdout.public_fraction)) < 0.03


def test_the_loaded_holdouts_of_neighbours_differ_by_at_most_that_person(welfare, tmp_path):
    root, event, policy, path = welfare
    key = holdout_key(tmp_path / "event")
    relative = path.relative_to(root / "data")
    real = _read(path)
    holdout = load_holdout(event, policy, root / "data", key)
    for dropped in (0, 1, len(real) // 3):
        data = tmp_path / f"without-{dropped}"
        _write(real.drop(index=dropped), data / relative)
        other = load_holdout(event, policy, data, key)
        for part in ("public", "private"):
            a = Counter(zip(*(x.tolist() for x in holdout.part(part))))
            b = Counter(zip(*(x.tolist() for x in other.part(part))))
            assert sum(((a - b) + (b - a)).values()) <= 1, f"{part}: more than one row changed"
    # by row position (the old way), dropping the first row would have reshuffled both parts
    old = np.random.default_rng(policy.synthesis.seed).random(len(real)) < policy.synthesis.holdout_fraction
    shifted = np.random.default_rng(policy.synthesis.seed).random(len(real) - 1) < policy.synthesis.holdout_fraction
    assert (old[1:] != shifted).sum() > 100


def test_the_key_file_is_made_once_even_with_two_makers(tmp_path):
    first = holdout_key(tmp_path / "e")
    os.chmod(tmp_path / "e" / "holdout.key", 0o644)  # someone loosened it: it is tightened again
    assert holdout_key(tmp_path / "e") == first
    assert stat.S_IMODE((tmp_path / "e" / "holdout.key").stat().st_mode) == 0o600
