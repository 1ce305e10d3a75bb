#include "dec/runtime/metrics.h"

#include <cerrno>
#include <chrono>
#include <cstring>

#include "dec/core/error.h"
#include "dec/core/version.h"
#include "dec/report/metrics_format.h"

namespace dec::runtime {

MetricsWriter::MetricsWriter(const std::string& path) : path_(path) {
  if (path.empty()) return;
  file_ = std::fopen(path.c_str(), "a");
  DEC_CHECK(file_ != nullptr, IoError, "cannot open metrics file", path, std::strerror(errno));
  try {
    write({{"event", report::kStartEvent},
           {"format_version", report::kMetricsFormatVersion},
           {"dec_version", kVersion}});
  } catch (const IoError&) {
    std::fclose(file_);  // the destructor does not run for a throwing constructor
    throw;
  }
}

MetricsWriter::~MetricsWriter() {
  if (file_) std::fclose(file_);
}

void MetricsWriter::write(nlohmann::json record) {
  if (!file_) return;
  using namespace std::chrono;
  record["time"] = duration<double>(system_clock::now().time_since_epoch()).count();
  const std::string line = record.dump() + "\n";
  bool ok = std::fwrite(line.data(), 1, line.size(), file_) == line.size() &&
            std::fflush(file_) == 0;
  DEC_CHECK(ok, IoError, "cannot write metrics file", path_, std::strerror(errno));
}

}  // namespace dec::runtime
