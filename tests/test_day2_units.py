"""Day-2 pieces without nodes: the runner's wave rules (over a fake transport), reset and upgrade
plans, the Traefik values rewrite, token digests, how adopt reads a node's settings."""

from __future__ import annotations

import threading

import yaml

from k3swiz.adopt_read import NodeReading, effective_settings, service_words
from k3swiz.answers import answers_from_text
from k3swiz.apply import ApplyOptions
from k3swiz.catalog import K3sVersion, load_catalog
from k3swiz.connect import Access
from k3swiz.day2_run import Task, run_job
from k3swiz.plan import NodePlan, Plan, Wave
from k3swiz.reset import ResetJob, build_plan as reset_plan, uninstall_script
from k3swiz.secrets import Secret
from k3swiz.snapshot_tokens import token_digest, verdict
from k3swiz.ssh import CommandResult, TransportStats
from k3swiz.traefik_rewrite import rewrite_values
from k3swiz.upgrade import check_upgrade, upgrade_plan

DOC = {"apiVersion": "k3swiz/v1",
       "cluster": {"name": "u", "k3s": {"version": "v1.31.4+k3s1"}, "token": {"value": "t0ken"}},
       "nodes": [{"name": "s1", "address": "10.0.0.1", "role": "server"},
                 {"name": "s2", "address": "10.0.0.2", "role": "server"},
                 {"name": "s3", "address": "10.0.0.3", "role": "server"},
                 {"name": "a1", "address": "10.0.0.4", "role": "agent"},
                 {"name": "a2", "address": "10.0.0.5", "role": "agent"},
                 {"name": "a3", "address": "10.0.0.6", "role": "agent"}]}


def answers(**cluster):
    doc = yaml.safe_load(yaml.safe_dump(DOC))
    doc["cluster"].update(cluster)
    return answers_from_text(yaml.safe_dump(doc)).answers


class FakeTransport:
    """Runs nothing: a script containing FAIL exits 1; every script is recorded with its node."""
    log: list = []
    lock = threading.Lock()

    def __init__(self, target, **kw):
        self.target, self.stats = target, TransportStats()

    def connect(self):
        pass

    def run(self, script, timeout=None, **kw):
        with self.lock:
            self.log.append((self.target.node, script))
        return CommandResult(1 if "FAIL" in script else 0, f"out of {self.target.node}\n", "", 0.0)

    def close(self):
        pass


class Job:
    command = "unit"

    def __init__(self, nodes, waves):
        self.nodes, self.waves = nodes, waves

    def probe(self, node):
        return "probe\n"

    def plan(self, probes):
        return Plan("u", "v", self.waves), []


def test_runner_runs_a_node_in_several_waves_steps_on_other_nodes_and_stops_after_a_failure(tmp_path):
    a = answers()
    s1, s2, s3, a1 = a.nodes[:4]
    FakeTransport.log = []
    waves = [Wave("stop", [NodePlan(n, "", [Task("stop", "stop\n", "stop")]) for n in (s1, s2)], parallel=True),
             Wave("s1 again", [NodePlan(s1, "", [Task("start", "start\n", "start"),
                                                 Task("kubectl on s2", "kubectl\n", "x", on="s2", keep=True)])],
                  parallel=False),
             Wave("s2 fails", [NodePlan(s2, "", [Task("break", "FAIL\n", "x")])], parallel=False),
             Wave("never", [NodePlan(s3, "", [Task("late", "late\n", "x")])], parallel=False)]
    options = ApplyOptions(journal_root=tmp_path, access=Access(transport_factory=FakeTransport,
                                                                 ssh_config_path=tmp_path / "none"))
    result = run_job(a, Job([s1, s2, s3, a1], waves), options)
    states = {name: o.state for name, o in result.outcomes.items()}
    assert states == {"s1": "done", "s2": "failed", "s3": "skipped", "a1": "done"}
    assert ("s2", "kubectl\n") in FakeTransport.log and ("s3", "late\n") not in FakeTransport.log
    assert result.outputs["s1"] == ["out of s2\n"] and result.outcomes["s1"].changes == 3
    assert "s2 failed" in result.outcomes["s3"].message and not result.ok
    assert (result.journal / "summary.json").exists() and result.journal.name.startswith("u-unit-")


