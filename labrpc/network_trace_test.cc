// labrpc/network_trace_test.cc
//
// What a traced call records: send (with the describer's fields), deliver
// and reply joined by one id, or lost with why; and the fault switches as
// tester "net" events.

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "labrpc/network.h"
#include "labrpc/runtime/lab.h"
#include "labrpc/runtime/testing.h"
#include "labrpc/runtime/trace.h"

namespace labrpc {
namespace {

struct EchoArgs {
  int64_t term = 0;
  std::string text;
  template <class A>
  void serialize(A& a) {
    a(term, text);
  }
};
struct EchoReply {
  std::string text;
  template <class A>
  void serialize(A& a) {
    a(text);
  }
};

std::vector<std::string> Records(const std::vector<std::string>& lines, absl::string_view kind) {
  std::vector<std::string> out;
  for (const std::string& l : lines) {
    if (absl::StrContains(l, absl::StrCat("\"kind\":\"", kind, "\""))) out.push_back(l);
  }
  return out;
}

// Runs `body` in a sim world with a server "s1" (in group "peer-1") offering
// Echo.Echo, and an end "c->1" from group "peer-0"; returns the trace.
std::vector<std::string> Traced(std::function<void(Network&, ClientEnd&)> body) {
  DescribeInTrace<EchoArgs>(
      [](const EchoArgs& a, lab::trace::Fields& f) { f.Int("term", a.term); });
  lab::trace::BeginRun(lab::trace::RunInfo{"Net.Trace", "sim", 1, ""}, lab::trace::Options{});
  absl::Status s = lab::testing::RunWorld(lab::RuntimeKind::kSim, 1, [&] {
    Network net;
    lab::TaskGroup server_group("peer-1");
    auto svc = std::make_shared<Service>("Echo");
    svc->Register<EchoArgs, EchoReply>(
        "Echo", [](const EchoArgs& a, EchoReply* r) { r->text = a.text; });
    auto server = std::make_shared<Server>(&server_group);
    server->AddService(svc);
    net.AddServer("s1", server);
    std::shared_ptr<ClientEnd> end = net.MakeEnd("c->1");
    net.Connect("c->1", "s1");
    net.Enable("c->1", true);
    lab::TaskGroup client("peer-0");
    lab::Chan<bool> done;
    client.Go("sender", [&] {
      body(net, *end);
      done.Send(true);
    });
    done.Recv();
  });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_TRUE(lab::trace::EndRun(true).ok());
  return lab::trace::Lines();
}

TEST(NetworkTrace, ADeliveredCallIsSendDeliverReplyWithOneId) {
  auto call = [](Network&, ClientEnd& end) {
    EchoReply reply;
    EXPECT_TRUE(end.Call("Echo.Echo", EchoArgs{7, "hi"}, &reply));
  };
  const std::vector<std::string> rpcs = Records(Traced(call), "rpc");
  ASSERT_EQ(rpcs.size(), 3u);
  EXPECT_TRUE(absl::StrContains(rpcs[0], "\"id\":1,\"phase\":\"send\",\"from\":\"peer-0\","
                                         "\"to\":\"s1\",\"method\":\"Echo.Echo\""))
      << rpcs[0];
  EXPECT_TRUE(absl::StrContains(rpcs[0], "\"fields\":{\"term\":7},\"task\":\"sender\""))
      << rpcs[0];
  EXPECT_TRUE(absl::StrContains(rpcs[1], "\"id\":1,\"phase\":\"deliver\"}")) << rpcs[1];
  EXPECT_TRUE(absl::StrContains(rpcs[2], "\"id\":1,\"phase\":\"reply\"")) << rpcs[2];
  EXPECT_TRUE(absl::StrContains(rpcs[2], "\"bytes\":")) << rpcs[2];
  EXPECT_FALSE(absl::StrContains(rpcs[2], "\"fields\"")) << "EchoReply has no describer";
}

TEST(NetworkTrace, ALostCallSaysWhy) {
  auto call_on_a_cut_link = [](Network& net, ClientEnd& end) {
    net.Enable("c->1", false);
    EchoReply reply;
    EXPECT_FALSE(end.Call("Echo.Echo", EchoArgs{}, &reply));
  };
  const std::vector<std::string> rpcs = Records(Traced(call_on_a_cut_link), "rpc");
  ASSERT_EQ(rpcs.size(), 2u);
  EXPECT_TRUE(absl::StrContains(rpcs[1], "\"phase\":\"lost\"")) << rpcs[1];
  EXPECT_TRUE(absl::StrContains(rpcs[1], "\"why\":\"link cut\"")) << rpcs[1];
}

TEST(NetworkTrace, FaultSwitchesAreTesterEventsWhenTheyChange) {
  auto switches = [](Network& net, ClientEnd&) {
    net.Reliable(true);  // no change
    net.Reliable(false);
    net.LongReordering(true);
  };
  const std::vector<std::string> events = Records(Traced(switches), "tester");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_TRUE(absl::StrContains(events[0], "\"event\":\"net\",\"reliable\":false")) << events[0];
  EXPECT_TRUE(absl::StrContains(events[1], "\"event\":\"net\",\"long_reordering\":true"))
      << events[1];
}

}  // namespace
}  // namespace labrpc
