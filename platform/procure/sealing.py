"""Sealing: authenticated encryption (AES-256-GCM, ``cryptography``) of bid
content and attachments under keys from configuration, never from the
database.

A sealed blob names its key: ``b"S1" | len(kid) | kid | nonce(12) | ciphertext+tag``,
so keys can be rotated (new data sealed under ``SEAL_KEY_ID``, old data still
opened with the old key as long as it is listed in ``SEAL_KEYS``). The
associated data binds a blob to its place (e.g. ``bid:7:version:2``): a blob
copied onto another row does not open.
"""
from __future__ import annotations

import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"S1"


class SealError(Exception):
    """A blob that does not open: unknown key, altered, or moved."""


def seal(plaintext: bytes, *, aad: str, keys: Mapping[str, bytes], key_id: str) -> bytes:
    kid = key_id.encode("ascii")
    nonce = os.urandom(12)
    ciphertext = AESGCM(keys[key_id]).encrypt(nonce, plaintext, aad.encode())
    return MAGIC + bytes([len(kid)]) + kid + nonce + ciphertext


def key_id_of(blob: bytes) -> str:
    if not blob.startswith(MAGIC) or len(blob) < 3:
        raise SealError("not a sealed blob")
    n = blob[2]
    return blob[3:3 + n].decode("ascii")


def unseal(blob: bytes, *, aad: str, keys: Mapping[str, bytes]) -> bytes:
    kid = key_id_of(blob)
    key = keys.get(kid)
    if key is None:
        raise SealError(f"sealing key {kid!r} is not configured")
    start = 3 + len(kid)
    nonce, ciphertext = blob[start:start + 12], blob[start + 12:]
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, aad.encode())
    except InvalidTag:
        raise SealError("sealed blob altered or moved") from None
