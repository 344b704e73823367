//! List settings that the environment can set: in the TOML file a list is an array, and in
//! a variable, which holds one string, it is the items separated by commas
//! (`MALL_BFF__RATE_LIMITS__TRUSTED_PROXIES=10.0.0.0/8,172.16.0.0/12`). Use it on a field
//! with `#[serde(deserialize_with = "crate::setting_list::deserialize")]`.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};

/// A list from an array, or from one comma-separated string (blank items skipped, so an
/// empty string is an empty list).
pub fn deserialize<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr + Deserialize<'de>,
    T::Err: fmt::Display,
{
    struct List<T>(PhantomData<T>);

    impl<'de, T> Visitor<'de> for List<T>
    where
        T: FromStr + Deserialize<'de>,
        T::Err: fmt::Display,
    {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list, or its items in one string separated by commas")
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Vec<T>, E> {
            text.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| {
                    item.parse()
                        .map_err(|e| E::custom(format!("`{item}`: {e}")))
                })
                .collect()
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
            while let Some(item) = seq.next_element()? {
                items.push(item);
            }
            Ok(items)
        }
    }

    deserializer.deserialize_any(List(PhantomData))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Setting {
        #[serde(deserialize_with = "super::deserialize")]
        nets: Vec<ipnet::IpNet>,
    }

    #[test]
    fn an_array_or_a_comma_separated_string() {
        let from_array: Setting = toml::from_str(r#"nets = ["10.0.0.0/8"]"#).expect("array");
        assert_eq!(from_array.nets, vec!["10.0.0.0/8".parse().expect("net")]);
        let from_text: Setting =
            toml::from_str(r#"nets = "10.0.0.0/8, 192.168.1.7/32,""#).expect("text");
        assert_eq!(from_text.nets.len(), 2);
        let empty: Setting = toml::from_str(r#"nets = """#).expect("empty");
        assert!(empty.nets.is_empty());
        let bad = toml::from_str::<Setting>(r#"nets = "10.0.0.0/8,proxy""#)
            .err()
            .expect("not a range");
        assert!(bad.to_string().contains("`proxy`"), "{bad}");
    }
}