def test_reset_plan_agents_first_first_server_last_and_partial_reset_deletes_node_objects():
    a = answers()
    full = reset_plan(a, a.nodes, None)
    assert [w.title for w in full.waves] == ["agents", "s2: server", "s3: server", "s1: server"]
    assert full.waves[0].parallel and not full.waves[1].parallel
    job = ResetJob(a, ["s2", "a1"])
    assert job.helper.name == "s1" and not job.full
    steps = reset_plan(a, job.targets, job.helper).for_node("a1").steps
    assert steps[0].on == "s1" and "k3s kubectl delete node a1 --ignore-not-found" in steps[0].script
    assert "apk del k3s" in uninstall_script(answers_from_text(yaml.safe_dump(
        {**DOC, "install": {"method": "apk"}})).answers)


def test_upgrade_check_and_plan():
    a = answers(traefik={"values": {"ports": {"web": {"redirectTo": {"port": "websecure"}}}}})
    check = check_upgrade(a, "v1.33.6+k3s1", rewrite=False)
    assert [p.path for p in check.errors] == ["cluster.traefik.values.ports.web.redirectTo"]
    rewritten = check_upgrade(a, "v1.33.6+k3s1", rewrite=True)
    assert rewritten.errors == [] and rewritten.answers.cluster.traefik.values["ports"]["web"]["redirections"]
    assert a.cluster.traefik.values == {"ports": {"web": {"redirectTo": {"port": "websecure"}}}}   # not touched
    assert "downgraded" in check_upgrade(a, "v1.30.1+k3s1", rewrite=True).errors[0].fix
    skip = check_upgrade(answers(), "v1.33.6+k3s1", rewrite=False).problems
    assert any("skips a Kubernetes minor" in p.message and not p.is_error for p in skip)
    plan = upgrade_plan(rewritten.answers, Secret("t0ken"), None, batch=2, drain=True)
    assert [w.title for w in plan.waves] == ["s1: server", "s2: server", "s3: server", "agents batch 1",
                                             "agents batch 2"]
    agent_steps = [s.title for s in plan.for_node("a1").steps]
    assert agent_steps[0] == "drain a1 (k3s kubectl on s1)" and agent_steps[-1] == "uncordon a1 (k3s kubectl on s1)"
    install = next(s for s in plan.for_node("s1").steps if s.kind == "install")
    assert "export INSTALL_K3S_FORCE_RESTART=true\n" in install.script   # k3s must restart on the new binary
    airgap = answers_from_text(yaml.safe_dump({**DOC, "install": {"method": "airgap", "airgap": {
        "k3s-binary": __file__, "install-script": __file__}}})).answers
    forced = next(s for s in upgrade_plan(airgap, Secret("t0ken"), None).for_node("s1").steps if s.kind == "install")
    assert "export INSTALL_K3S_FORCE_RESTART=true\n" in forced.script   # the bundle is already there


def test_traefik_rewrite_between_generations():
    catalog = load_catalog()
    v3, v2 = K3sVersion.parse("v1.33.6+k3s1"), K3sVersion.parse("v1.25.3+k3s1")
    values, changes = rewrite_values({"ssl": {"enforced": True, "enabled": True}, "logLevel": "debug",
                                      "pilot": {"enabled": False}}, catalog, v3)
    assert values == {"pilot": {"enabled": False}, "logs": {"general": {"level": "debug"}},
                      "ports": {"web": {"redirections": {"entryPoint": {"to": "websecure", "scheme": "https",
                                                                        "permanent": True}}},
                                "websecure": {"tls": {"enabled": True}}}}
    assert "no equivalent" in changes[-1].describe()
    assert rewrite_values({"ssl": {"enforced": True}}, catalog, v2)[0] == {"ports": {"web": {"redirectTo": "websecure"}}}
    dropped, notes = rewrite_values({"ssl": {"enforced": False}}, catalog, v3)
    assert dropped == {} and "turned no redirect on" in notes[0].describe()


