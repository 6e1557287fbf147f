#!/usr/bin/env python3
"""Writes a tiny single-layer OCI image layout (no daemon, no network).

    oci_layout.py DIR TAG   -> prints "<manifest digest> <config digest>"

skopeo copies it into the test registries (`oci:DIR:TAG`). The bytes are
deterministic, so every run pushes the same digests.
"""

import gzip
import hashlib
import io
import json
import os
import sys
import tarfile


def main() -> None:
    out, tag = sys.argv[1], sys.argv[2]
    os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)

    def blob(data: bytes) -> dict:
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(out, "blobs", "sha256", digest), "wb") as f:
            f.write(data)
        return {"digest": "sha256:" + digest, "size": len(data)}

    payload = b"hello from docker-credential-keyring e2e\n"
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = len(payload)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(payload))
    raw = tar_bytes.getvalue()
    layer = blob(gzip.compress(raw, mtime=0))
    config = blob(
        json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {},
                "rootfs": {
                    "type": "layers",
                    "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()],
                },
            },
            sort_keys=True,
        ).encode()
    )
    manifest = blob(
        json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
                "layers": [
                    {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}
                ],
            },
            sort_keys=True,
        ).encode()
    )
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(
            {
                "schemaVersion": 2,
                "manifests": [
                    {
                        "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "annotations": {"org.opencontainers.image.ref.name": tag},
                        **manifest,
                    }
                ],
            },
            f,
        )
    print(manifest["digest"], config["digest"])


if __name__ == "__main__":
    main()
