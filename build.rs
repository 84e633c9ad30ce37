//! Build script: a release build embeds the web console's files (`web/dist`, rust-embed),
//! so it is built again when they change; a debug build reads them at run time and needs
//! nothing. Without `web/dist` the binary still builds and `/` says how to build it.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let release = std::env::var_os("CARGO_CFG_DEBUG_ASSERTIONS").is_none();
    let console = std::env::var_os("CARGO_FEATURE_WEB_CONSOLE").is_some();
    if release && console {
        if std::path::Path::new("web/dist").exists() {
            println!("cargo:rerun-if-changed=web/dist");
        } else {
            // Watches for `npm run build` creating it.
            println!("cargo:rerun-if-changed=web");
        }
    }
}
