#include "omni/profile/segment_expression.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <system_error>

namespace omni::profile {
namespace {

// Deeper nesting than this is certainly not hand-written; the limit keeps the
// recursive-descent parser's stack bounded for any input.
constexpr int kMaxDepth = 200;

enum class CmpOp : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe };

std::string_view CmpOpText(CmpOp op) {
  switch (op) {
    case CmpOp::kEq:
      return "==";
    case CmpOp::kNe:
      return "!=";
    case CmpOp::kLt:
      return "<";
    case CmpOp::kLe:
      return "<=";
    case CmpOp::kGt:
      return ">";
    case CmpOp::kGe:
      return ">=";
  }
  return "?";
}

// `4 <= x` is `x >= 4`.
CmpOp Mirror(CmpOp op) {
  switch (op) {
    case CmpOp::kLt:
      return CmpOp::kGt;
    case CmpOp::kLe:
      return CmpOp::kGe;
    case CmpOp::kGt:
      return CmpOp::kLt;
    case CmpOp::kGe:
      return CmpOp::kLe;
    default:
      return op;
  }
}

template <typename T>
inline bool Compare(CmpOp op, const T& a, const T& b) {
  switch (op) {
    case CmpOp::kEq:
      return a == b;
    case CmpOp::kNe:
      return a != b;
    case CmpOp::kLt:
      return a < b;
    case CmpOp::kLe:
      return a <= b;
    case CmpOp::kGt:
      return a > b;
    case CmpOp::kGe:
      return a >= b;
  }
  return false;
}

bool IsIdentStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IsKeyword(std::string_view word) {
  std::string w = Lower(word);
  return w == "and" || w == "or" || w == "not" || w == "in" || w == "true" || w == "false";
}

// Length of the field path at the start of `s` ([A-Za-z_][A-Za-z0-9_]* then
// ('.' [A-Za-z0-9_]+)*), or 0. `*bad_dot` is set to the offset of a '.' not
// followed by a part (a trailing or doubled dot), else npos.
size_t ScanPath(std::string_view s, size_t* bad_dot) {
  *bad_dot = std::string_view::npos;
  if (s.empty() || !IsIdentStart(s[0])) return 0;
  size_t i = 1;
  while (i < s.size() && IsIdentChar(s[i])) ++i;
  while (i < s.size() && s[i] == '.') {
    if (i + 1 >= s.size() || !IsIdentChar(s[i + 1])) {
      *bad_dot = i;
      return i;
    }
    i += 2;
    while (i < s.size() && IsIdentChar(s[i])) ++i;
  }
  return i;
}

// Length of the UTF-8 sequence starting at s[i], or 0 when it is invalid
// (bad lead byte, truncated, overlong, surrogate or above U+10FFFF).
size_t Utf8SequenceLength(std::string_view s, size_t i, uint32_t* code_point) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n;
  uint32_t cp;
  if (c < 0x80) {
    *code_point = c;
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  *code_point = cp;
  return n;
}

// Terminals draw East Asian wide characters in two cells; the caret line
// must account for that to point at the right character.
bool IsWide(uint32_t cp) {
  return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) || (cp >= 0x3041 && cp <= 0x33FF) ||
         (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xA000 && cp <= 0xA4CF) ||
         (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFE30 && cp <= 0xFE4F) ||
         (cp >= 0xFF00 && cp <= 0xFF60) || (cp >= 0xFFE0 && cp <= 0xFFE6) ||
         (cp >= 0x1F300 && cp <= 0x1F64F) || (cp >= 0x1F900 && cp <= 0x1F9FF) ||
         (cp >= 0x20000 && cp <= 0x3FFFD);
}

// "column C: message\n  <line>\n  <caret>" for the byte offset `pos`.
Status ErrorAt(std::string_view text, size_t pos, const std::string& message) {
  pos = std::min(pos, text.size());
  size_t line_start = 0;
  int line = 1;
  for (size_t i = 0; i < pos; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  size_t line_end = text.find('\n', line_start);
  if (line_end == std::string_view::npos) line_end = text.size();
  std::string_view shown = text.substr(line_start, line_end - line_start);
  if (!shown.empty() && shown.back() == '\r') shown.remove_suffix(1);
  int column = 1;
  std::string caret = "  ";
  for (size_t i = line_start; i < pos;) {
    uint32_t cp = 0;
    size_t n = Utf8SequenceLength(text, i, &cp);
    if (n == 0) n = 1;  // invalid bytes count one column each
    caret += cp == '\t' ? "\t" : IsWide(cp) ? "  " : " ";
    ++column;
    i += n;
  }
  caret += '^';
  bool multi_line = text.find('\n') != std::string_view::npos;
  std::string where = multi_line ? "line " + std::to_string(line) + ", column " + std::to_string(column)
                                 : "column " + std::to_string(column);
  return InvalidArgument(where + ": " + message + "\n  " + std::string(shown) + "\n" + caret);
}

std::string QuoteString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

// The shortest text that reads back as the same double; plain decimals for
// everyday magnitudes (1000000, not 1e+06), scientific beyond them.
std::string FormatNumber(double v) {
  char buf[64];
  double magnitude = std::fabs(v);
  bool plain = magnitude == 0 || (magnitude >= 1e-6 && magnitude < 1e15);
  auto [end, ec] = plain ? std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed)
                         : std::to_chars(buf, buf + sizeof buf, v);
  OMNI_CHECK(ec == std::errc());
  return std::string(buf, end);
}

