//! HTTP basic authentication against a file of users and Argon2 password hashes.
//!
//! The file has one `user:hash` per line (`#` starts a comment); `rivulet passwd USER` prints
//! such a line. Argon2 is deliberately slow, so a credential that verified once is remembered
//! (by a SHA-256 of the header, never the password itself) and later requests with the same
//! header skip the hash: a client sending thousands of pull queries a second pays it once.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Known users.
pub struct Users {
    hashes: HashMap<String, String>,
    verified: Mutex<HashSet<[u8; 32]>>,
}

impl Users {
    /// Reads an auth file.
    pub fn load(path: &Path) -> Result<Users> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::user(format!("cannot read the auth file {}: {e}", path.display())))?;
        Self::parse(&text).map_err(|e| e.context(format!("auth file {}", path.display())))
    }

    /// Parses `user:hash` lines.
    pub fn parse(text: &str) -> Result<Users> {
        let mut hashes = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((user, hash)) = line.split_once(':') else {
                return Err(Error::user(format!("line {}: expected user:hash", n + 1)));
            };
            PasswordHash::new(hash)
                .map_err(|e| Error::user(format!("line {}: not a password hash ({e}); use `rivulet passwd`", n + 1)))?;
            hashes.insert(user.to_string(), hash.to_string());
        }
        if hashes.is_empty() {
            return Err(Error::user("no users"));
        }
        Ok(Users { hashes, verified: Mutex::new(HashSet::new()) })
    }

    /// Checks an `Authorization` header value; true when it names a user with the right
    /// password.
    pub fn check(&self, header: Option<&str>) -> bool {
        let Some(encoded) = header.and_then(|h| h.strip_prefix("Basic ")) else { return false };
        let digest: [u8; 32] = Sha256::digest(encoded.trim().as_bytes()).into();
        if self.verified.lock().contains(&digest) {
            return true;
        }
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else { return false };
        let Ok(text) = String::from_utf8(decoded) else { return false };
        let Some((user, password)) = text.split_once(':') else { return false };
        let Some(hash) = self.hashes.get(user) else { return false };
        let Ok(parsed) = PasswordHash::new(hash) else { return false };
        let ok = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
        if ok {
            self.verified.lock().insert(digest);
        }
        ok
    }
}

/// A `user:hash` line for an auth file.
pub fn hash_line(user: &str, password: &str) -> Result<String> {
    if user.is_empty() || user.contains(':') {
        return Err(Error::user("a user name must be non-empty and contain no ':'"));
    }
    let mut salt = [0u8; 16];
    getrandom_salt(&mut salt)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::internal(format!("salt: {e}")))?;
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| Error::internal(format!("hashing the password: {e}")))?;
    Ok(format!("{user}:{hash}"))
}

/// 16 random bytes for a salt, from the operating system.
fn getrandom_salt(salt: &mut [u8]) -> Result<()> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(salt))
        .map_err(|e| Error::external(format!("cannot read random bytes for a salt: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashed_password_checks_and_a_wrong_one_does_not() {
        let line = hash_line("ada", "s3cret").unwrap();
        let users = Users::parse(&format!("# users\n{line}\n")).unwrap();
        let header = |creds: &str| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(creds));
        assert!(users.check(Some(&header("ada:s3cret"))));
        // Second time from the cache.
        assert!(users.check(Some(&header("ada:s3cret"))));
        assert!(!users.check(Some(&header("ada:wrong"))));
        assert!(!users.check(Some(&header("bob:s3cret"))));
        assert!(!users.check(None));
        assert!(!users.check(Some("Bearer x")));
    }

    #[test]
    fn malformed_files_are_refused() {
        assert!(Users::parse("ada").is_err());
        assert!(Users::parse("ada:plaintext").is_err());
        assert!(Users::parse("# nobody\n").is_err());
    }
}
