// Each supported return type, in filters listed together with `proxylet::main!`.
use proxylet::prelude::*;

mod unit {
    use proxylet::prelude::*;
    #[proxylet::filter(root_id = "unit", export = false)]
    pub fn on_request_headers(_headers: &Headers) {}
}

mod action {
    use proxylet::prelude::*;
    #[proxylet::filter(root_id = "action", export = false)]
    pub fn on_request_headers(headers: &mut Headers, end: EndOfStream) -> Action {
        if end.0 && headers.contains("x-deny") {
            Action::reply(403, "denied\n")
        } else {
            Action::Continue
        }
    }
}

mod result {
    use proxylet::prelude::*;
    #[proxylet::filter(root_id = "result", export = false)]
    pub fn on_response_headers(headers: &mut Headers) -> Result<Action, String> {
        let value = headers.get("x-n").ok_or("missing x-n")?;
        let text = value.to_str().map_err(|e| e.to_string())?;
        headers.set("x-n-seen", text);
        Ok(Action::Continue)
    }
}

mod response {
    use proxylet::prelude::*;
    #[proxylet::filter(root_id = "response", export = false)]
    pub fn on_request_headers() -> Result<Response, std::fmt::Error> {
        Ok(Response::new(204))
    }
}

proxylet::main!(
    unit::on_request_headers,
    action::on_request_headers,
    result::on_response_headers,
    response::on_request_headers,
);

fn main() {
    let _ = Headers::request;
}
