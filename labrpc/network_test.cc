// labrpc/network_test.cc
//
// Tests of the simulated network (network.h):
//   NetworkTest         ports of the Go labrpc tests, plus dead-server and
//                       task-group semantics; each body runs under both
//                       runtimes (NetworkTest/threads, NetworkTest/sim).
//   NetworkFaultTest    the fault knobs, and Go's rules for messages in
//                       flight when a link is cut (network.cc's rules 1-8),
//                       measured over many calls, in sim only: virtual time
//                       makes long delays free and the seed fixes the
//                       figures (bounds are ~5 sigma, so they hold for other
//                       LAB_SEEDs too).
//   NetworkDeterminismTest  one seed replays a busy unreliable run exactly.
//   NetworkDeathTest    mistakes stop the program with a message that says
//                       what is wrong.
// The ...InFlight tests run in a child process, so a crash there (a call
// racing the teardown of a handler group) fails only that test.
// The numbers are those of TESTS.md ("labrpc").

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "labrpc/codec.h"
#include "labrpc/network.h"
#include "labrpc/runtime/lab.h"
#include "labrpc/runtime/testing.h"

namespace labrpc {
namespace {

// --- Messages and the junk server (Go's JunkServer) -------------------------

struct Words {
  int64_t x = 0;
  std::vector<std::string> words;
  std::map<std::string, int64_t> tally;
  template <class A>
  void serialize(A& a) {
    a(x, words, tally);
  }
};

struct WordsReply {
  int64_t x = 0;
  std::string joined;
  template <class A>
  void serialize(A& a) {
    a(x, joined);
  }
};

// Two look-alike pairs, for the type-mismatch messages.
struct PutArgs {
  std::string key;
  template <class A>
  void serialize(A& a) {
    a(key);
  }
};
struct PutReply {
  int64_t err = 0;
  template <class A>
  void serialize(A& a) {
    a(err);
  }
};
struct GetArgs {
  std::string key;
  template <class A>
  void serialize(A& a) {
    a(key);
  }
};
struct GetReply {
  int64_t err = 0;
  template <class A>
  void serialize(A& a) {
    a(err);
  }
};

// Handlers of service "Junk". Thread-safe; handlers run concurrently.
class JunkServer {
 public:
  // "Junk.Atoi": the number a string spells (Go's Handler1).
  void Atoi(const std::string& args, int* reply) {
    if (!absl::SimpleAtoi(args, reply)) *reply = -1;
  }
  // "Junk.Greet": an int in, a string out (Go's Handler2).
  void Greet(const int& args, std::string* reply) { *reply = absl::StrCat("handler2-", args); }
  // "Junk.Join": a struct with containers in, a struct out.
  void Join(const Words& args, WordsReply* reply) {
    reply->x = args.x + static_cast<int64_t>(args.tally.size());
    for (const std::string& w : args.words) reply->joined += w;
  }
  // "Junk.Len": the length of the argument (Go's Handler6).
  void Len(const std::string& args, int* reply) { *reply = static_cast<int>(args.size()); }
  // "Junk.Repeat": a reply of `n` characters (Go's Handler7).
  void Repeat(const int& n, std::string* reply) { *reply = std::string(n, 'y'); }
  // "Junk.Record": notes that the handler ran for call `id`.
  void Record(const int64_t& id, int64_t* reply) {
    lab::MutexLock l(&mu_);
    handled_.insert(id);
    *reply = id;
  }
  // "Junk.Sleep": takes `ms` of runtime time.
  void Sleep(const int& ms, int* reply) {
    {
      lab::MutexLock l(&mu_);
      ++sleeping_;
    }
    lab::SleepFor(absl::Milliseconds(ms));
    lab::MutexLock l(&mu_);
    ++slept_;
    *reply = ms;
  }
  // "Junk.Block": never returns (Go's Handler5); only a kill ends it.
  void Block(const int& /*args*/, int* reply) {
    {
      lab::MutexLock l(&mu_);
      ++blocked_;
      block_task_ = std::string(lab::CurrentTaskName());
    }
    never_.Recv();  // nobody sends
    *reply = 1;
  }

  std::set<int64_t> handled() const {
    lab::MutexLock l(&mu_);
    return handled_;
  }
  int sleeping() const {
    lab::MutexLock l(&mu_);
    return sleeping_;
  }
  int slept() const {
    lab::MutexLock l(&mu_);
    return slept_;
  }
  int blocked() const {
    lab::MutexLock l(&mu_);
    return blocked_;
  }
  std::string block_task() const {
    lab::MutexLock l(&mu_);
    return block_task_;
  }

