// Weight rows interleaved at load, for the instruction sets that read eight rows in the lanes of
// one register (interleaved_avx2.cpp). A generation step reads every weight once per token, and
// the row-at-a-time kernels spend most of that time unpacking blocks and reducing sums rather
// than waiting for memory: AVX2 1B Q4_0 generation ran at 0.6x of ik_llama.cpp's repacked layout.
//
// The layout of the 32-element types whose blocks are a fp16 scale and then their quants
// (Q4_0, IQ4_NL: 16 bytes of nibbles; Q8_0: 32 bytes). A group of kInterleaveRows rows keeps its
// bytes, block b of the group taking the bytes of the rows' blocks b:
//   uint16_t d[8];                  the rows' scales
//   uint8_t  quads[quant_bytes / 4][8][4];  quad q of row r: the row's quant bytes 4q..4q+3
// so one 32-byte load gives a quad of every row, one lane each, and the group is rewritten in
// place of the mapped copy: no memory beside it, unlike repacking into new buffers. Rows after
// the last whole group stay as stored.
//
// Each output of an interleaved product is, in block order, S = sum of level * q (exact, in
// integers, with Q4_0's offset of -8 as -8 * sum(q)), acc = fma(float(S), d * da, acc): the
// same bits on every instruction set, for a token alone or in any batch. This file holds the
// layout, the plain reference kernel and the public functions.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "common/error.h"
#include "kernels/kernel_table.h"
#include "kernels/matmul.h"
#include "kernels/tu_local.h"
#include "quant/block_layouts.h"
#include "quant/quant_type.h"

namespace dilmodeli::kernels {
namespace detail {
namespace {

constexpr int kRows = int(kInterleaveRows);
constexpr size_t kScaleBytes = 2 * kRows;

// What the layout needs of a type; quant_bytes == 0: the type has no interleaved layout.
struct Layout {
    size_t block_bytes = 0;
    size_t quant_bytes = 0;
};

Layout layout_of(quant::TypeId type) {
    switch (type) {
        case quant::TypeId::Q4_0:
        case quant::TypeId::IQ4_NL: return {18, 16};
        case quant::TypeId::Q8_0: return {34, 32};
        default: return {};
    }
}

// Group (kRows rows of nb blocks, one after another in `rows`) -> interleaved blocks in `out`.
void interleave_group(const uint8_t* rows, size_t row_bytes, int64_t nb, const Layout& l, uint8_t* out) {
    const size_t group_block = kRows * l.block_bytes;
    for (int64_t b = 0; b < nb; ++b) {
        uint8_t* dst = out + size_t(b) * group_block;
        for (int r = 0; r < kRows; ++r) {
            const uint8_t* block = rows + size_t(r) * row_bytes + size_t(b) * l.block_bytes;
            std::memcpy(dst + 2 * r, block, 2);
            for (size_t q = 0; q < l.quant_bytes / 4; ++q)
                std::memcpy(dst + kScaleBytes + (q * kRows + size_t(r)) * 4, block + 2 + 4 * q, 4);
        }
    }
}

// Row r of an interleaved group, as stored before (nb blocks into `out`).
void row_of_group(const uint8_t* group, int r, int64_t nb, const Layout& l, uint8_t* out) {
    const size_t group_block = kRows * l.block_bytes;
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* src = group + size_t(b) * group_block;
        uint8_t* block = out + size_t(b) * l.block_bytes;
        std::memcpy(block, src + 2 * r, 2);
        for (size_t q = 0; q < l.quant_bytes / 4; ++q)
            std::memcpy(block + 2 + 4 * q, src + kScaleBytes + (q * kRows + size_t(r)) * 4, 4);
    }
}

// Level j of a block's quant bytes, as the integer its products use (Q4_0 without its offset).
struct Q4_0Levels {
    static constexpr int kOffset = -8;
    static int level(const uint8_t* quants, int j) { return j < 16 ? quants[j] & 15 : quants[j - 16] >> 4; }
};
struct IQ4_NLLevels {
    static constexpr int kOffset = 0;
    static int level(const uint8_t* quants, int j) { return quant::kIq4nlValues[Q4_0Levels::level(quants, j)]; }
};
struct Q8_0Levels {
    static constexpr int kOffset = 0;
    static int level(const uint8_t* quants, int j) { return int8_t(quants[j]); }
};

// The reference: every group of rows, one output at a time, in the arithmetic of the layout.
template <typename Levels, quant::TypeId kType>
void gemm_groups(const GemmArgs& g) {
    const Layout l = layout_of(kType);
    const int64_t nb = g.n / 32;
    std::vector<uint8_t> row(size_t(nb) * l.block_bytes);
    for (int64_t r0 = 0; r0 < g.nr; r0 += kRows) {
        const uint8_t* group = g.w + size_t(r0) * g.w_stride;
        for (int r = 0; r < kRows; ++r) {
            row_of_group(group, r, nb, l, row.data());
            for (int64_t t = 0; t < g.nt; ++t) {
                const auto* a = reinterpret_cast<const Q8Block32*>(g.act + size_t(t) * g.act_stride);
                float acc = 0.0f;
                for (int64_t b = 0; b < nb; ++b) {
                    const uint8_t* block = row.data() + size_t(b) * l.block_bytes;
                    int32_t sum = Levels::kOffset * a[b].sum;
                    for (int j = 0; j < 32; ++j) sum += Levels::level(block + 2, j) * a[b].qs[j];
                    acc = std::fma(float(sum), half_to_float(load_u16(block)) * a[b].d, acc);
                }
                g.y[t * g.ldy + r0 + r] = acc;
            }
        }
    }
}

}  // namespace

void register_scalar_interleaved(IsaTable& t) {
    auto set = [&t](quant::TypeId id, GemmFn groups) {
        const TypeKernel& rows = t.types[int(id)];
        TypeKernel& k = t.interleaved[int(id)];
        k.act_bytes = q8_block32_bytes;
        k.quantize = quantize_q8_block32_scalar;
        k.gemm = groups;
        k.gemm_tail_rows = rows.quantize == quantize_q8_block32_scalar ? rows.gemm : nullptr;
    };
    set(quant::TypeId::Q4_0, gemm_groups<Q4_0Levels, quant::TypeId::Q4_0>);
    set(quant::TypeId::IQ4_NL, gemm_groups<IQ4_NLLevels, quant::TypeId::IQ4_NL>);
    set(quant::TypeId::Q8_0, gemm_groups<Q8_0Levels, quant::TypeId::Q8_0>);
}

// Row r of an interleaved matrix as stored before interleaving (row_bytes bytes into out).
void stored_row(const WeightMatrix& w, int64_t r, uint8_t* out) {
    const int64_t groups_end = w.rows / kRows * kRows;
    if (!w.interleaved || r >= groups_end) {
        std::memcpy(out, w.row(r), w.row_bytes);
        return;
    }
    row_of_group(w.row(r / kRows * kRows), int(r % kRows), w.cols / 32, layout_of(w.type), out);
}

}  // namespace detail

