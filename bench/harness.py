#!/usr/bin/env python3
"""Side-by-side file-system benchmark driven by bench/run (see bench/README.md).

Every system under test is set up from nothing inside one temporary directory, measured with
the same workloads in an order that rotates run by run, and torn down again. Standard library
only, so that a fresh CI machine needs nothing beyond Debian's python3.
"""

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
CACHE = BENCH / ".cache"
RESULTS = BENCH / "results"
CLK_TCK = os.sysconf("SC_CLK_TCK")
NPROC = os.cpu_count() or 1

PEERS = ["local", "passthrough", "sshfs", "sshfs-gcm", "gocryptfs"]
COFFER = ["coffer-plain", "coffer-tls-inproc", "coffer-tls-proxy", "coffer-tls-stunnel"]
ALL_SYSTEMS = PEERS + COFFER
ALL_WORKLOADS = ["seqwrite", "seqread", "randrw", "files", "tar", "git", "compile"]

# key -> (label, unit, higher_is_better)
METRICS = {
    "seq_write_MBps": ("seq write 128k, end_fsync", "MB/s", True),
    "seq_read_MBps": ("seq read 128k, cold", "MB/s", True),
    "randrw_iops": ("randrw 4k 60/40, 4 jobs", "IOPS", True),
    "create_ops": ("create files", "ops/s", True),
    "stat_cold_ops": ("stat files, cold", "ops/s", True),
    "unlink_ops": ("unlink files", "ops/s", True),
    "tar_x_s": ("tar x", "s", False),
    "rm_rf_s": ("rm -rf of that tree", "s", False),
    "git_clone_s": ("git clone", "s", False),
    "git_status_s": ("git status", "s", False),
    "compile_s": ("make -j2 small C files", "s", False),
    "client_cpu_pct": ("client daemon CPU during seq write", "%", False),
    "client_rss_MB": ("client daemon peak RSS during seq write", "MiB", False),
    "client_max_rss_MB": ("largest client process peak RSS in seq write", "MiB", False),
    "server_cpu_pct": ("server CPU during seq write", "%", False),
    "server_rss_MB": ("server peak RSS during seq write", "MiB", False),
    "tunnel_cpu_s_per_GB": ("TLS tunnel process CPU per GB written", "s/GB", False),
}

# The performance issue's targets, as (metric, peer, factor): Coffer's ratio to that peer (as in
# ratios(): >1 means Coffer is better) must reach factor; with peer None, factor is an absolute
# bound on the metric. The jnr-fuse passthrough is the ceiling a FUSE daemon in Java reaches on
# the machine: a target that asks for more than it did in the same run is flagged as such.
TARGETS = [
    ("seq_write_MBps", "sshfs", 2.0), ("seq_write_MBps", "passthrough", 0.7),
    ("seq_read_MBps", "sshfs", 2.0), ("seq_read_MBps", "local", 0.8),
    ("randrw_iops", "sshfs", 2.0),
    ("create_ops", "sshfs", 2.0),
    ("tar_x_s", "sshfs", 3.0), ("tar_x_s", "passthrough", 0.5),
    ("client_max_rss_MB", None, 128.0), ("server_rss_MB", None, 512.0),
]


def targets(medians, system):
    """Each target that the medians of system and its peer allow to judge."""
    mine = medians.get(system) or {}
    ceiling = medians.get("passthrough") or {}
    out = []
    for metric, peer, factor in TARGETS:
        label, unit, higher = METRICS[metric]
        has = mine.get(metric)
        if has is None:
            continue
        if peer is None:
            needs = factor
            what = "%s %s %s" % (label, "≥" if higher else "≤", fmt(factor) + " " + unit)
        else:
            ref = (medians.get(peer) or {}).get(metric)
            if not ref:
                continue
            needs = ref * factor if higher else ref / factor
            if higher:
                what = "%s ≥ %g× %s" % (label, factor, peer)
            elif factor >= 1:
                what = "%s ≤ %s / %g" % (label, peer, factor)
            else:
                what = "%s ≤ %g× %s" % (label, 1 / factor, peer)
        met = has >= needs if higher else has <= needs
        t = {"metric": metric, "peer": peer, "factor": factor, "target": what, "needs": round(needs, 3),
             "has": round(has, 3), "met": met, "share": round(has / needs if higher else needs / has, 3)}
        top = ceiling.get(metric)
        if peer not in (None, "passthrough") and top and (needs > top if higher else needs < top):
            t["beyond_ceiling"] = round(top, 3)
        out.append(t)
    return out


def targets_table(system, ts):
    rows, notes = [], []
    for t in ts:
        unit = METRICS[t["metric"]][1]
        mark = ""
        if "beyond_ceiling" in t:
            mark = " *"
            notes.append("  * %s: needs more than the jnr-fuse passthrough did in this run (%s %s)"
                         % (t["target"], fmt(t["beyond_ceiling"]), unit))
        rows.append([t["target"] + mark, unit, fmt(t["needs"]), fmt(t["has"]),
                     "yes" if t["met"] else "no, %s%%" % pct(t["share"])])
    return ["", "%s against the targets (docs/performance.md):" % system] + table(
        ["target", "unit", "needs", "has", "met"], rows) + notes


def pct(share):
    p = 100 * share
    return "%.1f" % p if 99.5 <= p < 100 else "%.0f" % p


