# grader/audit.py
#
# The link-time audit of a submission: looks at what the compiler made of the
# student's files (their object files, from the build's own link command),
# not at their text, and rejects what student code has no reason to contain
# and what could forge a verdict (README "Honesty"):
#
#   - a definition the framework, GoogleTest or the C library could be
#     resolved to instead of their own (symbol interposition): every global
#     symbol an object defines must belong to the lab (raft::, kvraft::) or
#     be a template or inline function of a library header (std::, absl::,
#     labrpc::, ...: weak, the linker keeps one copy), and must not be a
#     symbol a framework object of the same binary defines strongly;
#   - a reference outside the allowlist (the lab runtime, labrpc, Abseil, the
#     C++ standard library and its ABI, a few C functions the compiler or
#     <cstdio>/<cstring>/<cmath> call for): no GoogleTest, no exit, no file,
#     process, signal, socket, dlsym or syscall functions;
#   - code that runs before the tester's own (constructor priorities,
#     .preinit_array, .init/.ctors sections, GNU ifuncs) and any section the
#     compiler does not emit for C++ (an assembler .section/.incbin);
#   - syscall instructions (inline assembly);
#   - headers read from outside the tree and the system's include folders
#     (the compile's dependency file; the build sandbox stops the read
#     itself, this catches it where there is no sandbox);
#   - a macro that reaches framework code: a student header may define only
#     its include guard; a student .cc may define or undefine macros only
#     after its last #include (found with the preprocessor's -dD output, so
#     digraphs and macro tricks do not hide one).
#
#   violations = audit_binary(tree, "//raft:raft_test", student_paths, run)
#   for v in violations: print(v)      # "raft/raft.cc: defines `write` ..."
#
# `run` runs a tool (nm, readelf, objdump, c++filt, g++) and may put it in
# the build's sandbox (grader/build_sandbox.py). A violation fails every run
# of the submission with its text.

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
from pathlib import Path

LAB_NAMESPACES = ("raft::", "kvraft::")

# Where a weak (COMDAT) definition may come from besides the lab: templates
# and inline functions of these libraries' headers.
HEADER_NAMESPACES = ("std::", "__gnu_cxx::", "__cxxabiv1::", "absl::", "cereal::", "labrpc::",
                     "lab::", "boost::")

# Compiler-made entities take the namespace of what they are for.
_ENTITY_PREFIXES = re.compile(
    r"^(?:vtable for |VTT for |construction vtable for .*?-in-|typeinfo for |typeinfo name for "
    r"|guard variable for |non-virtual thunk to |virtual thunk to |covariant return thunk to "
    r"|TLS init function for |TLS wrapper function for |reference temporary #\d+ for "
    r"|transaction clone for )+")

# References allowed by namespace (demangled, after _ENTITY_PREFIXES).
REFERENCE_NAMESPACES = LAB_NAMESPACES + HEADER_NAMESPACES + ("operator new", "operator delete")
# ...except these parts of the standard library (file and process control).
DENIED_IN_NAMESPACES = re.compile(
    r"fstream|filebuf|std::filesystem|std::__fs::|set_terminate|set_unexpected"
    r"|std::experimental::filesystem|get_terminate|std::quick_exit|std::_Exit"
    # Abseil's flag parsing reads files (--flagfile); its failure handler
    # installs signal handlers.
    r"|absl::(?:\w+::)?ParseCommandLine|absl::flags_internal::|absl::SetFlag"
    r"|FailureSignalHandler")
