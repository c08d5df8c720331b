# AES-128 block encryption with MicroPython's cryptolib interface: aes(key, 1).encrypt(buf) is ECB over
# every 16-byte block of buf. On MicroPython the built-in cryptolib is used; on CPython (server, tests,
# tools) a thin wrapper over the `cryptography` package presents the same interface.
try:
    from cryptolib import aes  # noqa: F401  (MicroPython)
except ImportError:

    class aes:  # type: ignore[no-redef]  # CPython shim, only ECB (mode 1) is needed
        def __init__(self, key, mode):
            if mode != 1:
                raise ValueError("only ECB (mode 1) is supported")
            from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

            self._enc = Cipher(algorithms.AES(bytes(key)), modes.ECB()).encryptor()

        def encrypt(self, buf):
            return self._enc.update(bytes(buf))
