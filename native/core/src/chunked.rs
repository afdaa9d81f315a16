//! An incremental decoder of aws-chunked request bodies.
//!
//! Input may arrive split at any byte. Each decoded payload byte is handed to a sink as soon as
//! it is framed; chunk signatures (signed modes), the trailer signature (signed-trailer) and the
//! framing are verified on the way. The trailing checksum's value is returned to the caller,
//! who computes the checksum over the decoded bytes and compares.

use crate::error::{Result, S3Error};
use crate::sigv4::{chunk_signature, constant_time_eq, trailer_signature, EMPTY_SHA256};
use sha2::{Digest, Sha256};

const MAX_LINE: usize = 4096;
const MAX_TRAILER_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// STREAMING-AWS4-HMAC-SHA256-PAYLOAD
    Signed,
    /// STREAMING-UNSIGNED-PAYLOAD-TRAILER
    UnsignedTrailer,
    /// STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER
    SignedTrailer,
}

impl Mode {
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "signed" => Ok(Mode::Signed),
            "unsigned-trailer" => Ok(Mode::UnsignedTrailer),
            "signed-trailer" => Ok(Mode::SignedTrailer),
            other => Err(S3Error::new(
                "InvalidArgument",
                format!("unknown aws-chunked mode {other}"),
            )),
        }
    }

    fn signed(self) -> bool {
        self != Mode::UnsignedTrailer
    }
}

/// What signed modes need to verify the signature chain.
#[derive(Clone)]
pub struct Signer {
    pub key: Vec<u8>,
    pub amz_date: String,
    pub scope: String,
    pub seed_signature: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Header,
    Data,
    DataEnd,
    Trailer,
    Done,
}

pub struct ChunkedDecoder {
    mode: Mode,
    signer: Option<Signer>,
    previous: String,
    state: State,
    line: Vec<u8>,
    remaining: u64,
    chunk_signature: String,
    chunk_hash: Sha256,
    trailers: Vec<(String, String)>,
    trailer_block: Vec<u8>,
    trailer_signature: Option<String>,
    decoded: u64,
}

fn malformed(what: &str) -> S3Error {
    S3Error::new(
        "InvalidArgument",
        format!("malformed aws-chunked stream: {what}"),
    )
}

fn bad_signature() -> S3Error {
    S3Error::new(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided.",
    )
}

impl ChunkedDecoder {
    pub fn new(mode: Mode, signer: Option<Signer>) -> Result<Self> {
        if mode.signed() && signer.is_none() {
            return Err(S3Error::new(
                "InvalidArgument",
                "signed aws-chunked needs a signer",
            ));
        }
        let previous = signer
            .as_ref()
            .map(|s| s.seed_signature.clone())
            .unwrap_or_default();
        Ok(ChunkedDecoder {
            mode,
            signer,
            previous,
            state: State::Header,
            line: Vec::new(),
            remaining: 0,
            chunk_signature: String::new(),
            chunk_hash: Sha256::new(),
            trailers: Vec::new(),
            trailer_block: Vec::new(),
            trailer_signature: None,
            decoded: 0,
        })
    }

    pub fn decoded(&self) -> u64 {
        self.decoded
    }

    pub fn trailers(&self) -> &[(String, String)] {
        &self.trailers
    }

    /// Decodes `input`, handing payload bytes to `sink`.
    pub fn feed(
        &mut self,
        mut input: &[u8],
        sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        while !input.is_empty() {
            match self.state {
                State::Header | State::Trailer => {
                    let Some(pos) = input.iter().position(|&b| b == b'\n') else {
                        self.push_line(input)?;
                        return Ok(());
                    };
                    self.push_line(&input[..pos])?;
                    input = &input[pos + 1..];
                    let mut line = std::mem::take(&mut self.line);
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    if self.state == State::Header {
                        self.on_header(&line)?;
                    } else {
                        self.on_trailer_line(&line)?;
                    }
                }
                State::Data => {
                    let take = (self.remaining.min(input.len() as u64)) as usize;
                    let (data, rest) = input.split_at(take);
                    if self.mode.signed() {
                        self.chunk_hash.update(data);
                    }
                    sink(data)?;
                    self.decoded += take as u64;
                    self.remaining -= take as u64;
                    input = rest;
                    if self.remaining == 0 {
                        self.end_of_chunk_data()?;
                        self.state = State::DataEnd;
                    }
                }
                State::DataEnd => {
                    // the CRLF after a chunk's data, possibly split across feeds
                    let b = input[0];
                    input = &input[1..];
                    match b {
                        b'\r' if self.line.is_empty() => self.line.push(b),
                        b'\n' => {
                            self.line.clear();
                            self.state = State::Header;
                        }
                        _ => return Err(malformed("chunk data is longer than its size")),
                    }
                }
                State::Done => {
                    if input.iter().all(|b| *b == b'\r' || *b == b'\n') {
                        return Ok(());
                    }
                    return Err(malformed("data after the final chunk"));
                }
            }
        }
        Ok(())
    }

