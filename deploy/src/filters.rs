//! The monitor's filters (PlatformIO's `monitor_filters`, `-f`): how what
//! the board sends is shown (`time`, `hexlify`, `nocontrol`, `printable`,
//! `log2file`, `colorize`, `direct`, `default`) and how what is typed is
//! sent (`send_on_enter`). Filters change what is shown, never what the
//! halt patterns see.

use std::io::Write;

/// The filters fbuild knows, for messages.
pub const KNOWN: &[&str] = &[
    "default",
    "direct",
    "time",
    "hexlify",
    "nocontrol",
    "printable",
    "log2file",
    "colorize",
    "send_on_enter",
];

/// The filters chosen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    /// `time`: each line starts with the time it began (`HH:MM:SS.mmm > `,
    /// local time; UTC where the OS gives none: Windows).
    pub time: bool,
    /// `hexlify`: bytes as hexadecimal pairs.
    pub hexlify: bool,
    /// `nocontrol`: control codes (CR and LF too) removed.
    pub nocontrol: bool,
    /// `printable`: control codes but LF, and bytes beyond ASCII, as
    /// `\xNN` (`\r` as it is written).
    pub printable: bool,
    /// `log2file`: what is shown is also written to
    /// `platformio-device-monitor-<date>-<time>.log` in the project's
    /// folder (else the current one).
    pub log2file: bool,
    /// `colorize`: typed text echoed in colour (a terminal only).
    pub colorize: bool,
    /// `send_on_enter`: typed text is sent a line at a time, on Enter.
    pub send_on_enter: bool,
}

impl Filters {
    /// From names (`-f time -f hexlify`, `monitor_filters = time, log2file`),
    /// with the names fbuild does not have (a platform's decoder,
    /// `esp32_exception_decoder`): the monitor says so and goes on.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> (Filters, Vec<String>) {
        let mut f = Filters::default();
        let mut unknown = Vec::new();
        for name in names {
            match name.as_ref().trim() {
                "" | "default" | "direct" => {}
                "time" => f.time = true,
                "hexlify" => f.hexlify = true,
                "nocontrol" => f.nocontrol = true,
                "printable" => f.printable = true,
                "log2file" => f.log2file = true,
                "colorize" => f.colorize = true,
                "send_on_enter" => f.send_on_enter = true,
                other => unknown.push(other.to_string()),
            }
        }
        (f, unknown)
    }
}

/// Shows the board's bytes through the filters, on `out` and the log.
pub struct Display {
    filters: Filters,
    log: Option<std::fs::File>,
    /// The next byte shown starts a line (`time` prefixes it).
    line_start: bool,
    /// The clock for `time` (a test's own).
    clock: fn() -> std::time::SystemTime,
    /// A write failed because nobody reads the output any more.
    closed: bool,
}

impl Display {
    /// Opens the log in `dir` when `log2file` asks (its path is returned to
    /// say).
    pub fn new(
        filters: Filters,
        dir: &std::path::Path,
    ) -> std::io::Result<(Display, Option<std::path::PathBuf>)> {
        let (log, path) = match filters.log2file {
            false => (None, None),
            true => {
                let path = dir.join(format!(
                    "platformio-device-monitor-{}.log",
                    stamp(std::time::SystemTime::now())
                ));
                (Some(std::fs::File::create(&path)?), Some(path))
            }
        };
        let display = Display {
            filters,
            log,
            line_start: true,
            clock: std::time::SystemTime::now,
            closed: false,
        };
        Ok((display, path))
    }

    /// Shows `bytes` (any part of a line or several lines).
    pub fn show(&mut self, out: &mut dyn Write, bytes: &[u8]) {
        let mut shown = Vec::with_capacity(bytes.len() + 16);
        for &b in bytes {
            if self.line_start && self.filters.time {
                shown.extend_from_slice(format!("{} > ", clock_time((self.clock)())).as_bytes());
            }
            self.line_start = b == b'\n';
            self.byte(b, &mut shown);
        }
        if let Err(e) = out.write_all(&shown) {
            self.closed |= e.kind() == std::io::ErrorKind::BrokenPipe;
        }
        if let Some(log) = &mut self.log {
            let _ = log.write_all(&shown);
        }
    }

