#!/usr/bin/env python3
"""The benchmark behind `bench/run`: times docker-credential-keyring against
references measured in the same run and writes a Markdown table.

Every figure is the wall time of real processes, spawned the way docker
spawns a helper (posix_spawn, request on stdin, answer on stdout). Each
scenario is measured interleaved with its reference (A, B, A, B, ...) so that
load from other users of the machine hits both alike; the ratio of medians is
the number that matters, absolute times are for orientation.

Python standard library only. Peak RSS comes from wait4()'s rusage.
"""

import argparse
import base64
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

DEVNULL = os.devnull


# --------------------------------------------------------------------------
# Spawning and timing


class Step:
    """One process: argv, environment, stdin file."""

    def __init__(self, argv, env, stdin=DEVNULL):
        exe = argv[0] if os.path.isabs(argv[0]) else shutil.which(argv[0], path=env.get("PATH"))
        if not exe:
            raise FileNotFoundError(argv[0])
        self.exe, self.argv, self.env, self.stdin = exe, argv, env, stdin

    def spawn(self):
        """Runs the process to completion; returns (ok, CPU time in ms: user + sys)."""
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, self.stdin, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, DEVNULL, os.O_WRONLY, 0),
            (os.POSIX_SPAWN_OPEN, 2, DEVNULL, os.O_WRONLY, 0),
        ]
        pid = os.posix_spawn(self.exe, self.argv, self.env, file_actions=actions)
        _, status, usage = os.wait4(pid, 0)
        return os.waitstatus_to_exitcode(status) == 0, (usage.ru_utime + usage.ru_stime) * 1e3

    def peak_rss(self):
        """Peak RSS in KiB through /usr/bin/time: a small parent, because after
        posix_spawn/fork the kernel counts the parent's pages in the child's
        maxrss until exec (so wait4 from Python would report Python's size)."""
        if not os.path.exists("/usr/bin/time"):
            return 0
        with tempfile.NamedTemporaryFile("r") as out, open(self.stdin, "rb") as stdin:
            subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out.name, self.exe] + self.argv[1:],
                           env=self.env, stdin=stdin, capture_output=True)
            try:
                return int(out.read().split()[-1])
            except (ValueError, IndexError):
                return 0

    def capture(self):
        with open(self.stdin, "rb") as stdin:
            p = subprocess.run(self.argv, env=self.env, stdin=stdin, capture_output=True)
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


class Case:
    """What one timed iteration runs: the steps of variant i % len(variants),
    back to back (a sweep is many steps), after an untimed `setup`."""

    def __init__(self, name, variants, setup=None, check=None, allow_fail=False):
        self.name = name
        self.variants = variants if isinstance(variants[0], list) else [variants]
        self.setup, self.check, self.allow_fail = setup, check, allow_fail

    def once(self, i):
        if self.setup:
            self.setup()
        steps = self.variants[i % len(self.variants)]
        cpu = 0.0
        ok = True
        start = time.perf_counter_ns()
        for step in steps:
            good, c = step.spawn()
            ok = ok and good
            cpu += c
        elapsed = time.perf_counter_ns() - start
        return elapsed / 1e6, cpu, ok


class Stats:
    def __init__(self, name, times, rss, error=None, cpu=()):
        self.name, self.times, self.rss, self.error = name, sorted(times), rss, error
        # CPU time (user + sys) of the measured processes: unlike wall time it
        # leaves out waiting for a core, so it stays stable on a busy machine
        # (it also leaves out the Secret Service daemon's work).
        self.cpu = statistics.median(cpu) if cpu else float("nan")

    @property
    def median(self):
        return statistics.median(self.times) if self.times else float("nan")

    def quantile(self, q):
        t = self.times
        if not t:
            return float("nan")
        k = (len(t) - 1) * q
        lo, hi = int(k), min(int(k) + 1, len(t) - 1)
        return t[lo] + (t[hi] - t[lo]) * (k - lo)

    def spread(self):
        """Interquartile range as p25–p75."""
        return f"{fmt_ms(self.quantile(0.25))}–{fmt_ms(self.quantile(0.75))}"


def fmt_ms(ms):
    if ms != ms:
        return "n/a"
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    if ms >= 10:
        return f"{ms:.1f} ms"
    return f"{ms:.2f} ms"


