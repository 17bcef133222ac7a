// labrpc/runtime/trace.cc
//
// The trace recorder; see trace.h. Its lock is a std::mutex, never a
// lab::Mutex: recording must not add a scheduling point.

#include "labrpc/runtime/trace.h"

#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "labrpc/runtime/internal.h"
#include "labrpc/runtime/log.h"

namespace lab::trace {
namespace internal {
std::atomic<bool> g_on{false};
}  // namespace internal

namespace {

// Debian's Abseil has its own string_view.
absl::string_view A(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Kinds kept in the ring (the bulk); the others are always kept.
bool InRing(std::string_view kind) { return kind == "rpc" || kind == "log"; }

struct PeerState {
  std::map<std::string, int64_t, std::less<>> ints;
  std::string role;
};

struct Recorder {
  std::mutex mu;
  bool on = false;
  RunInfo info;
  Options options;
  std::vector<std::string> peers;
  std::vector<std::string> clients;
  int64_t seq = 0;
  int64_t next_id = 0;
  int64_t dropped = 0;
  int64_t last_t = 0;  // the latest record's t (EndRun may come after the world)
  // Records as (seq, line without the newline).
  std::deque<std::pair<int64_t, std::string>> ring;
  std::deque<std::pair<int64_t, std::string>> kept;
  std::map<std::string, PeerState, std::less<>> states;
  std::set<std::string> seen;  // FirstTime's keys
  std::string end_line;  // set by EndRun
  // Files a failing run was written to: a later passing run of the same
  // process does not overwrite them.
  std::set<std::string> failing_files;
};

Recorder& R() {
  static Recorder* r = new Recorder;
  return *r;
}

// Microseconds of runtime time since the calling task's world started.
int64_t SinceStart() {
  lab::internal::TaskBase* t = lab::internal::CurrentTask();
  if (t == nullptr) return 0;
  return absl::ToInt64Microseconds(t->rt->Now() - t->rt->start_time);
}

// Adds a record; r.mu held.
void AddLocked(Recorder& r, std::string_view kind, std::string_view fields) {
  const int64_t seq = r.seq++;
  r.last_t = std::max(r.last_t, SinceStart());
  std::string line = absl::StrCat("{\"kind\":", Quote(kind), ",\"t\":", r.last_t,
                                  ",\"seq\":", seq, fields.empty() ? "" : ",", A(fields), "}");
  if (!InRing(kind)) {
    r.kept.emplace_back(seq, std::move(line));
    return;
  }
  r.ring.emplace_back(seq, std::move(line));
  while (static_cast<int64_t>(r.ring.size()) > r.options.ring) {
    r.ring.pop_front();
    ++r.dropped;
  }
}

std::string RunLineLocked(const Recorder& r) {
  Fields f;
  f.Int("schema", 1).Str("test", r.info.test).Str("runtime", r.info.runtime);
  if (r.info.seed.has_value()) f.Int("seed", static_cast<int64_t>(*r.info.seed));
  f.StrList("peers", r.peers).StrList("clients", r.clients).Str("replay", r.info.replay);
  // First, with seq 0: the others are numbered from 1.
  return absl::StrCat("{\"kind\":\"run\",\"t\":0,\"seq\":0,", f.json(), "}");
}

std::vector<std::string> LinesLocked(const Recorder& r) {
  std::vector<std::string> out;
  out.reserve(r.ring.size() + r.kept.size() + 2);
  out.push_back(RunLineLocked(r));
  // Merge the two queues by seq.
  auto a = r.ring.begin(), b = r.kept.begin();
  while (a != r.ring.end() || b != r.kept.end()) {
    if (b == r.kept.end() || (a != r.ring.end() && a->first < b->first)) {
      out.push_back((a++)->second);
    } else {
      out.push_back((b++)->second);
    }
  }
  if (!r.end_line.empty()) out.push_back(r.end_line);
  return out;
}

absl::Status WriteLocked(const Recorder& r) {
  if (r.options.path.empty()) return absl::OkStatus();
  std::ofstream out(r.options.path, std::ios::trunc);
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", r.options.path));
  for (const std::string& line : LinesLocked(r)) out << line << '\n';
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("error writing ", r.options.path));
  return absl::OkStatus();
}

// Ends the run; r.mu held.
absl::Status EndLocked(Recorder& r, bool passed) {
  const int64_t seq = r.seq++;
  r.last_t = std::max(r.last_t, SinceStart());
  r.end_line = absl::StrCat("{\"kind\":\"end\",\"t\":", r.last_t, ",\"seq\":", seq,
                            ",\"passed\":", passed ? "true" : "false",
                            ",\"dropped\":", r.dropped, "}");
  r.on = false;
  internal::g_on.store(false);
  if (!r.options.path.empty()) {
    if (passed && r.failing_files.count(r.options.path) > 0) return absl::OkStatus();
    if (!passed) r.failing_files.insert(r.options.path);
  }
  return WriteLocked(r);
}

}  // namespace

// --- Fields -------------------------------------------------------------------

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  // Bytes that are not UTF-8 would make the line invalid JSON for strict
  // readers; commands are printable in practice, and viewers are lenient.
  out += '"';
  return out;
}