def report_targets(path):
    """Prints the targets of a stored result (bench/results/*.json)."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        print("bench/run --report: cannot read %s: %s" % (path, e), file=sys.stderr)
        return 2
    medians = doc.get("medians") if isinstance(doc, dict) else None
    if not isinstance(medians, dict):
        print("bench/run --report: %s is not a result of bench/run (it has no medians)" % path, file=sys.stderr)
        return 2
    for s, m in medians.items():
        if "client_max_rss_MB" not in m:
            # Results from before the metric: the largest client process of each run, as sampled.
            peaks = [max((p["rss_peak_MiB"] for p in per if p["role"] == "client"), default=None)
                     for per in (doc.get("extra", {}).get(s, {}).get("seqwrite_processes") or [])]
            peaks = [x for x in peaks if x is not None]
            if peaks:
                m["client_max_rss_MB"] = statistics.median(peaks)
    print("%s: %s" % (path, doc.get("command", "")))
    for s in [s for s in medians if s in COFFER]:
        print("\n".join(targets_table(s, targets(medians, s))))
    return 0


DROP_SETTLE_S = 5.0
# Every process we start carries these in its environment, and so does whatever it forks,
# double-forks or daemonizes: that is how we find (and only ever stop) what is ours.
TAG_WORK = "COFFER_BENCH_WORK"
TAG_SYSTEM = "COFFER_BENCH_SYSTEM"


class Unavailable(Exception):
    """A system cannot be set up on this machine; the reason is printed, the others carry on."""


def log(msg):
    print(msg, flush=True)


def run(cmd, timeout=600, check=True, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        err = (r.stderr or r.stdout).strip().splitlines()
        # The first lines say what went wrong; the last one usually only says that it did.
        shown = err[:3] + (["..."] + err[-1:] if len(err) > 4 else err[3:])
        raise RuntimeError("%s failed (%d): %s" % (shlex.join(map(str, cmd[:3])) + (" ..." if len(cmd) > 3 else ""),
                                                  r.returncode, "\n".join(shown)))
    return r


def last_line(text):
    text = (text or "").strip()
    return text.splitlines()[-1][:300] if text else ""


# ---------------------------------------------------------------------------------------------
# Processes and mounts we own. The state files let bench/run's EXIT trap clean up even when
# this process dies without reaching its own finally.

class Owned:
    def __init__(self, work):
        self.work = work
        self.state = work / "state"
        self.state.mkdir(parents=True, exist_ok=True)
        self.procs = []          # (Popen or None, pid, name)
        self.mounts = []

    def _save(self):
        (self.state / "pids").write_text("".join("%d\n" % pid for _, pid, _ in self.procs))
        (self.state / "mounts").write_text("".join("%s\n" % m for m in self.mounts))

    def env(self, system):
        return dict(os.environ, **{TAG_WORK: str(self.work), TAG_SYSTEM: system})

    def spawn(self, cmd, name, log_path, system):
        # A session of its own: the whole group can be signalled by the leader's id.
        f = open(log_path, "ab")
        p = subprocess.Popen([str(c) for c in cmd], stdout=f, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True, env=self.env(system))
        f.close()
        self.procs.append((p, p.pid, name))
        self._save()
        return p

    def adopt(self, pid, name):
        """A process started on our behalf by a command that returned (a daemonizing mount)."""
        if all(pid != q for _, q, _ in self.procs):
            self.procs.append((None, pid, name))
            self._save()

    def add_mount(self, mnt):
        self.mounts.append(str(mnt))
        self._save()

    def unmount(self, mnt):
        mnt = str(mnt)
        if is_mounted(mnt):
            for cmd in (["umount", mnt], ["fusermount3", "-u", mnt], ["fusermount", "-u", mnt]):
                try:
                    if run(cmd, timeout=30, check=False).returncode == 0 and not is_mounted(mnt):
                        break
                except subprocess.TimeoutExpired:
                    pass
            if is_mounted(mnt):
                run(["umount", "-l", mnt], timeout=30, check=False)
        if mnt in self.mounts:
            self.mounts.remove(mnt)
            self._save()

    def stop(self, pid, grace=10.0):
        for _, q, _ in list(self.procs):
            if q == pid:
                terminate(pid, grace)
        self.procs = [t for t in self.procs if t[1] != pid]
        self._save()

    def cleanup(self):
        for mnt in sorted(self.mounts, key=len, reverse=True):
            self.unmount(mnt)
        for _, pid, _ in reversed(self.procs):
            terminate(pid, 5.0)
        for pid in strays(self.work):
            terminate(pid, 5.0)
        self.procs = []
        self._save()


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def terminate(pid, grace):
    """SIGTERM to the process (and its group if it leads one), SIGKILL after grace."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if not alive(pid):
            break
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.time() + grace
        while time.time() < deadline and alive(pid):
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.1)


def cleanup_from_state(work):
    """Called by bench/run's EXIT trap: unmount and stop whatever the state files list."""
    state = Path(work) / "state"
    mounts = (state / "mounts").read_text().split() if (state / "mounts").exists() else []
    # Anything still mounted under the work dir counts, listed or not.
    mounts += [m for m in mount_points() if m.startswith(str(work) + "/") and m not in mounts]
    for mnt in sorted(mounts, key=len, reverse=True):
        if is_mounted(mnt):
            for cmd in (["umount", mnt], ["umount", "-l", mnt]):
                if subprocess.run(cmd, capture_output=True).returncode == 0:
                    break
    pids = (state / "pids").read_text().split() if (state / "pids").exists() else []
    for pid in reversed(pids):
        terminate(int(pid), 5.0)
    for pid in strays(work):
        terminate(pid, 5.0)
    left = [m for m in mount_points() if m.startswith(str(work) + "/")]
    if left:
        print("bench: still mounted, leaving %s in place: %s" % (work, " ".join(left)), file=sys.stderr)
        return 1
    return 0


def mount_points():
    pts = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pts.append(line.split()[4].replace("\\040", " "))
    return pts


def is_mounted(mnt):
    return str(mnt) in mount_points()


def wait_mounted(mnt, proc=None, timeout=60.0, log_path=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if is_mounted(mnt):
            return
        if proc is not None and proc.poll() is not None:
            tail = Path(log_path).read_text(errors="replace")[-800:] if log_path else ""
            raise Unavailable("daemon exited with %s before mounting: %s" % (proc.returncode, last_line(tail)))
        time.sleep(0.1)
    raise Unavailable("%s not mounted after %.0f s" % (mnt, timeout))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout, log_path):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            tail = Path(log_path).read_text(errors="replace")[-800:]
            raise Unavailable("server exited with %s: %s" % (proc.returncode, last_line(tail)))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise Unavailable("port %d not accepting after %.0f s" % (port, timeout))


def process_table():
    """pid -> (ppid, comm, cmdline)"""
    table = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        table[int(d)] = (ppid, comm, cmd)
    return table


def ours():
    """This harness and its ancestors (bench/run), which name the work dir but must survive."""
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            with open("/proc/%d/stat" % pid) as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            break
    return pids


def tagged(work, system=None):
    """Processes whose environment carries our tag (see TAG_WORK), optionally for one system."""
    want = [("%s=%s" % (TAG_WORK, work)).encode()]
    if system:
        want.append(("%s=%s" % (TAG_SYSTEM, system)).encode())
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if all(w in env for w in want):
            out.append(int(d))
    return out


def strays(work):
    """Processes we started indirectly (ssh forked by sshfs, a mount's daemon and proxy)."""
    mine = ours()
    return [pid for pid in tagged(work) if pid not in mine and alive(pid)]


def descendants(roots, table=None):
    table = table or process_table()
    out = [p for p in roots if p in table]
    frontier = list(out)
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _, _) in table.items():
            if ppid == parent and pid not in out:
                out.append(pid)
                frontier.append(pid)
    return out


# ---------------------------------------------------------------------------------------------
# Quiet machine, caches

def cpu_times():
    with open("/proc/stat") as f:
        vals = [int(v) for v in f.readline().split()[1:]]
    idle = vals[3] + vals[4]
    return sum(vals[:8]), idle


def quiet_sample():
    t0, i0 = cpu_times()
    time.sleep(1.0)
    t1, i1 = cpu_times()
    busy = 100.0 * (1 - (i1 - i0) / max(1, t1 - t0))
    load = [float(x) for x in open("/proc/loadavg").read().split()[:3]]
    return {"cpu_busy_pct_1s": round(busy, 1), "loadavg": load}


def wait_quiet(max_wait=30.0):
    """Quiet = under 15% CPU busy over 1 s and 1-min load below the core count. The load
    average trails our own previous workload by minutes, so it only vetoes real overload."""
    start = time.time()
    samples = []
    while True:
        s = quiet_sample()
        samples.append(s)
        ok = s["cpu_busy_pct_1s"] < 15.0 and s["loadavg"][0] < NPROC
        if ok or time.time() - start >= max_wait:
            return {"quiet": ok, "waited_s": round(time.time() - start, 1), "samples": samples}
        time.sleep(2.0)