# C symbols allowed by name: what the compiler, the C++ ABI and the standard
# headers reference, printing to stdout/stderr, strings, math, the heap.
ALLOWED_C = frozenset("""
_GLOBAL_OFFSET_TABLE_ _Unwind_Resume __gxx_personality_v0 __stack_chk_fail __dso_handle
__tls_get_addr __cxa_allocate_exception __cxa_free_exception __cxa_throw __cxa_rethrow
__cxa_begin_catch __cxa_end_catch __cxa_get_exception_ptr __cxa_current_exception_type
__cxa_guard_acquire __cxa_guard_release __cxa_guard_abort __cxa_atexit __cxa_thread_atexit
__cxa_pure_virtual __cxa_deleted_virtual __cxa_bad_cast __cxa_bad_typeid
__cxa_throw_bad_array_new_length __libc_single_threaded __assert_fail abort
memcpy memmove memset memcmp memchr strlen strnlen strcmp strncmp strchr strrchr strstr strcpy
strncpy strcat strncat strtol strtoll strtoul strtoull strtod strtof atoi atol atoll
__memcpy_chk __memmove_chk __memset_chk __strcpy_chk __strncpy_chk __strcat_chk
printf fprintf sprintf snprintf vprintf vfprintf vsprintf vsnprintf puts fputs putchar fputc
putc fwrite fflush stdout stderr __printf_chk __fprintf_chk __sprintf_chk __snprintf_chk
__vprintf_chk __vfprintf_chk __vsprintf_chk __vsnprintf_chk __fwrite_chk
malloc calloc realloc free aligned_alloc posix_memalign
sqrt sqrtf pow powf exp expf exp2 log logf log2 log10 floor floorf ceil ceilf fmod fabs round
lround llround trunc fmin fmax hypot sin cos tan atan atan2 ldexp frexp modf
isalpha isdigit isspace isalnum isupper islower toupper tolower __ctype_b_loc
__ctype_tolower_loc __ctype_toupper_loc __errno_location qsort bsearch
pthread_mutex_lock pthread_mutex_unlock pthread_mutex_trylock pthread_once sched_yield
__pthread_key_create pthread_key_create pthread_getspecific pthread_setspecific pthread_self
pthread_equal pthread_cond_wait pthread_cond_signal pthread_cond_broadcast
pthread_cond_timedwait pthread_cond_destroy pthread_mutex_destroy
""".split())

# What the compiler's sanitizer instrumentation calls (./grade --race).
_SANITIZER_PREFIXES = ("__tsan_", "__asan_", "__ubsan_", "__sanitizer_")

# Sections the compiler emits for C++ (exact names or name + "." + suffix).
_SECTIONS_EXACT = frozenset("""
.text .data .bss .rodata .tdata .tbss .init_array .fini_array .eh_frame .gcc_except_table
.note.GNU-stack .note.gnu.property .comment .group .symtab .strtab .shstrtab
.data.rel.ro .data.rel .data.rel.ro.local .data.rel.local
""".split())
_SECTION_PREFIXES = (".text.", ".data.", ".bss.", ".rodata.", ".tdata.", ".tbss.",
                     ".gcc_except_table.", ".debug_", ".rela.", ".rela", ".data.rel.ro.",
                     ".data.rel.")
# ...but never these, which run code before the tester's (or are priorities).
_SECTIONS_DENIED = re.compile(r"^(\.rela)?\.(init_array|fini_array)\.\d+$|^(\.rela)?\.(preinit_array"
                              r"|init|fini|ctors|dtors)(\..*)?$")

_SYSCALL_INSN = re.compile(r"\t(syscall|sysenter|int\s+\$0x80)\b")
_DEFINED = set("TDBRWVuCGSAi")
_UNDEFINED = set("Uwv")


@dataclasses.dataclass(frozen=True)
class Violation:
    path: str  # the student file
    what: str

    def __str__(self):
        return f"{self.path}: {self.what}"


@dataclasses.dataclass
class Symbol:
    name: str  # mangled
    kind: str  # nm's letter
    demangled: str = ""


def run_tool(argv, cwd=None, timeout=120, input_text=None) -> str:
    """Runs a tool, returns its stdout; raises RuntimeError on failure."""
    r = subprocess.run(argv, cwd=cwd, input=input_text,
                       stdin=None if input_text is not None else subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       errors="replace", timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:2])} failed: {r.stderr.strip()[:300]}")
    return r.stdout


def link_inputs(tree: Path, target: str):
    """The object files of the target's link, from Bazel's params file, as
    paths relative to the execroot (they start with bazel-out/)."""
    package, _, name = target[2:].partition(":")
    params = Path(tree) / "bazel-bin" / package / f"{name}-2.params"
    objects = []
    for line in params.read_text().splitlines():
        if line.startswith("bazel-out/") and line.endswith(".o"):
            objects.append(line)
    return objects


