// Run-time choice among the instruction sets compiled in. A table is filled by calling into an
// ISA's files only after the CPU has been checked for every extension those files are built
// with (lib/CMakeLists.txt), so one binary runs everywhere. Missing rows of a table fall back to
// the scalar table's (kernel and activation format together).
#include <atomic>
#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#endif
#include <cstdlib>
#include <string>
#include <vector>

#include "common/error.h"
#include "kernels/kernel_table.h"
#include "kernels/matmul.h"

namespace dilmodeli::kernels {
namespace detail {
namespace {

struct Registry {
    IsaTable scalar;
    IsaTable avx2;
    IsaTable avx512;
    IsaTable neon;
    std::vector<const IsaTable*> available;  // best first
};

#if defined(__x86_64__) || defined(_M_X64)
// F16C is CPUID leaf 1, ECX bit 29; clang 14's __builtin_cpu_supports has no name for it.
bool cpu_has_f16c() {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29)) != 0;
}
bool cpu_has_avx2() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c() &&
           __builtin_cpu_supports("bmi2");
}
bool cpu_has_avx512() {
    __builtin_cpu_init();
    return cpu_has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vnni");
}
#endif

void fill_missing(IsaTable& table, const IsaTable& fallback) {
    for (int i = 0; i < kTypeSlots; ++i) {
        if (!table.types[i].gemm) table.types[i] = fallback.types[i];
        // Interleaved kernels without the preference: a matrix interleaved under one instruction
        // set stays computable when force_isa picks another.
        if (!table.interleaved[i].gemm) table.interleaved[i] = fallback.interleaved[i];
    }
}

Registry build_registry() {
    Registry r;
    r.scalar.name = "scalar";
    register_scalar_float(r.scalar);
    register_scalar_legacy(r.scalar);
    register_scalar_kquants(r.scalar);
    register_scalar_interleaved(r.scalar);
#if defined(__x86_64__) || defined(_M_X64)
    if (cpu_has_avx512()) {
        r.avx512.name = "avx512";
        register_avx512_float(r.avx512);
        register_avx512_legacy(r.avx512);
        register_avx512_kquants(r.avx512);
        register_avx512_kquants_packed(r.avx512);
        // Rows AVX-512 lacks use the AVX2 kernels (the CPU has AVX2), then scalar ones.
        IsaTable avx2;
        register_avx2_float(avx2);
        register_avx2_legacy(avx2);
        register_avx2_kquants(avx2);
        register_avx2_interleaved(avx2);
        fill_missing(r.avx512, avx2);
        fill_missing(r.avx512, r.scalar);
        r.available.push_back(&r.avx512);
    }
    if (cpu_has_avx2()) {
        r.avx2.name = "avx2";
        register_avx2_float(r.avx2);
        register_avx2_legacy(r.avx2);
        register_avx2_kquants(r.avx2);
        register_avx2_legacy_packed(r.avx2);
        register_avx2_kquants_packed(r.avx2);
        register_avx2_interleaved(r.avx2);
        fill_missing(r.avx2, r.scalar);
        r.available.push_back(&r.avx2);
    }
#endif
#if defined(__aarch64__) && defined(__ARM_NEON)
    r.neon.name = "neon";
    register_neon(r.neon);
    fill_missing(r.neon, r.scalar);
    r.available.push_back(&r.neon);
#endif
    r.available.push_back(&r.scalar);
    return r;
}

const Registry& registry() {
    static const Registry r = build_registry();
    return r;
}

const IsaTable* find_table(const std::string& name) {
    for (const IsaTable* t : registry().available)
        if (name == t->name) return t;
    return nullptr;
}

// The ISA in use: the best one, or DILMODELI_ISA from the environment, or force_isa()'s.
std::atomic<const IsaTable*>& chosen() {
    static std::atomic<const IsaTable*> table{[] {
        const char* env = std::getenv("DILMODELI_ISA");
        if (env && *env) {
            if (const IsaTable* t = find_table(env)) return t;
        }
        return registry().available.front();
    }()};
    return table;
}

}  // namespace

const IsaTable& active_table() { return *chosen().load(std::memory_order_acquire); }
const IsaTable& scalar_table() { return registry().scalar; }

}  // namespace detail

std::vector<std::string> available_isas() {
    std::vector<std::string> names;
    for (const detail::IsaTable* t : detail::registry().available) names.emplace_back(t->name);
    return names;
}

std::string active_isa() { return detail::active_table().name; }

void force_isa(const std::string& name) {
    const detail::IsaTable* t = detail::find_table(name);
    if (!t) throw usage_error("instruction set '" + name + "' is not available on this CPU");
    detail::chosen().store(t, std::memory_order_release);
}

}  // namespace dilmodeli::kernels
