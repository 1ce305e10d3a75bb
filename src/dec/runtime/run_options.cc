#include "dec/runtime/run_options.h"

#include "dec/core/error.h"

namespace dec::runtime {

void validate_run_options(const RunOptions& o) {
  DEC_CHECK(o.epochs > 0 || o.max_steps > 0, ConfigError, "invalid flag", "--epochs",
            "must be positive (or give --steps), got ", o.epochs);
  DEC_CHECK(o.max_steps >= 0, ConfigError, "invalid flag", "--steps", "must be >= 0, got ", o.max_steps);
  DEC_CHECK(o.checkpoint_every >= 0, ConfigError, "invalid flag", "--checkpoint-every",
            "must be >= 0, got ", o.checkpoint_every);
  DEC_CHECK(o.checkpoint_every == 0 || !o.checkpoint_dir.empty(), ConfigError, "invalid flag",
            "--checkpoint-every", "needs --checkpoint-dir");
  optim::validate(o.optimizer, "--optimizer");
}

}  // namespace dec::runtime
