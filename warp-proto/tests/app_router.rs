//! Node URI patterns and the route table: parsing, matching (table-driven), percent-decoding as
//! SwimOS does, and the choice of the most specific route.

use proptest::prelude::*;
use warp_proto::app::{RouteErrorKind, RoutePattern, Router};

/// (pattern, node URI, expected: None for no match, else the bound (name, value) pairs and rest)
type Case = (
    &'static str,
    &'static str,
    Option<(
        &'static [(&'static str, &'static str)],
        Option<&'static str>,
    )>,
);

const MATCHES: &[Case] = &[
    // literals
    ("/unit", "/unit", Some((&[], None))),
    ("/unit", "/unit/", None),
    ("/unit", "/units", None),
    ("/unit", "unit", None),
    ("/a/b/c", "/a/b/c", Some((&[], None))),
    ("/a/b/c", "/a/b", None),
    ("/a/b/c", "/a/b/c/d", None),
    // one parameter
    ("/unit/:id", "/unit/1", Some((&[("id", "1")], None))),
    (
        "/unit/:id",
        "/unit/abc-def_1.2~",
        Some((&[("id", "abc-def_1.2~")], None)),
    ),
    ("/unit/:id", "/unit", None),
    ("/unit/:id", "/unit/", None),
    ("/unit/:id", "/unit/1/", None),
    ("/unit/:id", "/unit/1/2", None),
    ("/unit/:id", "/unit//1", None),
    ("/unit/:id", "/other/1", None),
    ("/unit/:id", "", None),
    ("/unit/:id", "/", None),
    // parameters anywhere, several
    ("/:id", "/path", Some((&[("id", "path")], None))),
    ("/:id/path", "/hello/path", Some((&[("id", "hello")], None))),
    ("/:id/path", "/hello/other", None),
    (
        "/:id/path/:sub",
        "/a/path/b",
        Some((&[("id", "a"), ("sub", "b")], None)),
    ),
    (
        "/:id/:sub",
        "/a/b",
        Some((&[("id", "a"), ("sub", "b")], None)),
    ),
    // percent-decoding, as SwimOS (`/aaa%2Fbbb` binds `aaa/bbb`)
    ("/:id", "/aaa%2Fbbb", Some((&[("id", "aaa/bbb")], None))),
    (
        "/path/:id",
        "/path/hello%20world%21",
        Some((&[("id", "hello world!")], None)),
    ),
    ("/unit/:id", "/unit/%C3%A9", Some((&[("id", "é")], None))),
    ("/unit/:id", "/unit/%zz", Some((&[("id", "%zz")], None))),
    ("/unit/:id", "/unit/50%", Some((&[("id", "50%")], None))),
    (
        "/unit/:id",
        "/unit/%FF",
        Some((&[("id", "\u{FFFD}")], None)),
    ),
    ("/unit/:id", "/unit/%41", Some((&[("id", "A")], None))),
    ("/un%69t/:id", "/unit/1", Some((&[("id", "1")], None))),
    ("/unit/:id", "/%75nit/1", Some((&[("id", "1")], None))),
    ("/a%20b", "/a b", Some((&[], None))),
    // query and fragment take no part
    ("/unit/:id", "/unit/1?x=2", Some((&[("id", "1")], None))),
    ("/unit/:id", "/unit/1#top", Some((&[("id", "1")], None))),
    ("/unit", "/unit?/x", Some((&[], None))),
    // absolute URIs match nothing
    ("/unit/:id", "warp://host/unit/1", None),
    // wildcard
    ("/files/*", "/files/a", Some((&[], Some("a")))),
    ("/files/*", "/files/a/b/c", Some((&[], Some("a/b/c")))),
    ("/files/*", "/files/a%2Fb", Some((&[], Some("a%2Fb")))),
    ("/files/*", "/files/a/", Some((&[], Some("a/")))),
    ("/files/*", "/files", None),
    ("/files/*", "/files/", None),
    ("/files/*", "/other/a", None),
    (
        "/*",
        "/anything/at/all",
        Some((&[], Some("anything/at/all"))),
    ),
    (
        "/u/:id/*",
        "/u/7/x/y?q",
        Some((&[("id", "7")], Some("x/y"))),
    ),
    ("/u/:id/*", "/u/7", None),
];