bool prefers_interleaved(const WeightMatrix& w) {
    const auto id = static_cast<uint32_t>(w.type);
    return !w.interleaved && w.rows >= kInterleaveRows && id < uint32_t(detail::kTypeSlots) &&
           detail::active_table().prefers_interleaved[id] && detail::layout_of(w.type).quant_bytes > 0;
}

void interleave_rows(WeightMatrix& w, uint8_t* bytes) {
    const detail::Layout l = detail::layout_of(w.type);
    if (l.quant_bytes == 0)
        throw usage_error(std::string("interleave_rows: type ") + quant::type_info(w.type).name +
                          " has no interleaved layout");
    if (w.interleaved) throw usage_error("interleave_rows: the matrix is interleaved already");
    if (bytes != w.data) throw usage_error("interleave_rows: the writable bytes are not the matrix's");
    check_shape(w);
    const int64_t nb = w.cols / 32;
    if (w.row_bytes != size_t(nb) * l.block_bytes)
        throw usage_error("interleave_rows: rows of " + std::to_string(w.row_bytes) + " bytes are not whole blocks");
    std::vector<uint8_t> group(size_t(kInterleaveRows) * w.row_bytes);
    for (int64_t r0 = 0; r0 + kInterleaveRows <= w.rows; r0 += kInterleaveRows) {
        uint8_t* at = bytes + size_t(r0) * w.row_bytes;
        std::memcpy(group.data(), at, group.size());
        detail::interleave_group(group.data(), w.row_bytes, nb, l, at);
    }
    w.interleaved = true;
}

}  // namespace dilmodeli::kernels
