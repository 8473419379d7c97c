"""Secrets on this machine (no lab): the token file and the kubeconfig are created 0600 (O_EXCL /
O_CREAT with the mode, never chmod-ed after), saved answers hold the token only when asked, and
no message, plan or repr shows the token or the sudo password."""

from __future__ import annotations

import contextlib
import io
import os
import stat
from pathlib import Path

import pytest
import yaml

from k3swiz import cli
from k3swiz.answers import answers_from_text, load_answers, save_answers
from k3swiz.apply import ApplyOptions, read_token
from k3swiz.connect import Access
from k3swiz.kubeconfig import write_private
from k3swiz.plan import build_plan
from k3swiz.secrets import Secret
from k3swiz.ssh_sudo import password_line
from tests.answers_util import BASE, doc

TOKEN = "localsecrettoken" + "7f" * 20


@pytest.fixture
def file_calls(monkeypatch):
    """Every os.open / chmod / fchmod in the process while the test runs: (call, path or fd, flags, mode)."""
    calls: list[tuple] = []
    real_open, real_chmod, real_fchmod = os.open, os.chmod, os.fchmod

    def spy_open(path, flags, mode=0o777, *args, **kwargs):
        calls.append(("open", str(path), flags, mode))
        return real_open(path, flags, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy_open)
    monkeypatch.setattr(os, "chmod", lambda p, m, **kw: (calls.append(("chmod", str(p), 0, m)), real_chmod(p, m, **kw)))
    monkeypatch.setattr(os, "fchmod", lambda fd, m: (calls.append(("fchmod", fd, 0, m)), real_fchmod(fd, m)))
    old_umask = os.umask(0)  # the worst umask: only the mode given at creation protects the file
    yield calls
    os.umask(old_umask)


def answers_in(folder: Path, **changes):
    path = folder / "local.yaml"
    path.write_text(yaml.safe_dump(doc(**changes)))
    return load_answers(path).answers


def test_new_token_file_is_created_0600_exclusively_and_never_chmodded(tmp_path, file_calls):
    answers = answers_in(tmp_path, **{"cluster.token": {"file": "./new/cluster.token"}})
    token = read_token(answers)
    path = tmp_path / "new" / "cluster.token"
    opens = [c for c in file_calls if c[0] == "open" and c[1] == str(path)]
    assert len(opens) == 1
    _, _, flags, mode = opens[0]
    assert flags & os.O_CREAT and flags & os.O_EXCL and mode == 0o600
    assert not [c for c in file_calls if c[0] in ("chmod", "fchmod")]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_text().strip() == token.reveal()


def test_kubeconfig_is_created_0600(tmp_path, file_calls):
    target = tmp_path / "kube" / "config"
    write_private(target, {"users": [{"name": "x", "user": {"client-key-data": "c2VjcmV0"}}]})
    opens = [c for c in file_calls if c[0] == "open" and "kube" in c[1]]
    assert opens and all(c[3] == 0o600 and c[2] & os.O_CREAT for c in opens)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_saved_answers_hold_the_token_only_when_asked(tmp_path, file_calls):
    loaded = answers_from_text(yaml.safe_dump(doc(**{"cluster.token": {"value": TOKEN}})), "t.yaml", tmp_path)
    plain = save_answers(loaded.answers, tmp_path / "plain.yaml")
    assert TOKEN not in plain.read_text() and stat.S_IMODE(plain.stat().st_mode) == 0o644
    inline = save_answers(loaded.answers, tmp_path / "inline.yaml", include_secrets=True)
    assert TOKEN in inline.read_text() and stat.S_IMODE(inline.stat().st_mode) == 0o600
    created = [c for c in file_calls if c[0] == "open" and "inline.yaml" in c[1]]
    assert created and created[0][3] == 0o600 and not [c for c in file_calls if c[0] == "chmod"]


@pytest.mark.parametrize("bad", [TOKEN + " tail", TOKEN + "'", "K10" + TOKEN, "K10" + "a" * 64 + "::" + TOKEN])
def test_validation_messages_never_echo_the_token(tmp_path, bad):
    (tmp_path / "bad.token").write_text(bad + "\n")
    (tmp_path / "bad.token").chmod(0o600)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc(**{"cluster.token": {"file": "./bad.token"}})))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(["validate", str(path)])
    assert rc == 2 and "cluster.token" in err.getvalue()
    assert TOKEN not in out.getvalue() + err.getvalue()


def test_plans_reprs_and_options_never_show_a_secret(tmp_path):
    answers = answers_from_text(yaml.safe_dump(BASE), "t.yaml", tmp_path).answers
    plan = build_plan(answers, token=Secret(TOKEN))
    options = ApplyOptions(access=Access(sudo_password=Secret(TOKEN + "pw")))
    for text in (repr(plan), str(plan), repr(options), f"{options}", repr(plan.node_plans()[0].steps)):
        assert TOKEN not in text
    token_files = [f for np in plan.node_plans() for s in np.steps for f in getattr(s, "files", ())
                   if f.secret]
    assert token_files and all(f.shown() == "*** (secret: not shown)\n" for f in token_files)


def test_a_sudo_password_sudo_cannot_read_is_refused_without_echoing_it():
    secret = Secret("first-line\n" + TOKEN)
    with pytest.raises(ValueError) as refused:
        password_line(secret)
    assert TOKEN not in str(refused.value) and "line break" in str(refused.value)


def test_dry_run_output_has_no_token(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("K3SWIZ_TEST_TOKEN", TOKEN)
    path = tmp_path / "dry.yaml"
    path.write_text(yaml.safe_dump(doc(**{"cluster.token": {"env": "K3SWIZ_TEST_TOKEN"}})))
    assert cli.main(["replay", str(path), "--dry-run"]) == 0
    assert cli.main(["plan", str(path), "--out", str(tmp_path / "plan")]) == 0
    out, err = capsys.readouterr()
    written = "".join(p.read_text() for p in (tmp_path / "plan").rglob("*") if p.is_file())
    assert TOKEN not in out + err + written and "cluster-token" in written + out
