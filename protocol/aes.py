# AES-128 block encryption with MicroPython's cryptolib interface: aes(key, 1).encrypt(buf) is ECB over
# every 16-byte block of buf. On MicroPython the built-in cryptolib is used; on CPython (server, tests,
# tools) a thin wrapper over the `cryptography` package presents the same interface.
# `ctr(key16, first_counter_block16, data)` is the platform's own AES-CTR when it has one (CPython:
# one C call per frame instead of crypto.ctr_xor's loop over ECB blocks), else None.
try:
    from cryptolib import aes  # noqa: F401  (MicroPython)

    ctr = None
except ImportError:

    class aes:  # type: ignore[no-redef]  # CPython shim, only ECB (mode 1) is needed
        def __init__(self, key, mode):
            if mode != 1:
                raise ValueError("only ECB (mode 1) is supported")
            from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

            self._enc = Cipher(algorithms.AES(bytes(key)), modes.ECB()).encryptor()

        def encrypt(self, buf):
            return self._enc.update(bytes(buf))

    def ctr(key16, first_counter_block16, data):  # type: ignore[misc]
        """data XOR the AES-128-CTR keystream from first_counter_block16 (a 128-bit counter)."""
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        return Cipher(algorithms.AES(bytes(key16)), modes.CTR(bytes(first_counter_block16))).encryptor().update(data)
