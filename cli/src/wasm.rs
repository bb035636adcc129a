//! The import and export sections of a module, read with
//! [`proxylet_artifact::sections`] (no full wasm parser needed for an ABI report).

use proxylet_artifact::{leb_u32, sections};

use crate::{err, Result};

/// What kind of thing is imported or exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A function.
    Func,
    /// A table.
    Table,
    /// A memory.
    Memory,
    /// A global.
    Global,
    /// An exception tag.
    Tag,
}

impl Kind {
    fn from_byte(byte: u8) -> Result<Kind> {
        Ok(match byte {
            0 => Kind::Func,
            1 => Kind::Table,
            2 => Kind::Memory,
            3 => Kind::Global,
            4 => Kind::Tag,
            other => return Err(err!("malformed module: unknown import/export kind {other}")),
        })
    }

    /// `func`, `table`, `memory`, `global` or `tag`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Func => "func",
            Kind::Table => "table",
            Kind::Memory => "memory",
            Kind::Global => "global",
            Kind::Tag => "tag",
        }
    }
}

/// One import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// The module it is imported from, e.g. `env`.
    pub module: String,
    /// The name, e.g. `proxy_log`.
    pub name: String,
    /// Its kind.
    pub kind: Kind,
}

/// One export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// The name, e.g. `proxy_on_request_headers`.
    pub name: String,
    /// Its kind.
    pub kind: Kind,
}

/// The imports and exports of `wasm`.
pub fn imports_and_exports(wasm: &[u8]) -> Result<(Vec<Import>, Vec<Export>)> {
    let sections = sections(wasm).map_err(|e| err!("{e}"))?;
    let mut imports = Vec::new();
    let mut exports = Vec::new();
    for section in sections {
        match section.id {
            2 => imports = parse_imports(section.data)?,
            7 => exports = parse_exports(section.data)?,
            _ => {}
        }
    }
    Ok((imports, exports))
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn u32(&mut self) -> Result<u32> {
        leb_u32(self.bytes, &mut self.at).map_err(|e| err!("{e}"))
    }

    /// Skips an unsigned or signed LEB128 of up to 64 bits.
    fn skip_leb(&mut self) -> Result<()> {
        for _ in 0..10 {
            let byte = self.byte()?;
            if byte & 0x80 == 0 {
                return Ok(());
            }
        }
        Err(err!("malformed module: LEB128 too long"))
    }

    fn byte(&mut self) -> Result<u8> {
        let byte = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| err!("malformed module: a section is cut short"))?;
        self.at += 1;
        Ok(byte)
    }

    fn name(&mut self) -> Result<String> {
        let len = self.u32()? as usize;
        let end = self
            .at
            .checked_add(len)
            .ok_or_else(|| err!("malformed module: name length"))?;
        let bytes = self
            .bytes
            .get(self.at..end)
            .ok_or_else(|| err!("malformed module: a name runs past its section"))?;
        self.at = end;
        String::from_utf8(bytes.to_vec()).map_err(|_| err!("malformed module: a name is not UTF-8"))
    }

    fn limits(&mut self) -> Result<()> {
        let flags = self.byte()?;
        self.skip_leb()?;
        if flags & 1 != 0 {
            self.skip_leb()?;
        }
        Ok(())
    }

    fn value_type(&mut self) -> Result<()> {
        match self.byte()? {
            // (ref null? heaptype): the heap type is a signed LEB128.
            0x63 | 0x64 => self.skip_leb(),
            _ => Ok(()),
        }
    }
}

fn parse_imports(data: &[u8]) -> Result<Vec<Import>> {
    let mut reader = Reader { bytes: data, at: 0 };
    let count = reader.u32()?;
    let mut imports = Vec::new();
    for _ in 0..count {
        let module = reader.name()?;
        let name = reader.name()?;
        let kind = Kind::from_byte(reader.byte()?)?;
        match kind {
            Kind::Func => {
                reader.u32()?;
            }
            Kind::Table => {
                reader.value_type()?;
                reader.limits()?;
            }
            Kind::Memory => reader.limits()?,
            Kind::Global => {
                reader.value_type()?;
                reader.byte()?;
            }
            Kind::Tag => {
                reader.byte()?;
                reader.u32()?;
            }
        }
        imports.push(Import { module, name, kind });
    }
    Ok(imports)
}

fn parse_exports(data: &[u8]) -> Result<Vec<Export>> {
    let mut reader = Reader { bytes: data, at: 0 };
    let count = reader.u32()?;
    let mut exports = Vec::new();
    for _ in 0..count {
        let name = reader.name()?;
        let kind = Kind::from_byte(reader.byte()?)?;
        reader.u32()?;
        exports.push(Export { name, kind });
    }
    Ok(exports)
}

/// Small hand-assembled modules, for tests.
#[doc(hidden)]
pub mod tests_support {
    use proxylet_artifact::tests_support::{leb, section, string};

    /// A module importing each `(module, name)` as a `() -> ()` function and exporting each
    /// name as a function (the exports' bodies do nothing), plus a memory named `memory`.
    pub fn module(imports: &[(&str, &str)], exports: &[&str]) -> Vec<u8> {
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        // type section: one type () -> ()
        section(&mut wasm, 1, &[1, 0x60, 0, 0]);
        let mut body = leb(imports.len() as u32);
        for (module, name) in imports {
            body.extend(string(module));
            body.extend(string(name));
            body.extend([0, 0]);
        }
        section(&mut wasm, 2, &body);
        let mut functions = leb(exports.len() as u32);
        functions.extend(std::iter::repeat_n(0u8, exports.len()));
        section(&mut wasm, 3, &functions);
        section(&mut wasm, 5, &[1, 0, 1]);
        let mut body = leb(exports.len() as u32 + 1);
        for (i, name) in exports.iter().enumerate() {
            body.extend(string(name));
            body.push(0);
            body.extend(leb((imports.len() + i) as u32));
        }
        body.extend(string("memory"));
        body.extend([2, 0]);
        section(&mut wasm, 7, &body);
        let mut code = leb(exports.len() as u32);
        for _ in exports {
            code.extend([2, 0, 0x0b]);
        }
        section(&mut wasm, 10, &code);
        wasm
    }

    /// Appends a custom section to a module.
    pub fn with_custom_section(mut wasm: Vec<u8>, name: &str, data: &[u8]) -> Vec<u8> {
        let mut payload = string(name);
        payload.extend_from_slice(data);
        section(&mut wasm, 0, &payload);
        wasm
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_imports_and_exports_of_a_hand_made_module() {
        let wasm = tests_support::module(
            &[("env", "proxy_log"), ("wasi_snapshot_preview1", "fd_write")],
            &["proxy_abi_version_0_2_1", "_initialize"],
        );
        let (imports, exports) = imports_and_exports(&wasm).unwrap();
        assert_eq!(imports.len(), 2);
        assert_eq!(
            (imports[1].module.as_str(), imports[1].name.as_str()),
            ("wasi_snapshot_preview1", "fd_write")
        );
        let names: Vec<_> = exports.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["proxy_abi_version_0_2_1", "_initialize", "memory"]);
        assert_eq!(exports[2].kind, Kind::Memory);
    }

    #[test]
    fn truncated_modules_are_errors() {
        let wasm = tests_support::module(&[("env", "proxy_log")], &["x"]);
        for cut in 9..wasm.len() - 1 {
            let _ = imports_and_exports(&wasm[..cut]);
        }
        assert!(imports_and_exports(b"nope").is_err());
    }
}
