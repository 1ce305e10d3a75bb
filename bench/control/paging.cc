// The equipment list at depth: page numbers (OFFSET) against the cursor
// (created_at, id) on the covering index, on SQLite, through Control::list_nodes
// (the query, the row reads and the JSON the API answers).
//
//   build/bench/control_paging [--rows 1000000] [--reps 40] [--per-page 50] [--dir DIR]
//
// Prints p50 and p95 per page at the first page, page 100 and page 10,000, each
// read with OFFSET and with the cursor, and the cursor's deep page against its
// first page.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "dec/control/clock.h"
#include "dec/control/control.h"
#include "dec/control/db.h"

using namespace dec::control;

namespace {

struct Args {
  int64_t rows = 1000000;
  int reps = 40;
  int per_page = 50;
  std::string dir;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--rows") a.rows = std::atoll(argv[i + 1]);
    else if (k == "--reps") a.reps = std::atoi(argv[i + 1]);
    else if (k == "--per-page") a.per_page = std::atoi(argv[i + 1]);
    else if (k == "--dir") a.dir = argv[i + 1];
    else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      std::exit(2);
    }
  }
  return a;
}

// rows nodes: 80% available, the rest spread over other states; created_at one
// millisecond apart with every fifth row sharing its instant with the previous.
void seed(Db& db, int64_t rows) {
  const char* states[] = {"available", "available", "available", "available", "assigned"};
  const char* tiers[] = {"device", "edge", "cloud"};
  int64_t t0 = 1700000000000;
  for (int64_t start = 0; start < rows; start += 100000) {
    db.transact([&](Tx& tx) {
      if (start == 0) {
        tx.exec("INSERT INTO users (address, role, created_at) VALUES ('seed@example.org', 'admin', 0)");
      }
      for (int64_t i = start; i < std::min(rows, start + 100000); ++i) {
        tx.exec("INSERT INTO nodes (name, tier, category, department, owner_id, hardware, state, "
                "created_at) VALUES ($1, $2, 'gpu-server', 'lab', 1, '{}', $3, $4)",
                {std::string("node-") + std::to_string(i), std::string(tiers[i % 3]),
                 std::string(states[i % 5]), t0 + i - i / 5});
      }
    });
  }
  db.transact([](Tx& tx) { tx.exec("ANALYZE"); });
}

struct Stat {
  double p50, p95;
};

template <typename F>
Stat measure(int reps, F fn) {
  std::vector<double> ms;
  fn();  // warm the cache and the prepared statement
  for (int r = 0; r < reps; ++r) {
    auto t = std::chrono::steady_clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 95 / 100)]};
}

}  // namespace

int main(int argc, char** argv) {
  Args a = parse(argc, argv);
  std::string dir = a.dir;
  if (dir.empty()) {
    std::string pattern = (std::filesystem::temp_directory_path() / "dec-paging-XXXXXX").string();
    dir = ::mkdtemp(pattern.data());
  }
  std::string path = dir + "/control.db";
  bool fresh = !std::filesystem::exists(path);
  auto db = open_sqlite(path);
  if (fresh) {
    auto t = std::chrono::steady_clock::now();
    seed(*db, a.rows);
    std::printf("seeded %lld nodes in %.1f s (%s)\n", static_cast<long long>(a.rows),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count(), path.c_str());
  }
  ManualClock clock;
  ControlOptions options;
  options.max_page_number = 1000000;
  Control control(*db, clock, options);
  std::printf("rows %lld, state=available (80%%), %d per page, %d reps each; ms per page\n",
              static_cast<long long>(scalar(*db, "SELECT COUNT(*) FROM nodes")), a.per_page, a.reps);
  std::printf("%-12s %10s %10s %10s %10s\n", "page", "offset p50", "offset p95", "cursor p50", "cursor p95");
  double first_cursor_p95 = 0;
  for (int page : {1, 100, 10000}) {
    NodeQuery q;
    q.state = "available";
    q.per_page = a.per_page;
    q.page = page;
    Stat offset = measure(a.reps, [&] { control.list_nodes(q); });
    // The cursor that reaches this page: the last row of the page before it.
    NodeQuery c = q;
    if (page > 1) {
      NodeQuery before = q;
      before.page = page - 1;
      auto prev = control.list_nodes(before);
      c.after = decode_cursor(prev["next_cursor"].get<std::string>());
    }
    Stat cursor = measure(a.reps, [&] { control.list_nodes(c); });
    if (page == 1) first_cursor_p95 = cursor.p95;
    std::printf("%-12d %10.3f %10.3f %10.3f %10.3f\n", page, offset.p50, offset.p95, cursor.p50,
                cursor.p95);
    if (page == 10000) {
      std::printf("cursor at page 10000 / page 1 (p95): %.2fx\n", cursor.p95 / first_cursor_p95);
    }
  }
  return 0;
}