void Fields::Key(std::string_view key) {
  if (!s_.empty()) s_ += ',';
  absl::StrAppend(&s_, "\"", A(key), "\":");
}

Fields& Fields::Str(std::string_view key, std::string_view value) {
  Key(key);
  s_ += Quote(value);
  return *this;
}

Fields& Fields::Int(std::string_view key, int64_t value) {
  Key(key);
  absl::StrAppend(&s_, value);
  return *this;
}

Fields& Fields::Bool(std::string_view key, bool value) {
  Key(key);
  s_ += value ? "true" : "false";
  return *this;
}

Fields& Fields::Raw(std::string_view key, std::string_view json) {
  Key(key);
  s_ += json;
  return *this;
}

Fields& Fields::StrList(std::string_view key, const std::vector<std::string>& values) {
  Key(key);
  s_ += '[';
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) s_ += ',';
    s_ += Quote(values[i]);
  }
  s_ += ']';
  return *this;
}

Fields& Fields::Merge(const Fields& more) {
  if (more.s_.empty()) return *this;
  if (!s_.empty()) s_ += ',';
  s_ += more.s_;
  return *this;
}

// --- Recording -------------------------------------------------------------------

void Emit(std::string_view kind, const Fields& fields) {
  if (!On()) return;
  Recorder& r = R();
  std::lock_guard<std::mutex> l(r.mu);
  if (!r.on) return;
  AddLocked(r, kind, fields.json());
}

int64_t NewId() {
  Recorder& r = R();
  std::lock_guard<std::mutex> l(r.mu);
  return ++r.next_id;
}

void State(std::string_view peer, const StateUpdate& u) {
  if (!On()) return;
  Recorder& r = R();
  std::lock_guard<std::mutex> l(r.mu);
  if (!r.on) return;
  PeerState& s = r.states[std::string(peer)];
  Fields f;
  f.Str("peer", peer);
  bool changed = false;
  auto maybe = [&](const char* key, const std::optional<int64_t>& v) {
    if (!v.has_value()) return;
    auto it = s.ints.find(key);
    if (it != s.ints.end() && it->second == *v) return;
    s.ints[key] = *v;
    f.Int(key, *v);
    changed = true;
  };
  maybe("term", u.term);
  if (u.role.has_value() && *u.role != s.role) {
    s.role = *u.role;
    f.Str("role", *u.role);
    changed = true;
  }
  maybe("commit", u.commit);
  maybe("applied", u.applied);
  maybe("log_len", u.log_len);
  maybe("snapshot_index", u.snapshot_index);
  if (changed) AddLocked(r, "state", f.json());
}

std::pair<std::string, int64_t> LastRole(std::string_view peer) {
  Recorder& r = R();
  std::lock_guard<std::mutex> l(r.mu);
  auto it = r.states.find(peer);
  if (it == r.states.end()) return {"", -1};
  auto term = it->second.ints.find("term");
  return {it->second.role, term == it->second.ints.end() ? -1 : term->second};
}

std::string PeerName(int i) {
  Recorder& r = R();
  std::lock_guard<std::mutex> l(r.mu);
  if (i < 0 || i >= static_cast<int>(r.peers.size())) return absl::StrCat(i);
  return r.peers[static_cast<size_t>(i)];
}

bool FirstTime(std::string_view key) {
  Recorder& r = R();
  std::lock_guard<std::mutex> l(r.mu);
  return r.seen.insert(std::string(key)).second;
}

