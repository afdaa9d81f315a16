//! The `oxstore._native` module: pyo3 glue over oxstore-core, nothing else.
//!
//! Buffers are borrowed through the buffer protocol (no copy on the Python side) and every
//! call that touches more than a few KiB runs with the GIL released.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use oxstore_core::checksum::{self, Algorithm, MultiHasher as CoreHasher, ALGORITHMS};
use oxstore_core::chunked::{Mode, Signer};
use oxstore_core::encryption::{self as core_enc, DataKey, SEALED_BLOCK};
use oxstore_core::erasure::Codec;
use oxstore_core::error::S3Error;
use oxstore_core::reader::{self as core_reader, ObjectReader as CoreReader};
use oxstore_core::sealed as core_sealed;
use oxstore_core::shards::{shard_key, Shape, ShardReader};
use oxstore_core::writer::{ChunkedConfig, Dest, ObjectWriter as CoreWriter, Target, BUFFER_SIZE};
use oxstore_core::{crc_combine as core_crc, seal as core_seal, sigv2, sigv4};
use pyo3::buffer::PyBuffer;
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};

create_exception!(_native, NativeS3Error, PyException);

/// Below this many bytes, releasing the GIL costs more than it saves.
const DETACH_THRESHOLD: usize = 16 * 1024;

fn to_py(err: S3Error) -> PyErr {
    Python::attach(|py| {
        let e = NativeS3Error::new_err((err.code, err.message.clone()));
        let value = e.value(py);
        let _ = value.setattr("code", err.code);
        let _ = value.setattr("message", err.message);
        e
    })
}

/// A borrowed, read-only view of a Python buffer that may cross a GIL release.
struct Borrowed {
    ptr: *const u8,
    len: usize,
}

// SAFETY: the PyBuffer that owns this view is held by the caller for the whole call, so the
// exporter keeps the memory alive and unresizable while the GIL is released.
unsafe impl Send for Borrowed {}
unsafe impl Sync for Borrowed {}

impl Borrowed {
    fn new(buf: &PyBuffer<u8>) -> PyResult<Self> {
        if !buf.is_c_contiguous() {
            return Err(PyValueError::new_err("buffer must be C-contiguous"));
        }
        Ok(Borrowed {
            ptr: buf.buf_ptr() as *const u8,
            len: buf.len_bytes(),
        })
    }

    fn slice(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: see the Send impl; ptr/len describe a live, contiguous buffer.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

fn with_buffer<T: Send>(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    f: impl FnOnce(&[u8]) -> T + Send,
) -> PyResult<T> {
    let buf = PyBuffer::<u8>::get(data)?;
    let view = Borrowed::new(&buf)?;
    let out = if view.len >= DETACH_THRESHOLD {
        py.detach(|| f(view.slice()))
    } else {
        f(view.slice())
    };
    drop(buf);
    Ok(out)
}

fn parse_algorithms(names: Vec<String>) -> PyResult<Vec<Algorithm>> {
    names
        .iter()
        .map(|n| Algorithm::from_name(n).map_err(to_py))
        .collect()
}

fn digests_dict<'py>(
    py: Python<'py>,
    digests: &[(Algorithm, Vec<u8>)],
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (a, v) in digests {
        d.set_item(a.name(), PyBytes::new(py, v))?;
    }
    Ok(d)
}

#[pyclass(module = "oxstore._native")]
struct MultiHasher {
    inner: Mutex<CoreHasher>,
}

#[pymethods]
impl MultiHasher {
    #[new]
    fn new(algorithms: Vec<String>) -> PyResult<Self> {
        Ok(MultiHasher {
            inner: Mutex::new(CoreHasher::new(&parse_algorithms(algorithms)?)),
        })
    }

    fn update(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let inner = &self.inner;
        with_buffer(py, data, |bytes| inner.lock().unwrap().update(bytes))
    }

    fn digests<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        digests_dict(py, &self.inner.lock().unwrap().digests())
    }
}

