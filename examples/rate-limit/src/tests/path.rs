//! `normalize_path`, the pure function rules match against: the categories of path
//! tricks one by one, then every short path over an alphabet of tricky pieces, checked
//! against an independent model (RFC 3986 §5.2.4 written out as the RFC states it) and
//! against the properties the limiter relies on.

use crate::normalize_path;

fn norm(raw: &str) -> String {
    String::from_utf8(normalize_path(raw.as_bytes())).unwrap()
}

fn assert_all(expected: &str, spellings: &[&str]) {
    for raw in spellings {
        assert_eq!(norm(raw), expected, "normalize_path({raw:?})");
    }
}

#[test]
fn merged_slashes() {
    assert_all(
        "/login",
        &["/login", "//login", "///login", "/\\login", "//\\//login"],
    );
    assert_all("/a/b", &["/a//b", "/a///b", "//a//b"]);
    assert_all("/a/", &["/a//", "/a/"]);
}

#[test]
fn dot_segments() {
    assert_all(
        "/login",
        &[
            "/./login",
            "/././login",
            "/x/../login",
            "/x/y/../../login",
            "/x/./../login",
            "/../login",
            "/../../../login",
            "/x//../login",
        ],
    );
    assert_eq!(norm("/login/."), "/login/");
    assert_eq!(norm("/login/x/.."), "/login/");
    assert_eq!(norm("/a/b/.."), "/a/");
    assert_eq!(norm("/.."), "/");
    assert_eq!(norm(".."), "/");
    // Dots that are not whole segments are names.
    assert_all("/.login", &["/.login"]);
    assert_all("/...", &["/..."]);
    assert_all("/a..b", &["/a..b"]);
}

#[test]
fn rfc_3986_remove_dot_segments_examples() {
    // RFC 3986 §5.2.4 and the "normal examples" of §5.4.1 (merged paths).
    assert_eq!(norm("/a/b/c/./../../g"), "/a/g");
    assert_eq!(norm("mid/content=5/../6"), "/mid/6");
    assert_eq!(norm("/b/c/./g"), "/b/c/g");
    assert_eq!(norm("/b/c/g/"), "/b/c/g/");
    assert_eq!(norm("/b/c/."), "/b/c/");
    assert_eq!(norm("/b/c/./"), "/b/c/");
    assert_eq!(norm("/b/c/.."), "/b/");
    assert_eq!(norm("/b/c/../"), "/b/");
    assert_eq!(norm("/b/c/../g"), "/b/g");
    assert_eq!(norm("/b/c/../.."), "/");
    assert_eq!(norm("/b/c/../../g"), "/g");
    assert_eq!(norm("/b/c/../../../g"), "/g");
    assert_eq!(norm("/b/c/g."), "/b/c/g.");
    assert_eq!(norm("/b/c/.g"), "/b/c/.g");
    assert_eq!(norm("/b/c/g.."), "/b/c/g..");
    assert_eq!(norm("/b/c/..g"), "/b/c/..g");
    assert_eq!(norm("/b/c/./../g"), "/b/g");
    assert_eq!(norm("/b/c/./g/."), "/b/c/g/");
    assert_eq!(norm("/b/c/g/./h"), "/b/c/g/h");
    assert_eq!(norm("/b/c/g/../h"), "/b/c/h");
}

#[test]
fn unreserved_escapes_are_decoded_once() {
    assert_all(
        "/login",
        &[
            "/%6cogin",
            "/%6Cogin",
            "/%6C%6F%67%69%6E",
            "/l%6fgin",
            "/%2e/login",
            "/%2E/login",
            "/x/%2e%2e/login",
            "/x/.%2e/login",
            "/x/%2E./login",
        ],
    );
    assert_all("/a-b_c.d~e", &["/%61%2D%62%5f%63%2E%64%7E%65"]);
    // One decoding only: `%25` is `%`, which stays escaped, so `%252e` is not a dot.
    assert_eq!(norm("/%252e%252E/login"), "/%252e%252e/login");
    assert_eq!(norm("/x/%252e%252e/login"), "/x/%252e%252e/login");
}

