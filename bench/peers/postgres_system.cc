// PostgreSQL through libpq as the usual event store: one table events with a
// bigserial global position and unique(stream, version), which is also how
// an append with an expected version is checked (a duplicate version fails).
// One multi-row INSERT is one transaction (synchronous_commit=on: the commit
// waits for the WAL fsync); a call sends all its INSERTs in libpq's pipeline
// mode, each followed by a Sync so that each still commits on its own.
#include <arpa/inet.h>
#include <libpq-fe.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench/broker_process.h"
#include "bench/peers/system.h"

namespace muninn::bench::peers {
namespace {

struct conn_deleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using conn_ptr = std::unique_ptr<PGconn, conn_deleter>;
struct result_deleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using result_ptr = std::unique_ptr<PGresult, result_deleter>;

std::string pg_error(std::string_view what, PGconn* c) {
  std::string m = "postgres: " + std::string(what) + ": " + PQerrorMessage(c);
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  for (auto& ch : m)
    if (ch == '\n') ch = ' ';
  return m;
}

status exec(PGconn* c, const char* sql) {
  result_ptr r(PQexec(c, sql));
  const auto st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return pg_error(sql, c);
  return std::nullopt;
}

conn_ptr open(const std::string& conninfo, std::string& error) {
  conn_ptr c(PQconnectdb(conninfo.c_str()));
  if (PQstatus(c.get()) != CONNECTION_OK) {
    error = pg_error("connect", c.get());
    return nullptr;
  }
  return c;
}

constexpr const char* select_columns = "SELECT global_position, stream, version, type, data FROM events ";

class postgres_session final : public session {
 public:
  explicit postgres_session(conn_ptr c) : c_(std::move(c)) {}

  status append(std::span<const event> events, std::size_t batch, append_mode mode) override {
    if (mode == append_mode::fill && !fill_) {
      // Loading is not measured; the read workloads need the rows, not a
      // commit that waits for each fsync.
      if (auto err = exec(c_.get(), "SET synchronous_commit = off")) return err;
      fill_ = true;
    }
    if (PQenterPipelineMode(c_.get()) != 1) return pg_error("pipeline mode", c_.get());
    status err;
    std::size_t sent = 0;
    for (std::size_t at = 0; at < events.size() && !err; at += batch) {
      const auto part = events.subspan(at, std::min(batch, events.size() - at));
      if (auto e = send_insert(part)) err = e;
      else if (PQpipelineSync(c_.get()) != 1) err = pg_error("pipeline sync", c_.get());
      else ++sent;
    }
    // Each INSERT answers with its result, a null, then the Sync's result.
    for (std::size_t done = 0; done < sent;) {
      result_ptr r(PQgetResult(c_.get()));
      if (!r) continue;
      const auto st = PQresultStatus(r.get());
      if (st == PGRES_PIPELINE_SYNC) ++done;
      else if (st != PGRES_COMMAND_OK && !err) err = pg_error("insert", c_.get());
    }
    if (PQexitPipelineMode(c_.get()) != 1 && !err) err = pg_error("leaving pipeline mode", c_.get());
    return err;
  }

  status replay(std::uint64_t& events, std::uint64_t& data_bytes) override {
    // Keyset pages in global_position order, binary results.
    std::int64_t after = 0;
    for (;;) {
      if (broker_bench::interrupted) return "interrupted";
      const std::string from = std::to_string(after);
      const char* values[] = {from.c_str()};
      result_ptr r(PQexecParams(c_.get(),
                                (std::string(select_columns) +
                                 "WHERE global_position > $1::bigint ORDER BY global_position LIMIT 10000")
                                    .c_str(),
                                1, nullptr, values, nullptr, nullptr, 1));
      if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) return pg_error("replay", c_.get());
      const int n = PQntuples(r.get());
      if (n == 0) return std::nullopt;
      for (int i = 0; i < n; ++i) data_bytes += static_cast<std::uint64_t>(PQgetlength(r.get(), i, 4));
      events += static_cast<std::uint64_t>(n);
      std::uint64_t be = 0;
      std::memcpy(&be, PQgetvalue(r.get(), n - 1, 0), sizeof be);
      after = static_cast<std::int64_t>(be64toh(be));
    }
  }

