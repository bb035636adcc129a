//! Any bytes as plugin configuration, for every example with a JSON config, in its built
//! `.wasm` module: the plugin starts or refuses with an error naming `config`; nothing
//! traps.
//! Run: `cargo +nightly fuzz run config -- -max_total_time=60`
#![no_main]

use libfuzzer_sys::fuzz_target;

/// (package, root id)
const MODULES: [(&str, &str); 5] = [
    ("add-header", "add_header"),
    ("auth", "auth"),
    ("body-transform", "body_transform"),
    ("rate-limit", "rate_limit"),
    ("token-exchange", "token_exchange"),
];

fuzz_target!(
    init: proxylet_fuzz::prepare(&MODULES.map(|(package, _)| package)),
    |data: &[u8]| {
        let Some((&selector, config)) = data.split_first() else {
            return;
        };
        let (package, root_id) = MODULES[selector as usize % MODULES.len()];
        let host = proxylet_fuzz::host(package);
        if let Err(rejected) = host.plugin(root_id).config(config.to_vec()).start() {
            let prefix = format!("{root_id}: config");
            assert!(
                !rejected.errors.iter().any(|e| e.starts_with("trap:")),
                "{rejected}"
            );
            assert!(
                rejected.errors.iter().any(|e| e.starts_with(&prefix)),
                "{rejected}"
            );
        }
    }
);
