#!/usr/bin/env python3
"""The Windows .exe under Wine, against Wine's Credential Manager.

Called by tests/windows/run, which builds the .exe, makes a private
WINEPREFIX and sets WINE, DCK_EXE and WINEPREFIX. Every check runs the real
binary the way docker runs a helper (JSON on stdin, answer on stdout) and
asserts what a broken build would get wrong. Prints one line per check and
`N passed, M failed`; exits 1 on any failure.
"""

import base64
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

WINE = os.environ["WINE"]
EXE = os.environ["DCK_EXE"]
# A debug build of the same source, used only for its test hook (see
# check_a_kill_between_parts_never_yields_a_mix).
DEBUG_EXE = os.environ.get("DCK_DEBUG_EXE")
PREFIX = os.environ["WINEPREFIX"]
NOT_FOUND = "credentials not found in native keychain\n"
SERVICE = "dck-wine-test"
# One wine process start is ~0.3 s once wineserver runs; a keyring call is
# bounded at 5 s by the helper itself. This only catches a hang.
CALL_TIMEOUT = 60
# Actions Wine killed and check.py ran again (see `helper`).
WINE_KILLS = []


class Failed(Exception):
    pass


def helper(args, stdin=b"", store="windows", extra_env=None, exe=EXE):
    """Runs the .exe; returns (exit code, stdout text, stderr text)."""
    env = dict(os.environ)
    env["DOCKER_CREDENTIAL_KEYRING_SERVICE"] = SERVICE
    env.pop("DOCKER_CREDENTIAL_KEYRING_STORE", None)
    if store is not None:
        env["DOCKER_CREDENTIAL_KEYRING_STORE"] = store
    env.update(extra_env or {})
    for attempt in (1, 2):
        proc = subprocess.run(
            [WINE, exe, *args],
            input=stdin,
            capture_output=True,
            env=env,
            timeout=CALL_TIMEOUT,
        )
        # SIGKILL of the Unix process is wineserver's doing (a race in
        # Wine's process exit), never an answer of the .exe: a Windows
        # program under Wine cannot die of a Unix signal otherwise. Every
        # command these checks run is idempotent: run it once more, counted.
        if proc.returncode != -9 or attempt == 2:
            break
        WINE_KILLS.append(args[0])
    return proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")


def expect(what, actual, wanted):
    if actual != wanted:
        raise Failed(f"{what}: got {actual!r}, want {wanted!r}")


def ok(run, what):
    code, out, err = run
    if code != 0:
        raise Failed(f"{what}: exit {code}, stdout {out!r}, stderr {err!r}")
    return out


def store(server, user, secret, **kw):
    body = json.dumps({"ServerURL": server, "Username": user, "Secret": secret})
    return ok(helper(["store"], body.encode(), **kw), f"store {server}")


def get(server, **kw):
    return helper(["get"], server.encode(), **kw)


def secret_of(server, **kw):
    code, out, err = get(server, **kw)
    if code == 1 and out == NOT_FOUND:
        return None
    if code != 0:
        raise Failed(f"get {server}: exit {code}, stdout {out!r}, stderr {err!r}")
    return json.loads(out)["Secret"]


def listed(**kw):
    return json.loads(ok(helper(["list"], **kw), "list"))


def erase(server, **kw):
    return ok(helper(["erase"], server.encode(), **kw), f"erase {server}")


def profile_dir():
    """%USERPROFILE% as a Unix path inside the private prefix."""
    users = os.path.join(PREFIX, "drive_c", "users")
    names = [n for n in os.listdir(users) if n != "Public"]
    if len(names) != 1:
        raise Failed(f"expected one user profile in {users}, found {names}")
    return os.path.join(users, names[0])


def credential_manager_targets():
    """Target names Wine's Credential Manager holds (it keeps them in the registry)."""
    proc = subprocess.run(
        [WINE, "reg", "query", r"HKCU\Software\Wine\Credential Manager"],
        capture_output=True,
        timeout=CALL_TIMEOUT,
    )
    code, out = proc.returncode, proc.stdout.decode("utf-8", "replace")
    if code != 0:
        return []
    return [line.strip() for line in out.splitlines() if SERVICE in line]