class Bench:
    def __init__(self, quick):
        self.quick = quick
        self.results = {}  # name -> Stats
        self.rows = []  # table rows, in order
        self.notes = []

    def measure(self, cases, runs=None, budget_s=None):
        """Measures `cases` interleaved; stores and returns their Stats."""
        runs = runs or (3 if self.quick else 30)
        budget_s = budget_s or (1.0 if self.quick else 6.0)
        live = []
        for case in cases:
            if case.check:
                problem = case.check()
                if problem:
                    print(f"  {case.name}: CHECK FAILED: {problem}", file=sys.stderr)
                    self.results[case.name] = Stats(case.name, [], 0, f"check failed: {problem}")
                    continue
            live.append(case)
        if not live:
            return [self.results[c.name] for c in cases]
        # Warm-up (page cache, daemon caches), also sizes the run count.
        per_round = 0.0
        for case in live:
            t, _, ok = case.once(0)
            per_round += t / 1000
        n = max(3, min(runs, int(budget_s / max(per_round, 1e-6))))
        times = {c.name: [] for c in live}
        cpu = {c.name: [] for c in live}
        failed = {c.name: 0 for c in live}
        for i in range(n):
            for case in live:
                t, c, ok = case.once(i)
                times[case.name].append(t)
                cpu[case.name].append(c)
                if not ok:
                    failed[case.name] += 1
        for case in live:
            err = None
            if failed[case.name] and not case.allow_fail:
                err = f"{failed[case.name]} of {n} runs exited non-zero"
            s = Stats(case.name, times[case.name], max(st.peak_rss() for st in case.variants[0][:3]), err, cpu[case.name])
            self.results[case.name] = s
            print(
                f"  {case.name:<46} {fmt_ms(s.median):>10}  [{s.spread()}]  n={n}"
                + (f"  ERROR: {err}" if err else ""),
                file=sys.stderr,
            )
        return [self.results[c.name] for c in cases]

    def row(self, section, name, ref=None, target=None, note=""):
        """A table line; `name` and `ref` are resolved now (the reference
        measured in the same interleaved group), or at the end if not measured yet."""
        self.rows.append((section, name, self.results.get(name, name), ref, self.results.get(ref, ref), target, note))

    # ----------------------------------------------------------------------
    # Output

    def table(self):
        lines = [
            "| scenario | median | spread (p25–p75) | runs | reference (median) | ratio | target | | CPU | CPU ratio |",
            "|---|---:|---:|---:|---|---:|---:|---|---:|---:|",
        ]
        section = None
        misses = 0
        for sec, name, s, ref, ref_s, target, note in self.rows:
            if sec != section:
                lines.append(f"| **{sec}** | | | | | | | | | |")
                section = sec
            if isinstance(s, str):
                s = self.results.get(s)
            if s is None or s.error or not s.times:
                why = s.error if s is not None and s.error else note or "n/a"
                lines.append(f"| {name} | n/a | | | | | | {why} | | |")
                continue
            if isinstance(ref_s, str):
                ref_s = self.results.get(ref_s)
            ratio = verdict = ref_txt = cpu_ratio = ""
            if ref_s is not None and ref_s.times and not ref_s.error:
                r = s.median / ref_s.median
                ratio = f"{r:.2f}×"
                ref_txt = f"{ref} ({fmt_ms(ref_s.median)})"
                cpu_ratio = f"{s.cpu / ref_s.cpu:.2f}×" if ref_s.cpu > 0 else ""
                if target is not None:
                    if r <= target:
                        verdict = "ok"
                    else:
                        verdict = f"**MISS** by {r / target:.2f}×"
                        misses += 1
            elif ref:
                ref_txt = f"{ref} (n/a)"
            tgt = f"≤ {target:g}×" if target is not None else ""
            extra = f" {note}" if note else ""
            lines.append(
                f"| {name} | {fmt_ms(s.median)} | {s.spread()} | {len(s.times)} | {ref_txt} | {ratio} | {tgt} | {verdict}{extra} | {fmt_ms(s.cpu)} | {cpu_ratio} |"
            )
        return "\n".join(lines), misses


# --------------------------------------------------------------------------
# Scenarios


def key(i):
    return f"reg-{i:04d}.example.com"


class Fixture:
    """A temp directory with input files, written once."""

    def __init__(self, root):
        self.root = root
        self.inputs = os.path.join(root, "inputs")
        os.makedirs(self.inputs, exist_ok=True)

    def file(self, name, text):
        path = os.path.join(self.inputs, name)
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write(text)
        return path

    def store_input(self, server, user, secret):
        body = json.dumps({"ServerURL": server, "Username": user, "Secret": secret})
        return self.file(f"store-{server}-{user}-{secret}.json", body)

    def url_input(self, server):
        return self.file(f"url-{server}", server)


def base_env(home_root, extra=None):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.path.join(home_root, "home"),
        "XDG_DATA_HOME": os.path.join(home_root, "data"),
        "XDG_CONFIG_HOME": os.path.join(home_root, "config"),
        "LANG": "C.UTF-8",
    }
    for var in ("DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"):
        if os.environ.get(var):
            env[var] = os.environ[var]
    for d in ("home", "data", "config"):
        os.makedirs(os.path.join(home_root, d), mode=0o700, exist_ok=True)
    env.update(extra or {})
    return env