 private:
  mutable lab::Mutex mu_;
  std::set<int64_t> handled_ ABSL_GUARDED_BY(mu_);
  int sleeping_ ABSL_GUARDED_BY(mu_) = 0;
  int slept_ ABSL_GUARDED_BY(mu_) = 0;
  int blocked_ ABSL_GUARDED_BY(mu_) = 0;
  std::string block_task_ ABSL_GUARDED_BY(mu_);
  lab::Chan<int> never_;
};

std::shared_ptr<Service> MakeJunkService(JunkServer* junk) {
  auto svc = std::make_shared<Service>("Junk");
  svc->Register("Atoi", junk, &JunkServer::Atoi);
  svc->Register("Greet", junk, &JunkServer::Greet);
  svc->Register("Join", junk, &JunkServer::Join);
  svc->Register("Len", junk, &JunkServer::Len);
  svc->Register("Repeat", junk, &JunkServer::Repeat);
  svc->Register("Record", junk, &JunkServer::Record);
  svc->Register("Sleep", junk, &JunkServer::Sleep);
  svc->Register("Block", junk, &JunkServer::Block);
  return svc;
}

// A server with the Junk service at `address`. `junk` (and `group`, if
// given) must outlive the network's handler tasks: declare them before the
// Network.
std::shared_ptr<Server> AddJunkServer(Network& net, const std::string& address, JunkServer* junk,
                                      lab::TaskGroup* group = nullptr) {
  auto server = std::make_shared<Server>(group);
  server->AddService(MakeJunkService(junk));
  net.AddServer(address, server);
  return server;
}

// An enabled end named `name`, connected to `address`.
std::shared_ptr<ClientEnd> MakeConnectedEnd(Network& net, const std::string& name,
                                            const std::string& address) {
  auto end = net.MakeEnd(name);
  net.Connect(name, address);
  net.Enable(name, true);
  return end;
}

// --- Helpers -----------------------------------------------------------------

// Polls `pred` every millisecond of runtime time until it holds or `timeout`
// passes; returns its last value. Free in sim.
bool Eventually(const std::function<bool()>& pred, absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = lab::Now() + timeout;
  while (!pred()) {
    if (lab::Now() >= deadline) return pred();
    lab::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

// The outcome of a call made in another task, for the test to wait on.
class CallResult {
 public:
  void Set(bool ok) {
    lab::MutexLock l(&mu_);
    ok_ = ok;
    at_ = lab::Now();
    cv_.NotifyAll();
  }
  // The outcome, if it arrives within `timeout` of runtime time.
  std::optional<bool> WaitFor(absl::Duration timeout) {
    const absl::Time deadline = lab::Now() + timeout;
    lab::MutexLock l(&mu_);
    while (!ok_.has_value()) {
      if (!cv_.WaitUntil(&mu_, deadline)) break;
    }
    return ok_;
  }
  // When Set() was called.
  absl::Time at() {
    lab::MutexLock l(&mu_);
    return at_;
  }

 private:
  lab::Mutex mu_;
  lab::CondVar cv_;  // notified by Set
  std::optional<bool> ok_ ABSL_GUARDED_BY(mu_);
  absl::Time at_ ABSL_GUARDED_BY(mu_);
};

// The join timeout for client tasks: generous, it only bounds a failure.
constexpr absl::Duration kJoin = absl::Seconds(60);

class NetworkTest : public lab::testing::RuntimeTest {
 protected:
  // How long to give a call that should return promptly: the spec's bound
  // in sim (virtual time), generous slack on a loaded box in threads.
  absl::Duration Prompt(absl::Duration sim_bound) const {
    return sim() ? sim_bound : std::max(sim_bound, absl::Seconds(2));
  }

  // Runs `body` in a world in a child process and expects the child to end
  // normally with no failed assertion: a crash fails only this test.
  void ExpectCleanExit(std::function<void()> body) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_EXIT(
        {
          RunInWorld(body);
          std::fflush(stdout);
          std::exit(::testing::Test::HasFailure() ? 1 : 0);
        },
        ::testing::ExitedWithCode(0), "")
        << "replay: LAB_RUNTIME=" << lab::RuntimeName(runtime())
        << " LAB_SEED=" << lab::testing::TestSeed();
  }
};

// --- Ports of the Go labrpc tests --------------------------------------------

TEST_P(NetworkTest, Basic) {
  RunInWorld([] {
    JunkServer junk;
    Network net;
    auto server = AddJunkServer(net, "server99", &junk);
    auto end = MakeConnectedEnd(net, "end1-99", "server99");

    // One call reaches the handler and its reply comes back.
    std::string reply;
    EXPECT_TRUE(end->Call("Junk.Greet", 111, &reply));
    EXPECT_EQ(reply, "handler2-111");
    EXPECT_EQ(server->GetCount(), 1);
    EXPECT_EQ(net.GetCount("server99"), 1);
    EXPECT_EQ(net.GetTotalCount(), 1);
    EXPECT_EQ(net.GetCount("nobody"), 0);
  });
}

TEST_P(NetworkTest, Types) {
  RunInWorld([] {
    JunkServer junk;
    Network net;
    AddJunkServer(net, "server99", &junk);
    auto end = MakeConnectedEnd(net, "end1-99", "server99");

    // A string in and an int out, then an int in and a string out, on one
    // service.
    int n = 0;
    EXPECT_TRUE(end->Call("Junk.Atoi", std::string("9099"), &n));
    EXPECT_EQ(n, 9099);
    std::string s;
    EXPECT_TRUE(end->Call("Junk.Greet", 9099, &s));
    EXPECT_EQ(s, "handler2-9099");

    // A struct with containers crosses as a copy.
    Words w;
    w.x = 40;
    w.words = {"ab", "cd", "e"};
    w.tally = {{"a", 1}, {"b", 2}};
    WordsReply wr;
    EXPECT_TRUE(end->Call("Junk.Join", w, &wr));
    EXPECT_EQ(wr.x, 42);
    EXPECT_EQ(wr.joined, "abcde");
  });
}

TEST_P(NetworkTest, Disconnect) {
  RunInWorld([this] {
    JunkServer junk;
    Network net;
    auto server = AddJunkServer(net, "server99", &junk);
    auto end = net.MakeEnd("end1-99");
    net.Connect("end1-99", "server99");

    // Connected but not enabled: the call fails, the handler does not run,
    // the reply is untouched, and the failure comes within 100 ms.
    std::string reply;
    absl::Time start = lab::Now();
    EXPECT_FALSE(end->Call("Junk.Greet", 111, &reply));
    EXPECT_LT(lab::Now() - start, Prompt(absl::Milliseconds(100)));
    EXPECT_EQ(reply, "");
    EXPECT_EQ(server->GetCount(), 0);

    // Enabled: it works.
    net.Enable("end1-99", true);
    EXPECT_TRUE(end->Call("Junk.Greet", 111, &reply));
    EXPECT_EQ(reply, "handler2-111");
    EXPECT_EQ(server->GetCount(), 1);

    // Disabled again: it fails again.
    net.Enable("end1-99", false);
    std::string again;
    EXPECT_FALSE(end->Call("Junk.Greet", 112, &again));
    EXPECT_EQ(server->GetCount(), 1);
    EXPECT_EQ(net.GetTotalCount(), 3);  // failed calls count too
  });
}

TEST_P(NetworkTest, Counts) {
  RunInWorld([] {
    JunkServer junk;
    Network net;
    auto server = AddJunkServer(net, "server99", &junk);
    auto end = MakeConnectedEnd(net, "end1-99", "server99");

    // 17 calls: the server's count and the network's total are 17.
    for (int i = 0; i < 17; ++i) {
      std::string reply;
      ASSERT_TRUE(end->Call("Junk.Greet", i, &reply));
      EXPECT_EQ(reply, absl::StrCat("handler2-", i));
    }
    EXPECT_EQ(net.GetCount("server99"), 17);
    EXPECT_EQ(server->GetCount(), 17);
    EXPECT_EQ(net.GetTotalCount(), 17);
  });
}

TEST_P(NetworkTest, Bytes) {
  RunInWorld([] {
    JunkServer junk;
    Network net;
    AddJunkServer(net, "server99", &junk);
    auto end = MakeConnectedEnd(net, "end1-99", "server99");

    // 17 calls with a 288-byte string: the total counts each call's encoded
    // arguments and encoded reply (Go's bounds: [4828, 6000]). Exactly: a
    // counter that missed the replies would land inside Go's bounds too.
    const std::string args(288, 'x');
    const int64_t per_call = static_cast<int64_t>(Encode(args).size() + Encode(int{}).size());
    for (int i = 0; i < 17; ++i) {
      int reply = 0;
      ASSERT_TRUE(end->Call("Junk.Len", args, &reply));
      EXPECT_EQ(reply, 288);
    }
    const int64_t n = net.GetTotalBytes();
    std::printf("bytes: 17 calls of 288-char args -> %lld bytes (%lld per call)\n",
                static_cast<long long>(n), static_cast<long long>(per_call));
    EXPECT_GE(n, 4828);
    EXPECT_LE(n, 6000);
    EXPECT_EQ(n, 17 * per_call);

    // 17 calls whose replies are 107 characters: Go's bounds [1800, 2500].
    const int64_t per_call2 =
        static_cast<int64_t>(Encode(int{107}).size() + Encode(std::string(107, 'y')).size());
    for (int i = 0; i < 17; ++i) {
      std::string reply;
      ASSERT_TRUE(end->Call("Junk.Repeat", 107, &reply));
      EXPECT_EQ(reply.size(), 107u);
    }
    const int64_t nn = net.GetTotalBytes() - n;
    std::printf("bytes: 17 calls with 107-char replies -> %lld more bytes\n",
                static_cast<long long>(nn));
    EXPECT_GE(nn, 1800);
    EXPECT_LE(nn, 2500);
    EXPECT_EQ(nn, 17 * per_call2);
  });
}

TEST_P(NetworkTest, ManyConcurrentClients) {
  RunInWorld([] {
    JunkServer junk;
    Network net;
    AddJunkServer(net, "server99", &junk);

    // 20 clients, each with its own end, make 10 calls each at once: on a
    // reliable network all succeed and the count is exact.
    constexpr int kClients = 20, kCalls = 10;
    std::vector<std::atomic<int>> ok(kClients);
    {
      lab::TaskGroup clients("clients");
      for (int c = 0; c < kClients; ++c) {
        auto end = MakeConnectedEnd(net, absl::StrCat("end-", c), "server99");
        clients.Go(absl::StrCat("client-", c), [end, c, &ok] {
          for (int i = 0; i < kCalls; ++i) {
            std::string reply;
            const int arg = 100 * c + i;
            if (end->Call("Junk.Greet", arg, &reply) && reply == absl::StrCat("handler2-", arg)) {
              ok[c].fetch_add(1);
            }
          }
        });
      }
      ASSERT_TRUE(clients.Join(kJoin));
    }
    for (int c = 0; c < kClients; ++c) EXPECT_EQ(ok[c].load(), kCalls) << "client " << c;
    EXPECT_EQ(net.GetCount("server99"), kClients * kCalls);
    EXPECT_EQ(net.GetTotalCount(), kClients * kCalls);
  });
}

TEST_P(NetworkTest, Unreliable) {
  RunInWorld([] {
    JunkServer junk;
    Network net;
    auto server = AddJunkServer(net, "server99", &junk);
    net.Reliable(false);

    // 300 clients, one call each, on an unreliable network: some succeed
    // and some fail.
    constexpr int kClients = 300;
    std::atomic<int> succeeded{0};
    {
      lab::TaskGroup clients("clients");
      for (int c = 0; c < kClients; ++c) {
        auto end = MakeConnectedEnd(net, absl::StrCat("end-", c), "server99");
        clients.Go(absl::StrCat("client-", c), [end, c, &succeeded] {
          std::string reply;
          if (end->Call("Junk.Greet", c, &reply)) {
            EXPECT_EQ(reply, absl::StrCat("handler2-", c));
            succeeded.fetch_add(1);
          }
        });
      }
      ASSERT_TRUE(clients.Join(kJoin));
    }
    std::printf("unreliable: %d of %d calls succeeded, %lld handlers ran\n", succeeded.load(),
                kClients, static_cast<long long>(server->GetCount()));
    EXPECT_GT(succeeded.load(), 0);
    EXPECT_LT(succeeded.load(), kClients);
    EXPECT_GE(server->GetCount(), succeeded.load());  // every success ran a handler
    EXPECT_LT(server->GetCount(), kClients);          // and some requests were lost
    EXPECT_EQ(net.GetTotalCount(), kClients);
  });
}

TEST_P(NetworkTest, ConcurrentCallsOnOneEnd) {
  RunInWorld([] {
    JunkServer junk;
    Network net;
    AddJunkServer(net, "server99", &junk);
    auto end = MakeConnectedEnd(net, "end1-99", "server99");

    // 20 tasks share one end, 10 calls each: every call gets its own reply.
    constexpr int kTasks = 20, kCalls = 10;
    std::atomic<int> ok{0};
    {
      lab::TaskGroup callers("callers");
      for (int t = 0; t < kTasks; ++t) {
        callers.Go(absl::StrCat("caller-", t), [end, t, &ok] {
          for (int i = 0; i < kCalls; ++i) {
            const int arg = 100 * t + i;
            std::string reply;
            if (end->Call("Junk.Greet", arg, &reply) && reply == absl::StrCat("handler2-", arg)) {
              ok.fetch_add(1);
            }
          }
        });
      }
      ASSERT_TRUE(callers.Join(kJoin));
    }
    EXPECT_EQ(ok.load(), kTasks * kCalls);
    EXPECT_EQ(net.GetCount("server99"), kTasks * kCalls);
  });
}

TEST_P(NetworkTest, CallsRacingDeleteServer) {
  // Regression: many calls are in flight, their handlers sleeping, when the
  // server is deleted. Nothing crashes, and no call succeeds whose handler
  // finished after the delete or that started after it.
  RunInWorld([] {
    struct Race {
      lab::Mutex mu;
      bool deleted ABSL_GUARDED_BY(mu) = false;
      std::set<int64_t> finished_after_delete ABSL_GUARDED_BY(mu);
    };
    auto race = std::make_shared<Race>();
    auto svc = std::make_shared<Service>("Work");
    svc->Register<int64_t, int64_t>("Do", [race](const int64_t& id, int64_t* reply) {
      lab::SleepFor(absl::Milliseconds(lab::RandInt(0, 20)));
      lab::MutexLock l(&race->mu);
      if (race->deleted) race->finished_after_delete.insert(id);
      *reply = id;
    });
    Network net;
    auto server = std::make_shared<Server>();
    server->AddService(svc);
    net.AddServer("server", server);

    struct Outcome {
      int64_t id;
      bool started_after_delete;
      bool ok;
      int64_t reply;
    };
    // Each client calls until it has made 3 calls after the delete.
    constexpr int kClients = 20, kCallsAfter = 3;
    std::vector<std::vector<Outcome>> outcomes(kClients);
    {
      lab::TaskGroup clients("clients");
      for (int c = 0; c < kClients; ++c) {
        auto end = MakeConnectedEnd(net, absl::StrCat("end-", c), "server");
        clients.Go(absl::StrCat("client-", c), [end, c, race, &outcomes] {
          for (int i = 0, after = 0; after < kCallsAfter; ++i) {
            Outcome o{1000 * c + i, false, false, 0};
            {
              lab::MutexLock l(&race->mu);
              o.started_after_delete = race->deleted;
            }
            o.ok = end->Call("Work.Do", o.id, &o.reply);
            outcomes[c].push_back(o);
            after += o.started_after_delete;
            lab::SleepFor(absl::Milliseconds(lab::RandInt(0, 5)));
          }
        });
      }
      lab::SleepFor(absl::Milliseconds(60));
      {
        lab::MutexLock l(&race->mu);
        net.DeleteServer("server");
        race->deleted = true;
      }
      ASSERT_TRUE(clients.Join(kJoin));
    }

    std::set<int64_t> finished_after;
    {
      lab::MutexLock l(&race->mu);
      finished_after = race->finished_after_delete;
    }
    int ok_before = 0, after = 0;
    for (const auto& per_client : outcomes) {
      for (const Outcome& o : per_client) {
        if (o.ok) {
          ++ok_before;
          EXPECT_EQ(o.reply, o.id);
          EXPECT_FALSE(o.started_after_delete) << "call " << o.id << " started after the delete";
          EXPECT_EQ(finished_after.count(o.id), 0u)
              << "call " << o.id << " succeeded though its handler finished after the delete";
        }
        if (o.started_after_delete) ++after;
      }
    }
    std::printf("race: %d calls succeeded before the delete, %zu handlers finished after it, "
                "%d calls started after it\n",
                ok_before, finished_after.size(), after);
    EXPECT_GT(ok_before, 0);
    EXPECT_FALSE(finished_after.empty()) << "no handler was in flight at the delete";
    EXPECT_GT(after, 0);

    // A fresh server at the address: calls work again.
    auto fresh = std::make_shared<Server>();
    fresh->AddService(svc);
    net.AddServer("server", fresh);
    auto end = MakeConnectedEnd(net, "late", "server");
    int64_t reply = 0;
    EXPECT_TRUE(end->Call("Work.Do", int64_t{7}, &reply));
    EXPECT_EQ(reply, 7);
    EXPECT_EQ(fresh->GetCount(), 1);
  });
}

TEST_P(NetworkTest, KilledServer) {
  // A handler that never returns, then the server is deleted: the call
  // must give up (false) within 100 ms (Go's TestKilled).
  RunInWorld([this] {
    JunkServer junk;
    Network net;
    AddJunkServer(net, "server99", &junk);
    auto end = MakeConnectedEnd(net, "end1-99", "server99");
    lab::TaskGroup callers("callers");
    auto result = std::make_shared<CallResult>();
    callers.Go("caller", [end, result] {
      int reply = 0;
      result->Set(end->Call("Junk.Block", 99, &reply));
    });

    // While the server lives, the call waits for its handler.
    ASSERT_TRUE(Eventually([&] { return junk.blocked() == 1; }));
    EXPECT_FALSE(result->WaitFor(absl::Milliseconds(550)).has_value())
        << "the call returned while its handler was still running";

    const absl::Time deleted_at = lab::Now();
    net.DeleteServer("server99");
    std::optional<bool> ok = result->WaitFor(Prompt(absl::Milliseconds(200)));
    ASSERT_TRUE(ok.has_value()) << "the call did not return after DeleteServer";
    EXPECT_FALSE(*ok) << "a deleted server gave a positive reply";
    const absl::Duration took = result->at() - deleted_at;
    std::printf("killed: the call returned %s after DeleteServer\n",
                absl::FormatDuration(took).c_str());
    EXPECT_LE(took, Prompt(absl::Milliseconds(100)));
    ASSERT_TRUE(callers.Join(kJoin));
  });
}

// --- Dead servers and task groups ---------------------------------------------

TEST_P(NetworkTest, DeletedServerGivesNoPositiveReplyEvenIfItsHandlerFinishes) {
  RunInWorld([this] {
    JunkServer junk, fresh_junk;
    Network net;
    AddJunkServer(net, "server", &junk);
    auto end = MakeConnectedEnd(net, "end", "server");
    lab::TaskGroup callers("callers");

    // The handler takes 50 ms; the server is deleted while it runs.
    auto result = std::make_shared<CallResult>();
    const absl::Time start = lab::Now();
    callers.Go("caller", [end, result] {
      int reply = 0;
      result->Set(end->Call("Junk.Sleep", 50, &reply));
    });
    ASSERT_TRUE(Eventually([&] { return junk.sleeping() == 1; }));
    net.DeleteServer("server");

    std::optional<bool> ok = result->WaitFor(Prompt(absl::Milliseconds(200)));
    ASSERT_TRUE(ok.has_value()) << "the call did not return after DeleteServer";
    EXPECT_FALSE(*ok) << "a deleted server gave a positive reply";
    // The handler itself ran to its end.
    EXPECT_TRUE(Eventually([&] { return junk.slept() == 1; }));
    if (sim()) {
      // The caller looked again as soon as the handler returned, not at its
      // next 100 ms check.
      EXPECT_EQ(result->at() - start, absl::Milliseconds(50));
    }

    // A fresh server at the same address: the end works again.
    auto fresh = AddJunkServer(net, "server", &fresh_junk);
    std::string reply;
    EXPECT_TRUE(end->Call("Junk.Greet", 5, &reply));
    EXPECT_EQ(reply, "handler2-5");
    EXPECT_EQ(fresh->GetCount(), 1);
    EXPECT_EQ(net.GetCount("server"), 1);
    ASSERT_TRUE(callers.Join(kJoin));
  });
}

TEST_P(NetworkTest, ServerHandlersRunInItsTaskGroup) {
  RunInWorld([this] {
    JunkServer junk;
    lab::TaskGroup peer("peer-1");
    Network net;
    auto server = AddJunkServer(net, "peer-1", &junk, &peer);
    auto end = MakeConnectedEnd(net, "0->1", "peer-1");
    lab::TaskGroup callers("callers");

    // A blocked handler is a task of the peer's group.
    auto result = std::make_shared<CallResult>();
    callers.Go("caller", [end, result] {
      int reply = 0;
      result->Set(end->Call("Junk.Block", 1, &reply));
    });
    ASSERT_TRUE(Eventually([&] { return junk.blocked() == 1; }));
    EXPECT_EQ(peer.live(), 1);
    // Its task's name says which method it runs (deadlock reports show it).
    EXPECT_NE(junk.block_task().find("Junk.Block"), std::string::npos) << junk.block_task();

    // Crashing the peer (killing its group) ends the handler, and the call
    // in flight fails at once, though the server is still at its address.
    const absl::Time killed_at = lab::Now();
    peer.Kill();
    std::optional<bool> ok = result->WaitFor(Prompt(absl::Milliseconds(50)));
    ASSERT_TRUE(ok.has_value()) << "the call did not return after its handler was killed";
    EXPECT_FALSE(*ok);
    if (sim()) {
      EXPECT_EQ(result->at() - killed_at, absl::ZeroDuration());
    }
    EXPECT_TRUE(peer.Join(kJoin));

    // Later calls fail quickly: their handler tasks never start.
    for (int i = 0; i < 5; ++i) {
      const absl::Time start = lab::Now();
      int reply = 0;
      EXPECT_FALSE(end->Call("Junk.Atoi", std::string("12"), &reply));
      EXPECT_EQ(reply, 0);
      if (sim()) {
        EXPECT_EQ(lab::Now() - start, absl::ZeroDuration());
      } else {
        EXPECT_LT(lab::Now() - start, absl::Seconds(2));
      }
    }
    EXPECT_EQ(server->GetCount(), 1);
    EXPECT_EQ(peer.live(), 0);
    ASSERT_TRUE(callers.Join(kJoin));
  });
}

TEST_P(NetworkTest, DestroyingTheNetworkStopsItsHandlers) {
  RunInWorld([this] {
    JunkServer junk;
    auto net = std::make_unique<Network>();
    AddJunkServer(*net, "server", &junk);
    auto end = MakeConnectedEnd(*net, "end", "server");
    lab::TaskGroup callers("callers");

    // A handler of a server without a group blocks in the network's group;
    // destroying the Network kills it and the call fails.
    auto result = std::make_shared<CallResult>();
    callers.Go("caller", [end, result] {
      int reply = 0;
      result->Set(end->Call("Junk.Block", 1, &reply));
    });
    ASSERT_TRUE(Eventually([&] { return junk.blocked() == 1; }));
    net.reset();
    std::optional<bool> ok = result->WaitFor(Prompt(absl::Milliseconds(50)));
    ASSERT_TRUE(ok.has_value());
    EXPECT_FALSE(*ok);

    // The end outlives its network: a call fails instead of crashing.
    int reply = 0;
    EXPECT_FALSE(end->Call("Junk.Atoi", std::string("1"), &reply));
    ASSERT_TRUE(callers.Join(kJoin));
  });
}

// 20 clients keep calling "Junk.Sleep" on an unreliable network (so some
// calls are always in their 0-26 ms request delay) until killed. Counts the
// calls that started after `*gone` was set, and those of them that succeeded.
struct Hammer {
  std::atomic<bool> gone{false};
  std::atomic<int> calls_after{0};
  std::atomic<int> ok_after{0};

  void Start(lab::TaskGroup& callers, Network& net, const std::string& address) {
    for (int c = 0; c < 20; ++c) {
      auto end = MakeConnectedEnd(net, absl::StrCat("hammer-", c), address);
      callers.Go(absl::StrCat("hammer-", c), [this, end] {
        while (true) {
          const bool after = gone.load();
          int reply = 0;
          const bool ok = end->Call("Junk.Sleep", 3, &reply);
          if (after) {
            calls_after.fetch_add(1);
            if (ok) ok_after.fetch_add(1);
          }
        }
      });
    }
  }
};

TEST_P(NetworkTest, DestroyingTheNetworkWhileCallsAreInFlight) {
  // Clients keep calling while the Network is destroyed: calls caught in
  // their request delay, and later calls on the ends (which outlive the
  // network), fail; nothing crashes. Run in a child process, so that a crash
  // fails only this test (ASan names the bad access).
  ExpectCleanExit([] {
    JunkServer junk;
    Hammer hammer;
    lab::TaskGroup callers("callers");  // outlives the network
    auto net = std::make_unique<Network>();
    AddJunkServer(*net, "server", &junk);
    net->Reliable(false);
    hammer.Start(callers, *net, "server");
    lab::SleepFor(absl::Milliseconds(100));
    net.reset();
    hammer.gone.store(true);
    lab::SleepFor(absl::Milliseconds(200));
    callers.Kill();
    EXPECT_TRUE(callers.Join(kJoin));
    EXPECT_GT(hammer.calls_after.load(), 0);
    EXPECT_EQ(hammer.ok_after.load(), 0) << "a call made after the network was gone succeeded";
  });
}

TEST_P(NetworkTest, CrashingAPeerAndFreeingItsGroupWhileCallsAreInFlight) {
  // The tester crashes a peer: delete its server, kill its task group, and
  // later free the group (a restarted peer gets a new one). Calls that were
  // already in their request delay to that server must fail, not start a
  // handler in the freed group. Run in a child process, as above.
  ExpectCleanExit([] {
    JunkServer junk;
    Hammer hammer;
    Network net;
    auto peer = std::make_unique<lab::TaskGroup>("peer-1");
    AddJunkServer(net, "peer-1", &junk, peer.get());
    net.Reliable(false);
    lab::TaskGroup callers("callers");
    hammer.Start(callers, net, "peer-1");
    lab::SleepFor(absl::Milliseconds(100));
    net.DeleteServer("peer-1");
    hammer.gone.store(true);
    peer->Kill();
    peer.reset();
    lab::SleepFor(absl::Milliseconds(200));
    callers.Kill();
    EXPECT_TRUE(callers.Join(kJoin));
    EXPECT_GT(hammer.calls_after.load(), 0);
    EXPECT_EQ(hammer.ok_after.load(), 0) << "a call to a deleted server succeeded";
  });
}

TEST_P(NetworkTest, NonDefaultReplyWarnsOncePerMethod) {
  // The warning is said once per method per process, so each runtime uses a
  // method of its own.
  const std::string method = "Reused" + std::string(lab::RuntimeName(runtime()));
  const std::string call = absl::StrCat("Junk.", method);
  ::testing::internal::CaptureStderr();
  RunInWorld([&] {
    JunkServer junk;
    Network net;
    auto svc = MakeJunkService(&junk);
    svc->Register<int, WordsReply>(method, [](const int& x, WordsReply* reply) { reply->x = x; });
    auto server = std::make_shared<Server>();
    server->AddService(svc);
    net.AddServer("server", server);
    auto end = MakeConnectedEnd(net, "end", "server");

    // A default reply: no warning.
    WordsReply fresh;
    EXPECT_TRUE(end->Call(call, 1, &fresh));
    // A reused reply, twice: one warning, and every field is overwritten.
    WordsReply reused;
    reused.x = 5;
    reused.joined = "stale";
    EXPECT_TRUE(end->Call(call, 7, &reused));
    EXPECT_EQ(reused.x, 7);
    EXPECT_EQ(reused.joined, "");
    reused.joined = "stale again";
    EXPECT_TRUE(end->Call(call, 8, &reused));
    EXPECT_EQ(reused.joined, "");
  });
  const std::string err = ::testing::internal::GetCapturedStderr();
  const std::string warning = absl::StrCat("labrpc warning: Call(\"", call, "\")");
  size_t count = 0;
  for (size_t pos = err.find(warning); pos != std::string::npos;
       pos = err.find(warning, pos + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 1u) << "stderr:\n" << err;
  EXPECT_NE(err.find("WordsReply"), std::string::npos) << "the warning should name the type:\n"
                                                       << err;
}

LAB_INSTANTIATE_RUNTIME_TEST(NetworkTest);

// --- Fault knobs, measured in sim --------------------------------------------

class NetworkFaultTest : public ::testing::Test {
 protected:
  // Runs `body` in a sim world; the seed is LAB_SEED or 1.
  void RunSim(std::function<void()> body) {
    const uint64_t seed = lab::testing::TestSeed();
    SCOPED_TRACE(absl::StrCat("replay: LAB_SEED=", seed));
    absl::Status s = lab::testing::RunWorld(lab::RuntimeKind::kSim, seed, std::move(body));
    EXPECT_TRUE(s.ok()) << s << " (replay: LAB_SEED=" << seed << ")";
  }
};

// One call's outcome and how long it took.
struct Timed {
  int64_t id = 0;
  bool ok = false;
  absl::Duration took;
};

// Makes `tasks` x `calls` calls of `method` with ids, on one end per task
// (named `prefix`-i and connected to `address`), concurrently; returns every
// outcome.
std::vector<Timed> CallMany(Network& net, const std::string& prefix, const std::string& address,
                            bool enable, int tasks, int calls, const std::string& method) {
  std::vector<std::vector<Timed>> per_task(tasks);
  {
    lab::TaskGroup group(prefix);
    for (int t = 0; t < tasks; ++t) {
      const std::string name = absl::StrCat(prefix, "-", t);
      auto end = net.MakeEnd(name);
      if (!address.empty()) net.Connect(name, address);
      net.Enable(name, enable);
      group.Go(name, [end, t, calls, method, &per_task] {
        for (int i = 0; i < calls; ++i) {
          Timed r;
          r.id = int64_t{t} * calls + i;
          const absl::Time start = lab::Now();
          int64_t reply = 0;
          r.ok = end->Call(method, r.id, &reply);
          r.took = lab::Now() - start;
          if (r.ok) {
            EXPECT_EQ(reply, r.id);
          }
          per_task[t].push_back(r);
        }
      });
    }
    EXPECT_TRUE(group.Join(absl::Hours(1)));
  }
  std::vector<Timed> all;
  for (auto& v : per_task) all.insert(all.end(), v.begin(), v.end());
  return all;
}

TEST_F(NetworkFaultTest, UnreliableLosesRequestsAndReplies) {
  RunSim([] {
    JunkServer junk;
    Network net;
    auto server = AddJunkServer(net, "server", &junk);
    net.Reliable(false);

    // 2000 calls: 10% of requests are lost (the handler does not run) and
    // 10% of the replies of those that ran, so 1 - 0.9 * 0.9 = 19% fail.
    std::vector<Timed> calls = CallMany(net, "c", "server", true, 20, 100, "Junk.Record");
    ASSERT_EQ(calls.size(), 2000u);
    const std::set<int64_t> handled = junk.handled();
    int failed = 0, never_reached = 0, reply_lost = 0;
    for (const Timed& c : calls) {
      if (!c.ok) ++failed;
      const bool ran = handled.count(c.id) > 0;
      if (!ran) ++never_reached;
      if (ran && !c.ok) ++reply_lost;
      if (c.ok) {
        EXPECT_TRUE(ran) << "call " << c.id << " succeeded without its handler";
      }
    }
    const double n = static_cast<double>(calls.size());
    std::printf("unreliable: %d/2000 failed (%.1f%%); %d requests lost (%.1f%%); "
                "%d replies lost (%.1f%% of %zu handled)\n",
                failed, 100 * failed / n, never_reached, 100 * never_reached / n, reply_lost,
                100.0 * reply_lost / static_cast<double>(handled.size()), handled.size());
    EXPECT_EQ(server->GetCount(), static_cast<int64_t>(handled.size()));
    EXPECT_EQ(net.GetTotalCount(), 2000);
    // Bounds ~5 standard deviations wide.
    EXPECT_GE(failed / n, 0.15);
    EXPECT_LE(failed / n, 0.23);
    EXPECT_GE(never_reached / n, 0.065);
    EXPECT_LE(never_reached / n, 0.135);
    const double lost = reply_lost / static_cast<double>(handled.size());
    EXPECT_GE(lost, 0.065);
    EXPECT_LE(lost, 0.135);
  });
}

TEST_F(NetworkFaultTest, UnreliableDelaysRequestsUpTo26Ms) {
  RunSim([] {
    JunkServer junk;
    Network net;
    AddJunkServer(net, "server", &junk);
    net.Reliable(false);

    // Every call, lost or not, takes 0-26 ms (no reordering), and over 2000
    // calls every whole millisecond of that range is seen.
    std::vector<Timed> calls = CallMany(net, "c", "server", true, 20, 100, "Junk.Record");
    std::set<int64_t> seen_ms;
    absl::Duration sum;
    for (const Timed& c : calls) {
      EXPECT_GE(c.took, absl::ZeroDuration());
      EXPECT_LE(c.took, absl::Milliseconds(26)) << "call " << c.id;
      seen_ms.insert(absl::ToInt64Milliseconds(c.took));
      sum += c.took;
    }
    const absl::Duration mean = sum / static_cast<int64_t>(calls.size());
    std::printf("delays: %zu distinct values in [%lld, %lld] ms, mean %s\n", seen_ms.size(),
                static_cast<long long>(*seen_ms.begin()),
                static_cast<long long>(*seen_ms.rbegin()), absl::FormatDuration(mean).c_str());
    EXPECT_EQ(seen_ms.size(), 27u);
    EXPECT_GE(mean, absl::Milliseconds(12));
    EXPECT_LE(mean, absl::Milliseconds(14));

    // Reliable: no delay at all.
    net.Reliable(true);
    for (const Timed& c : CallMany(net, "r", "server", true, 5, 20, "Junk.Record")) {
      EXPECT_TRUE(c.ok);
      EXPECT_EQ(c.took, absl::ZeroDuration());
    }
  });
}

TEST_F(NetworkFaultTest, LongReorderingHoldsBackTwoRepliesInThree) {
  RunSim([] {
    JunkServer junk;
    Network net;
    AddJunkServer(net, "server", &junk);
    net.LongReordering(true);

    // 1500 calls on a reliable network: about 2/3 of the replies are held
    // back 200 ms to ~2.2 s, mostly briefly; the others come at once.
    std::vector<Timed> calls = CallMany(net, "c", "server", true, 50, 30, "Junk.Record");
    std::vector<absl::Duration> held;
    absl::Duration max;
    for (const Timed& c : calls) {
      EXPECT_TRUE(c.ok);
      if (c.took >= absl::Milliseconds(200)) {
        held.push_back(c.took);
      } else {
        EXPECT_EQ(c.took, absl::ZeroDuration()) << "call " << c.id;
      }
      max = std::max(max, c.took);
    }
    std::sort(held.begin(), held.end());
    const double fraction = static_cast<double>(held.size()) / static_cast<double>(calls.size());
    const absl::Duration median = held.empty() ? absl::ZeroDuration() : held[held.size() / 2];
    std::printf("reordering: %zu/%zu replies held back (%.1f%%), median %s, max %s\n",
                held.size(), calls.size(), 100 * fraction, absl::FormatDuration(median).c_str(),
                absl::FormatDuration(max).c_str());
    EXPECT_GE(fraction, 0.60);
    EXPECT_LE(fraction, 0.73);
    EXPECT_LE(max, absl::Milliseconds(2200));
    EXPECT_GE(max, absl::Milliseconds(1500));
    EXPECT_LT(median, absl::Milliseconds(1000));  // mostly short

    // 100 calls sent 1 ms apart, all in flight at once: replies come back
    // out of order.
    auto end = MakeConnectedEnd(net, "ordered", "server");
    lab::Mutex mu;
    std::vector<int64_t> arrivals;
    {
      lab::TaskGroup senders("senders");
      for (int i = 0; i < 100; ++i) {
        senders.Go(absl::StrCat("sender-", i), [end, i, &mu, &arrivals] {
          lab::SleepFor(absl::Milliseconds(i));
          int64_t reply = 0;
          if (end->Call("Junk.Record", int64_t{10000 + i}, &reply)) {
            lab::MutexLock l(&mu);
            arrivals.push_back(i);
          }
        });
      }
      ASSERT_TRUE(senders.Join(absl::Hours(1)));
    }
    ASSERT_EQ(arrivals.size(), 100u);
    int inversions = 0;
    for (size_t a = 0; a < arrivals.size(); ++a) {
      for (size_t b = a + 1; b < arrivals.size(); ++b) inversions += arrivals[a] > arrivals[b];
    }
    std::printf("reordering: %d of 4950 pairs of replies arrived out of send order\n",
                inversions);
    EXPECT_FALSE(std::is_sorted(arrivals.begin(), arrivals.end()));
    EXPECT_GT(inversions, 500);
  });
}

TEST_F(NetworkFaultTest, CallsThatCannotBeDeliveredFailAfterADelay) {
  RunSim([] {
    JunkServer junk;
    Network net;
    auto server = AddJunkServer(net, "server", &junk);

    // A disabled end, an end connected nowhere and an end connected to an
    // address without a server: every call fails after r(100) ms, or
    // r(7000) ms with long delays on, and no handler runs.
    auto measure = [&](const std::string& tag, absl::Duration limit, absl::Duration min_max,
                       absl::Duration mean_lo, absl::Duration mean_hi) {
      std::vector<Timed> calls;
      const std::vector<std::tuple<std::string, std::string, bool>> kinds = {
          {tag + "-disabled", "server", false},
          {tag + "-unconnected", "", true},
          {tag + "-ghost", "ghost", true}};
      for (const auto& [prefix, address, enable] : kinds) {
        std::vector<Timed> some = CallMany(net, prefix, address, enable, 10, 10, "Junk.Record");
        calls.insert(calls.end(), some.begin(), some.end());
      }
      absl::Duration sum, max;
      for (const Timed& c : calls) {
        EXPECT_FALSE(c.ok);
        EXPECT_LT(c.took, limit);
        sum += c.took;
        max = std::max(max, c.took);
      }
      const absl::Duration mean = sum / static_cast<int64_t>(calls.size());
      std::printf("undeliverable (%s): %zu calls failed after mean %s, max %s\n", tag.c_str(),
                  calls.size(), absl::FormatDuration(mean).c_str(),
                  absl::FormatDuration(max).c_str());
      EXPECT_GE(max, min_max);
      EXPECT_GE(mean, mean_lo);
      EXPECT_LE(mean, mean_hi);
    };
    measure("short", absl::Milliseconds(100), absl::Milliseconds(90), absl::Milliseconds(40),
            absl::Milliseconds(60));
    net.LongDelays(true);
    measure("long", absl::Milliseconds(7000), absl::Milliseconds(6500), absl::Milliseconds(2900),
            absl::Milliseconds(4100));
    EXPECT_EQ(server->GetCount(), 0);
  });
}

// --- Messages in flight: Go's rules, measured in sim ----------------------------
// network.cc numbers the rules a call follows; each test below names the rule
// it measures. Before these rules, a cut during a request's delay stopped
// the request and a cut during a reply's hold-back dropped the reply.

// When each call's handler ran, by call id.
class Stamps {
 public:
  void Add(int64_t id) {
    lab::MutexLock l(&mu_);
    at_[id] = lab::Now();
  }
  std::optional<absl::Time> At(int64_t id) const {
    lab::MutexLock l(&mu_);
    auto it = at_.find(id);
    if (it == at_.end()) return std::nullopt;
    return it->second;
  }
  size_t size() const {
    lab::MutexLock l(&mu_);
    return at_.size();
  }

 private:
  mutable lab::Mutex mu_;
  std::map<int64_t, absl::Time> at_ ABSL_GUARDED_BY(mu_);
};

// Adds server `address`, whose "Stamp.Now" handler notes when it ran.
void AddStampServer(Network& net, const std::string& address, std::shared_ptr<Stamps> stamps) {
  auto svc = std::make_shared<Service>("Stamp");
  svc->Register<int64_t, int64_t>("Now", [stamps](const int64_t& id, int64_t* reply) {
    stamps->Add(id);
    *reply = id;
  });
  auto server = std::make_shared<Server>();
  server->AddService(svc);
  net.AddServer(address, server);
}

// One trial: a call, and a change to its link while the call is under way.
struct CutTrial {
  absl::Time start;
  absl::Time end;
  bool ok = false;
};

// Runs `n` trials at once. Trial i calls "Stamp.Now" with id i on a fresh
// end "end-i" (enabled or not), connected to a fresh server "server-i"
// (whose handler stamps `stamps`); `cut_after` into the call, cut(i) runs.
std::vector<CutTrial> RunCutTrials(Network& net, int n, const std::shared_ptr<Stamps>& stamps,
                                   bool enabled, absl::Duration cut_after,
                                   const std::function<void(int)>& cut) {
  std::vector<CutTrial> trials(n);
  lab::TaskGroup group("trials");
  for (int i = 0; i < n; ++i) {
    const std::string address = absl::StrCat("server-", i), name = absl::StrCat("end-", i);
    AddStampServer(net, address, stamps);
    auto end = net.MakeEnd(name);
    net.Connect(name, address);
    net.Enable(name, enabled);
    group.Go(absl::StrCat("cutter-", i), [i, cut_after, &cut] {
      lab::SleepFor(cut_after);
      cut(i);
    });
    group.Go(absl::StrCat("caller-", i), [i, end, &trials] {
      CutTrial& t = trials[i];
      t.start = lab::Now();
      int64_t reply = 0;
      t.ok = end->Call("Stamp.Now", int64_t{i}, &reply);
      t.end = lab::Now();
      if (t.ok) {
        EXPECT_EQ(reply, i);
      }
    });
  }
  EXPECT_TRUE(group.Join(absl::Hours(1)));
  return trials;
}

// Even trials lose their link by disabling the end (the tester's
// disconnect), odd ones by deleting the server (its crash).
std::function<void(int)> CutEndOrServer(Network& net) {
  return [&net](int i) {
    if (i % 2 == 0) {
      net.Enable(absl::StrCat("end-", i), false);
    } else {
      net.DeleteServer(absl::StrCat("server-", i));
    }
  };
}

TEST_F(NetworkFaultTest, EndStateIsReadOnceWhenACallStarts) {
  // Rule 1: whether the end is enabled, and where it points, is read when
  // the call starts.
  RunSim([] {
    Network net;
    net.LongDelays(true);
    net.Reliable(false);

    // 200 calls on disabled ends that are enabled 1 ms later: every call
    // fails (after its time-out) and no handler runs.
    auto stamps = std::make_shared<Stamps>();
    std::vector<CutTrial> late = RunCutTrials(net, 200, stamps, /*enabled=*/false,
                                              absl::Milliseconds(1), [&net](int i) {
                                                net.Enable(absl::StrCat("end-", i), true);
                                              });
    int late_ok = 0;
    for (const CutTrial& t : late) late_ok += t.ok;
    std::printf("read once: %d/200 calls succeeded on ends enabled 1 ms after they started; "
                "%zu handlers ran\n",
                late_ok, stamps->size());
    EXPECT_EQ(late_ok, 0);
    EXPECT_EQ(stamps->size(), 0u);
  });
  RunSim([] {
    Network net;
    net.Reliable(false);

    // 400 calls whose end is pointed at another server during their request
    // delay: the request still goes to the first server (~90% arrive: the
    // rest are lost), and its reply comes back (~81%: replies are lost too).
    auto first = std::make_shared<Stamps>(), other = std::make_shared<Stamps>();
    AddStampServer(net, "other", other);
    std::vector<CutTrial> trials = RunCutTrials(net, 400, first, /*enabled=*/true,
                                                absl::Microseconds(500), [&net](int i) {
                                                  net.Connect(absl::StrCat("end-", i), "other");
                                                });
    int ok = 0;
    for (const CutTrial& t : trials) ok += t.ok;
    const double arrived = static_cast<double>(first->size()) / 400;
    std::printf("read once: of 400 requests whose end was re-pointed during their delay, "
                "%.1f%% reached the first server, %zu the new one; %.1f%% of the calls "
                "succeeded\n",
                100 * arrived, other->size(), 100.0 * ok / 400);
    EXPECT_EQ(other->size(), 0u);
    EXPECT_GE(arrived, 0.82);  // 0.9, ~5 standard deviations
    EXPECT_LE(arrived, 0.975);
    EXPECT_GE(ok / 400.0, 0.71);  // 0.81
    EXPECT_LE(ok / 400.0, 0.91);
  });
}

TEST_F(NetworkFaultTest, RequestCutDuringItsDelayStillReachesTheHandler) {
  // Rule 4: a request already on its way when its link is cut is delivered
  // (Go runs the handler); rule 6: its reply is then refused, since the end
  // is disabled or the server deleted when the handler returns.
  RunSim([] {
    Network net;
    net.Reliable(false);
    auto stamps = std::make_shared<Stamps>();
    // The cut comes 0.5 ms into each call: requests delayed 1-26 ms are in
    // flight when it happens (26 of 27), those delayed 0 ms are not.
    constexpr int kTrials = 1000;
    const absl::Duration cut_after = absl::Microseconds(500);
    std::vector<CutTrial> trials =
        RunCutTrials(net, kTrials, stamps, /*enabled=*/true, cut_after, CutEndOrServer(net));
    // A request's delay: when its handler ran, or, if it was lost, when the
    // call returned (a lost request fails right after its delay).
    int in_flight[2] = {0, 0}, handled_after_cut[2] = {0, 0}, ok_after_cut = 0;
    for (int i = 0; i < kTrials; ++i) {
      const CutTrial& t = trials[i];
      const std::optional<absl::Time> ran = stamps->At(i);
      const absl::Duration delay = (ran ? *ran : t.end) - t.start;
      if (delay < cut_after) continue;
      ++in_flight[i % 2];
      if (ran) ++handled_after_cut[i % 2];
      ok_after_cut += t.ok;
    }
    const double disabled = static_cast<double>(handled_after_cut[0]) / in_flight[0];
    const double deleted = static_cast<double>(handled_after_cut[1]) / in_flight[1];
    std::printf("in flight: requests cut during their delay that reached the handler: "
                "%d/%d (%.1f%%) after the end was disabled, %d/%d (%.1f%%) after the server "
                "was deleted (Go: 90%%, the rest are lost); %d of their calls succeeded\n",
                handled_after_cut[0], in_flight[0], 100 * disabled, handled_after_cut[1],
                in_flight[1], 100 * deleted, ok_after_cut);
    ASSERT_GT(in_flight[0], 400);
    ASSERT_GT(in_flight[1], 400);
    // 0.9 each, bounds ~5 standard deviations.
    EXPECT_GE(disabled, 0.83);
    EXPECT_LE(disabled, 0.97);
    EXPECT_GE(deleted, 0.83);
    EXPECT_LE(deleted, 0.97);
    EXPECT_EQ(ok_after_cut, 0) << "a reply came back on a cut link (rule 6)";
  });
}

TEST_F(NetworkFaultTest, CallGivesUpWithin100MsOfItsLinkDyingWhileTheHandlerRuns) {
  // Rule 5: while the handler runs, the caller looks every 100 ms whether
  // its end was disabled or the server deleted, and gives up if so.
  RunSim([] {
    JunkServer junk;
    Network net;
    AddJunkServer(net, "server", &junk);
    AddJunkServer(net, "doomed", &junk);
    auto disabled = MakeConnectedEnd(net, "disabled", "server");
    auto deleted = MakeConnectedEnd(net, "deleted", "doomed");
    lab::TaskGroup group("calls");
    std::vector<absl::Duration> took(2);
    std::vector<bool> ok(2, true);
    int i = 0;
    for (const auto& end : {disabled, deleted}) {
      group.Go(end->name(), [end, i, &took, &ok] {
        const absl::Time start = lab::Now();
        int reply = 0;
        ok[i] = end->Call("Junk.Sleep", 1000, &reply);  // the handler takes 1 s
        took[i] = lab::Now() - start;
      });
      ++i;
    }
    lab::SleepFor(absl::Milliseconds(250));
    net.Enable("disabled", false);
    net.DeleteServer("doomed");
    ASSERT_TRUE(group.Join(absl::Hours(1)));
    std::printf("handler running: the call gave up %s after its start when its end was "
                "disabled at 250 ms, %s when its server was deleted\n",
                absl::FormatDuration(took[0]).c_str(), absl::FormatDuration(took[1]).c_str());
    // The checks come at 100, 200, 300 ms: the one at 300 ms sees the cut.
    for (int k = 0; k < 2; ++k) {
      EXPECT_FALSE(ok[k]);
      EXPECT_EQ(took[k], absl::Milliseconds(300));
    }
  });
}

TEST_F(NetworkFaultTest, HeldBackReplyIsDeliveredAfterACut) {
  // Rules 6 and 8: a reply is checked for a dead server before it is held
  // back, not after; once held back it is delivered, whatever happens to the
  // link meanwhile.
  RunSim([] {
    Network net;
    net.LongReordering(true);
    auto stamps = std::make_shared<Stamps>();
    // Reliable: every handler runs at once and its reply is checked at once;
    // the cut comes 1 ms later, during the hold-back of the held replies.
    constexpr int kTrials = 600;
    std::vector<CutTrial> trials = RunCutTrials(net, kTrials, stamps, /*enabled=*/true,
                                                absl::Milliseconds(1), CutEndOrServer(net));
    int held[2] = {0, 0}, delivered[2] = {0, 0}, prompt_ok = 0, prompt = 0;
    for (int i = 0; i < kTrials; ++i) {
      const CutTrial& t = trials[i];
      if (t.end - t.start >= absl::Milliseconds(200)) {
        ++held[i % 2];
        delivered[i % 2] += t.ok;
      } else {
        ++prompt;
        prompt_ok += t.ok;
      }
    }
    std::printf("held back: replies delivered though their link was cut during the hold-back: "
                "%d/%d after the end was disabled, %d/%d after the server was deleted (Go: all); "
                "%d/%d prompt replies delivered\n",
                delivered[0], held[0], delivered[1], held[1], prompt_ok, prompt);
    EXPECT_EQ(static_cast<int>(stamps->size()), kTrials);
    ASSERT_GT(held[0], 150);
    ASSERT_GT(held[1], 150);
    EXPECT_EQ(delivered[0], held[0]);
    EXPECT_EQ(delivered[1], held[1]);
    EXPECT_EQ(prompt_ok, prompt);
  });
}

TEST(NetworkDeterminismTest, SameSeedSameRun) {
  // Many concurrent calls on an unreliable, reordering network, with an end
  // cut and restored midway: one seed gives the same schedule and the same
  // outcome for every call; another seed gives other outcomes.
  auto workload = [](std::vector<Timed>* out) {
    return [out] {
      JunkServer junk;
      Network net;
      AddJunkServer(net, "server", &junk);
      net.Reliable(false);
      net.LongReordering(true);
      lab::TaskGroup cutter("cutter");
      cutter.Go("cutter", [&net] {
        lab::SleepFor(absl::Milliseconds(300));
        net.Enable("w-3", false);
        lab::SleepFor(absl::Milliseconds(500));
        net.Enable("w-3", true);
      });
      *out = CallMany(net, "w", "server", true, 40, 25, "Junk.Record");
      EXPECT_TRUE(cutter.Join(absl::Hours(1)));
    };
  };
  const uint64_t seed = lab::testing::TestSeed(7);
  std::vector<Timed> a, b, c;
  uint64_t fa = 0, fb = 0, fc = 0;
  ASSERT_TRUE(lab::testing::RunWorld(lab::RuntimeKind::kSim, seed, workload(&a), &fa).ok());
  ASSERT_TRUE(lab::testing::RunWorld(lab::RuntimeKind::kSim, seed, workload(&b), &fb).ok());
  ASSERT_TRUE(lab::testing::RunWorld(lab::RuntimeKind::kSim, seed + 1, workload(&c), &fc).ok());
  ASSERT_EQ(a.size(), 1000u);
  ASSERT_EQ(b.size(), a.size());
  ASSERT_EQ(c.size(), a.size());
  EXPECT_NE(fa, 0u);
  EXPECT_EQ(fa, fb) << "seed " << seed;
  int differ_same_seed = 0, differ_other_seed = 0, ok = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ok += a[i].ok;
    differ_same_seed += a[i].ok != b[i].ok || a[i].took != b[i].took;
    differ_other_seed += a[i].ok != c[i].ok || a[i].took != c[i].took;
  }
  EXPECT_EQ(differ_same_seed, 0) << "seed " << seed;
  EXPECT_NE(fa, fc);
  EXPECT_GT(differ_other_seed, 0);
  EXPECT_GT(ok, 0);
  EXPECT_LT(ok, 1000);
}

// --- Mistakes ----------------------------------------------------------------

class NetworkDeathTest : public lab::testing::RuntimeTest {
 protected:
  // Makes a Junk server and an end to it, then runs `call` on the end.
  void CallJunk(const std::function<void(ClientEnd&)>& call) {
    RunInWorld([&] {
      JunkServer junk;
      Network net;
      auto svc = std::make_shared<Service>("KV");
      svc->Register<PutArgs, PutReply>("Put", [](const PutArgs&, PutReply*) {});
      auto server = AddJunkServer(net, "server", &junk);
      server->AddService(svc);
      auto end = MakeConnectedEnd(net, "end", "server");
      call(*end);
    });
  }
};

TEST_P(NetworkDeathTest, UnknownServiceIsNamed) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(CallJunk([](ClientEnd& end) {
                 int reply = 0;
                 end.Call("Junk2.Atoi", std::string("1"), &reply);
               }),
               "unknown service \"Junk2\".*this server has: Junk, KV");
}

TEST_P(NetworkDeathTest, UnknownMethodIsNamed) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(CallJunk([](ClientEnd& end) {
                 int reply = 0;
                 end.Call("Junk.Itoa", std::string("1"), &reply);
               }),
               "service Junk has no method \"Itoa\"; it has: Atoi, Block");
}

TEST_P(NetworkDeathTest, WrongArgsTypeNamesBothTypes) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(CallJunk([](ClientEnd& end) {
                 PutReply reply;
                 end.Call("KV.Put", GetArgs{"k"}, &reply);
               }),
               "KV.Put.*the arguments are a .*GetArgs, but the handler takes a .*PutArgs");
}

