//! The MySQL wire client and binary-row decoder fed what a hostile server could send:
//! row packets straight into the decoder, or a whole conversation from the greeting on
//! (layout: `fust_connectors::fuzzing::mysql_wire`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fust_connectors::fuzzing::mysql_wire(data));