def source_of(obj: str) -> str:
    """bazel-out/k8-fastbuild/bin/raft/_objs/raft/raft.pic.o -> raft/raft.cc"""
    m = re.match(r"^bazel-out/[^/]+/bin/(.*)/_objs/[^/]+/([^/]+?)(\.pic)?\.o$", obj)
    return f"{m.group(1)}/{m.group(2)}.cc" if m else ""


def symbols(obj: Path, run=run_tool) -> list:
    out = []
    for line in run(["nm", "-P", "--no-demangle", str(obj)]).splitlines():
        parts = line.split()
        if len(parts) >= 2 and not parts[0].endswith(":"):
            out.append(Symbol(parts[0], parts[1]))
    return out


def demangle_all(syms, run=run_tool) -> None:
    names = sorted({s.name for s in syms})
    if not names:
        return
    lines = run(["c++filt"], input_text="\n".join(names) + "\n").splitlines()
    if len(lines) != len(names):
        raise RuntimeError("c++filt did not answer one line per symbol")
    table = dict(zip(names, lines))
    for s in syms:
        s.demangled = table[s.name]


def owner(demangled: str) -> str:
    """The name an entity belongs to: "vtable for raft::Raft" -> "raft::Raft"."""
    return _ENTITY_PREFIXES.sub("", demangled)


_OPERATORS = re.compile(r"operator(<=>|<<=|>>=|<<|>>|<=|>=|->\*|->|<|>)")


def qualified_name(demangled: str) -> str:
    """The entity's qualified name without its return type and parameters:
    "void labrpc::Encode<raft::X>(raft::X const&)" -> "labrpc::Encode<raft::X>"."""
    text = _OPERATORS.sub("operator@", demangled.replace("(anonymous namespace)", "{anon}"))
    depth = 0
    start = 0
    for i, c in enumerate(text):
        if c in "<{":
            depth += 1
        elif c in ">}":
            depth -= 1
        elif depth == 0 and c == " ":
            start = i + 1
        elif depth == 0 and c == "(":
            return text[start:i]
    return text[start:]


_MANGLED_STD = {"St": "std::", "Sa": "std::", "Sb": "std::", "Ss": "std::", "Si": "std::",
                "So": "std::", "Sd": "std::"}


def _mangled_namespace(name: str) -> str:
    """The outermost namespace of a mangled name c++filt could not read
    ("_ZNK4absl7debian3..." -> "absl::"), or ""."""
    m = re.match(r"^_Z(?:TV|TI|TS|GV|Th\w*?_|Tv\w*?_)?N?[KVr]*(?:(S[tabsiod])|(\d+)(\w+))", name)
    if not m:
        return ""
    if m.group(1):
        return _MANGLED_STD[m.group(1)]
    return m.group(3)[:int(m.group(2))] + "::"


def _has_namespace(name: str, namespaces) -> bool:
    if name.startswith("_Z"):  # not demangled
        return _mangled_namespace(name).startswith(namespaces)
    if name.startswith(("operator new", "operator delete")):
        return any(n.startswith("operator ") for n in namespaces)
    return qualified_name(name).startswith(namespaces)


def _for_lab_type(name: str) -> bool:
    """A specialization for a lab type, e.g. std::hash<raft::Entry>::operator():
    no framework code can have defined it."""
    q = qualified_name(name)
    if not q.startswith(HEADER_NAMESPACES):  # never testing::, the tester's comparisons
        return False
    return re.search(r"<(?:[^<>]*,\s*)?(?:const )?(?:raft|kvraft)::", q) is not None


