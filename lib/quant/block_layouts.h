#pragma once
// Byte layouts of ggml's quantized blocks, exactly as llama.cpp writes them into GGUF files.
// Scales are IEEE half floats stored as raw bits (uint16_t) so that these structs stay plain
// bytes; convert them with quant/half.h. The static_asserts pin the on-disk sizes: a padding byte
// here would silently shift every block after the first.
#include <cstddef>
#include <cstdint>

namespace dilmodeli::quant {

// Elements per block of the "legacy" types and per super-block of the K-quants and ternary types.
constexpr int kLegacyBlock = 32;
constexpr int kSuperBlock = 256;

// x = (q - 8) * d, q in 0..15. qs[j] holds element j in its low nibble and element j + 16 in its
// high nibble.
struct BlockQ4_0 {
    uint16_t d;
    uint8_t qs[kLegacyBlock / 2];
};

// x = q * d + m, q in 0..15, nibbles as in BlockQ4_0.
struct BlockQ4_1 {
    uint16_t d;
    uint16_t m;
    uint8_t qs[kLegacyBlock / 2];
};

// x = (q - 16) * d, q in 0..31. Low four bits as in BlockQ4_0; bit j of the little-endian u32 qh
// is the fifth bit of element j.
struct BlockQ5_0 {
    uint16_t d;
    uint8_t qh[4];
    uint8_t qs[kLegacyBlock / 2];
};

// x = q * d + m, q in 0..31, bits as in BlockQ5_0.
struct BlockQ5_1 {
    uint16_t d;
    uint16_t m;
    uint8_t qh[4];
    uint8_t qs[kLegacyBlock / 2];
};

// x = q * d.
struct BlockQ8_0 {
    uint16_t d;
    int8_t qs[kLegacyBlock];
};

// x = kIq4nlValues[q] * d, nibbles as in BlockQ4_0.
struct BlockIQ4_NL {
    uint16_t d;
    uint8_t qs[kLegacyBlock / 2];
};

// The fixed non-linear levels of IQ4_NL (and IQ4_XS), denser near zero where weights cluster.
inline constexpr int8_t kIq4nlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                            1,    13,   25,  38,  53,  69,  89,  113};

// 16 sub-blocks of 16: x = d * (scales[s] & 15) * q - dmin * (scales[s] >> 4), q in 0..3.
// Element e of the super-block sits in qs[32 * (e / 128) + e % 32] at bit 2 * ((e % 128) / 32).
struct BlockQ2_K {
    uint8_t scales[kSuperBlock / 16];
    uint8_t qs[kSuperBlock / 4];
    uint16_t d;
    uint16_t dmin;
};

// 16 sub-blocks of 16 with signed 6-bit scales (stored + 32): x = d * (scale - 32) * (q - 4),
// q in 0..7. The low two bits of q are laid out as in BlockQ2_K; the third bit of element e is bit
// e / 32 of hmask[e % 32]. Scale s has its low nibble in scales[s % 8] (low nibble for s < 8,
// high for s >= 8) and its top two bits in scales[8 + s % 4] at bit 2 * (s / 4).
struct BlockQ3_K {
    uint8_t hmask[kSuperBlock / 8];
    uint8_t qs[kSuperBlock / 4];
    uint8_t scales[12];
    uint16_t d;
};

// 8 sub-blocks of 32 with 6-bit scales and mins packed into 12 bytes (see unpack_scale_min_k4 in
// k_quant_common.h): x = d * scale * q - dmin * min, q in 0..15. Each 64 elements use 32 bytes of
// qs: element 64c + l is the low nibble of qs[32c + l], element 64c + 32 + l its high nibble.
struct BlockQ4_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[12];
    uint8_t qs[kSuperBlock / 2];
};

// As BlockQ4_K with q in 0..31; the fifth bit of element 64c + l is bit 2c of qh[l], that of
// element 64c + 32 + l is bit 2c + 1.
struct BlockQ5_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[12];
    uint8_t qh[kSuperBlock / 8];
    uint8_t qs[kSuperBlock / 2];
};

// 16 sub-blocks of 16 with signed 8-bit scales: x = d * scales[e / 16] * (q - 32), q in 0..63.
// Each 128 elements use 64 bytes of ql and 32 of qh; for l in 0..31 and h = 128-element half:
// element 128h + l      : low nibble of ql[64h + l],      bits 0-1 of qh[32h + l]
// element 128h + 32 + l : low nibble of ql[64h + 32 + l], bits 2-3
// element 128h + 64 + l : high nibble of ql[64h + l],     bits 4-5
// element 128h + 96 + l : high nibble of ql[64h + 32 + l], bits 6-7
struct BlockQ6_K {
    uint8_t ql[kSuperBlock / 2];
    uint8_t qh[kSuperBlock / 4];
    int8_t scales[kSuperBlock / 16];
    uint16_t d;
};

// Ternary x = (t - 1) * d, t in 0..2, five trits per byte in qs and four per byte in qh. A byte
// holding the base-3 number v (first trit most significant) stores ceil(v * 256 / 243), so that
// trit n is recovered as ((uint8_t)(byte * 3^n) * 3) >> 8 without division.
// qs[m], m < 32        : elements m + 32n,        n = 0..4   (elements 0..159)
// qs[32 + m], m < 16   : elements 160 + m + 16n,  n = 0..4   (elements 160..239)
// qh[j], j < 4         : elements 240 + j + 4n,   n = 0..3   (elements 240..255)
struct BlockTQ1_0 {
    uint8_t qs[(kSuperBlock - 4 * kSuperBlock / 64) / 5];
    uint8_t qh[kSuperBlock / 64];
    uint16_t d;
};

// Ternary x = (t - 1) * d with t in 2 bits: element 128c + 32n + m at bits 2n of qs[32c + m].
struct BlockTQ2_0 {
    uint8_t qs[kSuperBlock / 4];
    uint16_t d;
};

static_assert(sizeof(BlockQ4_0) == 18, "Q4_0 block must be 18 bytes");
static_assert(sizeof(BlockQ4_1) == 20, "Q4_1 block must be 20 bytes");
static_assert(sizeof(BlockQ5_0) == 22, "Q5_0 block must be 22 bytes");
static_assert(sizeof(BlockQ5_1) == 24, "Q5_1 block must be 24 bytes");
static_assert(sizeof(BlockQ8_0) == 34, "Q8_0 block must be 34 bytes");
static_assert(sizeof(BlockIQ4_NL) == 18, "IQ4_NL block must be 18 bytes");
static_assert(sizeof(BlockQ2_K) == 84, "Q2_K block must be 84 bytes");
static_assert(sizeof(BlockQ3_K) == 110, "Q3_K block must be 110 bytes");
static_assert(sizeof(BlockQ4_K) == 144, "Q4_K block must be 144 bytes");
static_assert(sizeof(BlockQ5_K) == 176, "Q5_K block must be 176 bytes");
static_assert(sizeof(BlockQ6_K) == 210, "Q6_K block must be 210 bytes");
static_assert(sizeof(BlockTQ1_0) == 54, "TQ1_0 block must be 54 bytes");
static_assert(sizeof(BlockTQ2_0) == 66, "TQ2_0 block must be 66 bytes");

}  // namespace dilmodeli::quant