#[pyfunction]
fn digest<'py>(
    py: Python<'py>,
    algorithm: &str,
    data: &Bound<'_, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let a = Algorithm::from_name(algorithm).map_err(to_py)?;
    let d = with_buffer(py, data, |bytes| checksum::digest(a, bytes))?;
    Ok(PyBytes::new(py, &d))
}

#[pyfunction]
fn multipart_etag(part_md5s: Vec<Vec<u8>>) -> String {
    let parts: Vec<&[u8]> = part_md5s.iter().map(|p| p.as_slice()).collect();
    checksum::multipart_etag(&parts)
}

/// The CRC of a concatenation from (big-endian digest, length) of its pieces, in order.
#[pyfunction]
fn crc_combine<'py>(
    py: Python<'py>,
    algorithm: &str,
    pieces: Vec<(Vec<u8>, u64)>,
) -> PyResult<Bound<'py, PyBytes>> {
    let a = Algorithm::from_name(algorithm).map_err(to_py)?;
    let refs: Vec<(&[u8], u64)> = pieces.iter().map(|(d, n)| (d.as_slice(), *n)).collect();
    let combined = core_crc::combine_digests(a, &refs).map_err(to_py)?;
    Ok(PyBytes::new(py, &combined))
}

#[pyfunction]
fn sha256_hex(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<String> {
    with_buffer(py, data, sigv4::sha256_hex)
}

#[pyfunction]
fn hmac_sha256<'py>(
    py: Python<'py>,
    key: &[u8],
    data: &Bound<'_, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let mac = with_buffer(py, data, |bytes| sigv4::hmac_sha256(key, bytes))?;
    Ok(PyBytes::new(py, &mac))
}

/// Signature Version 2: base64(HMAC-SHA1(secret, string_to_sign)).
#[pyfunction]
fn sigv2_signature(secret: &str, string_to_sign: &str) -> String {
    sigv2::signature(secret.as_bytes(), string_to_sign.as_bytes())
}

fn as_bytes(value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(s) = value.extract::<String>() {
        return Ok(s.into_bytes());
    }
    value.extract::<Vec<u8>>()
}

#[pyfunction]
fn constant_time_eq(a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(sigv4::constant_time_eq(&as_bytes(a)?, &as_bytes(b)?))
}

#[pyfunction]
fn sigv4_signing_key<'py>(
    py: Python<'py>,
    secret_key: &str,
    date: &str,
    region: &str,
    service: &str,
) -> Bound<'py, PyBytes> {
    PyBytes::new(py, &sigv4::signing_key(secret_key, date, region, service))
}

#[pyfunction]
#[pyo3(signature = (method, path, query, headers, signed_headers, payload_hash, s3=true))]
fn sigv4_canonical_request(
    method: &str,
    path: &str,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    signed_headers: Vec<String>,
    payload_hash: &str,
    s3: bool,
) -> String {
    sigv4::canonical_request(&sigv4::CanonicalInput {
        method,
        path,
        query: &query,
        headers: &headers,
        signed_headers: &signed_headers,
        payload_hash,
        s3,
    })
}

#[pyfunction]
#[allow(clippy::too_many_arguments)] // the request's parts, as the canonical request needs them
#[pyo3(signature = (signing_key, method, path, query, headers, signed_headers, payload_hash, amz_date, scope, signature))]
fn sigv4_verify(
    signing_key: &[u8],
    method: &str,
    path: &str,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    signed_headers: Vec<String>,
    payload_hash: &str,
    amz_date: &str,
    scope: &str,
    signature: &str,
) -> bool {
    let input = sigv4::CanonicalInput {
        method,
        path,
        query: &query,
        headers: &headers,
        signed_headers: &signed_headers,
        payload_hash,
        s3: true,
    };
    sigv4::verify(&input, signing_key, amz_date, scope, signature)
}

#[pyfunction]
fn sigv4_string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    sigv4::string_to_sign(amz_date, scope, canonical_request)
}

#[pyfunction]
fn sigv4_signature(signing_key: &[u8], string_to_sign: &str) -> String {
    sigv4::signature(signing_key, string_to_sign)
}

