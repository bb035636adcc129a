//! The parts of an ELF shared library a native module report needs: the header (class,
//! byte order, machine), the section table, and the dynamic symbol table (what the library
//! exports and what it leaves for Envoy to resolve).
// Hand-written, like `wasm.rs`, not the `object` or `goblin` crates: four tables of a file
// proxylet builds itself, read with bounds-checked slices (a malformed file is an error,
// never a panic), for no new dependency.

use crate::{err, Result};

/// `e_type` of a shared object (what `cdylib` produces).
pub const ET_DYN: u16 = 3;

const SHT_NOBITS: u32 = 8;
const SHT_DYNSYM: u32 = 11;
/// `e_shstrndx` when the index does not fit: it is then section 0's `sh_link`.
const SHN_XINDEX: u16 = 0xffff;
/// More sections than a sane shared library has; a guard against hostile headers.
const MAX_SECTIONS: usize = 1 << 16;

/// Whether `bytes` start like an ELF file.
pub fn is_elf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x7fELF")
}

/// One section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Its name, e.g. `.rodata`.
    pub name: String,
    /// `sh_type`.
    pub kind: u32,
    /// `sh_flags`.
    pub flags: u64,
    /// Where it is mapped (`sh_addr`).
    pub addr: u64,
    /// Where its bytes are in the file (`sh_offset`).
    pub offset: u64,
    /// Its size.
    pub size: u64,
    /// `sh_link` (for a symbol table: its string table).
    pub link: u32,
}

/// One entry of the dynamic symbol table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// The name.
    pub name: String,
    /// Defined in this file (not left for the loader to resolve).
    pub defined: bool,
    /// A function (`STT_FUNC` or `STT_GNU_IFUNC`).
    pub function: bool,
    /// Visible to other objects: global or weak binding, default or protected visibility.
    pub exported: bool,
    /// Its address (`st_value`).
    pub value: u64,
    /// Its size in bytes.
    pub size: u64,
}

/// A parsed ELF file, borrowing its bytes.
#[derive(Debug, Clone)]
pub struct Elf<'a> {
    bytes: &'a [u8],
    /// 64-bit (`ELFCLASS64`)?
    pub is_64: bool,
    /// Little-endian (`ELFDATA2LSB`)?
    pub little_endian: bool,
    /// `e_type` ([`ET_DYN`] for a shared library).
    pub file_type: u16,
    /// `e_machine` (62 x86-64, 183 AArch64...).
    pub machine: u16,
    /// Every section, in order.
    pub sections: Vec<Section>,
}