def drop_caches():
    """Identical for every system: flush, drop, then let the VM hand memory back (FACTS: the
    refill afterwards runs at ~0.6 GB/s for everyone; reading too early measures that)."""
    run(["sync"], timeout=600)
    Path("/proc/sys/vm/drop_caches").write_text("3\n")
    time.sleep(DROP_SETTLE_S)


# ---------------------------------------------------------------------------------------------
# Systems

class System:
    def __init__(self, name, h):
        self.name = name
        self.h = h
        self.base = h.work / name
        self.mnt = None
        self.log = self.base / "daemon.log"
        self.client_pids = []
        self.server_pids = []

    def prepare_dirs(self):
        if self.base.exists():
            shutil.rmtree(self.base)
        self.base.mkdir(parents=True)

    def setup(self):
        raise NotImplementedError

    def teardown(self):
        if self.mnt is not None:
            self.h.owned.unmount(self.mnt)
        for pid in self.client_pids + self.server_pids:
            self.h.owned.stop(pid)
        self.client_pids, self.server_pids = [], []
        shutil.rmtree(self.base, ignore_errors=True)

    def sampled(self):
        """(role, pid) of every process that serves this mount, found afresh (daemons fork)."""
        table = process_table()
        server = descendants(self.server_pids, table)
        client = [p for p in descendants(self.client_pids, table) if p not in server]
        # Daemons that double-fork (sshfs starts ssh that way) leave the tree, not our tag.
        mine = ours()
        for pid in tagged(self.h.work, self.name):
            if pid not in server and pid not in client and pid not in mine:
                client.append(pid)
        out = [("client", p) for p in client] + [("server", p) for p in server]
        return [(r, p, table[p][1], table[p][2]) for r, p in out if p in table]


class Local(System):
    def setup(self):
        self.prepare_dirs()
        (self.base / "data").mkdir()
        return self.base / "data"


class Passthrough(System):
    def setup(self):
        self.prepare_dirs()
        src, mnt = self.base / "src", self.base / "mnt"
        src.mkdir()
        mnt.mkdir()
        java, flags = self.h.java
        cp = self.h.passthrough_cp()
        opts = self.h.args.passthrough_opts
        p = self.h.owned.spawn([java] + flags + ["-cp", cp, "io.coffer.bench.passthrough.Passthrough",
                                                 src, mnt, "-o", opts], self.name, self.log, self.name)
        self.client_pids = [p.pid]
        self.mnt = mnt
        self.h.owned.add_mount(mnt)
        wait_mounted(mnt, p, 60, self.log)
        return mnt


class Sshfs(System):
    def __init__(self, name, h, ciphers=None):
        super().__init__(name, h)
        self.ciphers = ciphers

    def setup(self):
        self.prepare_dirs()
        ssh = self.base / "ssh"
        ssh.mkdir(mode=0o700)
        data, mnt = self.base / "data", self.base / "mnt"
        data.mkdir()
        mnt.mkdir()
        for key in ("host_ed25519", "id_ed25519"):
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", ssh / key])
        shutil.copy(ssh / "id_ed25519.pub", ssh / "authorized_keys")
        port = free_port()
        sftp = next((p for p in ("/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server")
                     if os.path.exists(p)), "internal-sftp")
        (ssh / "sshd_config").write_text("\n".join([
            "Port %d" % port,
            "ListenAddress 127.0.0.1",
            "HostKey %s" % (ssh / "host_ed25519"),
            "AuthorizedKeysFile %s" % (ssh / "authorized_keys"),
            "PidFile %s" % (ssh / "sshd.pid"),
            "PermitRootLogin prohibit-password",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "Subsystem sftp %s" % sftp,
            ""]))
        # sshd refuses to start without its privilege-separation directory.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        sshd = self.h.owned.spawn(["/usr/sbin/sshd", "-D", "-e", "-f", ssh / "sshd_config"],
                                  self.name + "-sshd", self.base / "sshd.log", self.name)
        self.server_pids = [sshd.pid]
        wait_port(port, sshd, 20, self.base / "sshd.log")
        ssh_opts = ["IdentityFile=%s" % (ssh / "id_ed25519"), "StrictHostKeyChecking=no",
                    "UserKnownHostsFile=/dev/null", "BatchMode=yes", "LogLevel=ERROR"]
        if self.ciphers:
            ssh_opts.append("Ciphers=%s" % self.ciphers)
        # -f keeps sshfs in the foreground so that its pid is ours to sample and stop.
        cmd = ["sshfs", "-f", "-p", str(port), "-o", ",".join(ssh_opts),
               "root@127.0.0.1:%s" % data, mnt]
        p = self.h.owned.spawn(cmd, self.name, self.log, self.name)
        self.client_pids = [p.pid]
        self.mnt = mnt
        self.h.owned.add_mount(mnt)
        wait_mounted(mnt, p, 30, self.log)
        return mnt


class Gocryptfs(System):
    def setup(self):
        self.prepare_dirs()
        cipher, mnt = self.base / "cipher", self.base / "mnt"
        cipher.mkdir()
        mnt.mkdir()
        pw = self.base / "passfile"
        pw.write_text("coffer-bench-not-a-secret\n")
        run(["gocryptfs", "-q", "-init", "-passfile", pw, cipher])
        p = self.h.owned.spawn(["gocryptfs", "-fg", "-q", "-passfile", pw, cipher, mnt], self.name, self.log,
                               self.name)
        self.client_pids = [p.pid]
        self.mnt = mnt
        self.h.owned.add_mount(mnt)
        wait_mounted(mnt, p, 30, self.log)
        return mnt


