//! Compiler and linker flags per platform, as the Arduino AVR core's
//! platform.txt has them (for `atmelavr` + `arduino`) or plain host flags
//! (`native`), plus the project's `build_flags` minus `build_unflags`.

use std::path::PathBuf;

use fbuild_core::protocol::Toolchain;
use fbuild_platforms::Board;

use super::sources::Lang;

/// `ARDUINO` define: the IDE version the core expects (1.6.7 style).
const ARDUINO_VERSION: &str = "10607";

pub struct Flags {
    c: Vec<String>,
    cxx: Vec<String>,
    asm: Vec<String>,
    /// Defines and includes for every language.
    common: Vec<String>,
    pub link: Vec<String>,
    pub link_libs: Vec<String>,
}

impl Flags {
    pub fn new(
        board: Option<&Board>,
        toolchain: &Toolchain,
        build_flags: &[String],
        unflags: &[String],
        include_dirs: &[PathBuf],
    ) -> Flags {
        let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        let mut f = match board {
            Some(b) => {
                let mut cxx = words(
                    "-c -g -Os -w -std=gnu++11 -fpermissive -fno-exceptions -ffunction-sections -fdata-sections -fno-threadsafe-statics -Wno-error=narrowing -MMD -flto",
                );
                if toolchain.cxx_needs_decimal_dig {
                    // avr-gcc 5.4's <float.h> hides DECIMAL_DIG in C++11
                    // mode and the core's WString.cpp uses it; the
                    // coordinator probes for this once per toolchain.
                    cxx.push("-DDECIMAL_DIG=__DECIMAL_DIG__".into());
                }
                let mut common = vec![
                    format!("-mmcu={}", b.mcu),
                    format!("-DF_CPU={}", b.f_cpu),
                    format!("-DARDUINO={ARDUINO_VERSION}"),
                    format!("-DARDUINO_{}", b.board_define),
                    "-DARDUINO_ARCH_AVR".into(),
                ];
                common.extend(b.extra_flags.iter().cloned());
                Flags {
                    c: words(
                        "-c -g -Os -w -std=gnu11 -ffunction-sections -fdata-sections -MMD -flto -fno-fat-lto-objects",
                    ),
                    cxx,
                    asm: words("-c -g -x assembler-with-cpp -flto -MMD"),
                    common,
                    link: {
                        let mut l = words("-w -Os -g -flto -fuse-linker-plugin -Wl,--gc-sections");
                        l.extend(b.link_flags.iter().cloned());
                        l.push(format!("-mmcu={}", b.mcu));
                        l
                    },
                    link_libs: vec!["-lm".into()],
                }
            }
            None => Flags {
                c: words("-c -O2 -MMD"),
                cxx: words("-c -O2 -MMD"),
                asm: words("-c -MMD"),
                common: Vec::new(),
                link: Vec::new(),
                link_libs: vec!["-lm".into()],
            },
        };
        f.common.extend(build_flags.iter().cloned());
        f.common
            .extend(include_dirs.iter().map(|d| format!("-I{}", d.display())));
        for list in [&mut f.c, &mut f.cxx, &mut f.asm, &mut f.common, &mut f.link] {
            list.retain(|flag| !unflags.contains(flag));
        }
        f
    }

    /// Flags (without the compiler, source and output) for one language.
    pub fn compile(&self, lang: Lang) -> Vec<String> {
        let base = match lang {
            Lang::C => &self.c,
            Lang::Cxx => &self.cxx,
            Lang::Asm => &self.asm,
        };
        base.iter().chain(&self.common).cloned().collect()
    }
}
