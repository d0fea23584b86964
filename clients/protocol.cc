#include "clients/protocol.h"

#include "clients/json_lines.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "codec/crc32c.h"
#include "codec/frame.h"
#include "codec/json.h"

namespace muninn::client {
namespace {

using builder = flatbuffers::FlatBufferBuilder;

template <class T>
frame_bytes finish(builder& b, std::uint64_t corr, fb::RequestBody type, flatbuffers::Offset<T> body) {
  return finish_request(b, corr, type, body.Union());
}

// The stored batch frames a response carries, if any.
std::span<const std::byte> batch_bytes(const fb::Response& r) noexcept {
  const flatbuffers::Vector<std::uint8_t>* v = nullptr;
  if (r.body_type() == fb::ResponseBody::SubscribeData) v = r.body_as_SubscribeData()->batches();
  if (r.body_type() == fb::ResponseBody::FetchResponse) v = r.body_as_FetchResponse()->batches();
  if (!v) return {};
  return {reinterpret_cast<const std::byte*>(v->Data()), v->size()};
}

std::string_view sv(const flatbuffers::String* s) noexcept {
  return s ? std::string_view(s->c_str(), s->size()) : std::string_view{};
}

}  // namespace

frame_bytes finish_request(flatbuffers::FlatBufferBuilder& b, std::uint64_t corr, fb::RequestBody type,
                           flatbuffers::Offset<void> body) {
  b.Finish(fb::CreateRequest(b, corr, type, body));
  return codec::encode_frame(std::as_bytes(std::span(b.GetBufferPointer(), b.GetSize())));
}

frame_bytes encode_produce(std::uint64_t corr, std::string_view topic, std::uint32_t partition, ack_mode acks,
                           std::string_view producer_id, std::uint64_t producer_seq,
                           std::span<const codec::event_in> events) {
  std::size_t estimate = 256 + topic.size() + producer_id.size();
  for (const auto& e : events) estimate += 96 + e.stream.size() + e.type.size() + e.content_type.size() + e.data.size();
  builder b(estimate);
  std::vector<flatbuffers::Offset<fb::Event>> evs;
  evs.reserve(events.size());
  for (const auto& e : events) {
    auto stream = b.CreateString(e.stream.data(), e.stream.size());
    auto type = b.CreateString(e.type.data(), e.type.size());
    auto ct = e.content_type.empty() ? flatbuffers::Offset<flatbuffers::String>{}
                                     : b.CreateString(e.content_type.data(), e.content_type.size());
    auto data = e.data.empty() ? flatbuffers::Offset<flatbuffers::Vector<std::uint8_t>>{}
                               : b.CreateVector(reinterpret_cast<const std::uint8_t*>(e.data.data()), e.data.size());
    const fb::EventId id(flatbuffers::span<const std::uint8_t, 16>(e.id.bytes.data(), 16));
    evs.push_back(fb::CreateEvent(b, stream, type, &id, e.expected_version, -1, e.time, ct, data));
  }
  auto t = b.CreateString(topic.data(), topic.size());
  auto pid = producer_id.empty() ? flatbuffers::Offset<flatbuffers::String>{}
                                 : b.CreateString(producer_id.data(), producer_id.size());
  auto v = b.CreateVector(evs);
  auto req = fb::CreateProduceRequest(b, t, static_cast<std::int32_t>(partition),
                                      acks == ack_mode::written ? fb::AckMode::written : fb::AckMode::durable, pid,
                                      producer_seq, v);
  return finish(b, corr, fb::RequestBody::ProduceRequest, req);
}

frame_bytes encode_fetch(std::uint64_t corr, std::string_view topic, std::uint32_t partition,
                         std::uint64_t from_offset, std::uint32_t max_bytes, std::uint32_t max_wait_ms) {
  builder b(128 + topic.size());
  auto t = b.CreateString(topic.data(), topic.size());
  auto req = fb::CreateFetchRequest(b, t, static_cast<std::int32_t>(partition), from_offset, max_bytes, max_wait_ms);
  return finish(b, corr, fb::RequestBody::FetchRequest, req);
}

frame_bytes encode_offset_for_time(std::uint64_t corr, std::string_view topic, std::uint32_t partition,
                                   std::int64_t time_micros) {
  builder b(128 + topic.size());
  auto t = b.CreateString(topic.data(), topic.size());
  auto req = fb::CreateOffsetForTimeRequest(b, t, static_cast<std::int32_t>(partition), time_micros);
  return finish(b, corr, fb::RequestBody::OffsetForTimeRequest, req);
}

frame_bytes encode_read_stream(std::uint64_t corr, std::string_view topic, std::string_view stream,
                               std::int64_t from_version, std::uint32_t max_events) {
  builder b(128 + topic.size() + stream.size());
  auto t = b.CreateString(topic.data(), topic.size());
  auto s = b.CreateString(stream.data(), stream.size());
  auto req = fb::CreateReadStreamRequest(b, t, s, from_version, max_events);
  return finish(b, corr, fb::RequestBody::ReadStreamRequest, req);
}

frame_bytes encode_subscribe(std::uint64_t corr, std::string_view topic, std::uint32_t partition,
                             std::uint64_t from_offset, std::uint32_t credit_bytes) {
  builder b(128 + topic.size());
  auto t = b.CreateString(topic.data(), topic.size());
  auto req = fb::CreateSubscribeRequest(b, t, static_cast<std::int32_t>(partition), from_offset, credit_bytes);
  return finish(b, corr, fb::RequestBody::SubscribeRequest, req);
}

frame_bytes encode_credit(std::uint64_t corr, std::uint64_t subscription, std::uint32_t bytes) {
  builder b(64);
  return finish(b, corr, fb::RequestBody::CreditRequest, fb::CreateCreditRequest(b, subscription, bytes));
}

frame_bytes encode_cancel(std::uint64_t corr, std::uint64_t subscription) {
  builder b(64);
  return finish(b, corr, fb::RequestBody::CancelRequest, fb::CreateCancelRequest(b, subscription));
}

frame_bytes encode_create_topic(std::uint64_t corr, std::string_view name, std::uint32_t partitions,
                                std::string_view schema, std::uint64_t segment_bytes) {
  builder b(128 + name.size() + schema.size());
  auto n = b.CreateString(name.data(), name.size());
  auto s = schema.empty() ? flatbuffers::Offset<flatbuffers::String>{} : b.CreateString(schema.data(), schema.size());
  auto req = fb::CreateCreateTopicRequest(b, n, partitions, s, segment_bytes);
  return finish(b, corr, fb::RequestBody::CreateTopicRequest, req);
}

frame_bytes encode_list_topics(std::uint64_t corr) {
  builder b(64);
  return finish(b, corr, fb::RequestBody::ListTopicsRequest, fb::CreateListTopicsRequest(b));
}

frame_bytes encode_describe_topic(std::uint64_t corr, std::string_view name) {
  builder b(64 + name.size());
  auto n = b.CreateString(name.data(), name.size());
  return finish(b, corr, fb::RequestBody::DescribeTopicRequest, fb::CreateDescribeTopicRequest(b, n));
}

frame_bytes encode_commit_offsets(std::uint64_t corr, std::string_view consumer, std::string_view topic,
                                  std::span<const partition_offset> offsets, std::string_view member_id,
                                  std::uint32_t generation) {
  builder b(128 + consumer.size() + topic.size() + member_id.size() + offsets.size() * 24);
  auto c = b.CreateString(consumer.data(), consumer.size());
  auto t = b.CreateString(topic.data(), topic.size());
  std::vector<flatbuffers::Offset<fb::PartitionOffset>> v;
  for (const auto& o : offsets)
    v.push_back(fb::CreatePartitionOffset(b, static_cast<std::int32_t>(o.partition), o.offset));
  auto vec = b.CreateVector(v);
  auto m = member_id.empty() ? flatbuffers::Offset<flatbuffers::String>{} : b.CreateString(member_id.data(), member_id.size());
  return finish(b, corr, fb::RequestBody::CommitOffsetsRequest, fb::CreateCommitOffsetsRequest(b, c, t, vec, m, generation));
}

frame_bytes encode_fetch_offsets(std::uint64_t corr, std::string_view consumer, std::string_view topic) {
  builder b(128 + consumer.size() + topic.size());
  auto c = b.CreateString(consumer.data(), consumer.size());
  auto t = b.CreateString(topic.data(), topic.size());
  return finish(b, corr, fb::RequestBody::FetchOffsetsRequest, fb::CreateFetchOffsetsRequest(b, c, t));
}

frame_bytes encode_projection_query(std::uint64_t corr, std::string_view projection, std::string_view query,
                                    std::span<const query_param> params) {
  std::size_t estimate = 128 + projection.size() + query.size();
  for (const auto& p : params) estimate += 32 + p.name.size() + p.value.size();
  builder b(estimate);
  auto pr = b.CreateString(projection.data(), projection.size());
  auto q = b.CreateString(query.data(), query.size());
  std::vector<flatbuffers::Offset<fb::QueryParam>> v;
  v.reserve(params.size());
  for (const auto& p : params) v.push_back(fb::CreateQueryParam(b, b.CreateString(p.name), b.CreateString(p.value)));
  auto vec = params.empty() ? flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::QueryParam>>>{}
                            : b.CreateVector(v);
  return finish(b, corr, fb::RequestBody::ProjectionQueryRequest, fb::CreateProjectionQueryRequest(b, pr, q, vec));
}

frame_bytes encode_projection_status(std::uint64_t corr, std::string_view projection) {
  builder b(64 + projection.size());
  auto pr = projection.empty() ? flatbuffers::Offset<flatbuffers::String>{}
                               : b.CreateString(projection.data(), projection.size());
  return finish(b, corr, fb::RequestBody::ProjectionStatusRequest, fb::CreateProjectionStatusRequest(b, pr));
}

frame_bytes encode_projection_rebuild(std::uint64_t corr, std::string_view projection) {
  builder b(64 + projection.size());
  auto pr = b.CreateString(projection.data(), projection.size());
  return finish(b, corr, fb::RequestBody::ProjectionRebuildRequest, fb::CreateProjectionRebuildRequest(b, pr));
}

aligned_bytes::aligned_bytes(std::span<const std::byte> src)
    : words_(new std::uint64_t[(src.size() + 7) / 8]), size_(src.size()) {
  if (!src.empty()) std::memcpy(words_.get(), src.data(), src.size());
}

aligned_bytes::aligned_bytes(std::size_t n) : words_(new std::uint64_t[(n + 7) / 8]), size_(n) {}

result<response, client_error> decode_response(std::span<const std::byte> payload, const decode_limits& limits) {
  return decode_owned_response(std::make_shared<const aligned_bytes>(payload), limits);
}

result<response, client_error> decode_owned_response(std::shared_ptr<const aligned_bytes> bytes, const decode_limits& limits) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(bytes->data());
  if (bytes->size() < 8 || bytes->size() >= FLATBUFFERS_MAX_BUFFER_SIZE)
    return unexpected{make_error(error_kind::protocol, "response of " + std::to_string(bytes->size()) + " bytes is not a Response")};
  flatbuffers::Verifier::Options opts;
  opts.max_depth = limits.max_depth;
  opts.max_tables = limits.max_tables;
  flatbuffers::Verifier v(p, bytes->size(), opts);
  if (!v.VerifyBuffer<fb::Response>(nullptr))
    return unexpected{make_error(error_kind::protocol, "response does not verify as a muninn.fb.Response")};
  response r;
  r.root = flatbuffers::GetRoot<fb::Response>(p);
  r.bytes = std::move(bytes);
  return r;
}

