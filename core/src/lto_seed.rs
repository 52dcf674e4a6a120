//! GCC names parts of an LTO object from a random seed unless given one
//! (`-frandom-seed`): the same `-flto` compile twice writes different
//! bytes (measured with avr-g++ 5.4: Arduino.mk's sketch object differed
//! at byte 3238). A link keyed by its objects' contents then never hits
//! after one of them was compiled again, and the LTO link is the code
//! generation. So a `-flto` compile the shims send to the cache, and every
//! `-flto` compile of `fbuild build`, carries `-frandom-seed=<its output>`,
//! as Bazel's compiles do: the same bytes every time, and a seed per
//! object file.

/// `-frandom-seed=<output>` for a compile with `-flto` (not turned off
/// after it), no seed of its own and an `-o` output, the output's path
/// made absolute from `cwd` (GCC wants the seed to differ for every
/// object: `util.o` in two folders of one make are two objects); `None`
/// otherwise.
pub fn seed_flag(args: &[String], cwd: &std::path::Path) -> Option<String> {
    let mut lto = false;
    let mut output = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-fno-lto" => lto = false,
            s if s.starts_with("-flto") => lto = true,
            s if s.starts_with("-frandom-seed") => return None,
            "-o" => output = it.next(),
            _ => {}
        }
    }
    let output = cwd.join(output?);
    lto.then(|| format!("-frandom-seed={}", output.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag(line: &str) -> Option<String> {
        let args: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        seed_flag(&args, std::path::Path::new("/p"))
    }

    #[test]
    fn lto_compiles_get_their_output_as_seed() {
        assert_eq!(
            flag("-flto -Os -c a.c -o build/a.o").as_deref(),
            Some("-frandom-seed=/p/build/a.o")
        );
        assert_eq!(
            flag("-flto=auto -c a.c -o a.o").as_deref(),
            Some("-frandom-seed=/p/a.o")
        );
        for none in [
            "-Os -c a.c -o a.o",
            "-flto -fno-lto -c a.c -o a.o",
            "-flto -frandom-seed=x -c a.c -o a.o",
            "-flto -c a.c",
        ] {
            assert_eq!(flag(none), None, "{none}");
        }
    }
}
