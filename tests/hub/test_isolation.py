"""From inside their own kernels, people can read what their groups allow and nothing else.

Each server runs under its own Unix account; the vault's files belong to the vault's
account; twins and team folders belong to Unix groups the spawn hook keeps in step with
the people file and the policies. Every check runs real code in a real kernel.
"""

from __future__ import annotations

import pwd
from pathlib import Path

from tests.support.hub import RunningHub, processes_of
from tests.support.hub_person import HubPerson


def test_each_server_runs_under_its_own_account(servers: dict[str, HubPerson], account):
    for name in ("alice", "bob"):
        kernel = servers[name].kernel()
        try:
            out = kernel.run("import os, pwd; print(pwd.getpwuid(os.getuid()).pw_name, os.environ['HOME'])").ok()
        finally:
            kernel.close()
        assert out.split() == [account(name), pwd.getpwnam(account(name)).pw_dir]


def test_the_vault_runs_under_the_vault_account(hub: RunningHub, account):
    vault_uid = pwd.getpwnam(account("vault")).pw_uid
    vault_pids = [pid for pid in processes_of(vault_uid)
                  if b"lab.vault.service" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert vault_pids, "no vault service process runs as the vault account"
    assert (Path(hub.env["LAB_ROOT"]) / "vault").stat().st_uid == vault_uid


def test_a_twin_loads_but_raw_data_and_the_ledger_do_not(servers: dict[str, HubPerson], hub: RunningHub):
    vault = Path(hub.env["LAB_ROOT"]) / "vault"
    kernel = servers["alice"].kernel()
    try:
        shape = kernel.run("import lab\ntwin = lab.load_twin('welfare')\nprint(type(twin).__name__, twin.shape)").ok()
        assert shape.split()[0] == "DataFrame" and "(500," in shape
        for path in (vault / "data" / "welfare" / "claims.parquet", vault / "ledger.sqlite"):
            assert path.exists()
            opened = kernel.run(f"open({str(path)!r}, 'rb').read(16)")
            assert opened.error is not None and opened.error[0] == "PermissionError", opened
        listing = kernel.run(f"import os; os.listdir({str(vault)!r})")
        assert listing.error is not None and listing.error[0] == "PermissionError"
    finally:
        kernel.close()


def test_twins_are_read_only_and_only_for_groups_that_may_see_them(servers: dict[str, HubPerson], hub: RunningHub):
    twins = Path(hub.env["LAB_ROOT"]) / "twins"
    dan = servers["dan"].kernel()  # hackathon: the welfare twin, not the tax one
    try:
        assert dan.run("import os; print(sorted(os.listdir(os.path.expanduser('~/twins'))))").ok().strip() \
            == "['welfare']"
        tax = dan.run(f"open({str(twins / 'tax' / 'latest' / 'card.md')!r}).read()")
        assert tax.error is not None and tax.error[0] == "PermissionError"
        write = dan.run("open(os.path.expanduser('~/twins/welfare/latest/card.md'), 'a').write('x')")
        assert write.error is not None and write.error[0] == "PermissionError"
    finally:
        dan.close()


def test_nobody_reads_another_persons_home(servers: dict[str, HubPerson], account):
    alice_home = pwd.getpwnam(account("alice")).pw_dir
    kernel = servers["bob"].kernel()
    try:
        for code in (f"import os; os.listdir({alice_home!r})",
                     f"open({alice_home + '/getting-started.ipynb'!r}).read()"):
            attempt = kernel.run(code)
            assert attempt.error is not None and attempt.error[0] == "PermissionError", attempt
    finally:
        kernel.close()


def test_a_team_folder_is_writable_by_its_team_only(servers: dict[str, HubPerson], hub: RunningHub):
    red = Path(hub.env["LAB_ROOT"]) / "teams" / "team-red"
    dan, erin = servers["dan"].kernel(), servers["erin"].kernel()
    try:
        dan.run("import os\nwith open(os.path.expanduser('~/teams/team-red/plan.md'), 'w') as f: f.write('ideas')\n"
                "print(oct(os.stat(os.path.expanduser('~/teams/team-red/plan.md')).st_mode & 0o777))").ok()
        assert (red / "plan.md").stat().st_gid == red.stat().st_gid  # setgid: the file stays the team's
        for code in (f"open({str(red / 'plan.md')!r}).read()", f"open({str(red / 'mine.md')!r}, 'w')",
                     f"import os; os.listdir({str(red)!r})"):
            attempt = erin.run(code)
            assert attempt.error is not None and attempt.error[0] == "PermissionError", attempt
        assert erin.run("import os; print(os.listdir(os.path.expanduser('~/teams')))").ok().strip() == "['team-blue']"
    finally:
        dan.close()
        erin.close()
