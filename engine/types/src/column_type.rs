//! Column types: a scalar type, optionally nullable (`Option<T>`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// The scalar types a column can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScalarType {
    Bool,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F32,
    F64,
    String,
    Bytes,
    Identity,
    Timestamp,
}

impl ScalarType {
    pub const ALL: [ScalarType; 15] = [
        ScalarType::Bool,
        ScalarType::I8,
        ScalarType::I16,
        ScalarType::I32,
        ScalarType::I64,
        ScalarType::U8,
        ScalarType::U16,
        ScalarType::U32,
        ScalarType::U64,
        ScalarType::F32,
        ScalarType::F64,
        ScalarType::String,
        ScalarType::Bytes,
        ScalarType::Identity,
        ScalarType::Timestamp,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ScalarType::Bool => "bool",
            ScalarType::I8 => "i8",
            ScalarType::I16 => "i16",
            ScalarType::I32 => "i32",
            ScalarType::I64 => "i64",
            ScalarType::U8 => "u8",
            ScalarType::U16 => "u16",
            ScalarType::U32 => "u32",
            ScalarType::U64 => "u64",
            ScalarType::F32 => "f32",
            ScalarType::F64 => "f64",
            ScalarType::String => "string",
            ScalarType::Bytes => "bytes",
            ScalarType::Identity => "identity",
            ScalarType::Timestamp => "timestamp",
        }
    }

    pub fn is_integer(self) -> bool {
        matches!(
            self,
            ScalarType::I8
                | ScalarType::I16
                | ScalarType::I32
                | ScalarType::I64
                | ScalarType::U8
                | ScalarType::U16
                | ScalarType::U32
                | ScalarType::U64
        )
    }

    /// Encoded width for fixed-size types, `None` for variable-size ones.
    pub(crate) fn fixed_width(self) -> Option<usize> {
        Some(match self {
            ScalarType::Bool | ScalarType::I8 | ScalarType::U8 => 1,
            ScalarType::I16 | ScalarType::U16 => 2,
            ScalarType::I32 | ScalarType::U32 | ScalarType::F32 => 4,
            ScalarType::I64 | ScalarType::U64 | ScalarType::F64 | ScalarType::Timestamp => 8,
            ScalarType::Identity => 32,
            ScalarType::String | ScalarType::Bytes => return None,
        })
    }

    /// A code used in the persistent schema encoding; never renumber.
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl fmt::Display for ScalarType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A column's type: a scalar, nullable when the module field is an `Option<T>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ColumnType {
    pub scalar: ScalarType,
    #[serde(default)]
    pub nullable: bool,
}

impl ColumnType {
    pub const fn new(scalar: ScalarType) -> ColumnType {
        ColumnType {
            scalar,
            nullable: false,
        }
    }

    pub const fn nullable(scalar: ScalarType) -> ColumnType {
        ColumnType {
            scalar,
            nullable: true,
        }
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nullable {
            write!(f, "option<{}>", self.scalar)
        } else {
            write!(f, "{}", self.scalar)
        }
    }
}
