//! A row read by the store's own connections, turned into a model.
//!
//! The SQLite committer and readers (`rusqlite`) and the PostgreSQL connections (the wire
//! protocol, binary format) read rows as cells. A model is deserialized straight from its row's
//! cells by column name ([`model_of`]): the model's derived `Deserialize` sees the row as a map
//! of column names to values, so a column the model does not name is skipped and a nullable
//! column the query did not select reads as `None`, with no intermediate JSON object per row.

use serde::de::value::{BorrowedStrDeserializer, Error, SeqDeserializer};
use serde::de::{self, DeserializeOwned, IntoDeserializer, MapAccess, Visitor};
use serde::forward_to_deserialize_any;

/// One column's value in a row, borrowed from the connection's buffer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Cell<'a> {
    /// SQL `NULL`.
    Null,
    /// A boolean (PostgreSQL `bool`).
    Bool(bool),
    /// An integer of any width.
    Int(i64),
    /// A floating-point number.
    Real(f64),
    /// Text.
    Text(&'a str),
    /// Bytes (a SQLite blob), read as a sequence of numbers.
    Bytes(&'a [u8]),
}

/// The model a row's cells make, the cells in the order of `names`.
///
/// # Errors
/// When a cell does not fit its field (a text where the model wants a number, say), or the row
/// lacks a column the model requires; the message names the field.
pub(crate) fn model_of<'a, M, N>(names: &'a [N], cells: impl IntoIterator<Item = Cell<'a>>) -> Result<M, Error>
where
    M: DeserializeOwned,
    N: AsRef<str>,
{
    M::deserialize(RowDeserializer { names: names.iter(), cells: cells.into_iter(), pending: None })
}

/// A row as a map of column names to cells.
struct RowDeserializer<'a, N, I> {
    names: std::slice::Iter<'a, N>,
    cells: I,
    pending: Option<Cell<'a>>,
}

impl<'de, 'a: 'de, N: AsRef<str>, I: Iterator<Item = Cell<'a>>> de::Deserializer<'de> for RowDeserializer<'a, N, I> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_map(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de, 'a: 'de, N: AsRef<str>, I: Iterator<Item = Cell<'a>>> MapAccess<'de> for RowDeserializer<'a, N, I> {
    type Error = Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        let Some(name) = self.names.next() else { return Ok(None) };
        let Some(cell) = self.cells.next() else { return Ok(None) };
        self.pending = Some(cell);
        seed.deserialize(BorrowedStrDeserializer::new(name.as_ref())).map(Some)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let cell = self.pending.take().ok_or_else(|| de::Error::custom("a value asked for before its column"))?;
        seed.deserialize(cell)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.names.len())
    }
}

impl<'de, 'a: 'de> de::Deserializer<'de> for Cell<'a> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Cell::Null => visitor.visit_unit(),
            Cell::Bool(b) => visitor.visit_bool(b),
            Cell::Int(i) => visitor.visit_i64(i),
            Cell::Real(f) => visitor.visit_f64(f),
            Cell::Text(t) => visitor.visit_borrowed_str(t),
            Cell::Bytes(b) => visitor.visit_seq(SeqDeserializer::new(b.iter().map(|x| x.into_deserializer()))),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Cell::Null => visitor.visit_none(),
            cell => visitor.visit_some(cell),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Task {
        id: i64,
        key: i32,
        name: String,
        assignee: Option<String>,
        due_at: Option<i64>,
        weight: f64,
        open: bool,
    }

    #[test]
    fn a_row_reads_into_its_model_by_column_name() {
        let names = ["name", "id", "assignee", "due_at", "key", "weight", "open", "extra"];
        let cells = [
            Cell::Text("法制审核"),
            Cell::Int(7),
            Cell::Null,
            Cell::Int(1_700_000_000_000),
            Cell::Int(3),
            Cell::Real(0.5),
            Cell::Bool(true),
            Cell::Text("a column the model does not name"),
        ];
        let task: Task = model_of(&names, cells).expect("a task");
        assert_eq!(
            task,
            Task {
                id: 7,
                key: 3,
                name: "法制审核".into(),
                assignee: None,
                due_at: Some(1_700_000_000_000),
                weight: 0.5,
                open: true
            }
        );
    }

    #[test]
    fn a_nullable_column_left_out_reads_as_none_and_a_required_one_is_named() {
        #[derive(Debug, PartialEq, serde::Deserialize)]
        struct Short {
            id: i64,
            assignee: Option<String>,
        }
        let short: Short = model_of(&["id"], [Cell::Int(1)]).expect("a row");
        assert_eq!(short, Short { id: 1, assignee: None });
        let missing = model_of::<Short, _>(&["assignee"], [Cell::Text("li")]).expect_err("no id");
        assert!(missing.to_string().contains("id"), "{missing}");
    }

    #[test]
    fn a_cell_of_the_wrong_kind_or_range_is_an_error() {
        #[derive(Debug, serde::Deserialize)]
        struct Narrow {
            #[allow(dead_code)]
            key: i32,
        }
        assert!(model_of::<Narrow, _>(&["key"], [Cell::Text("3")]).is_err());
        assert!(model_of::<Narrow, _>(&["key"], [Cell::Int(i64::MAX)]).is_err());
        assert!(model_of::<Narrow, _>(&["key"], [Cell::Null]).is_err());
    }

    #[test]
    fn bytes_read_as_numbers() {
        #[derive(Debug, PartialEq, serde::Deserialize)]
        struct Blob {
            b: Vec<u8>,
        }
        let blob: Blob = model_of(&["b"], [Cell::Bytes(&[1, 2, 255])]).expect("bytes");
        assert_eq!(blob, Blob { b: vec![1, 2, 255] });
    }
}
