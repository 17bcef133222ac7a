// kvraft/client.cc
//
// Your Clerk (Lab 3A, labs/3A/README.md). Each call sends its RPC to a
// server and, on a lost reply, ErrWrongLeader or any other failure, tries
// another, until a leader has applied the operation: so the same request
// can reach several servers, and the servers must apply it only once.
// Servers offer "KVServer.Get" and "KVServer.PutAppend" (common.h). Use the
// lab runtime to wait (lab::SleepFor), never sleep() or a clock.
// BEGIN SOLUTION 3A
//
// The reference Clerk remembers the last leader, tags every request with
// (client_id, seq) so a retried request is applied at most once, and keeps
// trying servers in turn until one answers as the leader.
// END SOLUTION
// HANDOUT:
#include "kvraft/client.h"

#include "kvraft/common.h"
#include "labrpc/runtime/lab.h"

namespace kvraft {

// BEGIN SOLUTION 3A
namespace {
// After every server failed once in a row, wait this long before the next
// round: no leader is reachable, and a new one takes an election timeout.
constexpr absl::Duration kRoundPause = absl::Milliseconds(50);
}  // namespace
// END SOLUTION

Clerk::Clerk(std::vector<std::shared_ptr<labrpc::ClientEnd>> servers)
    : servers_(std::move(servers)) {
  // BEGIN SOLUTION 3A
  client_id_ = static_cast<int64_t>(lab::RandUint64() >> 2);
  // END SOLUTION
}

std::string Clerk::Get(const std::string& key) {
  // BEGIN SOLUTION 3A
  GetArgs args;
  args.key = key;
  args.client_id = client_id_;
  args.seq = next_seq_++;
  while (true) {
    GetReply reply;
    if (servers_[leader_]->Call("KVServer.Get", args, &reply)) {
      if (reply.err == kOK || reply.err == kErrNoKey) {
        failures_ = 0;
        return reply.err == kOK ? reply.value : "";
      }
    }
    NextServer();
  }
  // END SOLUTION
  // HANDOUT: // Your code here (3A). An RPC to server i looks like this:
  // HANDOUT: //   GetArgs args;
  // HANDOUT: //   args.key = key;
  // HANDOUT: //   GetReply reply;
  // HANDOUT: //   bool ok = servers_[i]->Call("KVServer.Get", args, &reply);
  // HANDOUT: // ok is false when no reply came back (lost, or the server is down or
  // HANDOUT: // cut off): try the next server, as after ErrWrongLeader. Keep trying
  // HANDOUT: // until an answer comes; "" for a key that has no value.
  // HANDOUT: (void)key;
  // HANDOUT: return "";
}

void Clerk::PutAppend(const std::string& key, const std::string& value, const std::string& op) {
  // BEGIN SOLUTION 3A
  PutAppendArgs args;
  args.key = key;
  args.value = value;
  args.op = op;
  args.client_id = client_id_;
  args.seq = next_seq_++;
  while (true) {
    PutAppendReply reply;
    if (servers_[leader_]->Call("KVServer.PutAppend", args, &reply) && reply.err == kOK) {
      failures_ = 0;
      return;
    }
    NextServer();
  }
  // END SOLUTION
  // HANDOUT: // Your code here (3A): as Get, with "KVServer.PutAppend".
  // HANDOUT: (void)key, (void)value, (void)op;
}

void Clerk::Put(const std::string& key, const std::string& value) { PutAppend(key, value, "Put"); }

void Clerk::Append(const std::string& key, const std::string& value) {
  PutAppend(key, value, "Append");
}

// BEGIN SOLUTION 3A
void Clerk::NextServer() {
  leader_ = (leader_ + 1) % static_cast<int>(servers_.size());
  if (++failures_ % static_cast<int>(servers_.size()) == 0) lab::SleepFor(kRoundPause);
}
// END SOLUTION

}  // namespace kvraft
