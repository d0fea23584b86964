#include "codec/batch.h"
#include "codec/prepared_batch.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <pthread.h>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>

#include "codec/batch_generated.h"
#include "codec/frame.h"

namespace muninn::codec {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool dash_at(std::size_t i) noexcept { return i == 8 || i == 13 || i == 18 || i == 23; }

// Bumped in every forked child, so a thread's buffered random bytes are
// never reused by two processes.
std::atomic<std::uint64_t> fork_generation{0};

void random_bytes(std::uint8_t* out, std::size_t n) {
  // OpenSSL's CSPRNG is thread-safe and reseeds after fork(); asking it for
  // 4 KiB at a time instead of 8 bytes per id makes ids ~10x cheaper.
  static std::once_flag atfork_once;
  std::call_once(atfork_once, [] { pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1); }); });
  struct pool {
    std::uint8_t bytes[4096];
    std::size_t used = sizeof bytes;
    std::uint64_t generation = ~0ull;
  };
  static thread_local pool p;
  const auto gen = fork_generation.load(std::memory_order_relaxed);
  if (p.generation != gen) {
    p.used = sizeof p.bytes;
    p.generation = gen;
  }
  if (n > sizeof p.bytes) n = sizeof p.bytes;
  if (p.used + n > sizeof p.bytes) {
    if (RAND_bytes(p.bytes, static_cast<int>(sizeof p.bytes)) != 1) {
      static thread_local std::random_device rd;
      for (auto& b : p.bytes) b = static_cast<std::uint8_t>(rd());
    }
    p.used = 0;
  }
  std::memcpy(out, p.bytes + p.used, n);
  std::memset(p.bytes + p.used, 0, n);  // never hand out the same bytes twice
  p.used += n;
}

std::string_view view_of(const flatbuffers::String* s) noexcept {
  return s ? std::string_view(s->c_str(), s->size()) : std::string_view{};
}

hash256 copy_hash(const fb::Hash256* h) noexcept {
  hash256 out{};
  if (h) std::memcpy(out.data(), h->b()->Data(), out.size());
  return out;
}

// SHA-256(prev || payload[0, off) || 32 zero bytes || payload[off + 32, end)).
// The one-shot SHA256_* functions: no allocation and no provider lookup per
// call (EVP costs more than hashing a small batch). Same SHA-NI code path.
hash256 sha256_with_hole(const hash256& prev, const std::uint8_t* p, std::size_t size,
                         std::size_t off) {
  static constexpr std::uint8_t zeros[32] = {};
  hash256 out{};
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  SHA256_CTX ctx;
  if (SHA256_Init(&ctx) != 1 || SHA256_Update(&ctx, prev.data(), prev.size()) != 1 ||
      SHA256_Update(&ctx, p, off) != 1 || SHA256_Update(&ctx, zeros, sizeof zeros) != 1 ||
      SHA256_Update(&ctx, p + off + 32, size - off - 32) != 1 || SHA256_Final(out.data(), &ctx) != 1) {
    // Not bad input: the crypto library itself failed. A zero hash would
    // silently break the audit chain, so refuse loudly.
    throw std::runtime_error("OpenSSL: SHA-256 failed");
  }
#pragma GCC diagnostic pop
  return out;
}

}  // namespace

// ---- event_id -------------------------------------------------------------

bool event_id::is_nil() const noexcept {
  return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

std::string event_id::to_string() const {
  std::string s;
  s.reserve(36);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(hex_digits[bytes[i] >> 4]);
    s.push_back(hex_digits[bytes[i] & 0x0F]);
  }
  return s;
}

