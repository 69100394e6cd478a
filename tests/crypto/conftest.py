"""Keys for the crypto tests: Spring's own test keystore and RSA keys generated once per session."""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.support import VECTORS as SUPPORT_VECTORS

VECTORS = SUPPORT_VECTORS
SPRING_JKS = VECTORS / "spring-server.jks"
# §13: the value in Spring's R/encrypt-repo/application.yml, encrypted with alias mytestkey.
SPRING_RSA_VECTOR = (
    "{cipher}{key:mytestkey}AQCohs2V6P8/UiG6a4TF/CZTCBdt5Q7wvNvcyf6vs2ByK2ZYSM77Nu0sOAduxUpMbVwJ/syecmkIXR+"
    "hU3EfT2uqPieA7/v5n33ppqIQ9JAt5JggdYIGe+wX25zU3DTXOOJdAAMzNX+zjOVyCh0QtmJf/kFslg6NqQq0E+kSg3zBi3AnkKj5"
    "BLnLIxkjxzKA4mnDXpSm7ekLZZP2iQSYSW/82AC7UOLLzTqwInMI3tJLW1e9Ne+LDsjmSxA+nkK9zhidtXPwb/SPaNF74cJCEf9mg"
    "zzKYwJlwqChLzJt8UQ1jHwRc8B6FufmizUHSp27nxdtVB4HMqh3nNsMCy137Ces58T09ZS/y/cYNRxcFbp78MHFHUqAgbC0B/p5t6h"
    "4XbQ="
)
# §5.4: encrypt.key=mykey, default salt, from Spring's client tests.
SPRING_SYMMETRIC_VECTOR = "6defc102cd76752fcf4c78231ed82ead85133a09741d9a1442595b4800e2b3d1"


def self_signed(key: rsa.RSAPrivateKey, cn: str = "test") -> x509.Certificate:
    """A self-signed certificate for ``key``, as keytool -genkeypair would make."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    """A 2048-bit RSA key, generated once."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def other_rsa_key() -> rsa.RSAPrivateKey:
    """A second, unrelated 2048-bit RSA key."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)
