//! Any bytes as plugin configuration, for every example with a JSON config: the plugin
//! starts or refuses with an error naming `config`; nothing crashes.
//! Run: `cargo +nightly fuzz run config -- -max_total_time=60`
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxylet::testing::{Host, Registration};

const MODULES: &[(&[Registration], &str)] = &[
    (add_header::__PROXYLET_FILTERS, "add_header"),
    (auth::__PROXYLET_FILTERS, "auth"),
    (body_transform::__PROXYLET_FILTERS, "body_transform"),
    (rate_limit::__PROXYLET_FILTERS, "rate_limit"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, config)) = data.split_first() else { return };
    let (filters, root_id) = MODULES[selector as usize % MODULES.len()];
    let host = Host::native(filters);
    if let Err(rejected) = host.plugin(root_id).config(config.to_vec()).start() {
        let prefix = format!("{root_id}: config");
        assert!(rejected.errors.iter().any(|e| e.starts_with(&prefix)), "{rejected}");
    }
});
