// labrpc/persister.cc

#include "labrpc/persister.h"

#include "labrpc/runtime/runtime.h"

namespace labrpc {

std::shared_ptr<Persister> Persister::Copy() const {
  auto copy = std::make_shared<Persister>();
  lab::MutexLock l(&mu_);
  lab::MutexLock c(&copy->mu_);
  copy->raft_state_ = raft_state_;
  copy->snapshot_ = snapshot_;
  return copy;
}

void Persister::ChargeWriteTime(size_t bytes) {
  if (lab::CurrentRuntime() != lab::RuntimeKind::kSim) return;
  lab::SleepFor(kWriteLatency + kWriteTimePerKiB * static_cast<double>(bytes) / 1024);
}

void Persister::Save(std::string raft_state, std::string snapshot) {
  ChargeWriteTime(raft_state.size() + snapshot.size());
  lab::MutexLock l(&mu_);
  raft_state_ = std::move(raft_state);
  snapshot_ = std::move(snapshot);
}

void Persister::SaveRaftState(std::string raft_state) {
  ChargeWriteTime(raft_state.size());
  lab::MutexLock l(&mu_);
  raft_state_ = std::move(raft_state);
}

std::string Persister::ReadRaftState() const {
  lab::MutexLock l(&mu_);
  return raft_state_;
}

std::string Persister::ReadSnapshot() const {
  lab::MutexLock l(&mu_);
  return snapshot_;
}

int64_t Persister::RaftStateSize() const {
  lab::MutexLock l(&mu_);
  return static_cast<int64_t>(raft_state_.size());
}

int64_t Persister::SnapshotSize() const {
  lab::MutexLock l(&mu_);
  return static_cast<int64_t>(snapshot_.size());
}

}  // namespace labrpc
