"""Starting and stopping the service: --help, settings errors, and a clean SIGTERM."""

from __future__ import annotations

import subprocess
import sys

from tests.service.running import REPO, lab_environ, running_vault


def run_service(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lab.vault.service", *args], cwd=REPO, env=lab_environ(env or {}),
                          capture_output=True, text=True, timeout=60)


def test_help_explains_both_modes_and_the_routes():
    result = run_service("--help")
    assert result.returncode == 0
    for words in ("--standalone", "--users", "JUPYTERHUB_SERVICE_URL", "api/query", "SIGTERM", "LAB_ROOT"):
        assert words in result.stdout
    lab = subprocess.run([sys.executable, "-m", "lab.cli", "vault", "serve", "--help"], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert lab.returncode == 0 and "usage: lab vault serve" in lab.stdout and "--standalone" in lab.stdout


def test_settings_errors_say_how_to_fix_them(tmp_path, lab_env):
    missing = run_service("--standalone", "--users", str(tmp_path / "none.json"), env=lab_env)
    assert missing.returncode == 1 and "users file does not exist" in missing.stderr
    (tmp_path / "bad.json").write_text('{"tokens": {"0123456789abcdef0": {"name": "", "groups": "analysts"}}}')
    bad = run_service("--standalone", "--users", str(tmp_path / "bad.json"), env=lab_env)
    assert bad.returncode == 1 and "name must be a non-empty string" in bad.stderr
    assert "0123456789abcdef0" not in bad.stderr  # tokens are secrets, even in errors
    hub = run_service(env={**lab_env, "JUPYTERHUB_API_TOKEN": ""})
    assert hub.returncode == 1 and "JUPYTERHUB_SERVICE_PREFIX" in hub.stderr and "--standalone" in hub.stderr
    usage = run_service("--standalone", env=lab_env)
    assert usage.returncode == 2


def test_sigterm_stops_the_service_cleanly(tmp_path, lab_env, users_file, tokens):
    with running_vault(["--standalone", "--users", str(users_file), "--port", "0"], lab_env,
                       tmp_path / "vault.log") as vault:
        assert vault.url.startswith("http://127.0.0.1:") and vault.url.endswith("/")
        assert vault.client(tokens["alice"]).get("api/whoami").status_code == 200
        assert vault.stop() == 0
    assert "vault service stopped" in (tmp_path / "vault.log").read_text()
