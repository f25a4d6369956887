"""Release a GaussianCopula twin of a dataset quickly, for the service's preview tests.

``lab twin build`` on 2,000 rows takes about two minutes here, almost all of it in the
evaluation (quality, privacy, utility and plots); fitting and sampling take seconds.
Previews only need *a released bundle* whose data has the policy's columns, so this
fits and samples the policy's own synthesizer the way ``synth.pipeline`` does, skips the
evaluation and gates, and releases the bundle through ``synth.bundle`` (the same
versioning and atomic release). Run as a subprocess, so that SDV and torch never load
into the test process::

    python -m tests.service.fixture_twin DATASET --rows N   (LAB_* variables as for `lab`)
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from lab.policies import dataset_schema, load_policies, synthesis_spec
from lab.settings import load_settings
from synth import bundle as bundles
from synth import synthesizers
from synth.checks import check_dataset
from synth.identifiers import strip_identifiers
from synth.loading import load_tables
from synth.metadata import sdv_metadata
from synth.postprocess import finish_twin


def release_quick_twin(dataset: str, rows: int) -> str:
    """Fit, sample and release a twin of ``dataset`` without evaluating it; returns the bundle path."""
    settings = load_settings()
    policy = load_policies(settings.policies_dir)[dataset]
    schema, spec = dataset_schema(policy), synthesis_spec(policy)
    real = check_dataset(load_tables({name: (settings.data_dir / table.path, table.format)
                                      for name, table in policy.tables.items()}), schema)
    model = synthesizers.make_synthesizer(spec.synthesizer, sdv_metadata(schema), spec.parameters, schema=schema,
                                          seed=spec.seed)
    synthesizers.fit(model, {n: strip_identifiers(t, schema.table(n)) for n, t in real.items()}, spec.seed)
    sampled = synthesizers.sample(model, rows, policy.main_table, spec.seed, {n: len(t) for n, t in real.items()})
    twin = finish_twin(sampled, schema, real, spec.seed)
    release_root, staging_root = settings.twins_dir / dataset, settings.staging_dir / dataset
    version, staging = bundles.reserve_version(release_root, staging_root)
    bundles.write_tables(staging, twin)
    bundles.write_manifest(staging, {
        "dataset": dataset, "version": version, "title": policy.title, "owner": policy.owner,
        "description": "Test fixture: fitted and sampled, not evaluated.", "released": True,
        "built_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "synthesizer": spec.synthesizer, "main_table": policy.main_table,
        "twin_rows": {n: len(t) for n, t in twin.items()},
    })
    return str(bundles.release(staging, release_root, version))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("--rows", type=int, default=2000)
    args = parser.parse_args()
    print(release_quick_twin(args.dataset, args.rows))
    sys.exit(0)
