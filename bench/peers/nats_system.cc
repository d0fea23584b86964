// NATS JetStream through nats.c: one file-storage stream EVENTS over the
// subjects ev.<stream>, the type and version in message headers. Appends are
// js_PublishMsgAsync with a pub ack per message, all of one call in flight,
// then js_PublishAsyncComplete. nats-server 2.9 acknowledges once the message
// is in the file store's buffers: it does not fsync each message (sync_interval,
// 2 minutes by default), so its rows are not durable as Muninn's are.
#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <string>

#include "bench/broker_process.h"
#include "bench/peers/system.h"

namespace muninn::bench::peers {
namespace {

constexpr const char* stream_name = "EVENTS";

std::string nats_error(std::string_view what, natsStatus s, jsErrCode code = static_cast<jsErrCode>(0)) {
  std::string m = "nats: " + std::string(what) + ": " + natsStatus_GetText(s);
  if (code != 0) m += " (JetStream error " + std::to_string(static_cast<int>(code)) + ")";
  if (const char* last = nats_GetLastError(nullptr); last && *last) m += ": " + std::string(last);
  return m;
}

class nats_session final : public session {
 public:
  ~nats_session() override {
    if (js_) jsCtx_Destroy(js_);
    if (nc_) natsConnection_Destroy(nc_);
  }

  status open(const std::string& url) {
    if (auto s = natsConnection_ConnectTo(&nc_, url.c_str()); s != NATS_OK) return nats_error("connect " + url, s);
    jsOptions o;
    jsOptions_Init(&o);
    o.PublishAsync.MaxPending = 1 << 20;  // the caller bounds what one call sends
    o.PublishAsync.ErrHandler = &nats_session::on_error;
    o.PublishAsync.ErrHandlerClosure = this;
    o.Wait = 30000;
    if (auto s = natsConnection_JetStream(&js_, nc_, &o); s != NATS_OK) return nats_error("JetStream context", s);
    return std::nullopt;
  }

  // Deletes EVENTS (if there) and makes it anew: file storage, one replica.
  status recreate_stream() {
    jsErrCode code{};
    js_DeleteStream(js_, stream_name, nullptr, &code);  // absent on the first reset
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = stream_name;
    const char* subjects[] = {"ev.>"};
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = 1;
    jsStreamInfo* si = nullptr;
    if (auto s = js_AddStream(&si, js_, &cfg, nullptr, &code); s != NATS_OK) return nats_error("add stream", s, code);
    jsStreamInfo_Destroy(si);
    return std::nullopt;
  }

  status append(std::span<const event> events, std::size_t, append_mode mode) override {
    errors_.store(0);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    std::string subject, version;
    for (const auto& e : events) {
      if (mode == append_mode::expected) {
        // JetStream checks a subject's last stream sequence, not a version:
        // "no message yet on this subject" is the only version it can express.
        if (e.version != 1) return "nats: an expected version above 0 needs the subject's stream sequence";
        po.ExpectNoMessage = true;
      }
      subject = "ev." + std::string(e.stream);
      version = std::to_string(e.version);
      natsMsg* m = nullptr;
      natsStatus s = natsMsg_Create(&m, subject.c_str(), nullptr, reinterpret_cast<const char*>(e.data.data()),
                                    static_cast<int>(e.data.size()));
      if (s == NATS_OK) s = natsMsgHeader_Set(m, "t", std::string(event_type).c_str());
      if (s == NATS_OK) s = natsMsgHeader_Set(m, "v", version.c_str());
      if (s == NATS_OK) s = js_PublishMsgAsync(js_, &m, mode == append_mode::expected ? &po : nullptr);
      if (m) natsMsg_Destroy(m);  // still ours only when the publish failed
      if (s != NATS_OK) return nats_error("publish", s);
    }
    jsPubOptions wait;
    jsPubOptions_Init(&wait);
    wait.MaxWait = 60000;
    if (auto s = js_PublishAsyncComplete(js_, &wait); s != NATS_OK) return nats_error("waiting for pub acks", s);
    if (const auto n = errors_.load()) return "nats: " + std::to_string(n) + " publishes failed: " + first_error_;
    return std::nullopt;
  }

  status replay(std::uint64_t& events, std::uint64_t& data_bytes) override {
    jsStreamInfo* si = nullptr;
    jsErrCode code{};
    if (auto s = js_GetStreamInfo(&si, js_, stream_name, nullptr, &code); s != NATS_OK)
      return nats_error("stream info", s, code);
    const std::uint64_t total = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    return read_subject("ev.>", total, events, data_bytes);
  }

  status read_stream(std::string_view stream, std::size_t& events) override {
    std::uint64_t n = 0, bytes = 0;
    // A consumer filtered on the subject, asked for what is there now.
    auto err = read_subject("ev." + std::string(stream), 0, n, bytes);
    events = n;
    return err;
  }

