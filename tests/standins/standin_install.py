"""The k3s install script TEST STAND-IN (run by tests/standins/install.sh).

Follows the real script's order and rules (k3s-facts.md section 2): offline
only (INSTALL_K3S_SKIP_DOWNLOAD=true), K3S_URL must be https://, OpenRC is
detected first (-x /sbin/openrc-run), K3S_*/CONTAINERD_*/proxy variables go to
the 0600 env file, no restart when binary+unit+env hashes are unchanged
unless INSTALL_K3S_FORCE_RESTART=true.
"""
from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import sys

sys.path.insert(0, "/usr/local/lib/k3s-standin")
import standin_lib as lib  # noqa: E402
import standin_scripts as scripts  # noqa: E402

FAIL_MARKER = "/etc/k3s-standin.fail-install"


class Fatal(Exception):
    pass


def info(message: str) -> None:
    print(f"[INFO]  {message}", flush=True)


def main(args: list[str]) -> int:
    lib.record_call("install.sh", args)
    try:
        return install(args, os.environ)
    except Fatal as error:
        print(f"[ERROR]  {error}", file=sys.stderr)
        return 1


def install(args: list[str], env) -> int:
    if os.path.exists(FAIL_MARKER):
        raise Fatal((lib.read_text(FAIL_MARKER) or "").strip() or "install failure injected by the test")
    if os.getuid() != 0:
        raise Fatal("the install script stand-in needs root: run it with sudo "
                    "(the real script would call sudo for each step)")
    init = _verify_system()
    setup = _setup(args, env, init)
    pre_hashes = _hashes(setup)
    _check_binary(setup, env)
    _create_symlinks(setup, env)
    scripts.write_killall(setup)
    scripts.write_uninstall(setup)
    if init == "systemd":
        subprocess.run(["systemctl", "disable", setup["name"]], capture_output=True)
    _write_env_file(setup, env)
    scripts.write_service(setup)
    return _enable_and_start(setup, env, pre_hashes)


def _verify_system() -> str:
    if os.access("/sbin/openrc-run", os.X_OK):
        return "openrc"
    if os.access("/bin/systemctl", os.X_OK) or shutil.which("systemctl"):
        return "systemd"
    raise Fatal("Can not find systemd or openrc to use as a process supervisor for k3s")


def _setup(args: list[str], env, init: str) -> dict:
    url = env.get("K3S_URL", "")
    if url and not url.startswith("https://"):
        raise Fatal(f"Only https:// URLs are supported for K3S_URL (have {url})")
    words = args or shlex.split(env.get("INSTALL_K3S_EXEC", ""))
    if not words or words[0].startswith("-"):
        command = "agent" if url else "server"
        if url and not env.get("K3S_TOKEN") and not env.get("K3S_TOKEN_FILE"):
            raise Fatal(f"Defaulted k3s exec command to '{command}' because K3S_URL is defined, "
                        "but K3S_TOKEN or K3S_TOKEN_FILE is not defined.")
        words = [command, *words]
    name = env.get("INSTALL_K3S_NAME")
    name = f"k3s-{name}" if name else ("k3s" if words[0] == "server" else f"k3s-{words[0]}")
    bin_dir = env.get("INSTALL_K3S_BIN_DIR", "/usr/local/bin")
    if init == "systemd":
        unit_dir = env.get("INSTALL_K3S_SYSTEMD_DIR", "/etc/systemd/system")
        service_file, env_file = f"{unit_dir}/{name}.service", f"{unit_dir}/{name}.service.env"
    else:
        service_file, env_file = f"/etc/init.d/{name}", f"/etc/rancher/k3s/{name}.env"
    return {"init": init, "name": name, "exec": words, "bin_dir": bin_dir,
            "service_file": service_file, "env_file": env_file,
            "type": env.get("INSTALL_K3S_TYPE", "notify")}


def _hashes(setup: dict) -> list[str]:
    result = []
    for path in (f"{setup['bin_dir']}/k3s", setup["service_file"], setup["env_file"]):
        try:
            with open(path, "rb") as source:
                result.append(hashlib.sha256(source.read()).hexdigest())
        except OSError:
            result.append(f"missing {path}")
    return result


def _check_binary(setup: dict, env) -> None:
    if env.get("INSTALL_K3S_SKIP_DOWNLOAD") not in ("true", "binary"):
        raise Fatal("cannot download k3s here: the test nodes have no internet "
                    "(the stand-in needs INSTALL_K3S_SKIP_DOWNLOAD=true and an uploaded binary)")
    info("Skipping k3s download and verify")
    binary = f"{setup['bin_dir']}/k3s"
    if not os.access(binary, os.X_OK):
        raise Fatal(f"Executable k3s binary not found at {binary}")
    wanted = env.get("INSTALL_K3S_VERSION") or f"channel {env.get('INSTALL_K3S_CHANNEL', 'stable')}"
    info(f"Using {wanted} (not downloaded: the binary in {setup['bin_dir']} is used)")


def _create_symlinks(setup: dict, env) -> None:
    mode = env.get("INSTALL_K3S_SYMLINK", "")
    for command in ("kubectl", "crictl", "ctr"):
        link = f"{setup['bin_dir']}/{command}"
        found = shutil.which(command)
        if mode == "skip" or (found and mode != "force"):
            info(f"Skipping {link} symlink to k3s" + (f", command exists in PATH at {found}" if found else ""))
            continue
        info(f"Creating {link} symlink to k3s")
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(f"{setup['bin_dir']}/k3s", link)


def _write_env_file(setup: dict, env) -> None:
    info(f"env: Creating environment file {setup['env_file']}")
    proxies = ("NO_PROXY", "HTTP_PROXY", "HTTPS_PROXY")
    lines = [f"{key}={shlex.quote(value)}\n" for key, value in sorted(env.items())
             if key.startswith(("K3S_", "CONTAINERD_")) or key.upper() in proxies]
    lib.write_file(setup["env_file"], "".join(lines), 0o600)


def _enable_and_start(setup: dict, env, pre_hashes: list[str]) -> int:
    if env.get("INSTALL_K3S_SKIP_ENABLE") == "true":
        return 0
    if setup["init"] == "systemd":
        _run(["systemctl", "enable", setup["service_file"]], quiet=True)
        _run(["systemctl", "daemon-reload"], quiet=True)
    else:
        _run(["rc-update", "add", setup["name"], "default"], quiet=True)
    if env.get("INSTALL_K3S_SKIP_START") == "true":
        return 0
    if _hashes(setup) == pre_hashes and env.get("INSTALL_K3S_FORCE_RESTART") != "true":
        info("No change detected so skipping service start")
        return 0
    if setup["init"] == "systemd":
        info(f"systemd: Starting {setup['name']}")
        return _run(["systemctl", "restart", setup["name"]])
    info(f"openrc: Starting {setup['name']}")
    return _run([setup["service_file"], "restart"])


def _run(argv: list[str], quiet: bool = False) -> int:
    result = subprocess.run(argv, stdout=subprocess.DEVNULL if quiet else None)
    if result.returncode != 0:
        raise Fatal(f"{' '.join(argv)} failed with exit code {result.returncode}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
