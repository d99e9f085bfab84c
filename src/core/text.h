// Small text helpers shared by modules. Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace trial {

// `text` on one line: newlines, tabs and runs of spaces folded into single spaces, leading and
// trailing ones dropped (for messages and traces).
std::string FoldWhitespace(std::string_view text);

}  // namespace trial
