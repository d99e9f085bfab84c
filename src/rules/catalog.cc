#include "rules/catalog.h"

namespace trial::rules {

namespace {

bool GlobMatch(std::string_view pattern, std::string_view text) {
  size_t i = 0;
  for (; i < pattern.size(); ++i) {
    char p = pattern[i];
    if (p == '*')
      return i + 1 == pattern.size() ||
             GlobMatch(pattern.substr(i + 1), text.substr(std::min(i, text.size())));
    if (i >= text.size()) return false;
    if (p != '?' && p != text[i]) return false;
  }
  return i == text.size();
}

}  // namespace

bool CodePattern::Matches(const record::Coding& c) const {
  if (c.system != system) return false;
  switch (kind) {
    case Kind::kExact:
      return c.code == code;
    case Kind::kPrefix:
      return c.code.compare(0, code.size(), code) == 0;
    case Kind::kRange: {
      // I60..I69: the code's category (its first |low| characters) lies in [low, high].
      if (c.code.size() < code.size()) return false;
      std::string_view category(c.code.data(), code.size());
      return category >= std::string_view(code) && category <= std::string_view(high);
    }
    case Kind::kGlob:
      return GlobMatch(code, c.code);
  }
  return false;
}

std::string CodePattern::ToString() const {
  switch (kind) {
    case Kind::kExact:
      return system + "|" + code;
    case Kind::kPrefix:
      return system + "|" + code + "*";
    case Kind::kRange:
      return system + "|" + code + ".." + high;
    case Kind::kGlob:
      return system + "|" + code;
  }
  return system + "|" + code;
}

bool Member::Matches(const std::vector<record::Coding>& codes) const {
  for (const auto& c : codes) {
    for (const auto& p : any_of) {
      if (p.Matches(c)) return true;
    }
  }
  if (all_of.empty()) return false;
  for (const auto& p : all_of) {
    bool found = false;
    for (const auto& c : codes) {
      if (p.Matches(c)) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

const Member* Element::Match(const std::vector<record::Coding>& codes) const {
  for (const auto& m : members) {
    if (m.Matches(codes)) return &m;
  }
  return nullptr;
}

std::string Element::Describe() const {
  std::string out = label.empty() ? name : label;
  std::string codes;
  int shown = 0;
  for (const auto& m : members) {
    for (const auto& p : m.any_of) {
      if (shown++ >= 3) break;
      codes += (codes.empty() ? "" : ", ") + p.ToString();
    }
  }
  if (!codes.empty()) out += " (" + codes + (shown > 3 ? ", ..." : "") + ")";
  return out;
}

const Element* Catalog::FindElement(const std::string& name) const {
  for (const auto& e : elements) {
    if (e->name == name) return e.get();
  }
  return nullptr;
}

const ItemDecl* Catalog::FindItem(const std::string& name) const {
  for (const auto& i : items) {
    if (i.name == name) return &i;
  }
  return nullptr;
}

}  // namespace trial::rules
