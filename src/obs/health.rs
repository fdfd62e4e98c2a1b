//! A health endpoint's answer, as the health source reads it: the status code, the overall
//! word and each named check.

#[derive(Debug, Clone, PartialEq)]
pub struct HealthReport {
    pub status_code: u16,
    /// 2xx, the overall status (if any) healthy, and every check healthy.
    pub healthy: bool,
    /// The body's top-level status word, e.g. "healthy", "ok", "error".
    pub overall: Option<String>,
    pub checks: Vec<HealthCheck>,
    /// Plain-text body, a top-level message, or a note about the body.
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HealthCheck {
    pub name: String,
    pub healthy: bool,
    /// The status word as the service wrote it ("unknown" when absent).
    pub status: String,
    pub latency_ms: Option<f64>,
    /// The check's message and/or its other fields ("length=42").
    pub detail: Option<String>,
}
