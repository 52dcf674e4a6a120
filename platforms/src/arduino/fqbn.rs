//! Fully qualified board names: `vendor:arch:board[:menu=option,…]`, e.g.
//! `arduino:avr:nano:cpu=atmega328old`.

use super::PlatformError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fqbn {
    pub vendor: String,
    pub arch: String,
    pub board: String,
    /// Menu selections, in the order given.
    pub options: Vec<(String, String)>,
}

impl Fqbn {
    pub fn parse(text: &str) -> Result<Fqbn, PlatformError> {
        let bad = |why: &str| PlatformError::Fqbn {
            fqbn: text.to_string(),
            why: why.to_string(),
        };
        let mut parts = text.trim().splitn(4, ':');
        let mut next = |what: &str| {
            parts
                .next()
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .ok_or_else(|| bad(&format!("no {what}")))
        };
        let (vendor, arch, board) = (next("vendor")?, next("architecture")?, next("board id")?);
        let options = match parts.next() {
            None => Vec::new(),
            Some(opts) => opts
                .split(',')
                .map(|o| {
                    o.split_once('=')
                        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .ok_or_else(|| bad(&format!("option {o:?} is not menu=value")))
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(Fqbn {
            vendor,
            arch,
            board,
            options,
        })
    }

    /// Whether `text` looks like an FQBN rather than a PlatformIO board id.
    pub fn looks_like(text: &str) -> bool {
        text.matches(':').count() >= 2
    }
}

impl std::fmt::Display for Fqbn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.vendor, self.arch, self.board)?;
        for (i, (k, v)) in self.options.iter().enumerate() {
            write!(f, "{}{k}={v}", if i == 0 { ':' } else { ',' })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_bad_ones() {
        let f = Fqbn::parse("arduino:avr:nano:cpu=atmega328old").unwrap();
        assert_eq!(
            (f.vendor.as_str(), f.arch.as_str(), f.board.as_str()),
            ("arduino", "avr", "nano")
        );
        assert_eq!(f.options, vec![("cpu".into(), "atmega328old".into())]);
        assert_eq!(f.to_string(), "arduino:avr:nano:cpu=atmega328old");
        assert_eq!(
            Fqbn::parse("arduino:avr:uno").unwrap().to_string(),
            "arduino:avr:uno"
        );
        assert!(Fqbn::parse("arduino:avr").is_err());
        assert!(
            Fqbn::parse("arduino:avr:nano:cpu")
                .unwrap_err()
                .to_string()
                .contains("menu=value")
        );
        assert!(Fqbn::looks_like("a:b:c") && !Fqbn::looks_like("uno"));
    }
}
