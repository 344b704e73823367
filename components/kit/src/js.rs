//! serde between Rust values and plain JavaScript values (what `JSON.parse` gives and
//! `JSON.stringify` takes): GraphQL bodies, `mall:*` event details and the mount context.
//!
//! The browser parses and prints the JSON; this module only walks the values. It exists for
//! size: serde_json carries a parser and float printing, and both it and serde-wasm-bindgen
//! describe a mismatch by formatting the offending value (serde's `Unexpected`), which links
//! float formatting and string escaping into every bundle. Errors here name what went wrong
//! with static text instead (a missing field by its name).
//!
//! Numbers: JavaScript has only doubles, so integers beyond 2^53 lose precision both ways (the
//! mall's ids and amounts are far below that).

use std::fmt;

use js_sys::{Array, Object, Reflect};
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use serde::ser::{self, Serialize};
use wasm_bindgen::{JsCast, JsValue};

/// Why a value could not be converted; says what, never echoes the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    what: &'static str,
    field: &'static str,
}

impl Error {
    /// A value of another type than the one expected.
    pub const UNEXPECTED: Error = Error::new("unexpected type");

    const fn new(what: &'static str) -> Self {
        Error { what, field: "" }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what)?;
        if !self.field.is_empty() {
            f.write_str(" `")?;
            f.write_str(self.field)?;
            f.write_str("`")?;
        }
        Ok(())
    }
}

// By hand: a derived Debug would format the strings with escaping.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Error {}

impl From<Error> for JsValue {
    fn from(error: Error) -> JsValue {
        JsValue::from_str(&error.to_string())
    }
}

// Every constructor is overridden so that no message is ever formatted.
impl de::Error for Error {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Error::new("invalid value")
    }
    fn invalid_type(_: de::Unexpected<'_>, _: &dyn de::Expected) -> Self {
        Error::new("unexpected type")
    }
    fn invalid_value(_: de::Unexpected<'_>, _: &dyn de::Expected) -> Self {
        Error::new("invalid value")
    }
    fn invalid_length(_: usize, _: &dyn de::Expected) -> Self {
        Error::new("wrong number of elements")
    }
    fn unknown_variant(_: &str, _: &'static [&'static str]) -> Self {
        Error::new("unknown variant")
    }
    fn unknown_field(_: &str, _: &'static [&'static str]) -> Self {
        Error::new("unknown field")
    }
    fn missing_field(field: &'static str) -> Self {
        Error {
            what: "missing field",
            field,
        }
    }
    fn duplicate_field(field: &'static str) -> Self {
        Error {
            what: "duplicate field",
            field,
        }
    }
}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Error::new("value cannot be written as JSON")
    }
}

/// Decodes a plain JavaScript value (objects, arrays, strings, numbers, booleans, null).
pub fn from_js<T: de::DeserializeOwned>(value: JsValue) -> Result<T, Error> {
    T::deserialize(Value(value))
}

/// Encodes `value` as a plain JavaScript value (structs and maps become objects).
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, Error> {
    value.serialize(Encoder)
}

/// Encodes `value` as JSON text (through the browser's `JSON.stringify`).
pub fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    js_sys::JSON::stringify(&to_js(value)?)
        .ok()
        .and_then(|text| text.as_string())
        .ok_or(Error::new("value cannot be written as JSON"))
}

/// What a rejected browser call or a thrown value says: an `Error`'s message, a string as it
/// is, anything else as the browser prints it.
pub fn message(error: &JsValue) -> String {
    match error.dyn_ref::<js_sys::Error>() {
        Some(error) => error.message().into(),
        None => error.as_string().unwrap_or_else(|| format!("{error:?}")),
    }
}

/// A JavaScript value being decoded.
struct Value(JsValue);

