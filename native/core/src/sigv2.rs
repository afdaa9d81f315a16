//! Signature Version 2: base64(HMAC-SHA1(secret, string to sign)).

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

type HmacSha1 = Hmac<Sha1>;

/// The signature of a string to sign, as the Authorization header or the query carries it.
pub fn signature(secret: &[u8], string_to_sign: &[u8]) -> String {
    let mut mac = HmacSha1::new_from_slice(secret).expect("HMAC takes keys of any size");
    mac.update(string_to_sign);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_aws_documentation_example() {
        // "Authentication Examples" of the S3 REST authentication (SigV2) documentation
        let secret = b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let string_to_sign =
            b"GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/awsexamplebucket1/photos/puppy.jpg";
        assert_eq!(
            signature(secret, string_to_sign),
            "qgk2+6Sv9/oM7G3qLEjTH1a1l1g="
        );
    }
}
