"""What the k3s TEST STAND-IN does when its service starts (not k3s itself).

A first server creates the cluster (fake CA, token files, kubeconfig) and
records it in /lab-shared/clusters/<sha256 of password>.json; joining servers
and agents must reach a Ready server of a cluster at their `server:` URL and
present its token, else they fail like a real join. Every node registers in
/lab-shared/nodes/<name>. The token is only ever read from files/config,
never passed on in argv or environment.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import socket
import time
from urllib.parse import urlparse

import standin_lib as lib
from standin_config import truthy

DATA_DIR = "/var/lib/rancher/k3s"
KUBECONFIG = "/etc/rancher/k3s/k3s.yaml"
CRITICAL = ("agent-token", "cluster-cidr", "cluster-dns", "cluster-domain",
            "disable-cloud-controller", "disable-helm-controller", "disable-network-policy",
            "egress-selector-mode", "embedded-registry", "flannel-backend",
            "flannel-external-ip", "flannel-ipv6-masq", "secrets-encryption",
            "secrets-encryption-provider", "service-cidr")


class StartFailed(Exception):
    """The service fails to start; the message is what k3s would log."""


FAIL_START = "/etc/k3s-standin.fail-start"   # a test's fault: empty = every start fails, else that version's


def start(role: str, conf: dict, version: str) -> str:
    """Bring the node up as `role`; returns a log line, raises StartFailed."""
    time.sleep(float(lib.lab_conf().get("install_seconds") or 0))
    fault = lib.read_text(FAIL_START)
    if fault is not None and fault.strip() in ("", version):
        raise StartFailed(f"k3s {version} does not start: fault injected by the test ({FAIL_START})")
    name = conf.get("node-name") or socket.gethostname()
    ip = str(conf.get("node-ip") or lib.lab_conf().get("address") or "127.0.0.1").split(",")[0]
    token = _token(conf)
    if role == "server" and not conf.get("server"):
        cluster_id = _init_cluster(conf, token)
    else:
        cluster_id = _join(role, conf, token, name)
    _register(cluster_id, name, ip, role, conf, version)
    if role == "server":
        _etcd_started(conf, cluster_id)
    return f"k3s {role} {name} ({ip}) is running in cluster {cluster_id[:12]}"


def _etcd_started(conf: dict, cluster_id: str) -> None:
    """This server's etcd member is of the cluster's current epoch; a normal start clears the
    flag an earlier cluster-reset left (standin_etcd)."""
    import standin_etcd  # imports this module: load it only when needed
    record = json.loads(lib.read_text(f"{lib.SHARED}/clusters/{cluster_id}.json") or "{}")
    if record.get("datastore") == "etcd":
        standin_etcd.record_member(conf, record)
    server_db = f"{conf.get('data-dir') or DATA_DIR}/server/db"
    if os.path.exists(f"{server_db}/reset-flag"):
        os.unlink(f"{server_db}/reset-flag")


def _token(conf: dict) -> str | None:
    if conf.get("token"):
        return str(conf["token"]).strip()
    if conf.get("token-file"):
        text = lib.read_text(str(conf["token-file"]))
        if text is None:
            raise StartFailed(f"failed to read token file {conf['token-file']}: no such file")
        return text.strip() or None
    return None


def parse_token(token: str) -> tuple[str | None, str]:
    """(CA hash or None, password) like k3s's token parser."""
    if not token.startswith("K10"):
        return None, token
    ca_hash, sep, creds = token[3:].partition("::")
    user, colon, password = creds.partition(":")
    if not sep or not colon or not user or not password:
        raise StartFailed("invalid token format")
    if len(ca_hash) != 64:
        raise StartFailed("invalid token CA hash length")
    return ca_hash, password


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# ---- first server ------------------------------------------------------------
def _init_cluster(conf: dict, token: str | None) -> str:
    server_dir = f"{conf.get('data-dir') or DATA_DIR}/server"
    existing = lib.read_text(f"{server_dir}/token")
    password = parse_token(token)[1] if token else None
    if existing:
        old_password = parse_token(existing.strip())[1]
        if password and password != old_password:
            raise StartFailed("starting kubernetes: preparing server: bootstrap data already "
                              "found and encrypted with different token")
        password = old_password
    password = password or secrets.token_hex(16)  # k3s generates one when none is given
    ca_pem = lib.read_text(f"{server_dir}/tls/server-ca.crt") or _fake_ca_pem()
    cluster_id = sha256(password)
    cluster = {"id": cluster_id, "ca_hash": sha256(ca_pem), "ca_pem": ca_pem, "epoch": 0,
               "datastore": "etcd" if truthy(conf.get("cluster-init")) else "sqlite",
               "critical": _critical(conf), "members": []}
    agent_password = _agent_password(conf)
    cluster["agent_password_hash"] = sha256(agent_password) if agent_password else None
    with lib.shared_lock():
        path = f"{lib.SHARED}/clusters/{cluster_id}.json"
        old = json.loads(lib.read_text(path) or "{}")
        if old.get("ca_hash") == cluster["ca_hash"]:
            cluster["members"] = old.get("members", [])
            cluster["epoch"] = old.get("epoch", 0)
        lib.write_file(path, json.dumps(cluster, indent=1))
    _write_server_files(server_dir, conf, ca_pem, password, agent_password)
    return cluster_id


