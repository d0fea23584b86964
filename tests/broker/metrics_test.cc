// The metrics registry: the exact Prometheus text (0.0.4) for every metric type, escaping, number
// formatting, deterministic order, stable child handles, exact counts under concurrent updates,
// callback families, and names refused at registration.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "broker/metrics.h"

using namespace muninn::broker;

TEST_CASE("metrics: the content type is Prometheus text 0.0.4", "[broker][metrics]") {
  CHECK(metrics_registry::content_type == "text/plain; version=0.0.4; charset=utf-8");
}

TEST_CASE("metrics: a counter renders HELP, TYPE and one line per child in creation order", "[broker][metrics]") {
  metrics_registry r;
  auto& plain = r.add_counter("muninn_connections_accepted_total", "Connections accepted.");
  auto& by_topic = r.add_counter("muninn_produce_requests_total", "Produce requests.", {"topic", "partition"});

  // Unlabelled: present (as 0) before the first update, so a dashboard sees the series from the start.
  CHECK(r.render() ==
        "# HELP muninn_connections_accepted_total Connections accepted.\n"
        "# TYPE muninn_connections_accepted_total counter\n"
        "muninn_connections_accepted_total 0\n"
        "# HELP muninn_produce_requests_total Produce requests.\n"
        "# TYPE muninn_produce_requests_total counter\n");

  plain.with().inc();
  plain.with().inc(41);
  by_topic.with({"topic", "reskontra"}, {"partition", "0"}).inc(2);
  by_topic.with({"topic", "forsendelser"}, {"partition", "3"}).inc();
  by_topic.with_values({"reskontra", "0"}).inc(3);                      // positional: same child
  by_topic.with({"partition", "3"}, {"topic", "forsendelser"}).inc(9);  // names in any order: same child

  CHECK(r.render() ==
        "# HELP muninn_connections_accepted_total Connections accepted.\n"
        "# TYPE muninn_connections_accepted_total counter\n"
        "muninn_connections_accepted_total 42\n"
        "# HELP muninn_produce_requests_total Produce requests.\n"
        "# TYPE muninn_produce_requests_total counter\n"
        "muninn_produce_requests_total{topic=\"reskontra\",partition=\"0\"} 5\n"
        "muninn_produce_requests_total{topic=\"forsendelser\",partition=\"3\"} 10\n");

  auto& big = r.add_counter("muninn_bytes_total", "Bytes.");
  big.with().inc(std::numeric_limits<std::uint64_t>::max());
  CHECK(r.render().ends_with("muninn_bytes_total 18446744073709551615\n"));
}

TEST_CASE("metrics: a gauge renders integers without exponent and doubles that read back exactly",
          "[broker][metrics]") {
  metrics_registry r;
  auto& g = r.add_gauge("muninn_connections", "Open connections.").with();
  auto rendered = [&] {
    const auto text = r.render();
    const auto line = text.rfind("muninn_connections ");
    return text.substr(line + std::string("muninn_connections ").size(),
                       text.size() - line - std::string("muninn_connections ").size() - 1);
  };

  CHECK(r.render() ==
        "# HELP muninn_connections Open connections.\n"
        "# TYPE muninn_connections gauge\n"
        "muninn_connections 0\n");
  g.inc();
  g.inc();
  g.inc();
  g.dec();
  CHECK(rendered() == "2");
  g.add(0.5);
  CHECK(rendered() == "2.5");
  g.sub(5);
  CHECK(rendered() == "-2.5");

  const std::vector<std::pair<double, std::string>> cases{
      {3, "3"},
      {-7, "-7"},
      {1e20, "100000000000000000000"},
      {1e21, "1e+21"},
      {9007199254740993.0, "9007199254740992"},  // 2^53 + 1 is not a double: nearest is 2^53
      {0.1, "0.1"},
      {1.0 / 3, "0.3333333333333333"},
      {12345.678, "12345.678"},
      {0.0001, "0.0001"},
      {0.00001, "1e-05"},
      {-0.0, "0"},
      {std::numeric_limits<double>::quiet_NaN(), "NaN"},
      {std::numeric_limits<double>::infinity(), "+Inf"},
      {-std::numeric_limits<double>::infinity(), "-Inf"},
  };
  for (const auto& [value, text] : cases) {
    g.set(value);
    CHECK(rendered() == text);
  }
}

