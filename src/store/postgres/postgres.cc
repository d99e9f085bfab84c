#include "store/postgres/postgres.h"

#include <libpq-fe.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "core/text.h"

namespace trial::store {
namespace {

// Type OIDs from the server's catalog (pg_type.dat); stable across PostgreSQL versions.
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
// The protocol carries the parameter count in 16 bits.
constexpr size_t kMaxParams = 65535;
// Default connect timeout (seconds); a `connect_timeout` in the URL wins.
constexpr const char* kConnectTimeout = "10";

struct ResultDeleter {
  void operator()(PGresult* res) const { PQclear(res); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// The statement's first 40 characters, for messages.
std::string SqlHead(std::string_view sql) {
  constexpr size_t kShown = 40;
  std::string line = FoldWhitespace(sql);
  if (line.size() > kShown) {
    line.resize(kShown);
    line += "...";
  }
  return "`" + line + "`";
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX sequences decoded (as libpq does for URI parts); malformed ones are kept as they are.
std::string PercentDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
        HexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

bool IsPostgresUrl(std::string_view url) {
  return url.starts_with("postgresql://") || url.starts_with("postgres://");
}

// Where the user info (`user:pass@`) and the query (`?a=b&c=d`) of a URL are.
struct UrlParts {
  size_t authority = 0;                   // first character after "://"
  size_t at = std::string_view::npos;     // the '@' ending the user info, if any
  size_t colon = std::string_view::npos;  // the ':' starting the password, if any
  size_t query = std::string_view::npos;  // the '?', if any
};

UrlParts SplitUrl(std::string_view url) {
  UrlParts parts;
  const size_t scheme = url.find("://");
  parts.authority = scheme == std::string_view::npos ? 0 : scheme + 3;
  // libpq ends the user info at the first '@' before the first '/'; the last one is taken here
  // so that a password holding an unencoded '@' is still removed whole.
  const size_t slash = url.find('/', parts.authority);
  const size_t end = slash == std::string_view::npos ? url.size() : slash;
  for (size_t i = parts.authority; i < end; ++i) {
    if (url[i] == '@') parts.at = i;
  }
  if (parts.at != std::string_view::npos) {
    const size_t colon = url.find(':', parts.authority);
    if (colon < parts.at) parts.colon = colon;
  }
  const size_t after_authority = parts.at == std::string_view::npos ? parts.authority : parts.at;
  parts.query = url.find('?', after_authority);
  return parts;
}

// Splits a query string on '&' and calls `fn(key, value)` for each parameter.
template <class Fn>
void ForEachParam(std::string_view query, Fn&& fn) {
  size_t start = 0;
  while (start <= query.size()) {
    size_t amp = query.find('&', start);
    if (amp == std::string_view::npos) amp = query.size();
    const std::string_view param = query.substr(start, amp - start);
    const size_t eq = param.find('=');
    fn(param, param.substr(0, eq), eq == std::string_view::npos ? "" : param.substr(eq + 1));
    start = amp + 1;
  }
}

// The password(s) written in a URL, raw and decoded, to scrub libpq's messages with.
std::vector<std::string> UrlSecrets(std::string_view url) {
  std::vector<std::string> secrets;
  const UrlParts parts = SplitUrl(url);
  auto add = [&](std::string_view secret) {
    if (secret.empty()) return;
    secrets.emplace_back(secret);
    secrets.push_back(PercentDecode(secret));
  };
  if (parts.colon != std::string_view::npos) {
    add(url.substr(parts.colon + 1, parts.at - parts.colon - 1));
  }
  if (parts.query != std::string_view::npos) {
    ForEachParam(url.substr(parts.query + 1),
                 [&](std::string_view, std::string_view key, std::string_view value) {
                   if (PercentDecode(key) == "password") add(value);
                 });
  }
  return secrets;
}

std::string Scrub(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    for (size_t pos = text.find(secret); pos != std::string::npos;
         pos = text.find(secret, pos + 3)) {
      text.replace(pos, secret.size(), "***");
    }
  }
  return text;
}

// The server's message for a failed statement: primary message, then detail in parentheses.
std::string ServerMessage(PGconn* conn, const PGresult* res) {
  if (res == nullptr) return FoldWhitespace(PQerrorMessage(conn));
  const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
  if (primary == nullptr) {
    std::string text = FoldWhitespace(PQresultErrorMessage(res));
    if (text.empty()) text = FoldWhitespace(PQerrorMessage(conn));
    return text.empty() ? "unknown error" : text;
  }
  std::string text = FoldWhitespace(primary);
  if (const char* detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL); detail != nullptr) {
    text += " (" + FoldWhitespace(detail) + ")";
  }
  return text;
}

// Leaves COPY mode if a statement entered it (COPY ... FROM STDIN / TO STDOUT is not supported
// through Query()), so that the connection stays usable.
void AbandonCopy(PGconn* conn, ExecStatusType status) {
  if (status == PGRES_COPY_IN) {
    PQputCopyEnd(conn, "COPY is not supported by the trial store");
  } else if (status == PGRES_COPY_OUT) {
    char* buffer = nullptr;
    while (PQgetCopyData(conn, &buffer, 0) > 0) PQfreemem(buffer);
  } else if (status == PGRES_COPY_BOTH) {
    return;  // Replication protocol: nothing sensible to do; the server ends it on disconnect.
  }
  while (PGresult* rest = PQgetResult(conn)) PQclear(rest);
}

// nullopt when `res` is a success; the mapped error otherwise (see postgres.h).
std::optional<Error> StatementError(PGconn* conn, PGresult* res, std::string_view sql) {
  const ExecStatusType status = res == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(res);
  switch (status) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
    case PGRES_EMPTY_QUERY:
      return std::nullopt;
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
    case PGRES_COPY_BOTH:
      AbandonCopy(conn, status);
      return Error{ErrorCode::kInvalidArgument,
                   "PostgreSQL statement " + SqlHead(sql) + " uses COPY, which is not supported"};
    default:
      break;
  }
  const std::string message = ServerMessage(conn, res);
  const char* state = res == nullptr ? nullptr : PQresultErrorField(res, PG_DIAG_SQLSTATE);
  const std::string sqlstate = state == nullptr ? "" : state;
  if (sqlstate.starts_with("23")) return Error{ErrorCode::kInvalidInput, message};
  if (sqlstate == "40001" || sqlstate == "40P01") {
    return Error{ErrorCode::kIo,
                 "PostgreSQL " +
                     std::string(sqlstate == "40001" ? "serialization failure" : "deadlock") +
                     " in " + SqlHead(sql) + ": " + message + "; retry the transaction"};
  }
  std::string text = "PostgreSQL failed " + SqlHead(sql) + ": " + message;
  if (!sqlstate.empty()) text += " (SQLSTATE " + sqlstate + ")";
  return Error{ErrorCode::kIo, std::move(text)};
}

// Runs a parameterless statement; nullopt on success.
std::optional<Error> Exec(PGconn* conn, const char* sql) {
  const ResultPtr res(PQexec(conn, sql));
  return StatementError(conn, res.get(), sql);
}

class PgConnection;

class PgTransaction : public Transaction {
 public:
  explicit PgTransaction(PgConnection* connection) : connection_(connection) {}
  ~PgTransaction() override;
  PgTransaction(const PgTransaction&) = delete;
  PgTransaction& operator=(const PgTransaction&) = delete;

