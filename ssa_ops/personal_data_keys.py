"""The keys that protect personal information, read by the settings before Django is set up.

`PERSONAL_DATA_KEYS`: comma-separated AES-256 keys (URL-safe base64 of 32 bytes); the first
encrypts, every one decrypts, so a key is rotated by putting a new one first and running
`manage.py personal_data_rotate_key`. `PERSONAL_DATA_HASH_KEY`: the HMAC key of the lookup
hashes (changing it also needs the rotate command, which recomputes them).

With neither set and DEBUG on, development keys are generated once into a file under var/ (and
the settings say so); with DEBUG off, start-up stops (a system check error) and any use raises
ImproperlyConfigured.
"""

import base64
import binascii
import hashlib
import json
import logging
import os
import secrets
from pathlib import Path

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger("ssa_ops.personal_data")

DEVELOPMENT_KEY_FILE = "personal_data_keys.json"
MISSING_MESSAGE = (
    "PERSONAL_DATA_KEYS and PERSONAL_DATA_HASH_KEY are not set. With DEBUG off SSA Ops needs "
    "them in the environment to encrypt personal information (see .env.example; "
    "`manage.py personal_data_rotate_key --generate` prints a new key)."
)


def key_generate() -> str:
    """A new random key, as the environment variables take it."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def key_decode(text: str, *, name="PERSONAL_DATA_KEYS") -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode() + b"=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError) as error:
        raise ImproperlyConfigured(f"{name}: a key is not URL-safe base64.") from error
    if len(raw) != 32:
        raise ImproperlyConfigured(f"{name}: each key must be 32 bytes (44 base64 characters).")
    return raw


def key_id(raw: bytes) -> str:
    """A short name of a key, stored with each ciphertext so the right key decrypts it."""
    return hashlib.sha256(b"ssa-ops personal data key id\x00" + raw).hexdigest()[:8]


def development_keys(var_dir: Path) -> tuple[list[str], str]:
    """The keys of a development checkout: read from var/, generated there the first time."""
    path = Path(var_dir) / DEVELOPMENT_KEY_FILE
    if path.exists():
        stored = json.loads(path.read_text())
        return list(stored["keys"]), stored["hash_key"]
    stored = {"keys": [key_generate()], "hash_key": key_generate()}
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(stored, handle)
    # Logging is not configured yet while settings load: Python's last-resort handler prints it.
    logger.warning(
        "No PERSONAL_DATA_KEYS set: generated development keys for personal information in %s "
        "(DEBUG only; set PERSONAL_DATA_KEYS and PERSONAL_DATA_HASH_KEY in production).",
        path,
    )
    return stored["keys"], stored["hash_key"]


@checks.register(checks.Tags.security)
def personal_data_keys_check(app_configs=None, **kwargs):
    """migrate, runserver and `check` stop when the keys are missing or malformed."""
    from django.conf import settings

    keys = getattr(settings, "PERSONAL_DATA_KEYS", [])
    hash_key = getattr(settings, "PERSONAL_DATA_HASH_KEY", "")
    if not keys or not hash_key:
        return [checks.Error(MISSING_MESSAGE, id="ssa_ops.E101")]
    try:
        for key in keys:
            key_decode(key)
        key_decode(hash_key, name="PERSONAL_DATA_HASH_KEY")
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="ssa_ops.E102")]
    return []