#[test]
fn patterns_match_node_uris_as_the_table_says() {
    for &(pattern, node, expected) in MATCHES {
        let p = RoutePattern::parse(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
        let got = p.matches(node);
        match (expected, got) {
            (None, None) => {}
            (Some((named, rest)), Some(params)) => {
                let pairs: Vec<(&str, &str)> = params.iter().collect();
                assert_eq!(pairs, named, "{pattern} on {node}");
                assert_eq!(params.rest(), rest, "{pattern} on {node}");
                assert_eq!(params.len(), named.len());
                for (n, v) in named {
                    assert_eq!(params.get(n), Some(*v));
                }
            }
            (expected, got) => panic!("{pattern} on {node:?}: expected {expected:?}, got {got:?}"),
        }
    }
}

#[test]
fn bad_patterns_are_refused_with_kind_and_offset() {
    let cases: &[(&str, RouteErrorKind, usize)] = &[
        ("", RouteErrorKind::NotAbsolute, 0),
        ("unit/:id", RouteErrorKind::NotAbsolute, 0),
        ("/", RouteErrorKind::EmptySegment, 1),
        ("//", RouteErrorKind::EmptySegment, 1),
        ("/first//second", RouteErrorKind::EmptySegment, 7),
        ("/unit/", RouteErrorKind::EmptySegment, 6),
        ("/first/:/second", RouteErrorKind::BadParamName, 7),
        ("/::", RouteErrorKind::BadParamName, 1),
        ("/:a:b", RouteErrorKind::BadParamName, 1),
        ("/:id/:id", RouteErrorKind::DuplicateParam, 5),
        ("/*/x", RouteErrorKind::MisplacedWildcard, 1),
        ("/a/*/*", RouteErrorKind::MisplacedWildcard, 3),
        ("/a%2", RouteErrorKind::BadEscape, 2),
        ("/x/a%zz", RouteErrorKind::BadEscape, 4),
        ("/%FF", RouteErrorKind::BadEscape, 1),
    ];
    for &(pattern, kind, offset) in cases {
        let err = RoutePattern::parse(pattern).unwrap_err();
        assert_eq!((err.kind, err.offset), (kind, offset), "{pattern}");
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn pattern_reports_its_parameters_and_text() {
    let p: RoutePattern = "/room/:id/user/:user/*".parse().unwrap();
    assert_eq!(p.params().collect::<Vec<_>>(), ["id", "user"]);
    assert!(p.has_rest());
    assert_eq!(p.as_str(), "/room/:id/user/:user/*");
    assert_eq!(p.to_string(), "/room/:id/user/:user/*");
}

#[test]
fn router_picks_the_most_specific_route() {
    let mut router = Router::new();
    let unit = router.add("/unit/:id", "unit").unwrap();
    let admin = router.add("/unit/admin", "admin").unwrap();
    let any = router.add("/unit/*", "any-unit").unwrap();
    let first = router.add("/:kind/special", "special").unwrap();
    let second = router.add("/unit/:id/history", "history").unwrap();
    assert_eq!(router.len(), 5);
    let cases = [
        ("/unit/1", Some((unit, "unit"))),
        ("/unit/admin", Some((admin, "admin"))),
        ("/unit/1/2", Some((any, "any-unit"))),
        ("/unit/special", Some((unit, "unit"))), // literal `unit` beats `:kind` at position 0
        ("/room/special", Some((first, "special"))),
        ("/unit/9/history", Some((second, "history"))),
        ("/nowhere", None),
    ];
    for (node, expected) in cases {
        let got = router.find(node).map(|m| (m.id, *m.handler));
        assert_eq!(got, expected, "{node}");
    }
    let m = router.find("/unit/9/history").unwrap();
    assert_eq!(m.params.get("id"), Some("9"));
    assert_eq!(m.pattern.as_str(), "/unit/:id/history");
    assert_eq!(
        router.get(admin).map(|(p, h)| (p.as_str(), *h)),
        Some(("/unit/admin", "admin"))
    );
    assert_eq!(router.iter().count(), 5);
}

#[test]
fn router_refuses_a_pattern_matching_the_same_uris() {
    let mut router = Router::new();
    router.add("/unit/:id", 1).unwrap();
    for dup in ["/unit/:other", "/unit/:id", "/u%6Eit/:x"] {
        let err = router.add(dup, 2).unwrap_err();
        assert_eq!(err.kind, RouteErrorKind::Duplicate, "{dup}");
    }
    router.add("/unit/:id/*", 3).unwrap();
    assert_eq!(
        router.add("/unit/:x/*", 4).unwrap_err().kind,
        RouteErrorKind::Duplicate
    );
    assert!(router.add("/bad//", 5).is_err());
    assert_eq!(router.len(), 2);
    assert!(!router.is_empty());
    assert!(Router::<u8>::default().is_empty());
}

/// Percent-encodes every byte outside the unreserved set.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// A node URI built from a pattern with any (non-empty) parameter values, encoded, matches
    /// and binds exactly those values.
    #[test]
    fn encoded_parameters_bind_back_to_their_values(
        values in proptest::collection::vec("\\PC{1,12}", 1..4),
        literal in "[a-z]{1,6}",
    ) {
        let mut pattern = format!("/{literal}");
        let mut node = format!("/{literal}");
        for (i, v) in values.iter().enumerate() {
            pattern.push_str(&format!("/:p{i}"));
            node.push('/');
            node.push_str(&encode(v));
        }
        let p = RoutePattern::parse(&pattern).unwrap();
        let params = p.matches(&node).unwrap();
        for (i, v) in values.iter().enumerate() {
            let name = format!("p{i}");
            prop_assert_eq!(params.get(&name), Some(v.as_str()));
        }
        // One segment more or less never matches.
        let longer = format!("{node}/x");
        prop_assert!(p.matches(&longer).is_none());
        let shorter = node.rsplit_once('/').map(|(a, _)| a).unwrap_or("");
        prop_assert!(p.matches(shorter).is_none());
    }

    /// Matching never panics, whatever the node URI.
    #[test]
    fn matching_any_text_never_panics(node in "\\PC{0,40}") {
        for pattern in ["/unit/:id", "/files/*", "/a%20b/:x/*", "/:a/:b"] {
            let _ = RoutePattern::parse(pattern).unwrap().matches(&node);
        }
    }

    /// Parsing any text never panics.
    #[test]
    fn parsing_any_pattern_never_panics(pattern in "[/:*%a-f0-9]{0,20}") {
        let _ = RoutePattern::parse(&pattern);
    }
}