impl<'a> Elf<'a> {
    /// Parses the header and the section table.
    pub fn parse(bytes: &'a [u8]) -> Result<Elf<'a>> {
        if !is_elf(bytes) {
            return Err(err!("not an ELF file (no `\\x7fELF` header)"));
        }
        let is_64 = match bytes.get(4) {
            Some(1) => false,
            Some(2) => true,
            _ => return Err(err!("malformed ELF file: unknown class")),
        };
        let little_endian = match bytes.get(5) {
            Some(1) => true,
            Some(2) => false,
            _ => return Err(err!("malformed ELF file: unknown byte order")),
        };
        let mut elf = Elf {
            bytes,
            is_64,
            little_endian,
            file_type: 0,
            machine: 0,
            sections: Vec::new(),
        };
        elf.file_type = elf.u16(16)?;
        elf.machine = elf.u16(18)?;
        let (shoff, shentsize, shnum, shstrndx) = if is_64 {
            (elf.u64(40)?, elf.u16(58)?, elf.u16(60)?, elf.u16(62)?)
        } else {
            (
                u64::from(elf.u32(32)?),
                elf.u16(46)?,
                elf.u16(48)?,
                elf.u16(50)?,
            )
        };
        if shoff == 0 {
            return Ok(elf);
        }
        let entry = usize::from(shentsize);
        if entry < if is_64 { 64 } else { 40 } {
            return Err(err!("malformed ELF file: section header size {entry}"));
        }
        let shoff = to_usize(shoff)?;
        // Section 0 holds the real count and string table index when they overflow.
        let first = elf.raw_section(shoff)?;
        let count = match shnum {
            0 => to_usize(first.size)?,
            n => usize::from(n),
        };
        if count > MAX_SECTIONS {
            return Err(err!("malformed ELF file: {count} sections"));
        }
        let names_index = match shstrndx {
            SHN_XINDEX => first.link as usize,
            n => usize::from(n),
        };
        let mut raw = Vec::with_capacity(count);
        for i in 0..count {
            let at = i
                .checked_mul(entry)
                .and_then(|o| o.checked_add(shoff))
                .ok_or_else(|| err!("malformed ELF file: section table offset"))?;
            raw.push(elf.raw_section(at)?);
        }
        let names = match raw.get(names_index) {
            Some(table) => elf.file_range(table.offset, table.size)?,
            None => &[],
        };
        for section in raw {
            let name = string_at(names, section.name_offset as usize).unwrap_or_default();
            elf.sections.push(section.into_section(name));
        }
        Ok(elf)
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The first section called `name`.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The bytes of a section (empty for one without file data, like `.bss`).
    pub fn section_data(&self, section: &Section) -> Result<&'a [u8]> {
        if section.kind == SHT_NOBITS {
            return Ok(&[]);
        }
        self.file_range(section.offset, section.size)
    }



    /// The dynamic symbol table (`.dynsym`): what a loader sees. Empty without one.
    pub fn dynamic_symbols(&self) -> Result<Vec<Symbol>> {
        let Some(table) = self.sections.iter().find(|s| s.kind == SHT_DYNSYM) else {
            return Ok(Vec::new());
        };
        let strings = match self.sections.get(table.link as usize) {
            Some(strings) => self.section_data(strings)?,
            None => &[],
        };
        let data = self.section_data(table)?;
        let entry = if self.is_64 { 24 } else { 16 };
        let mut symbols = Vec::with_capacity(data.len() / entry);
        // Entry 0 is the reserved null symbol.
        for raw in data.chunks_exact(entry).skip(1) {
            let sub = Reader {
                bytes: raw,
                little_endian: self.little_endian,
            };
            let (name, info, other, shndx, value, size) = if self.is_64 {
                (
                    sub.u32(0)?,
                    raw[4],
                    raw[5],
                    sub.u16(6)?,
                    sub.u64(8)?,
                    sub.u64(16)?,
                )
            } else {
                (
                    sub.u32(0)?,
                    raw[12],
                    raw[13],
                    sub.u16(14)?,
                    u64::from(sub.u32(4)?),
                    u64::from(sub.u32(8)?),
                )
            };
            let bind = info >> 4;
            let kind = info & 0xf;
            let visibility = other & 0x3;
            symbols.push(Symbol {
                name: string_at(strings, name as usize).unwrap_or_default(),
                defined: shndx != 0,
                function: kind == 2 || kind == 10,
                exported: shndx != 0
                    && (bind == 1 || bind == 2)
                    && (visibility == 0 || visibility == 3),
                value,
                size,
            });
        }
        Ok(symbols)
    }

    /// The GOARCH-style name OCI uses for the machine (`amd64`, `arm64`...), or
    /// `machine-N` for one this tool does not know.
    pub fn architecture(&self) -> String {
        match (self.machine, self.is_64, self.little_endian) {
            (62, true, _) => "amd64".into(),
            (183, true, _) => "arm64".into(),
            (3, false, _) => "386".into(),
            (40, false, _) => "arm".into(),
            (243, true, _) => "riscv64".into(),
            (21, true, true) => "ppc64le".into(),
            (21, true, false) => "ppc64".into(),
            (22, true, _) => "s390x".into(),
            (other, _, _) => format!("machine-{other}"),
        }
    }

    fn file_range(&self, offset: u64, size: u64) -> Result<&'a [u8]> {
        let start = to_usize(offset)?;
        let end = start
            .checked_add(to_usize(size)?)
            .ok_or_else(|| err!("malformed ELF file: section size"))?;
        self.bytes
            .get(start..end)
            .ok_or_else(|| err!("malformed ELF file: a section runs past the end of the file"))
    }

    fn raw_section(&self, at: usize) -> Result<RawSection> {
        Ok(if self.is_64 {
            RawSection {
                name_offset: self.u32(at)?,
                kind: self.u32(at + 4)?,
                flags: self.u64(at + 8)?,
                addr: self.u64(at + 16)?,
                offset: self.u64(at + 24)?,
                size: self.u64(at + 32)?,
                link: self.u32(at + 40)?,
            }
        } else {
            RawSection {
                name_offset: self.u32(at)?,
                kind: self.u32(at + 4)?,
                flags: u64::from(self.u32(at + 8)?),
                addr: u64::from(self.u32(at + 12)?),
                offset: u64::from(self.u32(at + 16)?),
                size: u64::from(self.u32(at + 20)?),
                link: self.u32(at + 24)?,
            }
        })
    }