def index_entries():
    """The index file's credentials (metadata: key, username, store)."""
    for root, _dirs, files in os.walk(os.path.join(profile_dir(), "AppData")):
        if "store.json" in files and "docker-credential-keyring" in root:
            with open(os.path.join(root, "store.json"), encoding="utf-8") as f:
                return json.load(f)["credentials"]
    return {}


def clean():
    for server in listed(store=None):
        erase(server, store=None)


# --- the checks -------------------------------------------------------------


def check_version_names_the_windows_store():
    out = ok(helper(["version"]), "version")
    expect("lines", out.count("\n"), 1)
    if not out.startswith("docker-credential-keyring 0.") or "store: windows" not in out:
        raise Failed(f"version: {out!r}")


def check_store_get_list_erase_round_trip():
    store("https://quay.io", "alice", "s3cret")
    expect(
        "get",
        get("quay.io"),
        (0, '{"ServerURL":"quay.io","Username":"alice","Secret":"s3cret"}\n', ""),
    )
    expect("list", listed(), {"https://quay.io": "alice"})
    entries = index_entries()
    expect("index store", entries["quay.io"]["store"], "windows")
    if "secret" in entries["quay.io"]:
        raise Failed("the secret is in the index file, not in Credential Manager")
    if not credential_manager_targets():
        raise Failed("no Credential Manager entry for our service after store")
    expect("erase", helper(["erase"], b"quay.io"), (0, "", ""))
    expect("get after erase", get("quay.io"), (1, NOT_FOUND, ""))
    expect("list after erase", listed(), {})
    expect("Credential Manager after erase", credential_manager_targets(), [])


def check_not_found_is_the_exact_upstream_string():
    expect("get", get("nothing.example.com"), (1, NOT_FOUND, ""))


def check_erase_of_a_missing_key_exits_zero():
    expect("erase", helper(["erase"], b"nothing.example.com"), (0, "", ""))


def check_missing_server_url_and_username_use_upstream_strings():
    expect(
        "store without URL",
        helper(["store"], b'{"ServerURL":"","Username":"u","Secret":"s"}')[:2],
        (1, "no credentials server URL\n"),
    )
    expect(
        "store without username",
        helper(["store"], b'{"ServerURL":"quay.io","Username":"","Secret":"s"}')[:2],
        (1, "no credentials username\n"),
    )
    expect("get without URL", get("")[:2], (1, "no credentials server URL\n"))


def check_server_url_spellings_find_the_same_credential():
    groups = [
        ["https://index.docker.io/v1/", "docker.io", "registry-1.docker.io"],
        ["quay.io", "https://quay.io/", "QUAY.IO", "quay.io/v2/"],
        ["quay.io:8443"],
        ["localhost:5000"],
        ["http://insecure.example.com"],
        ["insecure.example.com", "https://insecure.example.com"],
    ]
    for i, group in enumerate(groups):
        store(group[0], f"user{i}", f"secret{i}")
    for i, group in enumerate(groups):
        for spelling in group:
            expect(f"secret of {spelling}", secret_of(spelling), f"secret{i}")
    expect("list", listed(), {g[0]: f"user{i}" for i, g in enumerate(groups)})
    clean()


def check_identity_token_and_empty_secret():
    store("tok.example.com", "<token>", "refresh-tok")
    code, out, _ = get("tok.example.com")
    expect("token get", (code, json.loads(out)["Username"]), (0, "<token>"))
    store("empty.example.com", "u", "")
    expect("empty secret", secret_of("empty.example.com"), "")
    clean()


