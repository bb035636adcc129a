//! Workspace-level tests live in `tests/`. The library itself holds only the guide's pages
//! (`book/src`), included so that rustdoc tests their Rust snippets against the crates they
//! document, as PyO3 does with its guide: `cargo test --doc -p proxylet-tests`. They live in
//! this crate, which is never published, because a published crate cannot reach files
//! outside its own directory. Snippets the book `{{#include}}`s from the examples are
//! marked `rust,ignore` there: their own crates compile and test them.

#[cfg(doctest)]
macro_rules! pages {
    ($($page:ident = $path:literal;)*) => {$(
        #[doc = include_str!(concat!("../../book/src/", $path))]
        mod $page {}
    )*};
}

#[cfg(doctest)]
pages! {
    introduction = "introduction.md";
    getting_started = "getting-started.md";
    concepts_model = "concepts/model.md";
    concepts_targets = "concepts/targets.md";
    concepts_filter = "concepts/filter.md";
    concepts_config = "concepts/config.md";
    concepts_errors = "concepts/errors.md";
    concepts_security = "concepts/security.md";
    capabilities_headers = "capabilities/headers.md";
    capabilities_bodies = "capabilities/bodies.md";
    capabilities_local_replies = "capabilities/local-replies.md";
    capabilities_callouts = "capabilities/callouts.md";
    capabilities_async = "capabilities/async.md";
    capabilities_grpc = "capabilities/grpc.md";
    capabilities_metrics = "capabilities/metrics.md";
    capabilities_shared_data = "capabilities/shared-data.md";
    capabilities_timers = "capabilities/timers.md";
    capabilities_properties = "capabilities/properties.md";
    capabilities_host = "capabilities/host.md";
    capabilities_tcp = "capabilities/tcp.md";
    capabilities_several_filters = "capabilities/several-filters.md";
    testing_test_host = "testing/test-host.md";
    testing_envoy = "testing/envoy.md";
    shipping_images = "shipping/images.md";
    shipping_istio = "shipping/istio.md";
    shipping_envoy_gateway = "shipping/envoy-gateway.md";
    shipping_envoy = "shipping/envoy.md";
    shipping_failure_policy = "shipping/failure-policy.md";
    cookbook_index = "cookbook/index.md";
    cookbook_add_header = "cookbook/add-header.md";
    cookbook_canary_routing = "cookbook/canary-routing.md";
    cookbook_circuit_breaker = "cookbook/circuit-breaker.md";
    cookbook_rate_limit = "cookbook/rate-limit.md";
    cookbook_auth = "cookbook/auth.md";
    cookbook_token_exchange = "cookbook/token-exchange.md";
    cookbook_body_transform = "cookbook/body-transform.md";
    cookbook_metrics = "cookbook/metrics.md";
    cookbook_tcp_guard = "cookbook/tcp-guard.md";
    performance = "performance.md";
    migrating_rust_sdk = "migrating/rust-sdk.md";
    migrating_wasme = "migrating/wasme.md";
    reference_hooks = "reference/hooks.md";
    reference_api = "reference/api.md";
    reference_filter_attributes = "reference/filter-attributes.md";
    cli_overview = "cli/overview.md";
    cli_new = "cli/new.md";
    cli_build = "cli/build.md";
    cli_list = "cli/list.md";
    cli_push = "cli/push.md";
    cli_pull = "cli/pull.md";
    cli_run = "cli/run.md";
    cli_deploy = "cli/deploy.md";
    cli_check = "cli/check.md";
    testing_artifact = "testing/artifact.md";
}

#[cfg(test)]
mod tests {
    /// Every page of the book is in `pages!` above, so none escapes rustdoc.
    #[test]
    fn every_book_page_is_doctested() {
        fn pages(dir: &std::path::Path, base: &std::path::Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    pages(&path, base, found);
                } else if path.extension().is_some_and(|e| e == "md") {
                    let relative = path.strip_prefix(base).unwrap().to_string_lossy();
                    found.push(relative.replace('\\', "/"));
                }
            }
        }
        let book = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src");
        let mut found = Vec::new();
        pages(&book, &book, &mut found);
        let listed = include_str!("lib.rs");
        let missing: Vec<&String> = found
            .iter()
            .filter(|page| page.as_str() != "SUMMARY.md")
            .filter(|page| !listed.contains(&format!(" = \"{page}\";")))
            .collect();
        assert!(
            missing.is_empty(),
            "book pages not in `pages!` of tests/src/lib.rs (add them): {missing:?}"
        );
    }
}
