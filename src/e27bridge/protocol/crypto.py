"""AES-128-CBC with the fixed IV and the 32-bit word swap of schema 0 (protocol §5.2-§5.4)."""

from __future__ import annotations

import array

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

IV = bytes(range(16))
_WORD = next(code for code in "IL" if array.array(code).itemsize == 4)


def swap32(data: bytes) -> bytes:
    """Reverse the bytes of every 4-byte word; its own inverse."""
    if len(data) % 4:
        raise ValueError("swap32 needs a multiple of 4 bytes")
    words = array.array(_WORD)
    words.frombytes(data)
    words.byteswap()
    return words.tobytes()


def aes_cbc_encrypt(key: bytes, plaintext: bytes) -> bytes:
    encryptor = Cipher(algorithms.AES(key), modes.CBC(IV)).encryptor()
    return encryptor.update(plaintext) + encryptor.finalize()


def aes_cbc_decrypt(key: bytes, ciphertext: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(key), modes.CBC(IV)).decryptor()
    return decryptor.update(ciphertext) + decryptor.finalize()


def schema0_encrypt(key: bytes, plaintext: bytes) -> bytes:
    return swap32(aes_cbc_encrypt(key, swap32(plaintext)))


def schema0_decrypt(key: bytes, ciphertext: bytes) -> bytes:
    return swap32(aes_cbc_decrypt(key, swap32(ciphertext)))


def swapped_key(key_hex: str) -> bytes:
    """AES key for the tempkey and the link key: both are word-swapped before use."""
    return swap32(bytes.fromhex(key_hex))


def decrypt_hello_field(link_key_hex: str, field_hex: str) -> bytes:
    """``sk``/``shm`` in the HELLO reply: swapped key and input, output used as is."""
    return aes_cbc_decrypt(swapped_key(link_key_hex), swap32(bytes.fromhex(field_hex)))


def encrypt_hello_field(link_key_hex: str, secret: bytes) -> str:
    """The panel-side inverse of ``decrypt_hello_field``."""
    return swap32(aes_cbc_encrypt(swapped_key(link_key_hex), secret)).hex()