  status read_stream(std::string_view stream, std::size_t& events) override {
    const std::string s(stream);
    const char* values[] = {s.c_str()};
    result_ptr r(PQexecParams(c_.get(), (std::string(select_columns) + "WHERE stream = $1 ORDER BY version").c_str(), 1,
                              nullptr, values, nullptr, nullptr, 1));
    if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) return pg_error("read stream", c_.get());
    events = static_cast<std::size_t>(PQntuples(r.get()));
    return std::nullopt;
  }

 private:
  status send_insert(std::span<const event> part) {
    const std::size_t n = part.size();
    if (sql_rows_ != n) {
      sql_ = "INSERT INTO events (stream, version, type, data) VALUES ";
      for (std::size_t i = 0; i < n; ++i) {
        sql_ += (i ? ",($" : "($") + std::to_string(4 * i + 1) + ",$" + std::to_string(4 * i + 2) + "::int,$" +
                std::to_string(4 * i + 3) + ",$" + std::to_string(4 * i + 4) + "::bytea)";
      }
      sql_rows_ = n;
    }
    values_.resize(4 * n);
    lengths_.resize(4 * n);
    formats_.assign(4 * n, 1);
    versions_.resize(n);
    streams_.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      const auto& e = part[i];
      streams_[i] = std::string(e.stream);  // text in binary format is its bytes
      versions_[i] = htonl(static_cast<std::uint32_t>(e.version));
      values_[4 * i] = streams_[i].data();
      lengths_[4 * i] = static_cast<int>(streams_[i].size());
      values_[4 * i + 1] = reinterpret_cast<const char*>(&versions_[i]);
      lengths_[4 * i + 1] = 4;
      values_[4 * i + 2] = event_type.data();
      lengths_[4 * i + 2] = static_cast<int>(event_type.size());
      values_[4 * i + 3] = reinterpret_cast<const char*>(e.data.data());
      lengths_[4 * i + 3] = static_cast<int>(e.data.size());
    }
    if (PQsendQueryParams(c_.get(), sql_.c_str(), static_cast<int>(4 * n), nullptr, values_.data(), lengths_.data(),
                          formats_.data(), 1) != 1)
      return pg_error("send insert", c_.get());
    return std::nullopt;
  }

  conn_ptr c_;
  bool fill_ = false;
  std::string sql_;
  std::size_t sql_rows_ = 0;
  std::vector<const char*> values_;
  std::vector<int> lengths_, formats_;
  std::vector<std::uint32_t> versions_;
  std::vector<std::string> streams_;
};

class postgres_system final : public system {
 public:
  explicit postgres_system(std::string conninfo) : conninfo_(std::move(conninfo)) {}
  std::string name() const override { return "postgres"; }
  std::string durability() const override {
    return "synchronous_commit=on: one transaction per batch, commit waits for the WAL fsync";
  }
  bool durable() const override { return true; }
  status reset() override {
    std::string error;
    auto c = open(conninfo_, error);
    if (!c) return error;
    if (auto e = exec(c.get(), "SET client_min_messages = warning")) return e;  // no NOTICE on stderr
    if (auto e = exec(c.get(), "DROP TABLE IF EXISTS events")) return e;
    return exec(c.get(),
                "CREATE TABLE events (global_position bigserial PRIMARY KEY, stream text NOT NULL, "
                "version int NOT NULL, type text NOT NULL, data bytea NOT NULL, UNIQUE (stream, version))");
  }
  std::unique_ptr<session> connect(std::string& error) override {
    auto c = open(conninfo_, error);
    if (!c) return nullptr;
    return std::make_unique<postgres_session>(std::move(c));
  }

 private:
  std::string conninfo_;
};

}  // namespace

std::unique_ptr<system> make_postgres(const std::string& conninfo) {
  return std::make_unique<postgres_system>(conninfo);
}

}  // namespace muninn::bench::peers
