//! The `oxstore._native` module: pyo3 glue over oxstore-core, nothing else.
use pyo3::prelude::*;
use pyo3::types::PyBytes;

#[pyfunction]
fn md5<'py>(py: Python<'py>, data: &[u8]) -> Bound<'py, PyBytes> {
    PyBytes::new(py, &oxstore_core::checksum::md5(data))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(md5, m)?)?;
    Ok(())
}
