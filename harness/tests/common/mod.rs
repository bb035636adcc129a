//! Shared by the harness's integration tests.

#![allow(dead_code)] // Each test file uses a different part.

use std::path::{Path, PathBuf};

/// The Envoy binary the tests use: `PROXYLET_ENVOY`, or Envoy installed into
/// `target/tools` on first use.
pub fn envoy_binary() -> PathBuf {
    match proxylet_harness::ensure_envoy(&proxylet_harness::default_cache_dir()) {
        Ok(path) => path,
        Err(e) => panic!("{e}"),
    }
}

/// A hand-assembled proxy-wasm (ABI 0.2.1) module, so the harness tests a real Wasm filter
/// without building one: it adds the response header `x-wasm: yes`, and its
/// `proxy_on_configure` succeeds only when the plugin configuration is not 3 bytes long
/// (so a configuration `bad` makes Envoy refuse the filter).
///
/// The same module works as a network filter (it exports no network callbacks, so data
/// passes through).
pub fn add_header_wasm() -> Vec<u8> {
    const I32: u8 = 0x7f;
    let func_type = |params: &[u8], results: &[u8]| {
        let mut t = vec![0x60];
        t.extend(vec_of(params.iter().map(|&p| vec![p])));
        t.extend(vec_of(results.iter().map(|&r| vec![r])));
        t
    };
    let types = vec_of([
        func_type(&[], &[]),                           // 0: abi version marker
        func_type(&[I32], &[I32]),                     // 1: on_memory_allocate
        func_type(&[I32, I32], &[I32]),                // 2: on_vm_start, on_configure
        func_type(&[I32, I32], &[]),                   // 3: on_context_create
        func_type(&[I32, I32, I32], &[I32]),           // 4: on_response_headers
        func_type(&[I32, I32, I32, I32, I32], &[I32]), // 5: proxy_add_header_map_value
    ]);
    let imports = vec_of([[
        name("env"),
        name("proxy_add_header_map_value"),
        vec![0x00, 5],
    ]
    .concat()]);
    // Function 0 is the import; the module's own functions are 1..=6.
    let functions = vec_of([0u8, 1, 2, 2, 3, 4].map(|t| vec![t]));
    let memory = vec_of([vec![0x00, 2]]); // min 2 pages, no max
    let exports = vec_of([
        [name("memory"), vec![0x02, 0]].concat(),
        [name("proxy_abi_version_0_2_1"), vec![0x00, 1]].concat(),
        [name("proxy_on_memory_allocate"), vec![0x00, 2]].concat(),
        [name("proxy_on_vm_start"), vec![0x00, 3]].concat(),
        [name("proxy_on_configure"), vec![0x00, 4]].concat(),
        [name("proxy_on_context_create"), vec![0x00, 5]].concat(),
        [name("proxy_on_response_headers"), vec![0x00, 6]].concat(),
    ]);
    const END: u8 = 0x0b;
    const I32_CONST: u8 = 0x41;
    const LOCAL_GET: u8 = 0x20;
    const CALL: u8 = 0x10;
    const DROP: u8 = 0x1a;
    const I32_NE: u8 = 0x47;
    let code = vec_of(
        [
            vec![END],                                     // abi version: nothing
            vec![I32_CONST, 0x80, 0x80, 0x04, END],        // allocate: 65536 (page 2)
            vec![I32_CONST, 1, END],                       // vm_start: true
            vec![LOCAL_GET, 1, I32_CONST, 3, I32_NE, END], // configure: size != 3
            vec![END],                                     // context_create: nothing
            [
                // proxy_add_header_map_value(ResponseHeaders = 2, "x-wasm", "yes")
                vec![I32_CONST, 2, I32_CONST, 0, I32_CONST, 6],
                vec![I32_CONST, 8, I32_CONST, 3, CALL, 0, DROP],
                vec![I32_CONST, 0, END], // Continue
            ]
            .concat(),
        ]
        .map(|body| {
            let body = [vec![0x00], body].concat(); // no locals
            [uleb(body.len()), body].concat()
        }),
    );
    let data = vec_of([[
        vec![0x00, I32_CONST, 0, END],
        vec_of(b"x-wasm\0\0yes".map(|b| vec![b])),
    ]
    .concat()]);
    let mut module = b"\0asm\x01\0\0\0".to_vec();
    for (id, content) in [
        (1u8, types),
        (2, imports),
        (3, functions),
        (5, memory),
        (7, exports),
        (10, code),
        (11, data),
    ] {
        module.push(id);
        module.extend(uleb(content.len()));
        module.extend(content);
    }
    module
}

/// Writes [`add_header_wasm`] to `dir/add_header.wasm` and returns the path.
pub fn write_add_header_wasm(dir: &Path) -> PathBuf {
    let path = dir.join("add_header.wasm");
    if let Err(e) = std::fs::write(&path, add_header_wasm()) {
        panic!("cannot write {}: {e}", path.display());
    }
    path
}

/// A fresh directory for a test's files, removed when dropped (even by a failing test).
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    /// Creates `proxylet-harness-test-NAME-PID` in the system's temporary directory.
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "proxylet-harness-test-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("cannot create {}: {e}", dir.display());
        }
        ScratchDir(dir)
    }

    /// Takes charge of removing an existing directory `path`.
    pub fn adopt(path: PathBuf) -> Self {
        ScratchDir(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn uleb(mut n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

fn name(s: &str) -> Vec<u8> {
    [uleb(s.len()), s.as_bytes().to_vec()].concat()
}

fn vec_of(items: impl IntoIterator<Item = Vec<u8>>) -> Vec<u8> {
    let items: Vec<Vec<u8>> = items.into_iter().collect();
    [uleb(items.len()), items.concat()].concat()
}
