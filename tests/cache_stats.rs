//! `fbuild cache stats|zero|clear` against real builds: the figures after
//! `zero` are the work the next build did (its `-v` line, counted from the
//! daemon's answers; its link comes from fbuild's link store, which
//! `stats` shows apart); `clear` empties the cache and the store, and the
//! next build misses both.

mod common;

use std::path::Path;

use common::*;

/// `fbuild cache args…` as JSON (`stats --json`) or checked output.
fn cache(home: &TestHome, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["cache"];
    all.extend_from_slice(args);
    let out = home
        .fbuild(&all)
        .env("FBUILD_ZCCACHE_URL", mirror_url())
        .output()
        .unwrap();
    assert_ok(&out);
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

/// A clean build with `-v`; its `cache: …` line's numbers.
fn clean_build(home: &TestHome, dir: &Path) -> Vec<u64> {
    let _ = std::fs::remove_dir_all(dir.join(".fbuild"));
    let out = home.build(dir, &["-v"]);
    assert_ok(&out);
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    let line = said
        .lines()
        .find(|l| l.contains("] cache: "))
        .unwrap_or_else(|| panic!("no cache line:\n{said}"))
        .to_string();
    line.split(|c: char| !c.is_ascii_digit())
        .filter(|n| !n.is_empty())
        .map(|n| n.parse().unwrap())
        .collect()
}

#[test]
fn stats_after_zero_are_the_next_builds_work_and_clear_empties_the_cache() {
    let home = TestHome::new();
    let project = example("native");
    let dir = project.path();
    // The first build finds the cache empty and leaves its daemon
    // starting; the second fills it.
    assert_ok(&home.build(dir, &[]));
    wait_until("zccache's daemon to answer", || {
        cache(&home, &["stats", "--json"])["running"] == true
    });
    clean_build(&home, dir);

    cache(&home, &["zero"]);
    let zeroed = cache(&home, &["stats", "--json"]);
    assert_eq!(zeroed["compiles"]["hits"], 0, "{zeroed}");
    assert_eq!(zeroed["zeroed"], true, "{zeroed}");
    let said = clean_build(&home, dir);
    // cache: H hits, M misses; links: LH hits, LM misses
    let (hits, misses, link_hits) = (said[0], said[1], said[2]);
    assert!(hits > 0 && misses == 0, "{said:?}");
    let stats = cache(&home, &["stats", "--json"]);
    assert_eq!(stats["compiles"]["hits"], hits, "{stats}");
    assert_eq!(stats["compiles"]["misses"], misses, "{stats}");
    // The link came from fbuild's link store, not zccache's link cache.
    assert_eq!(link_hits, 1, "{said:?}");
    assert_eq!(stats["links"]["hits"], 0, "{stats}");
    assert!(
        stats["link_store"]["entries"].as_u64().unwrap() > 0,
        "{stats}"
    );
    assert!(stats["entries"].as_u64().unwrap() > 0, "{stats}");
    let text = home.run(&["cache", "stats"]);
    assert!(
        String::from_utf8_lossy(&text.stdout).contains(&format!("{hits} hits, 0 misses")),
        "{text:?}"
    );

    cache(&home, &["clear"]);
    let cleared = cache(&home, &["stats", "--json"]);
    assert_eq!(cleared["entries"], 0, "{cleared}");
    assert_eq!(cleared["link_store"]["entries"], 0, "{cleared}");
    let said = clean_build(&home, dir);
    assert_eq!(said[0], 0, "a hit after clear: {said:?}");
    assert_eq!(said[2], 0, "a link hit after clear: {said:?}");
}