    /// Checks that the stream ended where it may end.
    pub fn finish(&mut self) -> Result<()> {
        if self.state == State::Trailer && self.line.is_empty() && !self.trailers.is_empty() {
            // some clients omit the blank line after the trailer
            self.end_of_trailer()?;
        }
        if self.state != State::Done {
            return Err(S3Error::new(
                "IncompleteBody",
                "The request body terminated unexpectedly",
            ));
        }
        Ok(())
    }

    fn push_line(&mut self, part: &[u8]) -> Result<()> {
        let limit = if self.state == State::Trailer {
            MAX_TRAILER_BYTES
        } else {
            MAX_LINE
        };
        if self.line.len() + part.len() > limit {
            return Err(malformed("line too long"));
        }
        self.line.extend_from_slice(part);
        Ok(())
    }

    fn on_header(&mut self, line: &[u8]) -> Result<()> {
        let text = std::str::from_utf8(line).map_err(|_| malformed("chunk header"))?;
        let mut parts = text.split(';');
        let size_hex = parts.next().unwrap_or("").trim();
        let size = u64::from_str_radix(size_hex, 16).map_err(|_| malformed("chunk size"))?;
        self.chunk_signature.clear();
        for ext in parts {
            if let Some(sig) = ext.trim().strip_prefix("chunk-signature=") {
                self.chunk_signature = sig.to_string();
            }
        }
        if self.mode.signed() && self.chunk_signature.is_empty() {
            return Err(S3Error::new(
                "SignatureDoesNotMatch",
                "A chunk signature is missing.",
            ));
        }
        self.remaining = size;
        self.chunk_hash = Sha256::new();
        if size == 0 {
            self.verify_chunk(EMPTY_SHA256.to_string())?;
            self.state = State::Trailer;
        } else {
            self.state = State::Data;
        }
        Ok(())
    }

    fn end_of_chunk_data(&mut self) -> Result<()> {
        if self.mode.signed() {
            let hash = hex::encode(std::mem::take(&mut self.chunk_hash).finalize());
            self.verify_chunk(hash)?;
        }
        Ok(())
    }

    fn verify_chunk(&mut self, data_sha256_hex: String) -> Result<()> {
        let Some(signer) = &self.signer else {
            return Ok(());
        };
        if !self.mode.signed() {
            return Ok(());
        }
        let expected = chunk_signature(
            &signer.key,
            &signer.amz_date,
            &signer.scope,
            &self.previous,
            &data_sha256_hex,
        );
        if !constant_time_eq(expected.as_bytes(), self.chunk_signature.as_bytes()) {
            return Err(bad_signature());
        }
        self.previous = expected;
        Ok(())
    }

    fn on_trailer_line(&mut self, line: &[u8]) -> Result<()> {
        if line.is_empty() {
            return self.end_of_trailer();
        }
        let text = std::str::from_utf8(line).map_err(|_| malformed("trailer"))?;
        let (name, value) = text
            .split_once(':')
            .ok_or_else(|| malformed("trailer line"))?;
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim().to_string();
        if name == "x-amz-trailer-signature" {
            self.trailer_signature = Some(value);
            return Ok(());
        }
        if self.mode == Mode::Signed {
            return Err(malformed("unexpected trailer"));
        }
        self.trailer_block
            .extend_from_slice(format!("{name}:{value}\n").as_bytes());
        self.trailers.push((name, value));
        Ok(())
    }

