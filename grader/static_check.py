# grader/static_check.py
#
# Flags calls in submitted files that student code has no reason to make:
# ending or forking the process, signals, file and socket I/O, and raw
# threads, sleeps, clocks and randomness instead of the lab runtime. These
# are warnings for the instructor to review, not failures: the tests are
# the judge, and a legitimate use can exist.
#
#   for w in check_text(text, "raft/raft.cc"): print(w)   # "raft/raft.cc:12: ..."
#
# Comments and string literals are blanked out first, so prose and messages
# do not trigger it; member calls (x.write(...), x->kill(...)) do not either.

from __future__ import annotations

import dataclasses
import re

# A bare or ::-qualified call: not a member (x.f, x->f) and not another
# namespace's function (foo::f).
_FREE = r"(?<![\w.>])(?<![\w]::)(?:::|std::)?"

RULES = [
    (_FREE + r"(exit|_exit|_Exit|quick_exit|abort|terminate)\s*\(",
     "ends the process: a test must end by itself (let failures fail)"),
    (_FREE + r"(fork|vfork|clone|execl|execlp|execle|execv|execvp|execvpe|execve|system|popen"
     r"|posix_spawnp?|daemon)\s*\(",
     "starts or replaces processes"),
    (_FREE + r"(signal|sigaction|raise|kill|killpg|pthread_kill|alarm|setitimer|setjmp|longjmp"
     r"|atexit|at_quick_exit|set_terminate)\s*\(",
     "signal handling or process control"),
    (_FREE + r"(fopen|freopen|fdopen|open|openat|creat|unlink|remove|rename|mkdir|rmdir|truncate"
     r"|chmod|chdir|dup2?|write|read|pread|pwrite|fwrite|fread|fputs|mmap|ioctl|fcntl)\s*\(",
     "file I/O: state goes through the Persister"),
    (r"\bstd::(i|o)?fstream\b|\bstd::filesystem\b|\bFILE\s*\*", "file I/O: state goes through the Persister"),
    (_FREE + r"(socket|connect|bind|listen|accept|sendto|recvfrom|sendmsg|recvmsg|getaddrinfo)\s*\(",
     "socket I/O: peers talk through labrpc"),
    (r"\bstd::(thread|jthread|async)\b|\bpthread_create\s*\(", "a raw thread: use lab::Go"),
    (r"\bstd::this_thread::sleep_(for|until)\b|" + _FREE + r"(sleep|usleep|nanosleep|clock_nanosleep)\s*\("
     r"|\babsl::SleepFor\b",
     "a real sleep: use lab::SleepFor"),
    (r"\bstd::chrono::(system_clock|steady_clock|high_resolution_clock)\b|\babsl::Now\s*\("
     r"|" + _FREE + r"(time|gettimeofday|clock_gettime|clock)\s*\(",
     "the real clock: use lab::Now"),
    (_FREE + r"(rand|srand|random|srandom|drand48|arc4random)\s*\(|\bstd::random_device\b"
     r"|\babsl::BitGen\b|\bstd::(mt19937(_64)?|default_random_engine)\b",
     "randomness outside the runtime: use lab::RandInt (runs must replay)"),
    (r"\bstd::(mutex|recursive_mutex|timed_mutex|shared_mutex|condition_variable(_any)?)\b"
     r"|\babsl::(Mutex|CondVar|Notification)\b|\bpthread_mutex_\w+\s*\(",
     "a lock outside the runtime: use lab::Mutex / lab::CondVar (the sim runtime cannot see it)"),
    (r"\bsyscall\s*\(|\b__asm__\b|\basm\s*\(|\bdlopen\s*\(|\bdlsym\s*\(", "low-level escape"),
    (r"^\s*#\s*include\s*<(fstream|thread|future|unistd\.h|csignal|signal\.h|sys/[\w/]+\.h|spawn\.h"
     r"|filesystem|netinet/[\w/]+\.h|arpa/[\w/]+\.h|netdb\.h|dlfcn\.h|fcntl\.h|chrono|random"
     r"|ctime|time\.h|mutex|condition_variable|shared_mutex|cstdlib|stdlib\.h|cstdio|stdio\.h)>",
     "includes a header for process, file, thread, time or random facilities"),
]
_COMPILED = [(re.compile(p), why) for p, why in RULES]


@dataclasses.dataclass
class Warning:
    path: str
    line: int
    code: str
    why: str

    def __str__(self):
        return f"{self.path}:{self.line}: {self.why}: {self.code}"


def blank_comments_and_strings(text: str) -> str:
    """The text with comments and string/char literals replaced by spaces
    (newlines kept, so line numbers stay)."""
    out = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif c == "R" and text.startswith('R"', i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'R"([^()\\\s]{0,16})\(', text[i:])
            if m:
                end = text.find(")" + m.group(1) + '"', i)
                end = n if end < 0 else end + len(m.group(1)) + 2
                out.append("".join(ch if ch == "\n" else " " for ch in text[i:end]))
                i = end
            else:
                out.append(c)
                i += 1
        elif c in "\"'":
            if c == "'" and i > 0 and text[i - 1].isalnum():  # digit separator 1'000
                out.append(c)
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + " " * (j - i - 2) + (c if j - i >= 2 else ""))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def check_text(text: str, path: str) -> list:
    cleaned = blank_comments_and_strings(text)
    originals = text.splitlines()
    warnings = []
    for number, line in enumerate(cleaned.splitlines(), start=1):
        seen = set()
        for pattern, why in _COMPILED:
            if why not in seen and pattern.search(line):
                seen.add(why)
                code = originals[number - 1].strip() if number <= len(originals) else line.strip()
                warnings.append(Warning(path, number, code[:160], why))
    return warnings
