# tools/trace/synth.py
#
# Synthetic traces (trace/SCHEMA.md) for the viewers' tests and for sizing
# the HTML page: a small discrete-event model of Raft on a lossy network
# (elections, heartbeats, appends, commits and applies; RPCs lost and replies
# held back; partitions, crashes and restarts; LAB_LOG lines; a failing
# check at the end). It is not the reference Raft; it only has to look like a
# real run to a viewer, deterministically for a seed.
#
#   python3 -m tools.trace.synth --seconds 120 --peers 5 --seed 1 OUT.jsonl
#   python3 -m tools.trace.synth --bug two-leaders OUT.jsonl   # a broken Raft
#
# --bug two-leaders makes voters forget their votes at one moment, so two
# candidates of one term both win: the first bad moment then comes well
# before the failing check.

from __future__ import annotations

import argparse
import heapq
import json
import random
import sys

MS = 1000  # microseconds


class Synth:
    def __init__(self, peers=5, seconds=10.0, seed=1, bug=None, clients=0, verbose=True,
                 heartbeat_ms=100):
        self.heartbeat_ms = heartbeat_ms
        self.n = peers
        self.names = [str(i) for i in range(peers)]
        self.rng = random.Random(seed)
        self.end_t = int(seconds * 1e6)
        self.bug = bug
        self.verbose = verbose
        self.clients = [f"clerk {i}" for i in range(clients)]
        self.out = []
        self.seq = 0
        self.now = 0
        self.queue = []
        self.qn = 0
        self.next_id = 1
        self.term = [0] * peers
        self.role = ["follower"] * peers
        self.voted = [None] * peers
        self.log = [[] for _ in range(peers)]   # entries: (term, command)
        self.commit = [0] * peers
        self.applied = [0] * peers
        self.alive = [True] * peers
        self.group = [0] * peers
        self.timer_gen = [0] * peers
        self.votes = [set() for _ in range(peers)]
        self.match = [[0] * peers for _ in range(peers)]
        self.reliable = True
        self.long_reordering = False
        self.bug_at = int(self.end_t * 0.6) if bug == "two-leaders" else None
        self.bug_armed = False
        self.shown = [dict() for _ in range(peers)]
        self.last_leader_term = 0
        self.command = 100

    # --- output --------------------------------------------------------
    def emit(self, kind, **fields):
        record = {"kind": kind, "t": self.now, "seq": self.seq}
        record.update(fields)
        self.seq += 1
        self.out.append(record)
        return record

    def say(self, p, topic, text, task="ticker"):
        if self.verbose:
            self.emit("log", peer=self.names[p], task=task, topic=topic, text=text)

    def show_state(self, p):
        state = {"term": self.term[p], "role": self.role[p] if self.alive[p] else "dead",
                 "commit": self.commit[p], "applied": self.applied[p], "log_len": len(self.log[p])}
        changed = {k: v for k, v in state.items() if self.shown[p].get(k) != v}
        if changed:
            self.shown[p].update(changed)
            self.emit("state", peer=self.names[p], **changed)

    # --- scheduling ----------------------------------------------------
    def at(self, t, fn, *args):
        self.qn += 1
        heapq.heappush(self.queue, (t, self.qn, fn, args))

    def reachable(self, a, b):
        return self.alive[a] and self.alive[b] and self.group[a] == self.group[b]

    def reset_timer(self, p):
        self.timer_gen[p] += 1
        self.at(self.now + self.rng.randint(300, 600) * MS, self.on_timeout, p, self.timer_gen[p])

    # --- RPCs ----------------------------------------------------------
    def call(self, a, b, method, fields, handler):
        rid = self.next_id
        self.next_id += 1
        self.emit("rpc", phase="send", id=rid, **{"from": self.names[a], "to": self.names[b]},
                  method=method, bytes=60 + 40 * fields.get("entries", 0), fields=fields)
        if not self.reachable(a, b):
            why = "server dead" if not self.alive[b] else "link cut"
            self.at(self.now + self.rng.randint(1, 5) * MS, self.lost, rid, why)
            return
        lossy = not self.reliable and not self.bug_armed  # the planted bug needs its votes
        if lossy and self.rng.random() < 0.1:
            self.at(self.now + self.rng.randint(1, 20) * MS, self.lost, rid, "request dropped")
            return
        self.at(self.now + self.rng.randint(1, 15) * MS, self.deliver, rid, a, b, method, fields, handler)

    def lost(self, rid, why):
        self.emit("rpc", phase="lost", id=rid, why=why)

    def deliver(self, rid, a, b, method, fields, handler):
        if not self.alive[b]:
            self.lost(rid, "server dead")
            return
        self.emit("rpc", phase="deliver", id=rid)
        reply = handler(b, fields)
        self.show_state(b)
        if not self.reliable and not self.bug_armed and self.rng.random() < 0.1:
            self.at(self.now + self.rng.randint(1, 20) * MS, self.lost, rid, "reply dropped")
            return
        held = 0
        if self.long_reordering and not self.bug_armed and self.rng.random() < 0.15:
            held = self.rng.randint(200, 2000)
        self.at(self.now + self.rng.randint(1, 15) * MS + held * MS, self.got_reply, rid, a, b,
                method, fields, reply, held)

    def got_reply(self, rid, a, b, method, fields, reply, held):
        record = {"phase": "reply", "id": rid, "bytes": 20, "fields": reply}
        if held:
            record["held_back_ms"] = held
        self.emit("rpc", **record)
        if not self.alive[a]:
            return
        if reply["term"] > self.term[a]:
            self.step_down(a, reply["term"], "reply")
            return
        if method == "Raft.RequestVote":
            self.on_vote(a, b, fields, reply)
        else:
            self.on_append_reply(a, b, fields, reply)
        self.show_state(a)

    # --- Raft, roughly -------------------------------------------------
    def step_down(self, p, term, why):
        self.say(p, "TERM", f"term {self.term[p]} -> {term} ({why}); follower")
        self.term[p], self.role[p], self.voted[p] = term, "follower", None
        self.show_state(p)

    def on_timeout(self, p, gen):
        if gen != self.timer_gen[p] or not self.alive[p]:
            return
        if self.role[p] == "leader":
            return
        self.term[p] += 1
        self.role[p], self.voted[p], self.votes[p] = "candidate", p, {p}
        self.say(p, "TIMER", f"election timeout; candidate for term {self.term[p]}", "ticker")
        self.show_state(p)
        self.reset_timer(p)
        last = len(self.log[p])
        fields = {"term": self.term[p], "candidate_id": p, "last_log_index": last,
                  "last_log_term": self.log[p][-1][0] if last else 0}
        for q in range(self.n):
            if q != p:
                self.call(p, q, "Raft.RequestVote", dict(fields), self.handle_vote)

    def handle_vote(self, p, f):
        if f["term"] > self.term[p]:
            self.step_down(p, f["term"], "RequestVote")
        mine = (self.log[p][-1][0] if self.log[p] else 0, len(self.log[p]))
        up_to_date = (f["last_log_term"], f["last_log_index"]) >= mine
        forgetful = self.bug_armed
        grant = (f["term"] == self.term[p] and up_to_date and
                 (self.voted[p] in (None, f["candidate_id"]) or forgetful))
        if grant:
            self.voted[p] = f["candidate_id"]
            self.reset_timer(p)
        self.say(p, "VOTE", f"{'granted' if grant else 'refused'} vote to {f['candidate_id']} "
                 f"in term {f['term']}", "RequestVote")
        return {"term": self.term[p], "vote_granted": grant}

    def on_vote(self, a, b, f, reply):
        if self.role[a] != "candidate" or f["term"] != self.term[a] or not reply["vote_granted"]:
            return
        self.votes[a].add(b)
        if len(self.votes[a]) * 2 > self.n:
            self.role[a] = "leader"
            self.match[a] = [0] * self.n
            self.say(a, "LEAD", f"won the election of term {self.term[a]} with votes "
                     f"{sorted(self.votes[a])}", "elector")
            self.show_state(a)
            self.heartbeat(a, self.term[a])

    def heartbeat(self, p, term):
        if not self.alive[p] or self.role[p] != "leader" or self.term[p] != term:
            return
        for q in range(self.n):
            if q == p:
                continue
            prev = min(self.match[p][q], len(self.log[p]))
            entries = len(self.log[p]) - prev
            fields = {"term": term, "leader_id": p, "prev_log_index": prev,
                      "prev_log_term": self.log[p][prev - 1][0] if prev else 0,
                      "entries": entries, "leader_commit": self.commit[p]}
            if entries:
                self.say(p, "LOG", f"send {entries} entries from {prev + 1} to {q}", "replicator")
            else:
                self.say(p, "LEAD", f"heartbeat to {q}: term {term}, commit {self.commit[p]}",
                         "replicator")
            self.call(p, q, "Raft.AppendEntries", fields, self.handle_append)
        self.at(self.now + self.heartbeat_ms * MS, self.heartbeat, p, term)

    def handle_append(self, p, f):
        if f["term"] < self.term[p]:
            self.say(p, "LOG", f"rejected AppendEntries of stale term {f['term']}", "AppendEntries")
            return {"term": self.term[p], "success": False}
        if self.bug_armed and f["term"] == self.term[p] and self.role[p] == "candidate":
            # The planted bug's other half: a candidate ignores a leader of its own term.
            self.say(p, "LOG", f"candidate ignores AppendEntries of term {f['term']}", "AppendEntries")
            return {"term": self.term[p], "success": False}
        if f["term"] > self.term[p] or self.role[p] != "follower":
            self.step_down(p, f["term"], "AppendEntries")
        self.reset_timer(p)
        self.say(p, "TIMER", f"election timer reset by leader {f['leader_id']} of term {f['term']}",
                 "AppendEntries")
        leader = self.log[f["leader_id"]]
        n = f["prev_log_index"] + f["entries"]
        if self.log[p][:f["prev_log_index"]] != leader[:f["prev_log_index"]]:
            self.say(p, "LOG", f"prev {f['prev_log_index']} does not match", "AppendEntries")
            return {"term": self.term[p], "success": False, "conflict_index": len(self.log[p])}
        if f["entries"]:
            self.log[p] = list(leader[:n])
            self.say(p, "LOG", f"appended {f['entries']} entries; log has {n}", "AppendEntries")
            self.say(p, "PERSIST", f"persisted term {self.term[p]}, log {n}", "AppendEntries")
        self.advance_commit(p, min(f["leader_commit"], len(self.log[p])))
        return {"term": self.term[p], "success": True}

    def on_append_reply(self, a, b, f, reply):
        if self.role[a] != "leader" or f["term"] != self.term[a]:
            return
        if reply["success"]:
            self.match[a][b] = max(self.match[a][b], f["prev_log_index"] + f["entries"])
            counts = [self.match[a][q] if q != a else len(self.log[a]) for q in range(self.n)]
            majority = sorted(counts, reverse=True)[self.n // 2]
            if majority > self.commit[a] and self.log[a][majority - 1][0] == self.term[a]:
                self.advance_commit(a, majority)
        else:
            self.match[a][b] = max(0, min(self.match[a][b], reply.get("conflict_index", 1)) - 1)

    def advance_commit(self, p, index):
        if index <= self.commit[p]:
            return
        self.commit[p] = index
        self.say(p, "COMMIT", f"commit index -> {index}", "applier")
        while self.applied[p] < self.commit[p]:
            self.applied[p] += 1
            i = self.applied[p]
            self.emit("apply", peer=self.names[p], index=i, term=self.log[p][i - 1][0],
                      command=str(self.log[p][i - 1][1]))
        self.show_state(p)

    # --- the tester ----------------------------------------------------
    def leader(self):
        ls = [p for p in range(self.n) if self.alive[p] and self.role[p] == "leader"]
        return max(ls, key=lambda p: self.term[p]) if ls else None

    def start_command(self):
        p = self.leader()
        if p is None:
            return
        self.command += 1
        self.log[p].append((self.term[p], self.command))
        self.emit("tester", event="start", peer=self.names[p], command=str(self.command),
                  index=len(self.log[p]), term=self.term[p], is_leader=True)
        self.say(p, "LOG", f"Start({self.command}) at index {len(self.log[p])}", "Start")
        self.show_state(p)

    def crash(self, p):
        self.alive[p] = False
        self.emit("tester", event="crash", peer=self.names[p])
        self.show_state(p)
        self.at(self.now + self.rng.randint(1000, 3000) * MS, self.restart, p)

    def restart(self, p):
        self.alive[p] = True
        self.role[p] = "follower"
        self.commit[p] = self.applied[p] = 0
        self.emit("tester", event="restart", peer=self.names[p])
        self.say(p, "PERSIST", f"restored term {self.term[p]}, log {len(self.log[p])}", "Make")
        self.show_state(p)
        self.reset_timer(p)

    def partition(self):
        order = list(range(self.n))
        self.rng.shuffle(order)
        minority = order[: (self.n - 1) // 2]
        self.group = [1 if p in minority else 0 for p in range(self.n)]
        groups = [[self.names[p] for p in range(self.n) if self.group[p] == g] for g in (0, 1)]
        self.emit("tester", event="partition", groups=[g for g in groups if g])

    def heal(self):
        self.group = [0] * self.n
        self.emit("tester", event="partition", groups=[list(self.names)])

    def tester_step(self, k):
        """Every 500 ms: a command, and now and then a fault."""
        self.start_command()
        if k % 4 == 0:
            leader = self.leader()
            self.emit("tester", event="check", what="checkOneLeader",
                      result=f"leader {self.names[leader]}" if leader is not None else "none yet")
        if k % 20 == 5:
            self.emit("tester", event="phase", text=f"round {k // 20}: partition")
            self.partition()
        elif k % 20 == 10:
            self.heal()
        elif k % 20 == 15:
            victim = self.rng.randrange(self.n)
            if self.alive[victim]:
                self.crash(victim)
        if k == 12:
            self.reliable = False
            self.emit("tester", event="net", reliable=False)
        if k == 30:
            self.long_reordering = True
            self.emit("tester", event="net", long_reordering=True)

    def arm_bug(self):
        """Two live followers time out together in one term, and every voter
        grants both (the planted bug: votes are not remembered, and a candidate
        ignores a leader of its own term)."""
        self.heal()
        for p in range(self.n):
            if self.alive[p] and self.role[p] == "leader":
                self.step_down(p, self.term[p], "planted bug")
        # The two most up-to-date live peers, so that every voter may elect either.
        live = sorted((p for p in range(self.n) if self.alive[p]),
                      key=lambda p: (self.log[p][-1][0] if self.log[p] else 0, len(self.log[p])),
                      reverse=True)
        if len(live) < 2:
            return
        a, b = live[0], live[1]
        term = max(self.term)
        self.bug_armed = True
        for p in (a, b):
            self.term[p] = term
            self.timer_gen[p] += 1
            self.on_timeout(p, self.timer_gen[p])

    def clerk_op(self, c, k):
        rid = self.next_id
        self.next_id += 1
        kind = ("put", "append", "get")[k % 3]
        key = f"k{k % 4}"
        fields = {"client": self.clients[c], "op": kind, "key": key, "id": rid}
        if kind != "get":
            fields["value"] = f"x{c}.{k}"
        self.emit("op", phase="call", **fields)
        out = {"client": self.clients[c], "op": kind, "key": key, "id": rid, "phase": "return"}
        if kind == "get":
            out["output"] = f"x{c}.{k - 1}"
        self.at(self.now + self.rng.randint(5, 400) * MS, lambda: self.emit("op", **out))

    def run(self, test="Synthetic.Run", seed=1):
        self.emit("run", schema=1, test=test, runtime="sim", seed=seed, peers=self.names,
                  clients=self.clients, replay=f"./grade --replay {seed} {test}")
        self.emit("tester", event="begin", title="synthetic run: elections, faults, agreement")
        for p in range(self.n):
            self.show_state(p)
            self.reset_timer(p)
        for k in range(int(self.end_t / (500 * MS))):
            self.at(1000 * MS + k * 500 * MS, self.tester_step, k)
            for c in range(len(self.clients)):
                self.at(1000 * MS + k * 500 * MS + 100 * MS * c, self.clerk_op, c, k)
        if self.bug_at is not None:
            self.at(self.bug_at, self.arm_bug)
        while self.queue and self.queue[0][0] <= self.end_t:
            t, _, fn, args = heapq.heappop(self.queue)
            self.now = t
            fn(*args)
            if self.bug_armed and self.now > self.bug_at + 1000 * MS:
                self.bug_armed = False
        self.now = self.end_t
        failed = self.bug is not None
        if failed:
            self.emit("tester", event="check", what="checkOneLeader", result="failed")
            self.emit("failure", text=self.failure_text(), file="raft/config.cc", line=412)
        self.emit("end", passed=not failed, dropped=0)
        return self.out

    def failure_text(self):
        if self.bug == "two-leaders":
            return "term has 2 (>1) leaders"
        return "one(cmd) failed to reach agreement"


def generate(peers=5, seconds=10.0, seed=1, bug=None, clients=0, verbose=True,
             test="Synthetic.Run", heartbeat_ms=100):
    """The records of one synthetic run (a list of dicts)."""
    return Synth(peers, seconds, seed, bug, clients, verbose, heartbeat_ms).run(test=test, seed=seed)


def lines(records):
    """The records as the lines of a trace file."""
    return [json.dumps(r, separators=(",", ":")) + "\n" for r in records]


def trace(**options):
    """A synthetic run, parsed as a viewer reads it (records.Trace)."""
    from tools.trace import records
    return records.parse_lines(lines(generate(**options)), source="synthetic")


def write(records, path):
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(lines(records))


def main(argv=None):
    ap = argparse.ArgumentParser(description="Writes a synthetic trace (trace/SCHEMA.md).")
    ap.add_argument("out")
    ap.add_argument("--peers", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--clients", type=int, default=0)
    ap.add_argument("--bug", choices=["two-leaders", "fail"], default=None,
                    help="two-leaders: plant an election bug; fail: fail at the end only")
    ap.add_argument("--heartbeat-ms", type=int, default=100,
                    help="heartbeat period; smaller makes a denser trace")
    ap.add_argument("--quiet", action="store_true", help="no LAB_LOG lines")
    a = ap.parse_args(argv)
    write(generate(a.peers, a.seconds, a.seed, a.bug, a.clients, not a.quiet,
                   heartbeat_ms=a.heartbeat_ms), a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