#[pyfunction]
fn sigv4_chunk_signature(
    py: Python<'_>,
    signing_key: &[u8],
    amz_date: &str,
    scope: &str,
    previous_signature: &str,
    chunk: &Bound<'_, PyAny>,
) -> PyResult<String> {
    let hash = with_buffer(py, chunk, sigv4::sha256_hex)?;
    Ok(sigv4::chunk_signature(
        signing_key,
        amz_date,
        scope,
        previous_signature,
        &hash,
    ))
}

#[pyfunction]
fn sigv4_trailer_signature(
    signing_key: &[u8],
    amz_date: &str,
    scope: &str,
    previous_signature: &str,
    trailer: &[u8],
) -> String {
    sigv4::trailer_signature(signing_key, amz_date, scope, previous_signature, trailer)
}

fn chunked_config(spec: &Bound<'_, PyDict>) -> PyResult<ChunkedConfig> {
    let get_str = |k: &str| -> PyResult<Option<String>> {
        spec.get_item(k)?.map(|v| v.extract::<String>()).transpose()
    };
    let mode = Mode::from_name(&get_str("mode")?.unwrap_or_default()).map_err(to_py)?;
    let signer = match spec.get_item("signing_key")? {
        Some(key) => Some(Signer {
            key: key.extract::<Vec<u8>>()?,
            amz_date: get_str("amz_date")?.unwrap_or_default(),
            scope: get_str("scope")?.unwrap_or_default(),
            seed_signature: get_str("seed_signature")?.unwrap_or_default(),
        }),
        None => None,
    };
    let decoded_length = spec
        .get_item("decoded_length")?
        .map(|v| v.extract::<u64>())
        .transpose()?;
    Ok(ChunkedConfig {
        mode,
        signer,
        trailer: get_str("trailer")?,
        decoded_length,
    })
}

fn paths(paths: Vec<Option<String>>) -> Vec<Option<PathBuf>> {
    paths.into_iter().map(|p| p.map(PathBuf::from)).collect()
}

/// {"k", "m", "quorum", "key" (the data id), "temp_paths"}: k + m shard files, stripes of
/// `stripe_size` (STRIPE_SIZE; SEALED_BLOCK for a sealed payload).
fn shards_target(spec: &Bound<'_, PyDict>, stripe_size: usize) -> PyResult<Target> {
    let item = |name: &str| -> PyResult<Bound<'_, PyAny>> {
        spec.get_item(name)?
            .ok_or_else(|| PyValueError::new_err(format!("shards needs {name:?}")))
    };
    Ok(Target::Shards {
        temp_paths: paths(item("temp_paths")?.extract()?),
        shape: Shape {
            k: item("k")?.extract()?,
            m: item("m")?.extract()?,
            stripe_size,
        },
        key: shard_key(&item("key")?.extract::<String>()?),
        quorum: item("quorum")?.extract()?,
    })
}

/// A new bytes object of `len` bytes, filled by `fill` straight into its memory (no copy, no
/// fresh buffer) with the GIL released.
fn bytes_filled<'py>(
    py: Python<'py>,
    len: usize,
    fill: impl FnOnce(&mut [u8]) -> PyResult<()> + Send,
) -> PyResult<Bound<'py, PyBytes>> {
    // the bytes object is not shared yet: filling it without the GIL is safe
    PyBytes::new_with(py, len, |out| py.detach(|| fill(out)))
}

#[pyclass(module = "oxstore._native")]
struct ObjectWriter {
    inner: Mutex<CoreWriter>,
}

