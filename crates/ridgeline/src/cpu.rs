//! Which SIMD kernel family this process runs: one CPU-feature detection for the whole crate.
//!
//! The matcher's local similarities and the coarse stage of 1:N search each have a portable
//! implementation, the reference, and instruction-set kernels that give the same results bit
//! for bit (each module tests every kernel this machine supports against its portable code).
//! The choice is made once per process: the best kernel the CPU supports, unless the
//! environment variable [`KERNEL_VARIABLE`] (`RIDGELINE_KERNEL=portable|avx2|avx512|neon`)
//! forces another one the CPU supports, so that every path can be measured and tested on a
//! machine that has a wider one. An unknown or unsupported value is ignored by the library
//! (it never runs code the CPU lacks); [`requested`] reports it so a program can refuse it.

use std::sync::OnceLock;

/// Asks the processor to bring every cache line of `item` into its caches, where there is an
/// item: a hint for loops that know their next accesses a few iterations ahead (no effect on
/// results, and none on CPUs without a prefetch instruction here).
#[inline]
pub(crate) fn prefetch<T: ?Sized>(item: Option<&T>) {
    #[cfg(target_arch = "x86_64")]
    if let Some(item) = item {
        let start: *const u8 = (item as *const T).cast();
        for offset in (0..std::mem::size_of_val(item).max(1)).step_by(64) {
            // SAFETY: prefetching is a hint that never faults, and the address lies within a
            // live reference's referent.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    start.wrapping_add(offset).cast(),
                )
            };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = item;
}

/// The environment variable that forces a kernel family.
pub const KERNEL_VARIABLE: &str = "RIDGELINE_KERNEL";

/// A family of SIMD kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kernel {
    /// Portable Rust, no instruction-set specific code: the reference.
    Portable,
    /// x86-64 with AVX2, POPCNT and BMI2 (Intel since Haswell, AMD since Zen).
    Avx2,
    /// x86-64 with AVX-512 F/BW/VL and the vector popcount VPOPCNTDQ (Ice Lake, Zen 4).
    Avx512,
    /// AArch64 with Advanced SIMD (NEON).
    Neon,
}

/// Every kernel family, narrowest first.
pub(crate) const ALL_KERNELS: [Kernel; 4] =
    [Kernel::Portable, Kernel::Avx2, Kernel::Avx512, Kernel::Neon];

impl Kernel {
    /// The name used by [`KERNEL_VARIABLE`] and in benchmark reports.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Portable => "portable",
            Kernel::Avx2 => "avx2",
            Kernel::Avx512 => "avx512",
            Kernel::Neon => "neon",
        }
    }

    /// The kernel family of a name (as [`Kernel::name`] writes it), case-insensitive.
    pub(crate) fn from_name(name: &str) -> Option<Kernel> {
        ALL_KERNELS.into_iter().find(|k| k.name().eq_ignore_ascii_case(name.trim()))
    }

    /// Whether this CPU can run the kernel family.
    pub(crate) fn is_supported(self) -> bool {
        match self {
            Kernel::Portable => true,
            Kernel::Avx2 => has_avx2(),
            Kernel::Avx512 => has_avx512(),
            Kernel::Neon => has_neon(),
        }
    }
}

impl std::fmt::Display for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The kernel families this CPU supports, narrowest first (always includes the portable one).
pub fn supported() -> Vec<Kernel> {
    ALL_KERNELS.into_iter().filter(|k| k.is_supported()).collect()
}

/// The widest kernel family this CPU supports.
pub fn detected() -> Kernel {
    if Kernel::Avx512.is_supported() {
        Kernel::Avx512
    } else if Kernel::Avx2.is_supported() {
        Kernel::Avx2
    } else if Kernel::Neon.is_supported() {
        Kernel::Neon
    } else {
        Kernel::Portable
    }
}

/// What [`KERNEL_VARIABLE`] asks for, if it is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A supported kernel family: it is the one in use.
    Honoured(Kernel),
    /// A known family this CPU cannot run: the detected one is used instead.
    Unsupported(Kernel),
    /// A value that names no kernel family: the detected one is used instead.
    Unknown(String),
}

/// The request in [`KERNEL_VARIABLE`], or `None` when it is unset or empty.
pub fn requested() -> Option<Request> {
    let value = std::env::var(KERNEL_VARIABLE).ok()?;
    if value.trim().is_empty() {
        return None;
    }
    Some(match Kernel::from_name(&value) {
        Some(k) if k.is_supported() => Request::Honoured(k),
        Some(k) => Request::Unsupported(k),
        None => Request::Unknown(value),
    })
}

/// The kernel family this process uses, chosen once: [`KERNEL_VARIABLE`] where it names a
/// supported family, else [`detected`].
pub fn kernel() -> Kernel {
    static CHOSEN: OnceLock<Kernel> = OnceLock::new();
    *CHOSEN.get_or_init(|| match requested() {
        Some(Request::Honoured(k)) => k,
        _ => detected(),
    })
}

/// The CPU features the kernels look for that this CPU has, for reports (so figures are never
/// compared across instruction sets by accident).
pub fn features() -> Vec<&'static str> {
    let mut out = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        for (name, present) in [
            ("sse4.2", has!("sse4.2")),
            ("popcnt", has!("popcnt")),
            ("avx", has!("avx")),
            ("avx2", has!("avx2")),
            ("bmi2", has!("bmi2")),
            ("fma", has!("fma")),
            ("avx512f", has!("avx512f")),
            ("avx512bw", has!("avx512bw")),
            ("avx512vl", has!("avx512vl")),
            ("avx512vpopcntdq", has!("avx512vpopcntdq")),
        ] {
            if present {
                out.push(name);
            }
        }
    }
    #[cfg(target_arch = "aarch64")]
    if has_neon() {
        out.push("neon");
    }
    out
}

#[cfg(target_arch = "x86_64")]
fn has_avx2() -> bool {
    use std::arch::is_x86_feature_detected as has;
    has!("avx2") && has!("popcnt") && has!("bmi2")
}

#[cfg(not(target_arch = "x86_64"))]
fn has_avx2() -> bool {
    false
}

#[cfg(target_arch = "x86_64")]
fn has_avx512() -> bool {
    use std::arch::is_x86_feature_detected as has;
    has_avx2() && has!("avx512f") && has!("avx512bw") && has!("avx512vl") && has!("avx512vpopcntdq")
}

#[cfg(not(target_arch = "x86_64"))]
fn has_avx512() -> bool {
    false
}

#[cfg(target_arch = "aarch64")]
fn has_neon() -> bool {
    std::arch::is_aarch64_feature_detected!("neon")
}

#[cfg(not(target_arch = "aarch64"))]
fn has_neon() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for k in ALL_KERNELS {
            assert_eq!(Kernel::from_name(k.name()), Some(k));
            assert_eq!(Kernel::from_name(&k.name().to_uppercase()), Some(k));
        }
        assert_eq!(Kernel::from_name("sse9"), None);
        assert_eq!(Kernel::from_name(""), None);
    }

    #[test]
    fn the_detected_kernel_is_supported_and_the_widest() {
        let all = supported();
        assert!(all.contains(&Kernel::Portable));
        assert!(all.contains(&detected()));
        assert!(kernel().is_supported());
        // A wider family implies the narrower one on the same architecture.
        if Kernel::Avx512.is_supported() {
            assert!(Kernel::Avx2.is_supported());
        }
    }
}