TEST_CASE("metrics: a histogram renders cumulative buckets with +Inf, sum and count", "[broker][metrics]") {
  metrics_registry r;
  auto& fam = r.add_histogram("muninn_commit_seconds", "Produce to commit.", {0.125, 0.5, 1}, {"topic"});
  auto& h = fam.with({"topic", "forsendelser"});
  h.observe(0.125);  // on a bound: `le` is inclusive
  h.observe(0.25);
  h.observe(0.75);
  h.observe(4);
  CHECK(h.count() == 4);
  CHECK(h.sum() == 5.125);

  CHECK(r.render() ==
        "# HELP muninn_commit_seconds Produce to commit.\n"
        "# TYPE muninn_commit_seconds histogram\n"
        "muninn_commit_seconds_bucket{topic=\"forsendelser\",le=\"0.125\"} 1\n"
        "muninn_commit_seconds_bucket{topic=\"forsendelser\",le=\"0.5\"} 2\n"
        "muninn_commit_seconds_bucket{topic=\"forsendelser\",le=\"1\"} 3\n"
        "muninn_commit_seconds_bucket{topic=\"forsendelser\",le=\"+Inf\"} 4\n"
        "muninn_commit_seconds_sum{topic=\"forsendelser\"} 5.125\n"
        "muninn_commit_seconds_count{topic=\"forsendelser\"} 4\n");
}

TEST_CASE("metrics: an unlabelled latency histogram spells its bounds as Prometheus clients do",
          "[broker][metrics]") {
  metrics_registry r;
  auto& h = r.add_histogram("muninn_fdatasync_seconds", "fdatasync latency.", latency_buckets_seconds()).with();
  h.observe(std::chrono::microseconds(300));  // durations observe as seconds
  h.observe(std::numeric_limits<double>::quiet_NaN());  // NaN goes to +Inf, as in client_golang

  const std::string expected =
      "# HELP muninn_fdatasync_seconds fdatasync latency.\n"
      "# TYPE muninn_fdatasync_seconds histogram\n"
      "muninn_fdatasync_seconds_bucket{le=\"5e-05\"} 0\n"
      "muninn_fdatasync_seconds_bucket{le=\"0.0001\"} 0\n"
      "muninn_fdatasync_seconds_bucket{le=\"0.00025\"} 0\n"
      "muninn_fdatasync_seconds_bucket{le=\"0.0005\"} 1\n"
      "muninn_fdatasync_seconds_bucket{le=\"0.001\"} 1\n"
      "muninn_fdatasync_seconds_bucket{le=\"0.0025\"} 1\n"
      "muninn_fdatasync_seconds_bucket{le=\"0.005\"} 1\n"
      "muninn_fdatasync_seconds_bucket{le=\"0.01\"} 1\n"
      "muninn_fdatasync_seconds_bucket{le=\"0.025\"} 1\n"
      "muninn_fdatasync_seconds_bucket{le=\"0.05\"} 1\n"
      "muninn_fdatasync_seconds_bucket{le=\"0.1\"} 1\n"
      "muninn_fdatasync_seconds_bucket{le=\"0.25\"} 1\n"
      "muninn_fdatasync_seconds_bucket{le=\"0.5\"} 1\n"
      "muninn_fdatasync_seconds_bucket{le=\"1\"} 1\n"
      "muninn_fdatasync_seconds_bucket{le=\"2.5\"} 1\n"
      "muninn_fdatasync_seconds_bucket{le=\"5\"} 1\n"
      "muninn_fdatasync_seconds_bucket{le=\"10\"} 1\n"
      "muninn_fdatasync_seconds_bucket{le=\"+Inf\"} 2\n"
      "muninn_fdatasync_seconds_sum NaN\n"
      "muninn_fdatasync_seconds_count 2\n";
  CHECK(r.render() == expected);
}

TEST_CASE("metrics: label values escape backslash, quote and newline; help escapes backslash and newline",
          "[broker][metrics]") {
  metrics_registry r;
  auto& c = r.add_counter("muninn_refused_total", "Refused \"requests\" by reason\\kind\nsee docs.", {"reason"});
  c.with({"reason", "bad \"frame\"\nat C:\\tmp"}).inc();
  c.with({"reason", "ø, utf-8 as is"}).inc(2);

  CHECK(r.render() ==
        "# HELP muninn_refused_total Refused \"requests\" by reason\\\\kind\\nsee docs.\n"
        "# TYPE muninn_refused_total counter\n"
        "muninn_refused_total{reason=\"bad \\\"frame\\\"\\nat C:\\\\tmp\"} 1\n"
        "muninn_refused_total{reason=\"ø, utf-8 as is\"} 2\n");
}