    /// Whether the output's reader has gone (a pipe closed).
    pub fn closed(&self) -> bool {
        self.closed
    }

    fn byte(&self, b: u8, shown: &mut Vec<u8>) {
        let f = &self.filters;
        if f.hexlify {
            shown.extend_from_slice(format!("{b:02X} ").as_bytes());
            if b == b'\n' {
                shown.push(b'\n');
            }
        } else if f.nocontrol {
            if !b.is_ascii_control() {
                shown.push(b);
            } else if b == b'\n' && f.time {
                // The lines stay lines when each is stamped.
                shown.push(b);
            }
        } else if f.printable {
            match b {
                b'\n' => shown.push(b),
                b'\r' => shown.extend_from_slice(b"\\r"),
                b if b.is_ascii_control() || !b.is_ascii() => {
                    shown.extend_from_slice(format!("\\x{b:02x}").as_bytes())
                }
                b => shown.push(b),
            }
        } else {
            shown.push(b);
        }
    }
}

/// `HH:MM:SS.mmm` of `t`, local time.
fn clock_time(t: std::time::SystemTime) -> String {
    let since = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = local_seconds(since.as_secs()).rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        since.subsec_millis()
    )
}

/// Seconds since 1970 as the local clock reads them (the zone's offset
/// added), from the OS's time zone (`TZ`, `/etc/localtime`).
#[cfg(unix)]
fn local_seconds(utc: u64) -> i64 {
    let t = utc as libc::time_t;
    // SAFETY: localtime_r fills the zeroed struct we own from a value we
    // pass; nothing is kept.
    let offset = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        match libc::localtime_r(&t, &mut tm).is_null() {
            true => 0,
            false => tm.tm_gmtoff,
        }
    };
    utc as i64 + offset
}

/// Windows: UTC (no time zone read here yet).
#[cfg(not(unix))]
fn local_seconds(utc: u64) -> i64 {
    utc as i64
}

/// `YYMMDD-HHMMSS` of `t` (local time), PlatformIO's log name.
fn stamp(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let local = local_seconds(secs);
    let (days, rest) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{:02}{m:02}{d:02}-{:02}{:02}{:02}",
        y % 100,
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// The date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn shown(filters: &[&str], chunks: &[&[u8]]) -> String {
        let (mut d, _) = Display::new(Filters::parse(filters).0, Path::new(".")).unwrap();
        d.clock = || std::time::UNIX_EPOCH + std::time::Duration::from_millis(3_723_456);
        let mut out = Vec::new();
        for c in chunks {
            d.show(&mut out, c);
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn each_filter_shows_the_bytes_its_way() {
        assert_eq!(shown(&[], &[b"a\r\nb"]), "a\r\nb");
        // The local clock of the test's instant (whatever the zone here).
        let at = clock_time(std::time::UNIX_EPOCH + std::time::Duration::from_millis(3_723_456));
        assert!(at.ends_with(":03.456") && at.len() == 12, "{at}");
        assert_eq!(
            shown(&["time"], &[b"one\nt", b"wo\n", b"three"]),
            format!("{at} > one\n{at} > two\n{at} > three")
        );
        assert_eq!(shown(&["hexlify"], &[b"A\n"]), "41 0A \n");
        assert_eq!(shown(&["nocontrol"], &[b"a\x07b\r\n"]), "ab");
        assert_eq!(
            shown(&["printable"], &[b"a\x07\xff\r\n"]),
            "a\\x07\\xff\\r\n"
        );
        let (f, unknown) = Filters::parse(&["time", "esp32_exception_decoder"]);
        assert!(f.time);
        assert_eq!(unknown, ["esp32_exception_decoder"]);
    }

    #[test]
    fn the_log_name_is_platformios() {
        // 2026-12-03 21:40:05 UTC, as the local clock reads it.
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_796_334_005);
        let name = stamp(t);
        assert!(
            name.len() == 13 && name.as_bytes()[6] == b'-' && name.starts_with("2612"),
            "{name}"
        );
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_790), (2026, 12, 3));
    }
}
