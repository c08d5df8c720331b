// cryptolib.aes for the bench's 32-bit Unix build (make frozen).
//
// On the ESP32, MicroPython's cryptolib is built on mbedtls; the trimmed v1.28.0 source vendored in
// third_party/micropython carries no TLS library, so the 32-bit Unix port would have no cryptolib, and the
// firmware's protocol/aes.py needs `cryptolib.aes(key, 1).encrypt(buf)` (AES-ECB, the block function under
// its CTR mode). This module stands in for it with the same interface, only what the firmware uses:
// aes(key, mode) with a 16, 24 or 32-byte key and mode 1 (ECB), and encrypt(in_buf[, out_buf]) over whole
// 16-byte blocks. FIPS-197 AES, encryption only; checked against the protocol's golden vectors (made with
// CPython's `cryptography`) by `make mptest` on the frozen interpreter.

#include <string.h>

#include "py/runtime.h"

#define AES_BLOCK 16
#define MODE_ECB 1

static const uint8_t sbox[256] = {
    0x63, 0x7c, 0x77, 0x7b, 0xf2, 0x6b, 0x6f, 0xc5, 0x30, 0x01, 0x67, 0x2b, 0xfe, 0xd7, 0xab, 0x76,
    0xca, 0x82, 0xc9, 0x7d, 0xfa, 0x59, 0x47, 0xf0, 0xad, 0xd4, 0xa2, 0xaf, 0x9c, 0xa4, 0x72, 0xc0,
    0xb7, 0xfd, 0x93, 0x26, 0x36, 0x3f, 0xf7, 0xcc, 0x34, 0xa5, 0xe5, 0xf1, 0x71, 0xd8, 0x31, 0x15,
    0x04, 0xc7, 0x23, 0xc3, 0x18, 0x96, 0x05, 0x9a, 0x07, 0x12, 0x80, 0xe2, 0xeb, 0x27, 0xb2, 0x75,
    0x09, 0x83, 0x2c, 0x1a, 0x1b, 0x6e, 0x5a, 0xa0, 0x52, 0x3b, 0xd6, 0xb3, 0x29, 0xe3, 0x2f, 0x84,
    0x53, 0xd1, 0x00, 0xed, 0x20, 0xfc, 0xb1, 0x5b, 0x6a, 0xcb, 0xbe, 0x39, 0x4a, 0x4c, 0x58, 0xcf,
    0xd0, 0xef, 0xaa, 0xfb, 0x43, 0x4d, 0x33, 0x85, 0x45, 0xf9, 0x02, 0x7f, 0x50, 0x3c, 0x9f, 0xa8,
    0x51, 0xa3, 0x40, 0x8f, 0x92, 0x9d, 0x38, 0xf5, 0xbc, 0xb6, 0xda, 0x21, 0x10, 0xff, 0xf3, 0xd2,
    0xcd, 0x0c, 0x13, 0xec, 0x5f, 0x97, 0x44, 0x17, 0xc4, 0xa7, 0x7e, 0x3d, 0x64, 0x5d, 0x19, 0x73,
    0x60, 0x81, 0x4f, 0xdc, 0x22, 0x2a, 0x90, 0x88, 0x46, 0xee, 0xb8, 0x14, 0xde, 0x5e, 0x0b, 0xdb,
    0xe0, 0x32, 0x3a, 0x0a, 0x49, 0x06, 0x24, 0x5c, 0xc2, 0xd3, 0xac, 0x62, 0x91, 0x95, 0xe4, 0x79,
    0xe7, 0xc8, 0x37, 0x6d, 0x8d, 0xd5, 0x4e, 0xa9, 0x6c, 0x56, 0xf4, 0xea, 0x65, 0x7a, 0xae, 0x08,
    0xba, 0x78, 0x25, 0x2e, 0x1c, 0xa6, 0xb4, 0xc6, 0xe8, 0xdd, 0x74, 0x1f, 0x4b, 0xbd, 0x8b, 0x8a,
    0x70, 0x3e, 0xb5, 0x66, 0x48, 0x03, 0xf6, 0x0e, 0x61, 0x35, 0x57, 0xb9, 0x86, 0xc1, 0x1d, 0x9e,
    0xe1, 0xf8, 0x98, 0x11, 0x69, 0xd9, 0x8e, 0x94, 0x9b, 0x1e, 0x87, 0xe9, 0xce, 0x55, 0x28, 0xdf,
    0x8c, 0xa1, 0x89, 0x0d, 0xbf, 0xe6, 0x42, 0x68, 0x41, 0x99, 0x2d, 0x0f, 0xb0, 0x54, 0xbb, 0x16
};

typedef struct _aes_obj_t {
    mp_obj_base_t base;
    uint8_t rounds;
    uint8_t round_keys[16 * 15];
} aes_obj_t;

static uint8_t xtime(uint8_t x) {
    return (uint8_t)((x << 1) ^ ((x >> 7) * 0x1b));
}

