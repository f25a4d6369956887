"""The hub: start time, spawn time, and N people at once, against the same hub without provisioning.

Starts the real hub (``jupyterhub -f jupyterhub_config.py``, as root, isolation on: one Unix
account per person) in a temporary lab root with 2,000 rows of demo data and a released
welfare twin of 500 rows, on free loopback ports, with its own account prefix
(``labb<hex>-``), exactly as tests/hub does (tests/support/hub.py). Then it measures:

* **hub start**: process start until the hub's REST API answers, and until its vault
  service answers too (the hub is usable);
* **spawn time** over ``--spawns`` sequential warm spawns of one person (their Unix account
  and home already exist: the first spawn, which creates them, is reported apart). Each
  spawn is the REST call until the server is ready (JupyterHub's progress stream), then a
  stop. The same person is spawned alternately on a **bare** hub, the same configuration
  with ``c.Spawner.pre_spawn_hook = None`` (LabSpawner is JupyterHub's LocalProcessSpawner
  with a Unix account name template and a umask; the hook is the lab's provisioning), so
  the ratio shows what provisioning costs, under the same machine load;
* **N people at once**, for each N of ``--users``: N new people (first spawn: their Unix
  accounts are created then), all in the analysts group, start together and each: logs in
  through the hub's login form with their own password and gets an API token, spawns,
  starts a kernel in their server, runs ``import lab; lab.load_twin("welfare")``, runs one
  DP count with ``lab.query("welfare").count().run(epsilon=0.01)`` (charged to them), and
  stops their server. Per phase and in total: p50 and p95 over the people; the success
  rate; memory per person (RSS and PSS, from /proc, of every process of their Unix account:
  the server and its kernel, measured after the query) and the hub's own RSS (hub, proxy,
  vault; the largest seen during the round).

Everything it made is removed at the end, also on Ctrl-C: the hubs, every account and
group named ``labb<hex>-...``, the lab root. Needs root and configurable-http-proxy
(``bash deploy/ensure-proxy.sh``). Exits 1 when a target of docs/hub.md is missed (warm
spawn p50 above 6 s, or a person who did not get through).

    python benchmarks/hub_bench.py                       # --users 5 10 20 --spawns 10 (~5 min)
    python benchmarks/hub_bench.py --users 5 --spawns 3  # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.hub import (RunningHub, demo_passwords, hub_ports, prepare_lab, processes_of,  # noqa: E402
                               remove_accounts, start_hub)
from tests.support.hub_person import HubPerson, Kernel  # noqa: E402

EPSILON = "0.01"  # per DP query: 35 people x 0.01 stays far below the analysts' shared 8 and the dataset's 20
WARM_SPAWN_TARGET_S = 6.0
SEQUENTIAL = "seq"  # the person spawned sequentially


def people_file(users: list[str]) -> str:
    listed = ", ".join(users)
    return (f"people_version: 1\nadmins: []\ndemo_accounts: [{listed}]\ngroups:\n"
            f"  analysts: {{members: [{listed}]}}\n")


# --- Measurement helpers -------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    """The q-th percentile by nearest rank (so the p95 of 10 values is the largest, of 20 the 19th)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(-(-q * len(ordered) // 100)) - 1))]


def memory_of(pids: list[int]) -> tuple[float, float]:
    """(RSS, PSS) of these processes in MiB, from /proc (PSS shares a library's pages among its users)."""
    rss = pss = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return rss / 1024, pss / 1024


def children_of(pid: int) -> list[int]:
    """Every descendant of ``pid`` (from /proc/*/stat)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except (FileNotFoundError, ProcessLookupError):
                continue
            parents.setdefault(int(stat[stat.rindex(")") + 2:].split()[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return ""


def hub_memory(hub: RunningHub) -> dict[str, float]:
    """RSS in MiB of the hub's process, its proxy and its vault service (users' servers excluded)."""
    out = {"hub": memory_of([hub.process.pid])[0], "proxy": 0.0, "vault": 0.0}
    for child in children_of(hub.process.pid):
        command = command_of(child)
        if "configurable-http-proxy" in command:
            out["proxy"] += memory_of([child])[0]
        elif "lab.vault.service" in command:
            out["vault"] += memory_of([child])[0]
    return out


def load_average() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


LOG_LINE = re.compile(r"^\[\w (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) (\S+)[^\]]*\] (.*)$")


def log_events(hub: RunningHub) -> list[tuple[float, str, str]]:
    """(epoch, kind, user) from the hub's log: the provisioning hook done ("prepared"), the process
    started ("spawning": the bare hub has no hook; it names no user), and the user's server listening
    ("serving": jupyter_server prints its URL, /user/<name>/...)."""
    events = []
    for line in hub.log.read_text(errors="replace").splitlines():
        match = LOG_LINE.match(line)
        if not match:
            continue
        when = datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S.%f").timestamp()  # local time, like time.time()
        source, text = match[2], match[3]
        if source == "JupyterHub" and (found := re.match(r"Prepared (\S+)'s server", text)):
            events.append((when, "prepared", found[1]))
        elif source == "JupyterHub" and text.startswith("Spawning ") and "singleuser" in text:
            events.append((when, "spawning", ""))
        elif source == "ServerApp" and (found := re.match(r"https?://[^/]+/user/([^/]+)/", text)):
            events.append((when, "serving", found[1]))
    return events


def spawn_breakdown(events: list[tuple[float, str, str]], name: str, posted: float, ready: float,
                    hook: bool = True) -> tuple[float, float, float] | None:
    """One spawn's (hook, server start, hub notices) in s: request -> hook done (or process started)
    -> the server listens -> the hub's check finds it ready. None if the log does not tell."""
    hooked = next((t for t, kind, who in events if posted - 0.05 <= t <= ready
                   and ((kind, who) == ("prepared", name) if hook else kind == "spawning")), None)
    if hooked is None:
        return None
    serving = next((t for t, kind, who in events if kind == "serving" and who == name and hooked <= t <= ready + 0.05),
                   None)
    if serving is None:
        return None
    return hooked - posted, serving - hooked, max(0.0, ready - serving)


class Sampler(threading.Thread):
    """Samples the hub's memory every second; keeps the largest of each part."""

    def __init__(self, hub: RunningHub) -> None:
        super().__init__(daemon=True)
        self.hub, self.peak, self.done = hub, {"hub": 0.0, "proxy": 0.0, "vault": 0.0}, threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            for part, mib in hub_memory(self.hub).items():
                self.peak[part] = max(self.peak[part], mib)
            self.done.wait(1.0)


# --- A person's steps ----------------------------------------------------------------------------

def spawn(person: HubPerson, timeout: float = 300.0) -> None:
    """Ask for the server and return when it is ready (JupyterHub's progress stream, no polling)."""
    response = person.api("POST", f"hub/api/users/{person.name}/server")
    if response.status_code == 201:
        return
    if response.status_code != 202:
        raise RuntimeError(f"spawn refused: {response.status_code} {response.text[:300]}")
    with requests.get(person.url + f"hub/api/users/{person.name}/server/progress", stream=True, timeout=timeout,
                      headers={"Authorization": f"token {person.token}"}) as stream:
        for line in stream.iter_lines(decode_unicode=True):
            if line and line.startswith("data:"):
                event = json.loads(line[5:])
                if event.get("ready"):
                    return
                if event.get("failed"):
                    raise RuntimeError(f"spawn failed: {event.get('message')}")
    server = person.server()
    if not (server and server.get("ready")):
        raise RuntimeError("the progress stream ended before the server was ready")


def stop(person: HubPerson, timeout: float = 120.0) -> None:
    """Stop the server and return when the hub says it is gone."""
    response = person.api("DELETE", f"hub/api/users/{person.name}/server")
    if response.status_code not in (202, 204):
        raise RuntimeError(f"stop refused: {response.status_code} {response.text[:300]}")
    deadline = time.monotonic() + timeout
    while person.server() is not None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server did not stop within {timeout:g} s")
        time.sleep(0.1)


def logged_in(url: str, name: str, password: str) -> HubPerson:
    person = HubPerson(url, name)
    response = person.login(password)
    if response.status_code != 302:
        raise RuntimeError(f"login answered {response.status_code}")
    person.make_token()
    return person


@dataclass
class Visit:
    """One simulated person's round: seconds per phase, memory, and the error if any."""

    name: str
    phases: dict[str, float] = field(default_factory=dict)
    rss_mib: float = 0.0
    pss_mib: float = 0.0
    error: str | None = None
    spawn_epochs: tuple[float, float] = (0.0, 0.0)  # request sent, server ready (wall clock, for the hub's log)


PHASES = ("login", "spawn", "kernel", "twin", "query", "stop")


def visit(hub: RunningHub, name: str, password: str, account: str, start: threading.Barrier, out: Visit) -> None:
    """log in -> spawn -> kernel -> load the twin -> one DP query -> stop, timing each phase."""
    phase = "login"
    kernel: Kernel | None = None
    person: HubPerson | None = None
    try:
        start.wait()
        began = last = time.perf_counter()

        def lap(done: str) -> None:
            nonlocal last
            now = time.perf_counter()
            out.phases[done] = now - last
            last = now

        person = logged_in(hub.url, name, password)
        lap("login")
        phase = "spawn"
        posted = time.time()
        spawn(person)
        out.spawn_epochs = (posted, time.time())
        lap("spawn")
        phase = "kernel"
        kernel = person.kernel()
        kernel.run("pass").ok()  # the kernel answers
        lap("kernel")
        phase = "twin"
        rows = kernel.run("import lab\ntwin = lab.load_twin('welfare')\nprint(len(twin))").ok()
        if int(rows.strip()) <= 0:
            raise RuntimeError("the twin is empty")
        lap("twin")
        phase = "query"
        answer = kernel.run(f"r = lab.query('welfare').count().run(epsilon={EPSILON})\n"
                            f"print(float(r.epsilon) == {EPSILON})").ok()
        if answer.strip() != "True":
            raise RuntimeError(f"unexpected answer: {answer!r}")
        lap("query")
        out.rss_mib, out.pss_mib = memory_of(processes_of(pwd.getpwnam(account).pw_uid))
        phase = "stop"
        kernel.close()
        kernel = None
        stop(person)
        lap("stop")
        out.phases["total"] = time.perf_counter() - began
    except BaseException as error:  # noqa: BLE001 - reported in the table, never raised
        out.error = f"{phase}: {type(error).__name__}: {str(error)[:300]}"
        if kernel is not None:
            try:
                kernel.close()
            except Exception:  # noqa: BLE001
                pass
        if person is not None and person.token:
            try:
                stop(person, timeout=60)
            except Exception:  # noqa: BLE001
                pass


# --- The benchmark -------------------------------------------------------------------------------

def timed_start(settings: dict[str, str], log: Path, config: Path | None = None) -> tuple[RunningHub, float, float]:
    """Start a hub; (hub, seconds until its REST API answers, seconds until its vault answers too)."""
    url = f"http://127.0.0.1:{settings['LAB_HUB_PORT']}/hub/api/"
    api_up: list[float] = []
    began = time.perf_counter()

    def watch() -> None:
        while time.perf_counter() - began < 180:
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    api_up.append(time.perf_counter() - began)
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    hub = start_hub(settings, log, **({"config": config} if config else {}))
    ready = time.perf_counter() - began
    watcher.join(5)
    return hub, (api_up[0] if api_up else float("nan")), ready


def sequential_spawns(hubs: dict[str, RunningHub], password: str, spawns: int) -> dict[str, dict]:
    """One person, spawned and stopped ``spawns`` times on each hub, alternating hubs."""
    persons = {kind: logged_in(hub.url, SEQUENTIAL, password) for kind, hub in hubs.items()}
    results: dict[str, dict] = {kind: {"spawn_s": [], "stop_s": [], "epochs": []} for kind in hubs}
    first = persons["lab"]  # the first ever spawn creates the Unix account and home (provisioning)
    began = time.perf_counter()
    spawn(first)
    results["lab"]["first_spawn_s"] = time.perf_counter() - began
    stop(first)
    for _ in range(spawns):
        for kind, person in persons.items():
            began, posted = time.perf_counter(), time.time()
            spawn(person)
            middle = time.perf_counter()
            results[kind]["epochs"].append((posted, time.time()))
            stop(person)
            results[kind]["spawn_s"].append(middle - began)
            results[kind]["stop_s"].append(time.perf_counter() - middle)
    for kind, hub in hubs.items():
        events = log_events(hub)
        results[kind]["breakdown"] = [b for posted, ready in results[kind].pop("epochs")
                                      if (b := spawn_breakdown(events, SEQUENTIAL, posted, ready, hook=kind == "lab"))]
    return results


def simultaneous(hub: RunningHub, users: list[str], passwords: dict[str, str], prefix: str) -> dict:
    """Every person of ``users`` through their visit at once."""
    visits = [Visit(name) for name in users]
    barrier = threading.Barrier(len(users) + 1)
    threads = [threading.Thread(target=visit, args=(hub, name, passwords[name], prefix + name, barrier, out),
                                daemon=True) for name, out in zip(users, visits)]
    for thread in threads:
        thread.start()
    sampler = Sampler(hub)
    sampler.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    sampler.done.set()
    sampler.join()
    ok = [v for v in visits if v.error is None]
    events = log_events(hub)
    breakdown = [b for v in ok if (b := spawn_breakdown(events, v.name, *v.spawn_epochs))]
    return {
        "users": len(users), "succeeded": len(ok), "wall_s": wall, "load_after": load_average(),
        "phases": {p: [v.phases[p] for v in ok] for p in (*PHASES, "total")},
        "rss_mib": [v.rss_mib for v in ok], "pss_mib": [v.pss_mib for v in ok],
        "breakdown": breakdown, "hub_rss_mib": sampler.peak,
        "errors": [f"{v.name}: {v.error}" for v in visits if v.error],
    }


def bare_config(lab_root: Path) -> Path:
    """The bare hub's configuration: the lab's, with no provisioning hook."""
    path = lab_root / "bare_jupyterhub_config.py"
    path.write_text("c = get_config()  # noqa: F821\n"
                    f"load_subconfig({str(REPO / 'jupyterhub_config.py')!r})  # noqa: F821\n"
                    "c.Spawner.pre_spawn_hook = None\n")
    return path


def fmt(values: list[float]) -> str:
    return f"{percentile(values, 50):.2f}/{percentile(values, 95):.2f}" if values else "-"


BREAKDOWN = "hook: request -> provisioned (bare: process started); server start: -> it listens; " \
            "hub notices: -> the hub's check finds it"


def breakdown_text(breakdown: list) -> str:
    if not breakdown:
        return "(not in the hub's log)"
    parts = zip(("hook", "server start", "hub notices"), zip(*breakdown))
    return "  ".join(f"{label} {fmt(list(values))}" for label, values in parts) + f"  (n={len(breakdown)})"


def report(results: dict) -> None:
    start, spawns = results["start"], results["spawns"]
    print(f"\nhub benchmark on {os.cpu_count()} cores, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB; "
          f"load average over 1, 5, 15 min: {results['load_before']} before, {results['load_after']} after")
    print("\nhub start (process start -> REST API answers | -> vault answers too), s")
    for kind in ("lab", "bare"):
        if kind in start:
            print(f"  {kind:<4} {start[kind]['api_s']:6.2f} | {start[kind]['ready_s']:6.2f}")
    lab, bare = spawns["lab"], spawns.get("bare")
    print(f"\nsequential spawns (one person, warm: account and home exist), {len(lab['spawn_s'])} each, s")
    print(f"  {'hub':<26} {'spawn p50':>9} {'p95':>6} {'max':>6} {'stop p50':>8}")
    rows = [("lab (provisioning hook)", lab)] + ([("bare (no hook)", bare)] if bare else [])
    for label, data in rows:
        print(f"  {label:<26} {percentile(data['spawn_s'], 50):9.2f} {percentile(data['spawn_s'], 95):6.2f} "
              f"{max(data['spawn_s']):6.2f} {percentile(data['stop_s'], 50):8.2f}")
    print(f"  where a spawn's time goes, p50/p95 in s ({BREAKDOWN}):")
    for label, data in rows:
        print(f"  {label:<26} {breakdown_text(data['breakdown'])}")
    ratio = f"lab/bare ratio of p50: {percentile(lab['spawn_s'], 50) / percentile(bare['spawn_s'], 50):.2f}; " \
        if bare else ""
    print(f"  {ratio}first spawn (creates the account and home): {lab['first_spawn_s']:.2f} s")
    print("\nN people at once (new people: first spawn), p50/p95 in s; memory per person after the query, MiB")
    header = (f"{'N':>3} {'success':>8} {'login':>11} {'spawn':>11} {'kernel':>11} {'twin':>11} {'query':>11} "
              f"{'stop':>11} {'total':>11} {'wall':>6} {'RSS p50/max':>12} {'PSS p50/max':>12} "
              f"{'hub/proxy/vault RSS':>19} {'load after':>17}")
    print(header)
    print("-" * len(header))
    for round_ in results["rounds"]:
        ph, peak = round_["phases"], round_["hub_rss_mib"]
        mem = (lambda v: f"{percentile(v, 50):.0f}/{max(v):.0f}" if v else "-")
        print(f"{round_['users']:>3} {round_['succeeded']:>3}/{round_['users']:<4} "
              + " ".join(f"{fmt(ph[p]):>11}" for p in (*PHASES, "total"))
              + f" {round_['wall_s']:6.1f} {mem(round_['rss_mib']):>12} {mem(round_['pss_mib']):>12} "
              f"{peak['hub']:>7.0f}/{peak['proxy']:.0f}/{peak['vault']:.0f} {round_['load_after']:>17}")
        print(f"      spawn: {breakdown_text(round_['breakdown'])}")
        for error in round_["errors"]:
            print(f"      failed: {error}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, nargs="+", default=[5, 10, 20],
                        help="people at once, one round each (default: 5 10 20)")
    parser.add_argument("--spawns", type=int, default=10, help="sequential warm spawns per hub (default: 10)")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare hub (no provisioning hook)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the lab root (logs) instead of removing it")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error("the hub benchmark needs root: the hub creates a Unix account per person")
    if shutil.which("configurable-http-proxy") is None:
        parser.error("configurable-http-proxy is not installed. Fix: bash deploy/ensure-proxy.sh")

    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)  # `kill PID` cleans up like Ctrl-C
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored (`... &`)
    prefix = f"labb{secrets.token_hex(2)}-"
    lab_root = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    lab_root.chmod(0o755)
    hubs: dict[str, RunningHub] = {}
    rounds = {n: [f"n{n}u{i:02d}" for i in range(1, n + 1)] for n in args.users}
    everyone = [SEQUENTIAL, *(name for names in rounds.values() for name in names)]
    results: dict = {"load_before": load_average(), "start": {}, "rounds": []}
    try:
        print(f"preparing a lab in {lab_root} (demo data, the welfare twin, {len(everyone)} passwords)...", flush=True)
        settings = prepare_lab(lab_root, prefix, people_file(everyone), twins=("welfare",))
        passwords = demo_passwords(settings)
        results["load_before"] = load_average()
        hub, api_s, ready_s = timed_start({**settings, **hub_ports()}, lab_root / "hub.log")
        hubs["lab"] = hub
        results["start"]["lab"] = {"api_s": api_s, "ready_s": ready_s}
        print(f"hub up in {ready_s:.1f} s; sequential spawns...", flush=True)
        if not args.no_bare:
            state = lab_root / "bare-hub"
            state.mkdir()
            (state / "passwords.json").write_bytes((Path(settings["LAB_ROOT"]) / "hub" / "passwords.json").read_bytes())
            bare, api_s, ready_s = timed_start({**settings, **hub_ports(), "LAB_HUB_STATE_DIR": str(state)},
                                               lab_root / "bare-hub.log", bare_config(lab_root))
            hubs["bare"] = bare
            results["start"]["bare"] = {"api_s": api_s, "ready_s": ready_s}
        results["spawns"] = sequential_spawns(hubs, passwords[SEQUENTIAL], args.spawns)
        if "bare" in hubs:
            hubs.pop("bare").stop()
        for n, names in rounds.items():
            print(f"{n} people at once...", flush=True)
            results["rounds"].append(simultaneous(hub, names, passwords, prefix))
        results["load_after"] = load_average()
        report(results)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
        missed = [f"warm spawn p50 {percentile(results['spawns']['lab']['spawn_s'], 50):.2f} s > "
                  f"{WARM_SPAWN_TARGET_S:g} s"] if percentile(results["spawns"]["lab"]["spawn_s"], 50) > \
            WARM_SPAWN_TARGET_S else []
        missed += [f"{r['users']} people: {r['users'] - r['succeeded']} failed" for r in results["rounds"]
                   if r["succeeded"] < r["users"]]
        for line in missed:
            print(f"TARGET MISSED: {line}")
        return 1 if missed else 0
    except KeyboardInterrupt:
        print("\ninterrupted: cleaning up", file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        for kind, running in hubs.items():
            print(f"--- {kind} hub log tail ---\n{running.log_tail(3000)}", file=sys.stderr)
        return 2
    finally:
        for stop_signal in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not stop the clean-up half-way
            signal.signal(stop_signal, signal.SIG_IGN)
        for running in hubs.values():
            running.stop()
        remove_accounts(prefix)
        if args.keep:
            print(f"kept {lab_root}", file=sys.stderr)
        else:
            shutil.rmtree(lab_root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
