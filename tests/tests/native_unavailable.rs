//! What Envoy's dynamic modules ABI lacks is a compile error on the native target, naming
//! the capability, never a runtime surprise: gRPC calls and streams, shared queues,
//! foreign functions, writing properties, callouts from plugin context and stream
//! handles, and what async hooks would await of those.

use proxylet_artifact::build::{workspace_root, CargoBuild};

/// Builds `package` natively and returns cargo's error output (the build must fail).
fn native_build_errors(package: &str) -> String {
    let root = workspace_root(env!("CARGO_MANIFEST_DIR").as_ref()).unwrap();
    let result = CargoBuild::new(&root, package, root.join("target/native"))
        .native()
        .run();
    match result {
        Ok(module) => panic!("{package} built natively: {}", module.display()),
        Err(error) => error.to_string(),
    }
}

#[test]
fn every_capability_the_abi_lacks_is_a_compile_error_naming_it() {
    let errors = native_build_errors("capabilities");
    for named in [
        "no method named `grpc_call`",
        "no method named `grpc_stream`",
        "no method named `call_grpc`",
        "no method named `grpc_events`",
        "no method named `recv` found for struct `proxylet::shared::Queue`",
        "no method named `register_queue`",
        "no method named `handle` found for mutable reference `&mut proxylet::http::Stream<'_>`",
        "unresolved import `proxylet::http::StreamHandle`",
        "no method named `http_call` found for mutable reference `&mut proxylet::PluginCx<'_>`",
        "no function or associated item named `resolve` found for struct `proxylet::shared::Queue`",
        "unresolved import `proxylet::call::call_foreign_function`",
        "cannot find function `set` in module `property`",
    ] {
        assert!(errors.contains(named), "`{named}` is not named:\n{errors}");
    }
}