impl<'de> de::Deserializer<'de> for Value {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let value = self.0;
        if value.is_null() || value.is_undefined() {
            visitor.visit_unit()
        } else if let Some(b) = value.as_bool() {
            visitor.visit_bool(b)
        } else if let Some(n) = value.as_f64() {
            // Integral numbers as integers, so integer fields accept them.
            if n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_991.0 {
                visitor.visit_i64(n as i64)
            } else {
                visitor.visit_f64(n)
            }
        } else if let Some(s) = value.as_string() {
            visitor.visit_string(s)
        } else if Array::is_array(&value) {
            visitor.visit_seq(Elements::of(value)?)
        } else if value.is_object() {
            visitor.visit_map(Entries::of(value)?)
        } else {
            Err(Error::new("unsupported value"))
        }
    }

    // Each type asks for what it expects, so that each visitor's instance holds one branch
    // (forwarding everything to `deserialize_any` would copy all of them into every one).

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0.as_bool() {
            Some(b) => visitor.visit_bool(b),
            None => Err(unexpected()),
        }
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_i64(integer(&self.0)?)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0.as_f64() {
            Some(n) => visitor.visit_f64(n),
            None => Err(unexpected()),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0.as_string() {
            Some(s) => visitor.visit_string(s),
            None => Err(unexpected()),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.0.is_null() || self.0.is_undefined() {
            visitor.visit_unit()
        } else {
            Err(unexpected())
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_seq(Elements::of(self.0)?)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_map(Entries::of(self.0)?)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.0.is_null() || self.0.is_undefined() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    /// Unit variants only, as strings.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0.as_string() {
            Some(s) => visitor.visit_enum(IntoDeserializer::<Error>::into_deserializer(s)),
            None => Err(unexpected()),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_f64(visitor)
    }
    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_string(visitor)
    }
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_string(visitor)
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_string(visitor)
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }
    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    serde::forward_to_deserialize_any! { i128 u128 bytes byte_buf }
}

fn unexpected() -> Error {
    Error::UNEXPECTED
}

/// A number that is a whole number (JavaScript has no other kind of integer).
fn integer(value: &JsValue) -> Result<i64, Error> {
    match value.as_f64() {
        Some(n) if n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_991.0 => Ok(n as i64),
        _ => Err(unexpected()),
    }
}

struct Elements {
    array: Array,
    len: u32,
    next: u32,
}

impl Elements {
    fn of(value: JsValue) -> Result<Self, Error> {
        if !Array::is_array(&value) {
            return Err(unexpected());
        }
        let array: Array = value.unchecked_into();
        Ok(Elements {
            len: array.length(),
            array,
            next: 0,
        })
    }
}

impl<'de> de::SeqAccess<'de> for Elements {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        if self.next >= self.len {
            return Ok(None);
        }
        let item = self.array.get(self.next);
        self.next += 1;
        seed.deserialize(Value(item)).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some((self.len - self.next) as usize)
    }
}

/// An object's own enumerable `[key, value]` pairs.
struct Entries {
    entries: Array,
    len: u32,
    next: u32,
    value: Option<JsValue>,
}

impl Entries {
    fn of(value: JsValue) -> Result<Self, Error> {
        if !value.is_object() || Array::is_array(&value) {
            return Err(unexpected());
        }
        let entries = Object::entries(value.unchecked_ref());
        Ok(Entries {
            len: entries.length(),
            entries,
            next: 0,
            value: None,
        })
    }
}

impl<'de> de::MapAccess<'de> for Entries {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        if self.next >= self.len {
            return Ok(None);
        }
        let pair: Array = self.entries.get(self.next).unchecked_into();
        self.next += 1;
        self.value = Some(pair.get(1));
        seed.deserialize(Value(pair.get(0))).map(Some)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, Error> {
        let value = self.value.take().unwrap_or(JsValue::UNDEFINED);
        seed.deserialize(Value(value))
    }

    fn size_hint(&self) -> Option<usize> {
        Some((self.len - self.next) as usize)
    }
}

/// Encodes into JavaScript values.
struct Encoder;

fn number(n: f64) -> Result<JsValue, Error> {
    Ok(JsValue::from_f64(n))
}

impl ser::Serializer for Encoder {
    type Ok = JsValue;
    type Error = Error;
    type SerializeSeq = ArrayEncoder;
    type SerializeTuple = ArrayEncoder;
    type SerializeTupleStruct = ArrayEncoder;
    type SerializeTupleVariant = ser::Impossible<JsValue, Error>;
    type SerializeMap = ObjectEncoder;
    type SerializeStruct = ObjectEncoder;
    type SerializeStructVariant = ser::Impossible<JsValue, Error>;

