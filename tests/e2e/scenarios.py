#!/usr/bin/env python3
"""End-to-end scenarios: real docker, skopeo, podman and docker-py clients use
docker-credential-keyring against real registries, each result verified by
asking the helper itself (`list` / `get`).

Started by tests/e2e/run (which builds the helper, starts the registries and
exports the E2E_* variables), once per store:

    scenarios.py --store file|secret-service --results FILE

Every client runs in an isolated environment built from scratch: HOME, XDG
dirs, DOCKER_CONFIG, the containers auth file, storage and config all live in
a fresh directory; DOCKER_HOST points at a socket that does not exist (no
daemon). Prints one line per check and writes "PASSED FAILED" to FILE.
"""

import argparse
import base64
import json
import os
import shutil
import stat
import subprocess
import sys
import traceback

import docker.auth
import docker.credentials
import docker.errors
from docker.credentials.errors import CredentialsNotFound

HELPER = "docker-credential-keyring"
NOT_FOUND = "credentials not found in native keychain"
# What a client prints when the helper answered with an error other than
# "not found", i.e. when it took its error path instead of "not logged in".
HELPER_ERROR_MARKERS = (
    "error getting credentials",
    "getting credentials",
    "credential helper",
    "docker-credential-",
    "exit status",
)
UNAUTHORIZED_MARKERS = ("unauthorized", "no basic auth credentials", "authentication required")


class Result:
    def __init__(self, argv, proc):
        self.argv = argv
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def describe(self):
        cmd = " ".join(self.argv)
        return f"$ {cmd}\n  exit {self.rc}\n  stdout: {self.out.strip()[:600]!r}\n  stderr: {self.err.strip()[:600]!r}"


class HelperFailure:
    """An answer of the helper that is neither data nor exactly "not found"."""

    def __init__(self, result):
        self.result = result

    def __repr__(self):
        return "helper failed:\n" + self.result.describe()


