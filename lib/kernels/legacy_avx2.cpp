#include "kernels/kernel_table.h"
namespace dilmodeli::kernels::detail {
void register_avx2_legacy(IsaTable&) {}
}
