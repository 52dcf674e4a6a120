//! The probe store's rules: which lines are probes, which programs may
//! be kept, which answers are kept.

use super::*;

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn only_probes_to_the_null_device_from_stdin_with_keyed_inputs() {
    let probe = |args: &[&str]| inputs(&strings(args));
    assert_eq!(
        probe(&[
            "-O3",
            "-z",
            "noexecstack",
            "-x",
            "c",
            "-",
            "-o",
            NULL_DEVICE
        ]),
        Some(vec![])
    );
    assert_eq!(
        probe(&["-x", "assembler", "-c", "-", &format!("-o{NULL_DEVICE}")]),
        Some(vec![])
    );
    // A real output, no input, two outputs: not probes.
    assert_eq!(probe(&["-x", "c", "-", "-o", "a.out"]), None);
    assert_eq!(probe(&["-c", "-o", NULL_DEVICE]), None);
    assert_eq!(
        probe(&["-x", "c", "-", "-o", NULL_DEVICE, "-o", "prog"]),
        None
    );
    assert_eq!(
        probe(&["t.c", "-o", NULL_DEVICE]),
        Some(vec!["t.c".to_string()])
    );
    // zstd's, whole.
    let zstd = [
        "-DXXH_NAMESPACE=ZSTD_",
        "-O3",
        "-Wall",
        "-Wc++-compat",
        "-Wa,--noexecstack",
        "-z",
        "cet-report=error",
        "-pthread",
        "-x",
        "c",
        "-Werror",
        "-",
        "-o",
        NULL_DEVICE,
    ];
    assert!(probe(&zstd).is_some());
    // Anything that may read or write a file the key misses.
    for bad in [
        "-include",
        "@opts",
        "-MD",
        "-specs=x",
        "-B/opt",
        "--coverage",
        "-T",
        "-Tx.ld",
        "-L/opt/lib",
        "-Wp,-MD,x.d",
        "-Wl,-Map=m",
        "-Wl,-T,x.ld",
        "-Wl,x.o",
        "-Wa,@f",
        "-Wa,--MD=f",
        "-Xlinker",
        "-Xpreprocessor",
        "-m32",
        "-fuse-ld=gold",
        "-flto",
        "--sysroot=/s",
        "-isystem",
        "-I.",
        "-v",
        "--output=x",
        "lib.a",
        "x.o",
        "s.ld",
    ] {
        assert_eq!(
            probe(&[bad, "-x", "c", "-", "-o", NULL_DEVICE]),
            None,
            "{bad}"
        );
    }
    assert_eq!(probe(&["-x", "c-header", "-", "-o", NULL_DEVICE]), None);
    // The compiler's own queries, alone.
    assert_eq!(probe(&["--version"]), Some(vec![]));
    assert_eq!(probe(&["-dumpmachine"]), Some(vec![]));
    assert_eq!(probe(&["-v", "x.c"]), None);
    assert_eq!(probe(&["-print-file-name=libc.a"]), None);
}

#[test]
fn a_program_that_names_a_file_is_not_kept() {
    let dir = tempfile::tempdir().unwrap();
    let cc = dir.path().join("cc");
    std::fs::write(&cc, "").unwrap();
    let args = strings(&["-x", "c", "-", "-o", NULL_DEVICE]);
    let key = |stdin: &[u8]| {
        plan(&Probe {
            tool: &cc,
            args: &args,
            cwd: dir.path(),
            stdin: Some(stdin),
            fingerprint: "f",
        })
    };
    let plain = key(b"int main(void) { return 0; }\n").unwrap();
    assert_ne!(Some(plain), key(b"int main(void) { return 1; }\n"));
    assert_eq!(
        key(b"#include <zlib.h>\nint main(void) { return 0; }\n"),
        None
    );
    assert_eq!(key(b"#if __has_include(<x.h>)\n#endif\n"), None);
    assert_eq!(key(b".incbin \"blob\"\n"), None);
    assert_eq!(key(b".INCBIN \"blob\"\n"), None, "any case");
    assert_eq!(key(b"#inc\\\nlude <x.h>\n"), None, "a line splice");
    assert_eq!(key(b"#pragma GCC dependency \"f\"\n"), None);
}

#[test]
fn answers_are_kept_whole_with_their_code() {
    let store = tempfile::tempdir().unwrap();
    let replay = Replay {
        stdout: b"out".to_vec(),
        stderr: b"ld: unknown option".to_vec(),
    };
    keep(store.path(), "k1", 1, &replay).unwrap();
    let (code, got) = answer(store.path(), "k1").unwrap();
    assert_eq!(
        (code, got.stderr.as_slice()),
        (1, &b"ld: unknown option"[..])
    );
    // A signal or an internal compiler error is not an answer; nor is
    // a failure of the moment (a linker killed, a full disk).
    keep(store.path(), "k4", 4, &replay).unwrap();
    assert!(answer(store.path(), "k4").is_none());
    let killed = Replay {
        stdout: Vec::new(),
        stderr: b"collect2: fatal error: ld terminated with signal 9 [Killed]".to_vec(),
    };
    keep(store.path(), "k9", 1, &killed).unwrap();
    assert!(answer(store.path(), "k9").is_none());
}