#[test]
fn encoded_and_back_slashes_separate_segments() {
    assert_all(
        "/login",
        &[
            "/%2flogin",
            "/%2Flogin",
            "%2flogin",
            "/x%2f..%2flogin",
            "/x%2F%2E%2E%2Flogin",
            "/x%5c..%5clogin",
            "/x\\..\\login",
            "\\login",
        ],
    );
    assert_eq!(norm("/api%2Fv1"), "/api/v1");
}

#[test]
fn segment_parameters_are_cut() {
    assert_all(
        "/login",
        &[
            "/login;jsessionid=1",
            "/x/..;/login",
            "/x/..;a=b/login",
            "/;/login",
            "/;x=1/login",
            "/.;/login",
            "/login;",
        ],
    );
    assert_eq!(norm("/a;x/b;y/"), "/a/b/");
    // An escaped `;` is data, not a parameter.
    assert_eq!(norm("/a%3bx"), "/a%3Bx");
}

#[test]
fn query_and_fragment_are_cut() {
    assert_all(
        "/login",
        &[
            "/login?",
            "/login?x=1",
            "/login#top",
            "/login?a#b",
            "/login#a?b",
        ],
    );
    assert_eq!(norm("/?/login"), "/");
    assert_eq!(norm("/a/..?x=/../login"), "/");
    // An escaped `?` is a name's byte.
    assert_eq!(norm("/a%3Fb"), "/a%3Fb");
}

#[test]
fn matching_ignores_ascii_case() {
    assert_all(
        "/login",
        &["/LOGIN", "/Login", "/lOgIn", "/%4cOGIN", "/%4C%4f%47%49%4E"],
    );
    // Escapes kept are spelled uppercase, whatever the client wrote.
    assert_eq!(norm("/a%3ab"), "/a%3Ab");
}

#[test]
fn other_bytes_are_percent_encoded() {
    assert_eq!(norm("/caf\u{e9}"), "/caf%C3%A9");
    assert_eq!(norm("/caf%c3%a9"), "/caf%C3%A9");
    assert_eq!(norm("/a b"), "/a%20b");
    assert_eq!(norm("/a%20b"), "/a%20b");
    assert_eq!(norm("/a\u{0}b"), "/a%00b");
    // A `%` that starts no escape is the byte `%`.
    assert_eq!(norm("/100%"), "/100%25");
    assert_eq!(norm("/%zz"), "/%25zz");
    assert_eq!(norm("/%4"), "/%254");
    assert_eq!(norm("/%%6c"), "/%25l");
    // Sub-delimiters, `:` and `@` stay as they are.
    assert_eq!(norm("/a:b@c!$&'()*+,="), "/a:b@c!$&'()*+,=");
    // Any bytes, not only UTF-8.
    assert_eq!(normalize_path(b"/\xff\xfe"), b"/%FF%FE");
}

#[test]
fn empty_and_non_slash_paths() {
    assert_eq!(norm(""), "/");
    assert_eq!(norm("/"), "/");
    assert_eq!(norm("*"), "/*");
    assert_eq!(norm("login"), "/login");
    assert_eq!(norm("?x"), "/");
}

// --- every short path over tricky pieces -------------------------------------------

/// Pieces of a path: separators of every spelling, dots of every spelling, a letter of
/// both cases and escaped, parameters, query, and lone `%` that may combine with what
/// follows into an escape (`%` + `a` + `a` is `%aa`).
const PIECES: &[&str] = &["/", "\\", "%2F", ".", "%2e", "a", "A", "%41", ";", "?", "%"];

/// An independent model: each step on a whole string, dot segments removed by RFC 3986
/// §5.2.4's own loop.
fn model(raw: &str) -> String {
    // 1. query and fragment.
    let raw = &raw[..raw.find(['?', '#']).unwrap_or(raw.len())];
    // 2. escapes (one left-to-right pass), `\`, case.
    let bytes = raw.as_bytes();
    let mut decoded = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let hex = |j: usize| bytes.get(j).and_then(|b| (*b as char).to_digit(16));
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                let b = (h * 16 + l) as u8;
                if b == b'/' || b == b'\\' {
                    decoded.push('/');
                } else if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    decoded.push(b.to_ascii_lowercase() as char);
                } else {
                    decoded.push_str(&format!("%{b:02X}"));
                }
                i += 3;
            }
            (b'%', _, _) => {
                decoded.push_str("%25");
                i += 1;
            }
            (b'\\', _, _) => {
                decoded.push('/');
                i += 1;
            }
            (b, _, _) => {
                decoded.push(b.to_ascii_lowercase() as char);
                i += 1;
            }
        }
    }
    // 3. parameters, per segment.
    let cut: Vec<&str> = decoded
        .split('/')
        .map(|segment| &segment[..segment.find(';').unwrap_or(segment.len())])
        .collect();
    let mut path = cut.join("/");
    // 4. merged slashes, and a leading one.
    while path.contains("//") {
        path = path.replace("//", "/");
    }
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    remove_dot_segments(&path)
}

