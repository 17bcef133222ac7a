// kvraft/client.cc
//
// The reference Clerk: remembers the last leader, tags every request with
// (client_id, seq) so a retried request is applied at most once, and keeps
// trying servers in turn until one answers as the leader.

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