def _fake_ca_pem() -> str:
    body = base64.encodebytes(b"k3s-standin fake CA " + secrets.token_bytes(180)).decode()
    return f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n"


def _agent_password(conf: dict) -> str | None:
    value = conf.get("agent-token")
    if not value and conf.get("agent-token-file"):
        value = (lib.read_text(str(conf["agent-token-file"])) or "").strip()
    return parse_token(str(value))[1] if value else None


def _critical(conf: dict) -> dict:
    values = {key: str(conf.get(key)) for key in CRITICAL if conf.get(key) is not None}
    values["disable=servicelb"] = str("servicelb" in (conf.get("disable") or []))
    return values


def _write_server_files(server_dir: str, conf: dict, ca_pem: str, password: str,
                        agent_password: str | None) -> None:
    ca_hash = sha256(ca_pem)
    lib.write_file(f"{server_dir}/tls/server-ca.crt", ca_pem, 0o644)
    for name in ("server-ca.crt", "client.crt", "server-client.crt"):   # for etcdctl (k3s-facts §8)
        lib.write_file(f"{server_dir}/tls/etcd/{name}", "k3s-standin fake etcd certificate\n", 0o644)
    for name in ("client.key", "server-client.key"):
        lib.write_file(f"{server_dir}/tls/etcd/{name}", "k3s-standin fake etcd key\n", 0o600)
    lib.write_file(f"{server_dir}/token", f"K10{ca_hash}::server:{password}\n", 0o600)
    _symlink("token", f"{server_dir}/node-token")
    if agent_password:
        lib.write_file(f"{server_dir}/agent-token", f"K10{ca_hash}::node:{agent_password}\n", 0o600)
    else:
        _symlink("token", f"{server_dir}/agent-token")
    _write_kubeconfig(conf, ca_pem)


def _symlink(target: str, link: str) -> None:
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(target, link)


def _write_kubeconfig(conf: dict, ca_pem: str) -> None:
    port = conf.get("https-listen-port") or 6443
    fake = base64.b64encode(b"k3s-standin fake client " + secrets.token_bytes(24)).decode()
    text = f"""apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: {base64.b64encode(ca_pem.encode()).decode()}
    server: https://127.0.0.1:{port}
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {{}}
users:
- name: default
  user:
    client-certificate-data: {fake}
    client-key-data: {fake}
"""
    mode = int(str(conf.get("write-kubeconfig-mode") or "600"), 8)
    path = str(conf.get("write-kubeconfig") or KUBECONFIG)
    lib.write_file(path, text, mode)


