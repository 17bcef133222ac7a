// labrpc/runtime/log.cc
//
// LAB_LOG's topics and lines; see log.h.

#include "labrpc/runtime/log.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "labrpc/runtime/internal.h"
#include "labrpc/runtime/trace.h"

namespace lab {
namespace log_internal {
std::atomic<uint32_t> g_generation{1};
}  // namespace log_internal

namespace {

struct Config {
  std::mutex mu;
  bool loaded = false;  // from LAB_LOG, at the first use
  LogTopics topics;
};

Config& C() {
  static Config* c = new Config;
  return *c;
}

// Loads LAB_LOG once; c.mu held. A bad value ends the process (a program
// without a World would otherwise never hear of it).
void LoadLocked(Config& c) {
  if (c.loaded) return;
  c.loaded = true;
  const char* env = std::getenv("LAB_LOG");
  if (env == nullptr) return;
  absl::StatusOr<LogTopics> topics = ParseLogTopics(env);
  if (!topics.ok()) {
    std::fprintf(stderr, "lab: %s\n", std::string(topics.status().message()).c_str());
    std::exit(2);
  }
  c.topics = *std::move(topics);
}

bool IsWord(absl::string_view s) {
  if (s.empty()) return false;
  for (char ch : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(ch)) && ch != '_') return false;
  }
  return true;
}

}  // namespace

bool LogTopics::Prints(std::string_view topic) const {
  const std::string t(topic);
  if (off.count(t) > 0) return false;
  return all || on.count(t) > 0;
}

absl::StatusOr<LogTopics> ParseLogTopics(std::string_view value) {
  LogTopics topics;
  const absl::string_view all(value.data(), value.size());
  for (absl::string_view item : absl::StrSplit(all, ',')) {
    item = absl::StripAsciiWhitespace(item);
    if (item.empty() && absl::StripAsciiWhitespace(all).empty()) continue;
    const bool minus = absl::ConsumePrefix(&item, "-");
    if (!IsWord(item)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "LAB_LOG=\"", std::string(value), "\": \"", std::string(item),
          "\" is not a topic. Write topics (words of letters, digits and _) separated by "
          "commas, such as LAB_LOG=VOTE,LEAD; LAB_LOG=all for every topic; "
          "LAB_LOG=all,-TIMER for all but one"));
    }
    std::string word = absl::AsciiStrToUpper(item);
    if (word == "ALL" && !minus) {
      topics.all = true;
    } else if (minus) {
      topics.off.insert(std::move(word));
    } else {
      topics.on.insert(std::move(word));
    }
  }
  return topics;
}

absl::Status SetLogTopics(std::string_view value) {
  absl::StatusOr<LogTopics> topics = ParseLogTopics(value);
  if (!topics.ok()) return topics.status();
  {
    Config& c = C();
    std::lock_guard<std::mutex> l(c.mu);
    c.loaded = true;
    c.topics = *std::move(topics);
  }
  log_internal::Reconfigure();
  return absl::OkStatus();
}

absl::Status CheckLogEnv() {
  const char* env = std::getenv("LAB_LOG");
  if (env == nullptr) return absl::OkStatus();
  return ParseLogTopics(env).status();
}

namespace log_internal {

Topic::Topic(std::string_view name)
    : name_(absl::AsciiStrToUpper(absl::StripSuffix(
          absl::StripPrefix(absl::string_view(name.data(), name.size()), "\""), "\""))) {}

bool Topic::Refresh() {
  uint32_t bits = 0;
  uint32_t generation;
  {
    Config& c = C();
    std::lock_guard<std::mutex> l(c.mu);
    LoadLocked(c);
    generation = g_generation.load();
    if (c.topics.Prints(name_)) bits |= 1;
  }
  if (trace::On()) bits |= 2;
  state_.store(generation << 2 | bits, std::memory_order_relaxed);
  return bits != 0;
}

void Topic::Write(std::string_view text) {
  const uint32_t s = state_.load(std::memory_order_relaxed);
  internal::TaskBase* t = internal::CurrentTask();
  const std::string_view task = t != nullptr ? std::string_view(t->name) : "-";
  if (s & 1) {
    const int64_t micros =
        t != nullptr ? absl::ToInt64Microseconds(t->rt->Now() - t->rt->start_time) : 0;
    const std::string_view peer = t != nullptr ? std::string_view(t->group->name) : "-";
    const std::string line = FormatLine(micros, peer, task, name_, text);
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
  if ((s & 2) && trace::On()) {
    const std::string actor = trace::CurrentActor();
    trace::Emit("log", trace::Fields()
                           .Str("peer", actor.empty() ? "-" : actor)
                           .Str("task", task)
                           .Str("topic", name_)
                           .Str("text", text));
  }
}

void Reconfigure() { g_generation.fetch_add(1); }

std::string FormatLine(int64_t micros, std::string_view peer, std::string_view task,
                       std::string_view topic, std::string_view text) {
  // Seconds with milliseconds; peer, topic and task padded so that the
  // texts line up.
  return absl::StrFormat("%4d.%03d %-8s %-7s %-16s %s\n", micros / 1000000,
                         (micros / 1000) % 1000, peer, topic, task, text);
}

}  // namespace log_internal
}  // namespace lab
