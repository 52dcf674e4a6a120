//! The subset of zccache's `zccache.v1` protobuf messages fbuild sends and
//! reads (field numbers from zccache's frozen, append-only
//! `zccache_v1.proto`): `Ping`, `CompileEphemeral` (what zccache's own
//! wrapper sends for `zccache <compiler> args…`), `LinkEphemeral` (what it
//! sends for a link or an archive), and the answers to them.
//! A response variant not listed here decodes as `body: None`.

#[derive(Clone, PartialEq, prost::Message)]
pub struct Empty {}

#[derive(Clone, PartialEq, prost::Message)]
pub struct WirePath {
    #[prost(string, tag = "1")]
    pub value: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct EnvVar {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Request {
    #[prost(oneof = "RequestBody", tags = "1, 10, 11")]
    pub body: Option<RequestBody>,
    #[prost(string, tag = "100")]
    pub request_id: String,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum RequestBody {
    #[prost(message, tag = "1")]
    Ping(Empty),
    #[prost(message, tag = "10")]
    CompileEphemeral(CompileEphemeral),
    #[prost(message, tag = "11")]
    LinkEphemeral(LinkEphemeral),
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct LinkEphemeral {
    #[prost(uint32, tag = "1")]
    pub client_pid: u32,
    #[prost(message, optional, tag = "2")]
    pub tool: Option<WirePath>,
    #[prost(string, repeated, tag = "3")]
    pub args: Vec<String>,
    #[prost(message, optional, tag = "4")]
    pub cwd: Option<WirePath>,
    #[prost(message, repeated, tag = "5")]
    pub env: Vec<EnvVar>,
    #[prost(bool, tag = "6")]
    pub env_is_set: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct CompileEphemeral {
    #[prost(uint32, tag = "1")]
    pub client_pid: u32,
    #[prost(message, optional, tag = "2")]
    pub working_dir: Option<WirePath>,
    #[prost(message, optional, tag = "3")]
    pub compiler: Option<WirePath>,
    #[prost(string, repeated, tag = "4")]
    pub args: Vec<String>,
    #[prost(message, optional, tag = "5")]
    pub cwd: Option<WirePath>,
    #[prost(message, repeated, tag = "6")]
    pub env: Vec<EnvVar>,
    #[prost(bool, tag = "7")]
    pub env_is_set: bool,
    #[prost(bytes = "vec", tag = "8")]
    pub stdin: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Response {
    #[prost(oneof = "ResponseBody", tags = "1, 7, 9, 10, 17, 19")]
    pub body: Option<ResponseBody>,
    #[prost(string, tag = "100")]
    pub request_id: String,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum ResponseBody {
    #[prost(message, tag = "1")]
    Pong(Empty),
    #[prost(message, tag = "7")]
    CompileResult(CompileResult),
    #[prost(message, tag = "9")]
    LinkResult(LinkResult),
    #[prost(message, tag = "10")]
    Error(WireErrorBody),
    #[prost(message, tag = "17")]
    Backpressure(Backpressure),
    #[prost(message, tag = "19")]
    CompileProgress(CompileProgress),
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct CompileResult {
    #[prost(int32, tag = "1")]
    pub exit_code: i32,
    #[prost(bytes = "vec", tag = "2")]
    pub stdout: Vec<u8>,
    #[prost(bytes = "vec", tag = "3")]
    pub stderr: Vec<u8>,
    #[prost(bool, tag = "4")]
    pub cached: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct LinkResult {
    #[prost(int32, tag = "1")]
    pub exit_code: i32,
    #[prost(bytes = "vec", tag = "2")]
    pub stdout: Vec<u8>,
    #[prost(bytes = "vec", tag = "3")]
    pub stderr: Vec<u8>,
    #[prost(bool, tag = "4")]
    pub cached: bool,
    /// Why the link was not cached (a non-deterministic `ar` without `D`).
    #[prost(string, optional, tag = "5")]
    pub warning: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct WireErrorBody {
    #[prost(string, tag = "1")]
    pub message: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Backpressure {
    #[prost(uint32, tag = "1")]
    pub queue_depth: u32,
    #[prost(uint32, tag = "2")]
    pub retry_after_ms: u32,
    #[prost(string, tag = "3")]
    pub reason: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct CompileProgress {
    #[prost(uint32, tag = "1")]
    pub queue_position: u32,
    #[prost(uint32, tag = "2")]
    pub queue_depth: u32,
    #[prost(uint32, tag = "3")]
    pub in_flight: u32,
    #[prost(string, tag = "4")]
    pub phase: String,
}