#[pymethods]
impl ObjectWriter {
    #[new]
    #[pyo3(signature = (temp_path, algorithms, chunked=None, max_size=None, inline_limit=0, shards=None, sums=None, seal=None))]
    #[allow(clippy::too_many_arguments)] // the constructor's keyword arguments, as Python has them
    fn new(
        temp_path: &str,
        algorithms: Vec<String>,
        chunked: Option<&Bound<'_, PyDict>>,
        max_size: Option<u64>,
        inline_limit: u64,
        shards: Option<&Bound<'_, PyDict>>,
        sums: Option<&str>,
        seal: Option<&[u8]>,
    ) -> PyResult<Self> {
        let config = chunked.map(chunked_config).transpose()?;
        let seal = seal.map(data_key).transpose()?;
        let stripe_size = match seal {
            Some(_) => SEALED_BLOCK,
            None => BUFFER_SIZE,
        };
        let target = match (shards, sums) {
            (Some(_), Some(_)) => {
                return Err(PyValueError::new_err(
                    "sums is for a plain file, not shards",
                ))
            }
            (Some(spec), None) => shards_target(spec, stripe_size)?,
            (None, sums) => Target::File {
                path: PathBuf::from(temp_path),
                sums: sums.map(shard_key),
            },
        };
        let writer = CoreWriter::create_sealed(
            target,
            &parse_algorithms(algorithms)?,
            config,
            max_size,
            inline_limit,
            seal,
        )
        .map_err(to_py)?;
        Ok(ObjectWriter {
            inner: Mutex::new(writer),
        })
    }

    fn feed(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let inner = &self.inner;
        with_buffer(py, data, |bytes| inner.lock().unwrap().feed(bytes))?.map_err(to_py)
    }

    fn stays_inline(&self) -> bool {
        self.inner.lock().unwrap().stays_inline()
    }

    fn would_block(&self, length: usize) -> bool {
        self.inner.lock().unwrap().would_block(length)
    }

    #[pyo3(signature = (final_path, expected, expected_size=None, final_paths=None))]
    fn finish<'py>(
        &self,
        py: Python<'py>,
        final_path: &str,
        expected: &Bound<'py, PyDict>,
        expected_size: Option<u64>,
        final_paths: Option<Vec<Option<String>>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let mut want = Vec::new();
        for (k, v) in expected.iter() {
            let a = Algorithm::from_name(&k.extract::<String>()?).map_err(to_py)?;
            want.push((a, v.extract::<Vec<u8>>()?));
        }
        let sharded = self.inner.lock().unwrap().writes_shards();
        let final_paths = match (sharded, final_paths) {
            (true, Some(p)) => Some(paths(p)),
            (false, None) => None,
            (true, None) => return Err(PyValueError::new_err("a shards writer needs final_paths")),
            (false, Some(_)) => {
                return Err(PyValueError::new_err("final_paths is for a shards writer"))
            }
        };
        let inner = &self.inner;
        let result = py
            .detach(|| {
                let dest = match &final_paths {
                    Some(p) => Dest::Shards(p),
                    None => Dest::File(Path::new(final_path)),
                };
                inner.lock().unwrap().finish(dest, &want, expected_size)
            })
            .map_err(to_py)?;
        let out = PyDict::new(py);
        out.set_item("size", result.size)?;
        out.set_item("stored_size", result.stored_size)?;
        out.set_item("digests", digests_dict(py, &result.digests)?)?;
        let trailers = PyDict::new(py);
        for (k, v) in &result.trailers {
            trailers.set_item(k, v)?;
        }
        out.set_item("trailers", trailers)?;
        out.set_item(
            "inline",
            result.inline.as_deref().map(|b| PyBytes::new(py, b)),
        )?;
        out.set_item("shards", result.shards)?;
        Ok(out)
    }

    fn abort(&self, py: Python<'_>) {
        let inner = &self.inner;
        py.detach(|| inner.lock().unwrap().abort());
    }
}

#[pyclass(module = "oxstore._native")]
struct ObjectReader {
    inner: Mutex<Option<CoreReader>>,
}

