// kvraft/config.cc
//
// The Lab 3 tester; see config.h. Framework, not student code.

#include "kvraft/config.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "raft/trace_hooks.h"

namespace kvraft {
namespace {

// The most clerk calls a test records. A correct service completes a few
// thousand; a Clerk that returns without reaching a server lets the
// clients loop while virtual time stands still (the clock only moves to the
// next timer after many steps), and their history would grow until the run
// runs out of memory instead of failing.
constexpr size_t kMaxHistory = size_t{1} << 20;

// How the clerks' messages appear in traces (key, op, sizes; not the
// fields a solution adds).
const bool kTraceFieldsRegistered = [] {
  using lab::trace::Fields;
  labrpc::DescribeInTrace<GetArgs>([](const GetArgs& a, Fields& f) { f.Str("key", a.key); });
  labrpc::DescribeInTrace<GetReply>([](const GetReply& r, Fields& f) {
    f.Str("err", r.err).Int("value_bytes", static_cast<int64_t>(r.value.size()));
  });
  labrpc::DescribeInTrace<PutAppendArgs>([](const PutAppendArgs& a, Fields& f) {
    f.Str("op", a.op).Str("key", a.key).Int("value_bytes", static_cast<int64_t>(a.value.size()));
  });
  labrpc::DescribeInTrace<PutAppendReply>(
      [](const PutAppendReply& r, Fields& f) { f.Str("err", r.err); });
  return true;
}();

// Servers' names in traces.
std::vector<std::string> TraceNames(const std::vector<int>& servers) {
  std::vector<std::string> names;
  for (int i : servers) names.push_back(lab::trace::PeerName(i));
  return names;
}

std::string ShowSet(const std::vector<int>& servers) {
  return absl::StrCat("[", absl::StrJoin(servers, " "), "]");
}

// Where the visualization of a non-linearizable history goes: Bazel keeps
// files written to TEST_UNDECLARED_OUTPUTS_DIR; otherwise $TMPDIR or /tmp.
std::string VisualizationPath() {
  std::string dir = "/tmp";
  if (const char* d = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR"); d != nullptr && *d) {
    dir = d;
  } else if (const char* t = std::getenv("TMPDIR"); t != nullptr && *t) {
    dir = t;
  }
  std::string test = "kvraft";
  if (const ::testing::TestInfo* info =
          ::testing::UnitTest::GetInstance()->current_test_info()) {
    test = absl::StrCat(info->test_suite_name(), ".", info->name());
  }
  return absl::StrCat(dir, "/", test, "-", getpid(), ".html");
}

}  // namespace

// --- Set-up and teardown -------------------------------------------------------

Config::Config(int n, bool unreliable, int64_t maxraftstate)
    : Tester(n, {.name = "kvraft tester", .server = "server", .prefix = "kv-"}),
      maxraftstate_(maxraftstate),
      monitor_(n, "server") {
  {
    lab::MutexLock l(&mu_);
    servers_.resize(n);
    saved_.resize(n);
    end_names_.resize(n);
  }
  // Unlike Lab 2's tester, no long delays: a call on a disabled end fails
  // within 100 ms (as in Go's kvraft config), so clerks move on quickly.
  net_->Reliable(!unreliable);

  StartWatchdog();

  for (int i = 0; i < n; ++i) StartServer(i);
  ConnectAll();
}

Config::~Config() {
  StopTesterTasks();  // first: they call into servers
  std::vector<std::shared_ptr<Server>> servers;
  std::vector<std::shared_ptr<void>> zombies;
  std::vector<std::unique_ptr<Client>> clients;
  {
    lab::MutexLock l(&mu_);
    servers = std::move(servers_);
    zombies = std::move(zombies_);
    clients = std::move(clients_);
  }
  clients.clear();
  StopServers(std::move(servers));
  zombies.clear();
  net_.reset();
}

std::vector<int> Config::All() const {
  std::vector<int> all(static_cast<size_t>(n_));
  for (int i = 0; i < n_; ++i) all[static_cast<size_t>(i)] = i;
  return all;
}

std::shared_ptr<Config::Server> Config::ServerOf(int i) const {
  lab::MutexLock l(&mu_);
  return servers_[static_cast<size_t>(i)];
}

void Config::KillServersLocked() {
  for (const std::shared_ptr<Server>& server : servers_) {
    if (server != nullptr) server->group->Kill();
  }
}

int64_t Config::CostCountLocked() const { return ops_; }

// --- Servers and the network -------------------------------------------------------

void Config::ConnectLocked(int i, const std::vector<int>& to, bool enabled) {
  for (int j : to) {
    if (!end_names_[static_cast<size_t>(i)].empty()) {
      net_->Enable(end_names_[static_cast<size_t>(i)][static_cast<size_t>(j)], enabled);
    }
    if (!end_names_[static_cast<size_t>(j)].empty()) {
      net_->Enable(end_names_[static_cast<size_t>(j)][static_cast<size_t>(i)], enabled);
    }
  }
}

void Config::Partition(const std::vector<int>& p1, const std::vector<int>& p2) {
  {
    lab::MutexLock l(&mu_);
    for (int i : p1) {
      ConnectLocked(i, p2, false);
      ConnectLocked(i, p1, true);
    }
    for (int i : p2) {
      ConnectLocked(i, p1, false);
      ConnectLocked(i, p2, true);
    }
  }
  NoteEvent(absl::StrCat("partition ", ShowSet(p1), " | ", ShowSet(p2)));
  raft::tracing::Partition({TraceNames(p1), TraceNames(p2)});
}

void Config::ConnectAll() {
  {
    lab::MutexLock l(&mu_);
    for (int i = 0; i < n_; ++i) ConnectLocked(i, All(), true);
  }
  NoteEvent("all servers connected");
  raft::tracing::Partition({TraceNames(All())});
}

std::optional<int> Config::Leader() {
  for (int i = 0; i < n_; ++i) {
    std::shared_ptr<Server> server = ServerOf(i);
    if (server == nullptr) continue;
    std::pair<int64_t, bool> state;
    {
      lab::TaskGroup::Scope scope(*server->group);
      state = server->service->raft()->GetState();
    }
    ReportViolation(monitor_.ObserveState(i, state.first, state.second));
    if (state.second) return i;
  }
  return std::nullopt;
}

std::pair<std::vector<int>, std::vector<int>> Config::MakePartition() {
  // As Go's make_partition: n/2 + 1 of the other servers form the majority;
  // the minority is the rest of them and the leader (or server 0 if none),
  // so the old leader finds itself deposed.
  const int leader = Leader().value_or(0);
  std::vector<int> p1;
  std::vector<int> p2;
  for (int i = 0; i < n_; ++i) {
    if (i == leader) continue;
    if (static_cast<int>(p1.size()) < n_ / 2 + 1) {
      p1.push_back(i);
    } else {
      p2.push_back(i);
    }
  }
  p2.push_back(leader);
  return {p1, p2};
}

void Config::ShutdownServer(int i) {
  std::shared_ptr<Server> server;
  std::vector<std::string> ends;
  {
    lab::MutexLock l(&mu_);
    ConnectLocked(i, All(), false);
    // Delete the server before replacing the persister: else it could give
    // a clerk a positive reply for an operation it persisted in the old one.
    net_->DeleteServer(ServerName(i));
    // Before the copy: a vote the old instance grants from now on is not one.
    monitor_.Crashed(i);
    if (saved_[static_cast<size_t>(i)] != nullptr) {
      saved_[static_cast<size_t>(i)] = saved_[static_cast<size_t>(i)]->Copy();
    }
    server = std::move(servers_[static_cast<size_t>(i)]);
    // The killed instance's ends (Retire points them at a sentinel).
    ends = std::move(end_names_[static_cast<size_t>(i)]);
    end_names_[static_cast<size_t>(i)].clear();
  }
  // Kill as in Go: KVServer::Kill (which kills its Raft) now, its tasks
  // after a grace period.
  if (server != nullptr) raft::tracing::Crash(ServerName(i));
  if (server != nullptr) Retire(i, std::move(server), ends);
  NoteEvent(absl::StrCat("server ", i, " shut down"));
}

void Config::StartServer(int i) {
  CheckFailed();
  std::vector<std::string> names(static_cast<size_t>(n_));
  std::shared_ptr<labrpc::Persister> persister;
  {
    lab::MutexLock l(&mu_);
    const int64_t generation = ++end_counter_;
    for (int j = 0; j < n_; ++j) {
      names[static_cast<size_t>(j)] = absl::StrCat("kv", i, "->", j, "#", generation);
    }
    // A copy of what the previous instance persisted (the spec: a server
    // starts from the last persisted state, which it cannot then change).
    auto& saved = saved_[static_cast<size_t>(i)];
    saved = saved != nullptr ? saved->Copy() : std::make_shared<labrpc::Persister>();
    persister = saved;
  }
  std::vector<std::shared_ptr<labrpc::ClientEnd>> ends(static_cast<size_t>(n_));
  for (int j = 0; j < n_; ++j) {
    ends[static_cast<size_t>(j)] = net_->MakeEnd(names[static_cast<size_t>(j)]);
    net_->Connect(names[static_cast<size_t>(j)], ServerName(j));
  }

  auto server = std::make_shared<Server>();
  server->group = std::make_unique<lab::TaskGroup>(ServerName(i));
  {
    lab::TaskGroup::Scope scope(*server->group);
    server->service = std::make_unique<KVServer>(ends, i, persister, maxraftstate_);
  }
  KVServer* kv = server->service.get();
  raft::Raft* rf = kv->raft();
  auto kv_service = std::make_shared<labrpc::Service>("KVServer");
  kv_service->Register("Get", kv, &KVServer::Get);
  kv_service->Register("PutAppend", kv, &KVServer::PutAppend);
  auto raft_service = MakeRaftService(i, rf);
  auto rpc_server = std::make_shared<labrpc::Server>(server->group.get());
  rpc_server->AddService(kv_service);
  rpc_server->AddService(raft_service);
  {
    lab::MutexLock l(&mu_);
    end_names_[static_cast<size_t>(i)] = names;
    servers_[static_cast<size_t>(i)] = std::move(server);
  }
  net_->AddServer(ServerName(i), std::move(rpc_server));
  NoteEvent(absl::StrCat("server ", i, " started"));
  raft::tracing::Tester("restart", raft::tracing::Peer(ServerName(i)));
}

std::shared_ptr<labrpc::Service> Config::MakeRaftService(int i, raft::Raft* rf) {
  // The monitor's wrappers make no runtime call unless it finds a violation,
  // so they leave every schedule as it was.
  auto svc = std::make_shared<labrpc::Service>("Raft");
  const int64_t instance = monitor_.Instance(i);
  svc->Register<raft::RequestVoteArgs, raft::RequestVoteReply>(
      "RequestVote",
      [this, i, rf, instance](const raft::RequestVoteArgs& args, raft::RequestVoteReply* reply) {
        rf->RequestVote(args, reply);
        ReportViolation(monitor_.ObserveRequestVote(i, args, *reply, instance));
      });
  svc->Register<raft::AppendEntriesArgs, raft::AppendEntriesReply>(
      "AppendEntries",
      [this, i, rf](const raft::AppendEntriesArgs& args, raft::AppendEntriesReply* reply) {
        ReportViolation(monitor_.ObserveAppendEntries(i, args));
        rf->AppendEntries(args, reply);
        monitor_.ObserveAppendEntriesReply(i, args, *reply);
      });
  svc->Register<raft::InstallSnapshotArgs, raft::InstallSnapshotReply>(
      "InstallSnapshot",
      [this, i, rf](const raft::InstallSnapshotArgs& args, raft::InstallSnapshotReply* reply) {
        ReportViolation(monitor_.ObserveInstallSnapshot(i, args));
        rf->InstallSnapshot(args, reply);
        monitor_.ObserveInstallSnapshotReply(i, args, *reply);
      });
  return svc;
}

void Config::ReportViolation(const std::string& violation) {
  if (violation.empty()) return;
  raft::tracing::Violation(violation);
  RecordFailure(absl::StrCat(violation, "; ", monitor_.DescribePeers(),
                             "; replay: ", raft::CurrentReplayCommand()));
}

int64_t Config::LogSize() const {
  lab::MutexLock l(&mu_);
  int64_t most = 0;
  for (const auto& p : saved_) {
    if (p != nullptr) most = std::max(most, p->RaftStateSize());
  }
  return most;
}

int64_t Config::SnapshotSize() const {
  lab::MutexLock l(&mu_);
  int64_t most = 0;
  for (const auto& p : saved_) {
    if (p != nullptr) most = std::max(most, p->SnapshotSize());
  }
  return most;
}

// --- Clerks ---------------------------------------------------------------------------

Config::Client* Config::MakeClient(const std::vector<int>& to) {
  auto client = std::make_unique<Client>();
  std::vector<std::shared_ptr<labrpc::ClientEnd>> ends(static_cast<size_t>(n_));
  {
    lab::MutexLock l(&mu_);
    client->id = next_client_id_++;
    lab::trace::AddClient(absl::StrCat("clerk ", client->id));
    const int64_t generation = ++end_counter_;
    for (int j = 0; j < n_; ++j) {
      client->end_names.push_back(absl::StrCat("clerk", client->id, "->", j, "#", generation));
    }
  }
  for (int j = 0; j < n_; ++j) {
    ends[static_cast<size_t>(j)] = net_->MakeEnd(client->end_names[static_cast<size_t>(j)]);
    net_->Connect(client->end_names[static_cast<size_t>(j)], ServerName(j));
  }
  // Shuffled, so the clerk cannot tell which end is which server.
  for (int k = n_ - 1; k > 0; --k) {
    std::swap(ends[static_cast<size_t>(k)], ends[static_cast<size_t>(lab::RandInt(0, k + 1))]);
  }
  client->clerk = std::make_unique<Clerk>(std::move(ends));
  Client* raw = client.get();
  ConnectClient(raw, to);
  lab::MutexLock l(&mu_);
  clients_.push_back(std::move(client));
  return raw;
}

void Config::DeleteClient(Client* client) {
  for (const std::string& name : client->end_names) net_->Enable(name, false);
  // The Clerk itself stays allocated until the Config goes: a tester task
  // may still be returning from a call on it.
}

void Config::ConnectClient(Client* client, const std::vector<int>& to) {
  for (int j : to) net_->Enable(client->end_names[static_cast<size_t>(j)], true);
}

void Config::DisconnectClient(Client* client, const std::vector<int>& from) {
  for (int j : from) net_->Enable(client->end_names[static_cast<size_t>(j)], false);
}

void Config::CountOp() {
  lab::MutexLock l(&mu_);
  ++ops_;
}

void Config::Record(linearizability::KvOperation op) {
  size_t recorded = 0;
  {
    lab::MutexLock l(&mu_);
    history_.push_back(std::move(op));
    recorded = history_.size();
  }
  if (recorded > kMaxHistory) {
    Fail(absl::StrCat("the clerks completed more than ", kMaxHistory, " calls in ",
                      absl::FormatDuration(lab::Now() - start_),
                      ": do Get, Put and Append wait for a server's answer?"));
  }
}

void Config::NoteEvent(std::string description) {
  lab::MutexLock l(&mu_);
  events_.push_back(linearizability::FaultEvent{lab::Now(), std::move(description)});
}

std::string Config::Get(Client* client, const std::string& key, bool record, int cli) {
  CheckFailed();
  const absl::Time call = lab::Now();
  raft::tracing::ClerkOp trace(client->id, "get", key, "");
  std::string value = client->clerk->Get(key);
  trace.Return(value);
  const absl::Time ret = lab::Now();
  CountOp();
  if (record) {
    Record({cli, linearizability::KvOp::kGet, key, "", value, call, ret});
  }
  return value;
}

void Config::Put(Client* client, const std::string& key, const std::string& value, bool record,
                 int cli) {
  CheckFailed();
  const absl::Time call = lab::Now();
  raft::tracing::ClerkOp trace(client->id, "put", key, value);
  client->clerk->Put(key, value);
  trace.Return("");
  const absl::Time ret = lab::Now();
  CountOp();
  if (record) Record({cli, linearizability::KvOp::kPut, key, value, "", call, ret});
}

void Config::Append(Client* client, const std::string& key, const std::string& value,
                    bool record, int cli) {
  CheckFailed();
  const absl::Time call = lab::Now();
  raft::tracing::ClerkOp trace(client->id, "append", key, value);
  client->clerk->Append(key, value);
  trace.Return("");
  const absl::Time ret = lab::Now();
  CountOp();
  if (record) Record({cli, linearizability::KvOp::kAppend, key, value, "", call, ret});
}

void Config::Check(Client* client, const std::string& key, const std::string& expected) {
  const std::string value = Get(client, key);
  if (value != expected) {
    Fail(absl::StrCat("Get(", key, "): expected:\n", expected, "\nreceived:\n", value));
  }
}

// --- The linearizability check --------------------------------------------------------

void Config::CheckLinearizable() {
  CheckFailed();
  std::vector<linearizability::KvOperation> history;
  linearizability::KvCheckOptions options;
  {
    lab::MutexLock l(&mu_);
    history = history_;
    options.events = events_;
  }
  options.budget = kLinearizabilityBudget;
  options.visualization_path = VisualizationPath();
  options.title = raft::CurrentReplayCommand();
  const linearizability::KvCheckResult result = linearizability::CheckKvHistory(history, options);
  switch (result.verdict) {
    case linearizability::Verdict::kOk:
      return;
    case linearizability::Verdict::kUnknown:
      std::printf("info: linearizability check timed out, assuming history is ok (%s)\n",
                  result.summary.c_str());
      return;
    case linearizability::Verdict::kIllegal:
      Fail(absl::StrCat("history is not linearizable: ", result.summary,
                        result.visualization_path.empty()
                            ? ""
                            : absl::StrCat("\nvisualization: ", result.visualization_path)));
  }
}

void RunKvTest(const std::function<void()>& body) {
  raft::RunLabTest("bazel-bin/kvraft/kvraft_test", body);
}

}  // namespace kvraft
