"""Encryption of personal values at rest: AES-256-GCM with keys from configuration, and their rotation.

Every value is sealed on its own with a fresh 96-bit nonce, and with its kind as associated data, so a
ciphertext moved to a row of another kind no longer opens. A stored value is ``nonce || ciphertext+tag``
beside the id of the key that sealed it; the keyring knows every key that may still be in use and seals
with the first. Rotation is two steps: a new key goes first (``new_key``), then ``privacy.services
.reencrypt_values`` moves every value under it, after which older keys can be dropped.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

NONCE_BYTES = 12


class KeyMissing(Exception):
    """A value was sealed with a key this keyring no longer holds."""


@dataclass(frozen=True)
class Keyring:
    keys: tuple[tuple[str, bytes], ...]  # (id, 32-byte key), the one that seals first

    @property
    def current(self) -> str:
        return self.keys[0][0]

    def _aead(self, key_id: str) -> AESGCM:
        for kid, key in self.keys:
            if kid == key_id:
                return AESGCM(key)
        raise KeyMissing(key_id)

    def seal(self, plaintext: str, context: str) -> tuple[str, bytes]:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead(self.current).encrypt(nonce, plaintext.encode(), context.encode())
        return self.current, nonce + sealed

    def open(self, key_id: str, blob: bytes | memoryview, context: str) -> str:
        blob = bytes(blob)
        try:
            plain = self._aead(key_id).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context.encode())
        except InvalidTag as exc:
            raise ValueError("the value does not open with its key: it was altered or moved") from exc
        return plain.decode()


def _parse(entries: list[tuple[str, str]], where: str) -> Keyring:
    keys = []
    for kid, encoded in entries:
        try:
            key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except ValueError as exc:
            raise ImproperlyConfigured(f"{where}: key {kid!r} is not base64") from exc
        if len(key) != 32:
            raise ImproperlyConfigured(f"{where}: key {kid!r} must be 32 bytes (AES-256), not {len(key)}")
        keys.append((kid, key))
    if not keys:
        raise ImproperlyConfigured(f"{where}: no key")
    if len({kid for kid, _k in keys}) != len(keys):
        raise ImproperlyConfigured(f"{where}: a key id is used twice")
    return Keyring(tuple(keys))


def generate_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def _read_file(path: Path) -> list[tuple[str, str]]:
    entries = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            kid, _, encoded = line.strip().partition(" ")
            entries.append((kid, encoded.strip()))
    return entries


def _write_file(path: Path, entries: list[tuple[str, str]], *, create: bool = False) -> None:
    """Write the key file whole or not at all; with ``create``, only if no other process made it first
    (the web server and its workers start together, and must all hold the same first key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "# Forewarn's keys for personal values, newest first. Keep a copy: without them nothing opens.\n"
    text += "".join(f"{kid} {encoded}\n" for kid, encoded in entries)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.chmod(0o600)
    if create:
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    else:
        tmp.replace(path)


@lru_cache(maxsize=1)
def keyring() -> Keyring:
    """The configured keys (``FOREWARN_PII_KEYS``), else the key file, made on first use."""
    configured = settings.FOREWARN_PII_KEYS
    if configured:
        entries = []
        for item in configured.split(","):
            kid, sep, encoded = item.strip().partition(":")
            if not sep:
                raise ImproperlyConfigured("FOREWARN_PII_KEYS: each key is id:base64")
            entries.append((kid, encoded))
        return _parse(entries, "FOREWARN_PII_KEYS")
    path = Path(settings.FOREWARN_PII_KEY_FILE)
    if not path.exists():
        _write_file(path, [("k1", generate_key())], create=True)
    return _parse(_read_file(path), str(path))


def new_key() -> str:
    """Put a fresh key first in the key file and return its id (with configured keys: refuse)."""
    if settings.FOREWARN_PII_KEYS:
        raise ImproperlyConfigured(
            "The keys come from FOREWARN_PII_KEYS: put a new id:key first there, restart, then re-encrypt."
        )
    current = keyring()
    path = Path(settings.FOREWARN_PII_KEY_FILE)
    entries = _read_file(path)
    numbers = [int(kid[1:]) for kid, _e in entries if kid[:1] == "k" and kid[1:].isdigit()]
    kid = f"k{max(numbers, default=0) + 1}"
    assert kid not in {k for k, _b in current.keys}
    _write_file(path, [(kid, generate_key()), *entries])
    keyring.cache_clear()
    return kid


def drop_keys_except(keep: set[str]) -> list[str]:
    """Remove from the key file every key not in ``keep``; returns the ids dropped."""
    path = Path(settings.FOREWARN_PII_KEY_FILE)
    entries = _read_file(path)
    kept = [(kid, e) for kid, e in entries if kid in keep]
    if not kept or kept[0][0] != entries[0][0]:
        raise ValueError("the current key must stay")
    _write_file(path, kept)
    keyring.cache_clear()
    return [kid for kid, _e in entries if kid not in keep]