#[pymethods]
impl ObjectReader {
    /// With size and key (the data id): a file with block sums, read verified. With seal (a
    /// data key) and size (the plaintext's), no key: a sealed file, read as its plaintext.
    #[new]
    #[pyo3(signature = (path, size=None, key=None, seal=None))]
    fn new(
        path: &str,
        size: Option<u64>,
        key: Option<&str>,
        seal: Option<&[u8]>,
    ) -> PyResult<Self> {
        let path = Path::new(path);
        let reader = match (size, key, seal) {
            (Some(size), None, Some(seal)) => CoreReader::open_sealed(path, size, data_key(seal)?),
            (_, _, Some(_)) => {
                return Err(PyValueError::new_err(
                    "seal takes size (the plaintext's) and no key: a sealed file has no sums",
                ))
            }
            (Some(size), Some(key), None) => CoreReader::open_verified(path, size, shard_key(key)),
            (None, None, None) => CoreReader::open(path),
            _ => return Err(PyValueError::new_err("size and key go together")),
        }
        .map_err(to_py)?;
        Ok(ObjectReader {
            inner: Mutex::new(Some(reader)),
        })
    }

    fn size(&self) -> PyResult<u64> {
        self.with(|r| Ok(r.size()))
    }

    fn read<'py>(
        &self,
        py: Python<'py>,
        offset: u64,
        length: usize,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let len = self.with(|r| Ok(r.len_at(offset, length)))?;
        bytes_filled(py, len, |out| {
            self.with(|r| r.read_into(offset, out).map_err(to_py))
        })
    }

    fn verify(&self, py: Python<'_>) -> PyResult<Vec<u64>> {
        py.detach(|| self.with(|r| r.verify().map_err(to_py)))
    }

    fn close(&self) {
        *self.inner.lock().unwrap() = None;
    }
}

impl ObjectReader {
    fn with<T>(&self, f: impl FnOnce(&mut CoreReader) -> PyResult<T>) -> PyResult<T> {
        match self.inner.lock().unwrap().as_mut() {
            Some(r) => f(r),
            None => Err(PyValueError::new_err("reader is closed")),
        }
    }
}

/// An erasure-coded (or replicated) object's shard files, read verified.
#[pyclass(module = "oxstore._native")]
struct ErasureReader {
    inner: Mutex<Option<ShardReader>>,
}

#[pymethods]
impl ErasureReader {
    /// With seal (a data key): the shards hold the sealed stream of a plaintext of `size`
    /// bytes, and reads return the plaintext.
    #[new]
    #[pyo3(signature = (paths, k, m, stripe_size, size, key, seal=None))]
    fn new(
        paths: Vec<Option<String>>,
        k: usize,
        m: usize,
        stripe_size: usize,
        size: u64,
        key: &str,
        seal: Option<&[u8]>,
    ) -> PyResult<Self> {
        let shape = Shape { k, m, stripe_size };
        let (paths, key) = (self::paths(paths), shard_key(key));
        let reader = match seal {
            Some(seal) => ShardReader::open_sealed(&paths, shape, size, key, data_key(seal)?),
            None => ShardReader::open(&paths, shape, size, key),
        }
        .map_err(to_py)?;
        Ok(ErasureReader {
            inner: Mutex::new(Some(reader)),
        })
    }

    fn read<'py>(
        &self,
        py: Python<'py>,
        offset: u64,
        length: usize,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let len = self.with(|r| Ok(r.len_at(offset, length)))?;
        bytes_filled(py, len, |out| {
            self.with(|r| r.read_into(offset, out).map_err(to_py))
        })
    }

    fn damaged(&self) -> PyResult<Vec<usize>> {
        self.with(|r| Ok(r.damaged()))
    }

    fn verify(&self, py: Python<'_>) -> PyResult<Vec<usize>> {
        py.detach(|| self.with(|r| r.verify().map_err(to_py)))
    }

    fn heal(
        &self,
        py: Python<'_>,
        temp_paths: Vec<Option<String>>,
    ) -> PyResult<(Vec<usize>, Vec<usize>)> {
        let temps = paths(temp_paths);
        py.detach(|| self.with(|r| r.heal(&temps).map_err(to_py)))
    }

    fn close(&self) {
        *self.inner.lock().unwrap() = None;
    }
}

impl ErasureReader {
    fn with<T>(&self, f: impl FnOnce(&mut ShardReader) -> PyResult<T>) -> PyResult<T> {
        match self.inner.lock().unwrap().as_mut() {
            Some(r) => f(r),
            None => Err(PyValueError::new_err("reader is closed")),
        }
    }
}

