#!/usr/bin/env python3
"""A tiny Docker token server (the `realm` of a registry using token auth).

    token_server.py --listen HOST:PORT --port-file FILE --users FILE --key KEY.pem \
        --cert CERT.pem --issuer ISSUER --service SERVICE [--log FILE] [--acl FILE]

PORT 0 takes a free port; the port is written to --port-file once listening.
The log has one line per request and one "issued USER SCOPES" line per token,
so the tests can tell that a client really logged in here.

tests/e2e/run starts it on another loopback address than the registry, so the
registry (distribution with REGISTRY_AUTH=token) sends every client here to log
in: the "delegated authentication" of the README's pairs section.

GET /token?service=S&scope=repository:NAME:pull,push[&scope=...] with HTTP
Basic credentials answers {"token", "access_token", "expires_in", "issued_at"}
when the user and password are in FILE (lines "user:sha256hex(password)"),
401 with a Basic challenge otherwise (no anonymous access). Without --acl,
every requested scope is granted to an authenticated user. With --acl FILE
(lines "USER REPOSITORY ACTIONS", ACTIONS comma-separated, `*` wildcards in
USER and REPOSITORY as in shell globs, `*` in ACTIONS for all, `#` comments),
a user gets the requested actions the matching lines grant and no others: as
distribution's token servers (and Docker Hub) do, a scope the user may not have
is not refused, it comes back with fewer (or no) actions in "access". The file
is re-read on every request.

POST /token with the OAuth2 refresh_token grant (form grant_type=refresh_token,
refresh_token, service, client_id), as docker sends an identity token, answers
{"access_token", "refresh_token", ...} when the refresh token is in
--refresh-tokens FILE (lines "token user"), 400 {"error": "invalid_grant"}
otherwise.

The token is what distribution 2.8 (registry/auth/token/token.go) verifies:
a JWS in compact form, header {"typ":"JWT","alg":"RS256","x5c":[cert]}, claims
iss (== REGISTRY_AUTH_TOKEN_ISSUER), aud (== REGISTRY_AUTH_TOKEN_SERVICE), exp,
nbf, iat, jti, sub, and "access": [{"type","name","actions"}]. The registry finds
the signing key from the header in the order x5c, jwk, kid; a `kid` must be the
libtrust fingerprint of a key in REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE, so we send
the certificate itself in `x5c` (standard base64 DER), which verifies against
that bundle (it holds the same self-signed certificate).
"""

import argparse
import base64
import fnmatch
import hashlib
import hmac
import json
import os
import secrets
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Issuer:
    def __init__(self, key_path, cert_path, issuer, service):
        with open(key_path, "rb") as f:
            self.key = serialization.load_pem_private_key(f.read(), password=None)
        with open(cert_path, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        self.x5c = [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]
        self.issuer = issuer
        self.service = service

    def token(self, subject, access):
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": self.x5c}
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        signing_input = ".".join(
            b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
        )
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(signature)


def parse_scopes(values):
    """repository:e2e/hello:pull,push -> {"type","name","actions"} (the name may hold ':')."""
    access = []
    for value in values:
        for scope in value.split(" "):
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind and name:
                access.append({"type": kind, "name": name, "actions": actions.split(",")})
    return access


def load_acl(path):
    """[(user glob, repository glob, {actions})] from an --acl file."""
    rules = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.split("#", 1)[0].split()
            if len(fields) == 3:
                rules.append((fields[0], fields[1], set(fields[2].split(","))))
    return rules


def restrict(access, user, acl_path):
    """`access` with only the actions the ACL grants `user` (all without an ACL)."""
    if acl_path is None:
        return access
    rules = load_acl(acl_path)
    out = []
    for entry in access:
        allowed = set()
        for who, repo, actions in rules:
            if fnmatch.fnmatchcase(user, who) and fnmatch.fnmatchcase(entry["name"], repo):
                allowed |= actions
        kept = [a for a in entry["actions"] if a in allowed or "*" in allowed]
        out.append({**entry, "actions": kept})
    return out


def load_users(path):
    users = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            user, sep, digest = line.rstrip("\n").rpartition(":")
            if sep:
                users[user] = digest
    return users


def make_handler(issuer, users_path, log_path, refresh_path=None, acl_path=None):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):  # one line per request, to our log
            with open(log_path, "a", encoding="utf-8") as f:
                f.write("%s %s\n" % (self.address_string(), fmt % args))

        def reply(self, code, body, headers=()):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def user(self):
            """The authenticated user name, or None."""
            value = self.headers.get("Authorization", "")
            if not value.lower().startswith("basic "):
                return None
            try:
                user, sep, password = base64.b64decode(value[6:].strip()).decode().partition(":")
            except ValueError:
                return None
            expected = load_users(users_path).get(user)  # re-read: tests may change it
            given = hashlib.sha256(password.encode()).hexdigest()
            return user if sep and expected and hmac.compare_digest(expected, given) else None

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            if url.path != "/token":
                return self.reply(404, {"errors": [{"code": "NOT_FOUND"}]})
            query = urllib.parse.parse_qs(url.query)
            if query.get("service", [issuer.service]) != [issuer.service]:
                return self.reply(400, {"errors": [{"code": "UNSUPPORTED", "message": "service"}]})
            user = self.user()
            if user is None:
                return self.reply(401, {"errors": [{"code": "UNAUTHORIZED",
                                                    "message": "authentication required"}]},
                                  [("WWW-Authenticate", 'Basic realm="dck-e2e-token"')])
            access = restrict(parse_scopes(query.get("scope", [])), user, acl_path)
            token = issuer.token(user, access)
            self.log_message("issued %s %s", user,
                             " ".join(f"{a['name']}:{','.join(a['actions'])}" for a in access))
            self.reply(200, {"token": token, "access_token": token, "expires_in": 300,
                             "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})

        def do_POST(self):
            url = urllib.parse.urlsplit(self.path)
            if url.path != "/token":
                return self.reply(404, {"errors": [{"code": "NOT_FOUND"}]})
            length = min(int(self.headers.get("Content-Length", "0") or 0), 65536)
            form = urllib.parse.parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
            if form.get("grant_type") != ["refresh_token"]:
                return self.reply(400, {"error": "unsupported_grant_type"})
            if form.get("service", [issuer.service]) != [issuer.service]:
                return self.reply(400, {"error": "invalid_request"})
            given = form.get("refresh_token", [""])[0]
            user = None
            if refresh_path:
                with open(refresh_path, encoding="utf-8") as f:
                    for line in f:
                        token, _, name = line.strip().partition(" ")
                        if token and hmac.compare_digest(token, given):
                            user = name
            if user is None:
                return self.reply(400, {"error": "invalid_grant"})
            token = issuer.token(user, [])
            self.log_message("issued %s (refresh token)", user)
            self.reply(200, {"access_token": token, "refresh_token": given, "expires_in": 300})

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--users", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--service", required=True)
    parser.add_argument("--log", default=os.devnull)
    parser.add_argument("--refresh-tokens", default=None)
    parser.add_argument("--acl", default=None)
    args = parser.parse_args()
    host, _, port = args.listen.rpartition(":")
    issuer = Issuer(args.key, args.cert, args.issuer, args.service)
    server = ThreadingHTTPServer((host, int(port)), make_handler(issuer, args.users, args.log, args.refresh_tokens, args.acl))
    with open(args.port_file + ".tmp", "w") as f:
        f.write(f"{server.server_address[1]}\n")
    os.rename(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
