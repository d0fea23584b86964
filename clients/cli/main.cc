// muninn: the command-line tool (issue 3). Dispatches to the commands in
// clients/cli/*.cc; one clear error line on stderr and a non-zero exit on failure.
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "clients/cli/cli.h"

namespace {

constexpr const char* usage_text =
    "usage: muninn [--broker HOST:PORT] COMMAND ...\n"
    "  topic create NAME [--partitions N] [--schema dispatch|reskontra] [--segment-bytes B]\n"
    "  topic list\n"
    "  topic describe NAME\n"
    "  produce --topic T [--acks durable|written]        JSON lines on stdin\n"
    "  consume --topic T [--from OFFSET | --from-time RFC3339] [--follow] [--name CONSUMER]\n"
    "  consume --topic T --group G [--follow] [--session-timeout-ms MS]\n"
    "  group list | describe GROUP | reset GROUP --topic T (--to-earliest | --to-latest |\n"
    "        --to-offset N | --to-time RFC3339)                                          [--json]\n"
    "  stream read STREAM [--topic T]\n"
    "  verify --topic T\n"
    "  projection status [NAME] [--json]\n"
    "  projection rebuild NAME [--wait] [--json]\n"
    "  forsendelse get ID | search [--avsender A] [--status S] [--mottaker ID] [--from T] [--to T]\n"
    "              [--limit N] [--after CURSOR] | stats | due --at T | anomalies      [--json]\n"
    "  reskontra party TYPE:VALUE [--at DATE] | trial-balance | unallocated | overdue --at DATE\n"
    "            | anomalies                                                            [--json]\n"
    "  audit --projection P [--topic T]\n"
    "--broker defaults to 127.0.0.1:7070.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace muninn;
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::fputs(usage_text, argc < 2 ? stderr : stdout);
    return argc < 2 ? cli::exit_usage : cli::exit_ok;
  }
  cli::args a;
  const std::set<std::string> flags = {"follow", "json", "wait", "to-earliest", "to-latest"};
  const std::set<std::string> valued = {"broker", "partitions", "schema", "segment-bytes", "topic", "acks",
                                        "from", "from-time", "name", "projection", "avsender", "status",
                                        "mottaker", "to", "limit", "after", "at", "group", "session-timeout-ms",
                                        "to-offset", "to-time"};
  if (auto err = cli::parse_args(argc, argv, 1, flags, valued, a)) return cli::fail(*err + " (muninn --help)", cli::exit_usage);
  if (a.positional.empty()) return cli::fail("no command (muninn --help)", cli::exit_usage);

  auto opts = client::parse_broker_address(a.get("broker", "127.0.0.1:7070"));
  if (!opts) return cli::fail(opts.error().message, cli::exit_usage);

  const std::string& cmd = a.positional[0];
  int (*fn)(client::client&, const cli::args&) = nullptr;
  if (cmd == "topic") fn = cli::cmd_topic;
  else if (cmd == "produce") fn = cli::cmd_produce;
  else if (cmd == "consume") fn = cli::cmd_consume;
  else if (cmd == "stream") fn = cli::cmd_stream;
  else if (cmd == "verify") fn = cli::cmd_verify;
  else if (cmd == "projection") fn = cli::cmd_projection;
  else if (cmd == "forsendelse") fn = cli::cmd_forsendelse;
  else if (cmd == "reskontra") fn = cli::cmd_reskontra;
  else if (cmd == "audit") fn = cli::cmd_audit;
  else if (cmd == "group") fn = cli::cmd_group;
  else return cli::fail("unknown command '" + cmd + "' (muninn --help)", cli::exit_usage);

  if (cmd == "consume" && (a.has("follow") || a.has("group"))) {
    // Handled by sigtimedwait in consume; blocked before the client's thread starts.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
  }
  int rc = 0;
  {
    client::client c(*opts);
    rc = fn(c, a);
  }
  cli::flush_output();
  return rc;
}
