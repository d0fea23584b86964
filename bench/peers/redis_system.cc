// Redis Streams through hiredis: one stream key `events` for everything (the
// replay reads it with XRANGE pages), and with append_mode::fill also one key
// per event stream (Redis cannot look entries up by field), which the read-
// one-stream workload reads. Every call pipelines all its XADDs and then
// reads the replies; with appendfsync always Redis writes and fsyncs the AOF
// before it answers the commands of one event-loop pass.
#include <hiredis/hiredis.h>

#include <memory>
#include <string>
#include <vector>

#include "bench/broker_process.h"
#include "bench/peers/system.h"

namespace muninn::bench::peers {
namespace {

struct reply_deleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;
struct context_deleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using context_ptr = std::unique_ptr<redisContext, context_deleter>;

constexpr const char* all_key = "events";

context_ptr open(const std::string& address, std::string& error) {
  const auto colon = address.rfind(':');
  const std::string host = address.substr(0, colon);
  const int port = std::stoi(address.substr(colon + 1));
  context_ptr c(redisConnect(host.c_str(), port));
  if (!c || c->err) {
    error = "redis at " + address + ": " + (c ? c->errstr : "cannot allocate a context");
    return nullptr;
  }
  return c;
}

std::string reply_error(redisContext* c, const redisReply* r) {
  if (!r) return std::string("redis: ") + (c->err ? c->errstr : "no reply");
  if (r->type == REDIS_REPLY_ERROR) return std::string("redis: ") + r->str;
  return {};
}

// One command with its arguments as byte strings, sent now, answered later.
class command {
 public:
  command& arg(std::string_view a) {
    ptrs_.push_back(a.data());
    lens_.push_back(a.size());
    return *this;
  }
  int append_to(redisContext* c) {
    const int rc = redisAppendCommandArgv(c, static_cast<int>(ptrs_.size()), ptrs_.data(), lens_.data());
    ptrs_.clear();
    lens_.clear();
    return rc;
  }

 private:
  std::vector<const char*> ptrs_;
  std::vector<std::size_t> lens_;
};

class redis_session final : public session {
 public:
  explicit redis_session(context_ptr c) : c_(std::move(c)) {}

  status append(std::span<const event> events, std::size_t, append_mode mode) override {
    if (mode == append_mode::expected) return "redis: XADD cannot check a stream's version";
    std::size_t sent = 0;
    command cmd;
    std::string version;
    for (const auto& e : events) {
      version = std::to_string(e.version);
      const std::string_view data(reinterpret_cast<const char*>(e.data.data()), e.data.size());
      for (const char* key : {all_key, static_cast<const char*>(nullptr)}) {
        std::string per_stream;
        if (!key) {
          if (mode != append_mode::fill) break;
          per_stream = "s:" + std::string(e.stream);
        }
        cmd.arg("XADD").arg(key ? std::string_view(key) : std::string_view(per_stream)).arg("*");
        cmd.arg("s").arg(e.stream).arg("v").arg(version).arg("t").arg(event_type).arg("d").arg(data);
        if (cmd.append_to(c_.get()) != REDIS_OK) return std::string("redis: ") + c_->errstr;
        ++sent;
      }
    }
    status err;
    for (std::size_t i = 0; i < sent; ++i) {
      void* raw = nullptr;
      if (redisGetReply(c_.get(), &raw) != REDIS_OK) return std::string("redis: ") + c_->errstr;
      reply_ptr r(static_cast<redisReply*>(raw));
      if (auto e = reply_error(c_.get(), r.get()); !e.empty() && !err) err = e;
    }
    return err;
  }

  status replay(std::uint64_t& events, std::uint64_t& data_bytes) override {
    std::string from = "-";
    for (;;) {
      if (broker_bench::interrupted) return "interrupted";
      reply_ptr r(static_cast<redisReply*>(
          redisCommand(c_.get(), "XRANGE %s %s + COUNT 10000", all_key, from.c_str())));
      if (auto e = reply_error(c_.get(), r.get()); !e.empty()) return e;
      if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) return std::nullopt;
      for (std::size_t i = 0; i < r->elements; ++i) data_bytes += data_of(r->element[i]);
      events += r->elements;
      from = std::string("(") + r->element[r->elements - 1]->element[0]->str;
    }
  }

  status read_stream(std::string_view stream, std::size_t& events) override {
    const std::string key = "s:" + std::string(stream);
    reply_ptr r(static_cast<redisReply*>(redisCommand(c_.get(), "XRANGE %b - +", key.data(), key.size())));
    if (auto e = reply_error(c_.get(), r.get()); !e.empty()) return e;
    events = r->elements;
    for (std::size_t i = 0; i < r->elements; ++i) data_of(r->element[i]);
    return std::nullopt;
  }

 private:
  // The length of the "d" field of one XRANGE entry [id, [field, value, ...]].
  static std::size_t data_of(const redisReply* entry) {
    const redisReply* fields = entry->element[1];
    for (std::size_t f = 0; f + 1 < fields->elements; f += 2)
      if (fields->element[f]->len == 1 && fields->element[f]->str[0] == 'd') return fields->element[f + 1]->len;
    return 0;
  }

  context_ptr c_;
};

class redis_system final : public system {
 public:
  redis_system(std::string address, std::string appendfsync)
      : address_(std::move(address)), appendfsync_(std::move(appendfsync)) {}

  std::string name() const override { return appendfsync_ == "always" ? "redis" : "redis-" + appendfsync_; }
  std::string durability() const override {
    return appendfsync_ == "always" ? "appendonly yes, appendfsync always: AOF fsynced before the replies"
                                    : "appendonly yes, appendfsync everysec: AOF fsynced once a second (not durable)";
  }
  bool durable() const override { return appendfsync_ == "always"; }
  std::string cannot_expect() const override {
    return "XADD has no expected-version check (needs a Lua script or WATCH/MULTI)";
  }
  status reset() override {
    if (auto e = run("FLUSHALL")) return e;
    return run("CONFIG SET appendfsync " + appendfsync_);
  }
  // With appendfsync always Redis reads at most 16 KiB of a pipeline per
  // event-loop pass and fsyncs after each pass: loading 5 million events
  // would take minutes. Loading is not measured.
  status loading(bool on) override { return run("CONFIG SET appendfsync " + (on ? "no" : appendfsync_)); }
  std::unique_ptr<session> connect(std::string& error) override {
    auto c = open(address_, error);
    if (!c) return nullptr;
    return std::make_unique<redis_session>(std::move(c));
  }

 private:
  status run(const std::string& cmd) {
    std::string error;
    auto c = open(address_, error);
    if (!c) return error;
    reply_ptr r(static_cast<redisReply*>(redisCommand(c.get(), cmd.c_str())));
    if (auto e = reply_error(c.get(), r.get()); !e.empty()) return e;
    return std::nullopt;
  }

  std::string address_;
  std::string appendfsync_;
};

}  // namespace

std::unique_ptr<system> make_redis(const std::string& address, const std::string& appendfsync) {
  return std::make_unique<redis_system>(address, appendfsync);
}

}  // namespace muninn::bench::peers
