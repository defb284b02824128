//! Which CPU and kernel a figure came from: every benchmark and evaluation report carries it,
//! so figures are never compared across instruction sets by accident.

/// The CPU a figure came from, for every benchmark report: its model name, the features the
/// kernels look for, the kernel family this run used and every family it supports.
pub fn cpu_report() -> serde_json::Value {
    use ridgeline::cpu;
    let model = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|info| {
        info.lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, name)| name.trim().to_string())
    });
    serde_json::json!({
        "model": model,
        "features": cpu::features(),
        "kernel": cpu::kernel().name(),
        "supported_kernels": cpu::supported().iter().map(|k| k.name()).collect::<Vec<_>>(),
    })
}

/// Refuses a `RIDGELINE_KERNEL` that names no kernel family or one this CPU cannot run, so that
/// a forced measurement never silently runs another kernel.
pub fn check_kernel_request() -> anyhow::Result<()> {
    use ridgeline::cpu::{self, Request, KERNEL_VARIABLE};
    let supported = || cpu::supported().iter().map(|k| k.name()).collect::<Vec<_>>().join(", ");
    match cpu::requested() {
        Some(Request::Unknown(value)) => anyhow::bail!(
            "{KERNEL_VARIABLE}={value:?} names no kernel; this CPU supports: {}",
            supported()
        ),
        Some(Request::Unsupported(kernel)) => anyhow::bail!(
            "{KERNEL_VARIABLE}={kernel}: this CPU does not support it; it supports: {}",
            supported()
        ),
        Some(Request::Honoured(_)) | None => Ok(()),
    }
}
