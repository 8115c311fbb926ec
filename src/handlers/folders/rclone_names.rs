//! Names as rclone's remote control speaks them. rclone's paths are in its "standard"
//! encoding: a control character (0x01–0x1F) is its Unicode symbol (`\x07` is `␇`), DEL is
//! `␡`, and a symbol meant literally is quoted with `‛` (`␇` is `‛␇`, `‛` is `‛‛`); every
//! backend turns that into its own names (rclone's `lib/encoder`, `Standard`). Listings
//! answer in it too, so a file uploaded as `a\x07b` under its raw name would be listed back
//! as `a␇b` — another file — once the server lists its disk: the next sync would take the
//! first for deleted on the remote.
//!
//! Two parts of the standard encoding stay as they were: a `／` (rclone's name for a `/`
//! inside a name, which clouds allow and local names cannot hold) and a `␀` (NUL) are kept as
//! they are both ways, so a cloud's `a/b` is the local `a／b`; a `‛` before them is not
//! doubled, so a cloud's literal `a／b` (`a‛／b`) is the local `a‛／b`.

/// rclone's quote: the next character is meant literally.
const QUOTE: char = '‛';
/// The symbols of the control characters are this plus the character (`␀` is NUL's).
const SYMBOLS: u32 = 0x2400;
const DEL_SYMBOL: char = '␡';
/// A name `.` or `..` (which no folder holds) is written with full-width stops.
const FULL_STOP: char = '．';

/// Whether `c` is a symbol rclone decodes (a control character's, or DEL's).
fn is_symbol(c: char) -> bool {
    (SYMBOLS + 1..=SYMBOLS + 0x1F).contains(&(c as u32)) || c == DEL_SYMBOL
}

/// Characters after which a quote is kept as it is (see the module's notes).
fn keeps_quote(c: char) -> bool {
    c == '／' || c == '␀'
}

/// A relative path (names separated by `/`) in rclone's encoding.
pub fn to_rclone(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for (i, name) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        encode_name(name, &mut out);
    }
    out
}

fn encode_name(name: &str, out: &mut String) {
    let full_stops = name.chars().all(|c| c == FULL_STOP);
    if full_stops && (1..=2).contains(&name.chars().count()) {
        for c in name.chars() {
            out.push(QUOTE);
            out.push(c);
        }
        return;
    }
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x01'..='\x1f' => out.push(char::from_u32(SYMBOLS + c as u32).expect("a symbol")),
            '\x7f' => out.push(DEL_SYMBOL),
            QUOTE if chars.peek().is_some_and(|&next| keeps_quote(next)) => out.push(QUOTE),
            QUOTE => out.extend([QUOTE, QUOTE]),
            c if is_symbol(c) => out.extend([QUOTE, c]),
            c => out.push(c),
        }
    }
}

/// A name listed by rclone, as the folder's own name (the inverse of [`to_rclone`]).
pub fn from_rclone(name: &str) -> String {
    let quoted_stop: String = [QUOTE, FULL_STOP].iter().collect();
    if name == quoted_stop || name == quoted_stop.repeat(2) {
        return name.replace(QUOTE, "");
    }
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            QUOTE => match chars.peek().copied() {
                Some(next) if next == QUOTE || is_symbol(next) => {
                    out.push(next);
                    chars.next();
                }
                Some(next) if keeps_quote(next) => {
                    out.extend([QUOTE, next]);
                    chars.next();
                }
                _ => out.push(QUOTE),
            },
            DEL_SYMBOL => out.push('\x7f'),
            c if is_symbol(c) => {
                out.push(char::from_u32(c as u32 - SYMBOLS).expect("a control character"))
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_are_written_as_rclone_writes_them() {
        // (the folder's name, rclone's standard encoding of it: `Standard.Encode` but for
        // `／` and `␀`, kept).
        let table = [
            ("plain name.txt", "plain name.txt"),
            ("bell\x07.txt", "bell␇.txt"),
            ("\x01\x1f", "␁␟"),
            ("tab\there", "tab␉here"),
            ("new\nline", "new␊line"),
            ("del\x7f", "del␡"),
            ("sym␇bol", "sym‛␇bol"),
            ("del␡sym", "del‛␡sym"),
            ("quote‛q", "quote‛‛q"),
            ("‛", "‛‛"),
            ("‛‛", "‛‛‛‛"),
            ("．", "‛．"),
            ("．．", "‛．‛．"),
            ("．．．", "．．．"),
            ("a．", "a．"),
            ("cloud／slash", "cloud／slash"),
            ("literal‛／slash", "literal‛／slash"),
            ("nul␀", "nul␀"),
            ("quoted‛␀", "quoted‛␀"),
            ("ünïcödé 文字 #%?*:|<>\"\\", "ünïcödé 文字 #%?*:|<>\"\\"),
            ("", ""),
        ];
        for (name, rclone) in table {
            assert_eq!(to_rclone(name), rclone, "{name:?}");
            assert_eq!(from_rclone(rclone), name, "{rclone:?}");
        }
    }

    #[test]
    fn paths_are_encoded_name_by_name() {
        assert_eq!(to_rclone("a\x07/．/b‛"), "a␇/‛．/b‛‛");
        assert_eq!(
            to_rclone(".synccenter/versions/x"),
            ".synccenter/versions/x"
        );
    }

    #[test]
    fn a_stray_quote_in_a_listing_is_kept() {
        // rclone keeps a quote that quotes nothing; so does the name.
        assert_eq!(from_rclone("a‛b"), "a‛b");
        assert_eq!(from_rclone("end‛"), "end‛");
    }

    #[test]
    fn every_control_character_goes_both_ways() {
        for c in (1u8..0x20).chain([0x7f]) {
            let name = format!("x{}y", c as char);
            let rclone = to_rclone(&name);
            assert!(!rclone.bytes().any(|b| b < 0x20 || b == 0x7f), "{rclone:?}");
            assert_eq!(from_rclone(&rclone), name);
        }
    }

    fn name_strategy() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "a", " ", ".", "\x01", "\x07", "\x1f", "\x7f", "␀", "␁", "␇", "␟", "␠", "␡", "‛", "．",
            "／", "ü", "文",
        ]);
        prop::collection::vec(pieces, 1..8).prop_map(|p| p.concat())
    }

    proptest! {
        #[test]
        fn a_name_comes_back_as_it_went(name in name_strategy()) {
            prop_assert_eq!(from_rclone(&to_rclone(&name)), name);
        }
    }
}