/// Erasure coding of one stripe (benchmarks and tests: the data path codes in the core).
#[pyclass(module = "oxstore._native", frozen)]
struct ErasureCodec {
    codec: Codec,
}

#[pymethods]
impl ErasureCodec {
    #[new]
    fn new(k: usize, m: usize) -> PyResult<Self> {
        Ok(Self {
            codec: Codec::new(k, m).map_err(to_py)?,
        })
    }

    fn shard_len(&self, stripe_len: usize) -> usize {
        self.codec.shard_len(stripe_len)
    }

    /// The k + m shards of a stripe.
    fn encode<'py>(
        &self,
        py: Python<'py>,
        stripe: &Bound<'py, PyAny>,
    ) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        let shards = with_buffer(py, stripe, |data| self.codec.encode(data))?.map_err(to_py)?;
        Ok(shards.iter().map(|s| PyBytes::new(py, s)).collect())
    }

    /// The stripe's first stripe_len bytes, rebuilt from the shards present (None: lost).
    fn reconstruct<'py>(
        &self,
        py: Python<'py>,
        shards: Vec<Option<Vec<u8>>>,
        stripe_len: usize,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let mut shards = shards;
        let stripe = py
            .detach(|| {
                self.codec.reconstruct(&mut shards, false)?;
                self.codec.join(&shards, stripe_len)
            })
            .map_err(to_py)?;
        Ok(PyBytes::new(py, &stripe))
    }
}

#[pyfunction]
#[pyo3(signature = (key, plaintext, aad=b"".as_slice()))]
fn seal<'py>(
    py: Python<'py>,
    key: &[u8],
    plaintext: &[u8],
    aad: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let sealed =
        core_seal::seal(key, plaintext, aad).map_err(|e| PyValueError::new_err(e.message))?;
    Ok(PyBytes::new(py, &sealed))
}

#[pyfunction]
#[pyo3(signature = (key, sealed, aad=b"".as_slice()))]
fn unseal<'py>(
    py: Python<'py>,
    key: &[u8],
    sealed: &[u8],
    aad: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let plain =
        core_seal::unseal(key, sealed, aad).map_err(|e| PyValueError::new_err(e.message))?;
    Ok(PyBytes::new(py, &plain))
}

/// A data key from Python: exactly 32 bytes (InvalidArgument otherwise).
fn data_key(key: &[u8]) -> PyResult<DataKey> {
    DataKey::from_slice(key).map_err(to_py)
}

/// bytes_filled() for work of `work` bytes, which may be small: the GIL is released only from
/// DETACH_THRESHOLD up, as with_buffer() does.
fn bytes_filled_by<'py>(
    py: Python<'py>,
    len: usize,
    work: usize,
    fill: impl FnOnce(&mut [u8]) -> PyResult<()> + Send,
) -> PyResult<Bound<'py, PyBytes>> {
    match work >= DETACH_THRESHOLD {
        true => bytes_filled(py, len, fill),
        false => PyBytes::new_with(py, len, fill),
    }
}

/// A fresh random data key (32 bytes).
#[pyfunction]
fn random_data_key(py: Python<'_>) -> PyResult<Bound<'_, PyBytes>> {
    let key = DataKey::random().map_err(to_py)?;
    Ok(PyBytes::new(py, key.as_bytes()))
}

/// A whole stream sealed in packages under a data key, straight into the bytes returned.
#[pyfunction]
fn seal_stream<'py>(
    py: Python<'py>,
    key: &[u8],
    data: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let key = data_key(key)?;
    let buf = PyBuffer::<u8>::get(data)?;
    let view = Borrowed::new(&buf)?;
    let len = core_enc::sealed_len(view.len as u64) as usize;
    let sealed = bytes_filled_by(py, len, view.len, |out| {
        core_enc::seal_stream_into(&key, view.slice(), out).map_err(to_py)
    });
    drop(buf);
    sealed
}

