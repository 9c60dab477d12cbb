// The header compiles as C++11 with -pedantic and its functions link from C++.
#include "swquant.h"

#include <cstdio>

int main() {
    swq_scheme scheme = {8, SWQ_GRID_SIGNED, 1, SWQ_PER_TENSOR, 0, 0, SWQ_DTYPE_F32};
    float scale = 0;
    int32_t zero = -1;
    swq_status status = swq_qparams_from_range(&scheme, -2.54f, 1.0f, &scale, &zero);
    bool ok = status == SWQ_OK && scale == 0.02f && zero == 0 && swq_abi_version() == SWQ_ABI_VERSION;
    std::printf("%d passed, %d failed\n", ok ? 1 : 0, ok ? 0 : 1);
    return ok ? 0 : 1;
}