class Suite:
    def __init__(self, store, results):
        self.store = store
        self.results = results
        self.passed = 0
        self.failed = 0
        self.plain = os.environ["E2E_PLAIN"]
        self.tls = os.environ["E2E_TLS"]
        self.tls_certs = os.environ["E2E_TLS_CERTS"]
        self.token_reg = os.environ["E2E_TOKEN"]  # delegates login to the token server
        self.auth_host = os.environ["E2E_AUTH"]  # the token server (realm host:port)
        self.token_log = os.environ["E2E_TOKEN_LOG"]
        self.layout = os.environ["E2E_OCI_LAYOUT"]
        self.manifest_digest = os.environ["E2E_MANIFEST_DIGEST"]
        self.config_digest = os.environ["E2E_CONFIG_DIGEST"]
        self.alice_pw = os.environ["E2E_ALICE_PASSWORD"]
        self.bob_pw = os.environ["E2E_BOB_PASSWORD"]
        self.root = os.path.join(os.environ["E2E_TMP"], "home-" + store)
        self.verbose = os.environ.get("DCK_E2E_VERBOSE") == "1"  # details of passes too
        self.env = self._isolated_env(os.environ["E2E_BIN"])

    # --- environment ----------------------------------------------------------

    def _isolated_env(self, bindir):
        root = self.root
        shutil.rmtree(root, ignore_errors=True)
        paths = {
            "HOME": f"{root}/home",
            "XDG_CONFIG_HOME": f"{root}/home/.config",
            "XDG_DATA_HOME": f"{root}/home/.local/share",
            "XDG_CACHE_HOME": f"{root}/home/.cache",
            "XDG_STATE_HOME": f"{root}/home/.local/state",
            "XDG_RUNTIME_DIR": f"{root}/run",
            "TMPDIR": f"{root}/tmp",
            "DOCKER_CONFIG": f"{root}/docker",
        }
        for path in paths.values():
            os.makedirs(path, mode=0o700, exist_ok=True)
        env = dict(paths)
        env.update(
            PATH=f"{bindir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            LANG="C.UTF-8",
            LC_ALL="C.UTF-8",
            DOCKER_HOST=f"unix://{root}/no-docker-daemon.sock",
            DOCKER_CLI_HINTS="false",
            REGISTRY_AUTH_FILE=f"{root}/containers/auth.json",
            CONTAINERS_CONF=f"{root}/containers/containers.conf",
            CONTAINERS_STORAGE_CONF=f"{root}/containers/storage.conf",
            CONTAINERS_REGISTRIES_CONF=f"{root}/containers/registries.conf",
            DOCKER_CREDENTIAL_KEYRING_STORE=self.store,
            DOCKER_CREDENTIAL_KEYRING_SERVICE=f"dck-e2e-{os.getpid()}",
        )
        # The Secret Service run happens inside tests/with-secret-service.
        if self.store == "secret-service":
            env["DBUS_SESSION_BUS_ADDRESS"] = os.environ.get("DBUS_SESSION_BUS_ADDRESS", "")
        os.makedirs(f"{root}/containers", exist_ok=True)
        write(f"{root}/containers/containers.conf",
              '[engine]\nevents_logger = "file"\ncgroup_manager = "cgroupfs"\n'
              f'tmp_dir = "{root}/libpod-tmp"\n')
        write(f"{root}/containers/storage.conf",
              f'[storage]\ndriver = "vfs"\ngraphroot = "{root}/storage"\n'
              f'runroot = "{root}/runroot"\n')
        write(f"{root}/containers/registries.conf", "unqualified-search-registries = []\n")
        os.makedirs(f"{paths['XDG_CONFIG_HOME']}/containers", exist_ok=True)
        write(f"{paths['XDG_CONFIG_HOME']}/containers/policy.json",
              '{"default":[{"type":"insecureAcceptAnything"}]}\n')
        # docker-py reads os.environ (PATH lookup, helper environment): use ours.
        os.environ.clear()
        os.environ.update(env)
        return env

    def docker_config(self, content):
        write(os.path.join(self.env["DOCKER_CONFIG"], "config.json"), json.dumps(content))

    def auth_file(self, content):
        write(self.env["REGISTRY_AUTH_FILE"], json.dumps(content))

    def read_text(self, path):
        try:
            with open(path, encoding="utf-8") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    # --- running things -----------------------------------------------------

    def run(self, *argv, input=None, timeout=120):
        argv = [str(a) for a in argv]
        try:
            proc = subprocess.run(argv, input=input, capture_output=True, text=True,
                                  env=self.env, timeout=timeout, cwd=self.root)
        except subprocess.TimeoutExpired as e:
            proc = subprocess.CompletedProcess(argv, 124, e.stdout or "",
                                               f"timed out after {timeout} s")
        return Result(argv, proc)

    def helper(self, action, input=None):
        return self.run(HELPER, action, input=input)

    def cli(self, *args, input=None):
        """A human command of the helper (login, export, configure, ...)."""
        return self.run(HELPER, *args, input=input)

    def helper_list(self):
        """The helper's `list` as a dict, or a HelperFailure."""
        r = self.helper("list")
        try:
            return json.loads(r.out) if r.rc == 0 else HelperFailure(r)
        except ValueError:
            return HelperFailure(r)

    def helper_get(self, url):
        """The helper's answer for url as a dict, None for exactly "not found"
        (stdout, exit 1), or a HelperFailure for anything else."""
        r = self.helper("get", url)
        if r.rc == 1 and r.out == NOT_FOUND + "\n":
            return None
        try:
            return json.loads(r.out) if r.rc == 0 else HelperFailure(r)
        except ValueError:
            return HelperFailure(r)

    def helper_store(self, url, user, secret):
        r = self.helper("store", json.dumps({"ServerURL": url, "Username": user, "Secret": secret}))
        if r.rc != 0:
            raise AssertionError("helper store failed:\n" + r.describe())

    # --- checks -----------------------------------------------------------------

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"PASS  [{self.store}] {name}", flush=True)
            if detail and self.verbose:
                for line in str(detail).splitlines():
                    print(f"        {line}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL  [{self.store}] {name}", flush=True)
            if detail:
                for line in str(detail).splitlines():
                    print(f"        {line}", flush=True)

    def check_ok(self, name, r, *expect_in_output):
        text = r.out + r.err
        ok = r.rc == 0 and all(e in text for e in expect_in_output)
        self.check(name, ok, r.describe())
        return ok

    def check_unauthorized(self, name, r):
        """A client without credentials: refused by the registry (the "not
        logged in" path), not failing on the helper (the error path)."""
        text = (r.out + r.err).lower()
        ok = (r.rc != 0
              and any(m in text for m in UNAUTHORIZED_MARKERS)
              and not any(m in text for m in HELPER_ERROR_MARKERS))
        self.check(name, ok, r.describe())

    def check_quiet_success(self, name, r):
        """Success with no warning or error on stderr (logout of nothing)."""
        text = r.err.lower()
        ok = r.rc == 0 and "warning" not in text and "error" not in text
        self.check(name, ok, r.describe())

    def check_helper_has(self, name, url, user, secret):
        listed = self.helper_list()
        got = self.helper_get(url)
        ok = (isinstance(listed, dict) and listed.get(url) == user
              and isinstance(got, dict)
              and got.get("Username") == user and got.get("Secret") == secret)
        if isinstance(got, dict) and got.get("Secret") != secret:
            got = dict(got, Secret="<differs>")
        elif isinstance(got, dict):
            got = dict(got, Secret="<as expected>")
        self.check(name, ok, f"list: {listed}\nget {url}: {got}")

    def check_helper_lacks(self, name, url):
        listed = self.helper_list()
        got = self.helper_get(url)
        ok = isinstance(listed, dict) and url not in listed and got is None
        self.check(name, ok, f"list: {listed}\nget {url}: {got}")

    def check_no_secret_in(self, name, path, *secrets):
        text = self.read_text(path)
        leaked = []
        for s in secrets:
            for form in (s, json.dumps(s)[1:-1], base64.b64encode(s.encode()).decode()):
                if form in text:
                    leaked.append(form[:4] + "...")
        for user in ("alice", "bob", "carol"):
            for s in secrets:
                token = base64.b64encode(f"{user}:{s}".encode()).decode()
                if token in text:
                    leaked.append(f"base64({user}:...)")
        self.check(name, not leaked, f"{path} holds {leaked}:\n{text}")

    # --- scenarios ----------------------------------------------------------------

    def scenario_helper(self):
        r = self.helper("version")
        self.check_ok(f"helper reports the {self.store} store", r, f"(store: {self.store})")
        r = self.helper("get", "never-stored.example:5000")
        self.check("helper get of a missing key: not-found line on stdout, nothing on stderr, exit 1",
                   r.rc == 1 and r.out == NOT_FOUND + "\n" and r.err == "", r.describe())
        r = self.helper("erase", "never-stored.example:5000")
        self.check("helper erase of a missing key exits 0 quietly",
                   r.rc == 0 and r.out == "" and r.err == "", r.describe())

    def scenario_docker(self):
        p, pw = self.plain, self.alice_pw
        config = os.path.join(self.env["DOCKER_CONFIG"], "config.json")
        self.docker_config({"credsStore": "keyring"})
        image = f"{p}/e2e/hello:1"

        r = self.run("docker", "login", "-u", "alice", "--password-stdin", p, input=pw + "\n")
        self.check_ok("docker login (no daemon) succeeds", r, "Login Succeeded")
        self.check_helper_has("docker login stored the credential through the helper", p, "alice", pw)
        cfg = json.loads(self.read_text(config) or "{}")
        entry = cfg.get("auths", {}).get(p)
        self.check('config.json keeps "credsStore": "keyring" and an empty auths entry',
                   cfg.get("credsStore") == "keyring" and entry == {}, json.dumps(cfg))
        self.check_no_secret_in("config.json holds no secret after docker login", config, pw)
        if self.store == "file":
            self.check_file_store_private()
        else:
            self.check_secret_in_keyring(p, pw)

        # Without -u docker reads the stored credential through get, then
        # verifies it through the daemon (none here): only the get is checked.
        r = self.run("docker", "login", p, input="")
        self.check("docker login without -u finds the stored credential (get)",
                   "Authenticating with existing credentials... [Username: alice]" in r.err,
                   r.describe())
        r = self.run("docker", "manifest", "inspect", "--insecure", image)
        ok = self.check_ok("docker manifest inspect authenticates through the helper", r,
                           self.config_digest)
        # Docker asks the helper at each run: a wrong stored password is refused.
        self.helper_store(p, "alice", "wrong-password")
        r = self.run("docker", "manifest", "inspect", "--insecure", image)
        # (docker 28 reports a 401 on the manifest as "no such manifest")
        text = (r.out + r.err).lower()
        self.check("docker manifest inspect uses the helper's current credential (wrong one refused)",
                   ok and r.rc != 0 and not any(m in text for m in HELPER_ERROR_MARKERS),
                   r.describe())
        self.helper_store(p, "alice", pw)

        r = self.run("docker", "logout", p)
        self.check_quiet_success("docker logout succeeds", r)
        self.check_helper_lacks("docker logout erased the credential in the helper", p)
        cfg = json.loads(self.read_text(config) or "{}")
        self.check("docker logout removed the auths entry",
                   p not in cfg.get("auths", {}), json.dumps(cfg))

        # Not logged in: docker reads "not found" and goes on anonymously. (docker
        # also goes on anonymously after any other helper error: its
        # ResolveAuthConfig drops the error, so only skopeo, podman and docker-py
        # below can tell "not found" from a broken helper.)
        r = self.run("docker", "manifest", "inspect", "--insecure", image)
        self.check_unauthorized("docker manifest inspect without a credential: unauthorized, "
                                "not a helper error", r)
        r = self.run("docker", "logout", p)
        self.check_quiet_success("docker logout when not logged in: no error", r)
        r = self.run("docker", "login", p, input="")
        self.check("docker login without -u when not logged in asks for a username",
                   r.rc != 0 and "existing credentials" not in r.err
                   and "interactive login" in r.err, r.describe())

        # TLS instance (docker trusts loopback registries' certificates) and
        # the awkward password.
        t, bpw = self.tls, self.bob_pw
        r = self.run("docker", "login", "-u", "bob", "--password-stdin", t, input=bpw + "\n")
        self.check_ok("docker login to the TLS registry with a password full of quotes, "
                      "backslashes, ':' and non-ASCII", r, "Login Succeeded")
        self.check_helper_has("the awkward password round-trips byte for byte (docker login)",
                              t, "bob", bpw)
        self.check_no_secret_in("config.json holds no awkward secret", config, bpw)
        r = self.run("docker", "manifest", "inspect", f"{t}/e2e/hello:1")
        self.check_ok("docker manifest inspect over TLS with the awkward password", r,
                      self.config_digest)
        r = self.run("docker", "logout", t)
        self.check_quiet_success("docker logout of the TLS registry", r)
        self.check_helper_lacks("docker logout erased the TLS registry's credential", t)

    def scenario_skopeo(self):
        p, t = self.plain, self.tls
        auth = self.env["REGISTRY_AUTH_FILE"]
        self.auth_file({"credHelpers": {p: "keyring", t: "keyring"}})
        insecure = "--tls-verify=false"

        r = self.run("skopeo", "login", insecure, "-u", "alice", "--password-stdin", p,
                     input=self.alice_pw + "\n")
        self.check_ok("skopeo login with credHelpers in the auth file", r, "Login Succeeded")
        self.check_helper_has("skopeo login stored the credential through the helper",
                              p, "alice", self.alice_pw)
        self.check_no_secret_in("the containers auth file holds no secret (skopeo)", auth,
                                self.alice_pw)
        r = self.run("skopeo", "inspect", insecure, f"docker://{p}/e2e/hello:1")
        if self.check_ok("skopeo inspect authenticates through the helper", r):
            self.check("skopeo inspect sees the seed image",
                       json.loads(r.out).get("Digest") == self.manifest_digest, r.out[:300])
        dest = f"{p}/e2e/skopeo-{self.store}:1"
        r = self.run("skopeo", "copy", "--quiet", "--dest-tls-verify=false",
                     f"oci:{self.layout}:latest", f"docker://{dest}")
        self.check_ok("skopeo copy pushes with the helper's credential", r)
        r = self.run("skopeo", "inspect", insecure, f"docker://{dest}")
        self.check_ok("skopeo inspect of the pushed image", r, self.manifest_digest)

        r = self.run("skopeo", "logout", p)
        self.check_ok("skopeo logout succeeds", r)
        self.check_helper_lacks("skopeo logout erased the credential in the helper", p)
        r = self.run("skopeo", "logout", p)
        self.check_quiet_success("skopeo logout when not logged in: no error", r)
        r = self.run("skopeo", "inspect", insecure, f"docker://{dest}")
        self.check_unauthorized("skopeo inspect without a credential: unauthorized, "
                                "not a helper error", r)

        # TLS, verified against our CA, with the awkward password.
        r = self.run("skopeo", "inspect", f"docker://{t}/e2e/hello:1")
        self.check("the TLS registry's certificate is really checked (no CA: refused)",
                   r.rc != 0 and "certificate" in r.err.lower(), r.describe())
        r = self.run("skopeo", "login", "--cert-dir", self.tls_certs, "-u", "bob",
                     "--password-stdin", t, input=self.bob_pw + "\n")
        self.check_ok("skopeo login over TLS with the awkward password", r, "Login Succeeded")
        self.check_helper_has("the awkward password round-trips byte for byte (skopeo login)",
                              t, "bob", self.bob_pw)
        dest = f"{t}/e2e/skopeo-{self.store}:1"
        r = self.run("skopeo", "copy", "--quiet", "--dest-cert-dir", self.tls_certs,
                     f"oci:{self.layout}:latest", f"docker://{dest}")
        self.check_ok("skopeo copy over TLS with the awkward password", r)
        r = self.run("skopeo", "inspect", "--cert-dir", self.tls_certs, f"docker://{dest}")
        self.check_ok("skopeo inspect over TLS with the awkward password", r, self.manifest_digest)
        r = self.run("skopeo", "logout", t)
        self.check_ok("skopeo logout of the TLS registry", r)
        self.check_helper_lacks("skopeo logout erased the TLS registry's credential", t)

    def scenario_podman(self):
        p, t = self.plain, self.tls
        auth = self.env["REGISTRY_AUTH_FILE"]
        self.auth_file({"credHelpers": {p: "keyring", t: "keyring"}})
        insecure = "--tls-verify=false"

        r = self.run("podman", "login", insecure, "-u", "alice", "--password-stdin", p,
                     input=self.alice_pw + "\n")
        self.check_ok("podman login with credHelpers in the auth file", r, "Login Succeeded")
        self.check_helper_has("podman login stored the credential through the helper",
                              p, "alice", self.alice_pw)
        self.check_no_secret_in("the containers auth file holds no secret (podman)", auth,
                                self.alice_pw)
        r = self.run("podman", "pull", "-q", insecure, f"{p}/e2e/hello:1")
        self.check_ok("podman pull (vfs storage) authenticates through the helper", r)
        dest = f"{p}/e2e/podman-{self.store}:1"
        r = self.run("podman", "push", "-q", insecure, f"{p}/e2e/hello:1", dest)
        self.check_ok("podman push authenticates through the helper", r)

        r = self.run("podman", "logout", p)
        self.check_ok("podman logout succeeds", r)
        self.check_helper_lacks("podman logout erased the credential in the helper", p)
        r = self.run("podman", "logout", p)
        self.check_quiet_success("podman logout when not logged in: no error", r)
        r = self.run("podman", "pull", "-q", insecure, dest)
        self.check_unauthorized("podman pull without a credential: unauthorized, "
                                "not a helper error", r)

        r = self.run("podman", "login", "--cert-dir", self.tls_certs, "-u", "bob",
                     "--password-stdin", t, input=self.bob_pw + "\n")
        self.check_ok("podman login over TLS with the awkward password", r, "Login Succeeded")
        self.check_helper_has("the awkward password round-trips byte for byte (podman login)",
                              t, "bob", self.bob_pw)
        r = self.run("podman", "pull", "-q", "--cert-dir", self.tls_certs, f"{t}/e2e/hello:1")
        self.check_ok("podman pull over TLS with the awkward password", r)
        r = self.run("podman", "logout", t)
        self.check_ok("podman logout of the TLS registry", r)
        self.check_helper_lacks("podman logout erased the TLS registry's credential", t)

    def check_not_found(self, name, get):
        """get() must raise docker-py's CredentialsNotFound, not another StoreError."""
        try:
            got = get()
            self.check(name, False, f"no exception: {got!r:.80}")
        except CredentialsNotFound:
            self.check(name, True)
        except docker.credentials.StoreError as e:
            self.check(name, False, f"{type(e).__name__}: {e}")

    def scenario_docker_py(self):
        store = docker.credentials.Store("keyring")
        url = f"https://{self.plain}/"
        secret = self.bob_pw
        store.store(url, "carol", secret)
        got = store.get(url)
        self.check("docker-py Store.store then get returns the same credential (awkward password)",
                   got == {"ServerURL": url, "Username": "carol", "Secret": secret},
                   dict(got, Secret="<differs>") if got.get("Secret") != secret else got)
        listed = store.list()
        self.check("docker-py Store.list shows it", listed.get(url) == "carol", listed)
        self.check_helper_has("the helper sees docker-py's credential", url, "carol", secret)
        store.erase(url)
        self.check_not_found("docker-py get after erase raises CredentialsNotFound",
                             lambda: store.get(url))
        try:
            store.erase(url)
            self.check("docker-py erase of a missing credential: no error", True)
        except docker.credentials.StoreError as e:
            self.check("docker-py erase of a missing credential: no error", False, repr(e))
        self.check_not_found("docker-py get of a never-stored key raises CredentialsNotFound",
                             lambda: store.get("never-stored.example:5000"))
        self.check("docker-py list after erase is empty", store.list() == {}, store.list())
        # docker-py's own client code: "not logged in" is None, a helper error raises.
        self.docker_config({"credsStore": "keyring"})
        config = os.path.join(self.env["DOCKER_CONFIG"], "config.json")
        # An identity (refresh) token travels as user "<token>".
        store.store(self.tls, "<token>", "refresh-token-value")
        auth = docker.auth.load_config(config_path=config).resolve_authconfig(self.tls) or {}
        self.check('docker-py reads a "<token>" credential back as an IdentityToken',
                   auth.get("IdentityToken") == "refresh-token-value" and "Password" not in auth,
                   repr(auth))
        store.erase(self.tls)
        try:
            auth = docker.auth.load_config(config_path=config).resolve_authconfig(self.plain)
            self.check("docker-py resolve_authconfig without a credential: None (not logged in)",
                       auth is None, repr(auth))
        except docker.errors.DockerException as e:
            self.check("docker-py resolve_authconfig without a credential: None (not logged in)",
                       False, repr(e))

    def scenario_cross_client(self):
        p, t = self.plain, self.tls
        insecure = "--tls-verify=false"
        self.docker_config({"credsStore": "keyring"})
        self.auth_file({"credHelpers": {p: "keyring", t: "keyring"}})
        config = os.path.join(self.env["DOCKER_CONFIG"], "config.json")

        # docker logs in; skopeo, podman and docker-py use that credential.
        r = self.run("docker", "login", "-u", "alice", "--password-stdin", p,
                     input=self.alice_pw + "\n")
        self.check_ok("cross: docker login", r, "Login Succeeded")
        r = self.run("skopeo", "inspect", insecure, f"docker://{p}/e2e/hello:1")
        self.check_ok("cross: skopeo inspect uses docker's credential", r, self.manifest_digest)
        r = self.run("podman", "pull", "-q", insecure, f"{p}/e2e/hello:1")
        self.check_ok("cross: podman pull uses docker's credential", r)
        cfg = docker.auth.load_config(config_path=config)
        auth = cfg.resolve_authconfig(p) or {}
        self.check("cross: docker-py resolve_authconfig (credsStore) gets docker's credential",
                   auth.get("Username") == "alice" and auth.get("Password") == self.alice_pw,
                   dict(auth, Password="<hidden>"))
        everything = cfg.get_all_credentials()
        self.check("cross: docker-py get_all_credentials (list, then get each) finds it",
                   (everything.get(p) or {}).get("Password") == self.alice_pw,
                   sorted(everything))
        # skopeo logs out; docker sees it.
        r = self.run("skopeo", "logout", p)
        self.check_ok("cross: skopeo logout of docker's login", r)
        r = self.run("docker", "manifest", "inspect", "--insecure", f"{p}/e2e/hello:1")
        self.check_unauthorized("cross: docker is logged out after skopeo logout", r)

        # skopeo logs in over TLS; docker uses it; podman logs out.
        r = self.run("skopeo", "login", "--cert-dir", self.tls_certs, "-u", "bob",
                     "--password-stdin", t, input=self.bob_pw + "\n")
        self.check_ok("cross: skopeo login over TLS (awkward password)", r, "Login Succeeded")
        r = self.run("docker", "manifest", "inspect", f"{t}/e2e/hello:1")
        self.check_ok("cross: docker manifest inspect uses skopeo's credential", r,
                      self.config_digest)
        r = self.run("podman", "logout", t)
        self.check_ok("cross: podman logout of skopeo's login", r)
        self.check_helper_lacks("cross: the credential is gone for everyone", t)

        # docker-py stores under an https:// spelling; docker asks for host:port.
        store = docker.credentials.Store("keyring")
        store.store(f"https://{p}/", "alice", self.alice_pw)
        r = self.run("docker", "manifest", "inspect", "--insecure", f"{p}/e2e/hello:1")
        self.check_ok("cross: docker uses docker-py's credential stored as https://host:port/", r,
                      self.config_digest)
        r = self.run("podman", "pull", "-q", insecure, f"{p}/e2e/hello:1")
        self.check_ok("cross: podman uses docker-py's credential", r)
        r = self.run("docker", "logout", p)
        self.check_quiet_success("cross: docker logout of docker-py's credential", r)
        self.check_not_found("cross: docker-py sees docker's logout (CredentialsNotFound)",
                             lambda: store.get(f"https://{p}/"))
        self.check_no_secret_in("cross: config.json never held a secret", config,
                                self.alice_pw, self.bob_pw)
        self.check_no_secret_in("cross: the containers auth file never held a secret",
                                self.env["REGISTRY_AUTH_FILE"], self.alice_pw, self.bob_pw)

    # --- pull secrets, human commands, delegated authentication ------------------------

    def path(self, name):
        return os.path.join(self.root, name)

    def read_json(self, path):
        try:
            return json.loads(self.read_text(path) or "{}")
        except ValueError:
            return {"<not JSON>": self.read_text(path)[:200]}

    def docker_without_helpers(self, *args, input=None):
        """docker with only itself on PATH: no credsStore detection either (docker
        picks docker-credential-pass or -secretservice from PATH when credsStore
        is unset), so it keeps the password in config.json as plain "auths"."""
        bindir = self.path("docker-only-bin")
        if not os.path.isdir(bindir):
            os.makedirs(bindir)
            os.symlink(shutil.which("docker", path=self.env["PATH"]), f"{bindir}/docker")
        saved = self.env["PATH"]
        self.env["PATH"] = bindir
        try:
            return self.run("docker", *args, input=input)
        finally:
            self.env["PATH"] = saved

    def check_auths_entry(self, name, doc, key, user, secret):
        """doc["auths"][key] (or doc[key] for a .dockercfg) carries user:secret in auth."""
        entry = doc.get("auths", doc).get(key) or {}
        want = base64.b64encode(f"{user}:{secret}".encode()).decode()
        self.check(name, entry.get("auth") == want,
                   f"keys: {sorted(doc.get('auths', doc))}; {key}: auth "
                   f"{'as expected' if entry.get('auth') == want else 'differs or missing'}")

    def token_issued(self, user):
        """How many tokens the token server (the realm) issued to user so far."""
        return sum(f" issued {user} " in line for line in self.read_text(self.token_log).splitlines())

    def scenario_pull_secret_export(self):
        """export writes a pull secret that skopeo and podman use as their auth
        file, with no credential helper configured anywhere."""
        p, pw = self.plain, self.alice_pw
        insecure = "--tls-verify=false"
        ref = f"{p}/e2e/hello:1"
        r = self.cli("login", p, "-u", "alice", "--password-stdin", input=pw + "\n")
        self.check_ok("export: helper login stores the credential", r, "Login Succeeded")
        self.helper_store(self.tls, "bob", self.bob_pw)  # not selected below

        r = self.run("skopeo", "inspect", insecure, f"docker://{ref}")
        self.check_unauthorized("export: skopeo without an auth file and without credHelpers "
                                "is refused (the helper is not configured)", r)

        pull = self.path("pull-secret.json")
        r = self.cli("export", "--registry", p, "--output", pull)
        self.check_ok("export --registry --output writes the pull secret", r)
        doc = self.read_json(pull)
        mode = stat.S_IMODE(os.stat(pull).st_mode) if os.path.exists(pull) else None
        self.check("export: the file is 0600 and holds only the selected registry",
                   mode == 0o600 and sorted(doc.get("auths", {})) == [p],
                   f"mode {mode and oct(mode)}, keys {sorted(doc.get('auths', {}))}")
        self.check_auths_entry("export: auth is base64(alice:password)", doc, p, "alice", pw)
        r = self.run("skopeo", "inspect", "--authfile", pull, insecure, f"docker://{ref}")
        self.check_ok("skopeo inspect --authfile <export> authenticates", r, self.manifest_digest)
        r = self.run("podman", "pull", "-q", "--authfile", pull, insecure, ref)
        self.check_ok("podman pull --authfile <export> authenticates", r)

        # Legacy .dockercfg: containers/image reads it from ~/.dockercfg.
        dockercfg = os.path.join(self.env["HOME"], ".dockercfg")
        r = self.cli("export", "--format", "dockercfg", "--registry", p, "--output", dockercfg)
        self.check_ok("export --format dockercfg", r)
        doc = self.read_json(dockercfg)
        self.check("export --format dockercfg has no \"auths\" wrapper",
                   "auths" not in doc and p in doc, sorted(doc))
        r = self.run("skopeo", "inspect", insecure, f"docker://{ref}")
        self.check_ok("skopeo inspect authenticates with the exported ~/.dockercfg", r,
                      self.manifest_digest)
        os.remove(dockercfg)

        # A whole Secret: its decoded .dockerconfigjson is the auth file.
        r = self.cli("export", "--format", "secret", "--name", "regcred", "--registry", p)
        decoded = self.path("secret-decoded.json")
        try:
            secret = json.loads(r.out)
            payload = base64.b64decode(secret["data"][".dockerconfigjson"])
            with open(decoded, "wb") as f:
                f.write(payload)
            ok = (secret.get("type") == "kubernetes.io/dockerconfigjson"
                  and secret["metadata"]["name"] == "regcred")
        except (ValueError, KeyError, TypeError):
            ok = False
        self.check("export --format secret: a kubernetes.io/dockerconfigjson Secret", ok and r.rc == 0,
                   r.describe() if not ok else "")
        r = self.run("skopeo", "inspect", "--authfile", decoded, insecure, f"docker://{ref}")
        self.check_ok("skopeo inspect --authfile <decoded Secret> authenticates", r,
                      self.manifest_digest)
        r = self.run("podman", "pull", "-q", "--authfile", decoded, insecure, ref)
        self.check_ok("podman pull --authfile <decoded Secret> authenticates", r)

        # A wrong password in the store gives a pull secret the registry refuses.
        self.helper_store(p, "alice", "wrong-password")
        wrong = self.path("pull-secret-wrong.json")
        r = self.cli("export", "--registry", p, "--output", wrong)
        self.check_ok("export of a wrong stored password", r)
        r = self.run("skopeo", "inspect", "--authfile", wrong, insecure, f"docker://{ref}")
        self.check_unauthorized("skopeo inspect --authfile <export of a wrong password> is refused", r)
        # (a tag podman has not pulled yet, so it must ask the registry)
        r = self.run("podman", "pull", "-q", "--authfile", wrong, insecure, f"{p}/e2e/never-pulled:1")
        self.check_unauthorized("podman pull --authfile <export of a wrong password> is refused", r)
        self.helper_store(p, "alice", pw)

        # --merge into an existing pull secret: a foreign entry (with email and an
        # unknown field) stays as it was, the stale entry for p is replaced.
        foreign = {"auth": base64.b64encode(b"robot:foreign-pw").decode(),
                   "email": "ops@example.com", "x-unknown": {"keep": [1, "two"]}}
        existing = {"auths": {"foreign.example.com": foreign,
                              p: {"auth": base64.b64encode(b"alice:stale").decode()}}}
        old = self.path("existing-pull-secret.json")
        write(old, json.dumps(existing, indent=2))
        merged = self.path("merged-pull-secret.json")
        r = self.cli("export", "--merge", old, "--registry", p, "--output", merged)
        self.check_ok("export --merge of an existing pull secret", r)
        doc = self.read_json(merged)
        self.check("export --merge keeps the foreign entry as it was (email, unknown field)",
                   doc.get("auths", {}).get("foreign.example.com") == foreign
                   and sorted(doc.get("auths", {})) == sorted(["foreign.example.com", p]),
                   json.dumps({k: sorted(v) for k, v in doc.get("auths", {}).items()}))
        self.check_auths_entry("export --merge replaced the stale entry", doc, p, "alice", pw)
        r = self.run("skopeo", "inspect", "--authfile", merged, insecure, f"docker://{ref}")
        self.check_ok("skopeo inspect --authfile <merged pull secret> authenticates", r,
                      self.manifest_digest)

        # The same pull secret as a Secret made by kubectl (JSON), merged from stdin:
        # the answer is a Secret again, whose payload skopeo uses.
        r = self.run("kubectl", "create", "secret", "generic", "pull-secret", "-n",
                     "openshift-config", "--type=kubernetes.io/dockerconfigjson",
                     f"--from-file=.dockerconfigjson={old}", "--dry-run=client", "-o", "json")
        if self.check_ok("kubectl create secret --dry-run=client -o json", r):
            r = self.cli("export", "--merge", "-", "--registry", p, input=r.out)
            decoded = self.path("merged-secret-decoded.json")
            try:
                secret = json.loads(r.out)
                doc = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
                write(decoded, json.dumps(doc))
                ok = (r.rc == 0 and secret["kind"] == "Secret"
                      and secret["metadata"] == {"name": "pull-secret",
                                                 "namespace": "openshift-config"}
                      and doc["auths"].get("foreign.example.com") == foreign)
            except (ValueError, KeyError, TypeError):
                ok = False
            self.check("export --merge - of kubectl's Secret answers a Secret, foreign entry kept",
                       ok, r.describe())
            self.check_auths_entry("export --merge - of the Secret replaced the stale entry",
                                   self.read_json(decoded), p, "alice", pw)
            r = self.run("skopeo", "inspect", "--authfile", decoded, insecure, f"docker://{ref}")
            self.check_ok("skopeo inspect --authfile <merged Secret, decoded> authenticates", r,
                          self.manifest_digest)

    def scenario_pull_secret_import(self):
        """A plaintext auth file made by skopeo login without a helper, imported;
        then docker and skopeo with the helper configured use it."""
        p, t = self.plain, self.tls
        insecure = "--tls-verify=false"
        plain_auth = self.path("skopeo-plaintext-auth.json")
        r = self.run("skopeo", "login", "--authfile", plain_auth, insecure, "-u", "alice",
                     "--password-stdin", p, input=self.alice_pw + "\n")
        self.check_ok("import: skopeo login --authfile without a helper", r, "Login Succeeded")
        r = self.run("skopeo", "login", "--authfile", plain_auth, "--cert-dir", self.tls_certs,
                     "-u", "bob", "--password-stdin", t, input=self.bob_pw + "\n")
        self.check_ok("import: skopeo login --authfile over TLS (awkward password)", r,
                      "Login Succeeded")
        doc = self.read_json(plain_auth)
        self.check_auths_entry("import: skopeo wrote plaintext auth (alice)", doc, p, "alice",
                               self.alice_pw)
        self.check_auths_entry("import: skopeo wrote plaintext auth (bob)", doc, t, "bob",
                               self.bob_pw)
        self.check_helper_lacks("import: the helper was not involved in skopeo's login", p)

        r = self.cli("import", plain_auth)
        self.check_ok("import of skopeo's auth file", r)
        self.check_helper_has("import stored alice's credential", p, "alice", self.alice_pw)
        self.check_helper_has("import stored the awkward password byte for byte", t, "bob",
                              self.bob_pw)

        self.docker_config({"credsStore": "keyring"})
        self.auth_file({"credHelpers": {p: "keyring", t: "keyring"}})
        r = self.run("docker", "manifest", "inspect", "--insecure", f"{p}/e2e/hello:1")
        self.check_ok("import: docker manifest inspect authenticates with the imported credential",
                      r, self.config_digest)
        r = self.run("docker", "manifest", "inspect", f"{t}/e2e/hello:1")
        self.check_ok("import: docker manifest inspect over TLS with the imported awkward password",
                      r, self.config_digest)
        r = self.run("skopeo", "inspect", insecure, f"docker://{p}/e2e/hello:1")
        self.check_ok("import: skopeo inspect (credHelpers) with the imported credential", r,
                      self.manifest_digest)
        r = self.run("skopeo", "inspect", "--cert-dir", self.tls_certs, f"docker://{t}/e2e/hello:1")
        self.check_ok("import: skopeo inspect over TLS with the imported awkward password", r,
                      self.manifest_digest)

        # The same file wrapped by kubectl into a Secret (YAML), imported from stdin.
        r = self.cli("logout", "--all")
        self.check_ok("import: logout --all", r)
        self.check_helper_lacks("import: logout --all emptied the store", p)
        r = self.run("kubectl", "create", "secret", "generic", "regcred",
                     "--type=kubernetes.io/dockerconfigjson",
                     f"--from-file=.dockerconfigjson={plain_auth}", "--dry-run=client", "-o", "yaml")
        if self.check_ok("import: kubectl create secret --dry-run=client -o yaml", r,
                         "kubernetes.io/dockerconfigjson"):
            r = self.cli("import", "-", "--registry", t, input=r.out)
            self.check_ok("import - --registry of kubectl's YAML Secret", r)
            self.check_helper_has("import of the Secret stored the selected awkward password",
                                  t, "bob", self.bob_pw)
            self.check_helper_lacks("import --registry left the other registry out", p)
            r = self.run("skopeo", "inspect", "--cert-dir", self.tls_certs,
                         f"docker://{t}/e2e/hello:1")
            self.check_ok("import: skopeo inspect with the credential from the Secret", r,
                          self.manifest_digest)

    def scenario_configure_migrate(self):
        p, t = self.plain, self.tls
        pw = self.alice_pw
        insecure = "--tls-verify=false"
        config = os.path.join(self.env["DOCKER_CONFIG"], "config.json")
        auth = self.env["REGISTRY_AUTH_FILE"]

        # configure: docker's config.json, keeping what the user had.
        before = {"credsStore": "desktop", "detachKeys": "ctrl-e,e", "psFormat": "{{.ID}}"}
        self.docker_config(before)
        r = self.cli("configure")
        self.check_ok("configure", r)
        cfg = self.read_json(config)
        self.check('configure sets "credsStore": "keyring" and keeps the other keys',
                   cfg == dict(before, credsStore="keyring"), json.dumps(cfg))
        r = self.run("docker", "login", "-u", "alice", "--password-stdin", p, input=pw + "\n")
        self.check_ok("configure: docker login --password-stdin", r, "Login Succeeded")
        self.check_helper_has("configure: docker login went through the helper", p, "alice", pw)
        self.check_no_secret_in("configure: config.json holds no secret", config, pw)
        r = self.run("docker", "logout", p)
        self.check_quiet_success("configure: docker logout", r)
        self.check_helper_lacks("configure: docker logout went through the helper", p)

        # configure --podman: the containers auth file.
        auth_before = {"credHelpers": {"quay.io": "other-helper"}}
        self.auth_file(auth_before)
        r = self.cli("configure", "--podman", "--registry", p, "--registry", t)
        self.check_ok("configure --podman --registry", r)
        doc = self.read_json(auth)
        self.check("configure --podman adds credHelpers entries and keeps the others",
                   doc.get("credHelpers") == {"quay.io": "other-helper", p: "keyring",
                                              t: "keyring"}, json.dumps(doc))
        r = self.run("podman", "login", insecure, "-u", "alice", "--password-stdin", p,
                     input=pw + "\n")
        self.check_ok("configure --podman: podman login", r, "Login Succeeded")
        self.check_helper_has("configure --podman: podman login went through the helper", p,
                              "alice", pw)
        r = self.run("skopeo", "logout", p)
        self.check_ok("configure --podman: skopeo logout", r)
        self.check_helper_lacks("configure --podman: skopeo logout went through the helper", p)
        r = self.run("skopeo", "login", "--cert-dir", self.tls_certs, "-u", "bob",
                     "--password-stdin", t, input=self.bob_pw + "\n")
        self.check_ok("configure --podman: skopeo login over TLS", r, "Login Succeeded")
        self.check_helper_has("configure --podman: skopeo login went through the helper", t,
                              "bob", self.bob_pw)
        self.check_no_secret_in("configure --podman: the auth file holds no secret", auth, pw,
                                self.bob_pw)
        r = self.run("podman", "logout", t)
        self.check_ok("configure --podman: podman logout", r)
        self.check_helper_lacks("configure --podman: podman logout went through the helper", t)

        # unconfigure restores what configure replaced.
        def without_empty_auths(d):  # docker login/logout leave "auths": {}
            return {k: v for k, v in d.items() if not (k == "auths" and v == {})}
        r = self.cli("unconfigure")
        self.check_ok("unconfigure", r)
        cfg = self.read_json(config)
        self.check("unconfigure restores config.json (credsStore desktop again)",
                   without_empty_auths(cfg) == before, json.dumps(cfg))
        r = self.cli("unconfigure", "--podman")
        self.check_ok("unconfigure --podman", r)
        doc = self.read_json(auth)
        self.check("unconfigure --podman restores the auth file",
                   without_empty_auths(doc) == auth_before, json.dumps(doc))

        # migrate: logins made without any helper leave plaintext behind.
        for path in (config, config + ".bak", auth, auth + ".bak"):
            if os.path.exists(path):
                os.remove(path)
        r = self.docker_without_helpers("login", "-u", "alice", "--password-stdin", p,
                                        input=pw + "\n")
        self.check_ok("migrate: docker login without any helper", r, "Login Succeeded")
        self.check_auths_entry("migrate: docker wrote the password into config.json",
                               self.read_json(config), p, "alice", pw)
        r = self.run("skopeo", "login", "--cert-dir", self.tls_certs, "-u", "bob",
                     "--password-stdin", t, input=self.bob_pw + "\n")
        self.check_ok("migrate: skopeo login without a helper", r, "Login Succeeded")
        self.check_auths_entry("migrate: skopeo wrote the password into the auth file",
                               self.read_json(auth), t, "bob", self.bob_pw)
        self.check_helper_lacks("migrate: nothing in the helper yet", p)
        r = self.cli("migrate")
        self.check("migrate refuses before configure", r.rc == 1 and "configure" in r.err,
                   r.describe())
        r = self.cli("configure")
        self.check_ok("migrate: configure", r)
        r = self.cli("configure", "--podman", "--registry", t)
        self.check_ok("migrate: configure --podman --registry", r)
        r = self.cli("migrate")
        self.check_ok("migrate", r)
        self.check_helper_has("migrate moved docker's password into the store", p, "alice", pw)
        self.check_helper_has("migrate moved skopeo's awkward password into the store", t, "bob",
                              self.bob_pw)
        cfg = self.read_json(config)
        self.check('migrate leaves the {} marker in config.json',
                   cfg.get("auths", {}).get(p) == {} and cfg.get("credsStore") == "keyring",
                   json.dumps(cfg))
        for path in (config, config + ".bak", auth, auth + ".bak"):
            self.check_no_secret_in(f"migrate: {os.path.basename(path)} holds no secret", path,
                                    pw, self.bob_pw)
        r = self.run("docker", "manifest", "inspect", "--insecure", f"{p}/e2e/hello:1")
        self.check_ok("migrate: docker manifest inspect authenticates through get", r,
                      self.config_digest)
        r = self.run("skopeo", "inspect", "--cert-dir", self.tls_certs, f"docker://{t}/e2e/hello:1")
        self.check_ok("migrate: skopeo inspect authenticates through get", r, self.manifest_digest)

    def scenario_delegated_auth(self):
        """A registry with token auth whose realm is another host (the token
        server on 127.0.0.2): discover, login --discover, clients, get of the
        auth server, export, logout."""
        reg, pw = self.token_reg, self.alice_pw
        auth_key = f"http://{self.auth_host}"  # an http:// realm keeps its scheme
        ref = f"{reg}/e2e/hello:1"
        insecure = "--tls-verify=false"
        self.docker_config({"credsStore": "keyring"})
        self.auth_file({"credHelpers": {reg: "keyring"}})

        r = self.run("skopeo", "inspect", insecure, f"docker://{ref}")
        self.check_unauthorized("delegated: skopeo without a credential is refused", r)

        r = self.cli("pair", "discover", reg, "--dry-run")
        self.check_ok("pair discover --dry-run reports the realm and its host", r,
                      f"http://{self.auth_host}/token", f"auth server: {auth_key}")
        r = self.cli("pair", "ls", "--json")
        self.check("pair discover --dry-run records nothing",
                   r.rc == 0 and self.auth_host not in r.out, r.describe())

        # A registry with Basic auth does not delegate: nothing is paired or stored.
        r = self.cli("pair", "discover", self.plain, "--dry-run")
        self.check("pair discover of the htpasswd registry: Basic, does not delegate (exit 1)",
                   r.rc == 1 and "Basic authentication" in r.err
                   and "does not delegate" in r.err, r.describe())
        r = self.cli("login", self.plain, "-u", "alice", "--password-stdin", "--discover",
                     input=pw + "\n")
        self.check("login --discover of the htpasswd registry fails (exit 1)",
                   r.rc == 1 and "\nerror: " in "\n" + r.err, r.describe())
        self.check_helper_lacks("login --discover that failed stored nothing", self.plain)

        r = self.cli("login", reg, "-u", "alice", "--password-stdin", "--discover",
                     input=pw + "\n")
        self.check_ok("login --discover stores and pairs", r, "Login Succeeded",
                      f"auth server {auth_key}")
        self.check_helper_has("login --discover stored the registry's credential", reg,
                              "alice", pw)
        self.check_helper_has("get of the auth server answers with the registry's credential",
                              auth_key, "alice", pw)
        r = self.cli("pair", "ls", "--json")
        self.check("pair ls shows the pair", r.rc == 0 and reg in r.out and auth_key in r.out,
                   r.describe())

        issued = self.token_issued("alice")
        r = self.run("skopeo", "inspect", insecure, f"docker://{ref}")
        self.check_ok("delegated: skopeo inspect authenticates through the helper and the realm",
                      r, self.manifest_digest)
        self.check("delegated: the realm issued skopeo's token to alice",
                   self.token_issued("alice") > issued, self.read_text(self.token_log)[-400:])
        issued = self.token_issued("alice")
        r = self.run("docker", "manifest", "inspect", "--insecure", ref)
        self.check_ok("delegated: docker manifest inspect authenticates through the helper "
                      "and the realm", r, self.config_digest)
        self.check("delegated: the realm issued docker's token to alice",
                   self.token_issued("alice") > issued, self.read_text(self.token_log)[-400:])
        issued = self.token_issued("alice")
        r = self.run("podman", "pull", "-q", insecure, ref)
        self.check_ok("delegated: podman pull authenticates through the helper and the realm", r)
        self.check("delegated: the realm issued podman's token to alice",
                   self.token_issued("alice") > issued, self.read_text(self.token_log)[-400:])

        # docker logout is a protocol erase: the credential goes, the pair stays
        # (the auth server then answers nothing), and docker login revives it.
        r = self.run("docker", "logout", reg)
        self.check_quiet_success("delegated: docker logout", r)
        self.check_helper_lacks("delegated: docker logout erased the registry's credential", reg)
        self.check_helper_lacks("delegated: without it the auth server answers nothing", auth_key)
        r = self.cli("pair", "ls", "--json")
        self.check("delegated: docker logout keeps the pair",
                   r.rc == 0 and reg in r.out and auth_key in r.out, r.describe())
        r = self.run("docker", "login", "-u", "alice", "--password-stdin", reg, input=pw + "\n")
        self.check_ok("delegated: docker login through the realm", r, "Login Succeeded")
        self.check_helper_has("delegated: docker login stored through the helper", reg, "alice", pw)
        self.check_helper_has("delegated: after docker login the auth server answers again",
                              auth_key, "alice", pw)
        r = self.run("docker", "login", "-u", "alice", "--password-stdin", reg,
                     input="wrong-password\n")
        self.check("delegated: docker login with a wrong password fails at the realm",
                   r.rc != 0 and "Login Succeeded" not in r.out, r.describe())
        self.check_helper_has("delegated: a failed docker login keeps the stored credential",
                              reg, "alice", pw)

        # The realm really checks the password.
        self.helper_store(reg, "alice", "wrong-password")
        r = self.run("skopeo", "inspect", insecure, f"docker://{ref}")
        self.check_unauthorized("delegated: a wrong stored password is refused by the realm "
                                "(skopeo)", r)
        r = self.run("docker", "manifest", "inspect", "--insecure", ref)
        text = (r.out + r.err).lower()
        self.check("delegated: a wrong stored password is refused by the realm (docker)",
                   r.rc != 0 and not any(m in text for m in HELPER_ERROR_MARKERS), r.describe())
        self.helper_store(reg, "alice", pw)
        self.check_helper_has("delegated: the pair outlives a protocol store", auth_key,
                              "alice", pw)

        pull = self.path("delegated-pull-secret.json")
        r = self.cli("export", "--registry", reg, "--output", pull)
        self.check_ok("delegated: export --registry", r)
        doc = self.read_json(pull)
        self.check("delegated: export carries the registry and its auth server",
                   sorted(doc.get("auths", {})) == sorted([reg, auth_key]),
                   sorted(doc.get("auths", {})))
        self.check_auths_entry("delegated: the auth server's entry is the registry's credential",
                               doc, auth_key, "alice", pw)
        r = self.run("skopeo", "inspect", "--authfile", pull, insecure, f"docker://{ref}")
        self.check_ok("delegated: skopeo inspect --authfile <export> authenticates", r,
                      self.manifest_digest)
        r = self.run("podman", "pull", "-q", "--authfile", pull, insecure, ref)
        self.check_ok("delegated: podman pull --authfile <export> authenticates", r)

        r = self.cli("logout", reg)
        self.check_ok("delegated: logout", r)
        self.check_helper_lacks("delegated: logout removed the registry's credential", reg)
        self.check_helper_lacks("delegated: logout removed the auth server's entry", auth_key)
        r = self.cli("pair", "ls", "--json")
        self.check("delegated: logout removed the pair", r.rc == 0 and reg not in r.out,
                   r.describe())
        r = self.run("skopeo", "inspect", insecure, f"docker://{ref}")
        self.check_unauthorized("delegated: skopeo (credHelpers) is refused after logout", r)
        r = self.run("skopeo", "inspect", "--authfile", pull, insecure, f"docker://{ref}")
        self.check_ok("delegated: the exported pull secret still works after logout "
                      "(it does not go through the helper)", r, self.manifest_digest)

    # --- store-specific evidence ------------------------------------------------------

    def store_file(self):
        return os.path.join(self.env["XDG_DATA_HOME"], HELPER, "store.json")

    def check_file_store_private(self):
        path = self.store_file()
        try:
            fmode = stat.S_IMODE(os.stat(path).st_mode)
            dmode = stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode)
        except FileNotFoundError:
            self.check("file store: store.json exists", False, f"{path} is missing")
            return
        self.check("file store: store.json is 0600 in a 0700 directory",
                   fmode == 0o600 and dmode == 0o700, f"file {fmode:o}, dir {dmode:o}")

    def check_secret_in_keyring(self, url, secret):
        self.check_no_secret_in("secret-service: store.json holds no secret", self.store_file(),
                                secret)
        r = self.run("secret-tool", "search", "--all", "service",
                     self.env["DOCKER_CREDENTIAL_KEYRING_SERVICE"])
        self.check("secret-service: gnome-keyring holds the secret",
                   r.rc == 0 and f"secret = {secret}\n" in r.out and url in r.out + r.err,
                   f"exit {r.rc}, {len(r.out)} bytes of output")

    # --- driver -------------------------------------------------------------------------

    def reset(self):
        """Each scenario starts with an empty helper store and fresh client configs."""
        listed = self.helper_list()
        for url in listed if isinstance(listed, dict) else ():
            self.helper("erase", url)
        for path in (os.path.join(self.env["DOCKER_CONFIG"], "config.json"),
                     self.env["REGISTRY_AUTH_FILE"]):
            if os.path.exists(path):
                os.remove(path)

    def main(self):
        scenarios = [
            self.scenario_helper,
            self.scenario_docker,
            self.scenario_skopeo,
            self.scenario_podman,
            self.scenario_docker_py,
            self.scenario_cross_client,
            self.scenario_pull_secret_export,
            self.scenario_pull_secret_import,
            self.scenario_configure_migrate,
            self.scenario_delegated_auth,
        ]
        for scenario in scenarios:
            try:
                self.reset()
                scenario()
            except Exception:  # a crash is one failed check, the others still run
                self.check(f"{scenario.__name__} ran to the end", False, traceback.format_exc())
        with open(self.results, "w") as f:
            f.write(f"{self.passed} {self.failed}\n")
        return 0 if self.failed == 0 else 1


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, choices=["file", "secret-service"])
    parser.add_argument("--results", required=True)
    args = parser.parse_args()
    sys.exit(Suite(args.store, args.results).main())
