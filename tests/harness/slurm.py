"""A real Slurm cluster of one compute node, started by the test (no systemd).

munged, slurmctld and slurmd run from a temp dir with their own ports,
key and state; clients find the cluster through SLURM_CONF. The settings
(no cgroups, root as SlurmUser, munge socket in a 0755 directory) are the
ones ../shared/HPC-LAB.md found to work on this kind of machine.

`Cluster.start(launch=...)` takes how to start each daemon, so the topology
test can run slurmctld in the login node's network namespace and slurmd in
the compute node's (through nsenter: `ip netns exec` remounts /sys, and
slurmd then cannot find its cgroup mounts).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.harness.sshd import free_port, kill_all, wait_gone

DAEMONS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol", "scancel")
NODE = "cn1"
PARTITION = "debug"

# (role, argv, environment to add) -> process; role: munged, slurmctld or slurmd
Launch = Callable[[str, list[str], dict[str, str]], subprocess.Popen]


def missing() -> str | None:
    """What this machine lacks to run a cluster; None when it has it all."""
    if os.geteuid() != 0:
        return "a Slurm cluster in tests needs root (SlurmUser=root, as CI runs)"
    lost = [name for name in DAEMONS if not shutil.which(name)]
    return f"Slurm/munge programs missing: {', '.join(lost)}" if lost else None


def _plain(role: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True, env={**os.environ, **env})


@dataclass
class Cluster:
    """One controller, one node `cn1`, one partition `debug` (and `gpu`, with no nodes free)."""

    root: Path
    ctld_addr: str = "127.0.0.1"
    node_addr: str = "127.0.0.1"
    ctld_port: int = 0
    node_port: int = 0
    cpus: int = field(default_factory=lambda: os.cpu_count() or 1)
    client_netns: str = ""  # where the harness runs sinfo & co (the login node's namespace, if any)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.ctld_port = self.ctld_port or free_port()
        self.node_port = self.node_port or free_port()
        self.conf = self.root / "slurm.conf"
        self.munge_dir = self.root / "munge"
        self.socket_dir = self.root / "munge-run"
        self.socket = self.socket_dir / "munge.socket"
        self.key = self.munge_dir / "munge.key"
        for sub in ("state", f"spool/{NODE}", "log"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    @property
    def env(self) -> dict[str, str]:
        """What a client (sbatch, squeue, jtui's remote scripts) needs to find the cluster."""
        return {"SLURM_CONF": str(self.conf)}

    def write_conf(self) -> None:
        r = self.root
        self.conf.write_text(f"""\
ClusterName=jtuitest
SlurmctldHost={socket.gethostname().split('.')[0]}({self.ctld_addr})
SlurmctldPort={self.ctld_port}
SlurmdPort={self.node_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.socket}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool/%n
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd-%n.pid
SlurmctldLogFile={r}/log/slurmctld.log
SlurmdLogFile={r}/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
KillWait=2
MinJobAge=600
InactiveLimit=0
SlurmctldTimeout=10
SlurmdTimeout=30
MessageTimeout=5
SchedulerType=sched/backfill
NodeName={NODE} NodeAddr={self.node_addr} CPUs={self.cpus} RealMemory=1000 State=UNKNOWN
PartitionName={PARTITION} Nodes={NODE} Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes={NODE} MaxTime=60 State=UP
""")

    def start(self, launch: Launch = _plain, timeout: float = 30) -> "Cluster":
        self.write_conf()
        self.munge_dir.mkdir(mode=0o700, exist_ok=True)
        self.socket_dir.mkdir(mode=0o755, exist_ok=True)
        os.chmod(self.socket_dir, 0o755)
        if not self.key.exists():
            subprocess.run(["mungekey", "--create", f"--keyfile={self.key}"], check=True, capture_output=True)
        self.start_munge(launch)
        self.start_ctld(launch)
        self.procs["slurmd"] = launch("slurmd", ["slurmd", "-D", "-f", str(self.conf), "-N", NODE], self.env)
        self.wait_node("idle", timeout)
        return self

    def start_munge(self, launch: Launch = _plain) -> None:
        m = self.munge_dir
        self.procs["munged"] = launch("munged", [
            "munged", "--foreground", "--force", f"--key-file={self.key}", f"--socket={self.socket}",
            f"--pid-file={m}/munged.pid", f"--log-file={m}/munged.log", f"--seed-file={m}/munged.seed",
        ], {})
        deadline = time.monotonic() + 10
        while not self.socket.exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"munged did not start: {self._tail(m / 'munged.log')}")
            time.sleep(0.02)

    def start_ctld(self, launch: Launch = _plain) -> None:
        self.procs["slurmctld"] = launch("slurmctld", ["slurmctld", "-D", "-i", "-f", str(self.conf)], self.env)

    def stop_ctld(self) -> None:
        """The controller down (the login node stays up): clients get 'Unable to contact slurm controller'."""
        proc = self.procs.pop("slurmctld", None)
        if proc:
            _end(proc)

    def run(self, *argv: str, check: bool = True, timeout: float = 20) -> subprocess.CompletedProcess:
        """A Slurm client command against this cluster."""
        where = ["nsenter", f"--net=/run/netns/{self.client_netns}"] if self.client_netns else []
        return subprocess.run([*where, *argv], capture_output=True, text=True, timeout=timeout, check=check,
                              env={**os.environ, **self.env}, cwd=self.root)  # sbatch's slurm-N.out land here

    def node_state(self) -> str:
        result = self.run("sinfo", "-h", "-n", NODE, "-o", "%T", check=False)
        return result.stdout.strip().lower()

    def wait_node(self, state: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited: {self.logs()}")
            if self.node_state().startswith(state):
                return
            time.sleep(0.1)
        raise RuntimeError(f"node {NODE} not {state} after {timeout} s (is {self.node_state()!r}): {self.logs()}")

    def job(self, job_id: str) -> dict[str, str]:
        """`scontrol show job -o` as a dict ({} once Slurm forgot the job)."""
        result = self.run("scontrol", "show", "job", "-o", job_id, check=False)
        out: dict[str, str] = {}
        for word in result.stdout.split():
            key, _, value = word.partition("=")
            out.setdefault(key, value)
        return out

    def wait_job(self, job_id: str, states: tuple[str, ...], timeout: float = 60) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        info: dict[str, str] = {}
        while time.monotonic() < deadline:
            info = self.job(job_id)
            if info.get("JobState") in states:
                return info
            time.sleep(0.2)
        raise AssertionError(f"job {job_id} not in {states} after {timeout} s: {info}")

    def logs(self) -> str:
        parts = [f"--- {p.name}\n{self._tail(p)}" for p in sorted((self.root / "log").glob("*.log"))]
        return "\n".join(parts)

    @staticmethod
    def _tail(path: Path, lines: int = 15) -> str:
        try:
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Cancel every job, then end the daemons; nothing is left running."""
        if "slurmctld" in self.procs:
            self.run("scancel", "--full", "-u", str(os.getuid()), check=False)
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.procs.pop(name, None)
            if proc:
                _end(proc)
        strays = [pid for pid in _pids_with_env("SLURM_CONF", str(self.conf))]
        kill_all(strays, signal.SIGKILL)
        wait_gone(strays, 5)


def _end(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _pids_with_env(key: str, value: str) -> list[int]:
    """Processes (a job's Jupyter among them) whose environment names this cluster."""
    needle = f"{key}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found
