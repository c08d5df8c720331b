# Wire protocol between box and server (docs/protocol.md), identical on MicroPython and CPython:
# keys (derivation, badge hash), frame (encode/decode of every frame), records (payload codecs),
# predict (position predictor), crypto (HMAC-SHA256, AES-128-CTR), wire (varints), codes, errors,
# golden (vector JSON helpers), aes (cryptolib interface on CPython).