  Result<std::vector<Row>> Query(std::string_view sql,
                                 const std::vector<SqlValue>& params) override;
  Result<void> Commit() override;

 private:
  void Finish();

  PgConnection* connection_;
  bool done_ = false;
};

class PgConnection : public Connection {
 public:
  PgConnection(PGconn* conn, std::string shown_url)
      : conn_(conn), shown_url_(std::move(shown_url)) {}
  ~PgConnection() override { PQfinish(conn_); }
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Session settings, run after (re)connecting.
  std::optional<Error> Setup() {
    // Warnings and notices would go to stderr by default; errors reach the caller as values.
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
    for (const char* sql : {"SET synchronous_commit = on", "SET client_min_messages = warning"}) {
      if (auto error = Exec(conn_, sql)) return error;
    }
    return std::nullopt;
  }

  Result<std::unique_ptr<Transaction>> Begin(bool write) override {
    if (in_transaction_) {
      return Fail(ErrorCode::kInternal,
                  "a transaction is already open on the connection to " + Describe());
    }
    if (PQstatus(conn_) != CONNECTION_OK) {
      PQreset(conn_);
      if (PQstatus(conn_) != CONNECTION_OK) {
        return Fail(ErrorCode::kIo, "lost the connection to " + Describe() + ": " +
                                        FoldWhitespace(PQerrorMessage(conn_)));
      }
      if (auto error = Setup()) return std::unexpected(*error);
    }
    if (PQtransactionStatus(conn_) != PQTRANS_IDLE) {
      if (auto error = Exec(conn_, "ROLLBACK")) return std::unexpected(*error);
    }
    if (auto error = Exec(conn_, write ? "BEGIN ISOLATION LEVEL READ COMMITTED"
                                       : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")) {
      return std::unexpected(*error);
    }
    in_transaction_ = true;
    return std::make_unique<PgTransaction>(this);
  }

  Backend backend() const override { return Backend::kPostgres; }
  std::string Describe() const override { return "PostgreSQL " + shown_url_; }

  PGconn* conn() const { return conn_; }
  void EndTransaction() { in_transaction_ = false; }

 private:
  PGconn* conn_;
  std::string shown_url_;
  bool in_transaction_ = false;
};

PgTransaction::~PgTransaction() {
  if (done_) return;
  PGconn* conn = connection_->conn();
  if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE) {
    Exec(conn, "ROLLBACK");  // Best effort: a failure leaves nothing committed either.
  }
  Finish();
}

void PgTransaction::Finish() {
  done_ = true;
  connection_->EndTransaction();
}

Result<std::vector<Row>> PgTransaction::Query(std::string_view sql,
                                              const std::vector<SqlValue>& params) {
  if (done_) return Fail(ErrorCode::kInternal, "PostgreSQL transaction used after Commit()");
  if (sql.find('\0') != std::string_view::npos) {
    return Fail(ErrorCode::kInvalidArgument,
                "PostgreSQL statement " + SqlHead(sql) + " contains a NUL byte");
  }
  if (params.size() > kMaxParams) {
    return Fail(ErrorCode::kInvalidArgument, "PostgreSQL statement " + SqlHead(sql) + " has " +
                                                 std::to_string(params.size()) +
                                                 " parameters (at most 65535)");
  }
  std::vector<std::string> texts(params.size());
  std::vector<const char*> values(params.size(), nullptr);
  std::vector<Oid> types(params.size(), 0);  // 0: the server infers the type from the context
  for (size_t i = 0; i < params.size(); ++i) {
    if (const auto* n = std::get_if<int64_t>(&params[i])) {
      texts[i] = std::to_string(*n);
      types[i] = kInt8Oid;
    } else if (const auto* s = std::get_if<std::string>(&params[i])) {
      if (s->find('\0') != std::string::npos) {
        return Fail(ErrorCode::kInvalidInput, "parameter $" + std::to_string(i + 1) + " of " +
                                                  SqlHead(sql) +
                                                  " contains a NUL byte (PostgreSQL text cannot)");
      }
      texts[i] = *s;
    } else {
      continue;  // NULL
    }
    values[i] = texts[i].c_str();
  }

  PGconn* conn = connection_->conn();
  const std::string statement(sql);
  const ResultPtr res(PQexecParams(conn, statement.c_str(), static_cast<int>(params.size()),
                                   types.data(), values.data(), nullptr, nullptr, 0));
  if (auto error = StatementError(conn, res.get(), sql)) return std::unexpected(*error);

  const int rows = PQntuples(res.get());
  const int columns = PQnfields(res.get());
  std::vector<bool> integer(columns);
  for (int c = 0; c < columns; ++c) {
    const Oid type = PQftype(res.get(), c);
    integer[c] = type == kInt2Oid || type == kInt4Oid || type == kInt8Oid;
  }
  std::vector<Row> out(rows);
  for (int r = 0; r < rows; ++r) {
    out[r].columns.reserve(columns);
    for (int c = 0; c < columns; ++c) {
      if (PQgetisnull(res.get(), r, c)) {
        out[r].columns.emplace_back(std::monostate{});
        continue;
      }
      const char* text = PQgetvalue(res.get(), r, c);
      const int length = PQgetlength(res.get(), r, c);
      if (!integer[c]) {
        out[r].columns.emplace_back(std::string(text, length));
        continue;
      }
      int64_t n = 0;
      const auto [end, ec] = std::from_chars(text, text + length, n);
      if (ec != std::errc() || end != text + length) {
        return Fail(ErrorCode::kInternal, "PostgreSQL returned a malformed integer in column " +
                                              std::to_string(c + 1) + " of " + SqlHead(sql));
      }
      out[r].columns.emplace_back(n);
    }
  }
  return out;
}

Result<void> PgTransaction::Commit() {
  if (done_) return Fail(ErrorCode::kInternal, "PostgreSQL transaction committed twice");
  PGconn* conn = connection_->conn();
  Finish();
  if (PQtransactionStatus(conn) == PQTRANS_INERROR) {
    Exec(conn, "ROLLBACK");
    return Fail(ErrorCode::kIo,
                "PostgreSQL transaction was rolled back after an earlier error; nothing was "
                "committed");
  }
  const ResultPtr res(PQexec(conn, "COMMIT"));
  if (auto error = StatementError(conn, res.get(), "COMMIT")) return std::unexpected(*error);
  // COMMIT of a failed transaction "succeeds" with the tag ROLLBACK.
  if (std::string_view(PQcmdStatus(res.get())) != "COMMIT") {
    return Fail(ErrorCode::kIo, "PostgreSQL rolled the transaction back instead of committing it");
  }
  return {};
}

}  // namespace

std::string RedactPostgresUrl(std::string_view url) {
  if (!IsPostgresUrl(url)) return "(not a postgresql:// URL)";
  const UrlParts parts = SplitUrl(url);
  std::string out;
  if (parts.colon != std::string_view::npos) {
    out = std::string(url.substr(0, parts.colon));
    out += url.substr(parts.at, parts.query == std::string_view::npos ? std::string_view::npos
                                                                      : parts.query - parts.at);
  } else {
    out = std::string(url.substr(0, parts.query));
  }
  if (parts.query == std::string_view::npos) return out;
  std::string query;
  ForEachParam(url.substr(parts.query + 1),
               [&](std::string_view param, std::string_view key, std::string_view) {
                 if (param.empty() || PercentDecode(key) == "password") return;
                 query += query.empty() ? "?" : "&";
                 query += param;
               });
  return out + query;
}

Result<std::unique_ptr<Connection>> OpenPostgres(const std::string& url) {
  if (!IsPostgresUrl(url) || url.find('\0') != std::string::npos) {
    return Fail(ErrorCode::kInvalidArgument,
                "not a PostgreSQL URL (expected postgresql://user@host:port/database)");
  }
  const std::string shown = RedactPostgresUrl(url);
  // Later entries win, so the URL (expanded from `dbname`) overrides the defaults before it.
  const std::array<const char*, 5> keywords = {"connect_timeout", "client_encoding",
                                               "fallback_application_name", "dbname", nullptr};
  const std::array<const char*, 5> values = {kConnectTimeout, "UTF8", "trial", url.c_str(),
                                             nullptr};
  PGconn* conn = PQconnectdbParams(keywords.data(), values.data(), /*expand_dbname=*/1);
  if (conn == nullptr) {
    return Fail(ErrorCode::kIo, "cannot connect to PostgreSQL at " + shown + ": out of memory");
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string reason = Scrub(FoldWhitespace(PQerrorMessage(conn)), UrlSecrets(url));
    PQfinish(conn);
    return Fail(ErrorCode::kIo, "cannot connect to PostgreSQL at " + shown + ": " + reason);
  }
  auto connection = std::make_unique<PgConnection>(conn, shown);
  if (auto error = connection->Setup()) {
    return Fail(ErrorCode::kIo, "cannot set up the PostgreSQL session at " + shown + ": " +
                                    Scrub(error->message, UrlSecrets(url)));
  }
  return connection;
}

}  // namespace trial::store