TEST_CASE("metrics: families render in registration order, whatever their type", "[broker][metrics]") {
  metrics_registry r;
  r.add_gauge("z_gauge", "z.");
  r.add_callback_gauge("a_callback", "a.", {}, [](sample_sink& s) { s.emit(7); });
  r.add_histogram("m_hist", "m.", {1});
  r.add_counter("b_counter", "b.");

  CHECK(r.render() ==
        "# HELP z_gauge z.\n# TYPE z_gauge gauge\nz_gauge 0\n"
        "# HELP a_callback a.\n# TYPE a_callback gauge\na_callback 7\n"
        "# HELP m_hist m.\n# TYPE m_hist histogram\n"
        "m_hist_bucket{le=\"1\"} 0\nm_hist_bucket{le=\"+Inf\"} 0\nm_hist_sum 0\nm_hist_count 0\n"
        "# HELP b_counter b.\n# TYPE b_counter counter\nb_counter 0\n");
  std::string appended = "prefix\n";
  r.render_to(appended);
  CHECK(appended == "prefix\n" + r.render());
}

TEST_CASE("metrics: child handles are stable and created once", "[broker][metrics]") {
  metrics_registry r;
  auto& fam = r.add_counter("muninn_fetch_requests_total", "Fetches.", {"topic", "partition"});
  counter& first = fam.with({"topic", "t"}, {"partition", "0"});
  // Enough children to grow every container behind the family several times.
  for (int p = 0; p < 2000; ++p) fam.with_values({"other", std::to_string(p)}).inc();
  CHECK(&fam.with({"topic", "t"}, {"partition", "0"}) == &first);
  CHECK(&fam.with_values({"t", "0"}) == &first);
  const std::vector<std::string_view> values{"t", "0"};
  CHECK(&fam.with_values(values) == &first);
  const label labels[] = {{"partition", "0"}, {"topic", "t"}};
  CHECK(&fam.with_labels(labels) == &first);
  // Values that concatenate alike are still different children.
  CHECK(&fam.with_values({"ab", "c"}) != &fam.with_values({"a", "bc"}));

  first.inc(5);
  const auto text = r.render();
  CHECK(text.find("muninn_fetch_requests_total{topic=\"t\",partition=\"0\"} 5\n") != std::string::npos);
  // 2000 + t/0 + ab/c + a/bc, each exactly once.
  CHECK(std::count(text.begin(), text.end(), '\n') == 2 + 2003);
}

TEST_CASE("metrics: concurrent updates from 4 threads sum exactly", "[broker][metrics]") {
  metrics_registry r;
  auto& requests = r.add_counter("requests_total", "Requests.", {"topic"});
  auto& in_flight = r.add_gauge("in_flight", "In flight.").with();
  auto& latency = r.add_histogram("latency_seconds", "Latency.", {1, 2}).with();
  counter& shared = requests.with({"topic", "shared"});

  constexpr int threads = 4;
  constexpr int per_thread = 100'000;
  std::vector<std::thread> pool;
  std::vector<counter*> seen(threads);
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      // Every thread races to create the same child; exactly one wins.
      counter& mine = requests.with({"topic", "raced"});
      seen[std::size_t(t)] = &mine;
      for (int i = 0; i < per_thread; ++i) {
        shared.inc();
        mine.inc(2);
        in_flight.add(1);
        latency.observe(double(1 + (i % 3)));  // 1, 2, 3: one per bucket, integers sum exactly
      }
      for (int i = 0; i < per_thread; ++i) in_flight.dec();
    });
  }
  // Rendering while the writers run must neither block them nor crash.
  for (int i = 0; i < 20; ++i) (void)r.render();
  for (auto& th : pool) th.join();

  for (auto* p : seen) CHECK(p == seen[0]);
  const std::uint64_t n = std::uint64_t(threads) * per_thread;
  CHECK(shared.value() == n);
  CHECK(seen[0]->value() == 2 * n);
  CHECK(in_flight.value() == 0);
  CHECK(latency.count() == n);
  const auto buckets = latency.bucket_counts();
  REQUIRE(buckets.size() == 3);
  CHECK(buckets[0] + buckets[1] + buckets[2] == n);
  CHECK(buckets[0] == std::uint64_t(threads) * 33'334);  // i % 3 == 0 for 33,334 of 100,000
  double expected_sum = 0;
  for (int i = 0; i < per_thread; ++i) expected_sum += double(1 + (i % 3));
  CHECK(latency.sum() == expected_sum * threads);

  const auto text = r.render();
  CHECK(text.find("requests_total{topic=\"shared\"} 400000\n") != std::string::npos);
  CHECK(text.find("requests_total{topic=\"raced\"} 800000\n") != std::string::npos);
  CHECK(text.find("latency_seconds_count 400000\n") != std::string::npos);
  CHECK(text.find("latency_seconds_sum 799996\n") != std::string::npos);  // 4 * (33,334 + 2 * 33,333 + 3 * 33,333)
}