// ---------------------------------------------------------------- lexer

enum class Tok : uint8_t {
  kEnd,
  kError,
  kPath,
  kNumber,
  kString,
  kTrue,
  kFalse,
  kLParen,
  kRParen,
  kComma,
  kCmp,
  kAnd,
  kOr,
  kNot,
  kIn,
};

struct Token {
  Tok kind = Tok::kEnd;
  size_t pos = 0;  // byte offset in the text
  size_t len = 0;  // bytes of source text
  CmpOp op = CmpOp::kEq;
  double number = 0;
  std::string text;  // a path, a decoded string, or the error message
};

// Tokenises the whole text up front. A lexical error becomes a kError token
// at its place, so the parser reports whichever mistake comes first.
std::vector<Token> Lex(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  auto error = [&](size_t pos, std::string message) {
    Token t;
    t.kind = Tok::kError;
    t.pos = pos;
    t.text = std::move(message);
    out.push_back(std::move(t));
  };
  while (true) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
    Token t;
    t.pos = i;
    if (i >= s.size()) {
      out.push_back(t);
      return out;
    }
    char c = s[i];
    if (IsIdentStart(c)) {
      size_t bad_dot;
      size_t n = ScanPath(s.substr(i), &bad_dot);
      if (bad_dot != std::string_view::npos) {
        error(i + bad_dot, "a field path cannot have an empty part after '.'");
        return out;
      }
      std::string_view word = s.substr(i, n);
      std::string lower = Lower(word);
      t.kind = lower == "and"     ? Tok::kAnd
               : lower == "or"    ? Tok::kOr
               : lower == "not"   ? Tok::kNot
               : lower == "in"    ? Tok::kIn
               : lower == "true"  ? Tok::kTrue
               : lower == "false" ? Tok::kFalse
                                  : Tok::kPath;
      t.text = std::string(word);
      t.len = n;
    } else if (IsDigit(c) || ((c == '-' || c == '.') && i + 1 < s.size() &&
                              (IsDigit(s[i + 1]) || (s[i + 1] == '.' && c == '-')))) {
      // The literal is the whole run of characters that could continue it,
      // so `4x`, `1.2.3` and `12m.x` are one bad literal, not `4` then `x`.
      size_t j = i + 1;
      while (j < s.size()) {
        char d = s[j];
        if (IsIdentChar(d) || d == '.' || ((d == '+' || d == '-') && (s[j - 1] == 'e' || s[j - 1] == 'E'))) {
          ++j;
        } else {
          break;
        }
      }
      std::string_view lit = s.substr(i, j - i);
      double v = 0;
      auto [ptr, ec] = std::from_chars(lit.data(), lit.data() + lit.size(), v);
      if (ec == std::errc::result_out_of_range || (ec == std::errc() && !std::isfinite(v))) {
        error(i, "number " + std::string(lit) + " is out of range");
        return out;
      }
      if (ec != std::errc() || ptr != lit.data() + lit.size()) {
        error(i, "bad number '" + std::string(lit) + "'" +
                     (IsIdentChar(lit.back()) && IsDigit(lit[0]) ? " (field names start with a letter or '_')"
                                                                 : ""));
        return out;
      }
      t.kind = Tok::kNumber;
      t.number = v;
      t.len = lit.size();
    } else if (c == '"') {
      size_t j = i + 1;
      std::string value;
      bool closed = false;
      while (j < s.size()) {
        if (s[j] == '"') {
          closed = true;
          ++j;
          break;
        }
        if (s[j] == '\\') {
          if (j + 1 < s.size() && (s[j + 1] == '"' || s[j + 1] == '\\')) {
            value += s[j + 1];
            j += 2;
            continue;
          }
          error(j, "unknown escape in a string: only \\\" and \\\\ are allowed");
          return out;
        }
        value += s[j++];
      }
      if (!closed) {
        error(i, "unterminated string: no closing '\"'");
        return out;
      }
      t.kind = Tok::kString;
      t.text = std::move(value);
      t.len = j - i;
    } else if (c == '(' || c == ')' || c == ',') {
      t.kind = c == '(' ? Tok::kLParen : c == ')' ? Tok::kRParen : Tok::kComma;
      t.len = 1;
    } else if (c == '=' || c == '!' || c == '<' || c == '>') {
      char d = i + 1 < s.size() ? s[i + 1] : '\0';
      t.kind = Tok::kCmp;
      t.len = 2;
      if (c == '=') {
        t.op = CmpOp::kEq;
        t.len = d == '=' ? 2 : 1;
      } else if (c == '!') {
        if (d != '=') {
          error(i, "unexpected '!': negate with 'not', compare with '!='");
          return out;
        }
        t.op = CmpOp::kNe;
      } else if (c == '<') {
        t.op = d == '=' ? CmpOp::kLe : d == '>' ? CmpOp::kNe : CmpOp::kLt;
        if (d != '=' && d != '>') t.len = 1;
      } else {
        t.op = d == '=' ? CmpOp::kGe : CmpOp::kGt;
        if (d != '=') t.len = 1;
      }
    } else {
      uint32_t cp = 0;
      size_t n = Utf8SequenceLength(s, i, &cp);
      if (n == 0) {
        error(i, "invalid UTF-8");
      } else {
        bool quote_hint = c == '\'' || cp >= 0x80;
        error(i, "unexpected character '" + std::string(s.substr(i, n)) + "'" +
                     (quote_hint ? " (strings need double quotes: \"...\")" : ""));
      }
      return out;
    }
    i += t.len;
    out.push_back(std::move(t));
  }
}

}  // namespace

