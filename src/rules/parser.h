// Lexer and parser of the rules language (grammar in docs/rules.md).
// Thread-safety: stateless functions.
#pragma once

#include <string_view>

#include "core/error.h"
#include "rules/ast.h"

namespace trial::rules {

// Maximum nesting depth accepted from untrusted rule text; deeper input is a kParse error.
inline constexpr int kMaxDepth = 200;

// Where a rule's text starts in its file, so that positions in messages are the file's: the
// first character is at (line, column); every later line starts `indent` columns in (a YAML
// block scalar strips that indentation).
struct TextStart {
  int line = 1;
  int column = 1;
  int indent = 0;
};

// Parses one rule: `{let NAME = EXPR;} EXPR`. On failure returns kParse with
// "<origin>:<line>:<column>: <what is wrong>" and leaves nothing behind.
Result<NodePtr> Parse(std::string_view text, std::string_view origin, TextStart start = {});

}  // namespace trial::rules
