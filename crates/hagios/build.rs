//! Build script of the `hagios` binary: links it as a position-dependent executable on Linux.
//!
//! Nagios forks `hagios notify` once per notification, so loading the binary is paid per alert.
//! As a position-independent executable it makes the dynamic loader apply ~34,000 relative
//! relocations, writing (and so copying) every page they touch, at each start; linked at a fixed
//! address the linker resolves them once. Measured in docs/PERFORMANCE.md.

fn main() {
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    // `-no-pie` is a flag of the gcc/clang driver that links glibc targets; others keep the default.
    if target_os == "linux" && target_env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
