//! The hooks a `#[filter]` function can be, and what each can give its parameters.

/// A parameter kind a hook can provide.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Provides {
    /// `&mut Headers` / `&Headers`: the header map of the phase.
    Headers,
    /// `EndOfStream`.
    EndOfStream,
}

/// One hook.
pub(crate) struct Hook {
    pub(crate) name: &'static str,
    /// The `HttpFilter` method it becomes.
    pub(crate) method: &'static str,
    pub(crate) provides: &'static [Provides],
}

pub(crate) const HOOKS: &[Hook] = &[
    Hook {
        name: "on_request_headers",
        method: "on_request_headers",
        provides: &[Provides::Headers, Provides::EndOfStream],
    },
    Hook {
        name: "on_response_headers",
        method: "on_response_headers",
        provides: &[Provides::Headers, Provides::EndOfStream],
    },
];

/// SDK types that are hook parameters in some hook (never a config type).
pub(crate) const SDK_PARAM_TYPES: &[&str] = &["Headers", "EndOfStream", "Body", "Trailers"];

pub(crate) fn find(name: &str) -> Option<&'static Hook> {
    HOOKS.iter().find(|hook| hook.name == name)
}

/// The known hook closest to `name`, if it is close enough to be a typo.
pub(crate) fn did_you_mean(name: &str) -> Option<&'static str> {
    HOOKS
        .iter()
        .map(|hook| (edit_distance(name, hook.name), hook.name))
        .filter(|(distance, _)| *distance <= 3.max(name.len() / 3))
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
    }
}