/// The plaintext of a whole sealed stream, straight into the bytes returned.
#[pyfunction]
fn open_stream<'py>(
    py: Python<'py>,
    key: &[u8],
    sealed: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let key = data_key(key)?;
    let buf = PyBuffer::<u8>::get(sealed)?;
    let view = Borrowed::new(&buf)?;
    let len = core_enc::plain_len(view.len as u64).map_err(to_py)? as usize;
    let plain = bytes_filled_by(py, len, view.len, |out| {
        core_enc::open_stream_into(&key, view.slice(), out).map_err(to_py)
    });
    drop(buf);
    plain
}

/// Plaintext bytes [offset, offset + length) of a sealed inline payload (cut at plain_size),
/// opening only the packages the range touches, straight into the bytes returned.
#[pyfunction]
fn open_sealed_range<'py>(
    py: Python<'py>,
    seal: &[u8],
    sealed: &Bound<'py, PyAny>,
    plain_size: u64,
    offset: u64,
    length: usize,
) -> PyResult<Bound<'py, PyBytes>> {
    let key = data_key(seal)?;
    let buf = PyBuffer::<u8>::get(sealed)?;
    let view = Borrowed::new(&buf)?;
    let end = plain_size.min(offset.saturating_add(length as u64));
    let len = end.saturating_sub(offset) as usize;
    let plain = bytes_filled_by(py, len, len, |out| {
        core_sealed::open_range_into(&key, view.slice(), plain_size, offset, out).map_err(to_py)
    });
    drop(buf);
    plain
}

/// A 32-byte key from Python (a KEK, an SSE-C customer key): InvalidArgument otherwise.
fn key32(bytes: &[u8], what: &str) -> PyResult<[u8; 32]> {
    <[u8; 32]>::try_from(bytes).map_err(|_| {
        to_py(S3Error::new(
            "InvalidArgument",
            format!("{what} is 32 bytes"),
        ))
    })
}

/// The data key of part `part_number` of the upload whose data key is `upload_key`, for the
/// upload of that part whose data id is `part_id`.
#[pyfunction]
fn part_data_key<'py>(
    py: Python<'py>,
    upload_key: &[u8],
    part_number: u32,
    part_id: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let key = data_key(upload_key)?.for_part(part_number, part_id.as_bytes());
    Ok(PyBytes::new(py, key.as_bytes()))
}

/// A data key wrapped under `kek`, bound to `bound_to` (the version's data id).
#[pyfunction]
fn wrap_data_key<'py>(
    py: Python<'py>,
    kek: &[u8],
    data_key: &[u8],
    bound_to: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let kek = key32(kek, "a key-encryption key")?;
    let key = self::data_key(data_key)?;
    let wrapped = core_enc::wrap_key(&kek, &key, bound_to.as_bytes()).map_err(to_py)?;
    Ok(PyBytes::new(py, &wrapped))
}

/// The data key of a wrapped one; NativeS3Error for another KEK, another `bound_to` or an
/// altered record.
#[pyfunction]
fn unwrap_data_key<'py>(
    py: Python<'py>,
    kek: &[u8],
    wrapped: &[u8],
    bound_to: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let kek = key32(kek, "a key-encryption key")?;
    let key = core_enc::unwrap_key(&kek, wrapped, bound_to.as_bytes()).map_err(to_py)?;
    Ok(PyBytes::new(py, key.as_bytes()))
}

/// SSE-S3's key-encryption key, derived from the server's master key.
#[pyfunction]
fn sse_s3_kek<'py>(py: Python<'py>, master: &[u8]) -> Bound<'py, PyBytes> {
    PyBytes::new(py, &core_enc::sse_s3_kek(master))
}

/// What the server stores to recognise an SSE-C customer key for the version `bound_to`.
#[pyfunction]
fn customer_key_check<'py>(
    py: Python<'py>,
    master: &[u8],
    customer_key: &[u8],
    bound_to: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let customer_key = key32(customer_key, "an SSE-C customer key")?;
    let check = core_enc::customer_key_check(master, &customer_key, bound_to.as_bytes());
    Ok(PyBytes::new(py, &check))
}

