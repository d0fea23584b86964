#include "broker/handlers.h"

#include <spdlog/spdlog.h>

#include <array>
#include <chrono>

#include "broker/group_handlers.h"
#include "broker/projection_runner.h"
#include "broker/response.h"
#include "broker/validation/validate.h"
#include "codec/batch_generated.h"
#include "codec/frame.h"
#include "codec/protocol_generated.h"
#include "codec/stream_hash.h"

namespace muninn::broker {
namespace {

using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

fb::ErrorCode storage_code(storage::errc e) {
  switch (e) {
    case storage::errc::wrong_expected_version: return fb::ErrorCode::wrong_expected_version;
    case storage::errc::invalid_event:
    case storage::errc::empty_batch: return fb::ErrorCode::invalid_argument;
    case storage::errc::offset_out_of_range: return fb::ErrorCode::offset_out_of_range;
    case storage::errc::fenced: return fb::ErrorCode::fenced;
    case storage::errc::io_error: return fb::ErrorCode::io_error;
    case storage::errc::closed: return fb::ErrorCode::shutting_down;
    case storage::errc::not_found: return fb::ErrorCode::not_found;
    default: return fb::ErrorCode::internal;
  }
}

// Looks up topic and partition; on failure writes the error message.
storage::partition_log* find_partition(topic_registry& topics, const flatbuffers::String* name, std::int32_t p,
                                       fb::ErrorCode& code, std::string& message, std::shared_ptr<topic>& keep) {
  keep = topics.find(name->string_view());
  if (!keep) {
    code = fb::ErrorCode::unknown_topic;
    message = "unknown topic '" + name->str() + "'";
    return nullptr;
  }
  if (p < 0 || std::uint32_t(p) >= keep->partitions()) {
    code = fb::ErrorCode::unknown_partition;
    message = "topic '" + name->str() + "' has no partition " + std::to_string(p) + " (it has " +
              std::to_string(keep->partitions()) + ")";
    return nullptr;
  }
  return &keep->partition(std::uint32_t(p));
}

codec::event_in to_event_in(const fb::Event& e) {
  codec::event_in in;
  in.stream = e.stream()->string_view();
  in.type = e.type()->string_view();
  std::copy(e.id()->b()->begin(), e.id()->b()->end(), in.id.bytes.begin());
  in.expected_version = e.expected_version();
  in.time = e.time();
  if (e.content_type()) in.content_type = e.content_type()->string_view();
  if (e.data()) in.data = std::as_bytes(std::span(e.data()->data(), e.data()->size()));
  return in;
}

void produce(topic_registry& topics, broker_metrics* metrics, std::uint64_t corr, const fb::ProduceRequest& req,
             std::size_t request_bytes, const responder& respond) {
  const auto arrived = std::chrono::steady_clock::now();
  auto fail = [&](fb::ErrorCode code, std::string_view msg, std::int32_t index = -1, std::string_view field = {},
                  std::string_view rule = {}, std::int64_t actual = -1) {
    if (metrics) metrics->refused(fb::EnumNameErrorCode(code));
    FlatBufferBuilder b;
    auto err = make_error(b, code, msg, index, field, rule, actual);
    respond(finish(b, corr, fb::ResponseBody::ProduceResponse, fb::CreateProduceResponse(b, 0, err).Union()));
  };
  fb::ErrorCode code{};
  std::string message;
  std::shared_ptr<topic> t;
  auto* log = find_partition(topics, req.topic(), req.partition(), code, message, t);
  if (!log) return fail(code, message);
  const auto* events = req.events();
  if (events->size() == 0) return fail(fb::ErrorCode::invalid_argument, "produce request with no events");
  std::vector<codec::event_in> in;
  in.reserve(events->size());
  for (flatbuffers::uoffset_t i = 0; i < events->size(); ++i) {
    in.push_back(to_event_in(*events->Get(i)));
    const auto want = codec::partition_for(in.back().stream, t->partitions());
    if (want != std::uint32_t(req.partition()))
      return fail(fb::ErrorCode::wrong_partition,
                  "event " + std::to_string(i) + ": stream '" + std::string(in.back().stream) + "' belongs to partition " +
                      std::to_string(want) + ", not " + std::to_string(req.partition()),
                  std::int32_t(i), "stream", "stream belongs to another partition");
  }
  if (auto v = validation::validate_batch(t->config().schema, in, codec::now_micros()))
    return fail(fb::ErrorCode::validation_failed, v->message(), std::int32_t(v->event_index), v->field, v->rule);

  storage::append_request ar;
  ar.events = in;
  ar.acks = req.acks() == fb::AckMode::written ? storage::ack_mode::written : storage::ack_mode::durable;
  if (req.producer_id()) ar.producer_id = req.producer_id()->string_view();
  ar.producer_seq = req.producer_seq();
  // The log copies the events before append() returns: the request frame
  // need not outlive this call.
  const std::size_t count = in.size();
  log->append(ar, [corr, respond, t, metrics, arrived, count, request_bytes](storage::append_result r) {
    FlatBufferBuilder b;
    if (!r) {
      const auto& e = r.error();
      if (metrics) metrics->refused(fb::EnumNameErrorCode(storage_code(e.code)));
      auto err = make_error(b, storage_code(e.code), e.message, std::int32_t(e.event_index), {}, {}, e.actual_version);
      return respond(finish(b, corr, fb::ResponseBody::ProduceResponse, fb::CreateProduceResponse(b, 0, err).Union()));
    }
    if (metrics) {
      metrics->produced(t->config().name, count, request_bytes);
      metrics->produce_latency(std::chrono::duration<double>(std::chrono::steady_clock::now() - arrived).count());
    }
    std::vector<fb::EventPosition> pos;
    pos.reserve(r->events.size());
    for (const auto& e : r->events) pos.emplace_back(e.offset, e.version, e.duplicate);
    auto body = fb::CreateProduceResponse(b, b.CreateVectorOfStructs(pos));
    respond(finish(b, corr, fb::ResponseBody::ProduceResponse, body.Union()));
  });
}

void fetch(topic_registry& topics, broker_metrics* metrics, const handler_limits& limits, std::uint64_t corr,
           const fb::FetchRequest& req, const responder& respond) {
  FlatBufferBuilder b;
  fb::ErrorCode code{};
  std::string message;
  std::shared_ptr<topic> t;
  auto* log = find_partition(topics, req.topic(), req.partition(), code, message, t);
  if (!log) {
    auto err = make_error(b, code, message);
    return respond(finish(b, corr, fb::ResponseBody::FetchResponse, fb::CreateFetchResponse(b, 0, 0, err).Union()));
  }
  const std::uint64_t head = log->head();
  auto chunk = log->read(req.from_offset(), std::min(req.max_bytes(), limits.max_fetch_bytes));
  if (!chunk) {
    auto err = make_error(b, storage_code(chunk.error()),
                          "cannot read offset " + std::to_string(req.from_offset()) + " (head " +
                              std::to_string(head) + "): " + std::string(storage::to_string(chunk.error())));
    return respond(finish(b, corr, fb::ResponseBody::FetchResponse, fb::CreateFetchResponse(b, head, 0, err).Union()));
  }
  if (metrics) metrics->fetched(t->config().name, chunk->bytes.size());
  // 8-byte aligned: the FlatBuffers inside the frames can be read in place.
  b.ForceVectorAlignment(chunk->bytes.size(), 1, 8);
  auto bytes = b.CreateVector(reinterpret_cast<const std::uint8_t*>(chunk->bytes.data()), chunk->bytes.size());
  respond(finish(b, corr, fb::ResponseBody::FetchResponse, fb::CreateFetchResponse(b, head, bytes).Union()));
}

void offset_for_time(topic_registry& topics, std::uint64_t corr, const fb::OffsetForTimeRequest& req,
                     const responder& respond) {
  FlatBufferBuilder b;
  fb::ErrorCode code{};
  std::string message;
  std::shared_ptr<topic> t;
  auto* log = find_partition(topics, req.topic(), req.partition(), code, message, t);
  Offset<fb::Error> err;
  std::uint64_t offset = 0;
  if (!log) {
    err = make_error(b, code, message);
  } else if (auto r = log->offset_for_time(req.time()); !r) {
    err = make_error(b, storage_code(r.error()), std::string(storage::to_string(r.error())));
  } else {
    offset = *r;
  }
  respond(finish(b, corr, fb::ResponseBody::OffsetForTimeResponse, fb::CreateOffsetForTimeResponse(b, offset, err).Union()));
}

void read_stream(topic_registry& topics, const handler_limits& limits, std::uint64_t corr,
                 const fb::ReadStreamRequest& req, const responder& respond) {
  FlatBufferBuilder b;
  auto fail = [&](fb::ErrorCode code, std::string_view msg) {
    auto err = make_error(b, code, msg);
    respond(finish(b, corr, fb::ResponseBody::ReadStreamResponse, fb::CreateReadStreamResponse(b, -1, 0, err).Union()));
  };
  auto t = topics.find(req.topic()->string_view());
  if (!t) return fail(fb::ErrorCode::unknown_topic, "unknown topic '" + req.topic()->str() + "'");
  const auto p = codec::partition_for(req.stream()->string_view(), t->partitions());
  auto events = t->partition(p).read_stream(req.stream()->string_view(), req.from_version(),
                                            std::min(req.max_events(), limits.max_stream_events));
  if (!events) return fail(storage_code(events.error()), std::string(storage::to_string(events.error())));
  std::vector<Offset<fb::StoredEvent>> out;
  for (const auto& e : *events) {
    const fb::EventId id(flatbuffers::span<const std::uint8_t, 16>(e.id.bytes.data(), 16));
    auto ev = fb::CreateEvent(b, b.CreateString(e.stream), b.CreateString(e.type), &id, codec::expect_any, e.version,
                              e.time, b.CreateString(e.content_type),
                              b.CreateVector(reinterpret_cast<const std::uint8_t*>(e.data.data()), e.data.size()));
    out.push_back(fb::CreateStoredEvent(b, e.offset, e.commit_time, ev));
  }
  auto body = fb::CreateReadStreamResponse(b, std::int32_t(p), b.CreateVector(out));
  respond(finish(b, corr, fb::ResponseBody::ReadStreamResponse, body.Union()));
}

Offset<fb::TopicInfo> topic_info(FlatBufferBuilder& b, const topic& t) {
  std::vector<Offset<fb::PartitionInfo>> parts;
  for (std::uint32_t p = 0; p < t.partitions(); ++p) {
    const auto& log = t.partition(p);
    const auto h = log.head_hash();
    const fb::Hash256 hash(flatbuffers::span<const std::uint8_t, 32>(h.data(), 32));
    parts.push_back(fb::CreatePartitionInfo(b, std::int32_t(p), log.head(), &hash, log.stats().indexed));
  }
  const auto& c = t.config();
  return fb::CreateTopicInfo(b, b.CreateString(c.name), c.partitions,
                             b.CreateString(std::string(validation::to_string(c.schema))), c.segment_bytes,
                             b.CreateVector(parts));
}

void topics_response(FlatBufferBuilder& b, std::uint64_t corr, const std::vector<std::shared_ptr<topic>>& list,
                     Offset<fb::Error> err, const responder& respond) {
  std::vector<Offset<fb::TopicInfo>> infos;
  for (const auto& t : list) infos.push_back(topic_info(b, *t));
  respond(finish(b, corr, fb::ResponseBody::TopicsResponse, fb::CreateTopicsResponse(b, b.CreateVector(infos), err).Union()));
}

void create_topic(topic_registry& topics, std::uint64_t corr, const fb::CreateTopicRequest& req,
                  const responder& respond) {
  FlatBufferBuilder b;
  topic_config c;
  c.name = req.name()->str();
  c.partitions = req.partitions();
  c.segment_bytes = req.segment_bytes();
  const std::string schema_name = req.schema() && req.schema()->size() ? req.schema()->str() : "none";
  auto s = validation::schema_from_string(schema_name);
  if (!s) {
    auto err = make_error(b, fb::ErrorCode::invalid_argument,
                          "unknown schema '" + schema_name + "' (known: dispatch, reskontra)", -1, "schema");
    return topics_response(b, corr, {}, err, respond);
  }
  c.schema = *s;
  auto t = topics.create(c);
  if (!t) {
    const auto code = t.error().code == topic_errc::exists   ? fb::ErrorCode::topic_exists
                      : t.error().code == topic_errc::invalid ? fb::ErrorCode::invalid_argument
                                                              : fb::ErrorCode::io_error;
    return topics_response(b, corr, {}, make_error(b, code, t.error().message), respond);
  }
  topics_response(b, corr, {*t}, 0, respond);
}

// ---- projections ---------------------------------------------------------

fb::ErrorCode projection_code(const projection_error& e) {
  switch (e.code) {
    case projection_errc::unknown_projection: return fb::ErrorCode::not_found;
    case projection_errc::busy: return fb::ErrorCode::too_many_requests;
    case projection_errc::stopped: return fb::ErrorCode::internal;
    case projection_errc::query:
      switch (e.query.code) {
        case projections::query_errc::not_found: return fb::ErrorCode::not_found;
        case projections::query_errc::unknown_query:
        case projections::query_errc::bad_parameter: return fb::ErrorCode::invalid_argument;
      }
  }
  return fb::ErrorCode::internal;
}

void projection_query(const projection_runner* runner, std::uint64_t corr, const fb::ProjectionQueryRequest& req,
                      const responder& respond) {
  FlatBufferBuilder b;
  auto reply = [&](Offset<flatbuffers::String> json, Offset<fb::Error> err) {
    respond(finish(b, corr, fb::ResponseBody::ProjectionQueryResponse, fb::CreateProjectionQueryResponse(b, json, err).Union()));
  };
  if (!runner) return reply(0, make_error(b, fb::ErrorCode::not_found, "this broker runs no projections"));
  projections::query_params params;
  if (const auto* ps = req.params()) {
    for (const auto* p : *ps) params.insert_or_assign(p->name()->str(), p->value()->str());
  }
  auto answer = runner->query(req.projection()->string_view(), req.query()->string_view(), params);
  if (!answer) return reply(0, make_error(b, projection_code(answer.error()), answer.error().message));
  reply(b.CreateString(*answer), 0);
}

Offset<fb::ProjectionInfo> projection_info(FlatBufferBuilder& b, const projection_status& s) {
  std::vector<Offset<fb::QueryParam>> config;
  for (const auto& [k, v] : s.config) config.push_back(fb::CreateQueryParam(b, b.CreateString(k), b.CreateString(v)));
  const fb::Hash256 digest(flatbuffers::span<const std::uint8_t, 32>(s.digest.data(), 32));
  return fb::CreateProjectionInfo(b, b.CreateString(s.name), b.CreateString(s.topic), b.CreateVector(s.applied),
                                  b.CreateVector(s.heads), b.CreateVector(s.checkpoint), &digest, b.CreateVector(config),
                                  s.rebuilding, s.rebuild_applied, s.anomalies,
                                  s.error.empty() ? 0 : b.CreateString(s.error));
}

void projection_status_response(std::uint64_t corr, const result<std::vector<projection_status>, projection_error>& list,
                                const responder& respond) {
  FlatBufferBuilder b;
  Offset<flatbuffers::Vector<Offset<fb::ProjectionInfo>>> infos;
  Offset<fb::Error> err;
  if (list) {
    std::vector<Offset<fb::ProjectionInfo>> v;
    for (const auto& s : *list) v.push_back(projection_info(b, s));
    infos = b.CreateVector(v);
  } else {
    err = make_error(b, projection_code(list.error()), list.error().message);
  }
  respond(finish(b, corr, fb::ResponseBody::ProjectionStatusResponse, fb::CreateProjectionStatusResponse(b, infos, err).Union()));
}

void projection_status_request(projection_runner* runner, std::uint64_t corr, std::string_view name,
                               const responder& respond) {
  if (!runner) {
    return projection_status_response(
        corr, unexpected(projection_error{projection_errc::unknown_projection, {}, "this broker runs no projections"}), respond);
  }
  // The digest walks the whole state: the runner answers off the network thread.
  runner->status_async(std::string(name), [corr, respond](auto list) { projection_status_response(corr, list, respond); });
}

void projection_rebuild(projection_runner* runner, std::uint64_t corr, const fb::ProjectionRebuildRequest& req,
                        const responder& respond) {
  if (!runner) {
    return respond(error_frame(corr, std::uint16_t(fb::ErrorCode::not_found), "this broker runs no projections"));
  }
  const auto name = req.projection()->string_view();
  if (auto r = runner->rebuild(name); !r) {
    return respond(error_frame(corr, std::uint16_t(projection_code(r.error())), r.error().message));
  }
  // The answer is the status as the rebuild starts; the caller polls status.
  projection_status_request(runner, corr, name, respond);
}

}  // namespace

std::vector<std::byte> error_frame(std::uint64_t correlation_id, std::uint16_t code, std::string_view message) {
  FlatBufferBuilder b;
  auto err = make_error(b, static_cast<fb::ErrorCode>(code), message);
  return finish(b, correlation_id, fb::ResponseBody::Error, err.Union());
}

const fb::Request* request_handler::verify(std::span<const std::byte> payload) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(payload.data());
  flatbuffers::Verifier::Options opts;
  opts.max_depth = 16;
  opts.max_tables = 1'000'000;
  flatbuffers::Verifier v(p, payload.size(), opts);
  if (!v.VerifyBuffer<fb::Request>(nullptr)) return nullptr;
  return flatbuffers::GetRoot<fb::Request>(p);
}