    fn reader(&self) -> Reader<'a> {
        Reader {
            bytes: self.bytes,
            little_endian: self.little_endian,
        }
    }

    fn u16(&self, at: usize) -> Result<u16> {
        self.reader().u16(at)
    }

    fn u32(&self, at: usize) -> Result<u32> {
        self.reader().u32(at)
    }

    fn u64(&self, at: usize) -> Result<u64> {
        self.reader().u64(at)
    }
}

/// Fixed-size integers at offsets, in the file's byte order.
struct Reader<'a> {
    bytes: &'a [u8],
    little_endian: bool,
}

impl Reader<'_> {
    fn array<const N: usize>(&self, at: usize) -> Result<[u8; N]> {
        at.checked_add(N)
            .and_then(|end| self.bytes.get(at..end))
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| err!("malformed ELF file: cut short"))
    }

    fn u16(&self, at: usize) -> Result<u16> {
        let b = self.array(at)?;
        Ok(if self.little_endian {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }

    fn u32(&self, at: usize) -> Result<u32> {
        let b = self.array(at)?;
        Ok(if self.little_endian {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    fn u64(&self, at: usize) -> Result<u64> {
        let b = self.array(at)?;
        Ok(if self.little_endian {
            u64::from_le_bytes(b)
        } else {
            u64::from_be_bytes(b)
        })
    }
}

#[derive(Debug, Clone)]
struct RawSection {
    name_offset: u32,
    kind: u32,
    flags: u64,
    addr: u64,
    offset: u64,
    size: u64,
    link: u32,
}

impl RawSection {
    fn into_section(self, name: String) -> Section {
        Section {
            name,
            kind: self.kind,
            flags: self.flags,
            addr: self.addr,
            offset: self.offset,
            size: self.size,
            link: self.link,
        }
    }
}

fn to_usize(value: u64) -> Result<usize> {
    usize::try_from(value).map_err(|_| err!("malformed ELF file: offset {value}"))
}

/// The NUL-terminated string at `at` in a string table.
pub fn string_at(table: &[u8], at: usize) -> Option<String> {
    let rest = table.get(at..)?;
    let end = rest.iter().position(|b| *b == 0)?;
    String::from_utf8(rest[..end].to_vec()).ok()
}

/// Small hand-assembled ELF files, for tests.
#[doc(hidden)]
pub mod tests_support {
    /// A section to lay out.
    struct Raw<'a> {
        name: &'a str,
        kind: u32,
        flags: u64,
        addr: u64,
        data: Vec<u8>,
        link: u32,
    }

    impl<'a> Raw<'a> {
        fn new(name: &'a str, kind: u32, flags: u64, addr: u64, data: Vec<u8>, link: u32) -> Self {
            Raw {
                name,
                kind,
                flags,
                addr,
                data,
                link,
            }
        }
    }

    /// A little-endian ELF64 x86-64 shared object with the given sections (name, flags,
    /// address, bytes) and a `.dynsym` exporting each of `exports` as a function of
    /// `size` 1 at address 0 (undefined when the name starts with `!`). No program
    /// headers: enough for a reader, not for a loader.
    pub fn shared_object(sections: &[(&str, u64, u64, &[u8])], exports: &[&str]) -> Vec<u8> {
        let mut dynstr = vec![0u8];
        let mut dynsym = vec![0u8; 24];
        for name in exports {
            let (undefined, name) = match name.strip_prefix('!') {
                Some(name) => (true, name),
                None => (false, *name),
            };
            let offset = dynstr.len() as u32;
            dynstr.extend_from_slice(name.as_bytes());
            dynstr.push(0);
            let mut symbol = [0u8; 24];
            symbol[..4].copy_from_slice(&offset.to_le_bytes());
            symbol[4] = (1 << 4) | 2; // global function
            let shndx: u16 = if undefined { 0 } else { 1 };
            symbol[6..8].copy_from_slice(&shndx.to_le_bytes());
            symbol[16..24].copy_from_slice(&1u64.to_le_bytes());
            dynsym.extend_from_slice(&symbol);
        }
        let mut all = vec![Raw::new("", 0, 0, 0, Vec::new(), 0)];
        for (name, flags, addr, data) in sections {
            all.push(Raw::new(name, 1, *flags, *addr, data.to_vec(), 0));
        }
        let dynstr_index = all.len() as u32 + 1;
        all.push(Raw::new(".dynsym", 11, 2, 0, dynsym, dynstr_index));
        all.push(Raw::new(".dynstr", 3, 2, 0, dynstr, 0));
        let mut shstrtab = vec![0u8];
        let mut name_offsets = Vec::new();
        for section in &all {
            name_offsets.push(shstrtab.len() as u32);
            shstrtab.extend_from_slice(section.name.as_bytes());
            shstrtab.push(0);
        }
        name_offsets.push(shstrtab.len() as u32);
        shstrtab.extend_from_slice(b".shstrtab\0");
        all.push(Raw::new(".shstrtab", 3, 0, 0, shstrtab, 0));

        let mut file = vec![0u8; 64];
        let mut offsets = Vec::new();
        for section in &all {
            offsets.push(file.len() as u64);
            file.extend_from_slice(&section.data);
        }
        while !file.len().is_multiple_of(8) {
            file.push(0);
        }
        let shoff = file.len() as u64;
        for (
            i,
            Raw {
                kind,
                flags,
                addr,
                data,
                link,
                ..
            },
        ) in all.iter().enumerate()
        {
            let mut header = [0u8; 64];
            header[..4].copy_from_slice(&name_offsets.get(i).copied().unwrap_or(0).to_le_bytes());
            header[4..8].copy_from_slice(&kind.to_le_bytes());
            header[8..16].copy_from_slice(&flags.to_le_bytes());
            header[16..24].copy_from_slice(&addr.to_le_bytes());
            header[24..32].copy_from_slice(&offsets[i].to_le_bytes());
            header[32..40].copy_from_slice(&(data.len() as u64).to_le_bytes());
            header[40..44].copy_from_slice(&link.to_le_bytes());
            file.extend_from_slice(&header);
        }
        file[..4].copy_from_slice(b"\x7fELF");
        file[4] = 2; // 64-bit
        file[5] = 1; // little-endian
        file[6] = 1;
        file[16..18].copy_from_slice(&3u16.to_le_bytes()); // ET_DYN
        file[18..20].copy_from_slice(&62u16.to_le_bytes()); // x86-64
        file[20..24].copy_from_slice(&1u32.to_le_bytes());
        file[40..48].copy_from_slice(&shoff.to_le_bytes());
        file[52..54].copy_from_slice(&64u16.to_le_bytes());
        file[58..60].copy_from_slice(&64u16.to_le_bytes());
        file[60..62].copy_from_slice(&(all.len() as u16).to_le_bytes());
        file[62..64].copy_from_slice(&(all.len() as u16 - 1).to_le_bytes());
        file
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sections_and_exports_of_a_hand_made_shared_object() {
        let so = tests_support::shared_object(
            &[
                (".rodata", 2, 0x1000, b"\0v0.2.0\0"),
                ("proxylet.x", 2, 0x2000, b"{}"),
            ],
            &[
                "envoy_dynamic_module_on_program_init",
                "!envoy_dynamic_module_callback_log",
            ],
        );
        let elf = Elf::parse(&so).unwrap();
        assert_eq!(
            (elf.is_64, elf.little_endian, elf.file_type),
            (true, true, ET_DYN)
        );
        assert_eq!(elf.architecture(), "amd64");
        let rodata = elf.section(".rodata").unwrap();
        assert_eq!(elf.section_data(rodata).unwrap(), b"\0v0.2.0\0");
        let custom = elf.section("proxylet.x").unwrap();
        assert_eq!(elf.section_data(custom).unwrap(), b"{}");
        let symbols = elf.dynamic_symbols().unwrap();
        assert_eq!(symbols.len(), 2);
        assert!(symbols[0].exported && symbols[0].function);
        assert_eq!(symbols[0].name, "envoy_dynamic_module_on_program_init");
        assert!(!symbols[1].defined && !symbols[1].exported);
    }

    #[test]
    fn truncated_or_foreign_files_are_errors_not_panics() {
        let so = tests_support::shared_object(&[(".rodata", 2, 0x1000, b"abc")], &["f", "g"]);
        for cut in 0..so.len() {
            if let Ok(elf) = Elf::parse(&so[..cut]) {
                let _ = elf.dynamic_symbols();
            }
        }
        assert!(Elf::parse(b"\0asm\x01\0\0\0").is_err());
        let mut bad_class = so.clone();
        bad_class[4] = 9;
        assert!(Elf::parse(&bad_class).is_err());
    }
}
