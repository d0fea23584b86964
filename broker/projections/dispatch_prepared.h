// Internal to the dispatch-status projection (dispatch*.cc only): the half
// of apply() that depends on the event and the configuration alone
// (projection.h, prepare()). A replay runs prepare_event() on its reader
// thread while the applying thread applies earlier events, so it reads
// nothing the state holds: only the event and an immutable dispatch_config.
// A prepared_event is trivially copyable and views the event's bytes; apply
// turns it into state changes and anomalies in the order apply() always
// checked them (docs/projections-dispatch.md, "Rules of apply").
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "broker/projections/dispatch.h"
#include "broker/projections/event.h"
#include "codec/batch.h"

namespace muninn::projections::dispatch_detail {

enum class event_kind : std::uint8_t { mottatt, status, print, unknown };

// Why the envelope or the id names no forsendelse, in apply's order of checks.
enum class envelope_fault : std::uint8_t {
  none,
  unreadable,    // data absent or not a map
  no_id,         // forsendelseId missing or not a string
  bad_id,        // not a lowercase canonical UUID
  wrong_stream,  // stream is not forsendelse-<forsendelseId>
};

struct print_receipt {
  std::int64_t sorthvit_sider = 0, farge_sider = 0, konvolutter_automatisk = 0,
               konvolutter_manuelt = 0, vekt_gram = 0, produksjonskostnad_minor = 0, porto_minor = 0;
};

// A normalised NO_FNR (11 digits) or NO_ORGNR (9) fits; no heap string per event.
inline constexpr std::size_t max_digital_value = 15;

// ForsendelseMottatt's fields (the hashes are interner::hash's of the texts).
struct mottatt_fields {
  std::string_view avsender, tittel, navn, kontering;
  std::uint64_t avsender_hash = 0, kontering_hash = 0, recipient_hash = 0;
  bool has_kontering = false;
  bool kun_digital = false;
  std::uint8_t brevtype = 0;
  std::uint8_t digital_kind = 0xFF;
  std::uint8_t digital_size = 0;
  std::array<char, max_digital_value> digital{};

  std::string_view digital_value() const noexcept { return {digital.data(), digital_size}; }
};

// ForsendelseStatusEndret's (`text` is the status as read, for the reason).
struct status_fields {
  dispatch_status to = dispatch_status::mottatt;
  bool has_detalj = false;
  bool detalj_copied = false;  // detalj's bytes are in detalj_bytes
  std::string_view text, detalj;
  std::uint64_t detalj_hash = 0;
  std::int64_t due = 0;  // when `to` is VARSLET
  // A short detalj (all the dispatch systems' messages are) is copied here
  // too, in room the union has anyway: interning it then reads these bytes,
  // which the applying thread reads in order with the rest of the slot,
  // instead of the event's, which only the reader thread has touched (a
  // cache miss on the applying thread for most steps with a detalj).
  std::array<char, 56> detalj_bytes;

  std::string_view detalj_text() const noexcept {
    return detalj_copied ? std::string_view(detalj_bytes.data(), detalj.size()) : detalj;
  }
};

struct prepared_event {
  prepared_event() noexcept : receipt() {}

  event_kind kind = event_kind::unknown;
  envelope_fault envelope = envelope_fault::none;
  bool own_stream = false;  // the id parsed and the stream is its own
  // The data's first fault for its kind, as apply would find it: a reason
  // with static storage, or (unknown_status) "unknown status '<text>'".
  bool unknown_status = false;
  const char* reason = nullptr;

  codec::event_id id;
  std::uint64_t id_hash = 0;   // id_table's hash of `id`
  std::string_view id_text;    // as read (empty when not a string)

  // The fields of `kind`, one kind's at a time: the reader thread writes
  // and the applying thread reads 168 bytes per event instead of 280.
  // prepare_event makes the member of its kind the live one by assigning
  // it (each is trivially copyable); apply reads only that member, and
  // only once the envelope is sound.
  union {
    print_receipt receipt;
    mottatt_fields mottatt;
    status_fields status;
  };
};
static_assert(std::is_trivially_copyable_v<prepared_event>);
static_assert(alignof(prepared_event) <= 8);

// Fills `out` (a default-constructed prepared_event) from `e`. Pure and
// const in every sense: safe on any thread, concurrently with apply.
void prepare_event(const event_view& e, const dispatch_config& config, prepared_event& out);

}  // namespace muninn::projections::dispatch_detail
