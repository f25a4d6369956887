"""The Kubernetes scale-out (deploy/kubernetes/, docs/scale-out.md), checked without a cluster.

There is no cluster and no helm here, so these tests check what can be checked offline:
every file parses; the manifests have what the API server needs (kinds, names, selectors
that match their pods); the vault runs as non-root on a read-only root; the NetworkPolicies
admit exactly the pods the trust boundary allows; the chart values exist in the Zero to
JupyterHub chart's schema; the hub's Python snippets (extraConfig) do what they say when
run against a stand-in config and spawner; the vault's environment loads as the lab's
settings, points the ledger at PostgreSQL and satisfies the vault's hub mode; the
Dockerfile installs the CPU torch first and runs as the users the manifests expect.
"""

from __future__ import annotations

import copy
import logging
import os
import re
import shutil
import subprocess
import sys
import tomllib
import types
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest
import yaml
from sqlalchemy.engine import make_url

from lab.policies import load_policies
from lab.settings import load_settings

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "kubernetes"
GUIDE = REPO / "docs" / "scale-out.md"
MANIFESTS = ("vault.yaml", "networkpolicy.yaml", "storage.yaml", "secrets.example.yaml")
CHART_VERSION = "4.4.0"
RELEASE = "lab-hub"

#: Labels the chart's pods carry (jupyterhub.matchLabels: app, release, component).
HUB_POD = {"app": "jupyterhub", "release": RELEASE, "component": "hub"}
PROXY_POD = {"app": "jupyterhub", "release": RELEASE, "component": "proxy"}
USER_POD = {"app": "jupyterhub", "release": RELEASE, "component": "singleuser-server",
            "hub.jupyter.org/network-access-hub": "true"}

KNOWN_KINDS = {
    "ServiceAccount": "v1", "Service": "v1", "Secret": "v1", "PersistentVolumeClaim": "v1",
    "ConfigMap": "v1", "Deployment": "apps/v1", "NetworkPolicy": "networking.k8s.io/v1",
}
DNS_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


# -- loading ---------------------------------------------------------------------------------


def _documents(name: str) -> list[dict[str, Any]]:
    with open(K8S / name, encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc is not None]


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    [document] = _documents("values.yaml")
    return document


@pytest.fixture(scope="module")
def manifests() -> list[dict[str, Any]]:
    return [doc for name in MANIFESTS for doc in _documents(name)]


