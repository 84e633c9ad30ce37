//! The PostgreSQL binary COPY decoder fed a hostile stream in chunks, checked against the
//! same stream fed whole (layout: `fust_connectors::fuzzing::pg_copy`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fust_connectors::fuzzing::pg_copy(data));
