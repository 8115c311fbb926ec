//! A line diff of two small texts, for comparing the two versions of a conflict: the longest
//! common subsequence of lines, then what only one side has. Pure: the texts come in, lines
//! marked with their side go out.

/// One line of a diff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiffLine {
    Both(String),
    /// Only in the first (left) text.
    First(String),
    /// Only in the second (right) text.
    Second(String),
}

/// Texts with more lines than this are not compared (the table is lines × lines).
pub const MAX_LINES: usize = 2000;

/// The diff of `first` and `second`, or `None` when one has more than [`MAX_LINES`] lines.
pub fn lines(first: &str, second: &str) -> Option<Vec<DiffLine>> {
    let a: Vec<&str> = first.lines().collect();
    let b: Vec<&str> = second.lines().collect();
    if a.len() > MAX_LINES || b.len() > MAX_LINES {
        return None;
    }
    // common[i][j]: the longest common subsequence of a[i..] and b[j..].
    let width = b.len() + 1;
    let mut common = vec![0u32; (a.len() + 1) * width];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            common[i * width + j] = if a[i] == b[j] {
                common[(i + 1) * width + j + 1] + 1
            } else {
                common[(i + 1) * width + j].max(common[i * width + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push(DiffLine::Both(a[i].to_string()));
            i += 1;
            j += 1;
        } else if j < b.len()
            && (i == a.len() || common[i * width + j + 1] > common[(i + 1) * width + j])
        {
            out.push(DiffLine::Second(b[j].to_string()));
            j += 1;
        } else {
            out.push(DiffLine::First(a[i].to_string()));
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::DiffLine::{Both, First, Second};
    use super::*;

    fn s(text: &str) -> String {
        text.to_string()
    }

    #[test]
    fn lines_only_one_side_has_are_marked_with_that_side() {
        let table: [(&str, &str, Vec<DiffLine>); 6] = [
            ("", "", vec![]),
            ("a\nb", "a\nb", vec![Both(s("a")), Both(s("b"))]),
            ("a", "", vec![First(s("a"))]),
            ("", "b", vec![Second(s("b"))]),
            (
                "a\nold\nc",
                "a\nnew\nc",
                vec![
                    Both(s("a")),
                    First(s("old")),
                    Second(s("new")),
                    Both(s("c")),
                ],
            ),
            (
                "x\na\nb",
                "a\nb\ny",
                vec![First(s("x")), Both(s("a")), Both(s("b")), Second(s("y"))],
            ),
        ];
        for (first, second, expected) in table {
            assert_eq!(
                lines(first, second),
                Some(expected),
                "{first:?} / {second:?}"
            );
        }
    }

    #[test]
    fn every_line_of_both_texts_is_in_the_diff_once() {
        let first = "one\ntwo\nthree\nfour\nfive";
        let second = "zero\ntwo\nthree\n4\nfive\nsix";
        let diff = lines(first, second).unwrap();
        let of_first: Vec<&str> = diff
            .iter()
            .filter_map(|l| match l {
                Both(t) | First(t) => Some(t.as_str()),
                Second(_) => None,
            })
            .collect();
        let of_second: Vec<&str> = diff
            .iter()
            .filter_map(|l| match l {
                Both(t) | Second(t) => Some(t.as_str()),
                First(_) => None,
            })
            .collect();
        assert_eq!(of_first, first.lines().collect::<Vec<_>>());
        assert_eq!(of_second, second.lines().collect::<Vec<_>>());
        assert_eq!(diff.iter().filter(|l| matches!(l, Both(_))).count(), 3);
    }

    #[test]
    fn long_texts_are_not_compared() {
        let long = "line\n".repeat(MAX_LINES + 1);
        assert_eq!(lines(&long, "line"), None);
    }
}