def test_token_digest_is_the_passwords_and_verdicts():
    full = Secret("K10" + "a" * 64 + "::server:pw123")
    assert token_digest(full) == token_digest(Secret("pw123")) != token_digest(Secret("other"))
    assert verdict(None, "x") == "token not recorded"
    assert verdict({"token_sha256": "x"}, "x") == "taken with the current token"
    assert "ANOTHER" in verdict({"token_sha256": "y" * 64}, "x")


def test_adopt_reads_settings_in_k3s_precedence():
    unit = ("[Service]\nEnvironmentFile=-/etc/systemd/system/k3s.service.env\n"
            "ExecStart=/usr/local/bin/k3s \\\n    server \\\n    '--node-label=zone=b' --tls-san x.lab\n")
    reading = NodeReading("10.0.0.1", files={
        "/etc/systemd/system/k3s.service": unit,
        "/etc/systemd/system/k3s.service.env": "K3S_TOKEN='s3cret'\nK3S_NODE_NAME=env-name\n",
        "/etc/rancher/k3s/config.yaml": "node-name: cfg-name\nkubelet-arg: [a=1]\ntls-san: [y.lab]\n",
        "/etc/rancher/k3s/config.yaml.d/20-b.yaml": "kubelet-arg+: [b=2]\n",
        "/etc/rancher/k3s/config.yaml.d/10-a.yaml": "node-name: dropin-name\n"})
    assert service_words(reading) == ["server", "--node-label=zone=b", "--tls-san", "x.lab"]
    role, settings = effective_settings(reading)
    assert role == "server" and settings["token"] == "s3cret"
    assert settings["node-name"] == "dropin-name" and settings["kubelet-arg"] == ["a=1", "b=2"]
    assert settings["tls-san"] == ["x.lab"] and settings["node-label"] == ["zone=b"]   # flags replace lists
    openrc = NodeReading("10.0.0.2", files={"/etc/init.d/k3s-agent":
                                            'command_args="agent  >>/var/log/k3s-agent.log 2>&1"\n'})
    assert effective_settings(openrc)[0] == "agent"


def test_saved_snapshot_names_from_k3s_log_or_the_newest_file():
    from k3swiz.etcd import SnapshotJob
    a = answers()
    job = SnapshotJob(a, "save", a.servers[:1], token_sha256="d")
    logged = 'time="x" level=info msg="Snapshot on-demand-s1-17 saved."\nk3swiz-newest-snapshot=on-demand-s1-17\n'
    quiet = "Saving etcd snapshot\nk3swiz-newest-snapshot=on-demand-s1-18\n"
    assert [e["name"] for e in job.saved({"s1": [logged]})] == ["on-demand-s1-17"]
    assert job.saved({"s1": [quiet]}) == [{"name": "on-demand-s1-18", "node": "s1", "token_sha256": "d"}]


def test_a_stopped_run_skips_what_is_left_and_exits_130(tmp_path):
    from k3swiz.day2_console import exit_code
    a = answers()
    s1, s2 = a.nodes[:2]
    options = ApplyOptions(journal_root=tmp_path, access=Access(transport_factory=FakeTransport,
                                                                 ssh_config_path=tmp_path / "none"))
    options.stop.set()   # Ctrl-C before the first step
    result = run_job(a, Job([s1, s2], [Wave("w", [NodePlan(s1, "", [Task("t", "t\n", "x")])], parallel=False)]),
                     options)
    assert result.interrupted and result.outcomes["s1"].state == "skipped" and exit_code(result) == 130
