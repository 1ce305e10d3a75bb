#include "dec/runtime/task_costs.h"

#include <utility>

#include "dec/core/error.h"

namespace dec::runtime {

TaskCosts::TaskCosts(profile::ModelProfile p) : p_(std::move(p)) {
  DEC_ASSERT(p_.block_sum_s() > 0 && p_.speed > 0, "profile without block times");
}

StageCost TaskCosts::stage(const StageShape& s) const {
  DEC_ASSERT(s.begin < s.end && s.end <= p_.blocks.size() && s.rows > 0, "stage [", s.begin, ", ", s.end,
             ") on ", s.rows, " rows of a ", p_.blocks.size(), "-block profile");
  StageCost c;
  for (size_t l = s.begin; l < s.end; ++l) {
    c.forward_s += profile::task_s(p_.blocks[l], static_cast<double>(s.rows), false);
    c.backward_s += profile::task_s(p_.blocks[l], static_cast<double>(s.rows), true);
  }
  c.forward_s *= p_.speed;
  c.backward_s *= p_.speed;
  return c;
}

double TaskCosts::step_s(const std::vector<size_t>& held) const {
  double s = 0;
  for (size_t l : held) {
    DEC_ASSERT(l < p_.blocks.size(), "block ", l, " of a ", p_.blocks.size(), "-block profile");
    s += p_.blocks[l].opt_s;
  }
  return s * p_.speed;
}

}  // namespace dec::runtime