def check_definitions(path, syms, framework_strong, framework_weak=frozenset()) -> list:
    """framework_strong/weak: the mangled names the framework's objects
    define. A student definition may share a name with a framework one only
    if both are weak (an inline function or template of a shared header:
    the linker keeps the first copy, and the framework's objects come first
    on the link line)."""
    out = []
    for s in syms:
        if s.kind not in _DEFINED or s.name.startswith((".L", "DW.ref.")):
            continue
        name = owner(s.demangled)
        if s.kind == "i":
            out.append(Violation(path, f"defines `{s.demangled}` as a GNU ifunc (code that runs "
                                       "before the tester's)"))
            continue
        if s.name in framework_strong or (s.kind not in "WVu" and s.name in framework_weak):
            out.append(Violation(path, f"defines `{s.demangled}`, which the framework defines "
                                       "(symbol interposition)"))
            continue
        if _has_namespace(name, LAB_NAMESPACES) or _for_lab_type(name):
            continue
        weak = s.kind in "WVu"
        if weak and _has_namespace(name, HEADER_NAMESPACES):
            continue
        if name == "main":
            what = "defines main()"
        elif weak:
            what = f"defines `{s.demangled}` outside the lab's namespaces (raft::, kvraft::)"
        else:
            what = (f"defines `{s.demangled}` outside the lab's namespaces (raft::, kvraft::): "
                    "it could replace the framework's, GoogleTest's or the C library's")
        out.append(Violation(path, what))
    return out


def check_references(path, syms) -> list:
    out = []
    for s in syms:
        if s.kind not in _UNDEFINED:
            continue
        name = owner(s.demangled)
        if s.name in ALLOWED_C or s.name.startswith(_SANITIZER_PREFIXES):
            continue
        if _has_namespace(name, REFERENCE_NAMESPACES) and not DENIED_IN_NAMESPACES.search(name):
            continue
        if qualified_name(name).startswith("testing::"):
            why = "GoogleTest is the tester's, not student code's"
        else:
            why = "not on the allowlist of what student code may call (README \"Honesty\")"
        out.append(Violation(path, f"uses `{s.demangled}`: {why}"))
    return out


# A sanitizer build (./grade's choice, never the student's) has one
# constructor and one destructor of priority 99: the sanitizer's.
_SANITIZER_INIT = frozenset({"__tsan_init", "__asan_init"})
_SANITIZER_SECTIONS = (".init_array.00099", ".fini_array.00099")


def check_sections(path, obj: Path, run=run_tool, sanitized=False) -> list:
    out = []
    text = run(["readelf", "-SW", str(obj)])
    for m in re.finditer(r"^\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)",
                         text, re.MULTILINE):
        name, size = m.group(1), int(m.group(2), 16)
        if name in ("NULL", "Name"):
            continue
        if sanitized and name in _SANITIZER_SECTIONS and size <= 8:
            continue
        if sanitized and name.startswith(".rela") and name[5:] in _SANITIZER_SECTIONS:
            continue
        if _SECTIONS_DENIED.match(name):
            out.append(Violation(path, f"has a section {name} (code that runs before the tester's "
                                       "or at exit, e.g. a constructor priority)"))
        elif name not in _SECTIONS_EXACT and not name.startswith(_SECTION_PREFIXES):
            out.append(Violation(path, f"has a section {name}, which the compiler does not make "
                                       "for C++ (assembler .section or .incbin?)"))
    return out


def check_instructions(path, obj: Path, run=run_tool) -> list:
    text = run(["objdump", "-d", "--no-show-raw-insn", str(obj)])
    found = sorted({m.group(1) for m in _SYSCALL_INSN.finditer(text)})
    return [Violation(path, f"contains a `{i}` instruction (inline assembly making system calls)")
            for i in found]


# Where a student file's compile may read headers (absolute paths): the
# system's and the compiler's. Relative paths are inside the build's tree.
_INCLUDE_ROOTS = ("/usr/include/", "/usr/lib/gcc/")


def check_includes(path, depfile: Path) -> list:
    """Files the compile read outside the tree and the system headers, from
    its dependency file (also where the build is not sandboxed: the run never
    starts, though the compiler's messages may already have shown them)."""
    try:
        text = depfile.read_text(errors="replace")
    except FileNotFoundError:
        return []
    deps = text.replace("\\\n", " ").split(":", 1)[-1].split()
    out = []
    for dep in deps:
        norm = os.path.normpath(dep)
        if os.path.isabs(norm):
            if not norm.startswith(_INCLUDE_ROOTS):
                out.append(Violation(path, f"reads {norm} at compile time (outside the tree and "
                                           "the system headers)"))
        elif norm == ".." or norm.startswith("../"):
            out.append(Violation(path, f"reads {dep} at compile time (outside the tree)"))
    return out


