use super::*;

/// 2001-09-09, seconds since the epoch.
const YEAR_2001: u64 = 1_000_000_000;
/// A day in seconds.
const DAY: u64 = 86_400;

fn args(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

struct Dir {
    dir: tempfile::TempDir,
    tool: PathBuf,
}

fn dir() -> Dir {
    let dir = tempfile::tempdir().unwrap();
    let tool = dir.path().join("tool");
    std::fs::write(&tool, "a tool").unwrap();
    for f in ["a.o", "b.o"] {
        std::fs::write(dir.path().join(f), f).unwrap();
    }
    Dir { dir, tool }
}

impl Dir {
    fn plan(&self, line: &str) -> Option<Planned> {
        self.plan_with(line, "", false)
    }

    fn plan_with(&self, line: &str, fingerprint: &str, archive: bool) -> Option<Planned> {
        let kind = if archive {
            StepKind::Archive
        } else {
            StepKind::Link
        };
        self.plan_kind(line, fingerprint, kind)
    }

    fn plan_kind(&self, line: &str, fingerprint: &str, kind: StepKind) -> Option<Planned> {
        plan(&Step {
            tool: &self.tool,
            args: &args(line),
            cwd: self.dir.path(),
            fingerprint,
            kind,
        })
    }
}

#[test]
fn outputs_are_the_ones_the_line_names() {
    let d = dir();
    let p = d
        .plan("a.o b.o -o prog -Wl,--gc-sections,-Map=prog.map")
        .unwrap();
    let at = |f: &str| d.dir.path().join(f);
    assert_eq!(p.outputs, vec![at("prog"), at("prog.map")]);
    let p = d.plan("a.o -Wl,-Map,x.map -oprog").unwrap();
    assert_eq!(p.outputs, vec![at("x.map"), at("prog")]);
    let p = d.plan("-Map=ld.map -o prog a.o").unwrap();
    assert_eq!(p.outputs, vec![at("ld.map"), at("prog")]);
    let p = d.plan_with("rcsD lib.a a.o b.o", "", true).unwrap();
    assert_eq!(p.outputs, vec![at("lib.a")]);
}

#[test]
fn lines_writing_unnamed_files_or_without_an_output_are_not_stored() {
    let d = dir();
    for line in [
        "a.o b.o",
        "a.o -o prog -save-temps",
        "a.o -o prog -fdump-ipa-all",
        "a.o -o prog -Wl,--out-implib,libp.a",
        "a.o -o prog -Wl,--dependency-file=p.d",
        "--dependency-file=p.d -o prog a.o",
        "a.o -o prog -Wl,-Map",
        "a.o -o prog missing.o",
        "a.o -o prog -fprofile-use",
        "-O2 -flto -g -gsplit-dwarf a.o -o prog",
        "a.o -o prog -flto -fopt-info-all=opt.txt",
        "a.o @more -o prog",
    ] {
        assert_eq!(d.plan(line), None, "{line}");
    }
    for line in ["t lib.a", "rcsD lib.a @members", "rcsD -lib.a a.o", "rcsD"] {
        assert_eq!(d.plan_with(line, "", true), None, "{line}");
    }
}

#[test]
fn the_key_covers_inputs_line_tool_folder_and_fingerprint() {
    let d = dir();
    let key = |line: &str, fp: &str| d.plan_with(line, fp, false).unwrap().key;
    let base = key("a.o b.o -o prog", "");
    assert_eq!(key("a.o b.o -o prog", ""), base, "stable");
    assert_ne!(key("b.o a.o -o prog", ""), base, "order");
    assert_ne!(key("a.o b.o -o prog -s", ""), base, "a flag");
    assert_ne!(key("a.o b.o -o prog", "-DX=1"), base, "the fingerprint");
    std::fs::write(d.dir.path().join("b.o"), "b.o changed").unwrap();
    assert_ne!(key("a.o b.o -o prog", ""), base, "an input's contents");
    std::fs::write(d.dir.path().join("b.o"), "b.o").unwrap();
    assert_eq!(key("a.o b.o -o prog", ""), base);
    std::fs::write(&d.tool, "another tool").unwrap();
    assert_ne!(key("a.o b.o -o prog", ""), base, "the tool");
    let moved = Dir {
        dir: tempfile::tempdir().unwrap(),
        tool: d.tool.clone(),
    };
    for f in ["a.o", "b.o"] {
        std::fs::copy(d.dir.path().join(f), moved.dir.path().join(f)).unwrap();
    }
    assert_ne!(
        moved.plan("a.o b.o -o prog").unwrap().key,
        key("a.o b.o -o prog", ""),
        "the folder"
    );
}

#[test]
fn a_kept_entry_restores_outputs_and_output_and_nothing_else() {
    let d = dir();
    let store = d.dir.path().join("store");
    let p = d.plan("a.o b.o -o prog -Wl,-Map=prog.map").unwrap();
    assert!(restore(&store, &p).is_none(), "empty store");
    std::fs::write(d.dir.path().join("prog"), "linked").unwrap();
    std::fs::write(d.dir.path().join("prog.map"), "map").unwrap();
    let said = Replay {
        stdout: b"out\n".to_vec(),
        stderr: b"warning: w\n".to_vec(),
    };
    keep(&store, &p, &said).unwrap();
    keep(&store, &p, &said).unwrap(); // kept already: fine
    std::fs::remove_file(d.dir.path().join("prog")).unwrap();
    std::fs::write(d.dir.path().join("prog.map"), "stale").unwrap();
    std::fs::write(d.dir.path().join("other"), "mine").unwrap();
    let replay = restore(&store, &p).unwrap();
    assert_eq!(replay.stdout, b"out\n");
    assert_eq!(replay.stderr, b"warning: w\n");
    let read = |f: &str| std::fs::read_to_string(d.dir.path().join(f)).unwrap();
    assert_eq!(read("prog"), "linked");
    assert_eq!(read("prog.map"), "map");
    assert_eq!(read("other"), "mine");
    // A restored output edited in place leaves the store alone.
    std::fs::write(d.dir.path().join("prog"), "stripped").unwrap();
    restore(&store, &p).unwrap();
    assert_eq!(read("prog"), "linked");
    let leftovers: Vec<_> = std::fs::read_dir(d.dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".fbuild-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_restored_output_is_dated_now_not_when_it_was_stored() {
    let d = dir();
    let store = d.dir.path().join("store");
    let p = d.plan("a.o b.o -o prog").unwrap();
    std::fs::write(d.dir.path().join("prog"), "linked").unwrap();
    let quiet = Replay {
        stdout: Vec::new(),
        stderr: Vec::new(),
    };
    keep(&store, &p, &quiet).unwrap();
    // The stored file from 2001 (Windows' and macOS's copies keep it).
    let long_ago = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(YEAR_2001);
    let stored = std::fs::File::options()
        .write(true)
        .open(store.join(&p.key).join("out.0"))
        .unwrap();
    stored.set_modified(long_ago).unwrap();
    let before = SystemTime::now();
    restore(&store, &p).unwrap();
    let dated = std::fs::metadata(d.dir.path().join("prog"))
        .unwrap()
        .modified()
        .unwrap();
    // The file system's clock may lag the system's by a tick: a day is
    // far from 2001 and from any tick.
    let day = std::time::Duration::from_secs(DAY);
    assert!(dated + day > before, "restored output dated {dated:?}");
}

#[test]
fn prune_drops_old_entries_then_the_least_recently_used() {
    let d = dir();
    let store = d.dir.path().join("store");
    let mut planned = Vec::new();
    for (i, line) in ["a.o -o p1", "a.o -o p2", "a.o -o p3"].iter().enumerate() {
        let p = d.plan(line).unwrap();
        let out = &p.outputs[0];
        std::fs::write(out, vec![b'x'; 1000]).unwrap();
        keep(
            &store,
            &p,
            &Replay {
                stdout: vec![],
                stderr: vec![],
            },
        )
        .unwrap();
        let age = SystemTime::now() - std::time::Duration::from_secs(100 * (3 - i as u64));
        let f = std::fs::File::options()
            .append(true)
            .open(store.join(&p.key).join("stderr"))
            .unwrap();
        f.set_modified(age).unwrap();
        planned.push(p);
    }
    // p1 (300 s unused) is too old; p2 (200 s) goes for the size.
    let freed = prune(&store, USED, std::time::Duration::from_secs(250), 1500);
    assert_eq!(freed, 2000);
    let kept: Vec<bool> = planned
        .iter()
        .map(|p| store.join(&p.key).is_dir())
        .collect();
    assert_eq!(kept, [false, false, true]);
}

#[test]
fn prune_drops_old_leftover_files_and_folders_of_split_calls() {
    let d = dir();
    let work = d.dir.path().join("one-step");
    std::fs::create_dir_all(work.join("old-out")).unwrap();
    std::fs::write(work.join("old.o"), "o").unwrap();
    std::fs::write(work.join("new.o"), "o").unwrap();
    let day_ago = SystemTime::now() - std::time::Duration::from_secs(2 * 24 * 3600);
    for old in ["old.o", "old-out"] {
        std::fs::File::open(work.join(old))
            .unwrap()
            .set_modified(day_ago)
            .unwrap();
    }
    prune(&work, USED, crate::time::ONE_STEP_LEFTOVER_AGE, u64::MAX);
    let mut left: Vec<_> = std::fs::read_dir(&work)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.sort();
    assert_eq!(left, ["new.o"]);
}

#[test]
fn an_objcopy_from_the_elf_to_its_output_only() {
    let mut d = dir();
    let objcopy = d.dir.path().join("avr-objcopy");
    std::fs::write(&objcopy, "objcopy").unwrap();
    std::fs::write(d.dir.path().join("fw.elf"), "elf").unwrap();
    let kind = StepKind::Objcopy {
        input: "fw.elf".into(),
        output: "fw.hex".into(),
    };
    let ok = |d: &Dir, line: &str| d.plan_kind(line, "", kind.clone());
    assert!(
        d.plan_kind("-O ihex fw.elf fw.hex", "", kind.clone())
            .is_none(),
        "not an objcopy"
    );
    d.tool = objcopy;
    let p = ok(&d, "-O ihex -R .eeprom fw.elf fw.hex").unwrap();
    assert_eq!(p.outputs, vec![d.dir.path().join("fw.hex")]);
    let key = p.key.clone();
    std::fs::write(d.dir.path().join("fw.elf"), "elf 2").unwrap();
    assert_ne!(ok(&d, "-O ihex -R .eeprom fw.elf fw.hex").unwrap().key, key);
    for bad in [
        "-O ihex fw.elf",
        "-O ihex --add-section .x=a.o fw.elf fw.hex",
        "-O ihex --strip-symbols=list fw.elf fw.hex",
        "-O ihex -R a.o fw.elf fw.hex",
        "@opts fw.elf fw.hex",
    ] {
        assert!(ok(&d, bad).is_none(), "{bad}");
    }
    assert!(
        ok(
            &d,
            "-O ihex -j .eeprom --set-section-flags=.eeprom=alloc,load fw.elf fw.hex"
        )
        .is_some()
    );
}
