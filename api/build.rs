//! Rebuilds the binary when a shipped workflow is added, changed or removed: they are
//! embedded with `include_dir!`, which tracks changes to existing files only.

fn main() {
    println!("cargo::rerun-if-changed=../workflows");
}
