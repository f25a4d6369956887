"""JupyterHub configuration of the lab's embedded hub: one machine, SQLite, one Unix account per user.

Start it with `bash deploy/demo.sh` (which prepares everything first), or by hand, as root:

    .venv/bin/jupyterhub -f jupyterhub_config.py

Values come from the lab's settings (lab.settings: LAB_ROOT...) and the hub's (lab.hub.settings:
the [hub] section of /etc/lab/lab.toml, LAB_HUB_* variables); people and groups from
policies/hub/people.yaml; dataset access from policies/*.yaml. docs/hub.md explains every
choice. Everything else is a standard JupyterHub option.
"""

import sys
from pathlib import Path

import lab.hub
from lab.hub.authenticator import PasswordFileAuthenticator
from lab.hub.host import COOKIE_SECRET, PROXY_TOKEN, prepare_host
from lab.hub.people import ADMINS_GROUP, load_people
from lab.hub.provision import Provisioner
from lab.hub.settings import load_hub_settings
from lab.hub.spawner import LabSpawner
from lab.policies import load_policies

c = get_config()  # noqa: F821 - defined by JupyterHub when it loads this file

hub = load_hub_settings()
people = load_people(hub.people_file)  # invalid: the hub does not start, and every problem is listed
policies = load_policies(hub.lab.policies_dir)
teams = people.teams
prepare_host(hub, policies, teams)  # directories, owners and modes; the vault's account; secrets
python = sys.executable  # the lab's venv: users' servers, kernels and the services all run from it
if not hub.isolation:
    print("\n" + "!" * 78 + "\n!! DEMO MODE WITHOUT ISOLATION: every user's server runs as this account; users\n"
          "!! can read each other's files, the raw data and the ledger. Never use it with real data.\n"
          + "!" * 78 + "\n", file=sys.stderr, flush=True)

# --- Network: the public proxy on loopback (put a TLS reverse proxy in front to go further);
#     the hub's API, the proxy's API and the services on loopback only.
c.JupyterHub.ip = hub.ip
c.JupyterHub.port = hub.port
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = hub.internal_port
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{hub.proxy_api_port}"
c.ConfigurableHTTPProxy.auth_token = (hub.state_dir / PROXY_TOKEN).read_text().strip()  # 0600 file
c.ConfigurableHTTPProxy.pid_file = str(hub.state_dir / "proxy.pid")

# --- State: SQLite and the cookie secret in the hub's state directory (root only, 0700).
c.JupyterHub.db_url = f"sqlite:///{hub.state_dir / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(hub.state_dir / COOKIE_SECRET)  # 0600, made by prepare_host
c.JupyterHub.pid_file = str(hub.state_dir / "jupyterhub.pid")  # deploy/stop.sh reads it
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every user's server
# Tokens end: API tokens a person makes last 8 hours at most (none "never expires"), and so do the
# OAuth tokens behind the vault's dashboard cookie. Servers' own tokens end with the server.
c.JupyterHub.token_expires_in_max_seconds = 8 * 3600
c.JupyterHub.oauth_token_expires_in = 8 * 3600

# --- Who may log in: the people file, each person with their own password (`lab hub password NAME`).
#     A shared password would let anyone log in as anyone, and so spend anyone's privacy budget.
c.JupyterHub.authenticator_class = PasswordFileAuthenticator
c.PasswordFileAuthenticator.password_file = str(hub.state_dir / "passwords.json")
c.PasswordFileAuthenticator.people_file = str(hub.people_file)  # re-read at each login: removed = refused
c.Authenticator.allowed_users = set(people.names)
c.Authenticator.allow_existing_users = False  # removed from people.yaml = no longer allowed
# No JupyterHub admins: JupyterHub's built-in admin role cannot be narrowed, and it may open
# anyone's server, mint tokens for anyone and share servers, each of which spends another
# person's budget. Lab admins get the `lab-admin` role below instead.
c.Authenticator.admin_users = set()