class Helper:
    """A credential helper binary (ours or a peer) in one environment."""

    def __init__(self, fx, label, binary, env, list_keys=None):
        self.fx, self.label, self.binary, self.env = fx, label, binary, env
        self.stored = 0
        # Which keys a `list` answer should contain (None: don't check the count).
        self.list_keys = list_keys

    def step(self, verb, stdin=DEVNULL):
        return Step([self.binary, verb], self.env, stdin)

    def store_step(self, server, user="bench", secret="s3cret"):
        return self.step("store", self.fx.store_input(server, user, secret))

    def get_step(self, server):
        return self.step("get", self.fx.url_input(server))

    def erase_step(self, server):
        return self.step("erase", self.fx.url_input(server))

    def populate(self, n):
        """Stores keys [stored, n) through the helper's own `store`."""
        start = time.monotonic()
        for i in range(self.stored, n):
            step = self.store_step(key(i), f"user{i}", f"secret-{i}")
            code, out, err = step.capture() if i == self.stored else (None, "", "")
            if code is None:
                ok, _ = step.spawn()
                code = 0 if ok else 1
            if code != 0:
                raise RuntimeError(f"{self.label}: store {key(i)} failed: {out.strip()} {err.strip()}")
        if n > self.stored:
            print(f"  ({self.label}: stored {n - self.stored} credentials in {time.monotonic() - start:.1f} s)", file=sys.stderr)
        self.stored = max(self.stored, n)

    def check_get(self, server, user):
        def check():
            code, out, err = self.get_step(server).capture()
            if code != 0:
                return f"exit {code}: {out.strip()[:200]} {err.strip()[:200]}"
            try:
                if json.loads(out).get("Username") != user:
                    return f"unexpected answer {out.strip()[:200]}"
            except ValueError:
                return f"not JSON: {out.strip()[:200]}"
            return None

        return check

    def check_list(self, n, env=None):
        def check():
            step = self.step("list", self.fx.file("unused", "unused"))
            if env is not None:
                step = Step(step.argv, env, step.stdin)
            code, out, err = step.capture()
            if code != 0:
                return f"exit {code}: {out.strip()[:200]} {err.strip()[:200]}"
            try:
                got = json.loads(out)
            except ValueError:
                return f"not JSON: {out.strip()[:200]}"
            mine = [k for k in got if k.startswith("reg-")]
            if len(mine) != n:
                return f"expected {n} credentials, got {len(mine)}"
            return None

        return check

    def sweep(self, n):
        """docker build: `list`, then `get` for each of the n keys."""
        return [self.step("list", self.fx.file("unused", "unused"))] + [self.get_step(key(i)) for i in range(n)]


def machine_info(ours):
    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
        except Exception:
            return "n/a"

    cpu = "n/a"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass

    def pkg(name):
        v = out(["dpkg-query", "-W", "-f=${Version}", name])
        return v if v and v != "n/a" else "n/a"

    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        ("date (UTC)", time.strftime("%Y-%m-%d %H:%M", time.gmtime())),
        ("nproc", str(os.cpu_count())),
        ("CPU", cpu),
        ("load average at start", load),
        ("kernel", platform.release()),
        ("OS", out(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"])),
        ("docker-credential-keyring", out([ours, "version"])),
        ("rustc", out(["rustc", "-V"])),
        ("gnome-keyring", pkg("gnome-keyring")),
        ("libsecret-tools (secret-tool)", pkg("libsecret-tools")),
        ("golang-docker-credential-helpers", pkg("golang-docker-credential-helpers")),
        ("pass", pkg("pass")),
        ("python", platform.python_version()),
    ]


def supports(binary, env, command, needle):
    """Whether `binary command --help` exits 0 and mentions `needle` (export and
    import land on another branch; until then they are stubs without options)."""
    p = subprocess.run([binary, command, "--help"], env=env, capture_output=True, text=True)
    return p.returncode == 0 and needle in p.stdout


def setup_pass(root):
    """A throw-away GnuPG key (no passphrase) and pass store; None if impossible."""
    if not (shutil.which("pass") and shutil.which("gpg") and shutil.which("docker-credential-pass")):
        return None, "pass, gpg or docker-credential-pass is not installed"
    gnupg = os.path.join(root, "gnupg")
    os.makedirs(gnupg, mode=0o700, exist_ok=True)
    env = base_env(os.path.join(root, "pass-home"), {"GNUPGHOME": gnupg, "PASSWORD_STORE_DIR": os.path.join(root, "pass-store")})
    uid = "dck bench <bench@example.invalid>"
    gen = subprocess.run(
        ["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", uid, "default", "default", "never"],
        env=env, capture_output=True, text=True,
    )
    if gen.returncode != 0:
        return None, f"gpg key generation failed: {gen.stderr.strip()[:200]}"
    init = subprocess.run(["pass", "init", "bench@example.invalid"], env=env, capture_output=True, text=True)
    if init.returncode != 0:
        return None, f"pass init failed: {init.stderr.strip()[:200]}"
    return env, None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="the docker-credential-keyring binary to measure")
    ap.add_argument("--floor", required=True, help="a trivial static binary (the process floor)")
    ap.add_argument("--floor-kind", default="static", help="how the floor was linked, for the report")
    ap.add_argument("--durable", help="a static binary that writes, fsyncs and renames a tiny file into DIR")
    ap.add_argument("--quick", action="store_true", help="few runs, small N: keeps the script working in CI")
    ap.add_argument("--out", help="write the Markdown report here")
    ap.add_argument("--no-peers", action="store_true", help="skip docker-credential-secretservice and -pass")
    args = ap.parse_args()

    quick = args.quick
    levels = [1, 10] if quick else [1, 100, 1000]
    sweep_n = 10 if quick else 100
    big_n = 200 if quick else 10000
    b = Bench(quick)
    ours = os.path.abspath(args.bin)
    root = tempfile.mkdtemp(prefix="dck-bench-")
    fx = Fixture(root)
    have_ss = bool(os.environ.get("DBUS_SESSION_BUS_ADDRESS")) and os.environ.get("DCK_SECRET_SERVICE") == "1"
    info = machine_info(ours)
    started = time.monotonic()
    try:
        b.no_peers = args.no_peers
        run_all(b, args, fx, root, ours, levels, sweep_n, big_n, have_ss)
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env={**os.environ, "GNUPGHOME": os.path.join(root, "gnupg")}, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)

    table, misses = b.table()
    size = os.path.getsize(ours)
    head = [
        "# docker-credential-keyring benchmark" + (" (quick mode: few runs, small N; not for comparison)" if quick else ""),
        "",
        f"Produced by `bench/run{' --quick' if quick else ''}` in {time.monotonic() - started:.0f} s. "
        "Wall time per operation, each a new process as docker runs it; each scenario is measured "
        "interleaved with its reference, and the ratio is of the two medians (targets are checked on it). "
        "CPU is the median user+sys time of the measured processes alone: it leaves out waiting for a core "
        "(stable on a busy machine) and the Secret Service daemon's own work.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
    ] + [f"| {k} | {v} |" for k, v in info] + [
        f"| binary measured | `{os.path.relpath(ours)}`, {size / 1048576:.2f} MiB ({size} bytes) |",
        "",
        "## Results",
        "",
        table,
        "",
    ]
    rss_rows = ["## Peak RSS and size", "", "| what | value | target | |", "|---|---:|---:|---|"]
    for name in ["ours: version", "file: get (N=1)", f"file: list (N={levels[-1]})", "secret-service: get (N=1)", f"secret-service: list (N={levels[-1]})", "secretservice (upstream): get (N=1)", "secret-tool lookup (N=1)"]:
        s = b.results.get(name)
        if s and s.times and not s.error:
            mib = s.rss / 1024
            tgt, verdict = ("< 8 MiB", "ok" if mib < 8 else "**MISS**") if "get" in name and name.startswith(("file", "secret-service")) else ("", "")
            misses += verdict == "**MISS**"
            rss_rows.append(f"| peak RSS, {name} | {mib:.1f} MiB | {tgt} | {verdict} |")
    stripped = "stripped" if b"symtab" not in open(ours, "rb").read() else "NOT stripped"
    size_ok = size < 6 * 1048576
    misses += not size_ok
    rss_rows.append(f"| binary size ({stripped}) | {size / 1048576:.2f} MiB | < 6 MiB | {'ok' if size_ok else '**MISS**'} |")
    notes = ["", "## Notes", ""] + [f"- {n}" for n in b.notes] if b.notes else []
    report = "\n".join(head + rss_rows + notes) + "\n"
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)
        print(f"wrote {args.out}", file=sys.stderr)
    errors = [s.name for s in b.results.values() if s.error]
    print(f"{misses} target(s) missed; {len(errors)} scenario(s) n/a or failed", file=sys.stderr)
    # Misses are reported, never fatal (a benchmark, not a test); a scenario of
    # ours that cannot run at all is a broken benchmark or a broken binary.
    # (export/import are reported but not fatal: they land from another branch
    # and the input format assumed here may need adjusting then.)
    ours_failed = [n for n in errors if n.startswith(("ours:", "file:", "secret-service:", "check of", "audit",
                                                      "migrate", "kubelet-", "export --merge"))]
    if ours_failed:
        print(f"bench: these scenarios of ours failed: {', '.join(ours_failed)}", file=sys.stderr)
        return 1
    return 0


