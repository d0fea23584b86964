// Topics and their partitions. A topic is N partition logs plus its
// configuration; the configuration itself is a record in the internal
// `__topics` log (the log is the only source of truth), replayed on start.
// Creating a topic appends with expected_version -1 on stream
// "topic-<name>", so the log itself refuses a second creation. Nothing is
// ever deleted. Thread-safety: all members may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "broker/validation/validate.h"
#include "codec/result.h"
#include "storage/log.h"

namespace muninn::broker {

struct topic_config {
  std::string name;
  std::uint32_t partitions = 1;
  validation::schema schema = validation::schema::none;
  std::uint64_t segment_bytes = 0;  // 0: the broker's default
};

class topic {
 public:
  topic(topic_config config, std::vector<std::unique_ptr<storage::partition_log>> partitions);
  const topic_config& config() const { return config_; }
  std::uint32_t partitions() const { return std::uint32_t(partitions_.size()); }
  storage::partition_log& partition(std::uint32_t p) const { return *partitions_.at(p); }
  void close();

 private:
  topic_config config_;
  std::vector<std::unique_ptr<storage::partition_log>> partitions_;
};

enum class topic_errc : std::uint8_t { exists, invalid, io };

struct topic_error {
  topic_errc code = topic_errc::invalid;
  std::string message;
};

// 1-100 bytes of [A-Za-z0-9._-], not "." or "..", not starting with "__".
bool valid_topic_name(std::string_view name) noexcept;

inline constexpr std::uint32_t max_partitions = 1024;

class topic_registry {
 public:
  // Opens `data_dir` (creating it), replays `__topics`, opens every
  // partition; a fresh directory gets domain.md's default topics.
  static result<std::unique_ptr<topic_registry>, std::string> open(std::string data_dir,
                                                                   storage::log_options defaults);
  ~topic_registry();

  result<std::shared_ptr<topic>, topic_error> create(topic_config config);
  std::shared_ptr<topic> find(std::string_view name) const;
  // The internal log of consumer offsets (`__offsets`): commits are records
  // in it, so they survive restarts and replay like everything else.
  storage::partition_log& offsets_log() const { return *offsets_; }
  std::vector<std::shared_ptr<topic>> list() const;  // by name
  // Closes every partition (completes in-flight appends, flushes indexes).
  void close();

 private:
  topic_registry(std::string data_dir, storage::log_options defaults);
  result<std::shared_ptr<topic>, topic_error> open_topic(const topic_config& config);

  const std::string data_dir_;
  const storage::log_options defaults_;
  std::unique_ptr<storage::partition_log> meta_;     // the __topics log
  std::unique_ptr<storage::partition_log> offsets_;  // the __offsets log
  mutable std::mutex mu_;        // topics_
  std::mutex create_mu_;         // one creation at a time
  std::map<std::string, std::shared_ptr<topic>, std::less<>> topics_;
  bool closed_ = false;
};

}  // namespace muninn::broker
