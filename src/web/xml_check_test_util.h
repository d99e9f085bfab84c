// A small well-formedness check for the web tests: every tag closed in order, attribute values
// quoted, no bare '<' or '&' in text or attribute values. Not a full XML parser (no DTDs, CDATA
// or processing instructions; comments are skipped). Test-only.
// Errors: none; returns false on the first problem.
// Thread-safety: a pure function.
#pragma once

#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace trial::web {

inline bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == ':' || c == '_' || c == '-';
}

// True when `text` at `i` starts a character or entity reference ("&amp;", "&#39;").
inline bool IsReference(std::string_view text, size_t i) {
  size_t j = i + 1;
  if (j < text.size() && text[j] == '#') ++j;
  const size_t start = j;
  while (j < text.size() && std::isalnum(static_cast<unsigned char>(text[j]))) ++j;
  return j > start && j < text.size() && text[j] == ';';
}

inline bool IsWellFormedXml(std::string_view text) {
  std::vector<std::string> open;
  size_t i = 0;
  auto name_at = [&](size_t& k) {
    const size_t start = k;
    while (k < text.size() && IsNameChar(text[k])) ++k;
    return std::string(text.substr(start, k - start));
  };
  auto skip_space = [&](size_t& k) {
    while (k < text.size() && std::isspace(static_cast<unsigned char>(text[k]))) ++k;
  };
  while (i < text.size()) {
    const char c = text[i];
    if (c == '&') {
      if (!IsReference(text, i)) return false;
      ++i;
      continue;
    }
    if (c != '<') {
      ++i;
      continue;
    }
    if (text.substr(i, 4) == "<!--") {
      const size_t end = text.find("-->", i + 4);
      if (end == std::string_view::npos) return false;
      i = end + 3;
      continue;
    }
    if (text.substr(i, 2) == "</") {
      size_t k = i + 2;
      const std::string name = name_at(k);
      skip_space(k);
      if (name.empty() || k >= text.size() || text[k] != '>') return false;
      if (open.empty() || open.back() != name) return false;
      open.pop_back();
      i = k + 1;
      continue;
    }
    size_t k = i + 1;
    const std::string name = name_at(k);
    if (name.empty()) return false;  // a bare '<'
    for (;;) {
      skip_space(k);
      if (k >= text.size()) return false;
      if (text.substr(k, 2) == "/>") {
        k += 2;
        break;
      }
      if (text[k] == '>') {
        open.push_back(name);
        ++k;
        break;
      }
      if (name_at(k).empty()) return false;
      if (k + 1 >= text.size() || text[k] != '=' || text[k + 1] != '"') return false;
      const size_t end = text.find('"', k + 2);
      if (end == std::string_view::npos) return false;
      for (size_t v = k + 2; v < end; ++v) {
        if (text[v] == '<' || (text[v] == '&' && !IsReference(text, v))) return false;
      }
      k = end + 1;
    }
    i = k;
  }
  return open.empty();
}

}  // namespace trial::web
