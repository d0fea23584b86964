#include "broker/topics.h"

#include <flatbuffers/flexbuffers.h>
#include <spdlog/spdlog.h>

#include "codec/batch.h"
#include "codec/batch_generated.h"

namespace muninn::broker {
namespace {

constexpr std::string_view topic_created = "TopicCreated";

std::vector<std::byte> encode_config(const topic_config& c) {
  flexbuffers::Builder b;
  b.Map([&] {
    b.String("name", c.name);
    b.UInt("partitions", c.partitions);
    b.String("schema", std::string(validation::to_string(c.schema)));
    b.UInt("segment_bytes", c.segment_bytes);
  });
  b.Finish();
  const auto& buf = b.GetBuffer();
  const auto* p = reinterpret_cast<const std::byte*>(buf.data());
  return {p, p + buf.size()};
}

std::optional<topic_config> decode_config(std::span<const std::byte> data) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(data.data());
  std::vector<std::uint8_t> reuse;
  if (data.size() < 3 || !flexbuffers::VerifyBuffer(p, data.size(), &reuse)) return std::nullopt;
  auto m = flexbuffers::GetRoot(p, data.size()).AsMap();
  topic_config c;
  c.name = m["name"].AsString().str();
  c.partitions = std::uint32_t(m["partitions"].AsUInt64());
  auto s = validation::schema_from_string(m["schema"].AsString().str());
  if (!s || !valid_topic_name(c.name) || c.partitions == 0 || c.partitions > max_partitions) return std::nullopt;
  c.schema = *s;
  c.segment_bytes = m["segment_bytes"].AsUInt64();
  return c;
}

}  // namespace

bool valid_topic_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 100 || name == "." || name == ".." || name.starts_with("__")) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

topic::topic(topic_config config, std::vector<std::unique_ptr<storage::partition_log>> partitions)
    : config_(std::move(config)), partitions_(std::move(partitions)) {}

void topic::close() {
  for (auto& p : partitions_) p->close();
}

topic_registry::topic_registry(std::string data_dir, storage::log_options defaults)
    : data_dir_(std::move(data_dir)), defaults_(std::move(defaults)) {}

topic_registry::~topic_registry() { close(); }

result<std::unique_ptr<topic_registry>, std::string> topic_registry::open(std::string data_dir,
                                                                         storage::log_options defaults) {
  std::unique_ptr<topic_registry> reg(new topic_registry(std::move(data_dir), std::move(defaults)));
  auto meta = storage::partition_log::open(reg->data_dir_ + "/__topics/0", reg->defaults_);
  if (!meta) return unexpected("__topics: " + meta.error().message);
  reg->meta_ = std::move(*meta);
  auto offsets = storage::partition_log::open(reg->data_dir_ + "/__offsets/0", reg->defaults_);
  if (!offsets) return unexpected("__offsets: " + offsets.error().message);
  reg->offsets_ = std::move(*offsets);

  // Replay: every TopicCreated record, in log order.
  for (std::uint64_t next = 0; next < reg->meta_->head();) {
    auto chunk = reg->meta_->read(next, 1u << 20);
    if (!chunk) return unexpected("__topics: cannot read offset " + std::to_string(next));
    if (chunk->batches.empty()) break;
    for (const auto& b : chunk->batches) {
      const auto* events = b.batch.batch->events();
      for (flatbuffers::uoffset_t i = 0; i < events->size(); ++i) {
        const auto* e = events->Get(i);
        if (e->type()->string_view() != topic_created || !e->data()) continue;
        auto c = decode_config(std::as_bytes(std::span(e->data()->data(), e->data()->size())));
        if (!c) return unexpected("__topics: unreadable TopicCreated at offset " + std::to_string(b.base_offset + i));
        auto t = reg->open_topic(*c);
        if (!t) return unexpected(t.error().message);
      }
      next = b.base_offset + b.count;
    }
  }
  if (reg->meta_->head() == 0) {
    // domain.md: a fresh data directory starts with the two built-in topics.
    for (auto c : {topic_config{"forsendelser", 8, validation::schema::dispatch, 0},
                   topic_config{"reskontra", 1, validation::schema::reskontra, 0}}) {
      auto t = reg->create(c);
      if (!t) return unexpected(t.error().message);
    }
  }
  return reg;
}

result<std::shared_ptr<topic>, topic_error> topic_registry::open_topic(const topic_config& config) {
  storage::log_options opts = defaults_;
  if (config.segment_bytes) opts.segment_bytes = config.segment_bytes;
  std::vector<std::unique_ptr<storage::partition_log>> parts;
  for (std::uint32_t p = 0; p < config.partitions; ++p) {
    auto log = storage::partition_log::open(data_dir_ + "/topics/" + config.name + "/" + std::to_string(p), opts);
    if (!log)
      return unexpected(topic_error{topic_errc::io, "topic " + config.name + " partition " + std::to_string(p) +
                                                        ": " + log.error().message});
    parts.push_back(std::move(*log));
  }
  auto t = std::make_shared<topic>(config, std::move(parts));
  std::lock_guard g(mu_);
  topics_[config.name] = t;
  return t;
}

result<std::shared_ptr<topic>, topic_error> topic_registry::create(topic_config config) {
  if (!valid_topic_name(config.name))
    return unexpected(topic_error{topic_errc::invalid, "topic name '" + config.name +
                                                           "' must be 1-100 characters of [A-Za-z0-9._-] "
                                                           "and not start with '__'"});
  if (config.partitions == 0 || config.partitions > max_partitions)
    return unexpected(topic_error{topic_errc::invalid, "partitions must be 1-" + std::to_string(max_partitions)});
  if (config.segment_bytes != 0 && config.segment_bytes < (64u << 10))
    return unexpected(topic_error{topic_errc::invalid, "segment_bytes must be 0 (default) or at least 65536"});
  std::lock_guard create_lock(create_mu_);
  if (find(config.name)) return unexpected(topic_error{topic_errc::exists, "topic '" + config.name + "' exists"});

  const auto data = encode_config(config);
  const std::string stream = "topic-" + config.name;
  codec::event_in e;
  e.stream = stream;
  e.type = topic_created;
  e.id = codec::event_id::generate_v7();
  e.expected_version = codec::expect_no_stream;
  e.content_type = codec::content_type_flexbuffers;
  e.data = data;
  storage::append_request req;
  req.events = std::span(&e, 1);
  auto r = meta_->append_sync(req);
  if (!r) {
    if (r.error().code == storage::errc::wrong_expected_version)
      return unexpected(topic_error{topic_errc::exists, "topic '" + config.name + "' exists"});
    return unexpected(topic_error{topic_errc::io, "__topics: " + r.error().message});
  }
  spdlog::info("created topic {} ({} partitions, schema {})", config.name, config.partitions,
               validation::to_string(config.schema));
  return open_topic(config);
}

std::shared_ptr<topic> topic_registry::find(std::string_view name) const {
  std::lock_guard g(mu_);
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<topic>> topic_registry::list() const {
  std::lock_guard g(mu_);
  std::vector<std::shared_ptr<topic>> out;
  for (const auto& [_, t] : topics_) out.push_back(t);
  return out;
}

void topic_registry::close() {
  std::map<std::string, std::shared_ptr<topic>, std::less<>> topics;
  {
    std::lock_guard g(mu_);
    if (closed_) return;
    closed_ = true;
    topics = topics_;
  }
  for (auto& [_, t] : topics) t->close();
  if (meta_) meta_->close();
  if (offsets_) offsets_->close();
}

}  // namespace muninn::broker
