#include "dec/cli/cli_util.h"

#include <torch/torch.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace dec::cli {

int report_error(const std::string& message, int code) {
  std::fprintf(stderr, "dec: error: %s\n", message.c_str());
  return code;
}

void set_threads(int threads) {
  if (threads > 0) {
    torch::set_num_threads(threads);
  }
  // OpenBLAS reads this at load time, which has passed; the CLI's main also
  // re-executes nothing, so scripts/dev and the launcher export it early. This
  // call only covers libraries that read it lazily.
  setenv("OPENBLAS_NUM_THREADS", "1", 0);
}

bool stderr_is_tty() { return ::isatty(STDERR_FILENO) == 1; }

}  // namespace dec::cli