TEST_CASE("metrics: callback gauges read their values at render time", "[broker][metrics]") {
  metrics_registry r;
  std::mutex mu;
  std::map<std::pair<std::string, int>, std::uint64_t> heads{{{"forsendelser", 0}, 10}, {{"reskontra", 0}, 3}};
  int calls = 0;
  r.add_callback_gauge("muninn_partition_head_offset", "Next offset of each partition.", {"topic", "partition"},
                       [&](sample_sink& sink) {
                         std::lock_guard lock(mu);
                         ++calls;
                         for (const auto& [key, head] : heads) {
                           const auto partition = std::to_string(key.second);
                           sink.emit({key.first, partition}, head);
                         }
                       });
  CHECK(calls == 0);  // only ever called by render
  CHECK(r.render() ==
        "# HELP muninn_partition_head_offset Next offset of each partition.\n"
        "# TYPE muninn_partition_head_offset gauge\n"
        "muninn_partition_head_offset{topic=\"forsendelser\",partition=\"0\"} 10\n"
        "muninn_partition_head_offset{topic=\"reskontra\",partition=\"0\"} 3\n");
  {
    std::lock_guard lock(mu);
    heads[{"forsendelser", 0}] = (std::uint64_t(1) << 63) + 1;  // all 64 bits survive, unlike a double
    heads[{"forsendelser", 1}] = 0;
  }
  CHECK(r.render() ==
        "# HELP muninn_partition_head_offset Next offset of each partition.\n"
        "# TYPE muninn_partition_head_offset gauge\n"
        "muninn_partition_head_offset{topic=\"forsendelser\",partition=\"0\"} 9223372036854775809\n"
        "muninn_partition_head_offset{topic=\"forsendelser\",partition=\"1\"} 0\n"
        "muninn_partition_head_offset{topic=\"reskontra\",partition=\"0\"} 3\n");
  CHECK(calls == 2);
}

TEST_CASE("metrics: callback samples take any number type; a wrong label count is dropped, not fatal",
          "[broker][metrics]") {
  metrics_registry r;
  r.add_callback_counter("muninn_fsyncs_total", "fdatasyncs done.", {}, [](sample_sink& s) { s.emit(17u); });
  r.add_callback_gauge("mixed", "Mixed types.", {"k"}, [](sample_sink& s) {
    s.emit({"int"}, -5);
    s.emit({"double"}, 0.25);
    s.emit({"float"}, 1.5f);
    s.emit({"a", "b"}, 1);  // two values for one label name
    s.emit({"quote\""}, std::int64_t{-9'000'000'000'000'000'000});
  });
  CHECK(r.render() ==
        "# HELP muninn_fsyncs_total fdatasyncs done.\n"
        "# TYPE muninn_fsyncs_total counter\n"
        "muninn_fsyncs_total 17\n"
        "# HELP mixed Mixed types.\n"
        "# TYPE mixed gauge\n"
        "mixed{k=\"int\"} -5\n"
        "mixed{k=\"double\"} 0.25\n"
        "mixed{k=\"float\"} 1.5\n"
        "# muninn: dropped a sample of mixed: 2 label values for 1 label names\n"
        "mixed{k=\"quote\\\"\"} -9000000000000000000\n");
}

