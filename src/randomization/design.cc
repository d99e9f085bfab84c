// Design (design.h).
#include "randomization/design.h"

#include <algorithm>
#include <cstdio>
#include <set>

namespace trial::randomization {

namespace {

bool CleanName(const std::string& s) {
  if (s.empty() || s.size() > 200) return false;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f || c == '|' || c == ',' || c == '=' || c == ';' || c == ':' ||
        c == '(' || c == ')' || c == ' ')
      return false;
  }
  return true;
}

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

}  // namespace

int Design::RatioSum() const {
  int sum = 0;
  for (const auto& a : arms) sum += a.ratio;
  return sum;
}

Result<void> Validate(const Design& d) {
  if (d.arms.size() < 2) return Fail(ErrorCode::kInvalidInput, "a design needs at least two arms");
  std::set<std::string> ids;
  for (const auto& a : d.arms) {
    if (!CleanName(a.id)) return Fail(ErrorCode::kInvalidInput, "invalid arm id '" + a.id + "'");
    if (!ids.insert(a.id).second)
      return Fail(ErrorCode::kInvalidInput, "duplicate arm id '" + a.id + "'");
    if (a.ratio <= 0 || a.ratio > 100)
      return Fail(ErrorCode::kInvalidInput, "arm " + a.id + ": ratio must be in 1..100");
  }
  const int sum = d.RatioSum();
  if (d.block_sizes.empty())
    return Fail(ErrorCode::kInvalidInput, "a design needs at least one block size");
  for (int b : d.block_sizes) {
    if (b <= 0 || b % sum != 0 || b > 1000) {
      return Fail(ErrorCode::kInvalidInput, "block size " + std::to_string(b) +
                                                " is not a positive multiple of the ratio sum " +
                                                std::to_string(sum) + " (at most 1000)");
    }
  }
  std::set<std::string> names;
  for (const auto& f : d.factors) {
    if (!CleanName(f.name))
      return Fail(ErrorCode::kInvalidInput, "invalid factor name '" + f.name + "'");
    if (!names.insert(f.name).second)
      return Fail(ErrorCode::kInvalidInput, "duplicate factor '" + f.name + "'");
    if (f.values.empty())
      return Fail(ErrorCode::kInvalidInput, "factor '" + f.name + "' has no values");
    std::set<std::string> values;
    for (const auto& v : f.values) {
      if (!CleanName(v))
        return Fail(ErrorCode::kInvalidInput, "factor " + f.name + ": invalid value '" + v + "'");
      if (!values.insert(v).second)
        return Fail(ErrorCode::kInvalidInput, "factor " + f.name + ": duplicate value '" + v + "'");
    }
    if (!(f.weight > 0))
      return Fail(ErrorCode::kInvalidInput, "factor " + f.name + ": weight must be positive");
  }
  if (!(d.high_probability > 0.5 && d.high_probability <= 1.0))
    return Fail(ErrorCode::kInvalidInput, "high probability must be in (0.5, 1]");
  return {};
}

Result<Design> FromProtocol(const protocol::Protocol& p, const std::vector<std::string>& sites) {
  const auto& r = p.randomization;
  Design d;
  d.method = r.method;
  for (const auto& a : p.arms) d.arms.push_back({a.id, a.ratio});
  d.block_sizes = r.block_sizes;
  for (const auto& f : r.factors) {
    Factor factor{f.name, f.from_sites ? sites : f.values, f.weight, f.from_sites};
    if (f.from_sites && sites.empty()) {
      return Fail(ErrorCode::kInvalidInput,
                  "factor '" + f.name + "' takes its values from the sites, and there are none");
    }
    d.factors.push_back(std::move(factor));
  }
  d.measure = r.minimization.measure;
  d.high_probability = r.minimization.high_probability;
  if (auto ok = Validate(d); !ok) return std::unexpected(ok.error());
  return d;
}

