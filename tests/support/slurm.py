"""A real one-node SLURM cluster for tests, started from Debian's packages without systemd.

Everything lives under one temporary folder: munge's key and socket, a throwaway MariaDB
(accounting: ``sacct``, which submitit reads to see how a job ended), ``slurmdbd``,
``slurmctld`` and ``slurmd`` with their state, spool, logs and PID files. The daemons run in
the foreground as children of the test process and are stopped by their PID. Every client
(``sbatch``, ``sacct``, submitit, the sweeps the tests start) finds the cluster through
``SLURM_CONF``, which :meth:`SlurmCluster.environment` returns.

Measured facts that shape the configuration: munged refuses a socket folder that others can
write to (mode 0755 here); a requeued job waits ~130 s for its old credential to expire unless
``cred_expire`` is lowered, and for the scheduler's next pass unless ``sched_interval`` and
``bf_interval`` are 1 s.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

DAEMONS = ("munged", "mariadbd", "slurmdbd", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "sinfo", "sacct", "scancel", "scontrol")
# The node offers more CPUs than a small CI machine has, so that a few one-CPU trials and
# agents can run side by side; the tests' jobs mostly wait, they do not compute.
NODE_CPUS = 4
PARTITION = "debug"
STAND_IN_GPUS = ("/dev/null", "/dev/zero")
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies


def missing_binaries() -> list[str]:
    return [name for name in (*DAEMONS, *CLIENTS) if shutil.which(name) is None]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(
    condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.1
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout:.0f} s")
        time.sleep(interval)


@dataclass
class SlurmCluster:
    """One node, one partition (``debug``), accounting on; see the module docstring."""

    root: Path
    hostname: str = field(default_factory=socket.gethostname)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    started_in: float = 0.0

    def __post_init__(self) -> None:
        self.conf = self.root / "etc" / "slurm.conf"
        self.munge_socket = self.root / "munge" / "munge.socket.2"
        self.mysql_socket = self.root / "mysql" / "mysqld.sock"
        self.logs = self.root / "log"

    # --- what clients need ----------------------------------------------------------------
    def environment(self) -> dict[str, str]:
        return {"SLURM_CONF": str(self.conf)}

    def run(
        self, *command: str, check: bool = True, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {**(os.environ if env is None else env), **self.environment()}
        completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        if check and completed.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {completed.stderr.strip()}")
        return completed

    def node_state(self) -> str:
        completed = self.run("sinfo", "--noheader", "--format=%T", check=False)
        return completed.stdout.strip() if completed.returncode == 0 else ""

    def job_ids(self) -> list[str]:
        completed = self.run("squeue", "--noheader", "--format=%i", check=False)
        return completed.stdout.split() if completed.returncode == 0 else []

    def accounting(self, job_id: str) -> list[dict[str, str]]:
        """``sacct``'s rows for a job (its allocation and steps): JobID, State, ExitCode, ..."""
        fields = ["JobID", "JobName", "State", "ExitCode", "Reason"]
        completed = self.run(
            "sacct", "--jobs", job_id, "--parsable2", "--noheader", f"--format={','.join(fields)}"
        )
        return [
            dict(zip(fields, line.split("|"), strict=True))
            for line in completed.stdout.splitlines()
        ]

    def cancel_all(self, timeout: float = 60) -> None:
        """Cancel every job and wait until the queue is empty."""
        if self.job_ids():
            self.run("scancel", "--user", str(os.getuid()), check=False)
        wait_until(lambda: not self.job_ids(), timeout, "the SLURM queue did not empty")

    # --- start and stop -------------------------------------------------------------------
    def start(self, timeout: float = 120) -> None:
        began = time.monotonic()
        for folder in ("etc", "munge", "mysql", "log", "state", "spool", "run", "jobs"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        self._start_munge(timeout)
        self._start_mariadb(timeout)
        self._write_slurm_conf()
        self._start_slurmdbd(timeout)
        self._spawn("slurmctld", ["slurmctld", "-D", "-i", "-f", str(self.conf)])
        # slurmd registers once the controller listens; a first failed try would wait ~10 s
        wait_until(
            lambda: self._check_alive("slurmctld") and _accepts(self.ctld_port),
            timeout,
            f"slurmctld did not listen on port {self.ctld_port} (logs: {self.logs})",
        )
        self._spawn("slurmd", ["slurmd", "-D", "-f", str(self.conf)])
        wait_until(
            lambda: (
                self._check_alive("slurmctld")
                and self._check_alive("slurmd")
                and self.node_state() == "idle"
            ),
            timeout,
            f"the SLURM node did not become idle (logs: {self.logs})",
            interval=0.2,
        )
        self.started_in = time.monotonic() - began

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            if "slurmctld" in self.processes and self.processes["slurmctld"].poll() is None:
                self.cancel_all(timeout=30)
        # the reverse order of start: each daemon still finds the ones it reports to
        for name in reversed(list(self.processes)):
            process = self.processes.pop(name)
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)

    # --- the daemons ----------------------------------------------------------------------
    def _spawn(self, name: str, command: list[str], env: Mapping[str, str] | None = None) -> None:
        log = (self.logs / f"{name}.out").open("ab")
        with log:
            self.processes[name] = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self.environment(), **(env or {})},
                start_new_session=True,  # a Ctrl+C in the test run reaches pytest, not them
                preexec_fn=_stop_with_parent,
            )

    def _check_alive(self, name: str) -> bool:
        process = self.processes[name]
        if process.poll() is not None:
            log = (self.logs / f"{name}.out").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{log}")
        return True

    def _start_munge(self, timeout: float) -> None:
        munge = self.root / "munge"
        munge.chmod(0o755)  # munged refuses a socket folder that others can write to
        key = munge / "munge.key"
        key.write_bytes(secrets.token_bytes(1024))
        key.chmod(0o600)
        self._spawn(
            "munged",
            [
                "munged",
                "--foreground",
                f"--socket={self.munge_socket}",
                f"--key-file={key}",
                f"--pid-file={munge / 'munged.pid'}",
                f"--log-file={self.logs / 'munged.log'}",
                f"--seed-file={munge / 'munged.seed'}",
                "--force",  # the temp folder's parents are world-writable (/tmp)
            ],
        )
        wait_until(
            lambda: self._check_alive("munged") and self.munge_socket.exists(),
            timeout,
            "munged did not open its socket",
        )

    def _start_mariadb(self, timeout: float) -> None:
        data = self.root / "mysql" / "data"
        self.mysql_port = free_port()
        # an empty data folder is enough without grant tables: no mariadb-install-db (~3 s)
        data.mkdir(parents=True, exist_ok=True)
        self._spawn(
            "mariadbd",
            [
                "mariadbd",
                "--no-defaults",
                f"--datadir={data}",
                f"--socket={self.mysql_socket}",
                f"--port={self.mysql_port}",
                "--bind-address=127.0.0.1",
                f"--pid-file={self.root / 'mysql' / 'mariadbd.pid'}",
                f"--log-error={self.logs / 'mariadbd.log'}",
                "--user=root",
                "--skip-name-resolve",
                "--skip-grant-tables",  # a throwaway database: every local client may write
                "--innodb-buffer-pool-size=32M",
                "--innodb-log-file-size=16M",
                "--innodb-flush-log-at-trx-commit=0",
                "--skip-log-bin",
            ],
        )
        wait_until(
            lambda: self._check_alive("mariadbd") and _accepts(self.mysql_port),
            timeout,
            f"MariaDB did not listen on 127.0.0.1:{self.mysql_port}",
        )

    def _start_slurmdbd(self, timeout: float) -> None:
        dbd_conf = self.conf.parent / "slurmdbd.conf"
        dbd_conf.write_text(
            "\n".join(
                [
                    f"AuthInfo=socket={self.munge_socket}",
                    "AuthType=auth/munge",
                    "DbdHost=localhost",
                    "DbdAddr=127.0.0.1",
                    f"DbdPort={self.dbd_port}",
                    "SlurmUser=root",
                    f"LogFile={self.logs / 'slurmdbd.log'}",
                    f"PidFile={self.root / 'run' / 'slurmdbd.pid'}",
                    "StorageType=accounting_storage/mysql",
                    "StorageHost=127.0.0.1",
                    f"StoragePort={self.mysql_port}",
                    "StorageUser=root",
                    "StorageLoc=slurm_acct_db",
                    "",
                ]
            )
        )
        dbd_conf.chmod(0o600)  # slurmdbd refuses a config others can read
        self._spawn("slurmdbd", ["slurmdbd", "-D"])
        wait_until(
            lambda: self._check_alive("slurmdbd") and _accepts(self.dbd_port),
            timeout,
            f"slurmdbd did not listen on port {self.dbd_port} (logs: {self.logs})",
        )

    def _write_slurm_conf(self) -> None:
        self.dbd_port = free_port()
        self.ctld_port = free_port()
        memory = _node_memory_mb()
        lines = [
            "ClusterName=testcluster",
            # two stand-in GPUs (gres.conf): --gpus-per-node and --gres=gpu:N are honoured,
            # and each job sees its own CUDA_VISIBLE_DEVICES
            "GresTypes=gpu",
            "AccountingStorageTRES=gres/gpu",
            f"SlurmctldHost={self.hostname}(127.0.0.1)",
            f"SlurmctldPort={self.ctld_port}",
            f"SlurmdPort={free_port()}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            # a requeued job gets a new credential after 5 s instead of 120 s
            f"AuthInfo=socket={self.munge_socket},cred_expire=5",
            f"StateSaveLocation={self.root / 'state'}",
            f"SlurmdSpoolDir={self.root / 'spool'}",
            f"SlurmctldPidFile={self.root / 'run' / 'slurmctld.pid'}",
            f"SlurmdPidFile={self.root / 'run' / 'slurmd.pid'}",
            f"SlurmctldLogFile={self.logs / 'slurmctld.log'}",
            f"SlurmdLogFile={self.logs / 'slurmd.log'}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "MpiDefault=none",
            "ReturnToService=2",
            "SchedulerType=sched/backfill",
            # the scheduler looks every second: a requeued job starts again in seconds
            "SchedulerParameters=sched_interval=1,bf_interval=1",
            "SelectType=select/cons_tres",
            # memory is a resource: --mem (hydra.launcher.mem_gb) holds, and a job that
            # exceeds it is killed (polled every second, no cgroups needed)
            "SelectTypeParameters=CR_Core_Memory",
            f"DefMemPerCPU={memory // NODE_CPUS}",
            "SlurmdParameters=config_overrides",
            "AccountingStorageType=accounting_storage/slurmdbd",
            "AccountingStorageHost=localhost",
            f"AccountingStoragePort={self.dbd_port}",
            # with munge, this is the socket the controller signs accounting messages with
            f"AccountingStoragePass={self.munge_socket}",
            "JobAcctGatherType=jobacct_gather/linux",
            "JobAcctGatherFrequency=1",
            "JobAcctGatherParams=OverMemoryKill",
            "InactiveLimit=0",
            "KillWait=5",
            "MinJobAge=5",
            "Waittime=0",
            f"NodeName={self.hostname} NodeAddr=127.0.0.1 CPUs={NODE_CPUS} "
            f"RealMemory={memory} Gres=gpu:{len(STAND_IN_GPUS)} State=UNKNOWN",
            f"PartitionName={PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
            "",
        ]
        self.conf.write_text("\n".join(lines))
        # slurmd only checks that a GPU's device file exists; these two always do
        (self.conf.parent / "gres.conf").write_text(
            "".join(f"NodeName={self.hostname} Name=gpu File={f}\n" for f in STAND_IN_GPUS)
        )


def _stop_with_parent() -> None:
    """In the daemon, before it starts: SIGTERM when the test process dies, however it dies
    (a timeout's SIGKILL skips every fixture's teardown)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _accepts(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _node_memory_mb() -> int:
    completed = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True)
    for word in completed.stdout.split():
        if word.startswith("RealMemory="):
            return int(word.split("=", 1)[1])
    return 1024


@contextlib.contextmanager
def running_cluster(root: Path) -> Iterator[SlurmCluster]:
    cluster = SlurmCluster(root)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def hydra_job_slurm_id(job_dir: Path) -> str:
    """The SLURM job id of a Hydra job that submitit started: Hydra records it as
    ``hydra.job.id`` in the job's ``.hydra/hydra.yaml`` when the job starts."""
    import yaml

    config = yaml.safe_load((job_dir / ".hydra" / "hydra.yaml").read_text())
    return str(config["hydra"]["job"]["id"])
