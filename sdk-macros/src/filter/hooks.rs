//! The hooks a `#[filter]` function (or method) can be, and what each can give.

/// A parameter kind a hook can provide.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Provides {
    /// `&mut Headers` / `&Headers`: the header map (or trailers) of the phase.
    Headers,
    /// `&mut Body` / `&Body` (HTTP) or `&mut Data` (TCP): the bytes of the phase.
    Body,
    /// `EndOfStream`.
    EndOfStream,
    /// `&mut Stream`: callouts, other maps, resume.
    Stream,
}

/// Which filter trait a hook belongs to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Http,
    Tcp,
}

/// One hook.
pub(crate) struct Hook {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) provides: &'static [Provides],
    /// Whether the hook decides what happens next (else it must return `()`).
    pub(crate) acts: bool,
}

use Provides::{Body as B, EndOfStream as E, Headers as H, Stream as S};

pub(crate) const HOOKS: &[Hook] = &[
    Hook {
        name: "on_request_headers",
        kind: Kind::Http,
        provides: &[H, E, S],
        acts: true,
    },
    Hook {
        name: "on_request_body",
        kind: Kind::Http,
        provides: &[B, H, E, S],
        acts: true,
    },
    Hook {
        name: "on_request_trailers",
        kind: Kind::Http,
        provides: &[H, S],
        acts: true,
    },
    Hook {
        name: "on_response_headers",
        kind: Kind::Http,
        provides: &[H, E, S],
        acts: true,
    },
    Hook {
        name: "on_response_body",
        kind: Kind::Http,
        provides: &[B, H, E, S],
        acts: true,
    },
    Hook {
        name: "on_response_trailers",
        kind: Kind::Http,
        provides: &[H, S],
        acts: true,
    },
    Hook {
        name: "on_log",
        kind: Kind::Http,
        provides: &[S],
        acts: false,
    },
    Hook {
        name: "on_done",
        kind: Kind::Http,
        provides: &[S],
        acts: false,
    },
    Hook {
        name: "on_new_connection",
        kind: Kind::Tcp,
        provides: &[],
        acts: true,
    },
    Hook {
        name: "on_downstream_data",
        kind: Kind::Tcp,
        provides: &[B, E],
        acts: true,
    },
    Hook {
        name: "on_upstream_data",
        kind: Kind::Tcp,
        provides: &[B, E],
        acts: true,
    },
    Hook {
        name: "on_downstream_close",
        kind: Kind::Tcp,
        provides: &[],
        acts: false,
    },
    Hook {
        name: "on_upstream_close",
        kind: Kind::Tcp,
        provides: &[],
        acts: false,
    },
    // The TCP `on_log` and `on_done`: a filter with a TCP-only hook gets these.
    Hook {
        name: "on_log",
        kind: Kind::Tcp,
        provides: &[],
        acts: false,
    },
    Hook {
        name: "on_done",
        kind: Kind::Tcp,
        provides: &[],
        acts: false,
    },
];

/// SDK types that are hook parameters (never a config or plugin type), and what they are.
pub(crate) fn sdk_param(name: &str) -> Option<Provides> {
    Some(match name {
        "Headers" | "Trailers" => Provides::Headers,
        "Body" | "Data" => Provides::Body,
        "EndOfStream" => Provides::EndOfStream,
        "Stream" => Provides::Stream,
        _ => return None,
    })
}

pub(crate) fn describe(provides: Provides, kind: Kind) -> &'static str {
    match (provides, kind) {
        (Provides::Headers, _) => "`&mut Headers`",
        (Provides::Body, Kind::Http) => "`&mut Body`",
        (Provides::Body, Kind::Tcp) => "`&mut Data`",
        (Provides::EndOfStream, _) => "`EndOfStream`",
        (Provides::Stream, _) => "`&mut Stream`",
    }
}

/// The hook named `name` (the HTTP one of `on_log` and `on_done`).
pub(crate) fn find(name: &str) -> Option<&'static Hook> {
    HOOKS.iter().find(|hook| hook.name == name)
}

/// The hook named `name` of a filter of `kind`, or of the other kind if it has none.
pub(crate) fn find_for(name: &str, kind: Kind) -> Option<&'static Hook> {
    HOOKS
        .iter()
        .find(|hook| hook.name == name && hook.kind == kind)
        .or_else(|| find(name))
}

/// The known hook closest to `name`, if it is close enough to be a typo.
pub(crate) fn did_you_mean(name: &str) -> Option<&'static str> {
    HOOKS
        .iter()
        .map(|hook| (edit_distance(name, hook.name), hook.name))
        .filter(|(distance, _)| *distance <= 3.max(name.len() / 4))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, hook)| hook)
}

/// Whether a method name in a `#[filter] impl` is so close to a hook that it is surely a
/// misspelling of one (helper methods with other names are left alone).
pub(crate) fn near_miss(name: &str) -> Option<&'static str> {
    if !name.starts_with("on_") {
        return None;
    }
    HOOKS
        .iter()
        .map(|hook| (edit_distance(name, hook.name), hook.name))
        .filter(|(distance, _)| *distance > 0 && *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, hook)| hook)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_the_hook() {
        assert_eq!(
            did_you_mean("on_respons_headers"),
            Some("on_response_headers")
        );
        assert_eq!(
            did_you_mean("on_request_header"),
            Some("on_request_headers")
        );
        assert_eq!(did_you_mean("main"), None);
        assert_eq!(near_miss("on_reqest_body"), Some("on_request_body"));
        assert_eq!(near_miss("on_request_body"), None);
        assert_eq!(near_miss("helper"), None);
    }
}
