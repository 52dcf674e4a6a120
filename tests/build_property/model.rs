//! The randomized project of `build_property`: a model of its files, the
//! random changes made to it, and the generator that picks them.

use std::collections::BTreeMap;
use std::path::Path;

/// splitmix64: small, seedable, good enough to pick steps.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

#[derive(Clone, Debug)]
struct Unit {
    name: String,
    value: i64,
    in_lib: bool,
    comment: u64,
    uses_app: bool,
}

/// The project as data; `files()` renders it.
#[derive(Clone, Debug)]
pub struct Model {
    units: Vec<Unit>,
    app_k: i64,
    lib_k: i64,
    header_comment: u64,
    flag: i64,
    opt: bool,
    /// A unit of `src/` the `build_src_filter` leaves out.
    excluded: Option<String>,
    ext: bool,
    ext_value: i64,
    pub slow_value: i64,
    /// A `cfg.h` of the project's own (in `src/`, else `include/`) in front
    /// of the library's, with its value.
    shadow: Option<(bool, i64)>,
    next_name: usize,
}

pub const SLOW: &str = "src/slow.cpp";

impl Model {
    pub fn new() -> Model {
        let units = (0..5)
            .map(|i| Unit {
                name: format!("u{i}"),
                value: i as i64 * 10,
                in_lib: i >= 3,
                comment: 0,
                uses_app: i % 2 == 0,
            })
            .collect();
        Model {
            units,
            app_k: 1,
            lib_k: 2,
            header_comment: 0,
            flag: 3,
            opt: false,
            excluded: None,
            ext: false,
            ext_value: 7,
            slow_value: 5,
            shadow: None,
            next_name: 5,
        }
    }

    fn unit_path(u: &Unit) -> String {
        if u.in_lib {
            format!("lib/mylib/src/{}.c", u.name)
        } else {
            format!("src/{}.c", u.name)
        }
    }

    /// Units the build compiles (not left out by the filter).
    fn active(&self) -> impl Iterator<Item = &Unit> {
        self.units
            .iter()
            .filter(|u| u.in_lib || self.excluded.as_deref() != Some(&u.name))
    }

    /// Every file of the project (the ext library is elsewhere).
    pub fn files(&self, ext_dir: &Path) -> BTreeMap<String, String> {
        let mut f = BTreeMap::new();
        let mut ini = format!(
            "[env:native]\nplatform = native\nbuild_flags = -DFLAG_A={}{}\n",
            self.flag,
            if self.opt { " -O1" } else { "" }
        );
        if let Some(x) = &self.excluded {
            ini.push_str(&format!("build_src_filter = +<*> -<{x}.c>\n"));
        }
        if self.ext {
            ini.push_str(&format!("lib_deps = symlink://{}\n", ext_dir.display()));
        }
        f.insert("platformio.ini".into(), ini);
        // In `include/`: the project's headers its libraries see too (a
        // library does not see `src/`, as with PlatformIO and the Arduino
        // builders).
        f.insert(
            "include/app.h".into(),
            format!(
                "#ifndef APP_H\n#define APP_H\n/* app {} */\n#define APP_K {}\n#endif\n",
                self.header_comment, self.app_k
            ),
        );
        f.insert(
            "lib/mylib/src/mylib.h".into(),
            format!("#pragma once\n#define LIB_K {}\n", self.lib_k),
        );
        f.insert(
            "lib/mylib/src/cfg.h".into(),
            "#pragma once\n#define CFG_K 100\n".into(),
        );
        if let Some((in_src, value)) = self.shadow {
            let dir = if in_src { "src" } else { "include" };
            f.insert(
                format!("{dir}/cfg.h"),
                format!("#pragma once\n#define CFG_K {value}\n"),
            );
        }
        for u in &self.units {
            let app = if u.uses_app {
                "#include \"app.h\"\n"
            } else {
                ""
            };
            let k = if u.uses_app { "APP_K" } else { "LIB_K" };
            f.insert(
                Self::unit_path(u),
                format!(
                    "{app}#include \"mylib.h\"\n/* note {} */\nint u_{}(void) {{ return {} + {k} * 3 + FLAG_A; }}\n",
                    u.comment, u.name, u.value
                ),
            );
        }
        f.insert(
            SLOW.into(),
            format!(
                "constexpr unsigned long spin(unsigned long n) {{\n  unsigned long x = 0;\n  for (unsigned long i = 0; i < n; ++i) x = x * 31 + (i ^ (x >> 7));\n  return x;\n}}\nextern \"C\" int u_slow(void) {{ return {} + int(spin(60000) & 1); }}\n",
                self.slow_value
            ),
        );
        let mut main =
            String::from("#include <stdio.h>\n#include \"mylib.h\"\n#include \"cfg.h\"\n");
        if self.ext {
            main.push_str("#include <ext.h>\n");
        }
        let active: Vec<&Unit> = self.active().collect();
        for u in &active {
            main.push_str(&format!("int u_{}(void);\n", u.name));
        }
        main.push_str(
            "int u_slow(void);\nint main(void) {\n  printf(\"slow=%d cfg=%d\\n\", u_slow(), CFG_K);\n",
        );
        for u in &active {
            main.push_str(&format!("  printf(\"{0}=%d\\n\", u_{0}());\n", u.name));
        }
        if self.ext {
            main.push_str("  printf(\"ext=%d\\n\", ext_value());\n");
        }
        main.push_str("  return 0;\n}\n");
        f.insert("src/main.c".into(), main);
        f
    }

