// labrpc/bench_util.cc

#include "labrpc/bench_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"

namespace labrpc::bench {

FlagReader::FlagReader(const char* program, const char* usage, int argc, char** argv)
    : program_(program), usage_(usage), argc_(argc), argv_(argv) {}

bool FlagReader::Next() {
  if (next_ >= argc_) return false;
  arg_ = argv_[next_++];
  const size_t eq = arg_.find('=');
  name_ = arg_.substr(0, eq);
  value_ = eq == absl::string_view::npos ? "" : arg_.substr(eq + 1);
  if (name_ == "--help" || name_ == "-h") {
    std::printf("%s", usage_);
    std::exit(0);
  }
  return true;
}

int64_t FlagReader::Int(int64_t lo, int64_t hi) const {
  int64_t v = 0;
  if (!absl::SimpleAtoi(value_, &v) || v < lo || v > hi) BadValue();
  return v;
}

void FlagReader::BadValue(absl::string_view note) const {
  Fail(absl::StrCat("bad value in ", arg_, note));
}

void FlagReader::Unknown() const { Fail(absl::StrCat("unknown flag ", arg_)); }

void FlagReader::Fail(const std::string& error) const {
  std::fprintf(stderr, "%s: %s\n\n%s", program_, error.c_str(), usage_);
  std::exit(2);
}

double RealSeconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

std::string ShellQuote(absl::string_view s) {
  return absl::StrCat("'", absl::StrReplaceAll(s, {{"'", "'\\''"}}), "'");
}

std::string DefaultSuiteBinary(const char* argv0, absl::string_view package,
                               absl::string_view name) {
  std::error_code ec;
  std::vector<std::filesystem::path> dirs;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) dirs.push_back(self.parent_path());
  dirs.push_back(std::filesystem::path(argv0).parent_path());
  dirs.push_back(std::string(package));
  for (const auto& dir : dirs) {
    const std::filesystem::path p = dir / std::string(name);
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "";
}

void CountTestResult(absl::string_view line, SuiteRun* run) {
  absl::ConsumeSuffix(&line, "\n");
  if (!absl::ConsumeSuffix(&line, " ms)")) return;
  bool ok = false;
  if (absl::ConsumePrefix(&line, "[       OK ] ")) {
    ok = true;
  } else if (!absl::ConsumePrefix(&line, "[  FAILED  ] ")) {
    return;
  }
  const size_t paren = line.rfind(" (");
  int64_t ms = 0;
  if (paren == absl::string_view::npos || !absl::SimpleAtoi(line.substr(paren + 2), &ms)) return;
  ++(ok ? run->passed : run->failed);
  run->tests.emplace_back(ms, std::string(line.substr(0, paren)));
}

SuiteRun RunSuite(const std::string& binary, absl::string_view runtime, absl::string_view filter,
                  absl::string_view log_prefix) {
  SuiteRun run;
  run.log = (std::filesystem::temp_directory_path() /
             absl::StrCat(log_prefix, runtime, ".", ::getpid(), ".log"))
                .string();
  const std::string command =
      absl::StrCat("LAB_RUNTIME=", runtime, runtime == "sim" ? " LAB_SEED=1 " : " ",
                   ShellQuote(binary), " --gtest_filter=", ShellQuote(filter), " 2>&1");
  std::FILE* log = std::fopen(run.log.c_str(), "w");
  const auto t0 = std::chrono::steady_clock::now();
  std::FILE* out = ::popen(command.c_str(), "r");
  if (out == nullptr) {
    if (log != nullptr) std::fclose(log);
    return run;
  }
  std::string line;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, out) != nullptr) {
    if (log != nullptr) std::fputs(buf, log);
    line += buf;
    if (!line.empty() && line.back() == '\n') {
      CountTestResult(line, &run);
      line.clear();
    }
  }
  const int status = ::pclose(out);
  run.wall_seconds = RealSeconds(t0);
  if (status != -1 && WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  if (status != -1 && WIFSIGNALED(status)) run.exit_code = 128 + WTERMSIG(status);
  if (log != nullptr) std::fclose(log);
  return run;
}

std::string Slowest(SuiteRun run, size_t n) {
  std::sort(run.tests.begin(), run.tests.end(), [](const auto& a, const auto& b) {
    return a.first > b.first;
  });
  if (run.tests.size() > n) run.tests.resize(n);
  std::vector<std::string> parts;
  for (const auto& [ms, name] : run.tests) {
    parts.push_back(absl::StrCat(name, " ", absl::SixDigits(static_cast<double>(ms) / 1000), "s"));
  }
  return absl::StrJoin(parts, ", ");
}

void PrintSuiteTable(const SuiteTable& table) {
  const std::string& binary = table.binary;
  std::printf("%s: %s --gtest_filter=%s\n\n", table.title.c_str(),
              binary.empty() ? "(no binary)" : binary.c_str(), table.filter.c_str());
  if (binary.empty() || ::access(binary.c_str(), X_OK) != 0) {
    std::printf("  cannot run the suite binary: build it (bazel build %s) or pass --suite_binary\n",
                table.build_target.c_str());
    return;
  }
  std::printf("  %-8s %7s %7s %5s %10s  %s\n", "runtime", "passed", "failed", "exit", "wall s",
              "log");
  std::fflush(stdout);
  for (absl::string_view runtime : {"sim", "threads"}) {
    if (runtime == "threads" && !table.threads) {
      std::printf("  %-8s (skipped; --suite_threads runs it, %s)\n", "threads",
                  table.threads_time.c_str());
      continue;
    }
    const SuiteRun r = RunSuite(binary, runtime, table.filter, table.log_prefix);
    std::printf("  %-8s %7d %7d %5d %10.1f  %s\n", std::string(runtime).c_str(), r.passed,
                r.failed, r.exit_code, r.wall_seconds, r.log.c_str());
    if (table.slowest > 0 && !r.tests.empty()) {
      std::printf("  %-8s slowest (wall): %s\n", "", Slowest(r, table.slowest).c_str());
    }
    std::fflush(stdout);
  }
  std::printf("\n");
}

}  // namespace labrpc::bench
