#include "rules/parser.h"

#include <charconv>
#include <string>
#include <vector>

namespace trial::rules {

const char* OpText(Op op) {
  switch (op) {
    case Op::kNone:
      return "";
    case Op::kNot:
      return "not";
    case Op::kNeg:
      return "-";
    case Op::kAnd:
      return "and";
    case Op::kOr:
      return "or";
    case Op::kImplies:
      return "implies";
    case Op::kEq:
      return "=";
    case Op::kNe:
      return "!=";
    case Op::kLt:
      return "<";
    case Op::kLe:
      return "<=";
    case Op::kGt:
      return ">";
    case Op::kGe:
      return ">=";
    case Op::kAdd:
      return "+";
    case Op::kSub:
      return "-";
    case Op::kMul:
      return "*";
    case Op::kDiv:
      return "/";
    case Op::kIn:
      return "in";
    case Op::kBefore:
      return "before";
    case Op::kAfter:
      return "after";
    case Op::kIs:
      return "is";
    case Op::kIsNot:
      return "is not";
  }
  return "?";
}

namespace {

enum class Tok : uint8_t {
  kEnd,
  kIdent,
  kNumber,
  kUnit,    // 'kg'
  kString,  // "female"
  kDate,    // @2026-03-02
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kComma,
  kSemicolon,
  kDot,
  kArrow,
  kPlus,
  kMinus,
  kStar,
  kSlash,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
};

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;
  Span span;
};

bool IsIdentStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c); }

class Lexer {
 public:
  Lexer(std::string_view text, TextStart start)
      : text_(text), line_(start.line), column_(start.column), indent_(start.indent) {}

  // Tokenizes the whole text; fails on the first character that starts no token.
  Result<std::vector<Token>> Run(std::string_view origin) {
    std::vector<Token> out;
    while (true) {
      SkipSpaceAndComments();
      Token t;
      t.span.line = line_;
      t.span.column = column_;
      t.span.begin = static_cast<uint32_t>(pos_);
      if (pos_ >= text_.size()) {
        t.kind = Tok::kEnd;
        t.span.end = t.span.begin;
        out.push_back(std::move(t));
        return out;
      }
      char c = text_[pos_];
      auto error = [&](const std::string& what) {
        return Fail(ErrorCode::kParse, std::string(origin) + ":" + std::to_string(t.span.line) +
                                           ":" + std::to_string(t.span.column) + ": " + what);
      };
      if (IsIdentStart(c)) {
        size_t start = pos_;
        while (pos_ < text_.size() && IsIdentChar(text_[pos_])) Advance();
        t.kind = Tok::kIdent;
        t.text = std::string(text_.substr(start, pos_ - start));
      } else if (IsDigit(c)) {
        size_t start = pos_;
        while (pos_ < text_.size() && IsDigit(text_[pos_])) Advance();
        if (pos_ + 1 < text_.size() && text_[pos_] == '.' && IsDigit(text_[pos_ + 1])) {
          Advance();
          while (pos_ < text_.size() && IsDigit(text_[pos_])) Advance();
        }
        t.kind = Tok::kNumber;
        t.text = std::string(text_.substr(start, pos_ - start));
      } else if (c == '\'' || c == '"') {
        Advance();
        size_t start = pos_;
        while (pos_ < text_.size() && text_[pos_] != c && text_[pos_] != '\n') Advance();
        if (pos_ >= text_.size() || text_[pos_] != c) {
          return error(c == '\'' ? "unterminated unit string" : "unterminated string");
        }
        t.kind = c == '\'' ? Tok::kUnit : Tok::kString;
        t.text = std::string(text_.substr(start, pos_ - start));
        Advance();
      } else if (c == '@') {
        Advance();
        size_t start = pos_;
        while (pos_ < text_.size() && (IsDigit(text_[pos_]) || text_[pos_] == '-')) Advance();
        t.kind = Tok::kDate;
        t.text = std::string(text_.substr(start, pos_ - start));
      } else {
        Advance();
        char n = pos_ < text_.size() ? text_[pos_] : '\0';
        switch (c) {
          case '(':
            t.kind = Tok::kLParen;
            break;
          case ')':
            t.kind = Tok::kRParen;
            break;
          case '[':
            t.kind = Tok::kLBracket;
            break;
          case ']':
            t.kind = Tok::kRBracket;
            break;
          case ',':
            t.kind = Tok::kComma;
            break;
          case ';':
            t.kind = Tok::kSemicolon;
            break;
          case '.':
            t.kind = Tok::kDot;
            break;
          case '+':
            t.kind = Tok::kPlus;
            break;
          case '*':
            t.kind = Tok::kStar;
            break;
          case '/':
            t.kind = Tok::kSlash;
            break;
          case '=':
            t.kind = Tok::kEq;
            break;
          case '-':
            if (n == '>') {
              Advance();
              t.kind = Tok::kArrow;
            } else {
              t.kind = Tok::kMinus;
            }
            break;
          case '!':
            if (n != '=') return error("'!' must be followed by '=' (use 'not' for negation)");
            Advance();
            t.kind = Tok::kNe;
            break;
          case '<':
            if (n == '=') {
              Advance();
              t.kind = Tok::kLe;
            } else {
              t.kind = Tok::kLt;
            }
            break;
          case '>':
            if (n == '=') {
              Advance();
              t.kind = Tok::kGe;
            } else {
              t.kind = Tok::kGt;
            }
            break;
          default: {
            unsigned char uc = static_cast<unsigned char>(c);
            std::string shown = uc >= 32 && uc < 127 ? std::string(1, c) : "byte 0x" + ToHex(uc);
            return error("unexpected character '" + shown + "'");
          }
        }
      }
      t.span.end = static_cast<uint32_t>(pos_);
      out.push_back(std::move(t));
    }
  }

