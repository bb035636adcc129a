//! What a hook tells the host to do next.

use std::fmt::Display;

/// What the stream does after a hook.
///
/// A hook returning `()` continues. Return an `Action` to pause or to answer in place of
/// the upstream:
///
/// ```
/// use proxylet::http::Response;
/// use proxylet::Action;
///
/// fn check(authorized: bool) -> Action {
///     if authorized {
///         Action::Continue
///     } else {
///         Action::Reply(Response::new(401).header("www-authenticate", "Bearer").body("no token\n"))
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Action {
    /// Hand the stream to the next filter.
    Continue,
    /// Hold the stream in this filter until it is resumed.
    Pause,
    /// Answer the downstream with this response instead; the upstream never sees the
    /// request (or, in a response phase, its response is replaced). In a TCP filter,
    /// closes the connection.
    Reply(Response),
    /// Reset the HTTP stream (the downstream gets no response) or close the TCP
    /// connection.
    Close,
}

impl Action {
    /// Shorthand for `Action::Reply(Response::new(status).body(body))`.
    pub fn reply(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Action::Reply(Response::new(status).body(body))
    }
}

/// A local reply: a response the filter sends itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    pub(crate) body: Vec<u8>,
    pub(crate) grpc_status: Option<i32>,
    pub(crate) details: String,
}

impl Response {
    /// A response with this HTTP status and no body.
    ///
    /// The status must be in `200..=599`: a `1xx` is not a final response and nothing
    /// else is HTTP. A reply with another status is not sent as is: the filter error
    /// ([`Response::filter_error`], `500`) goes out instead and the problem is logged at
    /// error level, as for a hook's `Err`.
    pub fn new(status: u16) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            grpc_status: None,
            details: String::new(),
        }
    }

    /// Adds a header.
    ///
    /// Checked when the reply is sent, as [`Headers::try_append`](crate::http::Headers::try_append)
    /// checks: the name must be a token, the value must hold no control byte but tab (no
    /// CR, LF, NUL, DEL), and neither a pseudo-header (the status is [`Response::new`]'s)
    /// nor a framing header (`content-length`, `transfer-encoding`, `connection`...: the
    /// host frames the reply) may be given. A reply with such a header is not sent as is:
    /// the filter error ([`Response::filter_error`], `500`) goes out instead and the
    /// problem is logged at error level, so a header built from request data can never
    /// split the response.
    pub fn header(mut self, name: impl Into<String>, value: impl AsRef<[u8]>) -> Self {
        self.headers.push((name.into(), value.as_ref().to_vec()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Answers a gRPC request with this `grpc-status` code (0 = OK, 7 = PERMISSION_DENIED...).
    pub fn grpc_status(mut self, code: i32) -> Self {
        self.grpc_status = Some(code);
        self
    }

    /// The reason Envoy records in its access log (`%RESPONSE_CODE_DETAILS%`), e.g.
    /// `auth_denied`. Envoy wants no whitespace there: every byte that is not visible
    /// ASCII (spaces, CR, LF, other controls, non-ASCII) is sent as `_`.
    pub fn details(mut self, details: impl Into<String>) -> Self {
        self.details = details.into();
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The headers added so far.
    pub fn headers(&self) -> &[(String, Vec<u8>)] {
        &self.headers
    }

    /// The body.
    pub fn body_bytes(&self) -> &[u8] {
        &self.body
    }

    /// Why this reply cannot be sent as is: a status outside `200..=599`, or a header
    /// that is not valid in a local reply.
    pub(crate) fn check(&self) -> Result<(), crate::http::HeaderError> {
        if !(200..=599).contains(&self.status) {
            return Err(crate::http::HeaderError::InvalidValue {
                name: ":status".into(),
                reason: "a local reply's status is in 200..=599",
            });
        }
        crate::http::headers::check_pairs(
            "a local reply has no pseudo-headers (its status is `Response::new`'s)",
            self.headers
                .iter()
                .map(|(n, v)| (n.as_bytes(), v.as_slice())),
        )
    }

    /// [`Response::details`] as sent: bytes that are not visible ASCII become `_`.
    pub(crate) fn details_for_host(&self) -> std::borrow::Cow<'_, [u8]> {
        let details = self.details.as_bytes();
        if details.iter().all(u8::is_ascii_graphic) {
            std::borrow::Cow::Borrowed(details)
        } else {
            std::borrow::Cow::Owned(
                details
                    .iter()
                    .map(|b| if b.is_ascii_graphic() { *b } else { b'_' })
                    .collect(),
            )
        }
    }

    /// The answer proxylet gives when a hook returns `Err`: `500`, body
    /// `filter error\n`, details `proxylet_filter_error`. The error itself is logged, never
    /// sent to the client.
    pub fn filter_error() -> Self {
        Response::new(500)
            .header("content-type", "text/plain")
            .body("filter error\n")
            .details("proxylet_filter_error")
    }
}

/// What a hook may return: `()`, [`Action`], [`Response`], or a `Result` of one of those
/// whose error implements [`Display`].
///
/// An `Err` is logged at error level with the filter's root id and answered with
/// [`Response::filter_error`]; it never traps the VM.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a return type a filter hook can have",
    label = "unsupported return type",
    note = "a hook returns `()`, `proxylet::Action`, `proxylet::http::Response`, or `Result<T, E>` where `T` is one of those and `E: std::fmt::Display`"
)]
pub trait HookOutput {
    /// Turns the value into an action, or the text of the error to log.
    fn into_action(self) -> Result<Action, String>;
}

impl HookOutput for () {
    fn into_action(self) -> Result<Action, String> {
        Ok(Action::Continue)
    }
}

impl HookOutput for Action {
    fn into_action(self) -> Result<Action, String> {
        Ok(self)
    }
}

impl HookOutput for Response {
    fn into_action(self) -> Result<Action, String> {
        Ok(Action::Reply(self))
    }
}

impl<T: HookOutput, E: Display> HookOutput for Result<T, E> {
    fn into_action(self) -> Result<Action, String> {
        match self {
            Ok(value) => value.into_action(),
            Err(error) => Err(error.to_string()),
        }
    }
}

/// Whether the host has no more data for this direction of the stream after this hook
/// (e.g. a request with headers only). A hook takes it by value and can match it in place:
/// `EndOfStream(end): EndOfStream`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EndOfStream(pub bool);