codec::frame_view decode_frame_unchecked(std::span<const std::byte> in, std::uint32_t max_payload,
                                         std::uint32_t& crc) noexcept {
  if (in.size() >= codec::frame_header_bytes) {
    const std::uint32_t len = codec::load_le32(in.data());
    if (len > 0 && len <= std::min(max_payload, codec::max_frame_payload_bytes) &&
        in.size() - codec::frame_header_bytes >= len) {
      codec::frame_view f;
      f.status = codec::decode_status::frame;
      f.payload = in.subspan(codec::frame_header_bytes, len);
      f.consumed = codec::frame_header_bytes + len;
      crc = codec::load_le32(in.data() + 4);
      return f;
    }
  }
  return codec::decode_frame(in, max_payload);  // need_more, or the error, as usual
}

bool check_frame_crc(response& r, std::uint32_t frame_crc) {
  r.batch_crcs_checked = false;
  const auto all = r.bytes->span();
  const auto batches = batch_bytes(*r.root);
  if (!batches.empty()) {
    // One pass: the part before the batches, each batch frame (its header,
    // then its payload, whose CRC must equal the one stored in the header),
    // the part after; the frame's CRC is combined from those.
    const std::size_t at = std::size_t(batches.data() - all.data());
    auto crc = codec::crc32c_of_frames(batches, codec::crc32c(all.first(at)), codec::payload_crcs::check);
    if (crc) {
      r.batch_crcs_checked = codec::crc32c(all.subspan(at + batches.size()), *crc) == frame_crc;
      return r.batch_crcs_checked;
    }
    // A batch that does not check: was it damaged on the way (the frame's
    // CRC fails too) or where it was stored? A second pass tells, on this
    // rare path only.
  }
  return codec::crc32c(all) == frame_crc;
}

