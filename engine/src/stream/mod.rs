//! Stream jobs: the epoch loop ([`run`]) and the table each epoch's plan reads ([`feed`]).

mod dedupe;
mod feed;
mod run;
mod window;

pub use run::StreamStatus;