// ---------------------------------------------------------------- tree + program

// A literal or a field on one side of a condition.
struct Operand {
  bool is_field = false;
  FieldType type = FieldType::kNumber;  // a literal's type is number, bool or string
  int field = -1;
  std::string name;  // field name, for ToString and messages
  double number = 0;
  bool boolean = false;
  std::string str;
  size_t pos = 0;  // byte offset, for messages
};

enum class NodeKind : uint8_t {
  kOr,
  kAnd,
  kNot,
  kConst,
  kBoolField,
  kCompare,
  kSetHas,
  kInList,
};

struct Node {
  NodeKind kind = NodeKind::kConst;
  std::vector<int> children;  // kOr, kAnd (two or more), kNot (one)
  bool constant = false;      // kConst
  CmpOp op = CmpOp::kEq;      // kCompare
  Operand lhs;                // kBoolField, kCompare, kSetHas (the element), kInList
  Operand rhs;                // kCompare; kSetHas (the set field)
  std::vector<Operand> list;  // kInList, as written
};

enum class OpCode : uint8_t {
  kConst,        // r = k != 0
  kBool,         // r = field a is true
  kNumCmpK,      // r = number a <op> k
  kNumCmpF,      // r = number a <op> number b
  kStrCmpK,      // r = string a <op> strings[b]
  kStrCmpF,      // r = string a <op> string b
  kBoolCmpK,     // r = bool a <op> (k != 0)
  kBoolCmpF,     // r = bool a <op> bool b
  kSetHasK,      // r = set a contains strings[b]
  kSetHasF,      // r = set a contains string b
  kNumInList,    // r = number a in numbers[b, c)
  kStrInList,    // r = string a in strings[b, c)
  kNot,          // r = !r
  kJumpIfFalse,  // if (!r) pc = b     (short-circuit `and`)
  kJumpIfTrue,   // if (r) pc = b      (short-circuit `or`)
};

struct Instr {
  OpCode code;
  CmpOp op = CmpOp::kEq;
  int32_t a = 0;
  int32_t b = 0;
  int32_t c = 0;
  double k = 0;
};

struct SegmentExpression::Compiled {
  std::vector<Node> nodes;
  int root = 0;
  std::vector<Instr> program;
  std::vector<std::string> strings;  // literals; each list sorted and deduplicated
  std::vector<double> numbers;       // each list sorted and deduplicated
  std::vector<int> fields;
};

namespace {

// ---------------------------------------------------------------- parser

class Parser {
 public:
  Parser(std::string_view text, const FieldCatalog& catalog, SegmentExpression::Compiled& out)
      : text_(text), catalog_(catalog), out_(out), tokens_(Lex(text)) {}

  Status Run() {
    if (Peek().kind == Tok::kEnd) return ErrorAt(text_, 0, "empty expression");
    int root = -1;
    OMNI_RETURN_IF_ERROR(ParseOr(0, &root));
    const Token& t = Peek();
    if (t.kind == Tok::kError) return ErrorAt(text_, t.pos, t.text);
    if (t.kind != Tok::kEnd) {
      std::string hint = t.kind == Tok::kRParen ? " (no '(' to close)" : " (missing 'and' or 'or'?)";
      return ErrorAt(text_, t.pos, "unexpected " + Describe(t) + " after a complete condition" + hint);
    }
    out_.root = root;
    return Status::Ok();
  }

 private:
  const Token& Peek(size_t ahead = 0) const {
    size_t i = std::min(next_ + ahead, tokens_.size() - 1);  // the last token is kEnd or kError
    return tokens_[i];
  }
  const Token& Next() {
    const Token& t = Peek();
    if (next_ < tokens_.size() - 1) ++next_;
    return t;
  }

