"""The vault's Ed25519 signing key, which signs sealed sessions (:meth:`VaultMemory.sign`).

The private key is an ordinary vault entry (:data:`KEY_NAME`, encrypted like every other),
made on first use; its metadata names its kind and holds the public key. It never leaves
the vault: :meth:`VaultMemory.retrieve` refuses it, search never shows its value, and the
only thing done with it is signing. Deleting the entry does not break seals already made:
they carry their public key.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

KEY_NAME = "activemirror.signing-key"
KIND = "ed25519-signing-key"


def is_signing_key(metadata: dict[str, Any]) -> bool:
    return metadata.get("kind") == KIND


def new_key() -> tuple[str, dict[str, Any]]:
    """A fresh key: the private key's value (hex) and the entry's metadata."""
    private = Ed25519PrivateKey.generate()
    raw = private.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return raw.hex(), {"kind": KIND, "public_key": _public_hex(private)}


def sign(private_hex: str, payload: bytes) -> tuple[str, str]:
    """``(public key, signature)`` of ``payload``, both hex."""
    private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(private_hex))
    return _public_hex(private), private.sign(payload).hex()


def _public_hex(private: Ed25519PrivateKey) -> str:
    return (
        private.public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        .hex()
    )
