//! A small multi-file C and C++ project (make and CMake) for shim tests.

use std::path::Path;
use std::process::Output;

use super::{assert_ok, clean_command};

const UTIL_H: &str = "#ifndef UTIL_H\n#define UTIL_H\nint u1(int);\nint u2(int);\nint u3(int);\nint u4(int);\nint deps(int);\n#ifdef __cplusplus\nextern \"C\" {\n#endif\nint k1(int);\nint k2(int);\n#ifdef __cplusplus\n}\n#endif\n#endif\n";

/// Writes the project into `dir`: 6 C files, 2 C++ files, headers, a
/// Makefile (one file built with `-MMD -MP`) and a CMakeLists.txt.
pub fn write(dir: &Path) {
    let files: &[(&str, &str)] = &[
        ("util.h", UTIL_H),
        ("config.h", "#define SCALE 3\n"),
        (
            "main.c",
            "#include <stdio.h>\n#include \"util.h\"\nint main(void) {\n  int v = u1(1) + u2(2) + u3(3) + u4(4) + k1(5) + k2(6) + deps(7);\n  printf(\"result %d\\n\", v);\n  return 0;\n}\n",
        ),
        (
            "u1.c",
            "#include \"util.h\"\nint u1(int x) { return x * 2; }\n",
        ),
        (
            "u2.c",
            "#include \"util.h\"\nint u2(int x) { return x + 40; }\n",
        ),
        (
            "u3.c",
            "#include \"util.h\"\n#include \"config.h\"\nint u3(int x) { return x * SCALE; }\n",
        ),
        (
            "u4.c",
            "#include \"util.h\"\nstatic int sq(int x) { return x * x; }\nint u4(int x) { return sq(x) - 1; }\n",
        ),
        (
            "deps.c",
            "#include \"util.h\"\n#include \"config.h\"\nint deps(int x) { return x + SCALE; }\n",
        ),
        (
            "k1.cpp",
            "#include <vector>\n#include <numeric>\n#include \"util.h\"\nextern \"C\" int k1(int x) { std::vector<int> v(x, 1); return std::accumulate(v.begin(), v.end(), 0); }\n",
        ),
        (
            "k2.cpp",
            "#include <string>\n#include \"util.h\"\nextern \"C\" int k2(int x) { return (int)std::string(x, 'k').size(); }\n",
        ),
        ("Makefile", MAKEFILE),
        ("CMakeLists.txt", CMAKELISTS),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

const MAKEFILE: &str = "CFLAGS ?= -O2 -Wall
CXXFLAGS ?= -O2 -Wall
OBJS = main.o u1.o u2.o u3.o u4.o deps.o k1.o k2.o

prog: $(OBJS) libu.a
\t$(CXX) -o $@ main.o u3.o u4.o deps.o k1.o k2.o libu.a

libu.a: u1.o u2.o
\t$(AR) rcs $@ u1.o u2.o

deps.o: deps.c
\t$(CC) $(CFLAGS) -MMD -MP -c deps.c -o deps.o

%.o: %.c
\t$(CC) $(CFLAGS) -c $< -o $@

%.o: %.cpp
\t$(CXX) $(CXXFLAGS) -c $< -o $@

clean:
\trm -f *.o *.a *.d prog

-include deps.d
";

const CMAKELISTS: &str = "cmake_minimum_required(VERSION 3.13)
project(shimdemo C CXX)
add_library(u STATIC u1.c u2.c)
add_executable(prog main.c u3.c u4.c deps.c k1.cpp k2.cpp)
target_link_libraries(prog u)
";

/// The build outputs compared between builds.
pub const OUTPUTS: &[&str] = &[
    "main.o", "u1.o", "u2.o", "u3.o", "u4.o", "deps.o", "k1.o", "k2.o", "deps.d", "prog",
];

/// `make -jN VAR=value…` in `dir`, with `env` and none of the test's own
/// FBUILD_* variables (the shims it runs read them).
pub fn make(dir: &Path, jobs: u32, vars: &[(&str, &str)], env: &[(&str, &str)]) -> Output {
    let mut cmd = clean_command("make");
    cmd.arg(format!("-j{jobs}")).current_dir(dir);
    for (k, v) in vars {
        cmd.arg(format!("{k}={v}"));
    }
    cmd.envs(env.iter().copied());
    cmd.output().expect("run make")
}

/// `make clean` in `dir`, asserting success.
pub fn make_clean(dir: &Path) {
    assert_ok(
        &clean_command("make")
            .arg("clean")
            .current_dir(dir)
            .output()
            .unwrap(),
    );
}
