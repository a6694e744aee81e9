//! Checks of the sign-up input: what a field may hold, and its normal form.

use cosmictron_sdk::Error;

use crate::state::invalid;

const EMAIL_LEN_MAX: usize = 254;
const AGENT_ID_LEN_MAX: usize = 128;
const PROJECT_NAME_LEN_MAX: usize = 100;
const CLIENT_LEN_MAX: usize = 64;

/// A plausible email address, lower-cased: one `@`, a non-empty local part, a domain with a
/// dot, no spaces. (Whether it receives mail is what the code proves.)
pub(crate) fn email(raw: &str) -> Result<String, Error> {
    let email = raw.trim().to_lowercase();
    let bad = || invalid("human_email", "must be a valid email address");
    if email.is_empty() || email.len() > EMAIL_LEN_MAX || email.chars().any(char::is_whitespace) {
        return Err(bad());
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(bad());
    };
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@');
    if local.is_empty() || !domain_ok {
        return Err(bad());
    }
    Ok(email)
}

/// An agent id: 1 to 128 characters, no control characters.
pub(crate) fn agent_id(raw: &str) -> Result<String, Error> {
    let id = raw.trim();
    if id.is_empty() || id.chars().count() > AGENT_ID_LEN_MAX || id.chars().any(char::is_control) {
        return Err(invalid("agent_id", "must have 1 to 128 characters"));
    }
    Ok(id.to_owned())
}

/// A project name: 1 to 100 characters, no control characters.
pub(crate) fn project_name(raw: &str) -> Result<String, Error> {
    let name = raw.trim();
    if name.is_empty()
        || name.chars().count() > PROJECT_NAME_LEN_MAX
        || name.chars().any(char::is_control)
    {
        return Err(invalid("project_name", "must have 1 to 100 characters"));
    }
    Ok(name.to_owned())
}

/// The optional client label: at most 64 characters.
pub(crate) fn client(raw: Option<String>) -> Result<Option<String>, Error> {
    match raw.map(|c| c.trim().to_owned()) {
        Some(c) if c.chars().count() > CLIENT_LEN_MAX || c.chars().any(char::is_control) => {
            Err(invalid("client", "must have at most 64 characters"))
        }
        Some(c) if c.is_empty() => Ok(None),
        other => Ok(other),
    }
}

/// The bucket slug's readable part: lower-case letters and digits of the name, runs of
/// anything else as one `-`, at most 40 characters.
pub(crate) fn slug_base(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= 40 {
            break;
        }
    }
    let trimmed = out.trim_end_matches('-');
    if trimmed.is_empty() {
        "project".to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_and_lower_cased() {
        assert_eq!(
            email(" Tony@Example.com ").ok().as_deref(),
            Some("tony@example.com")
        );
        for bad in [
            "",
            "tony",
            "@example.com",
            "tony@example",
            "to ny@example.com",
            "a@b@c.d",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn slugs_keep_letters_and_digits() {
        assert_eq!(slug_base("Recipe Blog!"), "recipe-blog");
        assert_eq!(slug_base("***"), "project");
    }
}
