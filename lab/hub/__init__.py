"""The lab's JupyterHub integration: settings, the people file, accounts, the spawn hook.

Modules (imported one by one: ``lab.hub.home`` runs in every spawn and must start fast):

- ``settings``: the hub's settings (ports, state, Unix names).
- ``people``: policies/hub/people.yaml, validated all or nothing.
- ``access``: who may see and query which dataset.
- ``accounts``: Unix accounts and groups (useradd, gpasswd).
- ``host``: directories, owners, modes and secrets (the trust boundary on disk).
- ``passwords`` and ``authenticator``: per-person passwords for the login form.
- ``spawner``: LabSpawner, one Unix account per user.
- ``provision``: the pre_spawn_hook; ``home``: the part that runs as the user.
- ``demo``: the demo accounts' printed credentials.
- ``sync``: the people-sync service, which makes the hub's groups and users the people file's.
"""

__all__: list[str] = []