void request_handler::handle(std::span<const std::byte> payload, const responder& respond) {
  const auto* req = verify(payload);
  if (!req) {
    if (metrics_) metrics_->refused(fb::EnumNameErrorCode(fb::ErrorCode::malformed_request));
    return respond(error_frame(0, std::uint16_t(fb::ErrorCode::malformed_request),
                               "request does not verify as a muninn.fb.Request"));
  }
  handle_verified(*req, payload.size(), respond);
}

void request_handler::handle_verified(const fb::Request& request, std::size_t payload_bytes, const responder& respond) {
  const auto* req = &request;
  const auto corr = req->correlation_id();
  switch (req->body_type()) {
    case fb::RequestBody::ProduceRequest:
      return produce(topics_, metrics_, corr, *req->body_as_ProduceRequest(), payload_bytes, respond);
    case fb::RequestBody::FetchRequest:
      return fetch(topics_, metrics_, limits_, corr, *req->body_as_FetchRequest(), respond);
    case fb::RequestBody::OffsetForTimeRequest:
      return offset_for_time(topics_, corr, *req->body_as_OffsetForTimeRequest(), respond);
    case fb::RequestBody::ReadStreamRequest:
      return read_stream(topics_, limits_, corr, *req->body_as_ReadStreamRequest(), respond);
    case fb::RequestBody::CreateTopicRequest:
      return create_topic(topics_, corr, *req->body_as_CreateTopicRequest(), respond);
    case fb::RequestBody::ListTopicsRequest: {
      FlatBufferBuilder b;
      return topics_response(b, corr, topics_.list(), 0, respond);
    }
    case fb::RequestBody::DescribeTopicRequest: {
      FlatBufferBuilder b;
      const auto* d = req->body_as_DescribeTopicRequest();
      auto t = topics_.find(d->name()->string_view());
      if (!t)
        return topics_response(b, corr, {}, make_error(b, fb::ErrorCode::unknown_topic, "unknown topic '" + d->name()->str() + "'"),
                               respond);
      return topics_response(b, corr, {t}, 0, respond);
    }
    case fb::RequestBody::CommitOffsetsRequest:
    case fb::RequestBody::FetchOffsetsRequest:
    case fb::RequestBody::JoinGroupRequest:
    case fb::RequestBody::HeartbeatRequest:
    case fb::RequestBody::LeaveGroupRequest:
    case fb::RequestBody::ListGroupsRequest:
    case fb::RequestBody::DescribeGroupRequest:
    case fb::RequestBody::ResetGroupRequest:
      return handle_group_request(groups_, *req, respond);
    case fb::RequestBody::ProjectionQueryRequest:
      return projection_query(projections_, corr, *req->body_as_ProjectionQueryRequest(), respond);
    case fb::RequestBody::ProjectionStatusRequest: {
      const auto* r = req->body_as_ProjectionStatusRequest();
      return projection_status_request(projections_, corr, r->projection() ? r->projection()->string_view() : "", respond);
    }
    case fb::RequestBody::ProjectionRebuildRequest:
      return projection_rebuild(projections_, corr, *req->body_as_ProjectionRebuildRequest(), respond);
    default:
      if (metrics_) metrics_->refused(fb::EnumNameErrorCode(fb::ErrorCode::unknown_request));
      return respond(error_frame(corr, std::uint16_t(fb::ErrorCode::unknown_request),
                                 "request type " + std::to_string(int(req->body_type())) +
                                     " is not served by this broker"));
  }
}

}  // namespace muninn::broker
