// Async hooks: every parameter an HTTP hook that decides can take, and every return form.
use proxylet::prelude::*;
use std::time::Duration;

#[derive(Deserialize, Default)]
struct Config {
    cluster: String,
}

#[proxylet::filter(root_id = "ask", export = false)]
async fn on_request_headers(
    headers: &mut Headers,
    end: EndOfStream,
    config: &Config,
    // Written as in a plain hook: `#[filter]` adds the `'_` an `async fn` needs.
    stream: &mut Stream,
) -> Result<Action, HeaderError> {
    let _ = end;
    let check = HttpCall::get("/check").forward(headers, &["authorization"]);
    let answer = stream.call(&config.cluster, check, Duration::from_millis(100)).await;
    stream.sleep(Duration::from_millis(10)).await;
    headers.try_set("x-status", answer.map_or(0, |a| a.status()).to_string())?;
    Ok(Action::Continue)
}

#[proxylet::filter(root_id = "unit", export = false)]
async fn on_response_headers(headers: &mut Headers) {
    headers.set("x-async", "yes");
}

#[proxylet::filter(root_id = "trailers", export = false)]
async fn on_request_trailers(trailers: &Headers) -> Action {
    if trailers.get("x-stop").is_some() {
        Action::reply(400, "stop\n")
    } else {
        Action::Continue
    }
}

use proxylet::http::HeaderError;

fn main() {}