    fn end_of_trailer(&mut self) -> Result<()> {
        if self.mode == Mode::SignedTrailer {
            let signer = self.signer.as_ref().expect("signed modes have a signer");
            let given = self.trailer_signature.as_deref().ok_or_else(|| {
                S3Error::new("SignatureDoesNotMatch", "The trailer signature is missing.")
            })?;
            let expected = trailer_signature(
                &signer.key,
                &signer.amz_date,
                &signer.scope,
                &self.previous,
                &self.trailer_block,
            );
            if !constant_time_eq(expected.as_bytes(), given.as_bytes()) {
                return Err(bad_signature());
            }
        }
        self.state = State::Done;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigv4::{sha256_hex, signing_key};

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const DATE: &str = "20130524T000000Z";
    const SCOPE: &str = "20130524/us-east-1/s3/aws4_request";
    const SEED: &str = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";

    fn signer() -> Signer {
        Signer {
            key: signing_key(SECRET, "20130524", "us-east-1", "s3").to_vec(),
            amz_date: DATE.into(),
            scope: SCOPE.into(),
            seed_signature: SEED.into(),
        }
    }

    /// Encodes a payload the way a signing client does.
    fn encode(mode: Mode, payload: &[u8], chunk: usize, trailer: Option<(&str, &str)>) -> Vec<u8> {
        let s = signer();
        let mut prev = SEED.to_string();
        let mut out = Vec::new();
        let mut pieces: Vec<&[u8]> = payload.chunks(chunk).collect();
        pieces.push(&[]);
        for piece in pieces {
            if mode.signed() {
                let sig = chunk_signature(&s.key, DATE, SCOPE, &prev, &sha256_hex(piece));
                out.extend(format!("{:x};chunk-signature={sig}\r\n", piece.len()).bytes());
                prev = sig;
            } else {
                out.extend(format!("{:x}\r\n", piece.len()).bytes());
            }
            out.extend_from_slice(piece);
            if !piece.is_empty() {
                out.extend(b"\r\n");
            }
        }
        if let Some((name, value)) = trailer {
            let block = format!("{name}:{value}\n");
            out.extend(format!("{name}:{value}\r\n").bytes());
            if mode == Mode::SignedTrailer {
                let sig = trailer_signature(&s.key, DATE, SCOPE, &prev, block.as_bytes());
                out.extend(format!("x-amz-trailer-signature:{sig}\r\n").bytes());
            }
        }
        out.extend(b"\r\n");
        out
    }

    fn decode(mode: Mode, body: &[u8], split: usize) -> Result<(Vec<u8>, ChunkedDecoder)> {
        let mut d = ChunkedDecoder::new(mode, Some(signer()))?;
        let mut out = Vec::new();
        for piece in body.chunks(split.max(1)) {
            d.feed(piece, &mut |b| {
                out.extend_from_slice(b);
                Ok(())
            })?;
        }
        d.finish()?;
        Ok((out, d))
    }

    #[test]
    fn the_aws_example_body_decodes() {
        let payload = vec![b'a'; 66560];
        let body = encode(Mode::Signed, &payload, 65536, None);
        let text = String::from_utf8_lossy(&body[..90]).to_string();
        assert!(text.starts_with(
            "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n"
        ));
        let (out, _) = decode(Mode::Signed, &body, 1 << 20).unwrap();
        assert_eq!(out, payload);
    }

    #[test]
    fn every_split_point_decodes_in_every_mode() {
        let payload: Vec<u8> = (0..300u32).map(|i| (i % 253) as u8).collect();
        let cases = [
            (Mode::Signed, None),
            (
                Mode::UnsignedTrailer,
                Some(("x-amz-checksum-crc32", "AAAAAA==")),
            ),
            (
                Mode::SignedTrailer,
                Some(("x-amz-checksum-crc32c", "BBBBBB==")),
            ),
        ];
        for (mode, trailer) in cases {
            let body = encode(mode, &payload, 64, trailer);
            for split in 1..body.len() {
                let (out, d) = decode(mode, &body, split).unwrap();
                assert_eq!(out, payload, "{mode:?} split {split}");
                assert_eq!(d.decoded(), payload.len() as u64);
                if let Some((n, v)) = trailer {
                    assert_eq!(d.trailers(), &[(n.to_string(), v.to_string())]);
                }
            }
        }
    }

    #[test]
    fn a_changed_byte_breaks_the_signature() {
        let payload = vec![7u8; 200];
        let mut body = encode(Mode::Signed, &payload, 100, None);
        let at = body.len() / 2;
        body[at] ^= 1;
        let err = decode(Mode::Signed, &body, 7).err().unwrap();
        assert!(matches!(
            err.code,
            "SignatureDoesNotMatch" | "InvalidArgument"
        ));
    }

    #[test]
    fn a_changed_trailer_breaks_the_trailer_signature() {
        let body = encode(
            Mode::SignedTrailer,
            b"hello",
            4,
            Some(("x-amz-checksum-crc32", "AAAAAA==")),
        );
        let text = String::from_utf8(body)
            .unwrap()
            .replace("AAAAAA==", "AAAAAB==");
        let err = decode(Mode::SignedTrailer, text.as_bytes(), 3)
            .err()
            .unwrap();
        assert_eq!(err.code, "SignatureDoesNotMatch");
    }

    #[test]
    fn a_truncated_stream_is_incomplete() {
        let body = encode(
            Mode::UnsignedTrailer,
            b"hello world",
            4,
            Some(("x-amz-checksum-crc32", "AAAAAA==")),
        );
        for cut in 0..body.len() - 2 {
            let err = decode(Mode::UnsignedTrailer, &body[..cut], 5)
                .err()
                .unwrap();
            assert_eq!(err.code, "IncompleteBody", "cut at {cut}");
        }
    }

    #[test]
    fn chunk_longer_than_its_size_is_malformed() {
        let err = decode(Mode::UnsignedTrailer, b"2\r\nabc\r\n0\r\n\r\n", 100)
            .err()
            .unwrap();
        assert_eq!(err.code, "InvalidArgument");
    }
}
