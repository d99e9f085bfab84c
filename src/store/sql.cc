#include "store/sql.h"

#include <charconv>

namespace trial::store {

int64_t Row::Int(size_t i) const {
  const SqlValue& v = columns.at(i);
  if (const auto* n = std::get_if<int64_t>(&v)) return *n;
  if (const auto* s = std::get_if<std::string>(&v)) {
    int64_t out = 0;
    std::from_chars(s->data(), s->data() + s->size(), out);
    return out;
  }
  return 0;
}

std::string Row::Text(size_t i) const {
  const SqlValue& v = columns.at(i);
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* n = std::get_if<int64_t>(&v)) return std::to_string(*n);
  return "";
}

}  // namespace trial::store
