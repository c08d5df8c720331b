# cryptolib for the bench's 32-bit Unix build (make frozen): USER_C_MODULES points here.
CRYPTOLIB_MOD_DIR := $(USERMOD_DIR)
SRC_USERMOD_C += $(CRYPTOLIB_MOD_DIR)/modcryptolib.c
