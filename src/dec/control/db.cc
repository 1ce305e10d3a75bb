#include "dec/control/db.h"

#include <cstdlib>

namespace dec::control {

const Value& Row::find(const std::string& column) const {
  for (size_t i = 0; i < names_->size(); ++i) {
    if ((*names_)[i] == column) return values_[i];
  }
  DEC_ASSERT(false, "no column '", column, "' in the result");
  return values_[0];  // unreachable
}

bool Row::is_null(const std::string& column) const {
  return std::holds_alternative<std::nullptr_t>(find(column));
}

int64_t Row::integer(const std::string& column) const {
  const Value& v = find(column);
  if (auto* i = std::get_if<int64_t>(&v)) return *i;
  if (auto* d = std::get_if<double>(&v)) return static_cast<int64_t>(*d);
  if (auto* s = std::get_if<std::string>(&v)) return std::strtoll(s->c_str(), nullptr, 10);
  return 0;
}

double Row::real(const std::string& column) const {
  const Value& v = find(column);
  if (auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  if (auto* d = std::get_if<double>(&v)) return *d;
  if (auto* s = std::get_if<std::string>(&v)) return std::strtod(s->c_str(), nullptr);
  return 0;
}

std::string Row::text(const std::string& column) const {
  const Value& v = find(column);
  if (auto* s = std::get_if<std::string>(&v)) return *s;
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&v)) return std::to_string(*d);
  return "";
}

int64_t scalar(Tx& tx, const std::string& sql, const Params& params) {
  Rows rows = tx.query(sql, params);
  if (rows.empty() || rows[0].size() == 0) return 0;
  return rows[0].integer(rows[0].names()[0]);
}

int64_t scalar(Db& db, const std::string& sql, const Params& params) {
  Rows rows = db.query(sql, params);
  if (rows.empty() || rows[0].size() == 0) return 0;
  return rows[0].integer(rows[0].names()[0]);
}

}  // namespace dec::control
