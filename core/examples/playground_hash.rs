//! Prints the trace hash of the playground's reference run
//! ([`tandem_core::sim::playground::reference_run`]), natively. `cargo xtask
//! test` hands it to the browser test (`web/tests/browser.rs`), which runs
//! the same steps in WebAssembly and must get the same hash.

fn main() {
    println!("{}", tandem_core::sim::playground::reference_run());
}