# ---- joining servers and agents ---------------------------------------------------
def _join(role: str, conf: dict, token: str | None, name: str) -> str:
    if not conf.get("server"):
        raise StartFailed("--server is required: an agent joins an existing server")
    url = str(conf.get("server"))
    if not url.startswith("https://"):
        raise StartFailed(f"only https:// URLs are supported, got {url!r}")
    if not token:
        raise StartFailed("--token is required")
    ca_hash, password = parse_token(token)
    cluster = _cluster_at(url)
    if ca_hash and ca_hash != cluster["ca_hash"]:
        raise StartFailed("token CA hash does not match the Cluster CA certificate hash: "
                          f"{ca_hash} != {cluster['ca_hash']}")
    allowed = {cluster["id"]} | ({cluster["agent_password_hash"]} if role == "agent" else set())
    if sha256(password) not in allowed:
        raise StartFailed(f"failed to get server bootstrap data from {url}: 401 Unauthorized "
                          "(invalid username/password combination)")
    if role == "server":
        if cluster["datastore"] != "etcd":
            raise StartFailed(f"cannot join {url} as a server: that cluster uses SQLite, "
                              "not embedded etcd (start its first server with cluster-init)")
        if _critical(conf) != cluster["critical"]:
            raise StartFailed("failed to validate server configuration: critical "
                              "configuration value mismatch between servers")
        import standin_etcd  # imports this module: load it only when needed
        standin_etcd.check_member(conf, cluster)
        agent_password = _agent_password(conf)
        _write_server_files(f"{conf.get('data-dir') or DATA_DIR}/server", conf,
                            cluster["ca_pem"], password, agent_password)
    return cluster["id"]


def _cluster_at(url: str) -> dict:
    """The cluster whose Ready server answers at url (else: connection refused)."""
    host = urlparse(url).hostname
    ready = {n["name"]: n for n in registered_nodes() if n.get("status") == "Ready"}
    for path in sorted(os.listdir(f"{lib.SHARED}/clusters")):
        if not path.endswith(".json"):
            continue
        cluster = json.loads(lib.read_text(f"{lib.SHARED}/clusters/{path}") or "{}")
        for member in cluster.get("members", []):
            node = ready.get(member["name"])
            if member["role"] == "server" and node and host in (node["ip"], node["name"]):
                return cluster
    raise StartFailed(f'failed to get CA certs: Get "{url}/cacerts": dial tcp {host}:6443: '
                      "connect: connection refused")


# ---- registration -----------------------------------------------------------------
def _register(cluster_id: str, name: str, ip: str, role: str, conf: dict, version: str) -> None:
    with lib.shared_lock():
        path = f"{lib.SHARED}/clusters/{cluster_id}.json"
        cluster = json.loads(lib.read_text(path) or "{}")
        members = [m for m in cluster.get("members", []) if m["name"] != name]
        cluster["members"] = members + [{"name": name, "role": role, "ip": ip}]
        lib.write_file(path, json.dumps(cluster, indent=1))
        node = {"name": name, "role": role, "ip": ip, "cluster": cluster_id, "status": "Ready",
                "version": version, "since": time.time(),
                "labels": conf.get("node-label") or [], "taints": conf.get("node-taint") or []}
        lib.write_file(f"{lib.SHARED}/nodes/{name}", json.dumps(node))
    lib.write_file(f"{conf.get('data-dir') or DATA_DIR}/standin-cluster", cluster_id)


def mark_not_ready(name: str | None = None) -> None:
    """The service stopped: the node shows NotReady (it stays registered)."""
    name = name or socket.gethostname()
    with lib.shared_lock():
        text = lib.read_text(f"{lib.SHARED}/nodes/{name}")
        if text:
            node = json.loads(text)
            node["status"] = "NotReady"
            lib.write_file(f"{lib.SHARED}/nodes/{name}", json.dumps(node))


def forget(name: str) -> None:
    """`kubectl delete node`: drop the registration and the cluster membership."""
    with lib.shared_lock():
        if os.path.exists(f"{lib.SHARED}/nodes/{name}"):
            os.unlink(f"{lib.SHARED}/nodes/{name}")
        for entry in os.listdir(f"{lib.SHARED}/clusters"):
            if entry.endswith(".json"):
                path = f"{lib.SHARED}/clusters/{entry}"
                record = json.loads(lib.read_text(path) or "{}")
                record["members"] = [m for m in record.get("members", []) if m["name"] != name]
                lib.write_file(path, json.dumps(record, indent=1))


def registered_nodes() -> list[dict]:
    folder = f"{lib.SHARED}/nodes"
    if not os.path.isdir(folder):
        return []
    return [json.loads(lib.read_text(f"{folder}/{n}") or "{}")
            for n in sorted(os.listdir(folder)) if not n.endswith("standin-tmp")]