const fb::Error* response_error(const fb::Response& r) noexcept {
  switch (r.body_type()) {
    case fb::ResponseBody::Error: return r.body_as_Error();
    case fb::ResponseBody::ProduceResponse: return r.body_as_ProduceResponse()->error();
    case fb::ResponseBody::FetchResponse: return r.body_as_FetchResponse()->error();
    case fb::ResponseBody::OffsetForTimeResponse: return r.body_as_OffsetForTimeResponse()->error();
    case fb::ResponseBody::ReadStreamResponse: return r.body_as_ReadStreamResponse()->error();
    case fb::ResponseBody::TopicsResponse: return r.body_as_TopicsResponse()->error();
    case fb::ResponseBody::OffsetsResponse: return r.body_as_OffsetsResponse()->error();
    case fb::ResponseBody::ProjectionQueryResponse: return r.body_as_ProjectionQueryResponse()->error();
    case fb::ResponseBody::ProjectionStatusResponse: return r.body_as_ProjectionStatusResponse()->error();
    case fb::ResponseBody::GroupAssignment: return r.body_as_GroupAssignment()->error();
    case fb::ResponseBody::GroupsResponse: return r.body_as_GroupsResponse()->error();
    default: return nullptr;
  }
}

std::optional<client_error> check_response(const response& r, fb::ResponseBody expected) {
  if (const auto* e = response_error(*r.root); e && e->code() != fb::ErrorCode::ok) return error_from_broker(e);
  if (r.root->body_type() == fb::ResponseBody::Error) return error_from_broker(r.root->body_as_Error());
  if (r.root->body_type() != expected)
    return make_error(error_kind::protocol, std::string("expected a ") + fb::EnumNameResponseBody(expected) +
                                                ", got a " + fb::EnumNameResponseBody(r.root->body_type()));
  return std::nullopt;
}

