//! Request parameters: `application/x-www-form-urlencoded` query strings and bodies, parsed
//! strictly. A parameter given twice is refused (RFC 6749 §3.1: "MUST NOT be included more than
//! once"), as is invalid UTF-8 and an empty parameter name; unknown parameters are kept (and
//! ignored by the endpoints).

use std::collections::HashMap;

/// Parsed parameters: name → value, each name at most once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(HashMap<String, String>);

/// Why parameters were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// The same name twice.
    #[error("parameter {0} is included more than once")]
    Duplicate(String),
    /// Not valid percent-encoded UTF-8.
    #[error("the parameters are not valid UTF-8")]
    Encoding,
}

impl Params {
    /// Parses `a=1&b=2`. Empty values count as absent (RFC 6749 §3.1).
    pub fn parse(raw: &[u8]) -> Result<Params, ParamError> {
        let mut map = HashMap::new();
        let mut seen = std::collections::HashSet::new();
        for part in raw.split(|b| *b == b'&') {
            if part.is_empty() {
                continue;
            }
            let (k, v) = match part.iter().position(|b| *b == b'=') {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &b""[..]),
            };
            let k = decode(k)?;
            let v = decode(v)?;
            if k.is_empty() {
                continue;
            }
            if !seen.insert(k.clone()) {
                return Err(ParamError::Duplicate(k));
            }
            if !v.is_empty() {
                map.insert(k, v);
            }
        }
        Ok(Params(map))
    }

    /// The value of `name`, if present and non-empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Whether `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// Whether there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Removes and returns a value.
    pub fn take(&mut self, name: &str) -> Option<String> {
        self.0.remove(name)
    }
}

fn decode(raw: &[u8]) -> Result<String, ParamError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < raw.len() => {
                let h = hex(raw[i + 1]).zip(hex(raw[i + 2]));
                match h {
                    Some((a, b)) => {
                        out.push(a << 4 | b);
                        i += 2;
                    }
                    None => return Err(ParamError::Encoding),
                }
            }
            b'%' => return Err(ParamError::Encoding),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| ParamError::Encoding)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-encodes a value for a query string (everything but the unreserved set).
pub fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Builds `a=1&b=2` from pairs, skipping absent values.
pub fn query(pairs: &[(&str, Option<&str>)]) -> String {
    pairs
        .iter()
        .filter_map(|(k, v)| v.map(|v| format!("{}={}", encode(k), encode(v))))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_decoded_and_empty_ones_are_absent() {
        let p = Params::parse(b"a=1&b=x+y%2Fz&c=&d").unwrap();
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), Some("x y/z"));
        assert_eq!(p.get("c"), None);
        assert!(!p.has("c"));
    }

    #[test]
    fn a_duplicate_parameter_is_refused() {
        assert_eq!(
            Params::parse(b"client_id=a&client_id=b").unwrap_err(),
            ParamError::Duplicate("client_id".into())
        );
        assert!(Params::parse(b"x=1&x=").is_err());
    }

    #[test]
    fn bad_encodings_are_refused() {
        for raw in [&b"a=%"[..], b"a=%4", b"a=%zz", b"a=%ff%fe"] {
            assert_eq!(
                Params::parse(raw).unwrap_err(),
                ParamError::Encoding,
                "{raw:?}"
            );
        }
    }

    #[test]
    fn encoding_round_trips_through_parsing() {
        let v = "\"><script>alert(1)</script> & ü";
        let q = query(&[("state", Some(v)), ("none", None)]);
        assert!(!q.contains('<') && !q.contains("none"));
        assert_eq!(Params::parse(q.as_bytes()).unwrap().get("state"), Some(v));
    }
}
