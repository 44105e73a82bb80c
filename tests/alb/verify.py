#!/usr/bin/env python3
"""Independent verifier for `x-amzn-oidc-data`, written the way AWS documents it for
an Application Load Balancer (ELB guide, "User claims encoding and signature
verification"; aws-jwt-verify's AlbJwtVerifier): read the `kid` from the header,
require a UUID `kid`, ES256, the pinned `signer` and `client`, fetch the PEM public key
by `kid`, verify ES256 over the exact received bytes (padding included), check `exp`.

usage: verify.py DATA KEY_BASE_URL SIGNER CLIENT  -> prints the payload JSON, exit 0
"""
import base64
import json
import sys
import time
import urllib.request
import uuid

import jwt  # PyJWT, used only for its JOSE-format ECDSA signature conversion below
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url(segment: str) -> bytes:
    # The ALB pads its segments; be indifferent to padding when decoding.
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def main() -> int:
    data, key_base, signer, client = sys.argv[1:5]
    header_b64, payload_b64, signature_b64 = data.split(".")
    header = json.loads(b64url(header_b64))
    if header.get("alg") != "ES256":
        raise SystemExit(f"alg {header.get('alg')!r} is not ES256")
    kid = str(uuid.UUID(header["kid"]))  # a UUID, or the key URL could be steered
    if header.get("signer") != signer:
        raise SystemExit(f"signer {header.get('signer')!r} is not {signer!r}")
    if header.get("client") != client:
        raise SystemExit(f"client {header.get('client')!r} is not {client!r}")
    if int(header.get("exp", 0)) < time.time():
        raise SystemExit("expired")
    pem = urllib.request.urlopen(f"{key_base}/{kid}", timeout=5).read()
    key = serialization.load_pem_public_key(pem)
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
    raw = b64url(signature_b64)
    if len(raw) != 64:
        raise SystemExit("signature is not a 64-byte JOSE r||s value")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    signed = f"{header_b64}.{payload_b64}".encode()
    key.verify(der, signed, ec.ECDSA(hashes.SHA256()))
    payload = json.loads(b64url(payload_b64))
    if int(payload.get("exp", 0)) < time.time():
        raise SystemExit("payload expired")
    # PyJWT agrees on the signature too (it accepts the padded segments).
    jwt.decode(data, key=pem, algorithms=["ES256"], options={"verify_aud": False})
    print(json.dumps(payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