 private:
  static void on_error(jsCtx*, jsPubAckErr* pae, void* closure) {
    auto* self = static_cast<nats_session*>(closure);
    if (self->errors_.fetch_add(1) == 0) self->first_error_ = pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err);
  }

  // Pulls `subject` from the first message with a pull consumer (no acks): `total` messages, or while the server has more when 0.
  status read_subject(const std::string& subject, std::uint64_t total, std::uint64_t& events,
                      std::uint64_t& data_bytes) {
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream_name;
    so.Config.AckPolicy = js_AckNone;
    so.Config.DeliverPolicy = js_DeliverAll;
    if (total == 0) so.Config.FilterSubject = subject.c_str();  // the replay takes the whole stream
    // The consumer is made first, with a long wait: on a stream of millions
    // of messages over many subjects nats-server 2.9 may take tens of
    // seconds to create it, longer than a subscribe call waits.
    const std::string consumer = "bench-read-" + std::to_string(++consumers_);
    so.Config.Durable = consumer.c_str();
    jsOptions slow;
    jsOptions_Init(&slow);
    slow.Wait = 300'000;
    jsConsumerInfo* ci = nullptr;
    jsErrCode code{};
    if (auto s = js_AddConsumer(&ci, js_, stream_name, &so.Config, &slow, &code); s != NATS_OK)
      return nats_error("add consumer for " + subject, s, code);
    jsConsumerInfo_Destroy(ci);
    so.Consumer = consumer.c_str();
    natsSubscription* sub = nullptr;
    if (auto s = js_PullSubscribe(&sub, js_, subject.c_str(), consumer.c_str(), nullptr, &so, &code); s != NATS_OK) {
      js_DeleteConsumer(js_, stream_name, consumer.c_str(), nullptr, nullptr);
      return nats_error("pull subscribe " + subject, s, code);
    }
    status err;
    int empty_timeouts = 0;
    for (;;) {
      if (total > 0 && events >= total) break;
      if (broker_bench::interrupted) {
        err = "interrupted";
        break;
      }
      jsFetchRequest req;
      jsFetchRequest_Init(&req);
      // Never more than is left: a batch the server cannot fill waits for Expires.
      req.Batch = total > 0 ? static_cast<int>(std::min<std::uint64_t>(4096, total - events)) : 1000;
      req.MaxBytes = 4 << 20;
      req.NoWait = total == 0;
      req.Expires = 30'000'000'000;  // ns
      natsMsgList list{};
      const natsStatus s = natsSubscription_FetchRequest(&list, sub, &req);
      const int count = list.Count;
      for (int i = 0; i < count; ++i) data_bytes += static_cast<std::uint64_t>(natsMsg_GetDataLength(list.Msgs[i]));
      events += static_cast<std::uint64_t>(count);
      natsMsgList_Destroy(&list);
      if (s == NATS_NOT_FOUND || (s == NATS_TIMEOUT && total == 0)) break;  // nothing more (NoWait)
      // A busy server may time out a request after part of it: go on while
      // messages arrive, fail after six empty timeouts (3 minutes) in a row.
      empty_timeouts = (s == NATS_TIMEOUT && count == 0) ? empty_timeouts + 1 : 0;
      if (s != NATS_OK) std::fprintf(stderr, "  nats: fetch %s after %llu events: %s (%d messages)\n", subject.c_str(),
                                     static_cast<unsigned long long>(events), natsStatus_GetText(s), count);
      if (s != NATS_OK && (s != NATS_TIMEOUT || empty_timeouts >= 6)) {
        err = nats_error("fetch " + subject, s);
        break;
      }
      if (total == 0 && count < req.Batch) break;
    }
    natsSubscription_Destroy(sub);
    js_DeleteConsumer(js_, stream_name, consumer.c_str(), nullptr, nullptr);
    return err;
  }

  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
  std::atomic<std::uint64_t> errors_{0};
  int consumers_ = 0;
  std::string first_error_;
};

class nats_system final : public system {
 public:
  explicit nats_system(std::string url) : url_(std::move(url)) {}
  std::string name() const override { return "nats"; }
  std::string durability() const override {
    return "JetStream file storage, pub ack per message; nats-server 2.9 does not fsync each message";
  }
  bool durable() const override { return false; }
  status reset() override {
    nats_session s;
    if (auto err = s.open(url_)) return err;
    return s.recreate_stream();
  }
  std::unique_ptr<session> connect(std::string& error) override {
    auto s = std::make_unique<nats_session>();
    if (auto err = s->open(url_)) {
      error = *err;
      return nullptr;
    }
    return s;
  }

 private:
  std::string url_;
};

}  // namespace

std::unique_ptr<system> make_nats(const std::string& url) { return std::make_unique<nats_system>(url); }

}  // namespace muninn::bench::peers