class Coffer(System):
    """Driven only through the bin/coffer command line contract (docs: DESIGN.md)."""

    def __init__(self, name, h, tls, proxy):
        super().__init__(name, h)
        self.tls = tls
        self.proxy = proxy

    def cli(self, *args, timeout=120):
        cmd = [self.h.coffer_bin] + [str(a) for a in args]
        try:
            r = run(cmd, timeout=timeout, check=False, env=self.h.owned.env(self.name))
        except subprocess.TimeoutExpired:
            raise Unavailable("`%s` timed out after %d s" % (shlex.join(cmd), timeout))
        if r.returncode != 0:
            raise Unavailable("`%s` exited %d: %s" % (" ".join(cmd[1:3]), r.returncode,
                                                      last_line(r.stderr or r.stdout)))
        return r.stdout

    def certs(self):
        d = self.base / "certs"
        self.cli("certs", "init-ca", "--dir", d)
        self.cli("certs", "issue", "--dir", d, "--server", "localhost", "--ip", "127.0.0.1")
        ca = d / "ca.pem"
        if not ca.exists():
            raise Unavailable("certs init-ca wrote no %s" % ca)
        if self.h.args.coffer_tls_cert and self.h.args.coffer_tls_key:
            return ca, Path(self.h.args.coffer_tls_cert), Path(self.h.args.coffer_tls_key)
        # `certs issue --server NAME` writes NAME.pem and NAME.key today; the names are not in
        # the contract, so fall back to the newest other pair in the directory.
        if (d / "localhost.pem").exists() and (d / "localhost.key").exists():
            return ca, d / "localhost.pem", d / "localhost.key"
        files = sorted(p for p in d.iterdir() if p.is_file() and p.name != "ca.pem"
                       and "ca-key" not in p.name and "ca.key" not in p.name)
        keys = [p for p in files if "key" in p.name]
        certs = [p for p in files if "key" not in p.name and p.suffix in (".pem", ".crt")]
        if not keys or not certs:
            raise Unavailable("cannot tell server cert and key apart in %s: %s"
                              % (d, [p.name for p in files]))
        return ca, max(certs, key=lambda p: p.stat().st_mtime), max(keys, key=lambda p: p.stat().st_mtime)

    def setup(self):
        if not self.h.coffer_bin:
            raise Unavailable(self.h.coffer_missing)
        self.prepare_dirs()
        data, mnt = self.base / "data", self.base / "mnt"
        data.mkdir()
        mnt.mkdir()
        port = free_port()
        server = ["server", "--data-dir", data, "--listen", "127.0.0.1:%d" % port]
        admin_tls = []
        if self.tls:
            ca, cert, key = self.certs()
            server += ["--tls-cert", cert, "--tls-key", key, "--tls-ca", ca]
            admin_tls = shlex.split(self.h.args.coffer_admin_tls_opts.replace("CA", str(ca)))
        server += shlex.split(self.h.args.coffer_server_opts)
        p = self.h.owned.spawn([self.h.coffer_bin] + server, self.name + "-server", self.base / "server.log",
                               self.name)
        self.server_pids = [p.pid]
        wait_port(port, p, 90, self.base / "server.log")
        create = ["fs", "create", "--server", "127.0.0.1:%d" % port] + admin_tls
        if self.h.args.encryption == "off":
            create.append("--no-encrypted")
        out = self.cli(*create)
        m = re.search(r"\bfs-[0-9a-f]{8}\b", out)
        if not m:
            raise Unavailable("fs create printed no fs id: %r" % out.strip()[:200])
        fsid = m.group(0)
        opts = ["addr=127.0.0.1", "port=%d" % port]
        if self.tls:
            opts = ["tls", "proxy=%s" % self.proxy] + opts + ["cafile=%s" % ca]
        if self.h.args.coffer_mount_opts:
            opts.append(self.h.args.coffer_mount_opts)
        self.mnt = mnt
        self.h.owned.add_mount(mnt)
        self.cli("mount", "-o", ",".join(opts), fsid, mnt, timeout=120)
        if not is_mounted(mnt):
            raise Unavailable("`coffer mount` returned but %s is not mounted" % mnt)
        # The mount command returns once mounted and leaves its daemon (and any proxy) behind;
        # they inherited our tag, and are the client side unless they belong to the server.
        server = descendants(self.server_pids)
        for pid in tagged(self.h.work, self.name):
            if pid not in server and pid not in ours():
                self.client_pids.append(pid)
                self.h.owned.adopt(pid, self.name + "-client")
        if not self.client_pids:
            # A launcher that scrubs the environment hides the tag; our mount path is unique too.
            for pid, (_, _, cmd) in process_table().items():
                if (" %s" % mnt) in cmd and pid not in server and pid not in ours():
                    self.client_pids.append(pid)
                    self.h.owned.adopt(pid, self.name + "-client")
        if not self.client_pids:
            self.h.warn(self.name, "no-daemon", "no client daemon process found for %s; CPU and RSS not sampled" % mnt)
        self.fsid = fsid
        return mnt


# ---------------------------------------------------------------------------------------------
# Workloads. Each returns {metric: value}; each runs in a fresh directory inside the mount.

def fio(args, timeout):
    r = run(["fio", "--output-format=json"] + args, timeout=timeout)
    out = r.stdout
    # fio may print warnings before the JSON document.
    return json.loads(out[out.index("{"):])


class ResourceSampler(threading.Thread):
    """Samples CPU time and RSS of the daemons of one system every 100 ms."""

    def __init__(self, procs):
        super().__init__(daemon=True)
        self.procs = procs
        self.stop_evt = threading.Event()
        self.peak = {p: 0 for _, p, _, _ in procs}
        self.first = {}
        self.last = {}

    @staticmethod
    def read(pid):
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])
        rss = hwm = 0
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
        return ticks, rss, hwm

    def sample(self):
        now = time.time()
        for _, pid, _, _ in self.procs:
            try:
                ticks, rss, hwm = self.read(pid)
            except (OSError, ValueError, IndexError):
                continue
            self.first.setdefault(pid, (now, ticks))
            self.last[pid] = (now, ticks, hwm)
            self.peak[pid] = max(self.peak[pid], rss)

    def run(self):
        while not self.stop_evt.is_set():
            self.sample()
            self.stop_evt.wait(0.1)

    def finish(self, wall):
        self.stop_evt.set()
        self.join()
        self.sample()
        per = []
        for role, pid, comm, cmd in self.procs:
            if pid not in self.first:
                continue
            cpu = 100.0 * (self.last[pid][1] - self.first[pid][1]) / CLK_TCK / max(wall, 1e-6)
            per.append({"role": role, "pid": pid, "comm": comm, "cmd": cmd[:300], "cpu_pct": round(cpu, 1),
                        "tunnel": comm.startswith("stunnel") or " proxy --config " in cmd,
                        "rss_peak_MiB": round(self.peak[pid] / 1024, 1),
                        "vmhwm_MiB": round(self.last[pid][2] / 1024, 1)})
        return per


def w_seqwrite(h, sysm, d):
    f = d / "seq.dat"
    procs = sysm.sampled()
    sampler = ResourceSampler(procs)
    sampler.start()
    t0 = time.time()
    res = fio(["--name=seqwrite", "--filename=%s" % f, "--rw=write", "--bs=128k", "--size=%dm" % h.seq_mib,
               "--ioengine=psync", "--end_fsync=1", "--fallocate=none"], timeout=1800)
    wall = time.time() - t0
    per = sampler.finish(wall)
    out = {"seq_write_MBps": res["jobs"][0]["write"]["bw_bytes"] / 1e6}
    for role in ("client", "server"):
        mine = [p for p in per if p["role"] == role]
        if mine:
            out[role + "_cpu_pct"] = sum(p["cpu_pct"] for p in mine)
            out[role + "_rss_MB"] = sum(p["rss_peak_MiB"] for p in mine)
    # The sum above adds Coffer's idle watchdog (and a proxy) to the mount daemon; the memory
    # target is about the daemon alone, the largest of them.
    client = [p["rss_peak_MiB"] for p in per if p["role"] == "client"]
    if client:
        out["client_max_rss_MB"] = max(client)
    # The separate TLS tunnel (Coffer's proxy or stunnel4): its CPU seconds per GB carried.
    tunnel = [p for p in per if p["role"] == "client" and p["tunnel"]]
    if tunnel:
        gb = (h.seq_mib << 20) / 1e9
        out["tunnel_cpu_s_per_GB"] = sum(p["cpu_pct"] for p in tunnel) / 100.0 * wall / gb
    h.extra.setdefault(sysm.name, {}).setdefault("seqwrite_processes", []).append(per)
    return out