std::string_view event_record::stream() const noexcept { return sv(event->stream()); }
std::string_view event_record::type() const noexcept { return sv(event->type()); }
std::string_view event_record::content_type() const noexcept { return sv(event->content_type()); }
codec::event_id event_record::id() const noexcept {
  codec::event_id id;
  if (event->id()) std::memcpy(id.bytes.data(), event->id()->b()->Data(), 16);
  return id;
}
std::span<const std::byte> event_record::data() const noexcept {
  const auto* d = event->data();
  if (!d) return {};
  return {reinterpret_cast<const std::byte*>(d->Data()), d->size()};
}
std::string event_record::to_json(std::string_view topic) const {
  codec::event_json_extra extra;
  extra.topic = topic;
  extra.partition = partition;
  extra.offset = offset;
  extra.commit_time = commit_time;
  return codec::event_to_json(*event, extra);
}

result<std::vector<batch_record>, client_error> split_batches(std::shared_ptr<const void> keep,
                                                              std::span<const std::byte> bytes,
                                                              const codec::batch_limits& limits, bool crcs_checked) {
  std::optional<client_error> err;
  auto out = split_batches_prefix(std::move(keep), bytes, err, limits, crcs_checked);
  if (err) return unexpected{*err};
  return out;
}

std::vector<batch_record> split_batches_prefix(std::shared_ptr<const void> keep, std::span<const std::byte> bytes,
                                               std::optional<client_error>& tail_error,
                                               const codec::batch_limits& limits, bool crcs_checked) {
  tail_error.reset();
  std::vector<batch_record> out;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    std::uint32_t unused_crc = 0;
    auto f = crcs_checked ? decode_frame_unchecked(bytes.subspan(pos), codec::max_frame_payload_bytes, unused_crc)
                          : codec::decode_frame(bytes.subspan(pos));
    if (f.status != codec::decode_status::frame) {
      std::string why = f.status == codec::decode_status::need_more ? std::string("truncated frame")
                                                                     : std::string(codec::to_string(f.error));
      tail_error = make_error(error_kind::protocol, "batch frame at byte " + std::to_string(pos) + ": " + why);
      return out;
    }
    batch_record r;
    r.frame_bytes = f.consumed;
    auto payload = f.payload;
    r.keep = keep;
    if (reinterpret_cast<std::uintptr_t>(payload.data()) % 8 != 0) {
      auto copy = std::make_shared<const aligned_bytes>(payload);
      payload = copy->span();
      r.keep = copy;
    }
    auto vb = codec::verify_batch(payload, limits);
    if (!vb) {
      tail_error = make_error(error_kind::protocol,
                              "batch at byte " + std::to_string(pos) + ": " + std::string(codec::to_string(vb.error())));
      return out;
    }
    r.batch = *vb;
    r.base_offset = r.batch.batch->base_offset();
    r.count = r.batch.batch->count();
    r.commit_time = r.batch.batch->commit_time();
    r.prev_hash = codec::stored_prev_hash(*r.batch.batch);
    r.hash = codec::stored_hash(*r.batch.batch);
    out.push_back(std::move(r));
    pos += f.consumed;
  }
  return out;
}

