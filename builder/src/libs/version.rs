//! Library versions and ranges as PlatformIO and Arduino manifests write
//! them, on the semver crate: `1.2` and `v1.2.3` read as `1.2.0`/`1.2.3`;
//! ranges `^1.2.3`, `~1.2.3`, `>=1.0.0,<2` (or space-separated), `*`, and a
//! bare `1.2.3`, which PlatformIO reads as exactly that version (cargo would
//! read `^1.2.3`).

use semver::{Version, VersionReq};

/// A version as a library publishes it, read leniently; `None` if it is
/// not a version at all (a git branch name, say).
pub fn parse_version(text: &str) -> Option<Version> {
    let t = text.trim().trim_start_matches(['v', 'V']);
    if let Ok(v) = Version::parse(t) {
        return Some(v);
    }
    // `1.2`, `1`, `1.2.3.4`: pad or cut to three numbers.
    let (core, pre) = t.split_once('-').unwrap_or((t, ""));
    let mut nums: Vec<u64> = Vec::new();
    for part in core.split('.') {
        nums.push(part.parse().ok()?);
    }
    nums.resize(3, 0);
    let mut v = Version::new(nums[0], nums[1], nums[2]);
    if !pre.is_empty() {
        v.pre = semver::Prerelease::new(pre).ok()?;
    }
    Some(v)
}

/// A version range; `Err` says what is wrong with the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub text: String,
    req: VersionReq,
}

impl Range {
    pub fn any() -> Self {
        Range {
            text: "*".into(),
            req: VersionReq::STAR,
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if t.is_empty() || t == "*" || t.eq_ignore_ascii_case("latest") {
            return Ok(Range::any());
        }
        let mut parts = Vec::new();
        for item in t.split(',').flat_map(split_comparators) {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let starts_with_op = item.starts_with(['^', '~', '>', '<', '=', '*']);
            parts.push(if starts_with_op {
                item.replace(' ', "")
            } else {
                format!("={}", item.trim_start_matches(['v', 'V']))
            });
        }
        let req = VersionReq::parse(&parts.join(", "))
            .map_err(|e| format!("{text:?} is not a version range ({e}); write e.g. ^1.2.3, ~1.2.0, >=1.0.0,<2 or 1.2.3"))?;
        Ok(Range {
            text: t.to_string(),
            req,
        })
    }

    pub fn matches(&self, v: &Version) -> bool {
        self.req.matches(v)
    }
}

/// `>=1.0.0 <2.0.0` → [`>=1.0.0`, `<2.0.0`]; `>= 1.0` stays one.
fn split_comparators(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in s.split_whitespace() {
        match out.last_mut() {
            Some(last) if last.chars().all(|c| "^~<>=".contains(c)) => last.push_str(word),
            _ => out.push(word.to_string()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platformio_ranges() {
        let v = |s| parse_version(s).unwrap();
        assert_eq!(v("1.2"), Version::new(1, 2, 0));
        assert_eq!(v("v2.0.1"), Version::new(2, 0, 1));
        assert!(parse_version("main").is_none());
        let r = |s| Range::parse(s).unwrap();
        assert!(r("^1.2.3").matches(&v("1.9.0")) && !r("^1.2.3").matches(&v("2.0.0")));
        assert!(r("1.2.3").matches(&v("1.2.3")) && !r("1.2.3").matches(&v("1.2.4")));
        assert!(r(">=1.0.0 <2").matches(&v("1.5")) && !r(">=1.0.0, <2").matches(&v("2.1")));
        assert!(r("~1.2.0").matches(&v("1.2.9")) && !r("~1.2.0").matches(&v("1.3.0")));
        assert!(r("*").matches(&v("0.1.0")) && r(">= 1.0").matches(&v("3.0")));
        assert!(Range::parse("^^x").is_err());
    }
}