TEST_CASE("metrics: invalid names are refused at registration", "[broker][metrics]") {
  metrics_registry r;
  for (const char* bad : {"", "1abc", "a-b", "a b", "__reserved", "é", "a.b", "rate{x}"}) {
    INFO("metric name: " << bad);
    CHECK_THROWS_AS(r.add_counter(bad, "h"), std::invalid_argument);
    CHECK_THROWS_AS(r.add_gauge(bad, "h"), std::invalid_argument);
    CHECK_THROWS_AS(r.add_histogram(bad, "h", {1}), std::invalid_argument);
    CHECK_THROWS_AS(r.add_callback_gauge(bad, "h", {}, [](sample_sink&) {}), std::invalid_argument);
  }
  for (const char* bad : {"", "1a", "a:b", "__name__", "a-b", "é"}) {
    INFO("label name: " << bad);
    CHECK_THROWS_AS(r.add_counter("c", "h", {bad}), std::invalid_argument);
    CHECK_THROWS_AS(r.add_callback_counter("c", "h", {bad}, [](sample_sink&) {}), std::invalid_argument);
  }
  CHECK_THROWS_AS(r.add_counter("c", "h", {"topic", "topic"}), std::invalid_argument);
  CHECK_THROWS_AS(r.add_counter("c", ""), std::invalid_argument);                   // help says what it is
  CHECK_THROWS_AS(r.add_histogram("h", "h", {1}, {"le"}), std::invalid_argument);  // the buckets' label
  CHECK_THROWS_AS(r.add_histogram("h", "h", {1, 1}), std::invalid_argument);
  CHECK_THROWS_AS(r.add_histogram("h", "h", {2, 1}), std::invalid_argument);
  CHECK_THROWS_AS(r.add_histogram("h", "h", {1, std::numeric_limits<double>::infinity()}), std::invalid_argument);
  CHECK_THROWS_AS(r.add_histogram("h", "h", {std::nan("")}), std::invalid_argument);
  CHECK_THROWS_AS(r.add_callback_gauge("g", "h", {}, nullptr), std::invalid_argument);

  // Nothing refused took a name: every one of them registers fine now.
  CHECK(r.render().empty());
  CHECK_NOTHROW(r.add_counter("c", "h", {"le"}));  // `le` is only reserved in histograms
  CHECK_NOTHROW(r.add_histogram("h", "h", {}));    // no bounds: +Inf only
  CHECK_NOTHROW(r.add_callback_gauge("g", "h", {}, [](sample_sink&) {}));
  CHECK_NOTHROW(r.add_gauge("ns:colons_ok", "h", {"_leading_underscore", "x9"}));

  // Names are unique across the registry, including the series a histogram adds.
  CHECK_THROWS_AS(r.add_gauge("c", "h"), std::invalid_argument);
  CHECK_THROWS_AS(r.add_counter("h_count", "h"), std::invalid_argument);
  CHECK_THROWS_AS(r.add_counter("h_bucket", "h"), std::invalid_argument);
  r.add_counter("lat_sum", "h");
  CHECK_THROWS_AS(r.add_histogram("lat", "h", {1}), std::invalid_argument);
  CHECK_NOTHROW(r.add_histogram("lat2", "h", {1}));

  CHECK(r.render() ==
        "# HELP c h\n# TYPE c counter\n"
        "# HELP h h\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 0\nh_sum 0\nh_count 0\n"
        "# HELP g h\n# TYPE g gauge\n"
        "# HELP ns:colons_ok h\n# TYPE ns:colons_ok gauge\n"
        "# HELP lat_sum h\n# TYPE lat_sum counter\nlat_sum 0\n"
        "# HELP lat2 h\n# TYPE lat2 histogram\n"
        "lat2_bucket{le=\"1\"} 0\nlat2_bucket{le=\"+Inf\"} 0\nlat2_sum 0\nlat2_count 0\n");
}

TEST_CASE("metrics: labels that do not match the family are refused when the child is asked for",
          "[broker][metrics]") {
  metrics_registry r;
  auto& fam = r.add_counter("c", "h", {"topic", "partition"});
  CHECK_THROWS_AS(fam.with(), std::invalid_argument);
  CHECK_THROWS_AS(fam.with({"topic", "t"}), std::invalid_argument);
  CHECK_THROWS_AS(fam.with({"topic", "t"}, {"partiton", "0"}), std::invalid_argument);  // typo
  CHECK_THROWS_AS(fam.with({"topic", "t"}, {"topic", "u"}), std::invalid_argument);
  CHECK_THROWS_AS(fam.with({"topic", "t"}, {"partition", "0"}, {"x", "1"}), std::invalid_argument);
  CHECK_THROWS_AS(fam.with_values({"t"}), std::invalid_argument);
  CHECK_THROWS_AS(r.add_counter("d", "h").with({"topic", "t"}), std::invalid_argument);
  // Nothing half-created.
  CHECK(r.render() == "# HELP c h\n# TYPE c counter\n# HELP d h\n# TYPE d counter\nd 0\n");
}