  std::string Describe(const Token& t) const {
    if (t.kind == Tok::kEnd) return "end of expression";
    return "'" + std::string(text_.substr(t.pos, t.len)) + "'";
  }

  Status Unexpected(const Token& t, const std::string& wanted) const {
    if (t.kind == Tok::kError) return ErrorAt(text_, t.pos, t.text);
    return ErrorAt(text_, t.pos, "expected " + wanted + ", got " + Describe(t));
  }

  int Add(Node node) {
    out_.nodes.push_back(std::move(node));
    return static_cast<int>(out_.nodes.size()) - 1;
  }

  // or_expr := and_expr ("or" and_expr)*    (same shape for and_expr)
  Status ParseOr(int depth, int* result) { return ParseChain(depth, Tok::kOr, NodeKind::kOr, result); }

  Status ParseChain(int depth, Tok keyword, NodeKind kind, int* result) {
    std::vector<int> parts;
    while (true) {
      int part = -1;
      OMNI_RETURN_IF_ERROR(kind == NodeKind::kOr ? ParseChain(depth, Tok::kAnd, NodeKind::kAnd, &part)
                                                 : ParseNot(depth, &part));
      // `(a and b) and c` is `a and b and c`: flattening keeps one canonical form.
      if (out_.nodes[static_cast<size_t>(part)].kind == kind) {
        const std::vector<int>& inner = out_.nodes[static_cast<size_t>(part)].children;
        parts.insert(parts.end(), inner.begin(), inner.end());
      } else {
        parts.push_back(part);
      }
      if (Peek().kind != keyword) break;
      Next();
    }
    if (parts.size() == 1 && out_.nodes[static_cast<size_t>(parts[0])].kind != kind) {
      *result = parts[0];
      return Status::Ok();
    }
    Node node;
    node.kind = kind;
    node.children = std::move(parts);
    *result = Add(std::move(node));
    return Status::Ok();
  }

  // not_expr := "not" not_expr | primary
  Status ParseNot(int depth, int* result) {
    if (depth > kMaxDepth) return ErrorAt(text_, Peek().pos, "expression nested too deeply");
    if (Peek().kind != Tok::kNot) return ParsePrimary(depth, result);
    Next();
    int child = -1;
    OMNI_RETURN_IF_ERROR(ParseNot(depth + 1, &child));
    Node node;
    node.kind = NodeKind::kNot;
    node.children = {child};
    *result = Add(std::move(node));
    return Status::Ok();
  }

  // primary := "(" or_expr ")" | operand [cmp operand | ["not"] "in" (field | list)]
  Status ParsePrimary(int depth, int* result) {
    const Token& first = Peek();
    if (first.kind == Tok::kLParen) {
      Next();
      OMNI_RETURN_IF_ERROR(ParseOr(depth + 1, result));
      const Token& close = Peek();
      if (close.kind == Tok::kRParen) {
        Next();
        return Status::Ok();
      }
      if (close.kind == Tok::kEnd) return ErrorAt(text_, first.pos, "unclosed '(': no matching ')'");
      return Unexpected(close, "')' or 'and' or 'or'");
    }
    Operand lhs;
    OMNI_RETURN_IF_ERROR(ParseOperand("a condition", &lhs));
    const Token& t = Peek();
    if (t.kind == Tok::kCmp) {
      Next();
      Operand rhs;
      OMNI_RETURN_IF_ERROR(
          ParseOperand("a field or a value after '" + std::string(CmpOpText(t.op)) + "'", &rhs));
      return MakeCompare(std::move(lhs), t, std::move(rhs), result);
    }
    bool negated = t.kind == Tok::kNot && Peek(1).kind == Tok::kIn;
    if (t.kind == Tok::kIn || negated) {
      if (negated) Next();
      Next();
      int membership = -1;
      OMNI_RETURN_IF_ERROR(ParseIn(std::move(lhs), &membership));
      if (!negated) {
        *result = membership;
        return Status::Ok();
      }
      Node node;
      node.kind = NodeKind::kNot;
      node.children = {membership};
      *result = Add(std::move(node));
      return Status::Ok();
    }
    // A lone operand must be a truth value.
    Node node;
    if (!lhs.is_field && lhs.type == FieldType::kBool) {
      node.kind = NodeKind::kConst;
      node.constant = lhs.boolean;
    } else if (lhs.is_field && lhs.type == FieldType::kBool) {
      node.kind = NodeKind::kBoolField;
      node.lhs = std::move(lhs);
    } else if (lhs.is_field) {
      std::string hint = lhs.type == FieldType::kNumber   ? lhs.name + " > 0"
                         : lhs.type == FieldType::kString ? lhs.name + " == \"...\""
                                                          : "\"...\" in " + lhs.name;
      return ErrorAt(text_, lhs.pos,
                     "'" + lhs.name + "' is a " + std::string(FieldTypeName(lhs.type)) +
                         ", not a condition (did you mean " + hint + "?)");
    } else {
      return ErrorAt(text_, lhs.pos,
                     "a " + std::string(FieldTypeName(lhs.type)) +
                         " on its own is not a condition; compare it with a field");
    }
    *result = Add(std::move(node));
    return Status::Ok();
  }