std::optional<event_id> event_id::parse(std::string_view text) noexcept {
  if (text.size() != 36) return std::nullopt;
  event_id id;
  std::size_t out = 0;
  for (std::size_t i = 0; i < text.size();) {
    if (dash_at(i)) {
      if (text[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    const int hi = hex_value(text[i]);
    const int lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    id.bytes[out++] = static_cast<std::uint8_t>((hi << 4) | lo);
    i += 2;
  }
  return id;
}

event_id event_id::generate_v7() {
  // Layout (RFC 9562 5.7): 48-bit Unix ms | ver 7 | 12-bit rand_a | var 10 |
  // 62-bit rand_b. rand_a carries the sub-millisecond fraction (6.2 method
  // 3) and the 60-bit (ms, fraction) stamp is forced strictly increasing
  // process-wide, so ids from one process sort in creation order even when
  // the clock stalls or steps back.
  static std::atomic<std::uint64_t> last_stamp{0};
  const auto us = static_cast<std::uint64_t>(std::max<std::int64_t>(now_micros(), 0));
  std::uint64_t stamp = ((us / 1000) << 12) | ((us % 1000) * 4096 / 1000);
  std::uint64_t prev = last_stamp.load(std::memory_order_relaxed);
  for (;;) {
    const std::uint64_t next = std::max(stamp, prev + 1);
    if (last_stamp.compare_exchange_weak(prev, next, std::memory_order_relaxed)) {
      stamp = next;
      break;
    }
  }
  std::uint8_t rnd[8];
  random_bytes(rnd, sizeof rnd);

  event_id id;
  const std::uint64_t ms = stamp >> 12;
  for (int i = 0; i < 6; ++i) id.bytes[i] = static_cast<std::uint8_t>(ms >> (8 * (5 - i)));
  id.bytes[6] = static_cast<std::uint8_t>(0x70 | ((stamp >> 8) & 0x0F));
  id.bytes[7] = static_cast<std::uint8_t>(stamp & 0xFF);
  id.bytes[8] = static_cast<std::uint8_t>(0x80 | (rnd[0] & 0x3F));
  std::memcpy(id.bytes.data() + 9, rnd + 1, 7);
  return id;
}

std::size_t event_id_hash::operator()(const event_id& id) const noexcept {
  // v7 ids share their leading time bytes, so mix both halves (splitmix64
  // finaliser) rather than take a prefix.
  std::uint64_t a, b;
  std::memcpy(&a, id.bytes.data(), 8);
  std::memcpy(&b, id.bytes.data() + 8, 8);
  std::uint64_t x = a ^ (b * 0x9E3779B97F4A7C15ull);
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  x ^= x >> 31;
  return static_cast<std::size_t>(x);
}

// ---- validation -----------------------------------------------------------

errc check_event(const event_in& e, const batch_limits& limits) noexcept {
  if (e.stream.empty()) return errc::missing_field;
  if (e.stream.size() > limits.max_stream_bytes) return errc::limit_exceeded;
  if (e.stream.find('\0') != std::string_view::npos) return errc::invalid_value;
  if (e.type.empty()) return errc::missing_field;
  if (e.type.size() > limits.max_type_bytes) return errc::limit_exceeded;
  if (e.content_type.size() > limits.max_content_type_bytes) return errc::limit_exceeded;
  if (e.data.size() > limits.max_data_bytes) return errc::limit_exceeded;
  if (e.id.is_nil()) return errc::invalid_value;
  if (e.expected_version < expect_any) return errc::invalid_value;
  return errc::ok;
}

result<verified_batch, errc> verify_batch(std::span<const std::byte> payload,
                                          const batch_limits& limits) {
  // Root offset + identifier; anything shorter cannot be a RecordBatch.
  if (payload.size() < 8 || payload.size() >= FLATBUFFERS_MAX_BUFFER_SIZE) {
    return unexpected{errc::malformed};
  }
  const auto* buf = reinterpret_cast<const std::uint8_t*>(payload.data());
  if (!fb::RecordBatchBufferHasIdentifier(buf)) return unexpected{errc::wrong_identifier};

  flatbuffers::Verifier::Options opts;
  opts.max_depth = limits.max_depth;
  opts.max_tables = limits.max_tables;
  flatbuffers::Verifier verifier(buf, payload.size(), opts);
  if (!fb::VerifyRecordBatchBuffer(verifier)) return unexpected{errc::malformed};

  const fb::RecordBatch* batch = fb::GetRecordBatch(buf);
  if (batch->format_version() != 1) return unexpected{errc::unsupported_version};
  const auto* events = batch->events();  // required: the verifier saw it
  if (events->size() > limits.max_events) return unexpected{errc::limit_exceeded};
  if (batch->count() != events->size()) return unexpected{errc::invalid_value};
  if (view_of(batch->producer_id()).size() > limits.max_producer_id_bytes) {
    return unexpected{errc::limit_exceeded};
  }
  for (const fb::Event* ev : *events) {
    event_in e;
    e.stream = view_of(ev->stream());
    e.type = view_of(ev->type());
    std::memcpy(e.id.bytes.data(), ev->id()->b()->Data(), e.id.bytes.size());
    e.expected_version = ev->expected_version();
    e.time = ev->time();
    e.content_type = view_of(ev->content_type());
    if (const auto* d = ev->data()) {
      e.data = std::span<const std::byte>(reinterpret_cast<const std::byte*>(d->data()), d->size());
    }
    if (const errc r = check_event(e, limits); r != errc::ok) return unexpected{r};
    if (ev->version() < -1) return unexpected{errc::invalid_value};
  }
  return verified_batch{batch, payload};
}

// ---- hash chain -----------------------------------------------------------

verified_batch trusted_batch(std::span<const std::byte> payload) noexcept {
  return verified_batch{flatbuffers::GetRoot<fb::RecordBatch>(payload.data()), payload};
}

hash256 compute_hash(const verified_batch& b) {
  const auto* base = reinterpret_cast<const std::uint8_t*>(b.payload.data());
  // The verifier guaranteed the struct lies inside the payload; hash around
  // it in place instead of copying a payload of up to 64 MiB.
  const auto off = static_cast<std::size_t>(
      reinterpret_cast<const std::uint8_t*>(b.batch->hash()) - base);
  return sha256_with_hole(stored_prev_hash(*b.batch), base, b.payload.size(), off);
}

bool check_hash(const verified_batch& b) { return compute_hash(b) == stored_hash(*b.batch); }

hash256 stored_hash(const fb::RecordBatch& b) noexcept { return copy_hash(b.hash()); }
hash256 stored_prev_hash(const fb::RecordBatch& b) noexcept { return copy_hash(b.prev_hash()); }

// ---- builder --------------------------------------------------------------

namespace {

// Min and max business time of `events`, over the events that have one.
struct time_range {
  std::int64_t min = std::numeric_limits<std::int64_t>::max();
  std::int64_t max = std::numeric_limits<std::int64_t>::min();
  bool any_unset = false;

  time_range(std::int64_t min_time, std::int64_t max_time, bool unset) noexcept
      : min(min_time), max(max_time), any_unset(unset) {}
  explicit time_range(std::span<const event_in> events) noexcept {
    for (const auto& e : events) {
      if (e.time == 0) {
        any_unset = true;
        continue;
      }
      min = std::min(min, e.time);
      max = std::max(max, e.time);
    }
  }
  // first/last timestamps: commit_time stands in for unset times (and for
  // a batch without events).
  std::int64_t first(std::int64_t commit_time) const noexcept {
    return any_unset || min > max ? std::min(min, commit_time) : min;
  }
  std::int64_t last(std::int64_t commit_time) const noexcept {
    return any_unset || min > max ? std::max(max, commit_time) : max;
  }
};

struct batch_values {
  const batch_builder::header* h;
  std::span<const std::int64_t> versions;  // empty: the placeholder -1 for every event
  std::int64_t first_timestamp;
  std::int64_t last_timestamp;
};

// Encodes the payload into `fbb` (cleared first) and finishes it; the hash
// is left zero. The one place that lays out a batch, so that a prepared
// batch filled in later and a batch built with its values agree byte for byte.
void encode_payload(flatbuffers::FlatBufferBuilder& fbb, std::vector<flatbuffers::Offset<fb::Event>>& offsets,
                    std::span<const event_in> events, const batch_values& v) {
  fbb.Clear();
  // Every scalar present, so a reader sees the same layout whatever the
  // values, and a field can be filled in place.
  fbb.ForceDefaults(true);
  offsets.clear();
  offsets.reserve(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    const event_in& e = events[i];
    const auto stream = fbb.CreateString(e.stream.data(), e.stream.size());
    const auto type = fbb.CreateString(e.type.data(), e.type.size());
    flatbuffers::Offset<flatbuffers::String> content_type;
    if (!e.content_type.empty()) {
      content_type = fbb.CreateString(e.content_type.data(), e.content_type.size());
    }
    flatbuffers::Offset<flatbuffers::Vector<std::uint8_t>> data;
    if (!e.data.empty()) {
      data = fbb.CreateVector(reinterpret_cast<const std::uint8_t*>(e.data.data()), e.data.size());
    }
    const fb::EventId id(flatbuffers::span<const std::uint8_t, 16>(e.id.bytes.data(), 16));
    fb::EventBuilder eb(fbb);
    eb.add_stream(stream);
    eb.add_type(type);
    eb.add_id(&id);
    eb.add_expected_version(e.expected_version);
    eb.add_version(v.versions.empty() ? -1 : v.versions[i]);
    eb.add_time(e.time);
    if (!content_type.IsNull()) eb.add_content_type(content_type);
    if (!data.IsNull()) eb.add_data(data);
    offsets.push_back(eb.Finish());
  }

  const auto event_vec = fbb.CreateVector(offsets);
  flatbuffers::Offset<flatbuffers::String> producer_id;
  const auto& h = *v.h;
  if (!h.producer_id.empty()) producer_id = fbb.CreateString(h.producer_id.data(), h.producer_id.size());
  const fb::Hash256 prev(flatbuffers::span<const std::uint8_t, 32>(h.prev_hash.data(), 32));
  const fb::Hash256 zero{};

  fb::RecordBatchBuilder rb(fbb);
  rb.add_format_version(1);
  rb.add_base_offset(h.base_offset);
  rb.add_count(static_cast<std::uint32_t>(events.size()));
  rb.add_commit_time(h.commit_time);
  rb.add_first_timestamp(v.first_timestamp);
  rb.add_last_timestamp(v.last_timestamp);
  if (!producer_id.IsNull()) rb.add_producer_id(producer_id);
  rb.add_producer_seq(h.producer_seq);
  rb.add_prev_hash(&prev);
  rb.add_hash(&zero);
  rb.add_events(event_vec);
  fb::FinishRecordBatchBuffer(fbb, rb.Finish());
  if (fbb.GetSize() > max_frame_payload_bytes) {
    throw std::length_error("record batch above max_frame_payload_bytes");
  }
}

// Generated tables inherit flatbuffers::Table privately; the table pointer
// is the Table itself, as FlatBuffers' own reflection code assumes.
std::uint32_t field_at(const std::uint8_t* payload, const void* table, flatbuffers::voffset_t field) {
  const auto* p = reinterpret_cast<const flatbuffers::Table*>(table)->GetAddressOf(field);
  if (!p) throw std::logic_error("record batch: a forced field is missing");
  return static_cast<std::uint32_t>(p - payload);
}

// Hashes the finished payload `buf[0, size)` chained onto `prev` (which
// must already be stored in it) and stores the hash in its hole.
hash256 close_chain(std::uint8_t* buf, std::size_t size, std::size_t hash_at, const hash256& prev) {
  const hash256 out = sha256_with_hole(prev, buf, size, hash_at);
  std::memcpy(buf + hash_at, out.data(), out.size());
  return out;
}

// Bytes a batch of `events` encodes to, a little over: the builder's first
// allocation is then its only one.
std::size_t size_estimate(std::span<const event_in> events, std::string_view producer_id) {
  // Per event: the table (vtable offset, four offsets, id, three scalars,
  // padding) and its slot in the events vector, 4 length bytes + NUL +
  // padding per string or vector.
  std::size_t n = 256 + frame_header_bytes + producer_id.size();
  for (const auto& e : events)
    n += 96 + e.stream.size() + e.type.size() + e.content_type.size() + e.data.size() + 4 * 8;
  return (n + 7) & ~std::size_t{7};
}

}  // namespace

prepared_batch prepare_batch(std::span<const event_in> events, std::string_view producer_id,
                             std::uint64_t producer_seq) {
  flatbuffers::FlatBufferBuilder fbb(size_estimate(events, producer_id));
  // The builder's first use in this thread allocates; later batches reuse.
  thread_local std::vector<flatbuffers::Offset<fb::Event>> offsets;
  batch_builder::header h;
  h.producer_id = producer_id;
  h.producer_seq = producer_seq;
  const time_range times(events);
  encode_payload(fbb, offsets, events, batch_values{&h, {}, 0, 0});

  prepared_batch out;
  const std::uint8_t* payload = fbb.GetBufferPointer();
  const auto* batch = fb::GetRecordBatch(payload);
  out.count_ = static_cast<std::uint32_t>(events.size());
  out.base_offset_at_ = field_at(payload, batch, fb::RecordBatch::VT_BASE_OFFSET);
  out.commit_time_at_ = field_at(payload, batch, fb::RecordBatch::VT_COMMIT_TIME);
  out.first_at_ = field_at(payload, batch, fb::RecordBatch::VT_FIRST_TIMESTAMP);
  out.last_at_ = field_at(payload, batch, fb::RecordBatch::VT_LAST_TIMESTAMP);
  out.prev_hash_at_ = field_at(payload, batch, fb::RecordBatch::VT_PREV_HASH);
  out.hash_at_ = field_at(payload, batch, fb::RecordBatch::VT_HASH);
  out.version_at_.resize(events.size());
  const auto* evs = batch->events();
  for (flatbuffers::uoffset_t i = 0; i < evs->size(); ++i)
    out.version_at_[i] = field_at(payload, evs->Get(i), fb::Event::VT_VERSION);
  out.min_time_ = times.min;
  out.max_time_ = times.max;
  out.any_unset_ = times.any_unset;

  // Room for the frame header in front; seal() fills it in.
  static constexpr std::uint8_t no_header[frame_header_bytes] = {};
  fbb.PushBytes(no_header, sizeof no_header);
  std::size_t allocated = 0, offset = 0;
  out.raw_.reset(fbb.ReleaseRaw(allocated, offset));  // the default allocator's new[]
  out.begin_ = offset;
  out.size_ = allocated - offset;  // the buffer is filled back to front: the frame ends it
  return out;
}

std::uint8_t* prepared_batch::payload() noexcept { return raw_.get() + begin_ + frame_header_bytes; }

void prepared_batch::assign(std::uint64_t base_offset, std::int64_t commit_time,
                            std::span<const std::int64_t> versions) {
  if (versions.size() != count_) throw std::invalid_argument("prepared_batch::assign: one version per event");
  std::uint8_t* p = payload();
  flatbuffers::WriteScalar(p + base_offset_at_, base_offset);
  flatbuffers::WriteScalar(p + commit_time_at_, commit_time);
  const time_range t(min_time_, max_time_, any_unset_);
  flatbuffers::WriteScalar(p + first_at_, t.first(commit_time));
  flatbuffers::WriteScalar(p + last_at_, t.last(commit_time));
  for (std::size_t i = 0; i < versions.size(); ++i) flatbuffers::WriteScalar(p + version_at_[i], versions[i]);
}

hash256 prepared_batch::seal(const hash256& prev_hash) {
  std::uint8_t* p = payload();
  const std::size_t payload_size = size_ - frame_header_bytes;
  std::memcpy(p + prev_hash_at_, prev_hash.data(), prev_hash.size());
  const hash256 hash = close_chain(p, payload_size, hash_at_, prev_hash);
  auto* frame = reinterpret_cast<std::byte*>(raw_.get() + begin_);
  write_frame_header(std::span<std::byte, frame_header_bytes>(frame, frame_header_bytes),
                     std::span<const std::byte>(frame + frame_header_bytes, payload_size));
  return hash;
}

struct batch_builder::impl {
  flatbuffers::FlatBufferBuilder fbb{64 * 1024};
  std::vector<flatbuffers::Offset<fb::Event>> events;
};

batch_builder::batch_builder() : impl_(std::make_unique<impl>()) {}
batch_builder::~batch_builder() = default;

std::span<const std::byte> batch_builder::build(const header& h, std::span<const event_in> events,
                                                std::span<const std::int64_t> versions,
                                                hash256& out_hash) {
  if (versions.size() != events.size()) {
    throw std::invalid_argument("batch_builder::build: one version per event");
  }
  auto& fbb = impl_->fbb;
  const time_range times(events);
  encode_payload(fbb, impl_->events, events,
                 batch_values{&h, versions, times.first(h.commit_time), times.last(h.commit_time)});

  std::uint8_t* buf = fbb.GetBufferPointer();
  const std::size_t size = fbb.GetSize();
  const fb::RecordBatch* batch = fb::GetRecordBatch(buf);
  const auto hash_at = static_cast<std::size_t>(reinterpret_cast<const std::uint8_t*>(batch->hash()) - buf);
  out_hash = close_chain(buf, size, hash_at, h.prev_hash);

  // The builder fills its buffer back to front, so the frame header can be
  // pushed in front of the finished payload without copying it.
  std::array<std::byte, frame_header_bytes> frame_header;
  write_frame_header(frame_header,
                     std::span<const std::byte>(reinterpret_cast<const std::byte*>(buf), size));
  fbb.PushBytes(reinterpret_cast<const std::uint8_t*>(frame_header.data()), frame_header.size());
  return {reinterpret_cast<const std::byte*>(fbb.GetBufferPointer()), fbb.GetSize()};
}

std::int64_t now_micros() noexcept {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace muninn::codec
