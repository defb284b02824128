//! The registry's names for the template formats, shared by every codec.

use crate::error::{Error, Result};

/// A template file format Ridgeline reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TemplateFormat {
    /// Ridgeline's own `.rlt` format (see [`crate::template`]).
    Native,
    /// ISO/IEC 19794-2:2005 finger minutiae record.
    Iso19794_2_2005,
    /// ISO/IEC 19794-2:2011 finger minutiae record.
    Iso19794_2_2011,
    /// ANSI INCITS 378-2004.
    Ansi378_2004,
    /// ANSI INCITS 378-2009 (2009/Amd 1 records are read as this format too).
    Ansi378_2009,
}

impl TemplateFormat {
    /// Every format, in the order the CLI lists them.
    pub const ALL: [TemplateFormat; 5] = [
        TemplateFormat::Native,
        TemplateFormat::Iso19794_2_2005,
        TemplateFormat::Iso19794_2_2011,
        TemplateFormat::Ansi378_2004,
        TemplateFormat::Ansi378_2009,
    ];

    /// The name used on the command line (`native`, `iso19794-2:2005`, …).
    pub fn name(self) -> &'static str {
        match self {
            TemplateFormat::Native => "native",
            TemplateFormat::Iso19794_2_2005 => "iso19794-2:2005",
            TemplateFormat::Iso19794_2_2011 => "iso19794-2:2011",
            TemplateFormat::Ansi378_2004 => "ansi378:2004",
            TemplateFormat::Ansi378_2009 => "ansi378:2009",
        }
    }

    /// Parses a command-line name (case-insensitive).
    pub fn parse(name: &str) -> Result<Self> {
        let lower = name.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|f| f.name() == lower).ok_or_else(|| {
            let names: Vec<_> = Self::ALL.iter().map(|f| f.name()).collect();
            Error::InvalidArgument(format!(
                "unknown template format '{name}'; expected one of {}",
                names.join(", ")
            ))
        })
    }
}

impl std::fmt::Display for TemplateFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for TemplateFormat {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}
