//! What a build says around its environments, as PlatformIO does: a
//! header before each, one as several (`Processing uno (platform:
//! atmelavr; board: uno; framework: arduino)`), and, after several, a
//! table of each environment's status and duration.

use std::time::Duration;

use crate::project::EnvConfig;

/// The line before an environment's build.
pub fn header(env: &EnvConfig) -> String {
    let mut parts = vec![format!("platform: {}", env.platform)];
    if let Some(board) = &env.board {
        parts.push(format!("board: {board}"));
    }
    if let Some(framework) = &env.framework {
        parts.push(format!("framework: {framework}"));
    }
    format!("Processing {} ({})", env.name, parts.join("; "))
}

/// The table of every environment built: name, SUCCESS or FAILED, time.
pub fn table(done: &[(String, bool, Duration)]) -> String {
    let width = done
        .iter()
        .map(|(n, ..)| n.len())
        .max()
        .unwrap_or(0)
        .max(11);
    let mut out = format!("{:<width$}  {:<8}  Duration\n", "Environment", "Status");
    for (name, ok, took) in done {
        let status = if *ok { "SUCCESS" } else { "FAILED" };
        out.push_str(&format!("{name:<width$}  {status:<8}  {}\n", clock(*took)));
    }
    let failed = done.iter().filter(|(_, ok, _)| !ok).count();
    let total: Duration = done.iter().map(|(.., t)| *t).sum();
    out.push_str(&format!(
        "{} succeeded, {failed} failed in {}",
        done.len() - failed,
        clock(total)
    ));
    out
}

/// `00:00:01.234`.
fn clock(d: Duration) -> String {
    let ms = d.as_millis();
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_says_each_status_and_the_totals() {
        let t = table(&[
            ("uno".into(), true, Duration::from_millis(1234)),
            ("esp32dev".into(), false, Duration::from_millis(61_005)),
        ]);
        assert!(t.contains("uno          SUCCESS   00:00:01.234"), "{t}");
        assert!(t.contains("esp32dev     FAILED    00:01:01.005"), "{t}");
        assert!(t.ends_with("1 succeeded, 1 failed in 00:01:02.239"), "{t}");
    }
}
