"""Mosquitto in IoT Core's role: mutual TLS, and the IoT policies of the CDK stack enforced by a small
plugin (mosquitto_policy.c): the client id is bound to the certificate's thing (a gateway or an
application connects only as itself, the bridge and the cloud only under their prefixes), so no
certificate can take over another's session or fire its last will; publishes and deliveries follow the
rules read from the template's policies (policies.py): a gateway only its own topics under the stack's
region prefixes, the bridge only gateway topics, an application only its own application topics.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

from localcloud.certificates import CertificateAuthority
from localcloud.mqtt import BrokerAccess
from localcloud.policies import default_rules

CLOUD_IDENTITY = "loraless-cloud"
BRIDGE_IDENTITY = "loraless-bridge"
CLOUD_CLIENT_PREFIX = "loraless-cloud"  # the cloud's sessions: the rules engine, observers in tests
BRIDGE_CLIENT_PREFIX = "loraless-bridge-"  # as BridgePolicy's iot:Connect resource (infra/bridge.py)
PLUGIN_SOURCE = Path(__file__).with_name("mosquitto_policy.c")
BUILD = Path(__file__).resolve().parent.parent / "build"


def policy_plugin() -> Path:
    """The policy plugin, compiled once per version of its source (`make setup` installs the headers)."""
    digest = hashlib.sha256(PLUGIN_SOURCE.read_bytes()).hexdigest()[:12]
    target = BUILD / f"mosquitto_policy-{digest}.so"
    if not target.exists():
        BUILD.mkdir(exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        subprocess.run(
            ["cc", "-shared", "-fPIC", "-O2", "-Wall", "-o", str(partial), str(PLUGIN_SOURCE)],
            check=True,
            capture_output=True,
        )
        partial.chmod(0o755)
        partial.replace(target)  # atomic: parallel starts never load a half-written file
    return target


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if found is None:
        raise FileNotFoundError(
            "mosquitto is not installed; `make setup` installs it (apt-get install mosquitto)"
        )
    return found


class Mosquitto:
    """A Mosquitto process with a TLS listener on `host:port`, configured under `directory`."""

    def __init__(
        self,
        directory: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 8883,
        persistence: bool = False,
        rules: Iterable[str] | None = None,
        save_on_changes: bool = False,
    ) -> None:
        """`persistence` keeps sessions and retained messages across restarts (a file in `directory`);
        `rules` are the policies' (policies.rules_from_template), by default those of the stack."""
        self.directory = directory
        self.persistence = persistence
        self.save_on_changes = save_on_changes
        self.rules = list(rules) if rules is not None else default_rules()
        self.host = host
        self.port = port
        self.ca = CertificateAuthority(directory / "certs")
        self._process: subprocess.Popen[bytes] | None = None

    def access_for(self, identity: str) -> BrokerAccess:
        issued = self.ca.issue(identity)
        return BrokerAccess(
            host="127.0.0.1" if self.host in ("0.0.0.0", "") else self.host,
            port=self.port,
            ca_path=self.ca.ca_path,
            cert_path=issued.cert_path,
            key_path=issued.key_path,
        )

    def _config(self) -> Path:
        server = self.ca.issue("broker", server=True, hosts=("localhost", "127.0.0.1", self.host))
        self._write_rules()
        config = self.directory / "mosquitto.conf"
        config.write_text(
            "\n".join(
                [
                    "per_listener_settings false",
                    f"persistence {'true' if self.persistence else 'false'}",
                    f"persistence_location {self.directory}/",
                    "autosave_interval 1" if self.persistence else "",
                    "autosave_on_changes true" if self.persistence and self.save_on_changes else "",
                    "user root" if _is_root() else "",
                    "log_dest stderr",
                    "log_type error",
                    "log_type warning",
                    "max_queued_messages 100000",
                    "max_inflight_messages 0",
                    "set_tcp_nodelay true",
                    f"plugin {policy_plugin()}",
                    f"plugin_opt_rules {self.directory / 'policy-rules'}",
                    f"plugin_opt_cloud_client_prefix {CLOUD_CLIENT_PREFIX}",
                    f"plugin_opt_bridge_client_prefix {BRIDGE_CLIENT_PREFIX}",
                    f"listener {self.port} {self.host}",
                    f"cafile {self.ca.ca_path}",
                    f"certfile {server.cert_path}",
                    f"keyfile {server.key_path}",
                    "require_certificate true",  # the plugin takes the thing from the certificate
                    "tls_version tlsv1.2",
                    "",
                ]
            )
        )
        return config

    def _write_rules(self) -> None:
        path = self.directory / "policy-rules"
        path.write_text(
            "# kind access topic-filter (from the template's IoT policies)\n" + "\n".join(self.rules) + "\n"
        )

    def use_rules(self, rules: Iterable[str], timeout_s: float = 10.0) -> None:
        """Replace the policy rules (the cloud passes its template's) and wait until Mosquitto has them."""
        rules = list(rules)
        if sorted(rules) == sorted(self.rules) or not self.running():
            self.rules = rules
            return
        self.rules = rules
        self._write_rules()
        log_path = self.directory / "mosquitto.log"
        before = self._reloads(log_path)
        assert self._process is not None
        self._process.send_signal(signal.SIGHUP)  # Mosquitto reloads its plugins, which read the rules
        deadline = time.monotonic() + timeout_s
        while self._reloads(log_path) <= before:
            if time.monotonic() > deadline:
                raise TimeoutError("mosquitto did not reload its policy rules")
            time.sleep(0.02)

    @staticmethod
    def _reloads(log_path: Path) -> int:
        return log_path.read_text(errors="replace").count("rules loaded") if log_path.exists() else 0

    def start(self, timeout_s: float = 10.0) -> Mosquitto:
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self._config()
        log_path = self.directory / "mosquitto.log"
        self._process = subprocess.Popen(
            [mosquitto_binary(), "-c", str(config)], stdout=subprocess.DEVNULL, stderr=log_path.open("ab")
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {log_path.read_text()[-2000:]}")
            try:
                with socket.create_connection((self.access_for(CLOUD_IDENTITY).host, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"mosquitto did not listen on {self.port}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None


def _is_root() -> bool:
    return os.geteuid() == 0
