# grader/audit_test.py: the audit looks at what the compiler made of small
# hostile student files (compiled here with g++), next to a small framework
# object, and names what each one does wrong; a plain lab file passes.

import os
import subprocess
import unittest
from pathlib import Path

from grader import audit
from grader.testing import TempDir

STUDENT_OBJ = "bazel-out/k8-fastbuild/bin/raft/_objs/raft/raft.pic.o"
FRAMEWORK_OBJ = "bazel-out/k8-fastbuild/bin/raft/_objs/tester/tester.pic.o"
STUDENTS = ["raft/raft.cc", "raft/raft.h"]

FRAMEWORK = """
#include <string>
namespace raft {
void RunLabTest(const std::string& name) { (void)name; }
inline int Helper() { return 1; }
int UsesHelper() { return Helper(); }
struct Checks { __attribute__((noipa)) int Count() { return 3; } };
int Counted() { Checks c; return c.Count(); }
}
"""

CLEAN = """
#include <cstdio>
#include <memory>
#include <string>
#include <vector>
namespace raft {
struct Entry { long term; std::string command; };
class Raft {
 public:
  virtual ~Raft() = default;
  virtual void Append(long term);
  std::vector<Entry> log_;
};
void Raft::Append(long term) {
  log_.push_back({term, std::to_string(term)});
  static std::string once = "x";
  std::printf("%zu %s\\n", log_.size(), once.c_str());
}
std::unique_ptr<Raft> Make() { return std::make_unique<Raft>(); }
}
template <> struct std::hash<raft::Entry> { size_t operator()(const raft::Entry& e) const; };
size_t std::hash<raft::Entry>::operator()(const raft::Entry& e) const { return e.term; }
"""