def w_seqread(h, sysm, d):
    f = d / "seq.dat"
    if not f.exists() or f.stat().st_size < h.seq_mib << 20:
        # Run alone (without seqwrite): lay the file out first, untimed.
        fio(["--name=layout", "--filename=%s" % f, "--rw=write", "--bs=128k", "--size=%dm" % h.seq_mib,
             "--ioengine=psync", "--end_fsync=1", "--fallocate=none"], timeout=1800)
    drop_caches()
    res = fio(["--name=seqread", "--filename=%s" % f, "--rw=read", "--bs=128k", "--size=%dm" % h.seq_mib,
               "--ioengine=psync"], timeout=1800)
    return {"seq_read_MBps": res["jobs"][0]["read"]["bw_bytes"] / 1e6}


def w_randrw(h, sysm, d):
    # Lay the files out first, untimed and with 128k writes: fio would otherwise lay them out
    # with the job's 4k blocks, which took minutes over sshfs and measures nothing we report.
    fio(["--name=randrw", "--directory=%s" % d, "--rw=write", "--bs=128k", "--size=%dm" % h.randrw_mib,
         "--numjobs=4", "--ioengine=psync", "--end_fsync=1", "--fallocate=none"], timeout=1800)
    res = fio(["--name=randrw", "--directory=%s" % d, "--rw=randrw", "--rwmixread=60", "--bs=4k",
               "--size=%dm" % h.randrw_mib, "--numjobs=4", "--time_based", "--runtime=%d" % h.randrw_s,
               "--direct=0", "--ioengine=psync", "--group_reporting", "--fallocate=none"],
              timeout=1800 + h.randrw_s)
    j = res["jobs"][0]
    return {"randrw_iops": j["read"]["iops"] + j["write"]["iops"]}


def worker(kind, directory, n):
    """Runs in a child process so the timed loop shares nothing with the harness."""
    d = Path(directory)
    names = [str(d / ("f%06d" % i)) for i in range(n)]
    t0 = time.perf_counter()
    if kind == "create":
        for p in names:
            os.close(os.open(p, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644))
    elif kind == "stat":
        for p in names:
            os.lstat(p)
    elif kind == "unlink":
        for p in names:
            os.unlink(p)
    print(json.dumps({"seconds": time.perf_counter() - t0}))


def timed_worker(kind, d, n):
    r = run([sys.executable, __file__, "--worker", kind, str(d), str(n)], timeout=1800)
    return n / json.loads(r.stdout)["seconds"]


def w_files(h, sysm, d):
    out = {"create_ops": timed_worker("create", d, h.nfiles)}
    # Cold = page, dentry and inode caches dropped (which also drops the backing fs's and the
    # servers' caches on this one machine); the same for every system, local included.
    drop_caches()
    out["stat_cold_ops"] = timed_worker("stat", d, h.nfiles)
    out["unlink_ops"] = timed_worker("unlink", d, h.nfiles)
    return out


def timed(cmd, timeout=3600, cwd=None):
    t0 = time.perf_counter()
    run(cmd, timeout=timeout, cwd=cwd)
    return time.perf_counter() - t0


def w_tar(h, sysm, d):
    tarball = h.tarball()
    # The source is read from local disk; warm it so only the target file system is measured.
    with open(tarball, "rb") as f:
        while f.read(1 << 20):
            pass
    t0 = time.perf_counter()
    r = run(["tar", "-x", "-f", tarball, "-C", d], timeout=3600, check=False)
    out = {"tar_x_s": time.perf_counter() - t0}
    if r.returncode != 0:
        # sshfs cannot set times or owners on a symlink itself (SFTP follows the link), so tar
        # reports every symlink whose target comes later in the archive. The tree is extracted
        # otherwise; keep the time, and say so next to the table.
        errs = [l for l in r.stderr.splitlines() if l.startswith("tar: ") and "Exiting" not in l]
        # "tar: PATH: WHAT FAILED[: strerror]"
        kinds = sorted({parts[1] for parts in (l[len("tar: "):].split(": ") for l in errs) if len(parts) >= 2})
        h.warn(sysm.name, "tar-exit", "tar x exited %d with %d errors (%s), e.g. %s"
               % (r.returncode, len(errs), "; ".join(kinds)[:200], errs[0][:160] if errs else ""))
        if r.returncode != 2:
            raise RuntimeError("tar -x failed (%d): %s" % (r.returncode, "\n".join(errs[:3])))
    # Untimed check that the tree really arrived: a fast tar that left files out is no result.
    want = h.extra["tarball"]["regular_files"]
    got = sum(1 for _, _, fs in os.walk(d) for f in fs)
    if got < want:
        h.warn(sysm.name, "tar-missing", "tar x left %d of %d regular files out" % (want - got, want))
    out["rm_rf_s"] = timed(["rm", "-rf", str(d / "usr")])
    return out


def w_git(h, sysm, d):
    src = h.git_repo()
    if src is None:
        return {}
    run(["git", "-C", src, "status", "--porcelain"], timeout=600)   # warm the source side
    dst = d / "clone"
    out = {"git_clone_s": timed(["git", "clone", "-q", "--no-hardlinks", src, dst])}
    out["git_status_s"] = timed(["git", "-C", dst, "status", "--porcelain"])
    return out


def w_compile(h, sysm, d):
    src = d / "proj"
    generate_c_project(src, h.ncfiles)
    out = {"compile_s": timed(["make", "-s", "-j2", "-C", src], timeout=3600)}
    return out


def generate_c_project(d, n):
    d.mkdir(parents=True)
    (d / "common.h").write_text("#ifndef COMMON_H\n#define COMMON_H\n#define SCALE 3\n"
                                "struct pair { int a, b; };\n#endif\n")
    for i in range(n):
        (d / ("m%04d.h" % i)).write_text("int m%04d_sum(int);\nint m%04d_len(const char *);\n" % (i, i))
        (d / ("m%04d.c" % i)).write_text(
            '#include "common.h"\n#include "m%04d.h"\n'
            "static int step(int x) { return x * SCALE + %d; }\n"
            "int m%04d_sum(int n) { struct pair p = {0, 0}; for (int i = 0; i < n; i++) "
            "{ p.a += step(i); p.b ^= p.a; } return p.a + p.b; }\n"
            "int m%04d_len(const char *s) { int k = 0; while (s[k]) k++; return k; }\n" % (i, i, i, i))
    objs = " ".join("m%04d.o" % i for i in range(n))
    (d / "Makefile").write_text(
        "OBJS = %s\n\nlibbench.a: $(OBJS)\n\tar rcs $@ $(OBJS)\n\n"
        "%%.o: %%.c common.h\n\tgcc -O0 -c $< -o $@\n" % objs)


