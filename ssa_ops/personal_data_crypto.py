"""The ciphers and the keyed hash of personal information (keys: personal_data_keys.py).

A value is stored as `pd1:<key id>:<base64 of nonce + AES-256-GCM ciphertext>`, the kind of
value bound in as associated data (a phone's ciphertext does not decrypt as an ID number); a
document as `SSAPD1` + key id + nonce + ciphertext. The key id says which of the configured
keys decrypts it, so keys can be rotated.
"""

import base64
import hashlib
import hmac
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ssa_ops.personal_data_keys import MISSING_MESSAGE, key_decode, key_id
from ssa_ops.personal_values import PersonalValue, personal_kind

TOKEN_PREFIX = "pd1:"
DOCUMENT_MAGIC = b"SSAPD1"


@dataclass(frozen=True)
class KeyRing:
    keys: dict  # key id -> raw key, the encrypting key first
    current_id: str
    hash_key: bytes


_RINGS: dict[tuple, KeyRing] = {}


def key_ring() -> KeyRing:
    """The configured keys (read again whenever the settings change, as tests do)."""
    keys = settings.PERSONAL_DATA_KEYS
    if isinstance(keys, str):
        keys = [item.strip() for item in keys.split(",") if item.strip()]
    configured = (tuple(keys), settings.PERSONAL_DATA_HASH_KEY)
    ring = _RINGS.get(configured)
    if ring is None:
        if not configured[0] or not configured[1]:
            raise ImproperlyConfigured(MISSING_MESSAGE)
        raws = [key_decode(key) for key in configured[0]]
        ring = KeyRing(
            keys={key_id(raw): raw for raw in raws},
            current_id=key_id(raws[0]),
            hash_key=key_decode(configured[1], name="PERSONAL_DATA_HASH_KEY"),
        )
        _RINGS.clear()
        _RINGS[configured] = ring
    return ring


def _key(ring: KeyRing, identifier: str) -> bytes:
    try:
        return ring.keys[identifier]
    except KeyError:
        raise ImproperlyConfigured(
            f"Personal information was encrypted with key {identifier}, which is not among "
            "PERSONAL_DATA_KEYS: add it back (after the current key) to read it."
        ) from None


def value_encrypt(kind: str, clear: str) -> str:
    ring = key_ring()
    nonce = AESGCM.generate_key(bit_length=128)[:12]
    sealed = AESGCM(ring.keys[ring.current_id]).encrypt(nonce, clear.encode(), kind.encode())
    return f"{TOKEN_PREFIX}{ring.current_id}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def is_token(value) -> bool:
    return isinstance(value, str) and value.startswith(TOKEN_PREFIX)


def token_key_id(token: str) -> str:
    return token[len(TOKEN_PREFIX) :].split(":", 1)[0]


def value_decrypt(kind: str, token: str) -> str:
    if not is_token(token):
        return token  # written before the field was encrypted; the rotate command encrypts it
    identifier, _sep, payload = token[len(TOKEN_PREFIX) :].partition(":")
    data = base64.urlsafe_b64decode(payload.encode())
    try:
        clear = AESGCM(_key(key_ring(), identifier)).decrypt(data[:12], data[12:], kind.encode())
    except InvalidTag as error:
        raise ValueError("Personal information does not decrypt: altered or wrong kind") from error
    return clear.decode()


def document_is_encrypted(data: bytes) -> bool:
    return data[: len(DOCUMENT_MAGIC)] == DOCUMENT_MAGIC


def document_key_id(data: bytes) -> str:
    start = len(DOCUMENT_MAGIC)
    return data[start : start + 8].decode("ascii", "replace")


def document_encrypt(data: bytes) -> bytes:
    """A stored document's bytes: magic, key id, nonce, AES-GCM ciphertext."""
    ring = key_ring()
    nonce = AESGCM.generate_key(bit_length=128)[:12]
    header = DOCUMENT_MAGIC + ring.current_id.encode("ascii")
    return header + nonce + AESGCM(ring.keys[ring.current_id]).encrypt(nonce, data, header)


def document_decrypt(data: bytes) -> bytes:
    """The clear bytes of a stored document (as they are when it was not encrypted)."""
    if not document_is_encrypted(data):
        return data
    header_end = len(DOCUMENT_MAGIC) + 8
    header, nonce = data[:header_end], data[header_end : header_end + 12]
    key = _key(key_ring(), document_key_id(data))
    try:
        return AESGCM(key).decrypt(nonce, data[header_end + 12 :], header)
    except InvalidTag as error:
        raise ValueError("A personal document does not decrypt: altered or truncated") from error


def personal_hash(kind: str, value) -> str:
    """The keyed hash of a value, for exact lookups and duplicate checks ("" when empty)."""
    if isinstance(value, PersonalValue):
        value = value.reveal()
    if not value:
        return ""
    normalised = personal_kind(kind).normalise(str(value))
    message = f"{kind}\x00{normalised}".encode()
    return hmac.new(key_ring().hash_key, message, hashlib.sha256).hexdigest()
