//! The build state's decisions: what changed and how it is said, a
//! record checked command, output, then inputs, headers that shadow, the
//! size report remembered per firmware, and the state surviving a save.

use super::*;

fn words(s: &str) -> Vec<String> {
    s.split(' ').map(str::to_string).collect()
}

#[test]
fn a_changed_command_says_what_changed() {
    let was = words("cc -c -O2 -DA=1 x.c -o x.o");
    assert_eq!(
        command_change(&was, &words("cc -c -O2 -DA=2 -DB x.c -o x.o")),
        "the command changed: added -DA=2 -DB; removed -DA=1"
    );
    assert_eq!(
        command_change(&was, &words("clang -c -O2 -DA=1 x.c -o x.o")),
        "the tool changed: cc -> clang"
    );
    assert_eq!(
        command_change(&was, &words("cc -O2 -c -DA=1 x.c -o x.o")),
        "the command's arguments changed order"
    );
    let many = words("cc -c -O2 -DA=1 -D1 -D2 -D3 -D4 -D5 x.c -o x.o");
    assert_eq!(
        command_change(&was, &many),
        "the command changed: added -D1 -D2 -D3 (and 2 more)"
    );
    assert_eq!(
        command_change(&words("cc -DA -DA x.c"), &words("cc -DA x.c")),
        "the command changed: removed -DA"
    );
    // A record from before commands were kept.
    assert_eq!(command_change(&[], &was), "the command changed");
}

#[test]
fn a_record_is_checked_command_output_then_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let (src, out) = (dir.path().join("x.c"), dir.path().join("x.o"));
    std::fs::write(&src, "int x;\n").unwrap();
    std::fs::write(&out, "obj").unwrap();
    let os = |s: &str| -> Vec<OsString> { s.split(' ').map(OsString::from).collect() };
    let cmd = os("cc -c x.c");
    let mut state = BuildState::default();
    assert_eq!(state.dirty(&out, &cmd), Some(Dirty::Unknown));
    state.record(&out, &cmd, std::slice::from_ref(&src));
    assert_eq!(state.dirty(&out, &cmd), None);
    let other = os("cc -c -g x.c");
    assert!(matches!(
        state.dirty(&out, &other),
        Some(Dirty::Command { .. })
    ));
    std::fs::write(&src, "int x = 1;\n").unwrap();
    assert_eq!(state.dirty(&out, &cmd), Some(Dirty::Changed(src.clone())));
    std::fs::remove_file(&src).unwrap();
    assert_eq!(state.dirty(&out, &cmd), Some(Dirty::Gone(src.clone())));
    std::fs::remove_file(&out).unwrap();
    assert_eq!(state.dirty(&out, &cmd), Some(Dirty::Missing));
    // An input recorded as unsettled is out of date, whatever it is now.
    std::fs::write(&out, "obj").unwrap();
    std::fs::write(&src, "int x;\n").unwrap();
    state.keep(
        &out,
        &cmd,
        BTreeMap::from([(src.clone(), Stamp::UNSETTLED)]),
        BTreeMap::new(),
    );
    assert_eq!(state.dirty(&out, &cmd), Some(Dirty::Unsettled(src)));
}

#[test]
fn a_new_header_unsettles_what_read_one_of_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let (lib_h, src_h) = (dir.path().join("lib/cfg.h"), dir.path().join("src/cfg.h"));
    let out = dir.path().join("x.o");
    std::fs::create_dir_all(dir.path().join("lib")).unwrap();
    std::fs::write(&lib_h, "").unwrap();
    std::fs::write(&out, "obj").unwrap();
    let cmd = vec![OsString::from("cc")];
    let mut state = BuildState::default();
    // The first build knows no headers before it: nothing is new.
    assert!(
        state
            .new_headers(BTreeSet::from([lib_h.clone()]))
            .is_empty()
    );
    state.record(&out, &cmd, std::slice::from_ref(&lib_h));
    assert_eq!(state.dirty(&out, &cmd), None);
    let hit = state.new_headers(BTreeSet::from([lib_h.clone(), src_h]));
    assert_eq!(hit, vec![(out.clone(), "cfg.h".to_string())]);
    assert_eq!(state.dirty(&out, &cmd), Some(Dirty::Unsettled(lib_h)));
}

#[test]
fn the_size_report_is_kept_for_its_firmware_and_command() {
    let dir = tempfile::tempdir().unwrap();
    let elf = dir.path().join("firmware.elf");
    std::fs::write(&elf, "elf").unwrap();
    let mut state = BuildState::default();
    state.remember_size(7, &elf, "text data bss".into());
    assert_eq!(state.size_output(7, &elf), Some("text data bss"));
    assert_eq!(state.size_output(8, &elf), None, "another size command");
    std::fs::write(&elf, "another firmware").unwrap();
    assert_eq!(state.size_output(7, &elf), None, "another firmware");
}

#[test]
fn the_state_survives_a_save_and_a_broken_file_is_a_first_build() {
    let dir = tempfile::tempdir().unwrap();
    let (src, out) = (dir.path().join("x.c"), dir.path().join("x.o"));
    std::fs::write(&src, "int x;\n").unwrap();
    std::fs::write(&out, "obj").unwrap();
    let file = dir.path().join("fbuild-state.json");
    let cmd = vec![OsString::from("cc"), OsString::from("-c")];
    let mut state = BuildState::load(&file);
    state.record(&out, &cmd, std::slice::from_ref(&src));
    state.save(&file).unwrap();
    assert_eq!(BuildState::load(&file).dirty(&out, &cmd), None);
    assert!(!dir.path().join("fbuild-state.json.tmp").exists());
    std::fs::write(&file, "{ not json").unwrap();
    assert_eq!(
        BuildState::load(&file).dirty(&out, &cmd),
        Some(Dirty::Unknown)
    );
}