def warm_up(h, sysm, root):
    """Untimed and identical for every system: JIT-compiles the Java daemons' hot paths (a cold
    passthrough writes at a third of its warm speed) and opens every connection."""
    d = root / "warmup"
    d.mkdir()
    mib = min(256, h.seq_mib)
    # Three rounds: a JIT compiles in stages and a busy 2-core machine gives its compiler threads
    # little time, so one round left the Java daemons and server compiling through the first
    # measured workloads (a fresh Coffer server spent ~40% of its CPU in C2 during the 1 GiB write).
    for _ in range(3):
        fio(["--name=warmup", "--filename=%s" % (d / "w.dat"), "--rw=write", "--bs=128k", "--size=%dm" % mib,
             "--ioengine=psync", "--fallocate=none"], timeout=1800)
        fio(["--name=warmup", "--filename=%s" % (d / "w.dat"), "--rw=read", "--bs=128k", "--size=%dm" % mib,
             "--ioengine=psync"], timeout=1800)
    # Random 4k I/O runs code the streams do not (patches into stored chunks, small reads). After 3 s
    # of it a fresh Coffer server on the slow VM still spent 38% of its CPU in the JIT through the
    # measured randrw, whose IOPS rose ~60% from its first 15 s to its third: so the same job as the
    # workload, shorter, laid out with large writes for the reason w_randrw gives.
    fio(["--name=warmrr", "--directory=%s" % d, "--rw=write", "--bs=128k", "--size=64m", "--numjobs=4",
         "--ioengine=psync", "--fallocate=none"], timeout=1800)
    fio(["--name=warmrr", "--directory=%s" % d, "--rw=randrw", "--rwmixread=60", "--bs=4k", "--numjobs=4",
         "--size=64m", "--time_based", "--runtime=%d" % (5 if h.args.quick else 15), "--ioengine=psync",
         "--fallocate=none"], timeout=600)
    # File metadata, in rounds for the same reason: after 1,000 of each, a fresh Coffer server on the
    # slow VM still spent half its CPU in the JIT through the measured creates (its CPU per create
    # over four runs of 5,000 in a row: 756, 408, 220, 202 us).
    for _ in range(3):
        for kind in ("create", "stat", "unlink"):
            timed_worker(kind, d, 1000 if h.args.quick else 3000)
    # Extracting a tree runs code none of the above does: small files written, then given their
    # owner, mode and times, and closed durably; symlinks; directories. On a fresh Coffer mount
    # (none of the rounds above), the first extraction of 2,427 entries took 5.4-5.6 s and the second
    # 2.5-2.7 s, and a full `tar x` after two of them took 26.2/28.5 s against 30.4/30.1 s without.
    # So two extractions of one directory of the workload's own archive, in every system.
    if "tar" in h.args.workloads:
        member = h.tar_warm_member()
        for i in range(2 if member else 0):
            dd = d / ("tar%d" % i)
            dd.mkdir()
            # sshfs cannot set owners or times on symlinks: tar exits 2 there, as in w_tar.
            run(["tar", "-x", "-f", h.tarball(), "-C", dd, member], timeout=1800, check=False)
    shutil.rmtree(d)


WORKLOADS = {
    "seqwrite": w_seqwrite,
    "seqread": w_seqread,
    "randrw": w_randrw,
    "files": w_files,
    "tar": w_tar,
    "git": w_git,
    "compile": w_compile,
}


# ---------------------------------------------------------------------------------------------
# The harness