 private:
  static std::string ToHex(unsigned char c) {
    const char* digits = "0123456789abcdef";
    return {digits[c >> 4], digits[c & 15]};
  }

  void Advance() {
    if (text_[pos_] == '\n') {
      ++line_;
      column_ = 1 + indent_;
    } else if ((static_cast<unsigned char>(text_[pos_]) & 0xC0) != 0x80) {
      ++column_;  // count characters, not UTF-8 continuation bytes
    }
    ++pos_;
  }

  void SkipSpaceAndComments() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        Advance();
      } else if (c == '/' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '/') {
        while (pos_ < text_.size() && text_[pos_] != '\n') Advance();
      } else {
        return;
      }
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 1;
  int column_ = 1;
  int indent_ = 0;
};

bool IsKeyword(const std::string& s) {
  static const char* const kKeywords[] = {
      "and", "or",   "not",   "implies", "if", "then",   "else",   "case",  "when",    "end",
      "let", "true", "false", "unknown", "in", "within", "before", "after", "between", "is"};
  for (const char* k : kKeywords) {
    if (s == k) return true;
  }
  return false;
}

bool DurationUnit(const std::string& s, Duration::Unit* unit) {
  if (s == "day" || s == "days") {
    *unit = Duration::Unit::kDays;
  } else if (s == "week" || s == "weeks") {
    *unit = Duration::Unit::kWeeks;
  } else if (s == "month" || s == "months") {
    *unit = Duration::Unit::kMonths;
  } else if (s == "year" || s == "years") {
    *unit = Duration::Unit::kYears;
  } else {
    return false;
  }
  return true;
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, std::string_view origin)
      : tokens_(std::move(tokens)), origin_(origin) {}

  Result<NodePtr> ParseRule() {
    auto e = ParseExpr();
    if (!e) return e;
    if (Peek().kind != Tok::kEnd) return ErrorAt(Peek(), "unexpected " + Describe(Peek()));
    return e;
  }

 private:
  const Token& Peek(size_t ahead = 0) const {
    size_t i = std::min(pos_ + ahead, tokens_.size() - 1);
    return tokens_[i];
  }
  const Token& Next() {
    const Token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }
  bool IsWord(const Token& t, const char* word) const {
    return t.kind == Tok::kIdent && t.text == word;
  }
  bool AcceptWord(const char* word) {
    if (IsWord(Peek(), word)) {
      Next();
      return true;
    }
    return false;
  }
  bool Accept(Tok k) {
    if (Peek().kind == k) {
      Next();
      return true;
    }
    return false;
  }

  static std::string Describe(const Token& t) {
    switch (t.kind) {
      case Tok::kEnd:
        return "end of rule";
      case Tok::kIdent:
        return "'" + t.text + "'";
      case Tok::kNumber:
        return "number " + t.text;
      case Tok::kUnit:
        return "unit '" + t.text + "'";
      case Tok::kString:
        return "string \"" + t.text + "\"";
      case Tok::kDate:
        return "date @" + t.text;
      default:
        return "'" + std::string(TokText(t.kind)) + "'";
    }
  }
  static const char* TokText(Tok k) {
    switch (k) {
      case Tok::kLParen:
        return "(";
      case Tok::kRParen:
        return ")";
      case Tok::kLBracket:
        return "[";
      case Tok::kRBracket:
        return "]";
      case Tok::kComma:
        return ",";
      case Tok::kSemicolon:
        return ";";
      case Tok::kDot:
        return ".";
      case Tok::kArrow:
        return "->";
      case Tok::kPlus:
        return "+";
      case Tok::kMinus:
        return "-";
      case Tok::kStar:
        return "*";
      case Tok::kSlash:
        return "/";
      case Tok::kEq:
        return "=";
      case Tok::kNe:
        return "!=";
      case Tok::kLt:
        return "<";
      case Tok::kLe:
        return "<=";
      case Tok::kGt:
        return ">";
      case Tok::kGe:
        return ">=";
      default:
        return "?";
    }
  }

  std::unexpected<Error> ErrorAt(const Token& t, const std::string& what) const {
    return Fail(ErrorCode::kParse, std::string(origin_) + ":" + std::to_string(t.span.line) + ":" +
                                       std::to_string(t.span.column) + ": " + what);
  }

  Result<void> Expect(Tok k, const char* context) {
    if (Accept(k)) return {};
    return ErrorAt(Peek(), std::string("expected '") + TokText(k) + "' " + context + ", found " +
                               Describe(Peek()));
  }
  Result<void> ExpectWord(const char* word, const char* context) {
    if (AcceptWord(word)) return {};
    return ErrorAt(
        Peek(), std::string("expected '") + word + "' " + context + ", found " + Describe(Peek()));
  }

  NodePtr Make(NodeKind kind, const Span& span) {
    auto n = std::make_unique<Node>();
    n->kind = kind;
    n->span = span;
    return n;
  }
  NodePtr Make(NodeKind kind, Op op, NodePtr a, NodePtr b) {
    Span s = a->span;
    s.end = b->span.end;
    auto n = Make(kind, s);
    n->op = op;
    n->children.push_back(std::move(a));
    n->children.push_back(std::move(b));
    return n;
  }
  void Extend(Node& n, uint32_t end) { n.span.end = std::max(n.span.end, end); }
  uint32_t LastEnd() const { return tokens_[pos_ == 0 ? 0 : pos_ - 1].span.end; }

  struct DepthGuard {
    explicit DepthGuard(int& d) : depth(d) { ++depth; }
    ~DepthGuard() { --depth; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;
    int& depth;
  };

  Result<NodePtr> ParseExpr() {
    DepthGuard guard(depth_);
    if (depth_ > kMaxDepth) return ErrorAt(Peek(), "rule nested too deeply");
    if (IsWord(Peek(), "let")) return ParseLet();
    return ParseImplies();
  }

  Result<NodePtr> ParseLet() {
    Token let = Next();
    const Token& name = Peek();
    if (name.kind != Tok::kIdent || IsKeyword(name.text)) {
      return ErrorAt(name, "expected a name after 'let', found " + Describe(name));
    }
    std::string id = Next().text;
    if (auto r = Expect(Tok::kEq, "after the let name"); !r) return std::unexpected(r.error());
    auto value = ParseExpr();
    if (!value) return value;
    if (auto r = Expect(Tok::kSemicolon, "after the let value"); !r) {
      return std::unexpected(r.error());
    }
    auto body = ParseExpr();
    if (!body) return body;
    auto n = Make(NodeKind::kLet, let.span);
    n->text = id;
    Extend(*n, (*body)->span.end);
    n->children.push_back(std::move(*value));
    n->children.push_back(std::move(*body));
    return n;
  }

  Result<NodePtr> ParseImplies() {
    auto left = ParseOr();
    if (!left) return left;
    while (AcceptWord("implies")) {
      auto right = ParseOr();
      if (!right) return right;
      left = Make(NodeKind::kBinary, Op::kImplies, std::move(*left), std::move(*right));
    }
    return left;
  }

  Result<NodePtr> ParseOr() {
    auto left = ParseAnd();
    if (!left) return left;
    while (AcceptWord("or")) {
      auto right = ParseAnd();
      if (!right) return right;
      left = Make(NodeKind::kBinary, Op::kOr, std::move(*left), std::move(*right));
    }
    return left;
  }

  Result<NodePtr> ParseAnd() {
    auto left = ParseNot();
    if (!left) return left;
    while (AcceptWord("and")) {
      auto right = ParseNot();
      if (!right) return right;
      left = Make(NodeKind::kBinary, Op::kAnd, std::move(*left), std::move(*right));
    }
    return left;
  }

  Result<NodePtr> ParseNot() {
    DepthGuard guard(depth_);
    if (depth_ > kMaxDepth) return ErrorAt(Peek(), "rule nested too deeply");
    if (IsWord(Peek(), "not")) {
      Token t = Next();
      auto operand = ParseNot();
      if (!operand) return operand;
      auto n = Make(NodeKind::kUnary, t.span);
      n->op = Op::kNot;
      Extend(*n, (*operand)->span.end);
      n->children.push_back(std::move(*operand));
      return n;
    }
    return ParseComparison();
  }

  Result<NodePtr> ParseComparison() {
    auto left = ParseAdditive();
    if (!left) return left;
    Op op = Op::kNone;
    switch (Peek().kind) {
      case Tok::kEq:
        op = Op::kEq;
        break;
      case Tok::kNe:
        op = Op::kNe;
        break;
      case Tok::kLt:
        op = Op::kLt;
        break;
      case Tok::kLe:
        op = Op::kLe;
        break;
      case Tok::kGt:
        op = Op::kGt;
        break;
      case Tok::kGe:
        op = Op::kGe;
        break;
      default:
        break;
    }
    if (op != Op::kNone) {
      Next();
      auto right = ParseAdditive();
      if (!right) return right;
      return Make(NodeKind::kBinary, op, std::move(*left), std::move(*right));
    }
    if (AcceptWord("in")) {
      auto right = ParseAdditive();
      if (!right) return right;
      return Make(NodeKind::kBinary, Op::kIn, std::move(*left), std::move(*right));
    }
    if (AcceptWord("within")) {
      auto amount = ParseAdditive();
      if (!amount) return amount;
      Op dir = Op::kNone;
      if (AcceptWord("before")) {
        dir = Op::kBefore;
      } else if (AcceptWord("after")) {
        dir = Op::kAfter;
      } else {
        return ErrorAt(Peek(),
                       "expected 'before' or 'after' in 'within', found " + Describe(Peek()));
      }
      auto anchor = ParseAdditive();
      if (!anchor) return anchor;
      auto n = Make(NodeKind::kWithin, (*left)->span);
      n->op = dir;
      Extend(*n, (*anchor)->span.end);
      n->children.push_back(std::move(*left));
      n->children.push_back(std::move(*amount));
      n->children.push_back(std::move(*anchor));
      return n;
    }
    if (AcceptWord("between")) {
      auto lo = ParseAdditive();
      if (!lo) return lo;
      if (auto r = ExpectWord("and", "in 'between'"); !r) return std::unexpected(r.error());
      auto hi = ParseAdditive();
      if (!hi) return hi;
      auto n = Make(NodeKind::kBetween, (*left)->span);
      Extend(*n, (*hi)->span.end);
      n->children.push_back(std::move(*left));
      n->children.push_back(std::move(*lo));
      n->children.push_back(std::move(*hi));
      return n;
    }
    if (AcceptWord("is")) {
      Op which = AcceptWord("not") ? Op::kIsNot : Op::kIs;
      if (auto r = ExpectWord("unknown", "after 'is'"); !r) return std::unexpected(r.error());
      auto n = Make(NodeKind::kIsUnknown, (*left)->span);
      n->op = which;
      Extend(*n, LastEnd());
      n->children.push_back(std::move(*left));
      return n;
    }
    return left;
  }

  Result<NodePtr> ParseAdditive() {
    auto left = ParseMultiplicative();
    if (!left) return left;
    while (Peek().kind == Tok::kPlus || Peek().kind == Tok::kMinus) {
      Op op = Next().kind == Tok::kPlus ? Op::kAdd : Op::kSub;
      auto right = ParseMultiplicative();
      if (!right) return right;
      left = Make(NodeKind::kBinary, op, std::move(*left), std::move(*right));
    }
    return left;
  }

  Result<NodePtr> ParseMultiplicative() {
    auto left = ParseUnary();
    if (!left) return left;
    while (Peek().kind == Tok::kStar || Peek().kind == Tok::kSlash) {
      Op op = Next().kind == Tok::kStar ? Op::kMul : Op::kDiv;
      auto right = ParseUnary();
      if (!right) return right;
      left = Make(NodeKind::kBinary, op, std::move(*left), std::move(*right));
    }
    return left;
  }

  Result<NodePtr> ParseUnary() {
    DepthGuard guard(depth_);
    if (depth_ > kMaxDepth) return ErrorAt(Peek(), "rule nested too deeply");
    if (Peek().kind == Tok::kMinus) {
      Token t = Next();
      auto operand = ParseUnary();
      if (!operand) return operand;
      auto n = Make(NodeKind::kUnary, t.span);
      n->op = Op::kNeg;
      Extend(*n, (*operand)->span.end);
      n->children.push_back(std::move(*operand));
      return n;
    }
    return ParsePostfix();
  }

  Result<NodePtr> ParsePostfix() {
    auto e = ParsePrimary();
    if (!e) return e;
    while (true) {
      if (Peek().kind == Tok::kDot) {
        Next();
        const Token& f = Peek();
        if (f.kind != Tok::kIdent) {
          return ErrorAt(f, "expected a field name after '.', found " + Describe(f));
        }
        Token ft = Next();
        auto n = Make(NodeKind::kField, (*e)->span);
        n->text = ft.text;
        Extend(*n, ft.span.end);
        n->children.push_back(std::move(*e));
        e = std::move(n);
      } else {
        return e;
      }
    }
  }

  Result<NodePtr> ParseArgs(Node& call) {
    if (Accept(Tok::kRParen)) {
      Extend(call, LastEnd());
      return nullptr;
    }
    while (true) {
      if (Peek().kind == Tok::kIdent && Peek(1).kind == Tok::kArrow) {
        Token name = Next();
        if (IsKeyword(name.text)) return ErrorAt(name, "'" + name.text + "' is a keyword");
        Next();  // ->
        auto body = ParseExpr();
        if (!body) return body;
        auto lambda = Make(NodeKind::kLambda, name.span);
        lambda->text = name.text;
        Extend(*lambda, (*body)->span.end);
        lambda->children.push_back(std::move(*body));
        call.children.push_back(std::move(lambda));
      } else {
        auto arg = ParseExpr();
        if (!arg) return arg;
        call.children.push_back(std::move(*arg));
      }
      if (Accept(Tok::kComma)) continue;
      if (auto r = Expect(Tok::kRParen, "to close the argument list"); !r) {
        return std::unexpected(r.error());
      }
      Extend(call, LastEnd());
      return nullptr;
    }
  }

  Result<NodePtr> ParsePrimary() {
    const Token& t = Peek();
    switch (t.kind) {
      case Tok::kNumber: {
        Token num = Next();
        double value = 0;
        auto [ptr, ec] = std::from_chars(num.text.data(), num.text.data() + num.text.size(), value);
        if (ec != std::errc() || ptr != num.text.data() + num.text.size()) {
          return ErrorAt(num, "number " + num.text + " is out of range");
        }
        Duration::Unit unit;
        if (Peek().kind == Tok::kUnit) {
          Token u = Next();
          auto n = Make(NodeKind::kQuantity, num.span);
          n->number = value;
          n->text = u.text;
          Extend(*n, u.span.end);
          return n;
        }
        if (Peek().kind == Tok::kIdent && DurationUnit(Peek().text, &unit)) {
          Token u = Next();
          if (value != static_cast<double>(static_cast<int32_t>(value)) || value > 100000) {
            return ErrorAt(num,
                           "a duration needs a whole number of at most 100000, found " + num.text);
          }
          auto n = Make(NodeKind::kDuration, num.span);
          n->duration = Duration{static_cast<int32_t>(value), unit};
          Extend(*n, u.span.end);
          return n;
        }
        auto n = Make(NodeKind::kNumber, num.span);
        n->number = value;
        return n;
      }
      case Tok::kUnit:
        return ErrorAt(t, "a unit string '" + t.text + "' must follow a number");
      case Tok::kString: {
        Token s = Next();
        auto n = Make(NodeKind::kString, s.span);
        n->text = s.text;
        return n;
      }
      case Tok::kDate: {
        Token d = Next();
        auto parsed = Date::Parse(d.text);
        if (!parsed) return ErrorAt(d, "'@" + d.text + "' is not a date (write @YYYY-MM-DD)");
        auto n = Make(NodeKind::kDate, d.span);
        n->date = *parsed;
        return n;
      }
      case Tok::kLParen: {
        Token open = Next();
        auto e = ParseExpr();
        if (!e) return e;
        if (auto r = Expect(Tok::kRParen, "to close '('"); !r) return std::unexpected(r.error());
        // The parenthesised text is the node's text (for traces); its position stays the inner
        // expression's, where errors about it point.
        (*e)->span.begin = open.span.begin;
        Extend(**e, LastEnd());
        return e;
      }
      case Tok::kLBracket: {
        Token open = Next();
        auto n = Make(NodeKind::kList, open.span);
        if (!Accept(Tok::kRBracket)) {
          while (true) {
            auto item = ParseExpr();
            if (!item) return item;
            n->children.push_back(std::move(*item));
            if (Accept(Tok::kComma)) continue;
            if (auto r = Expect(Tok::kRBracket, "to close the list"); !r) {
              return std::unexpected(r.error());
            }
            break;
          }
        }
        Extend(*n, LastEnd());
        return n;
      }
      case Tok::kIdent: {
        if (t.text == "true" || t.text == "false") {
          Token b = Next();
          auto n = Make(NodeKind::kBool, b.span);
          n->text = b.text;
          return n;
        }
        if (t.text == "unknown") return Make(NodeKind::kUnknown, Next().span);
        if (t.text == "if") return ParseIf();
        if (t.text == "case") return ParseCase();
        if (t.text == "let") return ParseLet();
        if (IsKeyword(t.text)) return ErrorAt(t, "unexpected keyword '" + t.text + "'");
        Token name = Next();
        if (Accept(Tok::kLParen)) {
          auto call = Make(NodeKind::kCall, name.span);
          call->text = name.text;
          auto args = ParseArgs(*call);
          if (!args) return args;
          return call;
        }
        auto n = Make(NodeKind::kName, name.span);
        n->text = name.text;
        return n;
      }
      default:
        return ErrorAt(t, "expected an expression, found " + Describe(t));
    }
  }

  Result<NodePtr> ParseIf() {
    Token start = Next();
    auto cond = ParseExpr();
    if (!cond) return cond;
    if (auto r = ExpectWord("then", "after the 'if' condition"); !r) {
      return std::unexpected(r.error());
    }
    auto then = ParseExpr();
    if (!then) return then;
    if (auto r = ExpectWord("else", "in 'if ... then ... else'"); !r) {
      return std::unexpected(r.error());
    }
    auto otherwise = ParseExpr();
    if (!otherwise) return otherwise;
    auto n = Make(NodeKind::kIf, start.span);
    Extend(*n, (*otherwise)->span.end);
    n->children.push_back(std::move(*cond));
    n->children.push_back(std::move(*then));
    n->children.push_back(std::move(*otherwise));
    return n;
  }

  Result<NodePtr> ParseCase() {
    Token start = Next();
    auto n = Make(NodeKind::kCase, start.span);
    while (AcceptWord("when")) {
      auto cond = ParseExpr();
      if (!cond) return cond;
      if (auto r = ExpectWord("then", "after the 'when' condition"); !r) {
        return std::unexpected(r.error());
      }
      auto value = ParseExpr();
      if (!value) return value;
      n->children.push_back(std::move(*cond));
      n->children.push_back(std::move(*value));
    }
    if (n->children.empty()) return ErrorAt(Peek(), "'case' needs at least one 'when'");
    if (auto r = ExpectWord("else", "after the last 'when' of 'case'"); !r) {
      return std::unexpected(r.error());
    }
    auto otherwise = ParseExpr();
    if (!otherwise) return otherwise;
    n->children.push_back(std::move(*otherwise));
    if (auto r = ExpectWord("end", "to close 'case'"); !r) return std::unexpected(r.error());
    Extend(*n, LastEnd());
    return n;
  }

  std::vector<Token> tokens_;
  std::string_view origin_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Result<NodePtr> Parse(std::string_view text, std::string_view origin, TextStart start) {
  Lexer lexer(text, start);
  auto tokens = lexer.Run(origin);
  if (!tokens) return std::unexpected(tokens.error());
  Parser parser(std::move(*tokens), origin);
  return parser.ParseRule();
}

}  // namespace trial::rules