/// Whether `customer_key` is the one `stored` (a customer_key_check()) was made from.
#[pyfunction]
fn customer_key_matches(
    master: &[u8],
    customer_key: &[u8],
    bound_to: &str,
    stored: &[u8],
) -> PyResult<bool> {
    let customer_key = key32(customer_key, "an SSE-C customer key")?;
    Ok(core_enc::customer_key_matches(
        master,
        &customer_key,
        bound_to.as_bytes(),
        stored,
    ))
}

/// The stored (sealed) size of a plaintext of `plain_size` bytes.
#[pyfunction]
fn sealed_size(plain_size: u64) -> u64 {
    core_enc::sealed_len(plain_size)
}

/// Whether every page of bytes [start, end) of the file is in the page cache.
#[pyfunction]
fn is_cached(py: Python<'_>, path: &str, start: u64, end: u64) -> bool {
    py.detach(|| core_reader::is_cached(Path::new(path), start, end))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let names: Vec<&str> = ALGORITHMS.iter().map(|a| a.name()).collect();
    m.add("ALGORITHMS", PyTuple::new(m.py(), names)?)?;
    m.add("NativeS3Error", m.py().get_type::<NativeS3Error>())?;
    m.add("STRIPE_SIZE", BUFFER_SIZE)?;
    m.add("SEALED_BLOCK", SEALED_BLOCK)?;
    m.add_class::<MultiHasher>()?;
    m.add_class::<ObjectWriter>()?;
    m.add_class::<ObjectReader>()?;
    m.add_class::<ErasureCodec>()?;
    m.add_class::<ErasureReader>()?;
    m.add_function(wrap_pyfunction!(digest, m)?)?;
    m.add_function(wrap_pyfunction!(multipart_etag, m)?)?;
    m.add_function(wrap_pyfunction!(crc_combine, m)?)?;
    m.add_function(wrap_pyfunction!(sigv2_signature, m)?)?;
    m.add_function(wrap_pyfunction!(sha256_hex, m)?)?;
    m.add_function(wrap_pyfunction!(hmac_sha256, m)?)?;
    m.add_function(wrap_pyfunction!(constant_time_eq, m)?)?;
    m.add_function(wrap_pyfunction!(sigv4_signing_key, m)?)?;
    m.add_function(wrap_pyfunction!(sigv4_canonical_request, m)?)?;
    m.add_function(wrap_pyfunction!(sigv4_verify, m)?)?;
    m.add_function(wrap_pyfunction!(sigv4_string_to_sign, m)?)?;
    m.add_function(wrap_pyfunction!(sigv4_signature, m)?)?;
    m.add_function(wrap_pyfunction!(sigv4_chunk_signature, m)?)?;
    m.add_function(wrap_pyfunction!(sigv4_trailer_signature, m)?)?;
    m.add_function(wrap_pyfunction!(seal, m)?)?;
    m.add_function(wrap_pyfunction!(unseal, m)?)?;
    m.add_function(wrap_pyfunction!(random_data_key, m)?)?;
    m.add_function(wrap_pyfunction!(seal_stream, m)?)?;
    m.add_function(wrap_pyfunction!(open_stream, m)?)?;
    m.add_function(wrap_pyfunction!(open_sealed_range, m)?)?;
    m.add_function(wrap_pyfunction!(part_data_key, m)?)?;
    m.add_function(wrap_pyfunction!(wrap_data_key, m)?)?;
    m.add_function(wrap_pyfunction!(unwrap_data_key, m)?)?;
    m.add_function(wrap_pyfunction!(sse_s3_kek, m)?)?;
    m.add_function(wrap_pyfunction!(customer_key_check, m)?)?;
    m.add_function(wrap_pyfunction!(customer_key_matches, m)?)?;
    m.add_function(wrap_pyfunction!(sealed_size, m)?)?;
    m.add_function(wrap_pyfunction!(is_cached, m)?)?;
    Ok(())
}