class Harness:
    def __init__(self, args):
        self.args = args
        self.work = Path(args.work)
        self.owned = Owned(self.work)
        q = args.quick
        self.seq_mib = 256 if q else 1024
        self.nfiles = 2000 if q else 10000
        self.randrw_mib = 64 if q else 256
        self.randrw_s = 10 if q else 20
        self.ncfiles = 200 if q else 1000
        self.runs = args.runs or (1 if q else 3)
        self.extra = {}
        self.java = self.pick_java()
        self.coffer_bin, self.coffer_missing = self.find_coffer()
        self._tarball = None
        self._tar_warm = "unset"
        self.warnings = {}
        self._git = "unset"

    def warn(self, system, key, msg):
        """A workload that completed with a caveat; shown under the table and kept in the JSON.
        One entry per system and kind, with the latest message and how many runs saw it."""
        entry = self.warnings.setdefault(system, {}).setdefault(key, {"runs": 0})
        entry["runs"] += 1
        entry["message"] = msg
        log("  %-18s warning: %s" % (system, msg))

    @staticmethod
    def pick_java():
        jdk25 = Path("/usr/lib/jvm/temurin-25-jdk-amd64/bin/java")
        if jdk25.exists():
            return str(jdk25), ["--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"]
        return shutil.which("java") or "java", []

    def java_version(self):
        r = run([self.java[0], "-version"], check=False)
        return last_line((r.stderr or "").splitlines()[0] if r.stderr else "")

    def find_coffer(self):
        b = Path(self.args.coffer_bin) if self.args.coffer_bin else REPO / "bin" / "coffer"
        if not b.exists():
            return None, "%s not found (the CLI has not landed or is not built)" % b
        if not os.access(b, os.X_OK):
            return None, "%s is not executable" % b
        return str(b), None

    def passthrough_cp(self):
        t = BENCH / "passthrough" / "target"
        cpf = t / "classpath.txt"
        if not cpf.exists():
            raise Unavailable("bench/passthrough is not built (bench/run builds it with mvn)")
        return "%s:%s" % (t / "classes", cpf.read_text().strip())

    def tarball(self):
        """Built once from real trees on this machine and cached: bench/.cache/tree-*.tar."""
        if self._tarball:
            return self._tarball
        CACHE.mkdir(exist_ok=True)
        if self.args.quick:
            name, trees = "tree-quick.tar", ["usr/share/i18n", "usr/share/zoneinfo", "usr/share/perl"]
        else:
            name, trees = "tree-full.tar", ["usr/share/man", "usr/share/locale"]
        t = CACHE / name
        if not t.exists():
            trees = [x for x in trees if (Path("/") / x).is_dir()]
            tmp = t.with_suffix(".tmp")
            run(["tar", "-c", "-f", tmp, "-C", "/"] + trees, timeout=1800)
            tmp.rename(t)
        listing = run(["tar", "-t", "-v", "-f", t], timeout=600).stdout.splitlines()
        files = [l for l in listing if l.startswith("-")]
        size = sum(int(l.split()[2]) for l in files)
        self.extra["tarball"] = {"path": str(t), "entries": len(listing), "regular_files": len(files),
                                 "MiB": round(size / 1048576, 1)}
        self._tarball = t
        return t

    def tar_warm_member(self):
        """The directory of the tarball with the most entries below it, at most 3,000 (or None)."""
        if self._tar_warm != "unset":
            return self._tar_warm
        counts = {}
        for name in run(["tar", "-t", "-f", self.tarball()], timeout=600).stdout.splitlines():
            parts = name.rstrip("/").split("/")
            for depth in range(1, len(parts)):
                prefix = "/".join(parts[:depth])
                counts[prefix] = counts.get(prefix, 0) + 1
        fit = [(n, p) for p, n in counts.items() if n <= 3000]
        self._tar_warm = max(fit)[1] if fit else None
        return self._tar_warm

    def git_repo(self):
        if self._git != "unset":
            return self._git
        cands = [self.args.git_repo] if self.args.git_repo else [str(Path.home() / ".pyenv"), str(REPO)]
        repo = None
        for c in cands:
            if c and run(["git", "-C", c, "rev-parse", "--git-dir"], check=False).returncode == 0:
                repo = c
                break
        info = {"path": repo}
        if repo:
            nfiles = len(run(["git", "-C", repo, "ls-files"]).stdout.splitlines())
            info["files"] = nfiles
            if self.args.quick and nfiles > 5000:
                info["skipped"] = "quick mode: %d files is too slow" % nfiles
                repo = None
        self.extra["git_repo"] = info
        self._git = repo
        return repo

    def make_system(self, name):
        return {
            "local": lambda: Local(name, self),
            "passthrough": lambda: Passthrough(name, self),
            "sshfs": lambda: Sshfs(name, self),
            "sshfs-gcm": lambda: Sshfs(name, self, ciphers="aes128-gcm@openssh.com"),
            "gocryptfs": lambda: Gocryptfs(name, self),
            "coffer-plain": lambda: Coffer(name, self, tls=False, proxy=None),
            "coffer-tls-inproc": lambda: Coffer(name, self, tls=True, proxy="none"),
            "coffer-tls-proxy": lambda: Coffer(name, self, tls=True, proxy="coffer"),
            "coffer-tls-stunnel": lambda: Coffer(name, self, tls=True, proxy="stunnel"),
        }[name]()

    def main(self):
        systems = self.args.systems
        workloads = self.args.workloads
        unavailable = {}
        samples = {s: {} for s in systems}
        errors = {s: {} for s in systems}
        runs_info = []
        started = time.time()
        for r in range(self.runs):
            order = [systems[(i + r) % len(systems)] for i in range(len(systems))]
            q = wait_quiet(self.args.quiet_wait)
            log("== run %d/%d, order %s; machine %s (cpu busy %.0f%%, load %.2f)"
                % (r + 1, self.runs, " ".join(order), "quiet" if q["quiet"] else "NOT QUIET",
                   q["samples"][-1]["cpu_busy_pct_1s"], q["samples"][-1]["loadavg"][0]))
            if not q["quiet"]:
                log("   WARNING: machine not quiet after waiting %.0f s; numbers of this run are suspect" % q["waited_s"])
            info = {"run": r + 1, "order": order, "quiet_check": q, "per_system": {}}
            runs_info.append(info)
            for name in order:
                if name in unavailable:
                    continue
                sysm = self.make_system(name)
                pre = quiet_sample()
                info["per_system"][name] = {"pre_cpu_busy_pct_1s": pre["cpu_busy_pct_1s"], "loadavg": pre["loadavg"]}
                log("  %-18s machine before setup: cpu busy %.0f%%, load %.2f%s"
                    % (name, pre["cpu_busy_pct_1s"], pre["loadavg"][0],
                       "  (NOT QUIET)" if pre["cpu_busy_pct_1s"] >= 15.0 else ""))
                try:
                    root = sysm.setup()
                except (Unavailable, RuntimeError, subprocess.TimeoutExpired, OSError) as e:
                    unavailable[name] = str(e)
                    log("  %s: not available (%s)" % (name, e))
                    try:
                        sysm.teardown()
                    except Exception as e2:   # keep tearing down the others
                        log("  %s: teardown failed: %s" % (name, e2))
                    continue
                try:
                    self.run_workloads(sysm, Path(root), workloads, r, samples[name], errors[name])
                finally:
                    sysm.teardown()
        medians = {s: {m: statistics.median(v) for m, v in samples[s].items()} for s in systems}
        report = self.report(systems, medians, unavailable)
        print(report, flush=True)
        doc = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "duration_s": round(time.time() - started, 1),
            "command": os.environ.get("BENCH_CMDLINE") or " ".join(map(shlex.quote, sys.argv)),
            "machine": machine_info(self),
            "config": {"quick": self.args.quick, "runs": self.runs, "systems": systems, "workloads": workloads,
                       "seq_MiB": self.seq_mib, "seq_bs": "128k", "files": self.nfiles,
                       "randrw_MiB_per_job": self.randrw_mib, "randrw_s": self.randrw_s,
                       "c_files": self.ncfiles, "drop_caches_settle_s": DROP_SETTLE_S,
                       "passthrough_opts": self.args.passthrough_opts,
                       "encryption": self.args.encryption,
                       "coffer_server_opts": self.args.coffer_server_opts,
                       "coffer_mount_opts": self.args.coffer_mount_opts},
            "notes": [
                "fio uses bs=128k everywhere: on this VM bs=1M into ext4's page cache is a quirk (~440 MB/s vs ~2 GB/s).",
                "cold = sync; echo 3 > /proc/sys/vm/drop_caches; sleep %.0f s, identical for every system." % DROP_SETTLE_S,
                "each mount gets the same untimed warm-up (3 x %d MiB write+read, %d s of 4k randrw, 3 x %d create/stat/unlink) before its first workload, and a sync before every workload." % (min(256, self.seq_mib), 5 if self.args.quick else 15, 1000 if self.args.quick else 3000),
                "ratios: coffer/peer for MB/s, IOPS, ops/s; peer/coffer for seconds, CPU and RSS: >1 means Coffer is better.",
            ],
            "metrics": {k: {"label": v[0], "unit": v[1], "higher_is_better": v[2]} for k, v in METRICS.items()},
            "unavailable": unavailable,
            "runs": runs_info,
            "samples": samples,
            "errors": errors,
            "warnings": self.warnings,
            "medians": medians,
            "ratios": self.ratios(systems, medians),
            "targets": {c: targets(medians, c) for c in systems if c in COFFER and medians.get(c)},
            "extra": self.extra,
        }
        RESULTS.mkdir(exist_ok=True)
        out = RESULTS / (time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started)) + ".json")
        out.write_text(json.dumps(doc, indent=2) + "\n")
        log("results: %s" % out.relative_to(REPO))
        return 0

    def run_workloads(self, sysm, root, workloads, r, samples, errors):
        if not self.args.no_warmup:
            t0 = time.time()
            try:
                warm_up(self, sysm, root)
                log("  %-18s %-8s %5.1fs" % (sysm.name, "warm-up", time.time() - t0))
            except Exception as e:
                log("  %-18s %-8s ERROR %s" % (sysm.name, "warm-up", last_line(str(e))))
        seqdir = None
        for w in workloads:
            # Write-back left over from the previous workload (or system) would be paid by this one.
            run(["sync"], timeout=600)
            d = root / ("%s-run%d" % (w, r + 1))
            if w == "seqread" and seqdir is not None:
                d = seqdir
            else:
                d.mkdir(parents=True)
            t0 = time.time()
            try:
                res = WORKLOADS[w](self, sysm, d)
            except Exception as e:   # one broken workload must not cost the others
                msg = " / ".join(l.strip() for l in str(e).splitlines() if l.strip())[:400]
                errors.setdefault(w, []).append("run %d: %s" % (r + 1, msg))
                log("  %-18s %-8s ERROR %s" % (sysm.name, w, msg))
                res = {}
            for k, v in res.items():
                samples.setdefault(k, []).append(v)
            shown = "  ".join("%s=%s" % (k, fmt(v)) for k, v in res.items())
            log("  %-18s %-8s %5.1fs  %s" % (sysm.name, w, time.time() - t0, shown))
            if w == "seqwrite" and "seqread" in workloads:
                seqdir = d   # the read workload reads the file just written
                continue
            shutil.rmtree(d, ignore_errors=True)

    def ratios(self, systems, medians):
        out = {}
        for c in [s for s in systems if s in COFFER and medians.get(s)]:
            out[c] = {}
            for p in [s for s in systems if s not in COFFER and medians.get(s)]:
                out[c][p] = {}
                for m, (_, _, higher) in METRICS.items():
                    a, b = medians[c].get(m), medians[p].get(m)
                    if a and b:
                        out[c][p][m] = round(a / b if higher else b / a, 3)
        return out

    def report(self, systems, medians, unavailable):
        shown = [s for s in systems if s not in unavailable or medians.get(s)]
        lines = ["", "Medians of %d run%s (%s)%s" % (self.runs, "s" if self.runs > 1 else "",
                                                    "quick" if self.args.quick else "full",
                                                    "" if self.args.encryption == "on" else ", coffer encryption off")]
        hdr = ["metric", "unit"] + shown
        rows = []
        for m, (label, unit, _) in METRICS.items():
            if not any(m in medians.get(s, {}) for s in shown):
                continue
            rows.append([label, unit] + [fmt(medians[s].get(m)) for s in shown])
        lines += table(hdr, rows)
        rat = self.ratios(systems, medians)
        for c, peers in rat.items():
            if not peers:
                continue
            lines += ["", "%s vs peers (>1 = Coffer better: coffer/peer for rates, peer/coffer for times, CPU, RSS)" % c]
            ps = list(peers)
            rows = []
            for m, (label, unit, _) in METRICS.items():
                if any(m in peers[p] for p in ps):
                    rows.append([label] + [("%.2fx" % peers[p][m]) if m in peers[p] else "-" for p in ps])
            lines += table(["metric"] + ps, rows)
        for c in [s for s in shown if s in COFFER and medians.get(s)]:
            ts = targets(medians, c)
            if ts:
                lines += targets_table(c, ts)
        procs = {s: self.extra.get(s, {}).get("seqwrite_processes") for s in shown}
        procs = {s: v[-1] for s, v in procs.items() if v}
        if procs:
            lines += ["", "Processes sampled during the seq write (/proc/PID/stat utime+stime over the run,"
                      " peak of VmRSS sampled every 100 ms; last run):"]
            for s, per in procs.items():
                if not per:
                    continue
                lines.append("  %-18s %s" % (s + ":", ", ".join("%s %s %.0f%% %.0f MiB" % (
                    p["role"], p["comm"], p["cpu_pct"], p["rss_peak_MiB"]) for p in per)))
        for s, ws in self.warnings.items():
            for w in ws.values():
                lines.append("warning: %s: %s (seen %d time%s)" % (s, w["message"], w["runs"], "s" if w["runs"] > 1 else ""))
        for s in systems:
            if s in unavailable:
                prefix = "coffer" if s in COFFER else s
                lines.append("%s: not available (%s: %s)" % (prefix, s, unavailable[s]))
        return "\n".join(lines)