Result<std::string> StratumKey(const Design& d, const Levels& levels) {
  if (levels.size() != d.factors.size()) {
    return Fail(ErrorCode::kInvalidInput, "expected " + std::to_string(d.factors.size()) +
                                              " stratum values, got " +
                                              std::to_string(levels.size()));
  }
  if (d.factors.empty()) return std::string("all");
  std::string key;
  for (size_t i = 0; i < levels.size(); ++i) {
    const auto& f = d.factors[i];
    bool known = false;
    for (const auto& v : f.values) known = known || v == levels[i];
    if (!known) {
      return Fail(ErrorCode::kInvalidInput,
                  "'" + levels[i] + "' is not a value of stratum factor '" + f.name + "'");
    }
    if (i) key += ",";
    key += f.name + "=" + levels[i];
  }
  return key;
}

Result<std::vector<int>> ParseStratumKey(const Design& d, const std::string& key) {
  std::vector<int> indexes;
  if (d.factors.empty()) {
    if (key == "all") return indexes;
    return Fail(ErrorCode::kInvalidInput, "stratum '" + key + "': the design has no factors");
  }
  size_t start = 0;
  for (size_t i = 0; i < d.factors.size(); ++i) {
    const auto& f = d.factors[i];
    const size_t end = i + 1 < d.factors.size() ? key.find(',', start) : key.size();
    const std::string part = key.substr(start, end == std::string::npos ? end : end - start);
    const std::string prefix = f.name + "=";
    if (end == std::string::npos || part.rfind(prefix, 0) != 0) {
      return Fail(ErrorCode::kInvalidInput,
                  "stratum '" + key + "' does not give factor '" + f.name + "' in its place");
    }
    const std::string value = part.substr(prefix.size());
    auto it = std::find(f.values.begin(), f.values.end(), value);
    if (it == f.values.end()) {
      return Fail(ErrorCode::kInvalidInput, "stratum '" + key + "': '" + value +
                                                "' is not a value of factor '" + f.name + "'");
    }
    indexes.push_back(static_cast<int>(it - f.values.begin()));
    start = end + 1;
  }
  return indexes;
}

std::vector<std::string> AllStrata(const Design& d) {
  if (d.factors.empty()) return {"all"};
  std::vector<std::string> out;
  std::vector<size_t> idx(d.factors.size(), 0);
  for (;;) {
    std::string key;
    for (size_t i = 0; i < idx.size(); ++i) {
      if (i) key += ",";
      key += d.factors[i].name + "=" + d.factors[i].values[idx[i]];
    }
    out.push_back(key);
    size_t k = idx.size();
    while (k > 0) {
      --k;
      if (++idx[k] < d.factors[k].values.size()) break;
      idx[k] = 0;
      if (k == 0) return out;
    }
  }
}

std::string Describe(const Design& d) {
  std::string s = "method=";
  s += d.method == RandomizationMethod::kMinimization ? "minimization" : "permuted_blocks";
  s += ";arms=";
  for (size_t i = 0; i < d.arms.size(); ++i) {
    s += (i ? "," : "") + d.arms[i].id + ":" + std::to_string(d.arms[i].ratio);
  }
  s += ";block_sizes=";
  for (size_t i = 0; i < d.block_sizes.size(); ++i) {
    s += (i ? "," : "") + std::to_string(d.block_sizes[i]);
  }
  s += ";factors=";
  for (size_t i = 0; i < d.factors.size(); ++i) {
    const auto& f = d.factors[i];
    s += (i ? "," : "") + f.name + "(";
    if (f.from_sites) {
      s += "<sites>";
    } else {
      for (size_t j = 0; j < f.values.size(); ++j) s += (j ? " " : "") + f.values[j];
    }
    s += ")";
  }
  s += ";minimization=";
  s += d.measure == ImbalanceMeasure::kVariance ? "variance" : "range";
  s += ",p=" + Number(d.high_probability) + ",weights=";
  for (size_t i = 0; i < d.factors.size(); ++i) {
    s += (i ? " " : "") + d.factors[i].name + ":" + Number(d.factors[i].weight);
  }
  return s;
}

}  // namespace trial::randomization
