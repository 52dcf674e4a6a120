//! The version this build speaks, and how versions compare.
//!
//! `FBUILD_VERSION_OVERRIDE` replaces the build's version in every binary that
//! reads [`Settings`](crate::Settings). It exists for tests of the
//! "newer binary wins" rule (an old coordinator is simulated by starting one
//! with an older override); users have no reason to set it.

use std::cmp::Ordering;

/// The version of this build of fbuild.
pub const BUILD_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Compares dotted numeric versions (`0.1.10` > `0.1.9`). A component that is
/// not a number compares as 0, so a malformed version loses to any real one.
pub fn compare(a: &str, b: &str) -> Ordering {
    let parse = |v: &str| -> Vec<u64> {
        v.split(['.', '-', '+'])
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    let (a, b) = (parse(a), parse(b));
    let len = a.len().max(b.len());
    for i in 0..len {
        let ord = a.get(i).unwrap_or(&0).cmp(b.get(i).unwrap_or(&0));
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_not_lexical() {
        assert_eq!(compare("0.1.10", "0.1.9"), Ordering::Greater);
        assert_eq!(compare("1.0", "1.0.0"), Ordering::Equal);
        assert_eq!(compare("0.0.1", "0.1.0"), Ordering::Less);
        assert_eq!(compare("junk", "0.0.1"), Ordering::Less);
    }
}
