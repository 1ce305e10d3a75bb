#include "dec/cli/cli_util.h"

#include <dlfcn.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace dec::cli {

int report_error(const std::string& message, int code) {
  std::fprintf(stderr, "dec: error: %s\n", message.c_str());
  return code;
}

void report_warning(const std::string& what, const std::string& where, const std::string& why) {
  std::fprintf(stderr, "dec: warning: %s (%s): %s\n", what.c_str(), where.c_str(), why.c_str());
}

void set_threads(int threads) {
  if (threads > 0) {
    torch::set_num_threads(threads);
  }
  // OpenBLAS (Debian's libblas.so.3 alternative) starts its own pool at load
  // time; torch's threads on top of it oversubscribe the cores. Shrink it to
  // one thread if OpenBLAS is the BLAS in this process, and tell children too.
  using SetThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    set(1);
  }
  ::setenv("OPENBLAS_NUM_THREADS", "1", 0);
}

bool stderr_is_tty() { return ::isatty(STDERR_FILENO) == 1; }

}  // namespace dec::cli
