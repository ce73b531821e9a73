"""EdDSA (Ed25519) access tokens: the chat service signs, every service verifies."""

from __future__ import annotations

import base64
import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

if TYPE_CHECKING:
    from shared.auth.revocation import RevokedSessions

SESSION_COOKIE = "tertulia_session"
ALGORITHM = "EdDSA"  # pinned: a token naming any other algorithm (or `none`) is rejected
ISSUER = "tertulia"
AUDIENCE = "tertulia"
VERIFIED_CACHE_SIZE = 4096


class InvalidToken(Exception):
    """Missing, malformed, forged, expired or otherwise unacceptable token."""


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    username: str
    is_admin: bool = False
    # The `sid` claim: the chat service's session this token belongs to (revocable). Tokens
    # signed without one cannot be revoked, only expire.
    session_id: str | None = None


def generate_private_key_pem() -> str:
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """A stable kid derived from the key itself, so replicas sharing a key agree on it."""
    return _b64url(hashlib.sha256(_raw_public(key)).digest()[:12])


def public_jwk(key: Ed25519PublicKey) -> dict[str, str]:
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": _b64url(_raw_public(key)),
        "kid": key_id(key),
        "alg": ALGORITHM,
        "use": "sig",
    }


class TokenIssuer:
    def __init__(self, private_key_pem: str, ttl_secs: int = 3600) -> None:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the signing key must be an Ed25519 private key")
        self._key = key
        self.public_key = key.public_key()
        self.kid = key_id(self.public_key)
        self.ttl_secs = ttl_secs

    def issue(self, principal: Principal, *, now: float | None = None,
              expires_at: float | None = None) -> str:
        """A token for `principal` (with its `sid` when it has a session id), valid for
        `ttl_secs` or until `expires_at` (its session's end)."""
        issued = int(now if now is not None else time.time())
        claims: dict[str, Any] = {
            "sub": str(principal.user_id),
            "name": principal.username,
            "adm": principal.is_admin,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": issued,
            "exp": int(expires_at) if expires_at is not None else issued + self.ttl_secs,
        }
        if principal.session_id is not None:
            claims["sid"] = principal.session_id
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [public_jwk(self.public_key)]}

    def verifier(self, revoked: RevokedSessions | None = None) -> TokenVerifier:
        return TokenVerifier([self.public_key], revoked=revoked)


class TokenVerifier:
    """Verifies with public keys only; the algorithm is pinned, never read from the token.

    A token that verified is remembered (by its exact text, with its expiry) for the next
    `VERIFIED_CACHE_SIZE` distinct tokens: the Ed25519 signature and PyJWT's checks cost
    ~115 µs, and the same token comes back on every request and reconnect of a session.
    A remembered token still expires on time; any other text, a forged signature included,
    is verified in full.

    With `revoked`, a token whose session was revoked is refused, remembered or not (one
    set look-up: no database call per request)."""

    def __init__(self, public_keys: list[Ed25519PublicKey], leeway_secs: int = 5, *,
                 revoked: RevokedSessions | None = None) -> None:
        if not public_keys:
            raise ValueError("at least one public key is needed")
        self._keys = {key_id(k): k for k in public_keys}
        self._leeway = leeway_secs
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self.revoked = revoked

    @classmethod
    def from_pem(cls, public_key_pem: str, *,
                 revoked: RevokedSessions | None = None) -> TokenVerifier:
        key = serialization.load_pem_public_key(public_key_pem.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("the verification key must be an Ed25519 public key")
        return cls([key], revoked=revoked)

    @classmethod
    def from_jwks(cls, jwks: dict[str, Any], *,
                  revoked: RevokedSessions | None = None) -> TokenVerifier:
        keys = []
        for jwk in jwks.get("keys", []):
            if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
                raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
                keys.append(Ed25519PublicKey.from_public_bytes(raw))
        return cls(keys, revoked=revoked)

    def verify(self, token: str) -> Principal:
        known = self._verified.get(token)
        if known is not None:
            principal, expires = known
            if time.time() > expires + self._leeway:
                del self._verified[token]
                raise InvalidToken("token expired")
            self._verified.move_to_end(token)
        else:
            principal, expires = self._verify(token)
            self._verified[token] = (principal, expires)
            if len(self._verified) > VERIFIED_CACHE_SIZE:
                self._verified.popitem(last=False)
        revoked = self.revoked
        if revoked is not None and principal.session_id is not None and \
                principal.session_id in revoked:
            raise InvalidToken("session revoked")
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("malformed token") from exc
        key = self._keys.get(header.get("kid", "")) if "kid" in header else None
        candidates = [key] if key is not None else list(self._keys.values())
        last: Exception | None = None
        for candidate in candidates:
            try:
                claims = jwt.decode(
                    token,
                    candidate,
                    algorithms=[ALGORITHM],
                    audience=AUDIENCE,
                    issuer=ISSUER,
                    leeway=self._leeway,
                    options={"require": ["sub", "exp", "iat", "iss", "aud"]},
                )
                sid = claims.get("sid")
                return Principal(
                    user_id=int(claims["sub"]),
                    username=str(claims.get("name", "")),
                    is_admin=bool(claims.get("adm", False)),
                    session_id=str(sid) if sid is not None else None,
                ), float(claims["exp"])
            except jwt.ExpiredSignatureError as exc:
                raise InvalidToken("token expired") from exc
            except (jwt.PyJWTError, ValueError) as exc:
                last = exc
        raise InvalidToken("invalid token") from last
