#include "model/matmul_observer.h"

#include <chrono>

namespace dilmodeli::model {

double seconds_now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace dilmodeli::model
