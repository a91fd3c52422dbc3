//! `tandem`: the native node (driver under construction).
fn main() {
    println!("tandem {}", env!("CARGO_PKG_VERSION"));
}