class LocalRegistry:
    """distribution's `docker-registry` with htpasswd auth, as
    tests/it/common/registry.rs launches it, on plain HTTP (our commands allow
    it for loopback addresses). It listens on every address of the port so
    that 127.0.0.1 ... 127.0.0.N (all loopback on Linux) are N distinct
    registries to `check`; the password is a throw-away one."""

    USER, PASSWORD = "bench", "bench-registry-pw"

    def __init__(self, root):
        self.dir = os.path.join(root, "registry")
        os.makedirs(self.dir, exist_ok=True)
        htpasswd = os.path.join(self.dir, "htpasswd")
        subprocess.run(["htpasswd", "-B", "-i", "-c", htpasswd, self.USER], input=self.PASSWORD.encode(),
                       capture_output=True, check=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        config = os.path.join(self.dir, "config.yml")
        with open(config, "w") as f:
            f.write(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {self.dir}/data\n"
                    f"http:\n  addr: 0.0.0.0:{self.port}\nauth:\n  htpasswd:\n    realm: bench\n    path: {htpasswd}\n")
        self.log = open(os.path.join(self.dir, "registry.log"), "w")
        self.proc = subprocess.Popen(["docker-registry", "serve", config], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.close()
                    raise RuntimeError(f"docker-registry did not listen on port {self.port}: "
                                       + open(os.path.join(self.dir, "registry.log")).read()[-500:])
                time.sleep(0.05)

    def host(self, i=0):
        """The i-th distinct registry: 127.0.0.(i+1):PORT."""
        return f"127.0.0.{i + 1}:{self.port}"

    def close(self):
        self.proc.terminate()
        self.proc.wait()
        self.log.close()


def exits(step, code=0, needle=None):
    """A Case check: `step` exits with `code` (and prints `needle` on stdout)."""
    def check():
        got, out, err = step.capture()
        if got != code or (needle is not None and needle not in out):
            return f"exit {got}: {out.strip()[:200]} {err.strip()[:200]}"
        return None

    return check


def kubelet_phase(b, fx, root, ours, floor):
    """The kubelet's exec credential provider: one request per image pull,
    start-up like `get` (same store, same key: the ratio should be about 1)."""
    env = base_env(os.path.join(root, "kubelet"), {"DOCKER_CREDENTIAL_KEYRING_STORE": "file"})
    h = Helper(fx, "kubelet", ours, env)
    h.populate(1)
    req = fx.file("kubelet-request", json.dumps({"kind": "CredentialProviderRequest",
                                                 "apiVersion": "credentialprovider.kubelet.k8s.io/v1",
                                                 "image": f"{key(0)}/team/app:1"}) + "\n")
    call = Step([ours, "kubelet-credential-provider"], env, req)
    print("== kubelet credential provider", file=sys.stderr)
    kube = Case("kubelet-credential-provider (N=1)", [call], check=exits(call, 0, '"username":"user0"'))
    get = Case("file: get, same key (N=1)", [h.get_step(key(0))], check=h.check_get(key(0), "user0"))
    b.measure([kube, get, floor])
    sec = "ours, kubelet credential provider (file store)"
    b.row(sec, kube.name, get.name, note="(≈ 1 expected: same start-up, same lookup)")
    b.row(sec, kube.name, "static floor")


def network_phase(b, fx, root, ours, floor, big_n, have_ss):
    """`check`, `audit` and `migrate`: the commands that talk to a registry or
    another helper, each against the thing it talks to."""
    if not (shutil.which("docker-registry") and shutil.which("htpasswd")):
        b.notes.append("check/audit not measured: docker-registry or htpasswd is missing (tests/packages).")
    else:
        registry = LocalRegistry(root)
        try:
            check_phase(b, fx, root, ours, registry, 10 if b.quick else 100)
            audit_phase(b, fx, root, ours, registry, big_n)
        finally:
            registry.close()
    migrate_phase(b, fx, root, ours, 10 if b.quick else 1000, have_ss)


def check_phase(b, fx, root, ours, registry, n):
    env = base_env(os.path.join(root, "check"), {"DOCKER_CREDENTIAL_KEYRING_STORE": "file"})
    h = Helper(fx, "check", ours, env)
    for i in range(n):
        ok, _ = h.store_step(registry.host(i), registry.USER, registry.PASSWORD).spawn()
        if not ok:
            raise RuntimeError(f"check: store {registry.host(i)} failed")
    # The reference: curl asking the same n registries' /v2/ with the same
    # credentials, as many at a time as `check` (check::CONCURRENCY, 16).
    netrc = fx.file(f"netrc-{n}", "".join(f"machine 127.0.0.{i + 1} login {registry.USER} password {registry.PASSWORD}\n"
                                          for i in range(n)))
    urls = []
    for i in range(n):
        urls += ["-o", DEVNULL, f"http://{registry.host(i)}/v2/"]
    curl = Step(["curl", "-sf", "--parallel", "--parallel-max", "16", "--netrc-file", netrc] + urls, env)
    ours_check = Step([ours, "check"], env)
    print(f"== check of {n}", file=sys.stderr)
    chk = Case(f"check of {n} (one local registry each)", [ours_check], check=exits(ours_check))
    ref = Case(f"curl: /v2/ of {n}, 16 at a time", [curl], check=exits(curl))
    b.measure([chk, ref], runs=5 if b.quick else 20, budget_s=None if b.quick else 20)
    sec = "ours, network and cluster commands"
    b.row(sec, chk.name, ref.name, note="(distribution with htpasswd on 127.0.0.x, plain HTTP)")


def audit_phase(b, fx, root, ours, registry, n):
    env = base_env(os.path.join(root, "audit"), {"DOCKER_CREDENTIAL_KEYRING_STORE": "file"})
    h = Helper(fx, "audit", ours, env)
    host = registry.host(0)
    ok, _ = h.store_step(host, registry.USER, registry.PASSWORD).spawn()
    if not ok:
        raise RuntimeError("audit: store failed")
    auth = base64.b64encode(f"{registry.USER}:{registry.PASSWORD}".encode()).decode()
    payload = base64.b64encode(json.dumps({"auths": {host: {"username": registry.USER, "password": registry.PASSWORD,
                                                            "auth": auth}}}).encode()).decode()
    items = [{"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
              "metadata": {"name": f"pull-{i}", "namespace": f"team-{i % 100}", "resourceVersion": "7"},
              "data": {".dockerconfigjson": payload}} for i in range(n)]
    doc = fx.file(f"audit-list-{n}.json", json.dumps({"apiVersion": "v1", "kind": "List",
                                                      "metadata": {"resourceVersion": ""}, "items": items}))
    online = Step([ours, "audit", doc], env)
    offline = Step([ours, "audit", "--offline", doc], env)
    jq = Step(["jq", "[.items[].data[\".dockerconfigjson\"] | @base64d | fromjson] | length", doc], env)
    print(f"== audit of a {n}-Secret List", file=sys.stderr)
    on = Case(f"audit of a {n}-entry List (1 distinct credential)", [online], check=exits(online))
    off = Case(f"audit --offline of a {n}-entry List", [offline], check=exits(offline))
    ref = Case(f"jq: decode the {n} payloads", [jq], check=exits(jq, 0, str(n)))
    b.measure([on, off, ref], runs=5 if b.quick else 15)
    sec = "ours, network and cluster commands"
    b.row(sec, on.name, off.name, note="(the difference: one registry round trip)")
    b.row(sec, off.name, ref.name)


def migrate_phase(b, fx, root, ours, n, have_ss):
    sec = "ours, network and cluster commands"
    name = f"migrate --from secretservice of {n}"
    up_bin = shutil.which("docker-credential-secretservice")
    if not (have_ss and up_bin and not b.no_peers):
        b.row(sec, name, note="n/a: needs the private Secret Service and docker-credential-secretservice (not with --no-peers)")
        return
    up = Helper(fx, "secretservice (for migrate)", up_bin, base_env(os.path.join(root, "migrate-up")))
    # secretservice keeps one collection per daemon, whatever HOME says: the
    # Secret Service phase may have stored these keys already (storing 1000
    # again takes minutes).
    code, out, _ = up.step("list", fx.file("unused", "unused")).capture()
    if code == 0 and all(key(i) in json.loads(out or "{}") for i in range(n)):
        up.stored = n
    up.populate(n)
    # Every run starts again from docker's config naming secretservice and an
    # empty file store; secretservice keeps its credentials (no --erase-old).
    env = base_env(os.path.join(root, "migrate"), {"DOCKER_CREDENTIAL_KEYRING_STORE": "file",
                                                   "DOCKER_CONFIG": os.path.join(root, "migrate", "docker"),
                                                   "REGISTRY_AUTH_FILE": os.path.join(root, "migrate", "auth.json")})

    def fresh():
        for d in (env["DOCKER_CONFIG"], os.path.join(env["XDG_DATA_HOME"], "docker-credential-keyring"),
                  os.path.join(env["XDG_CONFIG_HOME"], "docker-credential-keyring")):
            shutil.rmtree(d, ignore_errors=True)
        os.makedirs(env["DOCKER_CONFIG"], mode=0o700)
        with open(os.path.join(env["DOCKER_CONFIG"], "config.json"), "w") as f:
            f.write('{"credsStore": "secretservice"}\n')

    step = Step([ours, "migrate", "--from", "secretservice"], env)

    def migrates():
        fresh()
        problem = exits(step)()
        if problem:
            return problem
        got = json.loads(Step([ours, "ls", "--json"], env).capture()[1] or "[]")
        mine = [row for row in got if "reg-" in json.dumps(row)]
        return None if len(mine) >= n else f"migrated {len(mine)} of {n} credentials"

    print(f"== migrate of {n} from docker-credential-secretservice", file=sys.stderr)
    mig = Case(name, [step], setup=fresh, check=migrates)
    ref = Case(f"secretservice (upstream): list + {n} get", [up.sweep(n)])
    b.measure([mig, ref], runs=3, budget_s=1 if b.quick else 60)
    b.row(sec, mig.name, ref.name, note="(into the file store; secretservice's list counts every item on the daemon)")


def put_case(name, h):
    """`store` of one credential, alternating two secrets so every run changes it."""
    return Case(name, [[h.store_step("bench-store.example.com", "bench", "secret-a")],
                       [h.store_step("bench-store.example.com", "bench", "secret-b")]])


def erase_case(name, h):
    """`erase` of an existing credential (stored again, untimed, before each run)."""
    return Case(name, [h.erase_step("bench-erase.example.com")], setup=h.store_step("bench-erase.example.com").spawn)


def run_all(b, args, fx, root, ours, levels, sweep_n, big_n, have_ss):
    floor_env = base_env(os.path.join(root, "floor"))
    true_ = Case("/bin/true", [Step(["/bin/true"], floor_env)])
    floor = Case("static floor", [Step([os.path.abspath(args.floor)], floor_env)])
    true_sweep = Case(f"/bin/true × {sweep_n + 1}", [[Step(["/bin/true"], floor_env)] * (sweep_n + 1)])
    unused = fx.file("unused", "unused")
    durable = None
    if args.durable:
        ddir = os.path.join(root, "durable")
        os.makedirs(ddir, exist_ok=True)
        durable = Case("durable-write floor", [Step([os.path.abspath(args.durable), ddir], floor_env)])

    print("== process floor", file=sys.stderr)
    file_env = base_env(os.path.join(root, "file"), {"DOCKER_CREDENTIAL_KEYRING_STORE": "file"})
    version = Case("ours: version", [Step([ours, "version"], file_env)])
    b.measure([true_, floor, version] + ([durable] if durable else []))
    sec = "process floor and start-up"
    b.row(sec, "/bin/true")
    b.row(sec, "static floor", "/bin/true", note=f"(`fn main(){{}}`, {args.floor_kind})")
    b.row(sec, "ours: version", "static floor", 2)
    if durable:
        b.row(sec, durable.name, "static floor", note="(write 3 bytes, fsync, rename, fsync dir)")

    # ---- ours, file store
    h = Helper(fx, "file", ours, file_env)
    sec = "ours, file store"
    for n in levels:
        print(f"== ours, file store, N={n}", file=sys.stderr)
        h.populate(n)
        get = Case(f"file: get (N={n})", [h.get_step(key(0))], check=h.check_get(key(0), "user0"))
        lst = Case(f"file: list (N={n})", [h.step("list", unused)], check=h.check_list(n))
        put, erase = put_case(f"file: store (N={n})", h), erase_case(f"file: erase (N={n})", h)
        b.measure([get, lst, put, erase, floor] + ([durable] if durable else []))
        b.row(sec, get.name, "static floor", 3)
        b.row(sec, lst.name, "static floor", 5 if n == levels[-1] else None)
        b.row(sec, put.name, "static floor", 10, "(fsync)")
        if durable:
            b.row(sec, put.name, durable.name)
        b.row(sec, erase.name, "static floor")
        if n == sweep_n or (n > sweep_n and not b.results.get(f"file: docker-build sweep of {sweep_n}")):
            sw = Case(f"file: docker-build sweep of {sweep_n}", [h.sweep(sweep_n)])
            b.measure([sw, true_sweep], runs=10 if not b.quick else 2)
            b.row(sec, sw.name, true_sweep.name, 2)

    kubelet_phase(b, fx, root, ours, floor)

    # ---- Secret Service: ours, secret-tool and upstream side by side, same daemon
    if have_ss:
        secret_service_phase(b, fx, root, ours, levels, sweep_n, floor, true_sweep, unused)
    else:
        b.notes.append("No Secret Service in this run (run through `bench/run`, which starts one): its rows are n/a.")

    # ---- export / import (built on another branch; n/a until merged)
    sec = "ours, export and import (file store)"
    ex_env = base_env(os.path.join(root, "export"), {"DOCKER_CREDENTIAL_KEYRING_STORE": "file"})
    exp_name, imp_name = f"export --format secret ({big_n})", f"import ({big_n})"
    merge_name = f"export --merge into a {big_n}-entry Secret"
    if supports(ours, ex_env, "export", "--format") and supports(ours, ex_env, "import", "<"):
        print(f"== export/import of {big_n}", file=sys.stderr)
        auths = {}
        for i in range(big_n):
            user, pw = f"user{i}", f"secret-{i}"
            auths[key(i)] = {"username": user, "password": pw, "auth": base64.b64encode(f"{user}:{pw}".encode()).decode()}
        src = fx.file("import.json", json.dumps({"auths": auths}))
        data_dir = os.path.join(ex_env["XDG_DATA_HOME"], "docker-credential-keyring")
        def import_works():
            shutil.rmtree(data_dir, ignore_errors=True)
            code, out, err = Step([ours, "import", src], ex_env).capture()
            return None if code == 0 else f"import exited {code}: {(out + err).strip()[:200]}"

        imp = Case(imp_name, [Step([ours, "import", src], ex_env)], setup=lambda: shutil.rmtree(data_dir, ignore_errors=True),
                   check=import_works)
        b.measure([imp, floor], runs=5)
        Step([ours, "import", src], ex_env).spawn()
        exp = Case(exp_name, [Step([ours, "export", "--format", "secret"], ex_env)])
        # --merge of one registry into a deployed Secret of big_n entries
        # (none of them ours: another username each), against exporting
        # big_n: both read and write a document of that size.
        deployed = {key(i): {"username": f"other{i}", "password": f"other-{i}",
                             "auth": base64.b64encode(f"other{i}:other-{i}".encode()).decode()} for i in range(big_n)}
        deployed.pop(key(0))
        secret = fx.file("merge-secret.json", json.dumps({
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": "pull-secret", "namespace": "default", "resourceVersion": "7"},
            "data": {".dockerconfigjson": base64.b64encode(json.dumps({"auths": deployed}).encode()).decode()}}))
        merge_step = Step([ours, "export", "--merge", secret, "--registry", key(0)], ex_env)
        merge = Case(merge_name, [merge_step], check=exits(merge_step, 0, "Secret"))
        b.measure([exp, merge, floor], runs=5)
        b.row(sec, exp_name, "static floor")
        b.row(sec, imp_name, "static floor")
        b.row(sec, merge_name, exp_name)
    else:
        b.row(sec, exp_name, note="n/a: this build has no `export`/`import` command yet")
        b.row(sec, imp_name, note="n/a: this build has no `export`/`import` command yet")

    # ---- reading hostile documents: 1 MiB nested as deep as each form allows
    # is refused by the depth pre-scan before a parser reads it (before it,
    # 128 KB of YAML `[` took half a minute)
    sec = "ours, import refusing 1 MiB of nesting (the reader's depth pre-scan)"
    if supports(ours, ex_env, "import", "<"):
        mib = 1 << 20
        forms = [
            ("JSON [", '{"a":' + "[" * (mib - 5)),
            ("YAML flow [", "a: " + "[" * (mib - 3)),
            ("YAML flow {a:", "a: " + "{a: " * ((mib - 3) // 4)),
            ("YAML block - ", "- " * (mib // 2)),
            ("YAML indentation", "".join(" " * i + "a:\n" for i in range(1445))),
        ]
        nest = []
        for i, (form, text) in enumerate(forms):
            path = fx.file(f"nested-{i}", text)

            def refused(path=path):
                code, out, err = Step([ours, "import", "-"], ex_env, path).capture()
                ok = code == 1 and "nesting deeper than" in err
                return None if ok else f"import exited {code}: {(out + err).strip()[:200]}"

            nest.append(Case(f"import: 1 MiB, {form}", [Step([ours, "import", "-"], ex_env, path)],
                             check=refused, allow_fail=True))
        b.measure(nest + [floor], runs=5)
        for c in nest:
            b.row(sec, c.name, "static floor")

    network_phase(b, fx, root, ours, floor, big_n, have_ss)

    if not args.no_peers:
        pass_phase(b, fx, root, sweep_n, floor, true_sweep, unused)


def secret_service_phase(b, fx, root, ours, levels, sweep_n, floor, true_sweep, unused):
    env = base_env(os.path.join(root, "ss"), {
        "DOCKER_CREDENTIAL_KEYRING_STORE": "secret-service",
        "DOCKER_CREDENTIAL_KEYRING_SERVICE": f"dck-bench-{os.getpid()}",
    })
    h = Helper(fx, "secret-service", ours, env)
    up_bin = shutil.which("docker-credential-secretservice")
    peers = up_bin and not b.no_peers
    up = Helper(fx, "secretservice (upstream)", up_bin, base_env(os.path.join(root, "upstream-ss"))) if peers else None
    if not peers:
        b.notes.append("docker-credential-secretservice not measured (not installed or --no-peers).")
    # secret-tool's own item on the same daemon.
    st_argv = ["secret-tool", "store", "--label=dck bench", "service", "dck-bench-ref", "key", "k"]
    Step(st_argv, env, fx.file("st-secret", "s3cret")).capture()
    sec = "Secret Service (gnome-keyring, same daemon for every row)"
    up_levels = levels if not b.quick else levels[:1]
    for n in levels:
        print(f"== Secret Service, N={n}", file=sys.stderr)
        h.populate(n)
        if up and n in up_levels:
            up.populate(n)
        nobus = dict(env, DBUS_SESSION_BUS_ADDRESS="unix:path=/nonexistent/dck-bench-bus")
        get = Case(f"secret-service: get (N={n})", [h.get_step(key(0))], check=h.check_get(key(0), "user0"))
        lookup = Case(f"secret-tool lookup (N={n})", [Step(["secret-tool", "lookup", "service", "dck-bench-ref", "key", "k"], env)])
        # The no-bus check proves `list` never talks to the keyring.
        lst = Case(f"secret-service: list (N={n})", [h.step("list", unused)], check=h.check_list(n, nobus))
        put = put_case(f"secret-service: store (N={n})", h)
        write = Case(f"secret-tool store (N={n})", [[Step(st_argv, env, fx.file("st-secret-a", "secret-a"))],
                                                     [Step(st_argv, env, fx.file("st-secret-b", "secret-b"))]])
        erase = erase_case(f"secret-service: erase (N={n})", h)
        up_cases = []
        if up and n in up_levels:
            up_get = Case(f"secretservice (upstream): get (N={n})", [up.get_step(key(0))], check=up.check_get(key(0), "user0"))
            up_put = put_case(f"secretservice (upstream): store (N={n})", up)
            up_erase = erase_case(f"secretservice (upstream): erase (N={n})", up)
            up_cases = [up_get, up_put, up_erase]
        b.measure([get, lookup, put, write, erase, floor] + up_cases)
        b.row(sec, get.name, lookup.name, 0.8)
        if up_cases:
            # Issue 27: a `get` at most a quarter of the Debian helper's.
            b.row(sec, get.name, up_cases[0].name, 0.25)
        b.row(sec, put.name, write.name)
        b.row(sec, erase.name, "static floor")
        for c in up_cases:
            b.row(sec, c.name, lookup.name if "get" in c.name else write.name if "store" in c.name else "static floor")
        b.measure([lst, floor])
        b.row(sec, lst.name, "static floor", 5 if n == levels[-1] else None, "(checked with no bus: no keyring call)")
        if up and n in up_levels:
            up_lst = Case(f"secretservice (upstream): list (N={n})", [up.step("list", unused)])
            b.measure([up_lst], runs=10, budget_s=3 if b.quick else 12)
            b.row(sec, up_lst.name, lst.name)
        if n == sweep_n or (n > sweep_n and not b.results.get(f"secret-service: docker-build sweep of {sweep_n}")):
            sw = Case(f"secret-service: docker-build sweep of {sweep_n}", [h.sweep(sweep_n)])
            cases = [sw, true_sweep]
            up_sw_name = f"secretservice (upstream): docker-build sweep of {sweep_n}"
            if up and up.stored >= sweep_n:
                cases.append(Case(up_sw_name, [up.sweep(sweep_n)]))
            b.measure(cases, runs=10 if not b.quick else 2, budget_s=40)
            b.row(sec, sw.name, true_sweep.name)
            b.row(sec, sw.name, up_sw_name, 0.2)
            if len(cases) == 3:
                b.row(sec, up_sw_name, true_sweep.name)
    if b.quick:
        b.notes.append("Quick mode: docker-credential-secretservice measured at N=1 only, so the sweep ratio to it is n/a.")


def pass_phase(b, fx, root, sweep_n, floor, true_sweep, unused):
    sec = "docker-credential-pass (upstream)"
    if b.quick:
        b.notes.append("Quick mode: docker-credential-pass skipped (GnuPG key generation).")
        return
    env, why = setup_pass(root)
    if env is None:
        b.row(sec, "pass (upstream): get (N=1)", note=f"n/a: {why}")
        b.notes.append(f"docker-credential-pass skipped: {why}")
        return
    h = Helper(fx, "pass", shutil.which("docker-credential-pass"), env)
    for n in [1, 100]:
        print(f"== docker-credential-pass, N={n}", file=sys.stderr)
        h.populate(n)
        get = Case(f"pass (upstream): get (N={n})", [h.get_step(key(0))], check=h.check_get(key(0), "user0"))
        lst = Case(f"pass (upstream): list (N={n})", [h.step("list", unused)])
        put = put_case(f"pass (upstream): store (N={n})", h)
        b.measure([get, lst, put, floor], budget_s=8)
        for c in (get, lst, put):
            b.row(sec, c.name, "static floor")
        if n >= sweep_n:
            sw = Case(f"pass (upstream): docker-build sweep of {sweep_n}", [h.sweep(sweep_n)])
            b.measure([sw, true_sweep], runs=3, budget_s=20)
            b.row(sec, sw.name, true_sweep.name)
    b.notes.append("docker-credential-pass measured up to N=100 only: populating 1000 GnuPG-encrypted entries takes minutes.")


if __name__ == "__main__":
    sys.exit(main())
