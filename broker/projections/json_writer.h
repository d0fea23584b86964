// A small JSON text writer for projection query answers: RFC 8259 string
// escaping (invalid UTF-8 becomes U+FFFD, so the output is always valid
// JSON), integers as integers, commas placed by nesting. Key order is the
// order of the calls, so answers are deterministic by construction.
// Not thread-safe: one writer builds one answer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace muninn::projections {

class json_writer {
 public:
  json_writer& begin_object();
  json_writer& end_object();
  json_writer& begin_array();
  json_writer& end_array();

  // The key of the next value inside an object.
  json_writer& key(std::string_view k);

  json_writer& value(std::string_view s);
  json_writer& value(const char* s) { return value(std::string_view(s)); }
  json_writer& value(std::int64_t n);
  json_writer& value(std::uint64_t n);
  json_writer& value(std::int32_t n) { return value(static_cast<std::int64_t>(n)); }
  json_writer& value(std::uint32_t n) { return value(static_cast<std::uint64_t>(n)); }
  json_writer& value(bool b);
  json_writer& null();

  // key(k).value(v) in one call.
  template <class T>
  json_writer& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }

  const std::string& text() const noexcept { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void before_value();

  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written in it yet
  bool after_key_ = false;
};

// Appends `s` as a JSON string literal (quotes included).
void append_json_string(std::string& out, std::string_view s);

}  // namespace muninn::projections
