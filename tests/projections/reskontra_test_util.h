// Helpers shared by the reskontra projection tests: a harness that feeds
// JSON events as the feeder would, JSON builders for the catalog's events,
// and the stream names they belong to.
#pragma once

#include <catch2/catch.hpp>

#include <flatbuffers/flexbuffers.h>

#include <fstream>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "broker/projections/calendar.h"
#include "broker/projections/event.h"
#include "broker/projections/reskontra.h"
#include "codec/batch.h"
#include "codec/json.h"
#include "codec/sha256.h"

namespace mp = muninn::projections;

namespace reskontra_test {

inline std::int64_t micros_at(std::string_view date, int hour = 10) {
  const auto d = mp::parse_iso_date(date);
  REQUIRE(d);
  return (mp::days_from_civil(*d) * 86400 + hour * 3600) * 1'000'000;
}

inline std::vector<std::byte> bytes_of(std::string_view s) {
  std::vector<std::byte> out(s.size());
  std::memcpy(out.data(), s.data(), s.size());
  return out;
}

// One event as the log holds it: JSON data, or raw bytes of another type.
struct logged {
  std::string type, stream, content_type;
  std::vector<std::byte> data;
  std::int64_t time = 0;
  mp::position at;
};

inline void feed(mp::projection& p, mp::data_reader& reader, const logged& l) {
  mp::event_view e;
  e.at = l.at;
  e.time = l.time;
  e.stream = l.stream;
  e.type = l.type;
  const auto root = reader.read(l.content_type, l.data);
  if (root) {
    e.data = *root;
    e.data_ok = true;
  }
  p.apply(e);
}

inline std::string digest_hex(const mp::projection& p) { return muninn::codec::to_hex(mp::state_digest(p)); }

// A reskontra projection with its log, so any test can rebuild and compare.
struct harness {
  mp::reskontra_projection p;
  std::vector<logged> log;
  mp::data_reader reader;
  std::int64_t time = micros_at("2025-03-03");
  std::string last_reason;

  void on(std::string_view date) { time = micros_at(date); }

  // True when the event applied without an anomaly.
  bool raw(std::string type, std::string stream, std::string content_type, std::vector<std::byte> data) {
    logged l{std::move(type), std::move(stream), std::move(content_type), std::move(data), time,
             {0, log.size()}};
    log.push_back(std::move(l));
    const auto before = p.anomaly_count();
    feed(p, reader, log.back());
    const auto broken = p.check_invariants();
    INFO(log.back().type << " at " << log.back().at.offset);
    CHECK_FALSE(broken);
    if (broken) FAIL_CHECK(*broken);
    if (p.anomaly_count() == before) return true;
    mp::query_params q{{"after", std::to_string(log.back().at.offset - (log.back().at.offset > 0 ? 1 : 0))}};
    if (log.back().at.offset == 0) q.clear();
    last_reason = p.query("anomalies", q).value();
    return false;
  }

  bool ev(std::string type, std::string stream, std::string json) {
    return raw(std::move(type), std::move(stream), std::string(muninn::codec::content_type_json), bytes_of(json));
  }

  std::string q(std::string_view what, mp::query_params params = {}) const {
    auto r = p.query(what, params);
    if (!r) return "ERR " + std::to_string(static_cast<int>(r.error().code)) + " " + r.error().message;
    return r.value();
  }

  // {debit, credit} of one ledger account in one currency, from the
  // trial-balance answer.
  std::pair<std::int64_t, std::int64_t> acct(std::string_view account, std::string_view cur = "SEK") const {
    const auto tb = q("trial-balance");
    const std::string head = "{\"account\":\"" + std::string(account) + "\",\"currency\":\"" + std::string(cur) +
                             "\",\"debitMinor\":";
    const auto pos = tb.find(head);
    if (pos == std::string::npos) return {0, 0};
    const char* s = tb.c_str() + pos + head.size();
    char* end = nullptr;
    const auto debit = std::strtoll(s, &end, 10);
    const auto credit = std::strtoll(end + std::strlen(",\"creditMinor\":"), nullptr, 10);
    return {debit, credit};
  }
};

using pair = std::pair<std::int64_t, std::int64_t>;

inline const char* pnr = R"({"type":"SE_PNR","value":"19121212-1212"})";
inline const char* orgnr = R"({"type":"SE_ORGNR","value":"212000-0142"})";

inline std::string invoice(std::string_view id, std::int64_t amount, std::int64_t vat, std::string_view due,
                    std::string_view cur = "SEK", std::string_view party = pnr) {
  return R"({"invoiceId":")" + std::string(id) + R"(","party":)" + std::string(party) +
         R"(,"invoiceNo":"F-)" + std::string(id) + R"(","issueDate":"2025-03-01","dueDate":")" +
         std::string(due) + R"(","currency":")" + std::string(cur) + R"(","amountMinor":)" +
         std::to_string(amount) + R"(,"vatMinor":)" + std::to_string(vat) + R"(,"revenueAccount":"3011"})";
}

inline std::string payment(std::string_view id, std::int64_t amount, std::string_view cur = "SEK") {
  return R"({"paymentId":")" + std::string(id) + R"(","source":"BGMAX","sourceRef":"bg-)" + std::string(id) +
         R"(","ocrRef":"1234","amountMinor":)" + std::to_string(amount) + R"(,"currency":")" + std::string(cur) +
         R"(","bookingDate":"2025-03-04"})";
}

inline std::string allocation(std::string_view id, std::string_view pay,
                       std::vector<std::pair<std::string, std::int64_t>> lines) {
  std::string s = R"({"allocationId":")" + std::string(id) + R"(","paymentId":")" + std::string(pay) +
                  R"(","lines":[)";
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i) s += ",";
    s += R"({"invoiceId":")" + lines[i].first + R"(","amountMinor":)" + std::to_string(lines[i].second) + "}";
  }
  return s + "]}";
}

inline std::string supplier_invoice(std::string_view id, std::int64_t amount, std::int64_t vat,
                             std::string_view cur = "SEK") {
  return R"({"invoiceId":")" + std::string(id) + R"(","party":)" + std::string(orgnr) +
         R"(,"supplierInvoiceNo":"L-1","invoiceDate":"2025-03-01","dueDate":"2025-03-31","currency":")" +
         std::string(cur) + R"(","amountMinor":)" + std::to_string(amount) + R"(,"vatMinor":)" +
         std::to_string(vat) + R"(,"expenseAccount":"4010"})";
}

inline std::string order(std::string_view id, std::vector<std::pair<std::string, std::int64_t>> lines) {
  std::string s = R"({"paymentOrderId":")" + std::string(id) + R"(","paymentDate":"2025-03-20","lines":[)";
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i) s += ",";
    s += R"({"invoiceId":")" + lines[i].first + R"(","amountMinor":)" + std::to_string(lines[i].second) + "}";
  }
  return s + "]}";
}

inline std::string inv_stream(std::string_view id) { return "invoice-" + std::string(id); }
inline std::string pay_stream(std::string_view id) { return "payment-" + std::string(id); }
inline std::string sup_stream(std::string_view id) { return "supplier-invoice-" + std::string(id); }

inline bool contains(const std::string& hay, std::string_view needle) { return hay.find(needle) != std::string::npos; }

}  // namespace reskontra_test