ActorScope::ActorScope(std::string actor) {
  lab::internal::TaskBase* t = lab::internal::CurrentTask();
  if (t == nullptr) return;
  saved_ = std::exchange(t->trace_actor, std::move(actor));
}

ActorScope::~ActorScope() {
  lab::internal::TaskBase* t = lab::internal::CurrentTask();
  if (t != nullptr) t->trace_actor = std::move(saved_);
}

std::string CurrentActor() {
  lab::internal::TaskBase* t = lab::internal::CurrentTask();
  if (t == nullptr) return "";
  if (!t->trace_actor.empty()) return t->trace_actor;
  if (t->group == t->rt->root_group()) return "tester";
  return t->group->name;
}

// --- Runs ------------------------------------------------------------------------

void BeginRun(const RunInfo& info, const Options& options) {
  {
    Recorder& r = R();
    std::lock_guard<std::mutex> l(r.mu);
    r.on = true;
    r.info = info;
    r.options = options;
    if (r.options.ring < 1) r.options.ring = 1;
    r.peers.clear();
    r.clients.clear();
    r.seq = 1;  // 0 is the run record's
    r.next_id = 0;
    r.dropped = 0;
    r.last_t = 0;
    r.ring.clear();
    r.kept.clear();
    r.states.clear();
    r.seen.clear();
    r.end_line.clear();
    internal::g_on.store(true);
  }
  lab::log_internal::Reconfigure();  // topics follow On()
}

void SetPeers(std::string_view prefix, int n) {
  Recorder& r = R();
  std::lock_guard<std::mutex> l(r.mu);
  r.peers.clear();
  for (int i = 0; i < n; ++i) r.peers.push_back(absl::StrCat(A(prefix), i));
}

void AddClient(std::string_view name) {
  Recorder& r = R();
  std::lock_guard<std::mutex> l(r.mu);
  r.clients.emplace_back(name);
}

absl::Status EndRun(bool passed) {
  absl::Status s;
  {
    Recorder& r = R();
    std::lock_guard<std::mutex> l(r.mu);
    if (!r.on) return absl::FailedPreconditionError("no trace is being recorded");
    s = EndLocked(r, passed);
  }
  lab::log_internal::Reconfigure();  // topics follow On()
  return s;
}

std::vector<std::string> Lines() {
  Recorder& r = R();
  std::lock_guard<std::mutex> l(r.mu);
  return LinesLocked(r);
}

absl::StatusOr<Options> OptionsFromEnv(std::string_view test) {
  Options options;
  if (const char* path = std::getenv("LAB_TRACE"); path != nullptr) {
    options.path = absl::StrReplaceAll(path, {{"{test}", A(test)}});
  }
  if (const char* ring = std::getenv("LAB_TRACE_RING"); ring != nullptr && *ring) {
    if (!absl::SimpleAtoi(ring, &options.ring) || options.ring < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "LAB_TRACE_RING=\"", ring,
          "\" is not a record count: use a positive number such as LAB_TRACE_RING=100000"));
    }
  }
  return options;
}

void BeginTestRun(const RunInfo& info) {
  absl::StatusOr<Options> options = OptionsFromEnv(info.test);
  if (!options.ok()) {
    std::fprintf(stderr, "lab: %s\n", std::string(options.status().message()).c_str());
    std::exit(2);
  }
  if (options->path.empty()) return;
  BeginRun(info, *options);
}

void EndTestRun(bool passed) {
  std::string path;
  {
    Recorder& r = R();
    std::lock_guard<std::mutex> l(r.mu);
    if (!r.on) return;
    path = r.options.path;
  }
  absl::Status s = EndRun(passed);
  if (!s.ok()) {
    std::fprintf(stderr, "lab: trace not written: %s\n", std::string(s.message()).c_str());
  } else if (!path.empty()) {
    std::printf("trace: %s\n", path.c_str());
    std::fflush(stdout);
  }
}

void RecordFatal(std::string_view text) {
  if (!On()) return;
  Recorder& r = R();
  // The process is about to end, maybe from a watchdog thread while a task
  // holds the lock: skip rather than wait.
  std::unique_lock<std::mutex> l(r.mu, std::try_to_lock);
  if (!l.owns_lock() || !r.on) return;
  AddLocked(r, "failure", Fields().Str("text", text).json());
  (void)EndLocked(r, /*passed=*/false);
}

}  // namespace lab::trace
