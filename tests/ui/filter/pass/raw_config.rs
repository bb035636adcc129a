// Configurations that are not JSON: the text as is (`String`), the bytes as they are
// (`Vec<u8>`), also as a plugin's `Config`.
use proxylet::prelude::*;

mod text {
    use proxylet::prelude::*;

    #[proxylet::filter(root_id = "text", export = false)]
    pub fn on_request_headers(headers: &mut Headers, config: &String) {
        headers.set("x-config", config.as_str());
    }
}

mod bytes {
    use proxylet::prelude::*;

    #[proxylet::filter(root_id = "bytes", export = false)]
    pub fn on_response_headers(headers: &mut Headers, config: &Vec<u8>) {
        headers.set("x-config-len", config.len().to_string());
    }
}

struct Banner(String);

impl Plugin for Banner {
    type Config = String;
    fn new(config: &String, _: &mut PluginCx<'_>) -> Result<Self, ConfigError> {
        Ok(Banner(config.trim().to_owned()))
    }
}

#[proxylet::filter(root_id = "banner", plugin = Banner, export = false)]
fn on_response_headers(headers: &mut Headers, banner: &Banner) {
    headers.set("x-banner", banner.0.as_str());
}

proxylet::main!(text::on_request_headers, bytes::on_response_headers, on_response_headers);

fn main() {
    use proxylet::config::ConfigFormat;
    use proxylet::Filter;
    assert_eq!(<text::on_request_headers as Filter>::CONFIG_FORMAT, ConfigFormat::Text);
    assert_eq!(<bytes::on_response_headers as Filter>::CONFIG_FORMAT, ConfigFormat::Bytes);
    assert_eq!(<on_response_headers as Filter>::CONFIG_FORMAT, ConfigFormat::Text);
    assert!(<text::on_request_headers as Filter>::CONFIG_SCHEMA.is_none());
    assert!(<bytes::on_response_headers as Filter>::CONFIG_SCHEMA.is_none());
    assert_eq!(
        <text::on_request_headers as Filter>::configure(b"\xff").unwrap_err().path(),
        "config"
    );
    assert_eq!(<bytes::on_response_headers as Filter>::configure(b"\xff").unwrap(), b"\xff");
}