def every_protocol_character():
    """Characters whose UTF-8 covers every byte value a secret can hold: all
    of U+0000-U+07FF (NUL and the control characters travel escaped; every
    two-byte lead and every continuation byte), a character for each
    three-byte lead (no surrogates: JSON text cannot carry them alone), and
    for each four-byte lead (astral characters, surrogate pairs in UTF-16),
    with U+2028/U+2029 and the largest scalar values."""
    chars = [chr(c) for c in range(0x800)]
    chars += [chr(0x800)] + [chr(0x1000 * k) for k in range(1, 16)]
    chars += ["\u2028", "\u2029", "\ufeff", "\uffff", "日本語", "é☃"]
    chars += [chr(c) for c in (0x10000, 0x1F600, 0x40000, 0x80000, 0xC0000, 0x100000, 0x10FFFF)]
    return "".join(chars)


def check_non_ascii_and_every_byte_value_round_trip():
    every = every_protocol_character()
    covered = set(every.encode("utf-8"))
    expect("byte values covered", covered, set(range(0xF5)) - {0xC0, 0xC1})
    # In pieces of at most 2,000 bytes: one Credential Manager blob each.
    pieces, piece = [], ""
    for ch in every:
        if len((piece + ch).encode("utf-8")) > 2000:
            pieces.append(piece)
            piece = ""
        piece += ch
    pieces.append(piece)
    user = 'ü:ser "☃" 😀'
    samples = [(f"chars{i}.example.com", p) for i, p in enumerate(pieces)]
    for server, secret in samples:
        store(server, user, secret)
    for server, secret in samples:
        code, out, _ = get(server)
        expect(f"get {server}", code, 0)
        answer = json.loads(out)
        expect(f"secret of {server}", answer["Secret"], secret)
        expect(f"username of {server}", answer["Username"], user)
    clean()


# Credential Manager keeps 2,560 bytes a credential (CRED_MAX_CREDENTIAL_BLOB_SIZE);
# longer secrets are kept across several, up to 64 KiB (src/store/chunked.rs).
PART_MAX = 2560
MAX_TOTAL = 64 * 1024


def long_secret(size, tag):
    """`size` bytes of UTF-8 with two- and four-byte characters among ASCII,
    different for each `tag`, so a mix of two secrets would show."""
    chars, used, i = [], 0, 0
    while used < size - 4:
        ch = "é" if i % 97 == 0 else "😀" if i % 89 == 0 else chr(ord("a") + (i + tag) % 26)
        chars.append(ch)
        used += len(ch.encode("utf-8"))
        i += 1
    return "".join(chars) + "x" * (size - used)