    fn serialize_bool(self, v: bool) -> Result<JsValue, Error> {
        Ok(JsValue::from_bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<JsValue, Error> {
        number(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<JsValue, Error> {
        number(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<JsValue, Error> {
        number(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<JsValue, Error> {
        number(v as f64)
    }
    fn serialize_u8(self, v: u8) -> Result<JsValue, Error> {
        number(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<JsValue, Error> {
        number(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<JsValue, Error> {
        number(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<JsValue, Error> {
        number(v as f64)
    }
    fn serialize_f32(self, v: f32) -> Result<JsValue, Error> {
        number(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<JsValue, Error> {
        number(v)
    }
    fn serialize_char(self, v: char) -> Result<JsValue, Error> {
        Ok(JsValue::from_str(v.encode_utf8(&mut [0; 4])))
    }
    fn serialize_str(self, v: &str) -> Result<JsValue, Error> {
        Ok(JsValue::from_str(v))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<JsValue, Error> {
        Err(Error::new("bytes cannot be written as JSON"))
    }
    fn serialize_none(self) -> Result<JsValue, Error> {
        Ok(JsValue::NULL)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<JsValue, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<JsValue, Error> {
        Ok(JsValue::NULL)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<JsValue, Error> {
        Ok(JsValue::NULL)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<JsValue, Error> {
        Ok(JsValue::from_str(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<JsValue, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<JsValue, Error> {
        let object = Object::new();
        set(&object, &JsValue::from_str(variant), value.serialize(self)?)?;
        Ok(object.into())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<ArrayEncoder, Error> {
        Ok(ArrayEncoder(Array::new()))
    }
    fn serialize_tuple(self, _: usize) -> Result<ArrayEncoder, Error> {
        Ok(ArrayEncoder(Array::new()))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<ArrayEncoder, Error> {
        Ok(ArrayEncoder(Array::new()))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(Error::new("tuple variants are not supported"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<ObjectEncoder, Error> {
        Ok(ObjectEncoder {
            object: Object::new(),
            key: None,
        })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<ObjectEncoder, Error> {
        self.serialize_map(None)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(Error::new("struct variants are not supported"))
    }
}

fn set(object: &Object, key: &JsValue, value: JsValue) -> Result<(), Error> {
    Reflect::set(object, key, &value)
        .map(drop)
        .map_err(|_| Error::new("value cannot be written as JSON"))
}

struct ArrayEncoder(Array);

impl ArrayEncoder {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.0.push(&value.serialize(Encoder)?);
        Ok(())
    }
}

impl ser::SerializeSeq for ArrayEncoder {
    type Ok = JsValue;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> Result<JsValue, Error> {
        Ok(self.0.into())
    }
}

impl ser::SerializeTuple for ArrayEncoder {
    type Ok = JsValue;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> Result<JsValue, Error> {
        Ok(self.0.into())
    }
}

impl ser::SerializeTupleStruct for ArrayEncoder {
    type Ok = JsValue;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> Result<JsValue, Error> {
        Ok(self.0.into())
    }
}

struct ObjectEncoder {
    object: Object,
    key: Option<JsValue>,
}

impl ser::SerializeMap for ObjectEncoder {
    type Ok = JsValue;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        let key = key.serialize(Encoder)?;
        if !key.is_string() {
            return Err(Error::new("map keys must be strings"));
        }
        self.key = Some(key);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self
            .key
            .take()
            .ok_or(Error::new("map value without a key"))?;
        set(&self.object, &key, value.serialize(Encoder)?)
    }
    fn end(self) -> Result<JsValue, Error> {
        Ok(self.object.into())
    }
}

impl ser::SerializeStruct for ObjectEncoder {
    type Ok = JsValue;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        set(
            &self.object,
            &JsValue::from_str(key),
            value.serialize(Encoder)?,
        )
    }
    fn end(self) -> Result<JsValue, Error> {
        Ok(self.object.into())
    }
}