std::vector<event_record> events_of(std::span<const batch_record> batches, std::uint32_t partition,
                                    std::uint64_t from_offset) {
  std::vector<event_record> out;
  std::size_t n = 0;
  for (const auto& b : batches) n += b.batch.batch->events()->size();
  out.reserve(n);
  for (const auto& b : batches) {
    const auto* evs = b.batch.batch->events();
    for (std::uint32_t i = 0; i < evs->size(); ++i) {
      const std::uint64_t off = b.base_offset + i;
      if (off < from_offset) continue;
      out.push_back(event_record{b.keep, evs->Get(i), partition, off, b.commit_time});
    }
  }
  return out;
}

std::string chain_checker::check(const batch_record& b) {
  if (b.base_offset != next_offset_)
    return "expected a batch at offset " + std::to_string(next_offset_) + ", got one at " + std::to_string(b.base_offset);
  if (b.prev_hash != prev_)
    return "prev_hash " + hex(b.prev_hash) + " does not continue the chain (previous hash " + hex(prev_) + ")";
  if (!codec::check_hash(b.batch)) return "hash does not match the batch content";
  prev_ = b.hash;
  next_offset_ = b.base_offset + b.count;
  return {};
}

std::string hex(std::span<const std::uint8_t> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (auto c : bytes) {
    s.push_back(digits[c >> 4]);
    s.push_back(digits[c & 15]);
  }
  return s;
}

namespace {
}  // namespace

std::string topic_info::to_json() const {
  std::string s = "{\"topic\":" + json_quote(name) + ",\"partitions\":" + std::to_string(partitions) +
                  ",\"schema\":" + json_quote(schema) + ",\"segment_bytes\":" + std::to_string(segment_bytes);
  if (!parts.empty()) {
    s += ",\"partition_info\":[";
    for (std::size_t i = 0; i < parts.size(); ++i) {
      if (i) s += ",";
      const auto& p = parts[i];
      s += "{\"partition\":" + std::to_string(p.id) + ",\"head\":" + std::to_string(p.head) +
           ",\"head_hash\":\"" + p.head_hash + "\",\"indexed\":" + std::to_string(p.indexed) + "}";
    }
    s += "]";
  }
  return s + "}";
}

