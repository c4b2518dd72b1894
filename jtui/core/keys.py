"""Client keys for a host: which files, which need a passphrase.

asyncssh silently skips encrypted keys named in the config when no
passphrase is given, and fails outright on a missing IdentityFile, where
OpenSSH warns and goes on. jtui loads keys itself so it can do what OpenSSH
does and ask for a passphrase only when the user is there to answer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

# OpenSSH's default identities, in its order.
DEFAULT_IDENTITIES = ("id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk", "id_xmss", "id_dsa")


@dataclass
class KeySet:
    keys: list = field(default_factory=list)  # asyncssh SSHKey objects, ready to use
    encrypted: list[str] = field(default_factory=list)  # paths that need a passphrase
    problems: list[str] = field(default_factory=list)


def identity_paths(configured: tuple[str, ...]) -> list[str]:
    """The configured IdentityFiles, else OpenSSH's defaults; only those that exist."""
    home = os.path.expanduser("~")
    names = list(configured) or [os.path.join(home, ".ssh", n) for n in DEFAULT_IDENTITIES]
    out = []
    for name in names:
        path = os.path.expanduser(name)
        if os.path.isfile(path) and path not in out:
            out.append(path)
    return out


def load_keys(paths: list[str], passphrases: dict[str, str] | None = None) -> KeySet:
    """Load what can be loaded; remember what is encrypted for later."""
    import asyncssh

    passphrases = passphrases or {}
    result = KeySet()
    for path in paths:
        try:
            key = asyncssh.read_private_key(path, passphrases.get(path))
        except asyncssh.KeyEncryptionError:
            result.problems.append(f"wrong passphrase for {path}")
            result.encrypted.append(path)
            continue
        except asyncssh.KeyImportError as exc:
            if "passphrase" in str(exc).lower():
                result.encrypted.append(path)
            else:
                result.problems.append(f"cannot use key {path}: {exc}")
            continue
        except OSError as exc:
            result.problems.append(f"cannot use key {path}: {exc}")
            continue
        cert = f"{path}-cert.pub"
        if os.path.isfile(cert):
            try:
                key = (key, asyncssh.read_certificate(cert))
            except (asyncssh.KeyImportError, OSError):
                pass
        result.keys.append(key)
    return result
