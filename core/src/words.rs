//! Words for people: a count with its noun in the right number (`1
//! library`, `2 libraries`; seen: `1 libraries resolved`, `1 suites`).

/// `n` and `one` or `many`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    match n {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(super::count(1, "library", "libraries"), "1 library");
        assert_eq!(super::count(0, "suite", "suites"), "0 suites");
        assert_eq!(super::count(2, "test case", "test cases"), "2 test cases");
    }
}