  Status ParseOperand(const std::string& wanted, Operand* op) {
    const Token& t = Peek();
    op->pos = t.pos;
    switch (t.kind) {
      case Tok::kPath: {
        int field = catalog_.Find(t.text);
        if (field < 0) {
          std::vector<std::string> close = catalog_.Suggest(t.text);
          std::string message = "unknown field '" + t.text + "'";
          if (!close.empty()) {
            message += " (did you mean ";
            for (size_t i = 0; i < close.size(); ++i) {
              if (i > 0) message += i + 1 == close.size() ? " or " : ", ";
              message += close[i];
            }
            message += "?)";
          }
          return ErrorAt(text_, t.pos, message);
        }
        op->is_field = true;
        op->field = field;
        op->name = t.text;
        op->type = catalog_.field(field).type;
        break;
      }
      case Tok::kNumber:
        op->type = FieldType::kNumber;
        op->number = t.number;
        break;
      case Tok::kString:
        op->type = FieldType::kString;
        op->str = t.text;
        break;
      case Tok::kTrue:
      case Tok::kFalse:
        op->type = FieldType::kBool;
        op->boolean = t.kind == Tok::kTrue;
        break;
      default:
        return Unexpected(t, wanted);
    }
    Next();
    return Status::Ok();
  }

  std::string Show(const Operand& o) const {
    if (o.is_field) return "'" + o.name + "'";
    if (o.type == FieldType::kNumber) return FormatNumber(o.number);
    if (o.type == FieldType::kBool) return o.boolean ? "true" : "false";
    return QuoteString(o.str);
  }

  std::string TypeOf(const Operand& o) const {
    return Show(o) + " is a " + std::string(FieldTypeName(o.type));
  }

  Status MakeCompare(Operand lhs, const Token& op_token, Operand rhs, int* result) {
    CmpOp op = op_token.op;
    if (!lhs.is_field && !rhs.is_field) {
      return ErrorAt(text_, lhs.pos, "a comparison needs a field on at least one side");
    }
    if (!lhs.is_field) {  // canonical: field on the left
      std::swap(lhs, rhs);
      op = Mirror(op);
    }
    if (lhs.type == FieldType::kStringSet || rhs.type == FieldType::kStringSet) {
      const Operand& set = lhs.type == FieldType::kStringSet ? lhs : rhs;
      return ErrorAt(text_, set.pos,
                     "'" + set.name + "' is a string set and cannot be compared with '" +
                         std::string(CmpOpText(op_token.op)) + "'; test membership with \"...\" in " +
                         set.name);
    }
    if (lhs.type != rhs.type) {
      return ErrorAt(text_, rhs.pos, "type mismatch: " + TypeOf(lhs) + " but " + TypeOf(rhs));
    }
    if (lhs.type == FieldType::kBool && op != CmpOp::kEq && op != CmpOp::kNe) {
      return ErrorAt(text_, op_token.pos,
                     "'" + std::string(CmpOpText(op_token.op)) + "' does not apply to bools; use == or !=");
    }
    Node node;
    node.kind = NodeKind::kCompare;
    node.op = op;
    node.lhs = std::move(lhs);
    node.rhs = std::move(rhs);
    *result = Add(std::move(node));
    return Status::Ok();
  }

  // After `lhs in`: either a parenthesised literal list or a string-set field.
  Status ParseIn(Operand lhs, int* result) {
    Node node;
    const Token& open = Peek();
    if (open.kind == Tok::kLParen) {
      Next();
      if (!lhs.is_field) {
        return ErrorAt(text_, lhs.pos, "the left side of 'in (...)' must be a field");
      }
      if (lhs.type == FieldType::kStringSet) {
        return ErrorAt(text_, lhs.pos,
                       "'" + lhs.name +
                           "' is a string set; to ask for any of several values write "
                           "\"a\" in " +
                           lhs.name + " or \"b\" in " + lhs.name);
      }
      if (lhs.type == FieldType::kBool) {
        return ErrorAt(text_, lhs.pos, "'" + lhs.name + "' is a bool; use == or !=");
      }
      while (true) {
        const Token& t = Peek();
        if (t.kind == Tok::kRParen && node.list.empty()) return ErrorAt(text_, t.pos, "empty list");
        if (t.kind == Tok::kEnd) return ErrorAt(text_, open.pos, "unclosed '(': no matching ')'");
        Operand item;
        OMNI_RETURN_IF_ERROR(ParseOperand("a value in the list", &item));
        if (item.is_field) return ErrorAt(text_, item.pos, "a list holds values, not fields");
        if (item.type != lhs.type) {
          return ErrorAt(text_, item.pos, "type mismatch: " + TypeOf(lhs) + " but " + TypeOf(item));
        }
        node.list.push_back(std::move(item));
        const Token& sep = Peek();
        if (sep.kind == Tok::kComma) {
          Next();
          continue;
        }
        if (sep.kind == Tok::kRParen) {
          Next();
          break;
        }
        if (sep.kind == Tok::kEnd) return ErrorAt(text_, open.pos, "unclosed '(': no matching ')'");
        return Unexpected(sep, "',' or ')'");
      }
      node.kind = NodeKind::kInList;
      node.lhs = std::move(lhs);
      *result = Add(std::move(node));
      return Status::Ok();
    }
    Operand set;
    OMNI_RETURN_IF_ERROR(ParseOperand("a string-set field or a (list) after 'in'", &set));
    if (!set.is_field || set.type != FieldType::kStringSet) {
      return ErrorAt(
          text_, set.pos,
          "'in' needs a string-set field or a parenthesised list on its right, but " + TypeOf(set));
    }
    if (lhs.type != FieldType::kString) {
      return ErrorAt(text_, lhs.pos, "only a string can be in a string set, but " + TypeOf(lhs));
    }
    node.kind = NodeKind::kSetHas;
    node.lhs = std::move(lhs);
    node.rhs = std::move(set);
    *result = Add(std::move(node));
    return Status::Ok();
  }

