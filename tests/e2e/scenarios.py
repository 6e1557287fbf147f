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
        self.layout = os.environ["E2E_OCI_LAYOUT"]
        self.manifest_digest = os.environ["E2E_MANIFEST_DIGEST"]
        self.config_digest = os.environ["E2E_CONFIG_DIGEST"]
        self.alice_pw = os.environ["E2E_ALICE_PASSWORD"]
        self.bob_pw = os.environ["E2E_BOB_PASSWORD"]
        self.root = os.path.join(os.environ["E2E_TMP"], "home-" + store)
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
