//! Errors of the native core, each carrying the S3 error code it answers as.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Error {
    pub code: &'static str,
    pub message: String,
}

impl S3Error {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        S3Error {
            code,
            message: message.into(),
        }
    }

    /// An I/O failure; a full disk (or quota) answers InsufficientStorage, whose message
    /// tells the client what it can do about it, where other failures are internal.
    pub fn io(context: &str, err: std::io::Error) -> Self {
        match err.raw_os_error() {
            Some(libc::ENOSPC) | Some(libc::EDQUOT) => S3Error::new(
                "InsufficientStorage",
                "There is not enough free storage space for this upload.",
            ),
            _ => S3Error::new("InternalError", format!("{context}: {err}")),
        }
    }
}

impl fmt::Display for S3Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for S3Error {}

pub type Result<T> = std::result::Result<T, S3Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_insufficient_storage_without_internal_text() {
        let full = S3Error::io("write", std::io::Error::from_raw_os_error(libc::ENOSPC));
        assert_eq!(full.code, "InsufficientStorage");
        assert!(!full.message.contains("write"));
        let other = S3Error::io("write", std::io::Error::from_raw_os_error(libc::EIO));
        assert_eq!(other.code, "InternalError");
    }
}