# --- Groups and roles. Groups are the people file's (plus `admins`). load_groups only ever adds
#     members, so the `people-sync` service below makes them exact (removes members, deletes people
#     no longer listed, stops their servers) at start and whenever the file changes; the spawn hook
#     also re-applies a person's groups at each spawn.
c.JupyterHub.load_groups = people.load_groups()
c.JupyterHub.load_roles = [
    {
        # Every user, and so their server's token, may call the vault (it charges them, and only them).
        # No `shares` scope: JupyterHub 5+ server sharing would let a guest run code with the owner's
        # token and so spend the owner's privacy budget. Users keep `self`'s `users:shares!user`,
        # which only lists or revokes what others shared with them (nobody can share).
        "name": "user",
        "scopes": ["self", "access:services!service=vault"],
    },
    {
        # Lab admins: the admin page, everyone's servers started and stopped; not `access:servers`
        # (enter a server), `tokens` (act as someone) or `shares`. The vault gives them every budget
        # and the ledger (--admin-group below).
        "name": "lab-admin",
        "description": "Lab administrators: see users and groups, start and stop servers",
        "scopes": ["admin-ui", "list:users", "read:users", "list:groups", "read:groups", "servers",
                   "read:hub", "list:services", "read:services"],
        "groups": [ADMINS_GROUP],
    },
    {
        "name": "idle-culler",
        "description": "Stop servers idle for longer than the timeout",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    },
    {
        "name": "people-sync",
        "description": "Make the hub's groups and users exactly the people file's",
        "scopes": ["list:users", "read:users", "read:servers", "delete:users", "delete:servers", "admin:groups"],
        "services": ["people-sync"],
    },
]

# --- Users' servers: one Unix account each (jupyter-<name>), created at first spawn; JupyterLab.
c.JupyterHub.spawner_class = LabSpawner
c.LabSpawner.isolation = hub.isolation
c.LabSpawner.account_template = hub.account_template
c.LabSpawner.homes_dir = str(hub.homes_dir)
c.Spawner.cmd = [str(Path(python).parent / "jupyterhub-singleuser")]
# The machine has no route to the internet: no news feed, no update check (and no pop-up asking).
c.Spawner.args = ["--LabApp.news_url=None",
                  "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate"]
c.Spawner.default_url = "/lab/tree/getting-started.ipynb"  # the five-step notebook; re-copied at spawn if deleted
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 60
c.Spawner.pre_spawn_hook = Provisioner(hub, people, policies)  # twins, courses, team folder, starter
# The server's token (JUPYTERHUB_API_TOKEN, which kernels inherit) may call the vault: the
# default `server` role's scopes plus the vault's access scope.
c.Spawner.server_token_scopes = ["users:activity!user", "access:servers!server", "access:services!service=vault"]
c.Spawner.environment = {"LAB_VAULT_URL": f"http://127.0.0.1:{hub.vault_port}/services/vault/"}

# --- Services: the vault (DP queries, budgets) under its own account, and the idle culler.
lab_settings = hub.lab
c.JupyterHub.services = [
    {
        "name": "vault",
        "url": f"http://127.0.0.1:{hub.vault_port}",
        "command": [python, "-m", "lab.vault.service", "--admin-group", ADMINS_GROUP],
        # Its own Unix account, the only one that can read the raw data and the ledger. It needs
        # no scopes of its own: HubOAuth identifies a caller with the caller's own token.
        **({"user": hub.vault_account} if hub.isolation else {}),
        "cwd": str(lab_settings.vault_dir),
        "environment": {"LAB_ROOT": str(lab_settings.root), "LAB_POLICIES_DIR": str(lab_settings.policies_dir),
                        "LAB_VAULT_DIR": str(lab_settings.vault_dir), "LAB_TWINS_DIR": str(lab_settings.twins_dir),
                        "LAB_LEDGER_URL": lab_settings.ledger_url},
        "oauth_no_confirm": True,  # the lab's own service: no consent page when a browser opens it
        "display": False,  # its root answers JSON; people reach the dashboard from the home page link
    },
    {
        "name": "idle-culler",
        "command": [python, "-m", "jupyterhub_idle_culler", f"--timeout={hub.idle_timeout}",
                    f"--cull-every={hub.cull_every}"],
    },
    {
        # Runs as root with the hub (it takes deleted people's Unix accounts out of the lab's groups).
        "name": "people-sync",
        "command": [python, "-m", "lab.hub.sync", f"--people={hub.people_file}", "--every=5",
                    f"--group-prefix={hub.group_prefix}",
                    *([f"--account-template={hub.account_template}"] if hub.isolation else [])],
    },
]

# --- The hub's home page links to the lab's dashboard (the vault serves it under services/vault/dash/).
c.JupyterHub.template_paths = [str(Path(lab.hub.__file__).parent / "templates")]
