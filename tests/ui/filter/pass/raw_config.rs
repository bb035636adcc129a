// Configurations that are not JSON: the text as is (`&str`, or `&String`: a `String`
// config), the bytes as they are (`&[u8]`, or `&Vec<u8>`), also as a plugin's `Config`.
use proxylet::prelude::*;

mod text {
    use proxylet::prelude::*;

    #[proxylet::filter(root_id = "text", export = false)]
    pub fn on_request_headers(headers: &mut Headers, config: &str) {
        headers.set("x-config", config);
    }

    // The owned form, in another hook of the same filter: the same config type.
    #[proxylet::filter(root_id = "text_owned", export = false)]
    pub fn on_response_headers(headers: &mut Headers, config: &String) {
        headers.set("x-config", config.as_str());
    }
}

mod bytes {
    use proxylet::prelude::*;

    #[derive(Default)]
    pub struct Sized;

    #[proxylet::filter(root_id = "bytes", export = false)]
    impl Sized {
        fn on_request_headers(&mut self, config: &[u8]) {
            let _ = config.len();
        }

        fn on_response_headers(&mut self, headers: &mut Headers, config: &Vec<u8>) {
            headers.set("x-config-len", config.len().to_string());
        }
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

proxylet::main!(
    text::on_request_headers,
    text::on_response_headers,
    bytes::Sized,
    on_response_headers
);

fn main() {
    use proxylet::config::ConfigFormat;
    use proxylet::Filter;
    assert_eq!(<text::on_request_headers as Filter>::CONFIG_FORMAT, ConfigFormat::Text);
    assert_eq!(<text::on_response_headers as Filter>::CONFIG_FORMAT, ConfigFormat::Text);
    assert_eq!(<bytes::Sized as Filter>::CONFIG_FORMAT, ConfigFormat::Bytes);
    assert_eq!(<on_response_headers as Filter>::CONFIG_FORMAT, ConfigFormat::Text);
    assert!(<text::on_request_headers as Filter>::CONFIG_SCHEMA.is_none());
    assert!(<bytes::Sized as Filter>::CONFIG_SCHEMA.is_none());
    let text: String = <text::on_request_headers as Filter>::configure(b" a ").unwrap();
    assert_eq!(text, " a ");
    assert_eq!(
        <text::on_request_headers as Filter>::configure(b"\xff").unwrap_err().path(),
        "config"
    );
    let bytes: Vec<u8> = <bytes::Sized as Filter>::configure(b"\xff").unwrap();
    assert_eq!(bytes, b"\xff");
}