TEST_P(NetworkDeathTest, WrongReplyTypeNamesBothTypes) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(CallJunk([](ClientEnd& end) {
                 GetReply reply;
                 end.Call("KV.Put", PutArgs{"k"}, &reply);
               }),
               "KV.Put.*the reply is a .*GetReply, but the handler fills a .*PutReply");
}

TEST_P(NetworkDeathTest, MakeEndOfAnExistingName) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(RunInWorld([] {
                 Network net;
                 net.MakeEnd("0->1");
                 net.MakeEnd("0->1");
               }),
               "MakeEnd\\(\"0->1\"\\): that end already exists");
}

TEST_P(NetworkDeathTest, EnableOrConnectOfAnUnknownEnd) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(RunInWorld([] {
                 Network net;
                 net.Enable("nope", true);
               }),
               "Enable\\(\"nope\", ...\\): no such end");
  EXPECT_DEATH(RunInWorld([] {
                 Network net;
                 net.Connect("nope", "server");
               }),
               "Connect\\(\"nope\", ...\\): no such end");
}

TEST_P(NetworkDeathTest, MethodRegisteredTwice) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(RunInWorld([] {
                 JunkServer junk;
                 auto svc = MakeJunkService(&junk);
                 svc->Register("Atoi", &junk, &JunkServer::Atoi);
               }),
               "method Junk.Atoi registered twice");
}

LAB_INSTANTIATE_RUNTIME_TEST(NetworkDeathTest);

}  // namespace
}  // namespace labrpc