def fmt(v):
    if v is None:
        return "-"
    if v >= 100:
        return "{:,.0f}".format(v)
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


def table(hdr, rows):
    widths = [max(len(str(r[i])) for r in [hdr] + rows) for i in range(len(hdr))]
    def line(r):
        return "| " + " | ".join(str(c).ljust(widths[i]) if i < 2 else str(c).rjust(widths[i])
                                 for i, c in enumerate(r)) + " |"
    return [line(hdr), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in rows]


def machine_info(h):
    mem = next((l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal:")), "0")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
    def ver(cmd):
        try:
            r = run(cmd, check=False, timeout=30)
            return last_line((r.stdout + r.stderr).strip().splitlines()[0]) if (r.stdout + r.stderr).strip() else ""
        except (OSError, subprocess.TimeoutExpired):
            return ""
    return {"nproc": NPROC, "mem_MiB": int(mem) // 1024, "cpu": cpu, "kernel": platform.release(),
            "os": ver(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
            "jdk_passthrough": " ".join([h.java[0]] + h.java[1]), "jdk_version": h.java_version(),
            "fio": ver(["fio", "--version"]), "sshfs": ver(["sh", "-c", "sshfs -V 2>&1 | grep -i 'sshfs version'"]),
            "ssh": ver(["ssh", "-V"]),
            "gocryptfs": ver(["gocryptfs", "-version"]), "gcc": ver(["gcc", "--version"]),
            "work_dir": str(h.work), "work_fs": ver(["findmnt", "-no", "FSTYPE", "-T", str(h.work)]),
            "coffer_bin": h.coffer_bin or h.coffer_missing}


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="bench/run", description="Side-by-side file-system benchmark.")
    ap.add_argument("--quick", action="store_true", help="1 run, 256 MiB seq, 2,000 files, small tarball")
    ap.add_argument("--systems", default=",".join(ALL_SYSTEMS), help="comma list of " + ",".join(ALL_SYSTEMS))
    ap.add_argument("--workloads", default=",".join(ALL_WORKLOADS), help="comma list of " + ",".join(ALL_WORKLOADS))
    ap.add_argument("--runs", type=int, default=0, help="runs (default 3, or 1 with --quick)")
    ap.add_argument("--encryption", choices=["on", "off"], default="on", help="off: fs create --no-encrypted")
    ap.add_argument("--coffer-server-opts", default="", help="extra arguments for `coffer server`")
    ap.add_argument("--coffer-mount-opts", default="", help="extra -o options for `coffer mount`")
    ap.add_argument("--coffer-admin-tls-opts", default="--tls-ca CA",
                    help="TLS arguments for `coffer fs create` against a TLS server; CA = the CA file")
    ap.add_argument("--coffer-bin", default="", help="the coffer launcher (default: bin/coffer of this repo)")
    ap.add_argument("--coffer-tls-cert", default="", help="server certificate, if certs issue names it oddly")
    ap.add_argument("--coffer-tls-key", default="", help="server key, if certs issue names it oddly")
    ap.add_argument("--passthrough-opts",
                    default="big_writes,max_write=131072,max_read=131072,use_ino,allow_other,"
                            "default_permissions,auto_cache",
                    help="FUSE options of the passthrough")
    ap.add_argument("--git-repo", default="", help="repository to clone (default ~/.pyenv, else this repo)")
    ap.add_argument("--quiet-wait", type=float, default=30.0,
                    help="seconds to wait for a quiet machine before each run (default 30)")
    ap.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up of each mount")
    ap.add_argument("--work", required=True, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    a.systems = [s for s in a.systems.split(",") if s]
    a.workloads = [w for w in a.workloads.split(",") if w]
    bad = [s for s in a.systems if s not in ALL_SYSTEMS] + [w for w in a.workloads if w not in ALL_WORKLOADS]
    if bad:
        ap.error("unknown system or workload: %s" % ", ".join(bad))
    # Keep the canonical workload order: seqread reads what seqwrite wrote.
    a.workloads = [w for w in ALL_WORKLOADS if w in a.workloads]
    return a


def main(argv):
    if argv[:1] == ["--worker"]:
        worker(argv[1], argv[2], int(argv[3]))
        return 0
    if argv[:1] == ["--cleanup"]:
        return cleanup_from_state(argv[1])
    if argv[:1] == ["--report"] and len(argv) == 2:
        return report_targets(argv[1])
    args = parse_args(argv)
    h = Harness(args)
    # SIGTERM/SIGHUP become SystemExit so that the finally below unmounts and stops everything.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, f: sys.exit(128 + s))
    try:
        return h.main()
    finally:
        h.owned.cleanup()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