  std::string_view text_;
  const FieldCatalog& catalog_;
  SegmentExpression::Compiled& out_;
  std::vector<Token> tokens_;
  size_t next_ = 0;
};

// ---------------------------------------------------------------- compiler

class Compiler {
 public:
  explicit Compiler(SegmentExpression::Compiled& c) : c_(c) {}

  void Emit(int index) {
    const Node& n = c_.nodes[static_cast<size_t>(index)];
    switch (n.kind) {
      case NodeKind::kOr:
      case NodeKind::kAnd: {
        OpCode jump = n.kind == NodeKind::kOr ? OpCode::kJumpIfTrue : OpCode::kJumpIfFalse;
        std::vector<size_t> patches;
        for (size_t i = 0; i < n.children.size(); ++i) {
          Emit(n.children[i]);
          if (i + 1 < n.children.size()) {
            patches.push_back(c_.program.size());
            Push({jump});
          }
        }
        for (size_t p : patches) c_.program[p].b = static_cast<int32_t>(c_.program.size());
        return;
      }
      case NodeKind::kNot:
        Emit(n.children[0]);
        Push({OpCode::kNot});
        return;
      case NodeKind::kConst:
        Push({OpCode::kConst, CmpOp::kEq, 0, 0, 0, n.constant ? 1.0 : 0.0});
        return;
      case NodeKind::kBoolField:
        Push({OpCode::kBool, CmpOp::kEq, n.lhs.field});
        return;
      case NodeKind::kCompare: {
        Instr in{OpCode::kConst, n.op, n.lhs.field};
        bool field = n.rhs.is_field;
        switch (n.lhs.type) {
          case FieldType::kNumber:
            in.code = field ? OpCode::kNumCmpF : OpCode::kNumCmpK;
            in.k = n.rhs.number;
            break;
          case FieldType::kString:
            in.code = field ? OpCode::kStrCmpF : OpCode::kStrCmpK;
            if (!field) in.b = AddString(n.rhs.str);
            break;
          case FieldType::kBool:
            in.code = field ? OpCode::kBoolCmpF : OpCode::kBoolCmpK;
            in.k = n.rhs.boolean ? 1.0 : 0.0;
            break;
          case FieldType::kStringSet:
            OMNI_CHECK(false);  // rejected by the parser
        }
        if (field) in.b = n.rhs.field;
        Push(in);
        return;
      }
      case NodeKind::kSetHas: {
        Instr in{n.lhs.is_field ? OpCode::kSetHasF : OpCode::kSetHasK, CmpOp::kEq, n.rhs.field};
        in.b = n.lhs.is_field ? n.lhs.field : AddString(n.lhs.str);
        Push(in);
        return;
      }
      case NodeKind::kInList: {
        Instr in{OpCode::kConst, CmpOp::kEq, n.lhs.field};
        if (n.lhs.type == FieldType::kNumber) {
          in.code = OpCode::kNumInList;
          std::vector<double> v;
          for (const Operand& o : n.list) v.push_back(o.number);
          std::sort(v.begin(), v.end());
          v.erase(std::unique(v.begin(), v.end()), v.end());
          in.b = static_cast<int32_t>(c_.numbers.size());
          c_.numbers.insert(c_.numbers.end(), v.begin(), v.end());
          in.c = static_cast<int32_t>(c_.numbers.size());
        } else {
          in.code = OpCode::kStrInList;
          std::vector<std::string> v;
          for (const Operand& o : n.list) v.push_back(o.str);
          std::sort(v.begin(), v.end());
          v.erase(std::unique(v.begin(), v.end()), v.end());
          in.b = static_cast<int32_t>(c_.strings.size());
          for (std::string& s : v) c_.strings.push_back(std::move(s));
          in.c = static_cast<int32_t>(c_.strings.size());
        }
        Push(in);
        return;
      }
    }
  }

