//! PLACEHOLDER from branch `files`, REPLACED at merge by the real cron schedule parser of branch `boot`.
//!
//! Only the signature is a contract: `Schedule::parse(&str) -> Result<Schedule, String>`. This stand-in checks
//! the outline of Vixie cron syntax (five fields of digits, names, `*`, `,`, `-`, `/`, or one `@` keyword) and
//! nothing about ranges or whether the schedule fires daily.

/// A cron schedule that parsed (placeholder: keeps the text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub text: String,
}

impl Schedule {
    pub fn parse(text: &str) -> Result<Schedule, String> {
        const KEYWORDS: [&str; 8] = [
            "@reboot",
            "@yearly",
            "@annually",
            "@monthly",
            "@weekly",
            "@daily",
            "@midnight",
            "@hourly",
        ];
        let text = text.trim();
        if text.starts_with('@') {
            if KEYWORDS.contains(&text) {
                return Ok(Schedule { text: text.to_string() });
            }
            return Err(format!("unknown keyword {text:?}"));
        }
        let fields: Vec<&str> = text.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!(
                "expected five fields (minute hour day-of-month month day-of-week), found {}",
                fields.len()
            ));
        }
        for field in fields {
            if !field.chars().all(|c| c.is_ascii_alphanumeric() || "*,-/".contains(c)) {
                return Err(format!("bad field {field:?}"));
            }
        }
        Ok(Schedule { text: text.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outline_of_vixie_syntax() {
        assert!(Schedule::parse("30 2 * * *").is_ok());
        assert!(Schedule::parse("@daily").is_ok());
        assert!(Schedule::parse("30 2 * *").is_err());
        assert!(Schedule::parse("@sometimes").is_err());
        assert!(Schedule::parse("30 2 * * * root").is_err());
        assert!(Schedule::parse("30 2 ? * *").is_err());
    }
}
