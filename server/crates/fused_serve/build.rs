//! Embeds the map page's bundle (`web/map/dist/map.js`, built by `web/build.sh` from npm
//! packages) when it exists. Without it `cargo build` still works: the page then lists the
//! endpoints and says how to build the map.

use std::path::Path;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let bundle = Path::new(&manifest).join("../../../web/map/dist/map.js");
    println!("cargo:rustc-check-cfg=cfg(map_bundle)");
    println!("cargo:rerun-if-changed={}", bundle.display());
    if bundle.is_file() {
        println!("cargo:rustc-cfg=map_bundle");
        println!("cargo:rustc-env=FUSED_MAP_JS={}", bundle.display());
    }
}