 private:
  void Push(Instr in) { c_.program.push_back(in); }
  int32_t AddString(const std::string& s) {
    c_.strings.push_back(s);
    return static_cast<int32_t>(c_.strings.size()) - 1;
  }
  SegmentExpression::Compiled& c_;
};

void CollectFields(const SegmentExpression::Compiled& c, std::vector<int>* fields) {
  for (const Node& n : c.nodes) {
    for (const Operand* o : {&n.lhs, &n.rhs}) {
      if (o->is_field) fields->push_back(o->field);
    }
  }
  std::sort(fields->begin(), fields->end());
  fields->erase(std::unique(fields->begin(), fields->end()), fields->end());
}

// ---------------------------------------------------------------- printer

std::string OperandText(const Operand& o) {
  if (o.is_field) return o.name;
  if (o.type == FieldType::kNumber) return FormatNumber(o.number);
  if (o.type == FieldType::kBool) return o.boolean ? "true" : "false";
  return QuoteString(o.str);
}

void Print(const SegmentExpression::Compiled& c, int index, std::string* out);

// Parentheses where needed, and also around an `and` inside an `or` and
// around a condition under `not`, where precedence alone reads ambiguously.
void PrintChild(const SegmentExpression::Compiled& c, NodeKind parent, int child, std::string* out) {
  NodeKind kind = c.nodes[static_cast<size_t>(child)].kind;
  bool parens = false;
  if (parent == NodeKind::kAnd) parens = kind == NodeKind::kOr;
  if (parent == NodeKind::kOr) parens = kind == NodeKind::kAnd;
  if (parent == NodeKind::kNot) {
    parens = kind != NodeKind::kNot && kind != NodeKind::kConst && kind != NodeKind::kBoolField;
  }
  if (parens) *out += '(';
  Print(c, child, out);
  if (parens) *out += ')';
}

void Print(const SegmentExpression::Compiled& c, int index, std::string* out) {
  const Node& n = c.nodes[static_cast<size_t>(index)];
  switch (n.kind) {
    case NodeKind::kOr:
    case NodeKind::kAnd:
      for (size_t i = 0; i < n.children.size(); ++i) {
        if (i > 0) *out += n.kind == NodeKind::kOr ? " or " : " and ";
        PrintChild(c, n.kind, n.children[i], out);
      }
      return;
    case NodeKind::kNot:
      *out += "not ";
      PrintChild(c, n.kind, n.children[0], out);
      return;
    case NodeKind::kConst:
      *out += n.constant ? "true" : "false";
      return;
    case NodeKind::kBoolField:
      *out += n.lhs.name;
      return;
    case NodeKind::kCompare:
      *out += OperandText(n.lhs) + " " + std::string(CmpOpText(n.op)) + " " + OperandText(n.rhs);
      return;
    case NodeKind::kSetHas:
      *out += OperandText(n.lhs) + " in " + n.rhs.name;
      return;
    case NodeKind::kInList:
      *out += n.lhs.name + " in (";
      for (size_t i = 0; i < n.list.size(); ++i) {
        if (i > 0) *out += ", ";
        *out += OperandText(n.list[i]);
      }
      *out += ')';
      return;
  }
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

// ---------------------------------------------------------------- public API

std::string_view FieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::kNumber:
      return "number";
    case FieldType::kBool:
      return "bool";
    case FieldType::kString:
      return "string";
    case FieldType::kStringSet:
      return "string set";
  }
  return "?";
}

StatusOr<int> FieldCatalog::Add(std::string name, FieldType type, std::string description) {
  size_t bad_dot;
  if (name.empty() || ScanPath(name, &bad_dot) != name.size() || bad_dot != std::string::npos) {
    return InvalidArgument(
        "field name '" + name +
        "' is not a dotted path of letters, digits and '_' (starting with a letter or '_')");
  }
  if (IsKeyword(name)) return InvalidArgument("field name '" + name + "' is a keyword");
  if (index_.count(name)) return InvalidArgument("field '" + name + "' is already in the catalog");
  int index = size();
  index_.emplace(name, index);
  fields_.push_back({std::move(name), type, std::move(description)});
  return index;
}

int FieldCatalog::Find(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? -1 : it->second;
}