def _one(manifests: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


@pytest.fixture(scope="module")
def vault(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    return _one(manifests, "Deployment", "lab-vault")


@pytest.fixture(scope="module")
def vault_container(vault: dict[str, Any]) -> dict[str, Any]:
    [container] = [c for c in vault["spec"]["template"]["spec"]["containers"] if c["name"] == "vault"]
    return container


@pytest.fixture(scope="module")
def secrets(manifests: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    return {m["metadata"]["name"]: m["stringData"] for m in manifests if m["kind"] == "Secret"}


def _environment(container: Mapping[str, Any], secrets: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """The container's environment as the kubelet would give it, Secrets from the template."""
    environ = {}
    for variable in container["env"]:
        if "value" in variable:
            environ[variable["name"]] = str(variable["value"])
        else:
            ref = variable["valueFrom"]["secretKeyRef"]
            environ[variable["name"]] = secrets[ref["name"]][ref["key"]]
    return environ


def _selects(match_labels: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in match_labels.items())


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, Mapping):
        for key, value in node.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


# -- every file parses; manifests are well formed ----------------------------------------------


def test_every_yaml_document_parses() -> None:
    files = sorted(K8S.glob("*.yaml"))
    assert {f.name for f in files} >= {"values.yaml", "z2jh-values.schema.yaml", *MANIFESTS}
    for path in files:
        documents = _documents(path.name)
        assert documents, f"{path.name} holds no YAML document"
        assert all(isinstance(doc, dict) for doc in documents), f"{path.name}: every document must be a mapping"


def test_manifests_name_their_kind_and_api_version(manifests: list[dict[str, Any]]) -> None:
    seen = set()
    for manifest in manifests:
        kind, name = manifest["kind"], manifest["metadata"]["name"]
        assert KNOWN_KINDS.get(kind) == manifest["apiVersion"], f"{kind} {name}: apiVersion {manifest['apiVersion']}"
        assert DNS_1123.match(name) and len(name) <= 63, f"{kind} {name}: not a valid Kubernetes name"
        assert "namespace" not in manifest["metadata"], f"{kind} {name}: apply with --namespace instead"
        assert (kind, name) not in seen, f"{kind} {name} is defined twice"
        seen.add((kind, name))


def test_deployment_and_service_select_the_vault_pods(manifests: list[dict[str, Any]], vault: dict[str, Any],
                                                      vault_container: dict[str, Any]) -> None:
    pod_labels = vault["spec"]["template"]["metadata"]["labels"]
    assert _selects(vault["spec"]["selector"]["matchLabels"], pod_labels)
    service = _one(manifests, "Service", "lab-vault")
    assert _selects(service["spec"]["selector"], pod_labels)
    port_names = {port["name"]: port["containerPort"] for port in vault_container["ports"]}
    [port] = service["spec"]["ports"]
    assert port["targetPort"] in port_names
    # The bind address the vault reads (JUPYTERHUB_SERVICE_URL) is the container's port.
    bind = {e["name"]: e.get("value") for e in vault_container["env"]}["JUPYTERHUB_SERVICE_URL"]
    assert bind.endswith(f":{port_names[port['targetPort']]}")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert vault_container[probe]["httpGet"]["path"] == "/services/vault/api/health"
        assert vault_container[probe]["httpGet"]["port"] in port_names


def test_vault_runs_as_non_root_on_a_read_only_root(manifests: list[dict[str, Any]], vault: dict[str, Any]) -> None:
    pod = vault["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] > 0 and pod["securityContext"]["runAsGroup"] > 0
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod["automountServiceAccountToken"] is False
    account = _one(manifests, "ServiceAccount", pod["serviceAccountName"])
    assert account["automountServiceAccountToken"] is False
    for container in pod["initContainers"] + pod["containers"]:
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False, container["name"]
        assert context["readOnlyRootFilesystem"] is True, container["name"]
        assert context["capabilities"]["drop"] == ["ALL"], container["name"]
        assert context.get("runAsUser", 1) != 0, container["name"]
        assert container["image"] == pod["containers"][0]["image"]
    # With a read-only root, anything written goes to a mounted volume.
    mounts = {m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    assert "/tmp" in mounts


def test_raw_data_volume_is_mounted_by_the_vault_only(manifests: list[dict[str, Any]], vault: dict[str, Any],
                                                      vault_container: dict[str, Any],
                                                      values: dict[str, Any]) -> None:
    claim = _one(manifests, "PersistentVolumeClaim", "lab-vault-data")
    assert claim["spec"]["accessModes"] == ["ReadWriteOncePod"]
    users = [m for m in manifests if m is not claim and "lab-vault-data" in set(_strings(m))]
    assert users == [vault]
    assert "lab-vault-data" not in set(_strings(values))
    [volume] = [v for v in vault["spec"]["template"]["spec"]["volumes"]
                if v.get("persistentVolumeClaim", {}).get("claimName") == "lab-vault-data"]
    [mount] = [m for m in vault_container["volumeMounts"] if m["name"] == volume["name"]]
    env = {e["name"]: e.get("value") for e in vault_container["env"]}
    assert mount["mountPath"] == env["LAB_VAULT_DIR"]
    for init in vault["spec"]["template"]["spec"]["initContainers"]:
        assert volume["name"] not in {m["name"] for m in init["volumeMounts"]}


def test_every_reference_resolves(manifests: list[dict[str, Any]], vault: dict[str, Any],
                                  values: dict[str, Any], secrets: dict[str, dict[str, str]]) -> None:
    claims = {m["metadata"]["name"] for m in manifests if m["kind"] == "PersistentVolumeClaim"}
    pod = vault["spec"]["template"]["spec"]
    for volume in pod["volumes"]:
        if "persistentVolumeClaim" in volume:
            assert volume["persistentVolumeClaim"]["claimName"] in claims
    lab = values["custom"]["lab"]
    assert {lab["twins"]["claimName"], lab["teamFolders"]["claimName"]} <= claims
    references = [e["valueFrom"]["secretKeyRef"] for c in pod["containers"] for e in c["env"] if "valueFrom" in e]
    references += [e["valueFrom"]["secretKeyRef"] for e in values["hub"]["extraEnv"].values() if "valueFrom" in e]
    assert references
    for ref in references:
        assert ref["key"] in secrets.get(ref["name"], {}), f"Secret {ref['name']} has no key {ref['key']}"


# -- the trust boundary on the network ---------------------------------------------------------


def test_vault_network_policy_admits_only_the_hub_and_the_proxy(manifests: list[dict[str, Any]],
                                                                vault: dict[str, Any],
                                                                vault_container: dict[str, Any]) -> None:
    policy = _one(manifests, "NetworkPolicy", "lab-vault")
    assert _selects(policy["spec"]["podSelector"]["matchLabels"], vault["spec"]["template"]["metadata"]["labels"])
    assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    [rule] = policy["spec"]["ingress"]
    sources = rule["from"]
    assert all(set(source) == {"podSelector"} for source in sources), "no ipBlock or namespaceSelector"
    admitted = [source["podSelector"]["matchLabels"] for source in sources]
    assert any(_selects(labels, HUB_POD) for labels in admitted)
    assert any(_selects(labels, PROXY_POD) for labels in admitted)
    assert not any(_selects(labels, USER_POD) for labels in admitted), "users' pods must not reach the vault"
    assert {p["port"] for p in rule["ports"]} == {p["containerPort"] for p in vault_container["ports"]}
    # Egress: DNS, the hub's API, PostgreSQL, and nothing else.
    allowed = {(port["protocol"], port["port"]) for egress in policy["spec"]["egress"] for port in egress["ports"]}
    assert allowed == {("UDP", 53), ("TCP", 53), ("TCP", 8081), ("TCP", 5432)}
    assert all(egress.get("to") for egress in policy["spec"]["egress"]), "every egress rule names its peers"


def test_postgres_network_policy_admits_only_the_hub_and_the_vault(manifests: list[dict[str, Any]],
                                                                   vault: dict[str, Any]) -> None:
    policy = _one(manifests, "NetworkPolicy", "lab-postgres")
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    [rule] = policy["spec"]["ingress"]
    admitted = [source["podSelector"]["matchLabels"] for source in rule["from"]]
    assert all(set(source) == {"podSelector"} for source in rule["from"])
    assert any(_selects(labels, HUB_POD) for labels in admitted)
    assert any(_selects(labels, vault["spec"]["template"]["metadata"]["labels"]) for labels in admitted)
    assert not any(_selects(labels, USER_POD) for labels in admitted)
    assert not any(_selects(labels, PROXY_POD) for labels in admitted)
    assert [p["port"] for p in rule["ports"]] == [5432]
    # The vault's egress to PostgreSQL targets the pods this policy protects.
    vault_policy = _one(manifests, "NetworkPolicy", "lab-vault")
    [to_postgres] = [e for e in vault_policy["spec"]["egress"] if e["ports"][0]["port"] == 5432]
    assert to_postgres["to"][0]["podSelector"] == policy["spec"]["podSelector"]


def test_users_pods_are_kept_off_private_addresses(values: dict[str, Any]) -> None:
    policy = values["singleuser"]["networkPolicy"]
    assert policy["enabled"] is True
    assert policy["egressAllowRules"]["privateIPs"] is False  # the vault, PostgreSQL, storage servers
    assert policy["egressAllowRules"]["cloudMetadataServer"] is False
    assert values["hub"]["networkPolicy"]["enabled"] and values["proxy"]["chp"]["networkPolicy"]["enabled"]


def test_vault_pod_may_call_the_hub(vault: dict[str, Any]) -> None:
    # The chart's hub NetworkPolicy admits pods with this label.
    assert vault["spec"]["template"]["metadata"]["labels"]["hub.jupyter.org/network-access-hub"] == "true"


# -- the chart's values --------------------------------------------------------------------------


def _overlay_schema(schema: Any) -> Any:
    """The chart's schema for an overlay file: ``required`` dropped from object schemas.

    Helm validates the chart's defaults merged with our values, and the defaults fill every
    required key; our file alone is a partial overlay. Types, enums and, above all,
    ``additionalProperties: false`` (no unknown or misspelt key) still apply. ``required``
    inside ``oneOf``/``then`` branches (which choose between alternatives) is kept.
    """
    if isinstance(schema, list):
        return [_overlay_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    relaxed = {key: _overlay_schema(value) for key, value in schema.items()}
    if "properties" in relaxed or "patternProperties" in relaxed:
        relaxed.pop("required", None)
    return relaxed


@pytest.fixture(scope="module")
def chart_validator() -> jsonschema.Draft7Validator:
    [schema] = _documents("z2jh-values.schema.yaml")
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(_overlay_schema(schema))


def test_values_exist_in_the_charts_schema(values: dict[str, Any], chart_validator: jsonschema.Draft7Validator) -> None:
    errors = [f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
              for e in chart_validator.iter_errors(values)]
    assert errors == []


@pytest.mark.parametrize("path, value", [
    (("hub", "dbb"), {"type": "postgres"}),                  # a misspelt section
    (("hub", "db", "type"), "postgresql"),                   # not one of the chart's database types
    (("singleuser", "extraEnvironment"), {"A": "b"}),        # no such key
    (("cull", "timout"), 60),
    (("singleuser", "storage", "homeMountPath"), 7),         # wrong type
    (("proxy", "https", "type"), "acme"),
])
def test_the_schema_check_catches_mistakes(values: dict[str, Any], chart_validator: jsonschema.Draft7Validator,
                                           path: tuple[str, ...], value: Any) -> None:
    broken = copy.deepcopy(values)
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert list(chart_validator.iter_errors(broken)), f"{'.'.join(path)}={value!r} should be refused"


def test_chart_version_and_release_agree_everywhere() -> None:
    header = (K8S / "values.yaml").read_text(encoding="utf-8")
    guide = GUIDE.read_text(encoding="utf-8")
    command = f"helm upgrade --install {RELEASE} jupyterhub/jupyterhub --version {CHART_VERSION}"
    assert command in header
    assert command in guide
    assert "z2jh-values.schema.yaml" in guide


def test_hub_database_is_postgresql_from_a_secret(values: dict[str, Any], secrets: dict[str, dict[str, str]]) -> None:
    db = values["hub"]["db"]
    assert db["type"] == "postgres" and db["upgrade"] is True
    assert "url" not in db and "password" not in db, "the URL and password come from a Secret"
    ref = values["hub"]["extraEnv"]["JUPYTERHUB_DB_URL"]["valueFrom"]["secretKeyRef"]
    url = make_url(secrets[ref["name"]][ref["key"]])
    # psycopg2: the driver in the chart's hub image.
    assert url.get_backend_name() == "postgresql" and url.drivername == "postgresql+psycopg2"
    config = _run_extra_config(values, "10-lab-database.py", {"JUPYTERHUB_DB_URL": "postgresql+psycopg2://h/db"})
    assert config.JupyterHub.db_url == "postgresql+psycopg2://h/db"


def test_vault_is_an_external_service_with_oauth(values: dict[str, Any], manifests: list[dict[str, Any]],
                                                 vault_container: dict[str, Any]) -> None:
    service = values["hub"]["services"]["vault"]
    assert "command" not in service, "the vault is its own Deployment, not a process of the hub"
    url = make_url(service["url"].replace("http://", "postgresql://"))  # only to split host and port
    k8s_service = _one(manifests, "Service", url.host)
    assert url.port == k8s_service["spec"]["ports"][0]["port"]
    assert service["oauth_no_confirm"] is True
    assert "api_token" not in service and "apiToken" not in service, "the token comes from a Secret"
    env = {e["name"]: e for e in vault_container["env"]}
    assert service["oauth_client_id"] == env["JUPYTERHUB_CLIENT_ID"]["value"]
    assert service["oauth_redirect_uri"] == env["JUPYTERHUB_OAUTH_CALLBACK_URL"]["value"]
    assert env["JUPYTERHUB_SERVICE_PREFIX"]["value"] == "/services/vault/"
    # Both sides read the API token from the same Secret key.
    hub_ref = values["hub"]["extraEnv"]["VAULT_SERVICE_API_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert hub_ref == env["JUPYTERHUB_API_TOKEN"]["valueFrom"]["secretKeyRef"]
    config = _run_extra_config(values, "20-lab-vault-token.py", {"VAULT_SERVICE_API_TOKEN": "t0ken"},
                               services=[{"name": "vault", **service}, {"name": "idle-culler"}])
    assert [s.get("api_token") for s in config.JupyterHub.services] == ["t0ken", None]
    with pytest.raises(RuntimeError, match="hub.services.vault"):
        _run_extra_config(values, "20-lab-vault-token.py", {"VAULT_SERVICE_API_TOKEN": "t"}, services=[])


def test_roles_let_servers_call_the_vault_and_nobody_share(values: dict[str, Any],
                                                          vault_container: dict[str, Any]) -> None:
    scope = "access:services!service=vault"
    roles = values["hub"]["loadRoles"]
    assert scope in roles["user"]["scopes"]
    assert scope in values["hub"]["config"]["KubeSpawner"]["server_token_scopes"]
    every_scope = [s for role in roles.values() for s in role["scopes"]]
    every_scope += values["hub"]["config"]["KubeSpawner"]["server_token_scopes"]
    assert not [s for s in every_scope if "shares" in s], "server sharing spends the owner's budget"
    admin = set(roles["lab-admin"]["scopes"])
    assert not admin & {"admin:users", "admin:servers", "tokens", "access:servers", "admin:auth_state"}
    assert roles["lab-admin"]["groups"] == [values["custom"]["lab"]["adminGroup"]]
    args = vault_container["args"]
    assert args[args.index("--admin-group") + 1] == values["custom"]["lab"]["adminGroup"]
    assert values["hub"]["config"]["Authenticator"]["admin_users"] == []
    assert values["hub"]["config"]["GenericOAuthenticator"]["admin_groups"] == []


def test_idle_culler_is_on(values: dict[str, Any]) -> None:
    cull = values["cull"]
    assert cull["enabled"] is True and 0 < cull["every"] < cull["timeout"]


def test_users_servers_use_the_lab_image_and_find_the_vault(values: dict[str, Any],
                                                            vault_container: dict[str, Any]) -> None:
    singleuser = values["singleuser"]
    image = f"{singleuser['image']['name']}:{singleuser['image']['tag']}"
    assert image == vault_container["image"]
    [profile] = singleuser["profileList"]
    assert profile["kubespawner_override"]["image"] == image
    env = singleuser["extraEnv"]
    vault_url = make_url(env["LAB_VAULT_URL"].replace("http://", "postgresql://"))
    assert vault_url.host == "proxy-public" and env["LAB_VAULT_URL"].endswith("/services/vault/")
    assert env["LAB_TWINS_DIR"] == values["custom"]["lab"]["twins"]["mountPath"]
    assert singleuser["allowPrivilegeEscalation"] is False and singleuser["uid"] != 0


def test_twin_access_matches_the_policies_and_people(values: dict[str, Any]) -> None:
    lab = values["custom"]["lab"]
    policies = load_policies(REPO / "policies")
    assert lab["twinAccess"] == {
        name: sorted(set(p.access.twin_groups) | set(p.access.query_groups)) for name, p in policies.items()}
    people = yaml.safe_load((REPO / "policies" / "hub" / "people.yaml").read_text(encoding="utf-8"))
    groups = people["groups"]
    assert lab["teams"] == sorted(g for g, spec in groups.items() if spec.get("kind") == "team")
    assert lab["cohorts"] == sorted(g for g, spec in groups.items() if spec.get("kind") == "cohort")
    allowed = values["hub"]["config"]["GenericOAuthenticator"]["allowed_groups"]
    assert set(allowed) == set(groups) | {lab["adminGroup"]}


# -- the hub's Python snippets, run against stand-ins -----------------------------------------------


def _run_extra_config(values: Mapping[str, Any], name: str, environ: Mapping[str, str],
                      services: list[dict[str, Any]] | None = None) -> Any:
    """Run one hub.extraConfig snippet as the chart's jupyterhub_config.py would."""
    from traitlets.config import Config

    config = Config()
    if services is not None:
        config.JupyterHub.services = services  # the chart builds this list before extraConfig
    z2jh = types.ModuleType("z2jh")

    def get_config(key: str, default: Any = None) -> Any:
        node: Any = values
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return default
            node = node[part]
        return copy.deepcopy(node)

    z2jh.get_config = get_config  # type: ignore[attr-defined]
    saved_module = sys.modules.get("z2jh")
    sys.modules["z2jh"] = z2jh
    saved_env = {key: os.environ.get(key) for key in environ}
    os.environ.update(environ)
    try:
        exec(compile(values["hub"]["extraConfig"][name], name, "exec"), {"c": config})
    finally:
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if saved_module is None:
            sys.modules.pop("z2jh", None)
        else:
            sys.modules["z2jh"] = saved_module
    return config


class FakeSpawner:
    """What the spawn hook touches of a KubeSpawner, as the chart configures one."""

    def __init__(self, name: str, groups: list[str], *, as_dict: bool = False) -> None:
        self.user = SimpleNamespace(name=name, groups=[SimpleNamespace(name=g) for g in groups])
        home_volume = {"name": "volume-{username}{servername}",
                       "persistentVolumeClaim": {"claimName": "claim-{username}{servername}"}}
        home_mount = {"name": "volume-{username}{servername}", "mountPath": "/home/jovyan"}
        self.volumes: Any = {"home": home_volume} if as_dict else [home_volume]
        self.volume_mounts: Any = {"home": home_mount} if as_dict else [home_mount]
        self.environment = {"LAB_VAULT_URL": "http://proxy-public/services/vault/"}
        self.log = logging.getLogger("test-spawner")

    def mounts(self) -> list[dict[str, Any]]:
        return list(self.volume_mounts.values()) if isinstance(self.volume_mounts, dict) else self.volume_mounts

    def volume_list(self) -> list[dict[str, Any]]:
        return list(self.volumes.values()) if isinstance(self.volumes, dict) else self.volumes


@pytest.fixture(scope="module")
def provision(values: dict[str, Any]) -> Any:
    return _run_extra_config(values, "30-lab-provision.py", {}).KubeSpawner.pre_spawn_hook


def _twins_of(spawner: FakeSpawner) -> dict[str, dict[str, Any]]:
    return {m["subPath"]: m for m in spawner.mounts() if m["name"] == "lab-twins"}


@pytest.mark.parametrize("groups, twins, teams", [
    (["analysts"], ["census", "tax", "welfare"], []),
    (["hackathon", "team-red"], ["census", "welfare"], ["team-red"]),
    (["admins"], ["census", "tax", "welfare"], []),
    (["cohort-2026-spring"], [], []),  # a cohort alone gives course material, no twin
    ([], [], []),
])
def test_spawn_hook_mounts_what_the_groups_allow(provision: Any, values: dict[str, Any], groups: list[str],
                                                 twins: list[str], teams: list[str]) -> None:
    spawner = FakeSpawner("alice", groups)
    provision(spawner)
    lab = values["custom"]["lab"]
    mounted = _twins_of(spawner)
    assert sorted(mounted) == twins
    for dataset, mount in mounted.items():
        assert mount["readOnly"] is True
        assert mount["mountPath"] == f"{lab['twins']['mountPath']}/{dataset}"
    team_mounts = {m["subPath"]: m for m in spawner.mounts() if m["name"] == "lab-teams"}
    assert sorted(team_mounts) == teams
    assert all(not m.get("readOnly") for m in team_mounts.values())
    volumes = {v["name"]: v for v in spawner.volume_list()}
    if twins:
        claim = volumes["lab-twins"]["persistentVolumeClaim"]
        assert claim == {"claimName": lab["twins"]["claimName"], "readOnly": True}
    assert "lab-vault-data" not in set(_strings(spawner.volume_list()))
    assert spawner.mounts()[0]["mountPath"] == "/home/jovyan", "the home volume is kept"
    assert spawner.environment["LAB_VAULT_URL"], "the chart's environment is kept"
    assert spawner.environment["LAB_COHORTS"] == ("cohort-2026-spring" if "cohort-2026-spring" in groups else "")


@pytest.mark.parametrize("as_dict", [False, True])
def test_spawn_hook_replaces_its_mounts_at_each_spawn(provision: Any, as_dict: bool) -> None:
    spawner = FakeSpawner("dora", ["analysts", "team-blue"], as_dict=as_dict)
    provision(spawner)
    first = (copy.deepcopy(spawner.volumes), copy.deepcopy(spawner.volume_mounts))
    provision(spawner)
    assert (spawner.volumes, spawner.volume_mounts) == first, "no duplicate volumes or mounts"
    spawner.user.groups = [SimpleNamespace(name="staff")]  # dora left the analysts and her team
    provision(spawner)
    assert sorted(_twins_of(spawner)) == ["census", "tax", "welfare"]  # staff sees these twins
    assert not [m for m in spawner.mounts() if m["name"] == "lab-teams"]
    assert "lab-teams" not in {v["name"] for v in spawner.volume_list()}


def test_start_up_hook_copies_the_starter_and_course_folders(values: dict[str, Any], tmp_path: Path) -> None:
    if shutil.which("sh") is None:
        pytest.skip("no sh")
    script = values["singleuser"]["lifecycleHooks"]["postStart"]["exec"]["command"][2]
    notebooks = tmp_path / "opt-lab-notebooks"
    (notebooks / "academy" / "cohort-a").mkdir(parents=True)
    (notebooks / "academy" / "cohort-a" / "lesson.ipynb").write_text("{}")
    (notebooks / "getting-started.ipynb").write_text("{}")
    home = tmp_path / "home"
    home.mkdir()
    (home / "getting-started.ipynb").write_text("mine")
    run = subprocess.run(["sh", "-c", script.replace("/opt/lab/notebooks", str(notebooks))],
                         env={"HOME": str(home), "LAB_COHORTS": "cohort-a cohort-missing", "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, timeout=30, check=False)
    assert run.returncode == 0, run.stderr
    assert (home / "getting-started.ipynb").read_text() == "mine", "a user's own copy is never overwritten"
    assert (home / "academy" / "cohort-a" / "lesson.ipynb").is_file()
    assert not (home / "academy" / "cohort-missing").exists()


# -- the vault's settings and hub mode --------------------------------------------------------------


def test_vault_settings_point_the_ledger_at_postgresql(vault: dict[str, Any], vault_container: dict[str, Any],
                                                      secrets: dict[str, dict[str, str]], tmp_path: Path) -> None:
    from lab.vault import Ledger, ledger_db

    environ = _environment(vault_container, secrets)
    settings_file = tmp_path / "lab.toml"  # no settings file in the pod; keep this machine's out
    settings_file.write_text("")
    settings = load_settings({**environ, "LAB_CONFIG": str(settings_file)})
    url = make_url(settings.ledger_url)
    assert url.get_backend_name() == "postgresql" and url.drivername == "postgresql+psycopg"
    engine = ledger_db.make_engine(settings.ledger_url)  # SQLAlchemy builds it without connecting
    try:
        assert (engine.dialect.name, engine.dialect.driver) == ("postgresql", "psycopg")
        assert ledger_db.writer_queue(settings.ledger_url) is None  # no SQLite lock file on PostgreSQL
    finally:
        engine.dispose()
    Ledger(settings.ledger_url).close()
    # The directories the settings name are the volumes the pod mounts.
    mounts = {m["mountPath"]: m["name"] for m in vault_container["volumeMounts"]}
    volumes = {v["name"]: v for v in vault["spec"]["template"]["spec"]["volumes"]}
    assert volumes[mounts[str(settings.vault_dir)]]["persistentVolumeClaim"]["claimName"] == "lab-vault-data"
    assert volumes[mounts[str(settings.twins_dir)]]["persistentVolumeClaim"]["claimName"] == "lab-twins"
    assert volumes[mounts[str(settings.policies_dir)]]["configMap"]["name"] == "lab-policies"
    assert settings.staging_dir.is_relative_to(settings.vault_dir)


def test_vault_hub_mode_accepts_the_deployments_environment(vault_container: dict[str, Any],
                                                           secrets: dict[str, dict[str, str]],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from lab.vault.service import auth

    environ = _environment(vault_container, secrets)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    hub = auth.hub_environment(environ)
    assert (hub.host, hub.port, hub.prefix) == ("0.0.0.0", 8765, "/services/vault/")
    assert hub.api_url == "http://hub:8081/hub/api"  # the chart's hub Service
    hub_auth = auth.make_hub_auth(hub)
    assert hub_auth.oauth_client_id == "service-vault"
    assert hub_auth.access_scopes == {"access:services!service=vault"}
    assert hub_auth.oauth_redirect_uri == "/services/vault/oauth_callback"
    assert hub_auth.base_url == "/services/vault/"


def test_policies_load_from_a_configmap_volume(tmp_path: Path) -> None:
    """A ConfigMap volume holds each key as a link into a hidden, timestamped folder."""
    real = tmp_path / "..2026_11_25_00_00_00.000000001"
    real.mkdir()
    for policy in sorted((REPO / "policies").glob("*.yaml")):
        shutil.copy(policy, real / policy.name)
        (tmp_path / policy.name).symlink_to(Path("..data") / policy.name)
    (tmp_path / "..data").symlink_to(real.name)
    assert sorted(load_policies(tmp_path)) == sorted(load_policies(REPO / "policies"))


def test_twin_folders_init_container_makes_one_folder_per_policy(vault: dict[str, Any], tmp_path: Path) -> None:
    [init] = vault["spec"]["template"]["spec"]["initContainers"]
    script = init["command"][2].replace("/srv/lab", str(tmp_path))
    (tmp_path / "policies").mkdir()
    (tmp_path / "twins" / "welfare" / "v0001").mkdir(parents=True)  # a build made it private: kept, opened
    (tmp_path / "twins" / "welfare").chmod(0o700)
    for policy in (REPO / "policies").glob("*.yaml"):
        (tmp_path / "policies" / policy.name).write_text("")
    run = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30, check=False)
    assert run.returncode == 0, run.stderr
    folders = sorted((tmp_path / "twins").iterdir())
    assert [p.name for p in folders] == sorted(p.stem for p in (REPO / "policies").glob("*.yaml"))
    assert all(p.stat().st_mode & 0o777 == 0o755 for p in folders), "users' pods (uid 1000) must read them"
    assert (tmp_path / "twins" / "welfare" / "v0001").is_dir()


# -- the image -----------------------------------------------------------------------------------


def test_dockerfile_installs_cpu_torch_first_and_runs_as_the_expected_users(values: dict[str, Any],
                                                                           vault: dict[str, Any]) -> None:
    lines = [line.strip() for line in (K8S / "Dockerfile").read_text(encoding="utf-8").splitlines()]
    assert lines[[i for i, line in enumerate(lines) if line.startswith("FROM")][0]] == "FROM debian:bookworm-slim"
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    [torch_pin] = [d for d in pyproject["project"]["dependencies"] if d.startswith("torch")]
    torch_line = next(i for i, line in enumerate(lines) if f'"{torch_pin}"' in line)
    assert "download.pytorch.org/whl/cpu" in lines[torch_line]
    requirements = next(i for i, line in enumerate(lines) if "pip install -r" in line)
    package = next(i for i, line in enumerate(lines) if "pip install --no-deps /opt/lab/src" in line)
    assert torch_line < requirements < package
    text = "\n".join(lines)
    singleuser = values["singleuser"]
    assert f"useradd --uid {singleuser['uid']} --gid {singleuser['fsGid']}" in text
    pod_security = vault["spec"]["template"]["spec"]["securityContext"]
    assert f"--uid {pod_security['runAsUser']} --gid {pod_security['runAsGroup']}" in text
    assert "COPY notebooks /opt/lab/notebooks" in lines  # where the start-up hook copies from
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    for line in lines:
        if line.startswith("COPY "):
            sources = line.split()[1:-1]
            assert all((REPO / source).exists() for source in sources), line