static void expand_key(aes_obj_t *self, const uint8_t *key, size_t key_len) {
    size_t nk = key_len / 4;
    size_t words = 4 * (nk + 7);
    uint8_t *rk = self->round_keys;
    uint8_t rcon = 1;
    self->rounds = (uint8_t)(nk + 6);
    memcpy(rk, key, key_len);
    for (size_t i = nk; i < words; i++) {
        uint8_t t[4];
        memcpy(t, rk + 4 * (i - 1), 4);
        if (i % nk == 0) {
            uint8_t first = t[0];
            t[0] = (uint8_t)(sbox[t[1]] ^ rcon);
            t[1] = sbox[t[2]];
            t[2] = sbox[t[3]];
            t[3] = sbox[first];
            rcon = xtime(rcon);
        } else if (nk > 6 && i % nk == 4) {
            for (int j = 0; j < 4; j++) {
                t[j] = sbox[t[j]];
            }
        }
        for (int j = 0; j < 4; j++) {
            rk[4 * i + j] = rk[4 * (i - nk) + j] ^ t[j];
        }
    }
}

static void add_round_key(uint8_t *s, const uint8_t *k) {
    for (int i = 0; i < AES_BLOCK; i++) {
        s[i] ^= k[i];
    }
}

static void sub_shift(uint8_t *s) {
    // SubBytes then ShiftRows: row r (bytes r, r+4, r+8, r+12) rotates left by r.
    uint8_t t[AES_BLOCK];
    for (int c = 0; c < 4; c++) {
        for (int r = 0; r < 4; r++) {
            t[r + 4 * c] = sbox[s[r + 4 * ((c + r) % 4)]];
        }
    }
    memcpy(s, t, AES_BLOCK);
}

static void mix_columns(uint8_t *s) {
    for (int c = 0; c < 4; c++) {
        uint8_t *a = s + 4 * c;
        uint8_t a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
        uint8_t all = a0 ^ a1 ^ a2 ^ a3;
        a[0] = a0 ^ all ^ xtime(a0 ^ a1);
        a[1] = a1 ^ all ^ xtime(a1 ^ a2);
        a[2] = a2 ^ all ^ xtime(a2 ^ a3);
        a[3] = a3 ^ all ^ xtime(a3 ^ a0);
    }
}

static void encrypt_block(const aes_obj_t *self, const uint8_t *in, uint8_t *out) {
    uint8_t s[AES_BLOCK];
    memcpy(s, in, AES_BLOCK);
    add_round_key(s, self->round_keys);
    for (int round = 1; round < self->rounds; round++) {
        sub_shift(s);
        mix_columns(s);
        add_round_key(s, self->round_keys + 16 * round);
    }
    sub_shift(s);
    add_round_key(s, self->round_keys + 16 * self->rounds);
    memcpy(out, s, AES_BLOCK);
}

static const mp_obj_type_t aes_type;

static mp_obj_t aes_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 2, 3, false);
    mp_buffer_info_t key;
    mp_get_buffer_raise(args[0], &key, MP_BUFFER_READ);
    if (key.len != 16 && key.len != 24 && key.len != 32) {
        mp_raise_ValueError(MP_ERROR_TEXT("key"));
    }
    if (mp_obj_get_int(args[1]) != MODE_ECB || n_args == 3) {
        mp_raise_ValueError(MP_ERROR_TEXT("mode"));
    }
    aes_obj_t *self = mp_obj_malloc(aes_obj_t, type);
    expand_key(self, key.buf, key.len);
    return MP_OBJ_FROM_PTR(self);
}

static mp_obj_t aes_encrypt(size_t n_args, const mp_obj_t *args) {
    aes_obj_t *self = MP_OBJ_TO_PTR(args[0]);
    mp_buffer_info_t in;
    mp_get_buffer_raise(args[1], &in, MP_BUFFER_READ);
    if (in.len % AES_BLOCK != 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("blksize % 16"));
    }
    vstr_t vstr;
    mp_buffer_info_t out;
    uint8_t *dest;
    if (n_args > 2) {
        mp_get_buffer_raise(args[2], &out, MP_BUFFER_WRITE);
        if (out.len != in.len) {
            mp_raise_ValueError(MP_ERROR_TEXT("output too small"));
        }
        dest = out.buf;
    } else {
        vstr_init_len(&vstr, in.len);
        dest = (uint8_t *)vstr.buf;
    }
    for (size_t i = 0; i < in.len; i += AES_BLOCK) {
        encrypt_block(self, (const uint8_t *)in.buf + i, dest + i);
    }
    if (n_args > 2) {
        return args[2];
    }
    return mp_obj_new_bytes_from_vstr(&vstr);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(aes_encrypt_obj, 2, 3, aes_encrypt);

static const mp_rom_map_elem_t aes_locals_dict_table[] = {
    { MP_ROM_QSTR(MP_QSTR_encrypt), MP_ROM_PTR(&aes_encrypt_obj) },
};
static MP_DEFINE_CONST_DICT(aes_locals_dict, aes_locals_dict_table);

static MP_DEFINE_CONST_OBJ_TYPE(
    aes_type,
    MP_QSTR_aes,
    MP_TYPE_FLAG_NONE,
    make_new, aes_make_new,
    locals_dict, &aes_locals_dict
    );

static const mp_rom_map_elem_t cryptolib_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_cryptolib) },
    { MP_ROM_QSTR(MP_QSTR_aes), MP_ROM_PTR(&aes_type) },
};
static MP_DEFINE_CONST_DICT(cryptolib_globals, cryptolib_globals_table);

const mp_obj_module_t mp_module_cryptolib = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&cryptolib_globals,
};

MP_REGISTER_MODULE(MP_QSTR_cryptolib, mp_module_cryptolib);
