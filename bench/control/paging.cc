// The equipment list at depth: page numbers (OFFSET) against the cursor
// (created_at, id) on the covering index, through Control::list_nodes (the
// query, the row reads and the JSON the API answers), on SQLite or on a
// PostgreSQL this program starts itself (tests/support/services.h).
//
//   build/bench/control_paging [--db sqlite|postgres] [--rows 1000000] [--reps 40]
//                              [--per-page 50] [--dir DIR]
//
// Seeds `rows` nodes with one INSERT ... SELECT over a generated series (a
// recursive CTE on SQLite, generate_series on PostgreSQL, then VACUUM ANALYZE so
// that the covering index is read alone). With --dir on SQLite, an existing
// control.db there is reused and a new one is kept (bench/control/run serves
// it over HTTP afterwards).
//
// Prints p50 and p95 per page at the first page, page 100 and page 10,000, each
// read with OFFSET and with the cursor; then the goal checks: the cursor at any
// depth within 2x of the first page (p95), and every cursor page under 5 ms p95.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "dec/control/clock.h"
#include "dec/control/control.h"
#include "dec/control/db.h"
#include "support/services.h"

using namespace dec::control;

namespace {

struct Args {
  std::string db = "sqlite";
  int64_t rows = 1000000;
  int reps = 40;
  int per_page = 50;
  std::string dir;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--db") a.db = argv[i + 1];
    else if (k == "--rows") a.rows = std::atoll(argv[i + 1]);
    else if (k == "--reps") a.reps = std::atoi(argv[i + 1]);
    else if (k == "--per-page") a.per_page = std::atoi(argv[i + 1]);
    else if (k == "--dir") a.dir = argv[i + 1];
    else {
      std::fprintf(stderr, "control_paging: unknown flag %s\n", argv[i]);
      std::exit(2);
    }
  }
  if (a.db != "sqlite" && a.db != "postgres") {
    std::fprintf(stderr, "control_paging: --db is sqlite or postgres\n");
    std::exit(2);
  }
  return a;
}

// rows nodes: 80% available, the rest assigned; created_at one millisecond
// apart with every fifth row sharing its instant with the previous (ties broken
// by id). The same rows on both databases; only the series differs.
void seed(Db& db, int64_t rows) {
  const std::string select =
      "INSERT INTO nodes (name, tier, category, department, owner_id, hardware, state, created_at) "
      "SELECT 'node-' || i, CASE i % 3 WHEN 0 THEN 'device' WHEN 1 THEN 'edge' ELSE 'cloud' END, "
      "'gpu-server', 'lab', 1, '{}', CASE WHEN i % 5 = 4 THEN 'assigned' ELSE 'available' END, "
      "1700000000000 + i - i / 5 ";
  db.transact([&](Tx& tx) {
    tx.exec("INSERT INTO users (address, role, created_at) VALUES ('seed@example.org', 'admin', 0)");
    if (db.dialect() == Dialect::kSqlite) {
      tx.exec("WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < $1) " + select +
                  "FROM s",
              {rows});
    } else {
      tx.exec(select + "FROM generate_series(0::bigint, $1::bigint - 1) AS s(i)", {rows});
    }
  });
  if (db.dialect() == Dialect::kSqlite) db.transact([](Tx& tx) { tx.exec("ANALYZE"); });
}

// VACUUM cannot run in a transaction, and every Db call is one: psql runs it.
// Without it PostgreSQL's visibility map is empty and an index-only scan visits
// the heap for every row.
void vacuum_postgres(const std::string& url) {
  std::string cmd = "psql -X -q '" + url + "' -c 'VACUUM ANALYZE nodes' >/dev/null";
  if (std::system(cmd.c_str()) != 0) {
    std::fprintf(stderr, "control_paging: %s failed\n", cmd.c_str());
    std::exit(1);
  }
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

void run(Db& db, const Args& a, const std::string& label) {
  ManualClock clock;
  ControlOptions options;
  options.max_page_number = 1000000;
  Control control(db, clock, options);
  std::printf("[%s] rows %lld, state=available (80%%), %d per page, %d reps each; ms per page\n", label.c_str(),
              static_cast<long long>(scalar(db, "SELECT COUNT(*) FROM nodes")), a.per_page, a.reps);
  std::printf("[%s] %-8s %10s %10s %10s %10s %9s\n", label.c_str(), "page", "offset p50", "offset p95",
              "cursor p50", "cursor p95", "off/cur");
  double first_p95 = 0, worst_ratio = 0, worst_p95 = 0;
  // Page 10,000 needs 500,000 available rows at 50 a page; a smaller seed
  // (--quick) reads its last full page instead.
  int64_t available = scalar(db, "SELECT COUNT(*) FROM nodes WHERE state = 'available'");
  int deep = static_cast<int>(std::min<int64_t>(10000, std::max<int64_t>(2, available / a.per_page)));
  for (int page : {1, std::min(100, deep - 1), deep}) {
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
    if (page == 1) first_p95 = cursor.p95;
    worst_ratio = std::max(worst_ratio, cursor.p95 / first_p95);
    worst_p95 = std::max(worst_p95, cursor.p95);
    std::printf("[%s] %-8d %10.3f %10.3f %10.3f %10.3f %8.1fx\n", label.c_str(), page, offset.p50, offset.p95,
                cursor.p50, cursor.p95, offset.p95 / cursor.p95);
  }
  std::printf("[%s] goal: cursor within 2x of the first page at any depth (p95): worst %.2fx -> %s\n",
              label.c_str(), worst_ratio, worst_ratio <= 2 ? "met" : "NOT met");
  std::printf("[%s] goal: cursor pages under 5 ms p95 at %lld rows: worst %.3f ms -> %s\n", label.c_str(),
              static_cast<long long>(a.rows), worst_p95, worst_p95 < 5 ? "met" : "NOT met");
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  Args a = parse(argc, argv);
  try {
    if (a.db == "postgres") {
      dec::test::PostgresServer server;
      auto db = open_postgres(server.url(), 2);
      auto t = std::chrono::steady_clock::now();
      seed(*db, a.rows);
      vacuum_postgres(server.url());
      std::printf("[postgres] seeded %lld nodes in %.1f s (PostgreSQL on 127.0.0.1:%d)\n",
                  static_cast<long long>(a.rows), seconds_since(t), server.port());
      run(*db, a, "postgres");
      return 0;
    }
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
      std::printf("[sqlite] seeded %lld nodes in %.1f s (%s)\n", static_cast<long long>(a.rows),
                  seconds_since(t), path.c_str());
    }
    run(*db, a, "sqlite");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "control_paging: %s\n", e.what());
    return 1;
  }
  return 0;
}