    pub fn ext_files(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (
                "library.properties".into(),
                "name=ext\nversion=1.0.0\n".into(),
            ),
            (
                "src/ext.h".into(),
                "#pragma once\nint ext_value(void);\n".into(),
            ),
            (
                "src/ext.c".into(),
                format!(
                    "#include \"ext.h\"\nint ext_value(void) {{ return {}; }}\n",
                    self.ext_value
                ),
            ),
        ])
    }

    /// Changes the model at random; returns what it did.
    pub fn mutate(&mut self, rng: &mut Rng) -> String {
        let n = self.units.len();
        let pick = |rng: &mut Rng| rng.below(n);
        match rng.below(14) {
            0 | 1 => {
                let i = pick(rng);
                self.units[i].value += 1 + rng.below(5) as i64;
                format!("edit {}", self.units[i].name)
            }
            2 => {
                let i = pick(rng);
                self.units[i].comment += 1;
                format!("comment-only edit of {}", self.units[i].name)
            }
            3 => {
                if rng.chance(50) {
                    self.app_k += 1;
                    "edit app.h".into()
                } else {
                    self.lib_k += 1;
                    "edit mylib.h".into()
                }
            }
            4 => {
                self.header_comment += 1;
                "comment-only edit of app.h".into()
            }
            5 if n < 9 => {
                let name = format!("u{}", self.next_name);
                self.next_name += 1;
                self.units.push(Unit {
                    name: name.clone(),
                    value: rng.below(100) as i64,
                    in_lib: rng.chance(40),
                    comment: 0,
                    uses_app: rng.chance(50),
                });
                format!("add {name}")
            }
            6 if n > 2 => {
                let u = self.units.remove(pick(rng));
                if self.excluded.as_deref() == Some(&u.name) {
                    self.excluded = None;
                }
                format!("delete {}", u.name)
            }
            7 => {
                let i = pick(rng);
                let name = format!("u{}", self.next_name);
                self.next_name += 1;
                if self.excluded.as_deref() == Some(&self.units[i].name) {
                    self.excluded = Some(name.clone());
                }
                let old = std::mem::replace(&mut self.units[i].name, name.clone());
                format!("rename {old} to {name}")
            }
            8 => {
                let i = pick(rng);
                self.units[i].in_lib = !self.units[i].in_lib;
                if self.excluded.as_deref() == Some(&self.units[i].name) {
                    self.excluded = None;
                }
                let to = if self.units[i].in_lib { "lib/" } else { "src/" };
                format!("move {} to {to}", self.units[i].name)
            }
            9 => {
                if rng.chance(50) {
                    self.flag += 1;
                    "build_flags: FLAG_A".into()
                } else {
                    self.opt = !self.opt;
                    "build_flags: -O1".into()
                }
            }
            10 => {
                let src: Vec<String> = self
                    .units
                    .iter()
                    .filter(|u| !u.in_lib)
                    .map(|u| u.name.clone())
                    .collect();
                self.excluded = match (&self.excluded, src.is_empty()) {
                    (None, false) => Some(src[rng.below(src.len())].clone()),
                    _ => None,
                };
                format!("build_src_filter leaves out {:?}", self.excluded)
            }
            11 => {
                if rng.chance(60) {
                    self.ext = !self.ext;
                    format!(
                        "lib_deps: ext {}",
                        if self.ext { "added" } else { "removed" }
                    )
                } else {
                    self.ext_value += 1;
                    "edit the ext library".into()
                }
            }
            12 => {
                self.shadow = match self.shadow {
                    None => Some((rng.chance(50), rng.below(50) as i64)),
                    Some((in_src, v)) if rng.chance(50) => Some((in_src, v + 1)),
                    Some(_) => None,
                };
                format!("cfg.h of the project's own: {:?}", self.shadow)
            }
            _ => {
                self.slow_value += 1;
                "edit slow.cpp".into()
            }
        }
    }
}
