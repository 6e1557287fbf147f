#!/usr/bin/env python3
"""Two builds of ours side by side, interleaved in one run (A, B, A, B, ...):
the start-up scenarios (`version`, file `get`, `list`, the kubelet call) and
the bulk ones where the allocator shows (`import`/`export` of 10,000).
Written for the static-build decision in docs/benchmarks.md:

    python3 bench/compare.py --runs 100 \\
        target/release/docker-credential-keyring \\
        target/x86_64-unknown-linux-musl/release/docker-credential-keyring

Prints a Markdown table: each scenario's median for A and B, B/A of the
medians and of the CPU times, and the load average before and after.
Uses bench.py's spawning and timing; the file store, and the Secret Service
too (`get`, `store` and `erase` of one credential) when run under
tests/with-secret-service (`tests/with-secret-service python3
bench/compare.py A B`).
"""

import argparse
import base64
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import Bench, Case, Fixture, Helper, Step, base_env, erase_case, fmt_ms, key, put_case  # noqa: E402


def scenarios(fx, root, tag, binary, n_list, n_bulk):
    env = base_env(os.path.join(root, tag), {"DOCKER_CREDENTIAL_KEYRING_STORE": "file"})
    h = Helper(fx, tag, binary, env)
    h.populate(1)
    one = [Case(f"{tag}: version", [Step([binary, "version"], env)]),
           Case(f"{tag}: file get (N=1)", [h.get_step(key(0))], check=h.check_get(key(0), "user0"))]
    req = fx.file("kubelet", json.dumps({"kind": "CredentialProviderRequest",
                                         "apiVersion": "credentialprovider.kubelet.k8s.io/v1",
                                         "image": f"{key(0)}/app:1"}) + "\n")
    one.append(Case(f"{tag}: kubelet call (N=1)", [Step([binary, "kubelet-credential-provider"], env, req)]))
    if os.environ.get("DCK_SECRET_SERVICE") == "1":
        # Under tests/with-secret-service: `get` on the private gnome-keyring too.
        ss_env = base_env(os.path.join(root, tag + "-ss"), {"DOCKER_CREDENTIAL_KEYRING_STORE": "secret-service",
                                                            "DOCKER_CREDENTIAL_KEYRING_SERVICE": f"dck-compare-{tag}"})
        ss = Helper(fx, tag + " secret-service", binary, ss_env)
        ss.populate(1)
        one.append(Case(f"{tag}: Secret Service get (N=1)", [ss.get_step(key(0))], check=ss.check_get(key(0), "user0")))
        one.append(put_case(f"{tag}: Secret Service store (N=1)", ss))
        one.append(erase_case(f"{tag}: Secret Service erase (N=1)", ss))
    big_env = base_env(os.path.join(root, tag + "-big"), {"DOCKER_CREDENTIAL_KEYRING_STORE": "file"})
    auths = {key(i): {"username": f"user{i}", "password": f"secret-{i}",
                      "auth": base64.b64encode(f"user{i}:secret-{i}".encode()).decode()} for i in range(n_list)}
    src = fx.file(f"import-{n_list}.json", json.dumps({"auths": auths}))
    Step([binary, "import", src], big_env).capture()
    lst = Case(f"{tag}: file list (N={n_list})", [Step([binary, "list"], big_env, fx.file("unused", "unused"))])
    bulk_env = base_env(os.path.join(root, tag + "-bulk"), {"DOCKER_CREDENTIAL_KEYRING_STORE": "file"})
    auths = {key(i): {"username": f"user{i}", "password": f"secret-{i}",
                      "auth": base64.b64encode(f"user{i}:secret-{i}".encode()).decode()} for i in range(n_bulk)}
    bulk_src = fx.file(f"import-{n_bulk}.json", json.dumps({"auths": auths}))
    data_dir = os.path.join(bulk_env["XDG_DATA_HOME"], "docker-credential-keyring")
    imp = Case(f"{tag}: import ({n_bulk})", [Step([binary, "import", bulk_src], bulk_env)],
               setup=lambda: shutil.rmtree(data_dir, ignore_errors=True))
    exp = Case(f"{tag}: export --format secret ({n_bulk})", [Step([binary, "export", "--format", "secret"], bulk_env)])
    return one + [lst], [imp], [exp], bulk_env, bulk_src, binary


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--list-n", type=int, default=1000)
    ap.add_argument("--bulk-n", type=int, default=10000)
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="dck-compare-")
    fx = Fixture(root)
    b = Bench(quick=False)
    b.no_peers = True
    load_before = open("/proc/loadavg").read().split()[:3]
    try:
        sa = scenarios(fx, root, "A", os.path.abspath(args.a), args.list_n, args.bulk_n)
        sb = scenarios(fx, root, "B", os.path.abspath(args.b), args.list_n, args.bulk_n)
        pairs = []
        for ca, cb in zip(sa[0], sb[0]):
            b.measure([ca, cb], runs=args.runs, budget_s=1e9)
            pairs.append((ca, cb))
        for ca, cb in zip(sa[1], sb[1]):
            b.measure([ca, cb], runs=max(5, args.runs // 10), budget_s=1e9)
            pairs.append((ca, cb))
        Step([sa[5], "import", sa[4]], sa[3]).capture()
        Step([sb[5], "import", sb[4]], sb[3]).capture()
        for ca, cb in zip(sa[2], sb[2]):
            b.measure([ca, cb], runs=max(5, args.runs // 10), budget_s=1e9)
            pairs.append((ca, cb))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    load_after = open("/proc/loadavg").read().split()[:3]
    print(f"A = `{args.a}` ({os.path.getsize(args.a)} bytes), B = `{args.b}` ({os.path.getsize(args.b)} bytes); "
          f"load average {' '.join(load_before)} before, {' '.join(load_after)} after\n")
    print("| scenario | runs | A median | B median | B/A | A CPU | B CPU | B/A CPU |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for ca, cb in pairs:
        ra, rb = b.results[ca.name], b.results[cb.name]
        if ra.error or rb.error or not ra.times or not rb.times:
            print(f"| {ca.name[3:]} | | n/a | n/a | | | | | {ra.error or ''} {rb.error or ''}")
            continue
        print(f"| {ca.name[3:]} | {len(ra.times)} | {fmt_ms(ra.median)} | {fmt_ms(rb.median)} | {rb.median / ra.median:.2f}× "
              f"| {fmt_ms(ra.cpu)} | {fmt_ms(rb.cpu)} | {rb.cpu / ra.cpu:.2f}× |")


if __name__ == "__main__":
    main()