def audit_objects(execroot: Path, objects, student_paths, run=run_tool) -> list:
    """Audits the student files' objects among `objects` (paths relative to
    execroot) against the others (the framework)."""
    students = set(student_paths)
    mine = [(o, source_of(o)) for o in objects if source_of(o) in students]
    framework_strong, framework_weak = set(), set()
    for o in objects:
        if source_of(o) not in students:
            for s in symbols(execroot / o, run):
                if s.kind in "TDBRCGSi":
                    framework_strong.add(s.name)
                elif s.kind in "WVu":
                    framework_weak.add(s.name)
    violations = []
    for o, path in mine:
        syms = symbols(execroot / o, run)
        demangle_all(syms, run)
        violations += check_definitions(path, syms, framework_strong, framework_weak)
        violations += check_references(path, syms)
        sanitized = any(sym.name in _SANITIZER_INIT for sym in syms)
        violations += check_sections(path, execroot / o, run, sanitized)
        violations += check_instructions(path, execroot / o, run)
        violations += check_includes(path, execroot / re.sub(r"\.o$", ".d", o))
    return _dedupe(violations)


def _dedupe(violations):
    seen = set()
    out = []
    for v in violations:
        if v not in seen:
            seen.add(v)
            out.append(v)
    return out


# --- Macros ---------------------------------------------------------------

_LINEMARKER = re.compile(r'^# \d+ "([^"]*)"')
_DIRECTIVE = re.compile(r"^#(define|undef)\s+(\w+)(.*)$")


def check_macros(preprocessed: str, source: str, student_paths) -> list:
    """Macro definitions in student files that can reach framework code,
    from `g++ -E -dD` output of the student .cc `source`."""
    students = {os.path.normpath(p) for p in student_paths}
    current = ""
    events = []  # (index, kind, file, name, body) and ("enter", file)
    last_framework = -1
    for i, line in enumerate(preprocessed.splitlines()):
        m = _LINEMARKER.match(line)
        if m:
            current = os.path.normpath(m.group(1))
            if current not in students and not current.startswith("<"):
                last_framework = i
            continue
        m = _DIRECTIVE.match(line)
        if m and current in students:
            events.append((i, m.group(1), current, m.group(2), m.group(3).strip()))
    out = []
    for i, kind, path, name, body in events:
        if path.endswith(".h"):
            if kind == "define" and re.search(r"_H_?$", name) and not body:
                continue  # an include guard
            out.append(Violation(path, f"#{kind}s the macro {name}: a student header is "
                                       "included by the tester, so it may define only its "
                                       "include guard"))
        elif i < last_framework:
            out.append(Violation(path, f"#{kind}s the macro {name} before an #include of "
                                       "framework code: put macros after the last #include"))
    return _dedupe(out)


def preprocess(tree: Path, source: str, run=run_tool) -> str:
    return run(["g++", "-std=c++20", "-E", "-dD", "-iquote", ".", "-iquote",
                "bazel-bin", source], cwd=str(tree), timeout=300)


def audit_binary(tree: Path, target: str, student_paths, run=run_tool) -> list:
    """Every violation of the student files linked into `target` (built in
    `tree`), or a single violation saying why the audit could not run."""
    tree = Path(tree)
    try:
        objects = link_inputs(tree, target)
        execroot = (tree / "bazel-out").resolve().parent
        violations = audit_objects(execroot, objects, student_paths, run)
        for o in objects:
            src = source_of(o)
            if src in student_paths:
                violations += check_macros(preprocess(tree, src, run), src, student_paths)
    except (OSError, RuntimeError, subprocess.SubprocessError) as e:
        return [Violation(target, f"the audit could not run ({e}); the submission is held")]
    return _dedupe(violations)
