"""``{cipher}`` encryption and decryption, byte-compatible with Spring Cloud Config (reference §5).

Modules, one concept each:

* ``symmetric``: ``SymmetricEncryptor``, the shared-secret ``encrypt.key`` scheme (AES-CBC, hex).
* ``rsa``: ``RsaEncryptor`` and ``RsaKey``, the keystore scheme (RSA + AES, Base64).
* ``keystore`` / ``jks``: ``load_rsa_keys`` from PEM, PKCS#12 and JKS files.
* ``prefixes``: the ``{key:alias}{plain}...`` prefixes of plaintexts and ciphertexts.
* ``keyring``: ``KeyRing``, several keys at once for rotation, plus Vault transit dispatch.
* ``environment``: ``decrypt_sources``, the §5.3 decryption of property sources.
* ``resources``: ``decrypt_resource``, ``{cipher}`` values decrypted inside plain-text resources.
* ``reencrypt``: ``reencrypt_text``, moving a file's values to the primary key.

Errors (the ``CryptoError`` branch of ``config_server.errors``): NoKey and NoPublicKey,
DecryptionFailed and ServerSideDecryptionUnsupported, KeyFormatError, WeakEncryption; each is
raised where its condition is found, and ``config_server.http.errors`` maps them to statuses.
No message, ``repr`` or ``str`` contains key material, passwords or values.
"""

from config_server.crypto.environment import CIPHER, INVALID_VALUE, decrypt_sources
from config_server.crypto.keyring import KeyRing, KeyRingStatus, TextEncryptor, TransitCipher
from config_server.crypto.keystore import load_rsa_keys, parse_rsa_keys
from config_server.crypto.prefixes import PLAIN, Prefixed, join_prefixes, split_prefixes
from config_server.crypto.reencrypt import reencrypt_text
from config_server.crypto.rsa import RsaEncryptor, RsaKey
from config_server.crypto.symmetric import SymmetricEncryptor

__all__ = [
    "CIPHER",
    "INVALID_VALUE",
    "PLAIN",
    "KeyRing",
    "KeyRingStatus",
    "Prefixed",
    "RsaEncryptor",
    "RsaKey",
    "SymmetricEncryptor",
    "TextEncryptor",
    "TransitCipher",
    "decrypt_sources",
    "join_prefixes",
    "load_rsa_keys",
    "parse_rsa_keys",
    "reencrypt_text",
    "split_prefixes",
]