std::vector<topic_info> topics_from(const fb::TopicsResponse& r) {
  std::vector<topic_info> out;
  if (!r.topics()) return out;
  for (const auto* t : *r.topics()) {
    topic_info ti;
    ti.name = std::string(sv(t->name()));
    ti.partitions = t->partitions();
    ti.schema = std::string(sv(t->schema()));
    ti.segment_bytes = t->segment_bytes();
    if (t->partition_info()) {
      for (const auto* p : *t->partition_info()) {
        partition_info pi;
        pi.id = static_cast<std::uint32_t>(p->id());
        pi.head = p->head();
        codec::hash256 h{};
        if (p->head_hash()) std::memcpy(h.data(), p->head_hash()->b()->Data(), h.size());
        pi.head_hash = hex(h);
        pi.indexed = p->indexed();
        ti.parts.push_back(std::move(pi));
      }
    }
    out.push_back(std::move(ti));
  }
  return out;
}

std::uint64_t projection_info::lag() const noexcept {
  std::uint64_t lag = 0;
  for (std::size_t i = 0; i < heads.size(); ++i) {
    const std::uint64_t a = i < applied.size() ? applied[i] : 0;
    if (heads[i] > a) lag += heads[i] - a;
  }
  return lag;
}

std::uint64_t projection_info::applied_total() const noexcept {
  std::uint64_t n = 0;
  for (auto a : applied) n += a;
  return n;
}

namespace {
std::string json_u64s(const std::vector<std::uint64_t>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(v[i]);
  }
  return s + "]";
}
}  // namespace

std::string projection_info::to_json() const {
  std::string s = "{\"projection\":" + json_quote(name) + ",\"topic\":" + json_quote(topic) +
                  ",\"applied\":" + json_u64s(applied) + ",\"heads\":" + json_u64s(heads) +
                  ",\"checkpoint\":" + json_u64s(checkpoint) + ",\"lag\":" + std::to_string(lag()) +
                  ",\"digest\":\"" + hex(digest) + "\",\"config\":{";
  for (std::size_t i = 0; i < config.size(); ++i) {
    if (i) s += ",";
    s += json_quote(config[i].name) + ":" + json_quote(config[i].value);
  }
  s += "},\"anomalies\":" + std::to_string(anomalies) + ",\"rebuilding\":" + (rebuilding ? "true" : "false") +
       ",\"rebuild_applied\":" + std::to_string(rebuild_applied) + ",\"error\":";
  s += error.empty() ? std::string("null") : json_quote(error);
  return s + "}";
}

std::vector<projection_info> projections_from(const fb::ProjectionStatusResponse& r) {
  std::vector<projection_info> out;
  if (!r.projections()) return out;
  auto u64s = [](const flatbuffers::Vector<std::uint64_t>* v) {
    std::vector<std::uint64_t> o;
    if (v) o.assign(v->begin(), v->end());
    return o;
  };
  for (const auto* p : *r.projections()) {
    projection_info pi;
    pi.name = std::string(sv(p->name()));
    pi.topic = std::string(sv(p->topic()));
    pi.applied = u64s(p->applied());
    pi.heads = u64s(p->heads());
    pi.checkpoint = u64s(p->checkpoint());
    if (p->digest()) std::memcpy(pi.digest.data(), p->digest()->b()->Data(), pi.digest.size());
    if (p->config())
      for (const auto* c : *p->config()) pi.config.push_back({std::string(sv(c->name())), std::string(sv(c->value()))});
    pi.rebuilding = p->rebuilding();
    pi.rebuild_applied = p->rebuild_applied();
    pi.anomalies = p->anomalies();
    pi.error = std::string(sv(p->error()));
    out.push_back(std::move(pi));
  }
  return out;
}

}  // namespace muninn::client