def compile_to(root: Path, rel_obj: str, source: str, flags=()) -> None:
    src = root / (rel_obj + ".cc")
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_text(source)
    subprocess.run(["g++", "-std=c++20", "-O2", "-fPIC", *flags, "-c", str(src),
                    "-o", str(root / rel_obj)],
                   check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


class AuditObjectsTest(unittest.TestCase):
    def audit(self, student_source):
        with TempDir() as d:
            compile_to(d, FRAMEWORK_OBJ, FRAMEWORK)
            compile_to(d, STUDENT_OBJ, student_source)
            return [str(v) for v in audit.audit_objects(d, [FRAMEWORK_OBJ, STUDENT_OBJ], STUDENTS)]

    def assertFlags(self, source, *words):
        found = self.audit(source)
        for w in words:
            self.assertTrue(any(w in v for v in found), f"{w!r} not in {found}")
        self.assertTrue(all(v.startswith("raft/raft.cc: ") for v in found), found)

    def test_plain_lab_code_passes(self):
        self.assertEqual(self.audit(CLEAN), [])

    def test_fake_report_then_exit(self):
        # Issue 15, item 1: write GoogleTest's report, then _exit(0).
        self.assertFlags("""
#include <cstdio>
#include <unistd.h>
namespace raft {
void Fake() {
  FILE* f = std::fopen("report.json", "w");
  std::fputs("{}", f);
  _exit(0);
}
}
""", "uses `fopen`", "uses `_exit`")

    def test_reaching_googletest(self):
        # Item 2: GoogleTest's API from student code.
        self.assertFlags("""
namespace testing { class UnitTest { public: static UnitTest* GetInstance(); }; }
namespace raft { void* Reach() { return testing::UnitTest::GetInstance(); } }
namespace raft { struct Entry {}; }
namespace testing { template <typename T> bool Equal(const T&, const T&); }
template <> bool testing::Equal<raft::Entry>(const raft::Entry&, const raft::Entry&) { return true; }
""", "uses `testing::UnitTest::GetInstance()`: GoogleTest",
                         "defines `bool testing::Equal<raft::Entry>(raft::Entry const&, "
                         "raft::Entry const&)` outside the lab's namespaces")

    def test_interposition(self):
        # Item 3: define what libc or the tester define.
        self.assertFlags("""
#include <string>
#include <sys/types.h>
extern "C" ssize_t write(int, const void*, size_t) { return 0; }
namespace raft {
void RunLabTest(const std::string&) {}
inline int Helper() { return 2; }
int Mine() { return Helper(); }
struct Checks { int Count(); };
int Checks::Count() { return 0; }  // a strong copy of the tester's inline function
}
""", "defines `write` outside the lab's namespaces",
                         "defines `raft::Checks::Count()`, which the framework defines",
                         "defines `raft::RunLabTest(std::__cxx11::basic_string<char, "
                         "std::char_traits<char>, std::allocator<char> > const&)`, which the "
                         "framework defines")

    def test_code_before_the_tester(self):
        self.assertFlags("""
int early;
__attribute__((constructor(101))) static void Early() { early = 1; }
namespace raft { int Pick() { return 1; } }
extern "C" int (*resolve())() { return raft::Pick; }
extern "C" int picked() __attribute__((ifunc("resolve")));
""", "section .init_array.00101", "as a GNU ifunc")

    def test_a_sanitizer_build_passes_but_not_a_second_early_constructor(self):
        with TempDir() as d:
            compile_to(d, FRAMEWORK_OBJ, FRAMEWORK)
            compile_to(d, STUDENT_OBJ, CLEAN, ["-fsanitize=thread"])
            self.assertEqual(audit.audit_objects(d, [FRAMEWORK_OBJ, STUDENT_OBJ], STUDENTS), [])
            compile_to(d, STUDENT_OBJ, CLEAN + "int early;\n__attribute__((constructor(99))) "
                       "static void Early() { early = 1; }\n", ["-fsanitize=thread", "-w"])
            found = [str(v) for v in audit.audit_objects(d, [FRAMEWORK_OBJ, STUDENT_OBJ],
                                                         STUDENTS)]
        self.assertTrue(any("section .init_array.00099" in v for v in found), found)

    def test_syscall_instruction_and_foreign_section(self):
        self.assertFlags("""
namespace raft {
long Raw() { long r; asm volatile("syscall" : "=a"(r) : "a"(39)); return r; }
}
asm(".section .payload,\\"a\\"\\n.byte 1,2,3\\n.previous");
""", "contains a `syscall` instruction", "section .payload")

    def test_headers_from_outside_the_tree(self):
        with TempDir() as d:
            dep = d / "raft.pic.d"
            dep.write_text("raft.pic.o: raft/raft.cc raft/raft.h /usr/include/c++/12/vector \\\n"
                           " /root/secret.h raft/../../../etc/hosts\n")
            found = [str(v) for v in audit.check_includes("raft/raft.cc", dep)]
        self.assertEqual(found, [
            "raft/raft.cc: reads /root/secret.h at compile time (outside the tree and the "
            "system headers)",
            "raft/raft.cc: reads raft/../../../etc/hosts at compile time (outside the tree)"])

    def test_names_of_the_lab_are_recognized(self):
        self.assertEqual(audit.qualified_name("void labrpc::Encode<raft::X>(raft::X const&)"),
                         "labrpc::Encode<raft::X>")
        self.assertEqual(audit.qualified_name("raft::operator<<(std::ostream&, raft::X const&)"),
                         "raft::operator@")
        self.assertEqual(audit.owner("vtable for raft::Raft"), "raft::Raft")
        self.assertEqual(audit._mangled_namespace("_ZNK4absl7debian311string_viewcvNSt7"), "absl::")


class MacroTest(unittest.TestCase):
    def preprocess(self, header, source):
        with TempDir() as d:
            (d / "raft").mkdir()
            (d / "labrpc").mkdir()
            (d / "labrpc" / "network.h").write_text("#pragma once\nclass Network { int x; };\n")
            (d / "raft" / "raft.h").write_text(header)
            (d / "raft" / "raft.cc").write_text(source)
            text = audit.preprocess(d, "raft/raft.cc")
        return [str(v) for v in audit.check_macros(text, "raft/raft.cc", STUDENTS)]

    def test_an_include_guard_and_macros_after_the_includes_pass(self):
        found = self.preprocess("#ifndef RAFT_RAFT_H_\n#define RAFT_RAFT_H_\n#endif\n",
                                '#include "raft/raft.h"\n#include "labrpc/network.h"\n'
                                "#define DPRINTF(...) 0\n")
        self.assertEqual(found, [])

    def test_a_header_macro_reaches_the_tester(self):
        found = self.preprocess("#pragma once\n#define private public\n"
                                "%:define EXPECT_TRUE(x) (void)0\n",
                                '#include "raft/raft.h"\n')
        self.assertIn("raft/raft.h: #defines the macro private: a student header is included by "
                      "the tester, so it may define only its include guard", found)
        self.assertTrue(any("EXPECT_TRUE" in f for f in found), found)  # a digraph, too

    def test_a_macro_before_a_framework_include(self):
        found = self.preprocess("#pragma once\n",
                                '#define x y\n#include "labrpc/network.h"\n#undef x\n')
        self.assertEqual(found, ["raft/raft.cc: #defines the macro x before an #include of "
                                 "framework code: put macros after the last #include"])


if __name__ == "__main__":
    unittest.main()
