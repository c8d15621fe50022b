"""Files encrypted with a passphrase, written and read as streams (the backups).

AES-256-GCM from `cryptography`, in chunks of CHUNK bytes so that a backup of
a million members never sits in memory whole. The file is

    header: MAGIC, version, scrypt's log2(n), r, p, salt (16 bytes), nonce prefix (7 bytes)
    records: 4-byte big-endian length, then one chunk's ciphertext and tag

Each chunk's nonce is the prefix, the chunk's number (4 bytes) and a last-chunk
flag (1 byte), and the header is authenticated with every chunk (the STREAM
construction of Hoang, Reyhanitabar, Rogaway and Vizár): chunks cannot be
reordered, dropped or cut off the end without decryption failing. The key is
derived from the passphrase with scrypt and a random salt, so a passphrase
typed by a person is as good as it can be made, and the same passphrase
never gives the same key twice.
"""

from __future__ import annotations

import io
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"PACNAM-ENC"
VERSION = 1
CHUNK = 64 * 1024
SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P = 15, 8, 1
_HEADER = struct.Struct(">10sBBBB16s7s")
_LENGTH = struct.Struct(">I")


class DecryptionError(Exception):
    """The file cannot be decrypted: wrong passphrase, or changed or cut off."""


def is_encrypted(start: bytes) -> bool:
    return start.startswith(MAGIC)


def _derive(passphrase: str, salt: bytes, log2_n: int, r: int, p: int) -> AESGCM:
    if not passphrase:
        raise ValueError("an empty passphrase")
    kdf = Scrypt(salt=salt, length=32, n=2**log2_n, r=r, p=p)
    return AESGCM(kdf.derive(passphrase.encode()))


def _nonce(prefix: bytes, number: int, last: bool) -> bytes:
    return prefix + struct.pack(">IB", number, 1 if last else 0)


class EncryptingWriter(io.RawIOBase):
    """A binary file object that encrypts what is written to `raw`; call close()
    (or use it as a context manager) to write the last chunk. `raw` stays open."""

    def __init__(self, raw, passphrase: str):
        super().__init__()
        salt, self._prefix = os.urandom(16), os.urandom(7)
        self._aead = _derive(passphrase, salt, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P)
        self._header = _HEADER.pack(
            MAGIC, VERSION, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P, salt, self._prefix
        )
        self._raw = raw
        self._raw.write(self._header)
        self._buffer = bytearray()
        self._number = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._buffer += data
        # Strictly more than a chunk: what is left may still turn out to be the last chunk.
        while len(self._buffer) > CHUNK:
            self._emit(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def _emit(self, plain: bytes, *, last: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._prefix, self._number, last), plain, self._header)
        self._raw.write(_LENGTH.pack(len(sealed)) + sealed)
        self._number += 1

    def close(self) -> None:
        if not self.closed:
            self._emit(bytes(self._buffer), last=True)
            self._buffer.clear()
        super().close()


class DecryptingReader(io.RawIOBase):
    """A binary file object that reads the plain bytes of an encrypted `raw`.
    Raises DecryptionError for a wrong passphrase, a changed or a cut-off file."""

    def __init__(self, raw, passphrase: str):
        super().__init__()
        header = raw.read(_HEADER.size)
        if len(header) < _HEADER.size or not is_encrypted(header):
            raise DecryptionError("not an encrypted file")
        _magic, version, log2_n, r, p, salt, self._prefix = _HEADER.unpack(header)
        if version != VERSION or not (10 <= log2_n <= 22 and 1 <= r <= 32 and 1 <= p <= 16):
            raise DecryptionError(
                f"an encrypted file of a format this code cannot read (version {version})"
            )
        self._aead = _derive(passphrase, salt, log2_n, r, p)
        self._header = header
        self._raw = raw
        self._plain = b""
        self._number = 0
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self._plain and not self._done:
            self._next_chunk()
        count = min(len(target), len(self._plain))
        target[:count] = self._plain[:count]
        self._plain = self._plain[count:]
        return count

    def _next_chunk(self) -> None:
        length = self._raw.read(_LENGTH.size)
        if len(length) < _LENGTH.size:
            raise DecryptionError("the file ends early: it was cut off")
        (size,) = _LENGTH.unpack(length)
        if size > CHUNK * 16 + 16:
            raise DecryptionError("the file was changed (a chunk has an impossible length)")
        sealed = self._raw.read(size)
        if len(sealed) < size:
            raise DecryptionError("the file ends early: it was cut off")
        for last in (False, True):
            try:
                self._plain = self._aead.decrypt(
                    _nonce(self._prefix, self._number, last), sealed, self._header
                )
            except InvalidTag:
                continue
            self._done = last
            break
        else:
            if self._number == 0:
                raise DecryptionError("the passphrase does not open it (or the file was changed)")
            raise DecryptionError(
                f"the file was changed (chunk {self._number + 1} does not authenticate)"
            )
        self._number += 1
        if self._done and self._raw.read(1):
            raise DecryptionError("the file was changed (data after its last chunk)")