def parts_of(secret):
    """How many Credential Manager entries besides the head `secret` takes."""
    data, count, start = secret.encode("utf-8"), 0, 0
    while start < len(data):
        end = min(start + PART_MAX, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:
            end -= 1
        count, start = count + 1, end
    return count


def targets_of(server):
    """Credential Manager entries of one credential: its head and its parts."""
    return [t for t in credential_manager_targets() if server in t]


def check_credential_manager_blob_cap():
    # 2,560 bytes fit in one credential. Longer secrets are kept across
    # several; more than 64 KiB is refused before anything changes, with the
    # limit and the way out. `auto` refuses it too (it never moves a secret to
    # the plaintext file store behind the user's back); choosing `file` works.
    fits = "é" * 1280
    store("cap.example.com", "u", fits)
    expect("2560 bytes", secret_of("cap.example.com"), fits)
    expect("one entry", len(targets_of("cap.example.com")), 1)
    long = "SECRET-" + "x" * (MAX_TOTAL - 6)
    body = json.dumps({"ServerURL": "cap.example.com", "Username": "u", "Secret": long})
    code, out, err = helper(["store"], body.encode())
    expect("exit", code, 1)
    for part in ("65537 bytes", "65536 bytes the windows store", "DOCKER_CREDENTIAL_KEYRING_STORE=file"):
        if part not in out:
            raise Failed(f"the error does not say {part!r}: {out!r}")
    if "SECRET-" in out + err:
        raise Failed("the error shows the secret")
    expect("the earlier secret is kept", secret_of("cap.example.com"), fits)
    expect("still one entry", len(targets_of("cap.example.com")), 1)
    code, out, err = helper(["store"], body.encode(), store=None)
    expect("auto exit", code, 1)
    if "65536 bytes the windows store" not in out or "SECRET-" in out + err:
        raise Failed(f"auto: the error does not name the limit, or shows the secret: {out!r}")
    expect("auto keeps the earlier secret", secret_of("cap.example.com", store=None), fits)
    store("cap.example.com", "u", long, store="file")
    expect("file store", index_entries()["cap.example.com"]["store"], "file")
    expect("file secret", secret_of("cap.example.com", store=None), long)
    expect("Credential Manager after the move", credential_manager_targets(), [])
    clean()


def check_six_and_sixty_kb_secrets_across_entries():
    # ECR and ACR tokens outgrew one Credential Manager credential (upstream's
    # wincred helper fails with "The stub received bad data"): stored across
    # several entries, read back whole, listed once, removed entirely.
    server = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    six, sixty = long_secret(6 * 1024, 1), long_secret(60 * 1024, 2)
    expect("parts of 6 KB", parts_of(six), 3)
    store(f"https://{server}", "AWS", six)
    expect("6 KB", secret_of(server), six)
    expect("6 KB entries", len(targets_of(server)), 1 + 3)
    expect("list", listed(), {f"https://{server}": "AWS"})
    expect("index store", index_entries()[server]["store"], "windows")
    store(f"https://{server}", "AWS", sixty)
    expect("60 KB", secret_of(server), sixty)
    expect("60 KB entries (the 6 KB parts gone)", len(targets_of(server)), 1 + parts_of(sixty))
    expect("list after replace", listed(), {f"https://{server}": "AWS"})
    # erase removes the head and every part.
    expect("erase", helper(["erase"], server.encode()), (0, "", ""))
    expect("get after erase", get(server), (1, NOT_FOUND, ""))
    expect("Credential Manager after erase", credential_manager_targets(), [])
    # A short secret over a long one leaves one entry; `logout` removes a
    # long one entirely too.
    acr = "myregistry.azurecr.io"
    store(acr, "00000000-0000-0000-0000-000000000000", sixty)
    store(acr, "00000000-0000-0000-0000-000000000000", "short")
    expect("short over long", (secret_of(acr), len(targets_of(acr))), ("short", 1))
    store(acr, "00000000-0000-0000-0000-000000000000", six)
    ok(helper(["logout", acr]), "logout")
    expect("get after logout", get(acr), (1, NOT_FOUND, ""))
    expect("Credential Manager after logout", credential_manager_targets(), [])


def check_a_kill_between_parts_never_yields_a_mix():
    # The debug build exits right after writing part N, as if killed there
    # (DOCKER_CREDENTIAL_KEYRING_TEST_EXIT_AFTER_PART). The release build then
    # reads the old secret (or none), never a mix, and the next store cleans up.
    if not DEBUG_EXE:
        raise Failed("DCK_DEBUG_EXE is not set (tests/windows/run sets it)")
    server = "kill.example.com"
    old, new = long_secret(6 * 1024, 3), long_secret(60 * 1024, 4)
    store(server, "u", old)

    def killed_store(server, secret, after):
        body = json.dumps({"ServerURL": server, "Username": "u2", "Secret": secret})
        kill = {"DOCKER_CREDENTIAL_KEYRING_TEST_EXIT_AFTER_PART": str(after)}
        code, out, err = helper(["store"], body.encode(), extra_env=kill, exe=DEBUG_EXE)
        expect(f"exit of the store killed after part {after}", (code, out), (86, ""))

    killed_store(server, new, 5)
    code, out, err = get(server)
    expect("get after the kill", (code, err), (0, ""))
    answer = json.loads(out)
    expect("after the kill: the old credential", (answer["Username"], answer["Secret"]), ("u", old))
    expect("list after the kill", listed(), {server: "u"})
    expect("entries: the old set and 5 new parts", len(targets_of(server)), 1 + 3 + 5)
    store(server, "u2", new)
    expect("the next store", secret_of(server), new)
    expect("entries after the next store", len(targets_of(server)), 1 + parts_of(new))
    # Killed on a key with no secret yet: nothing is found, and a following
    # store (of a short secret) removes the parts left.
    fresh = "fresh.example.com"
    killed_store(fresh, new, 2)
    expect("after the kill: nothing", get(fresh), (1, NOT_FOUND, ""))
    expect("list after the kill", sorted(listed()), [server])
    expect("parts left", len(targets_of(fresh)), 2)
    store(fresh, "u", "short")
    expect("after the next store", (secret_of(fresh), len(targets_of(fresh))), ("short", 1))
    clean()
    expect("Credential Manager after erase", credential_manager_targets(), [])


def check_parallel_stores_all_land():
    servers = [f"par{i}.example.com" for i in range(6)]
    with ThreadPoolExecutor(len(servers)) as pool:
        list(pool.map(lambda s: store(s, "u", "p-" + s), servers))
    expect("list", sorted(listed()), sorted(servers))
    with ThreadPoolExecutor(len(servers)) as pool:
        found = list(pool.map(secret_of, servers))
    expect("secrets", found, ["p-" + s for s in servers])
    clean()


def check_auto_chooses_the_windows_store():
    store("auto.example.com", "u", "p", store=None)
    expect("index store", index_entries()["auto.example.com"]["store"], "windows")
    expect("secret", secret_of("auto.example.com", store=None), "p")
    clean()


def check_configure_login_ls_export_logout():
    config = os.path.join(profile_dir(), ".docker", "config.json")
    ok(helper(["configure"], store=None), "configure")
    with open(config, encoding="utf-8") as f:
        expect("credsStore", json.load(f).get("credsStore"), "keyring")
    code, out, err = helper(
        ["login", "--no-verify", "reg.example.com", "-u", "bob", "--password-stdin"],
        b"pa\xc3\x9f word\n",
        store=None,
    )
    expect("login exit", code, 0)
    expect("secret after login", secret_of("reg.example.com", store=None), "paß word")
    expect("index store", index_entries()["reg.example.com"]["store"], "windows")
    table = ok(helper(["ls"], store=None), "ls")
    row = [line.split() for line in table.splitlines() if "reg.example.com" in line]
    expect("ls row", [r[:3] for r in row], [["reg.example.com", "bob", "windows"]])
    exported = json.loads(ok(helper(["export"], store=None), "export"))
    expect(
        "export auth",
        exported["auths"]["reg.example.com"]["auth"],
        base64.b64encode("bob:paß word".encode()).decode(),
    )
    ok(helper(["logout", "reg.example.com"], store=None), "logout")
    expect("get after logout", get("reg.example.com", store=None), (1, NOT_FOUND, ""))
    expect("Credential Manager after logout", credential_manager_targets(), [])


CHECKS = [
    check_version_names_the_windows_store,
    check_store_get_list_erase_round_trip,
    check_not_found_is_the_exact_upstream_string,
    check_erase_of_a_missing_key_exits_zero,
    check_missing_server_url_and_username_use_upstream_strings,
    check_server_url_spellings_find_the_same_credential,
    check_identity_token_and_empty_secret,
    check_non_ascii_and_every_byte_value_round_trip,
    check_credential_manager_blob_cap,
    check_six_and_sixty_kb_secrets_across_entries,
    check_a_kill_between_parts_never_yields_a_mix,
    check_parallel_stores_all_land,
    check_auto_chooses_the_windows_store,
    check_configure_login_ls_export_logout,
]


def main():
    passed = failed = 0
    for check in CHECKS:
        name = check.__name__.removeprefix("check_")
        start = time.monotonic()
        try:
            check()
        except (Failed, subprocess.TimeoutExpired, KeyError, ValueError) as err:
            failed += 1
            print(f"FAIL {name}: {err}", flush=True)
            try:
                clean()
            except Exception:  # noqa: BLE001 - best effort between checks
                pass
        else:
            passed += 1
            print(f"ok   {name} ({time.monotonic() - start:.1f}s)", flush=True)
    if WINE_KILLS:
        print(f"note: Wine killed {len(WINE_KILLS)} run(s), run again: {WINE_KILLS}")
    print(f"tests/windows: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
