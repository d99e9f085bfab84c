// The syntax tree of the rules language, as the parser produces it (unresolved names, no types).
// The binder (binder.h) turns it into a typed tree; only bound trees are evaluated.
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/date.h"

namespace trial::rules {

// A position in rule text, 1-based, as every error message reports it.
struct Span {
  int line = 1;
  int column = 1;
  uint32_t begin = 0;  // byte offsets into the rule text, [begin, end)
  uint32_t end = 0;
};

enum class NodeKind : uint8_t {
  kBool,       // true | false            (text: "true"/"false")
  kUnknown,    // unknown
  kNumber,     // 45                      (number)
  kQuantity,   // 45 'kg'                 (number, text = unit code)
  kDuration,   // 28 days                 (duration)
  kDate,       // @2026-03-02             (date)
  kString,     // "female"                (text)
  kName,       // W, S, screening_window  (text)
  kList,       // [a, b, c]               (children)
  kCall,       // f(a, b)                 (text = f, children = args)
  kLambda,     // x -> body               (text = x, children[0] = body)
  kField,      // e.value                 (text = value, children[0] = e)
  kUnary,      // not a, -a               (op, children[0])
  kBinary,     // a op b                  (op, children[0..1])
  kIf,         // if c then a else b      (children[0..2])
  kCase,       // case when c1 then v1 ... else e end   (children: c1, v1, c2, v2, ..., e)
  kWithin,     // t within d before x / after x         (op = kBefore|kAfter; children t, d, x)
  kBetween,    // a between lo and hi     (children a, lo, hi)
  kIsUnknown,  // a is [not] unknown      (op = kIs|kIsNot; children[0])
  kLet,        // let n = v; body         (text = n, children v, body)
};

enum class Op : uint8_t {
  kNone,
  kNot,
  kNeg,
  kAnd,
  kOr,
  kImplies,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kAdd,
  kSub,
  kMul,
  kDiv,
  kIn,
  kBefore,
  kAfter,
  kIs,
  kIsNot,
};

const char* OpText(Op op);

struct Node {
  NodeKind kind = NodeKind::kUnknown;
  Op op = Op::kNone;
  Span span;
  std::string text;
  double number = 0;
  Duration duration;
  Date date;
  std::vector<std::unique_ptr<Node>> children;
};

using NodePtr = std::unique_ptr<Node>;

}  // namespace trial::rules