std::vector<std::string> FieldCatalog::Suggest(std::string_view name, size_t max) const {
  std::string lower = Lower(name);
  // A typo changes about one character in three at most; beyond that a
  // suggestion is noise.
  size_t limit = std::max<size_t>(1, std::min<size_t>(3, name.size() / 3));
  std::vector<std::pair<size_t, const std::string*>> scored;
  for (const FieldInfo& f : fields_) {
    size_t d = EditDistance(lower, Lower(f.name));
    size_t dot = f.name.rfind('.');
    bool last_part = dot != std::string::npos && Lower(f.name.substr(dot + 1)) == lower;
    if (d <= limit || last_part) scored.emplace_back(last_part ? 0 : d, &f.name);
  }
  std::sort(scored.begin(), scored.end(), [](const auto& x, const auto& y) {
    return x.first != y.first ? x.first < y.first : *x.second < *y.second;
  });
  std::vector<std::string> out;
  for (size_t i = 0; i < scored.size() && i < max; ++i) out.push_back(*scored[i].second);
  return out;
}

std::string FieldCatalog::Help() const {
  size_t name_width = 0;
  size_t type_width = 0;
  for (const FieldInfo& f : fields_) {
    name_width = std::max(name_width, f.name.size());
    type_width = std::max(type_width, FieldTypeName(f.type).size());
  }
  std::string out;
  for (const FieldInfo& f : fields_) {
    std::string_view type = FieldTypeName(f.type);
    out += f.name + std::string(name_width - f.name.size() + 2, ' ');
    out += std::string(type) + std::string(type_width - type.size() + 2, ' ');
    out += f.description + "\n";
  }
  return out;
}

StatusOr<SegmentExpression> SegmentExpression::Parse(std::string_view text, const FieldCatalog& catalog) {
  auto compiled = std::make_shared<Compiled>();
  for (size_t i = 0; i < text.size();) {  // reject invalid UTF-8 once, up front
    uint32_t cp;
    size_t n = Utf8SequenceLength(text, i, &cp);
    if (n == 0) return ErrorAt(text, i, "invalid UTF-8");
    i += n;
  }
  Parser parser(text, catalog, *compiled);
  OMNI_RETURN_IF_ERROR(parser.Run());
  Compiler(*compiled).Emit(compiled->root);
  CollectFields(*compiled, &compiled->fields);
  return SegmentExpression(std::move(compiled));
}

const std::vector<int>& SegmentExpression::fields() const { return c_->fields; }

std::string SegmentExpression::ToString() const {
  std::string out;
  Print(*c_, c_->root, &out);
  return out;
}

bool SegmentExpression::Matches(const ProfileRow& row) const {
  const Instr* program = c_->program.data();
  const size_t size = c_->program.size();
  const std::string* strings = c_->strings.data();
  const double* numbers = c_->numbers.data();
  bool r = false;
  for (size_t pc = 0; pc < size;) {
    const Instr& in = program[pc++];
    switch (in.code) {
      case OpCode::kConst:
        r = in.k != 0;
        break;
      case OpCode::kBool: {
        bool v = false;
        r = row.GetBool(in.a, &v) && v;
        break;
      }
      case OpCode::kNumCmpK: {
        double v;
        r = row.GetNumber(in.a, &v) && !std::isnan(v) && Compare(in.op, v, in.k);
        break;
      }
      case OpCode::kNumCmpF: {
        double v, w;
        r = row.GetNumber(in.a, &v) && row.GetNumber(in.b, &w) && !std::isnan(v) && !std::isnan(w) &&
            Compare(in.op, v, w);
        break;
      }
      case OpCode::kStrCmpK: {
        std::string_view v;
        r = row.GetString(in.a, &v) && Compare(in.op, v, std::string_view(strings[in.b]));
        break;
      }
      case OpCode::kStrCmpF: {
        std::string_view v, w;
        r = row.GetString(in.a, &v) && row.GetString(in.b, &w) && Compare(in.op, v, w);
        break;
      }
      case OpCode::kBoolCmpK: {
        bool v;
        r = row.GetBool(in.a, &v) && Compare(in.op, v, in.k != 0);
        break;
      }
      case OpCode::kBoolCmpF: {
        bool v, w;
        r = row.GetBool(in.a, &v) && row.GetBool(in.b, &w) && Compare(in.op, v, w);
        break;
      }
      case OpCode::kSetHasK:
        r = row.SetContains(in.a, strings[in.b]);
        break;
      case OpCode::kSetHasF: {
        std::string_view v;
        r = row.GetString(in.b, &v) && row.SetContains(in.a, v);
        break;
      }
      case OpCode::kNumInList: {
        double v;
        r = row.GetNumber(in.a, &v) && !std::isnan(v) &&
            std::binary_search(numbers + in.b, numbers + in.c, v);
        break;
      }
      case OpCode::kStrInList: {
        std::string_view v;
        r = row.GetString(in.a, &v) &&
            std::binary_search(strings + in.b, strings + in.c, v, [](const auto& x, const auto& y) {
              return std::string_view(x) < std::string_view(y);
            });
        break;
      }
      case OpCode::kNot:
        r = !r;
        break;
      case OpCode::kJumpIfFalse:
        if (!r) pc = static_cast<size_t>(in.b);
        break;
      case OpCode::kJumpIfTrue:
        if (r) pc = static_cast<size_t>(in.b);
        break;
    }
  }
  return r;
}

}  // namespace omni::profile