/// RFC 3986 §5.2.4, rule by rule.
fn remove_dot_segments(path: &str) -> String {
    let mut input = path.to_owned();
    let mut output = String::new();
    // C: remove the last segment and its `/` from the output.
    let pop = |output: &mut String| output.truncate(output.rfind('/').unwrap_or(0));
    while !input.is_empty() {
        if let Some(rest) = input.strip_prefix("../") {
            input = rest.to_owned(); // A
        } else if let Some(rest) = input.strip_prefix("./") {
            input = rest.to_owned(); // A
        } else if input.starts_with("/./") {
            input.replace_range(..3, "/"); // B
        } else if input == "/." {
            input = "/".into(); // B
        } else if input.starts_with("/../") {
            input.replace_range(..4, "/"); // C
            pop(&mut output);
        } else if input == "/.." {
            input = "/".into(); // C
            pop(&mut output);
        } else if input == "." || input == ".." {
            input.clear(); // D
        } else {
            // E: the first segment, with its leading `/`, moves to the output.
            let start = usize::from(input.starts_with('/'));
            let end = input[start..].find('/').map_or(input.len(), |i| i + start);
            output.push_str(&input[..end]);
            input.replace_range(..end, "");
        }
    }
    if output.is_empty() {
        output.push('/');
    }
    output
}

/// Whether `path` has an uppercase ASCII letter outside its `%XX` escapes.
fn has_uppercase_outside_escapes(path: &str) -> bool {
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && bytes.len() >= i + 3 {
            i += 3;
        } else if bytes[i].is_ascii_uppercase() {
            return true;
        } else {
            i += 1;
        }
    }
    false
}

fn every_path(max_pieces: usize, mut check: impl FnMut(&str)) {
    let mut indices: Vec<usize> = Vec::new();
    loop {
        let path: String = indices.iter().map(|&i| PIECES[i]).collect();
        check(&path);
        // Next combination, shortest first.
        let mut position = indices.len();
        loop {
            if position == 0 {
                if indices.len() == max_pieces {
                    return;
                }
                indices = vec![0; indices.len() + 1];
                break;
            }
            position -= 1;
            indices[position] += 1;
            if indices[position] < PIECES.len() {
                break;
            }
            indices[position] = 0;
        }
    }
}

#[test]
fn every_short_path_agrees_with_the_rfc_model() {
    let mut checked = 0;
    every_path(5, |raw| {
        assert_eq!(norm(raw), model(raw), "normalize_path({raw:?})");
        checked += 1;
    });
    // 1 + 11 + 11² + … + 11⁵ paths.
    assert_eq!(checked, 177_156);
}

#[test]
fn every_short_path_normalizes_to_a_fixed_point_with_no_trick_left() {
    every_path(5, |raw| {
        let once = norm(raw);
        assert_eq!(norm(&once), once, "not idempotent on {raw:?}");
        assert!(once.starts_with('/'), "{raw:?} → {once:?}");
        assert!(!once.contains("//"), "{raw:?} → {once:?}");
        for segment in once.split('/') {
            assert!(segment != "." && segment != "..", "{raw:?} → {once:?}");
        }
        for leftover in ["\\", ";", "?", "%2E", "%2F", "%5C", "%41", "%61"] {
            assert!(
                !once.to_ascii_uppercase().contains(leftover),
                "{raw:?} → {once:?} still has {leftover:?}"
            );
        }
        assert!(!has_uppercase_outside_escapes(&once), "{raw:?} → {once:?}");
    });
}
