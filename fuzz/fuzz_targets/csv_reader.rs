//! Fust's own CSV reader over a file of arbitrary bytes, split into several partitions
//! and read whole, which must agree (layout: `fust_connectors::fuzzing::csv_reader`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fust_connectors::fuzzing::csv_reader(data));
