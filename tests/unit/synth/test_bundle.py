"""Bundles: versions never collide, a killed build never looks released, an unwritable
directory gives a clear error and leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from synth import bundle as bundles
from synth.errors import BundleError

_BUILD_SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from unit.synth.conftest import make_claims, claims_schema
    from synth.pipeline import DatasetInfo, build_twin
    from synth.spec import ReleaseGates, SynthesisSpec
    root = Path(sys.argv[1])
    build = build_twin({{"claims": make_claims(rows=20000)}}, claims_schema(),
                       SynthesisSpec(synthesizer=sys.argv[2], seed=1, parameters={{"epochs": 50}}
                                     if sys.argv[2] == "ctgan" else {{}}),
                       ReleaseGates(min_quality=0.5, min_dcr_protection=None),
                       release_root=root / "twins", staging_root=root / "staging",
                       info=DatasetInfo("Claims"), progress=False)
    print(build.version)
""")


def _run_build(root: Path, synthesizer: str, **kwargs) -> subprocess.Popen:
    tests = str(Path(__file__).resolve().parents[2])
    script = _BUILD_SCRIPT.format(tests=tests)
    return subprocess.Popen([sys.executable, "-c", script, str(root), synthesizer],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def test_run_killed_half_way_leaves_no_released_bundle(tmp_path):
    process = _run_build(tmp_path, "ctgan")
    staging = tmp_path / "staging"
    deadline = time.monotonic() + 120
    while not (staging.is_dir() and any(p.name.startswith("v") for p in staging.iterdir())):
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, "the build never reached its staging step"
        time.sleep(0.1)
    time.sleep(1.0)  # well inside fitting
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert bundles.released_versions(tmp_path / "twins") == []
    assert not (tmp_path / "twins" / "latest").exists()
    leftovers = [p for p in staging.iterdir() if p.name.startswith("v")]
    assert leftovers and not any((p / "manifest.json").exists() for p in leftovers)

    # The next build clears the dead run's staging directory and releases the next version.
    finished = _run_build(tmp_path, "gaussian_copula")
    out, err = finished.communicate(timeout=300)
    assert finished.returncode == 0, err
    assert out.strip() == "v0002"
    assert bundles.released_versions(tmp_path / "twins") == ["v0002"]
    assert not any(p.exists() for p in leftovers)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the build as an unprivileged account")
def test_unwritable_bundle_directory_is_a_clear_error(tmp_path):
    tmp_path.chmod(0o755)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o755)  # owned by root: the unprivileged build cannot write here
    tests = str(Path(__file__).resolve().parents[2])
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from synth import bundle
        from synth.errors import BundleError
        try:
            bundle.reserve_version(Path({str(locked)!r}) / "twins", Path({str(locked)!r}) / "staging")
        except BundleError as error:
            print(error.message)
            sys.exit(1)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tests,
                            user="nobody", env={**os.environ, "HOME": str(tmp_path)})
    assert result.returncode == 1, result.stderr
    assert "permission denied" in result.stdout and "Fix:" in result.stdout
    assert list(locked.iterdir()) == []


def test_reserve_version_reports_unwritable_parent(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(BundleError, match="cannot prepare the bundle directories"):
        bundles.reserve_version(blocker / "twins", blocker / "staging")


def test_tampered_bundle_fails_verification(claims, schema, spec, gates, roots):
    from synth.pipeline import DatasetInfo, build_twin

    build = build_twin({"claims": claims}, schema, spec, gates, info=DatasetInfo("Claims"), progress=False, **roots)
    data = build.path / "data" / "claims.csv"
    data.chmod(0o644)
    data.write_text(data.read_text() + "1,x\n")
    assert bundles.verify_bundle(build.path) == ["data/claims.csv does not match its hash"]
